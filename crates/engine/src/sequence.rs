//! The engine thread's per-request state beside the scheduler's token bookkeeping: the
//! sampler with its own seeded generator, generated-token counts for the penalties, the
//! UTF-8-safe decoder and stop-string matcher that turn tokens into final text, prompt
//! log-probabilities gathered while prefilling, timings for the latency histograms, and the
//! channel to the caller.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::collections::HashMap;
use std::time::Instant;

use tokenizer::{StreamDecoder, Tokenizer};

use crate::event_channel::EventSender;
use crate::request::{Event, FinishReason, Request, TokenLogprob, Usage};
use crate::sampler::{apply_presence_frequency, token_logprob, Sampler};
use crate::stop::StopMatcher;

/// What became of a sampled token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep going.
    Continue,
    /// The sequence ended.
    Finished(FinishReason),
}

/// One request in flight on the engine thread.
pub(crate) struct Sequence {
    pub(crate) request: Request,
    /// Most tokens it may generate (`max_tokens` clamped to the context).
    pub(crate) max_new: usize,
    pub(crate) generated: usize,
    pub(crate) cached_tokens: usize,
    sampler: Sampler,
    counts: HashMap<u32, u32>,
    decoder: StreamDecoder,
    stop: StopMatcher,
    /// Prompt log-probabilities gathered so far (for prompt tokens 1..).
    pub(crate) prompt_logprobs: Vec<TokenLogprob>,
    prompt_logprobs_sent: bool,
    pub(crate) sink: EventSender,
    pub(crate) submitted: Instant,
    last_token: Option<Instant>,
}

impl Sequence {
    pub(crate) fn new(request: Request, max_new: usize, sink: EventSender) -> Self {
        Self {
            sampler: Sampler::new(request.sampling),
            stop: StopMatcher::new(&request.stop),
            request,
            max_new,
            generated: 0,
            cached_tokens: 0,
            counts: HashMap::new(),
            decoder: StreamDecoder::new(),
            prompt_logprobs: Vec::new(),
            prompt_logprobs_sent: false,
            sink,
            submitted: Instant::now(),
            last_token: None,
        }
    }

    /// Records the log-probability of prompt token `target` (predicted by `row`), once.
    pub(crate) fn add_prompt_logprob(&mut self, row: &[f32], target: usize, token: u32) {
        let Some(k) = self.request.prompt_logprobs else {
            return;
        };
        // Entry i is prompt token i + 1; after a preemption, positions come again.
        if target == self.prompt_logprobs.len() + 1 {
            self.prompt_logprobs.push(token_logprob(row, token, k));
        }
    }

    /// Sends the prompt log-probabilities if they were asked for and not yet sent.
    pub(crate) fn send_prompt_logprobs(&mut self) -> bool {
        if self.request.prompt_logprobs.is_none() || self.prompt_logprobs_sent {
            return true;
        }
        self.prompt_logprobs_sent = true;
        let lps = std::mem::take(&mut self.prompt_logprobs);
        self.sink.send(Event::PromptLogprobs(lps))
    }

    /// Picks the next token from `row` (the logits after `history`).
    pub(crate) fn sample(
        &mut self,
        row: &mut [f32],
        history: &[u32],
    ) -> (u32, Option<TokenLogprob>) {
        let raw = self.request.logprobs.map(|k| (k, row.to_vec()));
        apply_presence_frequency(
            row,
            &self.counts,
            self.request.presence_penalty,
            self.request.frequency_penalty,
        );
        let id = self.sampler.sample(row, history);
        let lp = raw.map(|(k, raw)| token_logprob(&raw, id, k));
        (id, lp)
    }

    /// Handles a sampled token: end of generation, or text through the stop matcher to the
    /// caller. Returns what happened and the seconds since the previous token (or since
    /// submission for the first), for the latency histograms.
    pub(crate) fn accept(
        &mut self,
        id: u32,
        logprob: Option<TokenLogprob>,
        tokenizer: &Tokenizer,
    ) -> (Outcome, bool, f64) {
        let now = Instant::now();
        let since = now - self.last_token.unwrap_or(self.submitted);
        let first = self.last_token.is_none();
        self.last_token = Some(now);
        if !self.request.ignore_eos && tokenizer.is_end_of_generation(id) {
            return (
                Outcome::Finished(FinishReason::Stop),
                first,
                since.as_secs_f64(),
            );
        }
        self.generated += 1;
        *self.counts.entry(id).or_insert(0) += 1;
        let text = self.decoder.push(&tokenizer.token_to_piece(id, false));
        let out = self.stop.push(&text);
        let alive = self.sink.send(Event::Token {
            id,
            text: out.text,
            logprob,
        });
        let outcome = if !alive {
            Outcome::Finished(FinishReason::Cancelled)
        } else if out.stopped {
            Outcome::Finished(FinishReason::Stop)
        } else if self.generated >= self.max_new {
            Outcome::Finished(FinishReason::Length)
        } else {
            Outcome::Continue
        };
        (outcome, first, since.as_secs_f64())
    }

    /// Sends the final event.
    pub(crate) fn finish(&mut self, finish: FinishReason, prompt_tokens: usize) {
        let mut text = String::new();
        if finish != FinishReason::Stop || !self.stopped_by_string() {
            let rest = self.decoder.finish();
            let out = self.stop.push(&rest);
            text.push_str(&out.text);
            if !out.stopped {
                text.push_str(&self.stop.finish());
            }
        }
        self.sink.send(Event::Done {
            text,
            finish,
            usage: Usage {
                prompt_tokens,
                completion_tokens: self.generated,
                cached_tokens: self.cached_tokens,
            },
        });
    }

    fn stopped_by_string(&mut self) -> bool {
        // A matcher that has stopped returns `stopped` for any further input.
        self.stop.push("").stopped
    }
}
