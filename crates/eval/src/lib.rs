//! `eval` measures models: perplexity the way llama-perplexity and lm-evaluation-harness
//! compute it (`perplexity`), multiple-choice and last-word tasks scored exactly as
//! lm-evaluation-harness defines them (`tasks`, `dataset`, `metrics`), reports as JSON,
//! Markdown and SVG (`report`), and the release gate that compares measured scores with
//! projected targets (`gate`). It uses only the engine's public scoring API
//! (`engine::loglikelihood`, `engine::score_windows`) and the tokenizer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dataset;
mod error;
pub mod gate;
mod metrics;
pub mod perplexity;
mod progress;
pub mod report;
pub mod tasks;

pub use error::{Error, Result};
pub use metrics::{mean_stderr, Metric};
pub use progress::{NoProgress, Progress};
pub use report::BenchResult;
pub use tasks::{Task, TaskOptions};
