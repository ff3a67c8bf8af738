//! `models` holds the architectures: given weights, a batch of token ids and a KV store, a
//! model returns logits. A model holds weights and nothing per request; the KV store is passed
//! in by the engine. Architecture names are dispatched in exactly one place, `load`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod config;
pub mod convert;
mod error;
mod kv_store;
mod layers;
pub mod llama;
pub mod llama4;
pub mod weights;

pub use config::{Llama3RopeScaling, Llama4Attention, ModelConfig, MoeConfig, MoeGating, QkNorm};
pub use error::{Error, Result};
pub use kv_store::{KvStore, KvType, SeqBatch, SequenceKv};
pub use weights::{GgufWeights, HfWeights, WeightSource};

use std::sync::Arc;

use formats::{GgufFile, HfCheckpoint, ModelBytes};
use tensor::cpu::KernelSet;

/// Which positions of a batch need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Only the last position (generation).
    Last,
    /// Every position (scoring, reference comparisons).
    All,
}

/// How to run a model on this machine.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Threads for matrix products.
    pub threads: usize,
    /// Kernel set; `tensor::cpu::best()` unless a test pins one.
    pub kernels: &'static KernelSet,
    /// Element type of the key-value caches made for the model.
    pub kv_type: KvType,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            threads: default_threads(),
            kernels: tensor::cpu::best(),
            kv_type: KvType::default(),
        }
    }
}

/// One thread per physical core (a second hyper-thread shares the core's vector units and load
/// ports, and adds nothing to these kernels but contention).
pub fn default_threads() -> usize {
    tensor::cpu::parallel::physical_cores()
}

/// A decoder-only language model.
pub trait Model: Send + Sync {
    /// Its hyperparameters.
    fn config(&self) -> &ModelConfig;

    /// Runs a batch of sequences: each sequence's tokens at positions `start..start + n`,
    /// storing their keys and values in `kv` through its block table, and returns the
    /// `[rows, vocab_size]` logits each sequence asks for, concatenated in batch order.
    /// Blocks that a sequence writes must not be shared with another sequence of the batch.
    fn forward(&self, batch: &[SeqBatch<'_>], kv: &mut KvStore) -> Result<Vec<f32>>;

    /// The element type its key-value caches should hold (`LoadOptions::kv_type`).
    fn kv_type(&self) -> KvType;
}

/// Loads the model a GGUF file describes; `file` holds the bytes `gguf` was parsed from.
pub fn load(gguf: &GgufFile, file: Arc<ModelBytes>, opts: &LoadOptions) -> Result<Box<dyn Model>> {
    let config = ModelConfig::from_gguf(gguf)?;
    build(config, &GgufWeights::new(gguf, file), opts)
}

/// Loads the model of a Hugging Face checkpoint folder.
pub fn load_hf(checkpoint: &HfCheckpoint, opts: &LoadOptions) -> Result<Box<dyn Model>> {
    let config = ModelConfig::from_hf(&checkpoint.config)?;
    build(config.clone(), &HfWeights::new(checkpoint, &config), opts)
}

/// The one place that maps an architecture to its forward pass.
pub fn build(
    config: ModelConfig,
    weights: &dyn WeightSource,
    opts: &LoadOptions,
) -> Result<Box<dyn Model>> {
    match config.architecture.as_str() {
        "llama" | "qwen3" | "qwen3moe" => Ok(Box::new(llama::Llama::load(config, weights, opts)?)),
        "llama4" => Ok(Box::new(llama4::Llama4::load(config, weights, opts)?)),
        other => Err(Error::UnsupportedArchitecture(other.to_string())),
    }
}
