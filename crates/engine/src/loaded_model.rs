//! `LoadedModel`: a model opened for inference, with its parsed description, its forward pass
//! and its tokenizer, from a GGUF file (memory-mapped), a Hugging Face folder (config.json +
//! safetensors shards + tokenizer.json, memory-mapped), or bytes (the embedded default model).

use std::path::Path;
use std::sync::Arc;

use formats::{GgufFile, HfCheckpoint, ModelBytes};
use models::{LoadOptions, Model};
use tokenizer::Tokenizer;

use crate::{Error, Result};

/// What the model was loaded from.
pub enum ModelFormat {
    /// A GGUF file: its header (metadata and tensor table).
    Gguf(GgufFile),
    /// A Hugging Face folder.
    HuggingFace(HfCheckpoint),
}

/// Everything needed to run one model.
pub struct LoadedModel {
    /// The parsed file or folder.
    pub format: ModelFormat,
    /// The forward pass.
    pub model: Box<dyn Model>,
    /// The tokenizer built from the file's vocabulary.
    pub tokenizer: Tokenizer,
    /// Where it came from, for messages: a path, or a name for embedded bytes.
    pub origin: String,
}

impl LoadedModel {
    /// Loads a GGUF file (memory-mapped) or a Hugging Face model folder.
    pub fn open(path: &Path, opts: &LoadOptions) -> Result<Self> {
        if path.is_dir() {
            return Self::open_hf(path, opts);
        }
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
            format: ModelFormat::Gguf(gguf),
            model,
            tokenizer,
            origin,
        })
    }

    fn open_hf(dir: &Path, opts: &LoadOptions) -> Result<Self> {
        if !HfCheckpoint::is_checkpoint_dir(dir) {
            return Err(Error::InvalidRequest(format!(
                "'{}' is a folder without config.json (expected a Hugging Face model folder)",
                dir.display()
            )));
        }
        let checkpoint = HfCheckpoint::open(dir)?;
        let Some(tokenizer_json) = &checkpoint.tokenizer_json else {
            return Err(Error::InvalidRequest(format!(
                "'{}' has no tokenizer.json",
                dir.display()
            )));
        };
        let mut tokenizer =
            Tokenizer::from_hf_files(tokenizer_json, checkpoint.tokenizer_config_json.as_deref())?;
        // generation_config.json's eos_token_id (a number or a list) ends generation too.
        if let Some(eos) = checkpoint
            .generation_config
            .as_ref()
            .and_then(|g| g.get("eos_token_id"))
        {
            let ids: Vec<u32> = match eos {
                serde_json::Value::Array(list) => list
                    .iter()
                    .filter_map(|v| v.as_u64())
                    .map(|v| v as u32)
                    .collect(),
                v => v.as_u64().map(|v| vec![v as u32]).unwrap_or_default(),
            };
            tokenizer.add_end_of_generation(&ids);
        }
        let model = models::load_hf(&checkpoint, opts)?;
        Ok(Self {
            format: ModelFormat::HuggingFace(checkpoint),
            model,
            tokenizer,
            origin: dir.display().to_string(),
        })
    }
}
