//! Engine counters, gauges and latency histograms, updated by the engine thread with atomics
//! and read at any time by the server (which formats them for Prometheus). Plain numbers only:
//! no metrics library and no text format here.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the latency histogram buckets; the last bucket is +Inf.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A fixed-bucket histogram of seconds.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// A copy of a histogram's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts per bound of `LATENCY_BUCKETS` (Prometheus `le` semantics).
    pub cumulative: Vec<u64>,
    /// Observations.
    pub count: u64,
    /// Sum of the observations in seconds.
    pub sum: f64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }

    /// Its current values.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Ordering::Relaxed);
                acc
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        }
    }
}

/// Everything the engine counts.
#[derive(Debug, Default)]
pub struct EngineMetrics {
    pub(crate) queue_depth: AtomicU64,
    pub(crate) running: AtomicU64,
    pub(crate) kv_blocks_used: AtomicU64,
    pub(crate) kv_blocks_free: AtomicU64,
    pub(crate) kv_blocks_total: AtomicU64,
    pub(crate) prompt_tokens: AtomicU64,
    pub(crate) generated_tokens: AtomicU64,
    pub(crate) cached_prompt_tokens: AtomicU64,
    pub(crate) preemptions: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) finished: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) steps: AtomicU64,
    pub(crate) ttft: Histogram,
    pub(crate) tpot: Histogram,
}

/// A copy of the engine's metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Requests submitted and not yet started.
    pub queue_depth: u64,
    /// Sequences running (holding KV blocks).
    pub running: u64,
    /// KV blocks referenced by some sequence.
    pub kv_blocks_used: u64,
    /// KV blocks free (including cached ones that can be reused).
    pub kv_blocks_free: u64,
    /// KV blocks in all.
    pub kv_blocks_total: u64,
    /// Prompt tokens of started requests.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// Prompt tokens served from the prefix cache.
    pub cached_prompt_tokens: u64,
    /// Preemptions (a sequence sent back to the queue for lack of blocks).
    pub preemptions: u64,
    /// Requests cancelled because their receiver went away.
    pub cancelled: u64,
    /// Requests that ended normally.
    pub finished: u64,
    /// Requests the engine failed.
    pub failed: u64,
    /// Forward passes run.
    pub steps: u64,
    /// Time to first token.
    pub ttft: HistogramSnapshot,
    /// Time per output token after the first.
    pub tpot: HistogramSnapshot,
}

impl EngineMetrics {
    /// Its current values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            queue_depth: g(&self.queue_depth),
            running: g(&self.running),
            kv_blocks_used: g(&self.kv_blocks_used),
            kv_blocks_free: g(&self.kv_blocks_free),
            kv_blocks_total: g(&self.kv_blocks_total),
            prompt_tokens: g(&self.prompt_tokens),
            generated_tokens: g(&self.generated_tokens),
            cached_prompt_tokens: g(&self.cached_prompt_tokens),
            preemptions: g(&self.preemptions),
            cancelled: g(&self.cancelled),
            finished: g(&self.finished),
            failed: g(&self.failed),
            steps: g(&self.steps),
            ttft: self.ttft.snapshot(),
            tpot: self.tpot.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(0.0005);
        h.observe(0.003);
        h.observe(100.0);
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[2], 2);
        assert_eq!(*s.cumulative.last().unwrap(), 2, "100 s is only in +Inf");
        assert_eq!(s.count, 3);
        assert!((s.sum - 100.0035).abs() < 1e-6);
    }
}
