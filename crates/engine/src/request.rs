//! The engine's public request API as plain data: a `Request` (prompt ids, limits, sampling,
//! stop strings, which log-probabilities to return) goes in through `EngineHandle::submit`, and
//! `Event`s come back on the request's own channel: optional prompt log-probabilities, one
//! `Token` per generated token (with the text that became final), then exactly one `Done` (or
//! `Error`).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use crate::sampler::SamplingParams;

/// Most alternatives a request may ask for per position (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: usize = 20;

/// One generation request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Prompt token ids (BOS included if wanted); must not be empty.
    pub prompt: Vec<u32>,
    /// Most tokens to generate; 0 only scores the prompt. Clamped to the context.
    pub max_tokens: usize,
    /// Sampling parameters (temperature, top-p, seed, ...).
    pub sampling: SamplingParams,
    /// OpenAI presence penalty: subtracted once from the logit of every token generated so far.
    pub presence_penalty: f32,
    /// OpenAI frequency penalty: subtracted per occurrence among the generated tokens.
    pub frequency_penalty: f32,
    /// Generation stops before the first of these strings; it is not part of the output.
    pub stop: Vec<String>,
    /// Log-probabilities of generated tokens: `None`, or `Some(k)` with the `k` most likely
    /// alternatives per position (k ≤ `MAX_TOP_LOGPROBS`).
    pub logprobs: Option<usize>,
    /// Log-probabilities of the prompt tokens (after the first), as for `logprobs`.
    pub prompt_logprobs: Option<usize>,
    /// Keep generating after end-of-generation tokens.
    pub ignore_eos: bool,
}

impl Request {
    /// A greedy request for `max_tokens` tokens after `prompt`.
    pub fn greedy(prompt: Vec<u32>, max_tokens: usize) -> Self {
        Self {
            prompt,
            max_tokens,
            sampling: SamplingParams::greedy(),
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            stop: Vec::new(),
            logprobs: None,
            prompt_logprobs: None,
            ignore_eos: false,
        }
    }
}

/// A token's log-probability and the most likely alternatives at its position.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    /// The token.
    pub token: u32,
    /// Its natural-log probability under the model's raw distribution.
    pub logprob: f32,
    /// The most likely tokens at this position with their log-probabilities, best first.
    pub top: Vec<(u32, f32)>,
}

/// Why a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// End-of-generation token or stop string.
    Stop,
    /// `max_tokens` or the context length was reached.
    Length,
    /// The client went away (never reported to it; used for logs).
    Cancelled,
}

impl FinishReason {
    /// OpenAI's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// Token counts of a finished request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Generated tokens (including one that completed a stop string; excluding EOS).
    pub completion_tokens: usize,
    /// Prompt tokens whose KV came from the prefix cache.
    pub cached_tokens: usize,
}

/// What the engine reports about one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Log-probabilities of prompt tokens 1.. (the first has none), sent once before any token.
    PromptLogprobs(Vec<TokenLogprob>),
    /// A generated token.
    Token {
        /// Its id.
        id: u32,
        /// Text that became final with it (may be empty while a stop string or a UTF-8
        /// sequence is incomplete).
        text: String,
        /// Its log-probability, when asked for.
        logprob: Option<TokenLogprob>,
    },
    /// The request ended.
    Done {
        /// Text released at the end (held back for stop-string matching).
        text: String,
        /// Why it ended.
        finish: FinishReason,
        /// Token counts.
        usage: Usage,
    },
    /// The engine failed on this request.
    Error(String),
}
