//! The one error type of the `tokenizer` crate. Every variant names the GGUF key, the file and
//! field, or the line that is missing or wrong, so a user can tell which part of the model files
//! to fix. Errors happen only while a vocabulary or chat template is loaded, or while a template
//! renders; encoding and decoding a loaded vocabulary cannot fail.

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
    /// A Hugging Face or tiktoken companion file (`tokenizer.json`, `tokenizer_config.json`,
    /// `tokenizer-info.json`) is not valid JSON or lacks a field, or a field has a wrong value.
    File {
        /// The file, e.g. `tokenizer.json`.
        file: String,
        /// The field when one is to blame, e.g. `bos_token`; empty for the whole file.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of a tiktoken `tokenizer.model` file is not `base64-token rank`.
    Tiktoken {
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A chat template does not compile or failed while rendering (for example through the
    /// template's own `raise_exception`).
    ChatTemplate {
        /// minijinja's message, with the template line where it knows it.
        reason: String,
    },
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
            Error::UnsupportedModel { model } => write!(
                f,
                "tokenizer.ggml.model = '{model}': this tokenizer model is not supported \
                 (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)"
            ),
            Error::Gguf(e) => write!(f, "GGUF vocabulary: {e}"),
            Error::File {
                file,
                field,
                reason,
            } => {
                if field.is_empty() {
                    write!(f, "{file}: {reason}")
                } else {
                    write!(f, "{file}: field '{field}' {reason}")
                }
            }
            Error::Tiktoken { line, reason } => {
                write!(f, "tiktoken tokenizer.model, line {line}: {reason}")
            }
            Error::ChatTemplate { reason } => write!(f, "chat template: {reason}"),
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
