//! Log-likelihood scoring, the primitive every evaluation is built on.
//!
//! `loglikelihood` scores `(context, continuation)` token pairs the way lm-evaluation-harness's
//! `_loglikelihood_tokens` does: the sum of `log p(token | everything before it)` over the
//! continuation, and whether every continuation token is the argmax. Requests that share a
//! context (the choices of one question) run that context once; each continuation then runs
//! after it and the KV store is cut back to the context for the next one.
//!
//! `score_windows` scores the tail of whole token windows (perplexity: llama-perplexity's
//! second-half chunks, lm-evaluation-harness's rolling windows).
//!
//! Both split their work across `workers` scoped threads, each with its own KV store, taking
//! the next unit of work from a shared counter; log-softmax is computed in f64.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use models::{Logits, SequenceKv};

use crate::{Error, LoadedModel, Result};

/// How to spread scoring over the machine.
#[derive(Debug, Clone, Copy)]
pub struct ScoreOptions {
    /// Worker threads, each scoring its own sequences (the model's matmul threads come on top).
    pub workers: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            workers: models::default_threads(),
        }
    }
}

/// One `(context, continuation)` pair to score.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoglikelihoodRequest {
    /// Conditioning tokens (at least one, usually starting with BOS).
    pub context: Vec<u32>,
    /// Tokens whose log-probabilities are summed (at least one).
    pub continuation: Vec<u32>,
}

/// The score of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loglikelihood {
    /// Σ log p(continuation token | prefix), natural log.
    pub logprob: f64,
    /// Every continuation token is the most likely one (first index on ties).
    pub is_greedy: bool,
}

/// A token window whose tokens from `first_scored` on are scored, each given all tokens before
/// it in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreWindow {
    /// The window's tokens.
    pub tokens: Vec<u32>,
    /// Index of the first scored token; at least 1.
    pub first_scored: usize,
}

/// Scores every request; `progress(n)` is called as `n` more requests finish.
pub fn loglikelihood(
    lm: &LoadedModel,
    requests: &[LoglikelihoodRequest],
    opts: &ScoreOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Loglikelihood>> {
    let context_length = lm.model.config().context_length;
    for (i, r) in requests.iter().enumerate() {
        if r.context.is_empty() || r.continuation.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "scoring request {i}: the context and the continuation need at least one token each"
            )));
        }
        let needed = r.context.len() + r.continuation.len() - 1;
        if needed > context_length {
            return Err(Error::InvalidRequest(format!(
                "scoring request {i}: {needed} positions do not fit the context of {context_length}"
            )));
        }
    }
    // Group the requests by context, in order of first appearance.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_context: HashMap<&[u32], usize> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        let g = *by_context.entry(&r.context).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let results = run_parallel(groups.len(), opts.workers, |g| {
        let out = score_group(lm, requests, &groups[g])?;
        progress(out.len());
        Ok(out)
    })?;
    let mut scores = vec![
        Loglikelihood {
            logprob: 0.0,
            is_greedy: false
        };
        requests.len()
    ];
    for (group, out) in groups.iter().zip(results) {
        for (&i, s) in group.iter().zip(out) {
            scores[i] = s;
        }
    }
    Ok(scores)
}

