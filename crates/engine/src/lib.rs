//! `engine` turns requests into tokens: it loads a model with its tokenizer, owns the KV
//! stores, samples, and runs the generation loop. It is synchronous and owns its threads; no
//! async runtime exists below the server.
//!
//! - [`LoadedModel`] (`loaded_model.rs`): a model file with its forward pass and tokenizer.
//! - [`generate`] (`generate.rs`): one sequence, prefill then decode (`behemoth run`).
//! - [`Engine`] / [`EngineHandle`] (`engine_loop.rs`): the serving thread with continuous
//!   batching over [`Scheduler`] (`scheduler.rs`) and [`BlockManager`] (`kv_cache.rs`, the paged
//!   KV bookkeeping with prefix caching); requests and events are plain data (`request.rs`).
//! - `sampler.rs`, `stop.rs` (stop strings), `sequence.rs` (per-request state),
//!   `event_channel.rs` (the request's event channel), `metrics.rs`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod engine_loop;
mod error;
mod event_channel;
mod generate;
pub mod kv_cache;
mod loaded_model;
pub mod metrics;
mod request;
pub mod sampler;
pub mod scheduler;
mod score;
mod sequence;
pub mod stop;

pub use engine_loop::{
    Engine, EngineConfig, EngineHandle, ModelInfo, SubmitError, DEFAULT_MAX_CTX,
};
pub use error::{Error, Result};
pub use event_channel::EventReceiver;
pub use generate::{generate, prompt_logits, GenerateOptions, GenerationStats, StopReason};
pub use kv_cache::{BlockCounts, BlockManager, SeqId};
pub use loaded_model::{LoadedModel, ModelFormat};
pub use metrics::{HistogramSnapshot, MetricsSnapshot, LATENCY_BUCKETS};
pub use models::{LoadOptions, Model, ModelConfig};
pub use request::{Event, FinishReason, Request, TokenLogprob, Usage, MAX_TOP_LOGPROBS};
pub use sampler::{Sampler, SamplingParams};
pub use scheduler::{Scheduler, SchedulerConfig};
pub use score::{
    loglikelihood, score_windows, token_logprob, Loglikelihood, LoglikelihoodRequest, ScoreOptions,
    ScoreWindow,
};
