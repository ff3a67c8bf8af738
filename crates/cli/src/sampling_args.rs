//! Sampling flags shared by the generating subcommands (`chat`; `run` has the same set):
//! temperature, top-k, top-p, min-p, repetition penalty, seed, token limit.

use anyhow::{Context, Result};
use engine::SamplingParams;

/// Sampling and length flags.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SamplingArgs {
    /// Most tokens per answer; -1 runs until the model ends its turn or the context is full.
    #[arg(short = 'n', long = "n-predict", default_value_t = 256, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    pub(crate) n_predict: i64,
    /// Temperature; 0 is greedy.
    #[arg(long = "temp", default_value_t = 0.8, allow_negative_numbers = true)]
    pub(crate) temp: f32,
    /// Top-k; 0 disables.
    #[arg(long = "top-k", default_value_t = 40)]
    pub(crate) top_k: usize,
    /// Top-p; 1 disables.
    #[arg(long = "top-p", default_value_t = 0.95)]
    pub(crate) top_p: f32,
    /// Min-p; 0 disables.
    #[arg(long = "min-p", default_value_t = 0.05)]
    pub(crate) min_p: f32,
    /// Repetition penalty over the last 64 tokens; 1 disables.
    #[arg(long = "repeat-penalty", default_value_t = 1.0)]
    pub(crate) repeat_penalty: f32,
    /// Random seed; default: from the clock (printed to stderr).
    #[arg(long = "seed")]
    pub(crate) seed: Option<u64>,
}

impl SamplingArgs {
    /// The checked sampling parameters, with the seed resolved.
    pub(crate) fn params(&self) -> Result<SamplingParams> {
        let seed = self.seed.unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(0, |d| d.as_nanos() as u64)
        });
        let sampling = SamplingParams {
            temperature: self.temp,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repeat_penalty: self.repeat_penalty,
            repeat_last_n: 64,
            seed,
        };
        sampling
            .validate()
            .map_err(anyhow::Error::msg)
            .context("bad sampling flag")?;
        Ok(sampling)
    }

    /// The token limit per generation (`None` for -1).
    pub(crate) fn max_new_tokens(&self) -> Option<usize> {
        usize::try_from(self.n_predict).ok()
    }
}
