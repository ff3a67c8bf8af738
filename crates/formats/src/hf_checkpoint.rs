//! Hugging Face model folders: `config.json` (+ optional `generation_config.json`,
//! `tokenizer.json`, `tokenizer_config.json`) and weights in `model.safetensors` or in shards
//! listed by `model.safetensors.index.json`. Every shard is memory-mapped; tensors are
//! described by byte ranges into their shard, never copied.
//!
//! safetensors layout (<https://github.com/huggingface/safetensors>): a little-endian `u64`
//! header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}` with
//! offsets relative to the end of the header, then the data. The header is parsed by the
//! `safetensors` crate; we re-check every range against the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::{Error, ModelBytes, Result};

/// Element type of a safetensors tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SafeDtype {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
    /// Any other type, by its safetensors name (e.g. `F8_E4M3`, `I64`).
    Other(String),
}

impl SafeDtype {
    fn from_name(name: &str) -> Self {
        match name {
            "F32" => SafeDtype::F32,
            "F16" => SafeDtype::F16,
            "BF16" => SafeDtype::Bf16,
            other => SafeDtype::Other(other.to_string()),
        }
    }

    /// Bytes per element, for the types the engine reads.
    pub fn element_bytes(&self) -> Option<usize> {
        match self {
            SafeDtype::F32 => Some(4),
            SafeDtype::F16 | SafeDtype::Bf16 => Some(2),
            SafeDtype::Other(_) => None,
        }
    }

    /// The safetensors name.
    pub fn name(&self) -> &str {
        match self {
            SafeDtype::F32 => "F32",
            SafeDtype::F16 => "F16",
            SafeDtype::Bf16 => "BF16",
            SafeDtype::Other(n) => n,
        }
    }
}

/// One tensor of a checkpoint.
#[derive(Debug, Clone)]
pub struct SafeTensorInfo {
    /// Element type.
    pub dtype: SafeDtype,
    /// Shape, outermost first (PyTorch order).
    pub shape: Vec<usize>,
    /// Which shard holds it.
    pub shard: usize,
    /// Byte range in that shard's file.
    pub range: std::ops::Range<usize>,
}

/// An opened Hugging Face model folder.
pub struct HfCheckpoint {
    /// The folder.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: Value,
    /// `generation_config.json`, when present.
    pub generation_config: Option<Value>,
    /// Raw `tokenizer.json`, when present.
    pub tokenizer_json: Option<Vec<u8>>,
    /// Raw `tokenizer_config.json`, when present.
    pub tokenizer_config_json: Option<Vec<u8>>,
    /// The mapped safetensors files.
    pub shards: Vec<Arc<ModelBytes>>,
    tensors: HashMap<String, SafeTensorInfo>,
}

impl HfCheckpoint {
    /// True when `path` is a folder with a `config.json`.
    pub fn is_checkpoint_dir(path: &Path) -> bool {
        path.is_dir() && path.join("config.json").is_file()
    }

    /// Opens the folder: reads the JSON files and maps every weight shard.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = read_json(&dir.join("config.json"))?;
        let generation_config = optional_file(&dir.join("generation_config.json"))?
            .map(|bytes| parse_json(&dir.join("generation_config.json"), &bytes))
            .transpose()?;
        let shard_names = shard_files(dir)?;
        let mut shards = Vec::with_capacity(shard_names.len());
        let mut tensors = HashMap::new();
        for (index, name) in shard_names.iter().enumerate() {
            let path = dir.join(name);
            let bytes = ModelBytes::open(&path)?;
            for (tensor, info) in parse_safetensors(&path, bytes.as_bytes(), index)? {
                if tensors.insert(tensor.clone(), info).is_some() {
                    return Err(checkpoint_err(
                        &path,
                        format!("tensor '{tensor}' appears in two shards"),
                    ));
                }
            }
            shards.push(Arc::new(bytes));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            generation_config,
            tokenizer_json: optional_file(&dir.join("tokenizer.json"))?,
            tokenizer_config_json: optional_file(&dir.join("tokenizer_config.json"))?,
            shards,
            tensors,
        })
    }

    /// A tensor by its name in the checkpoint.
    pub fn tensor(&self, name: &str) -> Option<&SafeTensorInfo> {
        self.tensors.get(name)
    }

    /// Every tensor name, sorted.
    pub fn tensor_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// The weight files of a folder: the shards named by the index, or `model.safetensors`.
fn shard_files(dir: &Path) -> Result<Vec<String>> {
    let index_path = dir.join("model.safetensors.index.json");
    if index_path.is_file() {
        let index = read_json(&index_path)?;
        let map = index
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| checkpoint_err(&index_path, "no \"weight_map\" object".into()))?;
        let mut files: Vec<String> = Vec::new();
        for (tensor, file) in map {
            let file = file.as_str().ok_or_else(|| {
                checkpoint_err(
                    &index_path,
                    format!("weight_map entry '{tensor}' is not a file name"),
                )
            })?;
            if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                return Err(checkpoint_err(
                    &index_path,
                    format!("shard name '{file}' is not a plain file name"),
                ));
            }
            if !files.iter().any(|f| f == file) {
                files.push(file.to_string());
            }
        }
        files.sort();
        return Ok(files);
    }
    if dir.join("model.safetensors").is_file() {
        return Ok(vec!["model.safetensors".into()]);
    }
    Err(checkpoint_err(
        dir,
        "no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)".into(),
    ))
}

/// Parses a safetensors header and checks every tensor's range against the file.
pub fn parse_safetensors(
    path: &Path,
    bytes: &[u8],
    shard: usize,
) -> Result<Vec<(String, SafeTensorInfo)>> {
    let (header_len, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| checkpoint_err(path, format!("invalid safetensors header: {e}")))?;
    let data_start = 8 + header_len;
    let mut out = Vec::new();
    for (name, info) in metadata.tensors() {
        let (begin, end) = info.data_offsets;
        let range = data_start
            .checked_add(begin)
            .zip(data_start.checked_add(end));
        let Some((start, stop)) = range.filter(|&(s, e)| s <= e && e <= bytes.len()) else {
            return Err(checkpoint_err(
                path,
                format!("tensor '{name}' data {begin}..{end} runs past the end of the file"),
            ));
        };
        let dtype = SafeDtype::from_name(&format!("{:?}", info.dtype));
        if let Some(size) = dtype.element_bytes() {
            let n: Option<usize> = info
                .shape
                .iter()
                .try_fold(size, |acc, &d| acc.checked_mul(d));
            if n != Some(stop - start) {
                return Err(checkpoint_err(
                    path,
                    format!(
                        "tensor '{name}' of shape {:?} has {} bytes of data",
                        info.shape,
                        stop - start
                    ),
                ));
            }
        }
        out.push((
            name,
            SafeTensorInfo {
                dtype,
                shape: info.shape.clone(),
                shard,
                range: start..stop,
            },
        ));
    }
    Ok(out)
}

fn optional_file(path: &Path) -> Result<Option<Vec<u8>>> {
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read(path).map(Some).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_json(path, &bytes)
}

fn parse_json(path: &Path, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| checkpoint_err(path, format!("invalid JSON: {e}")))
}

fn checkpoint_err(path: &Path, reason: String) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        reason,
    }
}
