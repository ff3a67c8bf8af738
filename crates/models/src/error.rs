//! Errors of the `models` crate: a missing or misshapen tensor (named, with expected and actual
//! shapes), an unsupported architecture or element type, bad hyperparameters, bad input ids.

use std::fmt;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a model could not be loaded or run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file's metadata is unreadable.
    Format(formats::Error),
    /// No forward pass exists for this architecture.
    UnsupportedArchitecture(String),
    /// A hyperparameter is missing or invalid.
    Config {
        /// The metadata key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor the architecture needs is absent.
    MissingTensor(String),
    /// A tensor has the wrong shape.
    TensorShape {
        /// Tensor name.
        name: String,
        /// Shape expected from the hyperparameters, outermost first.
        expected: Vec<usize>,
        /// Shape in the file, outermost first.
        got: Vec<usize>,
    },
    /// A tensor's element type has no kernels yet.
    UnsupportedType {
        /// Tensor name.
        name: String,
        /// The type as the file names it.
        dtype: String,
    },
    /// A tensor's bytes do not match its description.
    Tensor {
        /// Tensor name.
        name: String,
        /// The underlying error.
        source: tensor::Error,
    },
    /// A token id is not in the vocabulary.
    TokenOutOfRange {
        /// The id.
        id: u32,
        /// Vocabulary size.
        vocab_size: usize,
    },
    /// A checkpoint cannot be converted.
    Convert(String),
    /// A block table names a block the store does not have.
    BadBlock {
        /// The block id.
        block: u32,
        /// Blocks in the store.
        n_blocks: usize,
    },
    /// The batch does not fit in the KV store.
    ContextFull {
        /// Positions already stored.
        used: usize,
        /// Positions requested.
        requested: usize,
        /// Capacity of the store.
        capacity: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => write!(f, "{e}"),
            Error::UnsupportedArchitecture(a) => {
                write!(f, "unsupported architecture '{a}' (supported: llama, mistral, mixtral, qwen3, qwen3moe, llama4)")
            }
            Error::Config { key, reason } => write!(f, "hyperparameter '{key}': {reason}"),
            Error::MissingTensor(name) => write!(f, "tensor '{name}' is missing"),
            Error::TensorShape {
                name,
                expected,
                got,
            } => write!(
                f,
                "tensor '{name}' has wrong shape; expected {expected:?}, got {got:?}"
            ),
            Error::UnsupportedType { name, dtype } => {
                write!(
                    f,
                    "tensor '{name}' has type {dtype}, which has no kernels yet"
                )
            }
            Error::Tensor { name, source } => write!(f, "tensor '{name}': {source}"),
            Error::TokenOutOfRange { id, vocab_size } => {
                write!(
                    f,
                    "token id {id} is out of range (vocabulary has {vocab_size} tokens)"
                )
            }
            Error::Convert(why) => write!(f, "cannot convert: {why}"),
            Error::BadBlock { block, n_blocks } => {
                write!(
                    f,
                    "block table names block {block}, the KV store has {n_blocks}"
                )
            }
            Error::ContextFull {
                used,
                requested,
                capacity,
            } => write!(
                f,
                "context full: {used} positions used + {requested} new > capacity {capacity}"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Format(e) => Some(e),
            Error::Tensor { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<formats::Error> for Error {
    fn from(e: formats::Error) -> Self {
        Error::Format(e)
    }
}
