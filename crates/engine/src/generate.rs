//! Single-sequence generation: prefill the prompt in one batch, then decode one token per step
//! until an end-of-generation token, the token limit, the context length, or the caller stops.
//! Also the prompt-scoring entry point (`prompt_logits`) that reference comparisons use.

use std::time::Instant;

use models::{Logits, SequenceKv};

use crate::sampler::{Sampler, SamplingParams};
use crate::{Error, LoadedModel, Result};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Most new tokens; `None` runs until the context is full.
    pub max_new_tokens: Option<usize>,
    /// Sampling parameters.
    pub sampling: SamplingParams,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end-of-generation token (not passed to the caller).
    EndOfGeneration,
    /// `max_new_tokens` were generated.
    Length,
    /// The context length was reached.
    ContextFull,
    /// The callback asked to stop.
    Stopped,
}

/// Counts and timings of one generation.
#[derive(Debug, Clone, Copy)]
pub struct GenerationStats {
    /// Prompt tokens processed.
    pub prompt_tokens: usize,
    /// Seconds spent on the prompt (including sampling the first token).
    pub prompt_seconds: f64,
    /// Tokens generated after the first (each one a decode step).
    pub decode_tokens: usize,
    /// Seconds spent on those decode steps.
    pub decode_seconds: f64,
    /// Tokens passed to the callback.
    pub generated_tokens: usize,
    /// Why it ended.
    pub stop_reason: StopReason,
}

/// Generates a continuation of `prompt`, calling `on_token` with each new token id; the
/// callback returns `false` to stop.
pub fn generate(
    lm: &LoadedModel,
    prompt: &[u32],
    opts: &GenerateOptions,
    mut on_token: impl FnMut(u32) -> bool,
) -> Result<GenerationStats> {
    if prompt.is_empty() {
        return Err(Error::InvalidRequest("the prompt has no tokens".into()));
    }
    opts.sampling.validate().map_err(Error::InvalidRequest)?;
    let context = lm.model.config().context_length;
    if prompt.len() >= context {
        return Err(Error::InvalidRequest(format!(
            "the prompt has {} tokens, the context holds {context}",
            prompt.len()
        )));
    }
    let budget = opts
        .max_new_tokens
        .unwrap_or(usize::MAX)
        .min(context - prompt.len());
    let mut kv = SequenceKv::new(lm.model.as_ref(), prompt.len() + budget);
    let mut sampler = Sampler::new(opts.sampling);
    let mut history = prompt.to_vec();

    let t0 = Instant::now();
    let mut logits = kv.forward(lm.model.as_ref(), prompt, Logits::Last)?;
    let mut stats = GenerationStats {
        prompt_tokens: prompt.len(),
        prompt_seconds: 0.0,
        decode_tokens: 0,
        decode_seconds: 0.0,
        generated_tokens: 0,
        stop_reason: StopReason::Length,
    };
    let mut t_decode = None;
    loop {
        if stats.generated_tokens == budget {
            stats.stop_reason = if opts.max_new_tokens.is_some_and(|m| m <= budget) {
                StopReason::Length
            } else {
                StopReason::ContextFull
            };
            break;
        }
        let next = sampler.sample(&mut logits, &history);
        if t_decode.is_none() {
            stats.prompt_seconds = t0.elapsed().as_secs_f64();
            t_decode = Some(Instant::now());
        }
        if lm.tokenizer.is_end_of_generation(next) {
            stats.stop_reason = StopReason::EndOfGeneration;
            break;
        }
        history.push(next);
        stats.generated_tokens += 1;
        if !on_token(next) {
            stats.stop_reason = StopReason::Stopped;
            break;
        }
        if stats.generated_tokens == budget {
            continue; // no forward pass needed for a token nobody will follow
        }
        logits = kv.forward(lm.model.as_ref(), &[next], Logits::Last)?;
        stats.decode_tokens += 1;
    }
    if let Some(t) = t_decode {
        stats.decode_seconds = t.elapsed().as_secs_f64();
    }
    Ok(stats)
}

/// Runs `ids` as one prompt and returns `[ids.len(), vocab_size]` logits.
pub fn prompt_logits(lm: &LoadedModel, ids: &[u32]) -> Result<Vec<f32>> {
    if ids.is_empty() {
        return Err(Error::InvalidRequest("no token ids given".into()));
    }
    let context = lm.model.config().context_length;
    if ids.len() > context {
        return Err(Error::InvalidRequest(format!(
            "{} ids do not fit the context of {context}",
            ids.len()
        )));
    }
    let mut kv = SequenceKv::new(lm.model.as_ref(), ids.len());
    Ok(kv.forward(lm.model.as_ref(), ids, Logits::All)?)
}
