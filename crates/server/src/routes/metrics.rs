//! `GET /metrics`: Prometheus text format. HTTP responses by status from the server's own
//! counter; tokens, queue depth, running sequences, KV blocks and the latency histograms from
//! the engine's snapshot.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use engine::{HistogramSnapshot, LATENCY_BUCKETS};

use crate::AppState;

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, count) in LATENCY_BUCKETS.iter().zip(&h.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", h.sum, h.count);
}

pub(crate) async fn handle(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP behemoth_requests_total HTTP responses by status code.\n# TYPE behemoth_requests_total counter"
    );
    {
        let map = state
            .http
            .by_status
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (code, n) in map.iter() {
            let _ = writeln!(out, "behemoth_requests_total{{status=\"{code}\"}} {n}");
        }
    }
    if let Some(engine) = state.engine.get() {
        let m = engine.metrics();
        let rows: [(&str, &str, &str, u64); 13] = [
            (
                "behemoth_prompt_tokens_total",
                "counter",
                "Prompt tokens of started requests.",
                m.prompt_tokens,
            ),
            (
                "behemoth_generation_tokens_total",
                "counter",
                "Tokens generated.",
                m.generated_tokens,
            ),
            (
                "behemoth_prefix_cache_hit_tokens_total",
                "counter",
                "Prompt tokens served from the prefix cache.",
                m.cached_prompt_tokens,
            ),
            (
                "behemoth_preemptions_total",
                "counter",
                "Sequences sent back to the queue for lack of KV blocks.",
                m.preemptions,
            ),
            (
                "behemoth_cancelled_requests_total",
                "counter",
                "Requests cancelled because the client went away.",
                m.cancelled,
            ),
            (
                "behemoth_finished_requests_total",
                "counter",
                "Requests that ended normally.",
                m.finished,
            ),
            (
                "behemoth_failed_requests_total",
                "counter",
                "Requests the engine failed.",
                m.failed,
            ),
            (
                "behemoth_engine_steps_total",
                "counter",
                "Forward passes run.",
                m.steps,
            ),
            (
                "behemoth_queue_depth",
                "gauge",
                "Requests waiting to start.",
                m.queue_depth,
            ),
            (
                "behemoth_running_sequences",
                "gauge",
                "Sequences running.",
                m.running,
            ),
            (
                "behemoth_kv_blocks_used",
                "gauge",
                "KV-cache blocks in use.",
                m.kv_blocks_used,
            ),
            (
                "behemoth_kv_blocks_free",
                "gauge",
                "KV-cache blocks free (including reusable cached ones).",
                m.kv_blocks_free,
            ),
            (
                "behemoth_kv_blocks_total",
                "gauge",
                "KV-cache blocks in all.",
                m.kv_blocks_total,
            ),
        ];
        for (name, kind, help, value) in rows {
            metric(&mut out, name, kind, help, value);
        }
        histogram(
            &mut out,
            "behemoth_time_to_first_token_seconds",
            "Time from submission to the first generated token.",
            &m.ttft,
        );
        histogram(
            &mut out,
            "behemoth_time_per_output_token_seconds",
            "Time between consecutive generated tokens of a request.",
            &m.tpot,
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
