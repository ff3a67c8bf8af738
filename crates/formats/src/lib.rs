//! `formats` turns model-file bytes into descriptions: metadata, tensor names, types, shapes and
//! byte ranges, and writes GGUF files back. It does no math and never copies tensor data; parsers
//! never panic on malformed input and never allocate by a count they have not checked against
//! the bytes that remain.
#![warn(missing_docs)]

mod error;
pub mod gguf;
pub mod gguf_write;
pub mod hf_checkpoint;
mod model_bytes;

pub use error::{Error, Result};
pub use gguf::{GgmlType, GgufFile, MetadataArray, MetadataValue, TensorInfo};
pub use gguf_write::{GgufWriter, TensorDataWriter};
pub use hf_checkpoint::{HfCheckpoint, SafeDtype, SafeTensorInfo};
pub use model_bytes::ModelBytes;
