//! `LoadedModel`: a model file opened for inference, with its parsed header, its forward pass
//! and its tokenizer, from a path (memory-mapped) or from bytes (the embedded default model).

use std::path::Path;
use std::sync::Arc;

use formats::{GgufFile, ModelBytes};
use models::{LoadOptions, Model};
use tokenizer::Tokenizer;

use crate::Result;

/// Everything needed to run one model.
pub struct LoadedModel {
    /// The GGUF header (metadata and tensor table).
    pub gguf: GgufFile,
    /// The forward pass.
    pub model: Box<dyn Model>,
    /// The tokenizer built from the file's vocabulary.
    pub tokenizer: Tokenizer,
    /// Where it came from, for messages: a path, or a name for embedded bytes.
    pub origin: String,
}

impl LoadedModel {
    /// Memory-maps and loads the GGUF file at `path`.
    pub fn open(path: &Path, opts: &LoadOptions) -> Result<Self> {
        Self::from_model_bytes(ModelBytes::open(path)?, path.display().to_string(), opts)
    }

    /// Loads a GGUF file held in memory (copied once into an aligned buffer).
    pub fn from_bytes(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Self> {
        Self::from_model_bytes(ModelBytes::copy_from(bytes), name.to_string(), opts)
    }

    fn from_model_bytes(bytes: ModelBytes, origin: String, opts: &LoadOptions) -> Result<Self> {
        let bytes = Arc::new(bytes);
        let gguf = GgufFile::parse(bytes.as_bytes())?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        let model = models::load(&gguf, bytes, opts)?;
        Ok(Self {
            gguf,
            model,
            tokenizer,
            origin,
        })
    }
}
