//! The one error type of the `tokenizer` crate. Every variant names the GGUF key that is missing
//! or wrong, so a user can tell which part of the model file to fix. Errors happen only while a
//! vocabulary is loaded; encoding and decoding a loaded vocabulary cannot fail.

use std::fmt;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong while building a tokenizer from a model file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A `tokenizer.ggml.*` key the vocabulary needs is absent.
    MissingKey {
        /// The key, e.g. `tokenizer.ggml.tokens`.
        key: String,
    },
    /// A key is present but its value cannot be used: wrong type, wrong length, empty.
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong with it, e.g. `has 31999 entries but tokenizer.ggml.tokens has 32000`.
        reason: String,
    },
    /// A special-token id (BOS, EOS, ...) that does not name a token of the vocabulary.
    TokenIdOutOfRange {
        /// The key holding the id, e.g. `tokenizer.ggml.bos_token_id`.
        key: String,
        /// The id found.
        id: i128,
        /// The number of tokens in the vocabulary.
        n_tokens: usize,
    },
    /// `tokenizer.ggml.model` names a tokenizer this crate does not implement yet.
    UnsupportedModel {
        /// The value of `tokenizer.ggml.model`, e.g. `gpt2`.
        model: String,
    },
    /// The GGUF reader rejected a metadata value (for example a key holding the wrong type).
    Gguf(formats::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingKey { key } => {
                write!(
                    f,
                    "GGUF vocabulary: required metadata key '{key}' is missing"
                )
            }
            Error::InvalidKey { key, reason } => {
                write!(f, "GGUF vocabulary: metadata key '{key}' {reason}")
            }
            Error::TokenIdOutOfRange { key, id, n_tokens } => write!(
                f,
                "GGUF vocabulary: metadata key '{key}' = {id} is not a token id \
                 (the vocabulary has {n_tokens} tokens; use -1 or 4294967295 for none)"
            ),
            Error::UnsupportedModel { model } => match model.as_str() {
                "gpt2" => write!(
                    f,
                    "tokenizer.ggml.model = 'gpt2': gpt2 BPE vocabularies are not supported yet \
                     (supported: 'llama' SentencePiece)"
                ),
                other => write!(
                    f,
                    "tokenizer.ggml.model = '{other}': this tokenizer model is not supported \
                     (supported: 'llama' SentencePiece)"
                ),
            },
            Error::Gguf(e) => write!(f, "GGUF vocabulary: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Gguf(e) => Some(e),
            _ => None,
        }
    }
}

impl From<formats::Error> for Error {
    fn from(e: formats::Error) -> Self {
        Error::Gguf(e)
    }
}
