//! Perplexity of a text file, by one of two definitions (shared/spec/evaluation.md §4.2–4.3).
//!
//! `Method::Llama` is llama-perplexity's (`tools/perplexity/perplexity.cpp::perplexity`): the
//! file (one trailing newline dropped, as `-f` does) is tokenized as one stream with BOS; it is
//! cut into non-overlapping chunks of `ctx` tokens (at least two needed, the tail dropped); the
//! first token of each chunk is replaced by BOS; only predictions from positions `ctx/2` on are
//! scored, `ctx/2 − 1` per chunk. PPL = exp(mean NLL), with ± = PPL · sqrt(var(NLL)/(n − 1)).
//!
//! `Method::Rolling` is lm-evaluation-harness's `loglikelihood_rolling` (HF backend, 0.4.x):
//! the whole file is one document, tokenized with the tokenizer's default special tokens (so a
//! Llama vocabulary's BOS is the first *scored* token, exactly as lm-eval 0.4.13 does); windows
//! from `get_rolling_token_windows(context_len = 1)` + `make_disjoint_window`: the first is
//! prefixed by BOS, every token is scored exactly once. Reports token, word and byte perplexity
//! and bits per byte, with words counted as `len(re.split(r"\s+", text))`.

use std::path::Path;
use std::time::Instant;

use engine::{LoadedModel, ScoreWindow};
use serde::{Deserialize, Serialize};

use crate::error::read_text;
use crate::tasks::score_options;
use crate::{BenchResult, Error, Metric, Progress, Result};

/// Which definition of perplexity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// llama-perplexity's second-half chunks.
    Llama,
    /// lm-evaluation-harness's disjoint rolling windows.
    Rolling,
}

impl Method {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Llama => "llama",
            Method::Rolling => "rolling",
        }
    }
}

/// How to measure perplexity.
#[derive(Debug, Clone, Copy)]
pub struct PerplexityOptions {
    /// The definition.
    pub method: Method,
    /// Tokens per chunk (`llama`) or the window length (`rolling`, lm-eval's `max_length`).
    pub ctx: usize,
    /// Score at most this many chunks (`llama` only).
    pub chunks: Option<usize>,
    /// Scoring threads; 0 means one per core.
    pub workers: usize,
}

/// llama-perplexity's chunks: windows of `ctx` tokens with BOS first, scored from `ctx/2 + 1`.
pub fn llama_windows(
    tokens: &[u32],
    ctx: usize,
    chunks: usize,
    bos: Option<u32>,
) -> Vec<ScoreWindow> {
    let first = ctx / 2;
    tokens
        .chunks_exact(ctx)
        .take(chunks)
        .map(|chunk| {
            let mut tokens = chunk.to_vec();
            if let Some(b) = bos {
                tokens[0] = b;
            }
            ScoreWindow {
                tokens,
                first_scored: first + 1,
            }
        })
        .collect()
}

/// lm-eval's disjoint rolling windows over `tokens` for a model of `max_len` positions: the
/// first window is `[prefix] + tokens[..max_len]`-ish, and every token is scored once.
pub fn rolling_windows(tokens: &[u32], prefix: u32, max_len: usize) -> Vec<ScoreWindow> {
    let n = tokens.len();
    let mut out = Vec::new();
    if n == 0 || max_len == 0 {
        return out;
    }
    let first_len = max_len.min(n);
    let mut first = Vec::with_capacity(first_len + 1);
    first.push(prefix);
    first.extend_from_slice(&tokens[..first_len]);
    out.push(ScoreWindow {
        tokens: first,
        first_scored: 1,
    });
    let mut predicted = first_len;
    while predicted < n {
        let pred_len = (n - predicted).min(max_len);
        let end = predicted + pred_len;
        let start = end - max_len - 1;
        out.push(ScoreWindow {
            tokens: tokens[start..end].to_vec(),
            first_scored: max_len + 1 - pred_len,
        });
        predicted = end;
    }
    out
}

/// `len(re.split(r"\s+", text))`.
pub fn python_word_count(text: &str) -> usize {
    let mut count = 1;
    let mut in_space = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        if space && !in_space {
            count += 1;
        }
        in_space = space;
    }
    count
}