/// Scores windows; returns, per window, the log-probability of each scored token.
/// `progress(n)` is called as `n` more windows finish.
pub fn score_windows(
    lm: &LoadedModel,
    windows: &[ScoreWindow],
    opts: &ScoreOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Vec<f64>>> {
    let context_length = lm.model.config().context_length;
    for (i, w) in windows.iter().enumerate() {
        if w.first_scored == 0 || w.first_scored >= w.tokens.len() {
            return Err(Error::InvalidRequest(format!(
                "window {i}: first scored token {} is outside 1..{}",
                w.first_scored,
                w.tokens.len()
            )));
        }
        if w.tokens.len() - 1 > context_length {
            return Err(Error::InvalidRequest(format!(
                "window {i}: {} positions do not fit the context of {context_length}",
                w.tokens.len() - 1
            )));
        }
    }
    run_parallel(windows.len(), opts.workers, |i| {
        let w = &windows[i];
        let model = lm.model.as_ref();
        let vocab = model.config().vocab_size;
        let input = &w.tokens[..w.tokens.len() - 1];
        let mut kv = SequenceKv::new(model, input.len());
        let logits = kv.forward(model, input, Logits::All)?;
        let out = (w.first_scored..w.tokens.len())
            .map(|t| token_logprob(&logits[(t - 1) * vocab..t * vocab], w.tokens[t]).0)
            .collect();
        progress(1);
        Ok(out)
    })
}

/// Scores one group of requests sharing a context.
fn score_group(
    lm: &LoadedModel,
    requests: &[LoglikelihoodRequest],
    group: &[usize],
) -> Result<Vec<Loglikelihood>> {
    let model = lm.model.as_ref();
    let vocab = model.config().vocab_size;
    let context = &requests[group[0]].context;
    let longest = group
        .iter()
        .map(|&i| requests[i].continuation.len())
        .max()
        .unwrap_or(1);
    let mut kv = SequenceKv::new(model, context.len() + longest - 1);
    let last = kv.forward(model, context, Logits::Last)?;
    let mut out = Vec::with_capacity(group.len());
    for &i in group {
        let cont = &requests[i].continuation;
        let (lp0, greedy0) = token_logprob(&last, cont[0]);
        let mut score = Loglikelihood {
            logprob: lp0,
            is_greedy: greedy0,
        };
        if cont.len() > 1 {
            kv.truncate(context.len());
            let logits = kv.forward(model, &cont[..cont.len() - 1], Logits::All)?;
            for (j, &tok) in cont.iter().enumerate().skip(1) {
                let (lp, greedy) = token_logprob(&logits[(j - 1) * vocab..j * vocab], tok);
                score.logprob += lp;
                score.is_greedy &= greedy;
            }
        }
        out.push(score);
    }
    Ok(out)
}

/// `log softmax(logits)[token]` in f64, and whether `token` is the (first) argmax.
pub fn token_logprob(logits: &[f32], token: u32) -> (f64, bool) {
    let mut argmax = 0;
    let mut max = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if l > max {
            max = l;
            argmax = i;
        }
    }
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let t = token as usize;
    let Some(&lt) = logits.get(t) else {
        return (f64::NEG_INFINITY, false);
    };
    (f64::from(lt - max) - sum.ln(), argmax == t)
}

/// Runs `f(0..n)` on up to `workers` scoped threads, each taking the next index from a shared
/// counter; returns the results in index order, or the first error.
fn run_parallel<T: Send>(
    n: usize,
    workers: usize,
    f: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let work = || loop {
        if failed.load(Ordering::Relaxed) {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            return;
        }
        match f(i) {
            Ok(v) => {
                if let Ok(mut s) = slots.lock() {
                    s[i] = Some(v);
                }
            }
            Err(e) => {
                failed.store(true, Ordering::Relaxed);
                if let Ok(mut slot) = first_error.lock() {
                    slot.get_or_insert(e);
                }
                return;
            }
        }
    };
    let workers = workers.clamp(1, n.max(1));
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let slots = slots
        .into_inner()
        .map_err(|_| Error::InvalidRequest("a scoring thread panicked".into()))?;
    slots
        .into_iter()
        .map(|s| s.ok_or_else(|| Error::InvalidRequest("a scoring thread panicked".into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_logprob_matches_a_direct_log_softmax() {
        let logits = [1.0f32, 2.0, 3.0, 0.5];
        let z: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        let (lp, greedy) = token_logprob(&logits, 1);
        assert!((lp - (2.0 - z.ln())).abs() < 1e-9);
        assert!(!greedy);
        assert!(token_logprob(&logits, 2).1);
        assert_eq!(token_logprob(&logits, 9).0, f64::NEG_INFINITY);
    }

    #[test]
    fn ties_go_to_the_first_index() {
        assert!(token_logprob(&[1.0, 1.0], 0).1);
        assert!(!token_logprob(&[1.0, 1.0], 1).1);
    }

    #[test]
    fn run_parallel_keeps_order_and_reports_errors() {
        let v = run_parallel(100, 4, |i| Ok(i * 2)).unwrap();
        assert_eq!(v, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let e = run_parallel(10, 3, |i| {
            if i == 7 {
                Err(Error::InvalidRequest("seven".into()))
            } else {
                Ok(i)
            }
        });
        assert!(e.is_err());
        assert!(run_parallel(0, 4, Ok).unwrap().is_empty());
    }
}
