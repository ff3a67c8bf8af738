//! The one error type of the `formats` crate: every variant says what is wrong and where
//! (file path, metadata key, tensor name or byte offset), so a user can act on it. Reading
//! errors carry the byte offset in the input; writing errors name the key or tensor at fault.

use std::fmt;

use crate::gguf::GgmlType;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong while reading or writing a model file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    Io {
        /// The path as given.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first four bytes are not `GGUF`.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A GGUF version this reader does not support.
    UnsupportedVersion {
        /// The version number found.
        version: u32,
    },
    /// The file ends before a field that must be there.
    Truncated {
        /// What was being read, e.g. `metadata key #3 value` or `tensor 'blk.0.attn_q.weight'`.
        what: String,
        /// Byte offset at which the field starts.
        offset: u64,
        /// Bytes needed from that offset.
        needed: u64,
        /// Bytes left in the file from that offset.
        available: u64,
    },
    /// A structurally invalid field: a bad type id, bad UTF-8, a bad alignment, a duplicate name...
    Invalid {
        /// What was being read.
        what: String,
        /// Byte offset of the field.
        offset: u64,
        /// Why it is invalid.
        reason: String,
    },
    /// A metadata key that a caller needs is missing or has the wrong type.
    Metadata {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A Hugging Face checkpoint folder or one of its files is unusable.
    Checkpoint {
        /// The file or folder.
        path: String,
        /// What is wrong, naming the field or tensor.
        reason: String,
    },
    /// Writing the output failed.
    Write {
        /// What was being written, e.g. `header` or `data of tensor 'output.weight'`.
        what: String,
        /// The writer's error.
        source: std::io::Error,
    },
    /// A writer was asked for something the format cannot hold or the reader would reject: a
    /// duplicate key or tensor name, a bad shape, tensor data out of order...
    InvalidInput {
        /// The key or tensor at fault, e.g. `tensor 'blk.0.attn_q.weight'`.
        what: String,
        /// Why it cannot be written.
        reason: String,
    },
    /// Tensor data whose byte length does not match its shape and type.
    TensorSize {
        /// The tensor's name.
        name: String,
        /// Its element type.
        ggml_type: GgmlType,
        /// Its dimensions, ggml order.
        dims: Vec<u64>,
        /// Bytes that `dims` of `ggml_type` take.
        expected: u64,
        /// Bytes given.
        actual: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read '{path}': {source}"),
            Error::BadMagic { found } => write!(
                f,
                "not a GGUF file: expected magic 'GGUF' at byte 0, found {:?}",
                String::from_utf8_lossy(found)
            ),
            Error::UnsupportedVersion { version } => write!(
                f,
                "unsupported GGUF version {version} at byte 4 (supported: 2 and 3)"
            ),
            Error::Truncated { what, offset, needed, available } => write!(
                f,
                "truncated GGUF file: {what} at byte {offset} needs {needed} bytes, only {available} remain"
            ),
            Error::Invalid { what, offset, reason } => {
                write!(f, "invalid GGUF file: {what} at byte {offset}: {reason}")
            }
            Error::Metadata { key, reason } => write!(f, "GGUF metadata key '{key}': {reason}"),
            Error::Checkpoint { path, reason } => write!(f, "'{path}': {reason}"),
            Error::Write { what, source } => write!(f, "cannot write GGUF {what}: {source}"),
            Error::InvalidInput { what, reason } => write!(f, "cannot write GGUF {what}: {reason}"),
            Error::TensorSize { name, ggml_type, dims, expected, actual } => write!(
                f,
                "tensor '{name}' ({ggml_type}, dims {dims:?}) takes {expected} bytes, got {actual}"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
