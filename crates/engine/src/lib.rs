//! `engine` turns requests into tokens: it loads a model with its tokenizer, owns the KV
//! stores, samples, and runs the generation loop. It is synchronous and owns its threads; no
//! async runtime exists below the server.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod generate;
mod loaded_model;
pub mod sampler;

pub use error::{Error, Result};
pub use generate::{generate, prompt_logits, GenerateOptions, GenerationStats, StopReason};
pub use loaded_model::{LoadedModel, ModelFormat};
pub use models::{LoadOptions, Model, ModelConfig};
pub use sampler::{Sampler, SamplingParams};