/// Measures the perplexity of the text file `data`.
pub fn run_perplexity(
    lm: &LoadedModel,
    data: &Path,
    opts: &PerplexityOptions,
    progress: &dyn Progress,
) -> Result<BenchResult> {
    let t0 = Instant::now();
    let text = read_text(data)?;
    let context_length = lm.model.config().context_length;
    if opts.ctx < 4 || opts.ctx > context_length + 1 {
        return Err(Error::Invalid(format!(
            "--ctx {} must be between 4 and the model's context {}",
            opts.ctx, context_length
        )));
    }
    let tok = &lm.tokenizer;
    let bos = tok.bos_id();
    let (windows, settings) = match opts.method {
        Method::Llama => {
            if opts.chunks == Some(0) {
                return Err(Error::Invalid("--chunks must be at least 1".into()));
            }
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let tokens = tok.encode(text, true, false);
            if tokens.len() < 2 * opts.ctx {
                return Err(Error::Invalid(format!(
                    "{}: {} tokens; a context of {} needs at least {}",
                    data.display(),
                    tokens.len(),
                    opts.ctx,
                    2 * opts.ctx
                )));
            }
            let max_chunks = tokens.len() / opts.ctx;
            let chunks = opts.chunks.unwrap_or(max_chunks).min(max_chunks);
            let bos = if tok.add_bos() { bos } else { None };
            let windows = llama_windows(&tokens, opts.ctx, chunks, bos);
            let settings = serde_json::json!({
                "method": "llama", "ctx": opts.ctx, "chunks": chunks, "tokens": tokens.len(),
            });
            (windows, settings)
        }
        Method::Rolling => {
            if opts.chunks.is_some() {
                return Err(Error::Invalid(
                    "--chunks applies to --method llama; rolling scores the whole file".into(),
                ));
            }
            if opts.ctx > context_length {
                return Err(Error::Invalid(format!(
                    "--ctx {} exceeds the model's context {context_length}",
                    opts.ctx
                )));
            }
            let tokens = tok.encode(&text, true, true);
            let prefix = bos.or(tok.eos_id()).unwrap_or(0);
            let windows = rolling_windows(&tokens, prefix, opts.ctx);
            let settings = serde_json::json!({
                "method": "rolling", "ctx": opts.ctx, "windows": windows.len(), "tokens": tokens.len(),
            });
            (windows, settings)
        }
    };
    if windows.is_empty() {
        return Err(Error::Invalid(format!("{}: no tokens", data.display())));
    }
    progress.start("perplexity", windows.len());
    let scored = engine::score_windows(lm, &windows, &score_options(opts.workers), &|n| {
        progress.advance(n)
    });
    progress.finish();
    let scored = scored?;
    let logprobs: Vec<f64> = scored.into_iter().flatten().collect();
    let count = logprobs.len() as f64;
    let metrics = match opts.method {
        Method::Llama => {
            let nll = -logprobs.iter().sum::<f64>() / count;
            let nll2 = logprobs.iter().map(|x| x * x).sum::<f64>() / count - nll * nll;
            let ppl = nll.exp();
            let se = (nll2 > 0.0 && count > 1.0).then(|| (nll2 / (count - 1.0)).sqrt() * ppl);
            vec![Metric::new("ppl", ppl, se, false)]
        }
        Method::Rolling => {
            let ll: f64 = logprobs.iter().sum();
            let words = python_word_count(&text) as f64;
            let bytes = text.len() as f64;
            vec![
                Metric::new("token_perplexity", (-ll / count).exp(), None, false),
                Metric::new("word_perplexity", (-ll / words).exp(), None, false),
                Metric::new("byte_perplexity", (-ll / bytes).exp(), None, false),
                Metric::new(
                    "bits_per_byte",
                    -ll / bytes / std::f64::consts::LN_2,
                    None,
                    false,
                ),
            ]
        }
    };
    let mut settings = settings;
    settings["scored_tokens"] = serde_json::json!(logprobs.len());
    Ok(BenchResult {
        benchmark: "perplexity".into(),
        data: data.display().to_string(),
        items: windows.len(),
        shots: 0,
        metrics,
        seconds: t0.elapsed().as_secs_f64(),
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_chunks_score_the_second_half() {
        let tokens: Vec<u32> = (10..30).collect();
        let w = llama_windows(&tokens, 8, 9, Some(1));
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].tokens, vec![1, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!(w[1].tokens, vec![1, 19, 20, 21, 22, 23, 24, 25]);
        // positions 4..=6 predict tokens 5..=7: ctx/2 - 1 = 3 per chunk.
        assert_eq!(w[0].first_scored, 5);
    }

    #[test]
    fn rolling_windows_score_every_token_once() {
        let tokens: Vec<u32> = (100..111).collect(); // 11 tokens
        let w = rolling_windows(&tokens, 1, 4);
        let scored: Vec<u32> = w
            .iter()
            .flat_map(|w| w.tokens[w.first_scored..].to_vec())
            .collect();
        assert_eq!(scored, tokens);
        assert_eq!(w[0].tokens, vec![1, 100, 101, 102, 103]);
        // Later windows hold max_len + 1 tokens: max_len inputs.
        assert_eq!(w[1].tokens, vec![103, 104, 105, 106, 107]);
        assert_eq!(w[1].first_scored, 1);
        assert_eq!(w[2].tokens, vec![106, 107, 108, 109, 110]);
        assert_eq!(w[2].first_scored, 2);
        assert!(rolling_windows(&[], 1, 4).is_empty());
    }

    #[test]
    fn word_count_is_pythons_split() {
        assert_eq!(python_word_count("a b  c"), 3);
        assert_eq!(python_word_count(" a\n\nb "), 4);
        assert_eq!(python_word_count(""), 1);
    }
}
