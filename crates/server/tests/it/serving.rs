//! Continuous batching behaviour seen from outside: batch invariance, a client that disconnects
//! mid-stream frees its KV blocks at once (via /metrics), a full queue answers 503, preemption
//! keeps outputs unchanged, the prefix cache is used, and a graceful shutdown lets a stream
//! finish.

use std::time::Duration;

use engine::EngineConfig;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::harness::{open_stream, TestServer};

async fn text_of(s: &TestServer, body: &Value) -> String {
    let r = s.post("/v1/completions", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["choices"][0]["text"].as_str().unwrap().to_string()
}

fn bodies() -> Vec<Value> {
    let prompts = [
        "Once upon a time",
        "The little dog",
        "Lily and Ben went to the park",
        "One day, a big",
        "Tom had a red ball",
        "The sun was hot",
    ];
    let mut v = Vec::new();
    for (i, p) in prompts.iter().enumerate() {
        v.push(json!({"prompt": p, "max_tokens": 48, "temperature": 0}));
        v.push(json!({"prompt": p, "max_tokens": 48, "temperature": 0.8, "seed": i, "top_p": 0.9}));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_are_identical_alone_and_batched() {
    // Small blocks and budget so that prefill chunks and decodes mix in every step.
    let s = TestServer::start(EngineConfig {
        block_size: 4,
        max_batch_tokens: 16,
        ..EngineConfig::default()
    })
    .await;
    let bodies = bodies();
    let mut alone = Vec::new();
    for b in &bodies {
        alone.push(text_of(&s, b).await);
    }
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for b in bodies.clone() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { text_of(&s, &b).await }));
    }
    let mut batched = Vec::new();
    for t in tasks {
        batched.push(t.await.unwrap());
    }
    assert_eq!(alone, batched);
    assert!(s.metric("behemoth_engine_steps_total").await > 0.0);
    let s = std::sync::Arc::try_unwrap(s).ok().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preemption_requeues_and_keeps_outputs() {
    // Room for one context of 64 positions only: four long requests must take turns.
    let config = EngineConfig {
        ctx: Some(64),
        block_size: 4,
        kv_mem_bytes: Some(1),
        max_batch_tokens: 32,
        ..EngineConfig::default()
    };
    let s = TestServer::start(config).await;
    let total = s.metric("behemoth_kv_blocks_total").await;
    assert_eq!(total, 16.0);
    let bodies: Vec<Value> = bodies()
        .into_iter()
        .take(4)
        .map(|mut b| {
            b["max_tokens"] = json!(40);
            b
        })
        .collect();
    let mut alone = Vec::new();
    for b in &bodies {
        alone.push(text_of(&s, b).await);
    }
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|b| {
            let s = s.clone();
            tokio::spawn(async move { text_of(&s, &b).await })
        })
        .collect();
    let mut batched = Vec::new();
    for t in tasks {
        batched.push(t.await.unwrap());
    }
    assert_eq!(alone, batched);
    assert!(s.metric("behemoth_preemptions_total").await > 0.0);
    assert_eq!(s.metric("behemoth_kv_blocks_used").await, 0.0);
    let s = std::sync::Arc::try_unwrap(s).ok().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_stream_frees_blocks_at_once() {
    let s = TestServer::start(EngineConfig {
        step_delay: Some(Duration::from_millis(5)),
        ..EngineConfig::default()
    })
    .await;
    for path in ["/v1/completions", "/v1/chat/completions"] {
        let body = if path == "/v1/completions" {
            json!({"prompt": "Once upon a time", "max_tokens": 1000, "stream": true, "ignore_eos": true})
        } else {
            json!({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1000,
                   "stream": true, "ignore_eos": true, "n": 2})
        };
        let (stream, _first) = open_stream(s.addr, path, &body).await;
        let wait = Duration::from_secs(5);
        assert!(
            s.wait_metric_until("behemoth_kv_blocks_used", |v| v > 0.0, wait)
                .await
                > 0.0
        );
        assert!(
            s.wait_metric_until("behemoth_running_sequences", |v| v >= 1.0, wait)
                .await
                >= 1.0
        );
        drop(stream);
        let used = s
            .wait_metric("behemoth_kv_blocks_used", 0.0, Duration::from_secs(5))
            .await;
        assert_eq!(used, 0.0, "blocks freed after the disconnect");
        assert_eq!(s.metric("behemoth_running_sequences").await, 0.0);
    }
    assert!(s.metric("behemoth_cancelled_requests_total").await >= 3.0);
    // Far fewer tokens were generated than the 3000 asked for.
    assert!(s.metric("behemoth_generation_tokens_total").await < 1500.0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_and_the_rest_succeed() {
    let s = TestServer::start(EngineConfig {
        max_seqs: 1,
        max_queue: 2,
        step_delay: Some(Duration::from_millis(2)),
        ..EngineConfig::default()
    })
    .await;
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let body =
                    json!({"prompt": "Once", "max_tokens": 30, "seed": i, "ignore_eos": true});
                s.post("/v1/completions", &body).await
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok += 1,
            503 => {
                busy += 1;
                assert_eq!(r.json()["error"]["code"], "queue_full");
                assert_eq!(r.header("retry-after"), Some("1"));
            }
            other => panic!("unexpected status {other}: {}", r.text()),
        }
    }
    assert!(ok >= 2 && busy >= 1, "ok {ok}, busy {busy}");
    assert_eq!(s.metric("behemoth_queue_depth").await, 0.0);
    let s = std::sync::Arc::try_unwrap(s).ok().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_prompt_prefixes_come_from_the_cache() {
    let s = TestServer::start(EngineConfig::default()).await;
    let system = "You are a storyteller. Always tell happy stories about animals in the forest. ";
    let ask = |q: &str| {
        json!({"messages": [{"role": "system", "content": system}, {"role": "user", "content": q}],
               "max_tokens": 4, "temperature": 0})
    };
    let a = s.post("/v1/chat/completions", &ask("A fox?")).await.json();
    assert_eq!(a["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    let b = s.post("/v1/chat/completions", &ask("A bear?")).await.json();
    let cached = b["usage"]["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    assert!(cached >= 16, "cached {cached}");
    assert!(s.metric("behemoth_prefix_cache_hit_tokens_total").await >= 16.0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_streams_finish() {
    let mut s = TestServer::start(EngineConfig {
        step_delay: Some(Duration::from_millis(2)),
        ..EngineConfig::default()
    })
    .await;
    let body = json!({"prompt": "Once", "max_tokens": 60, "stream": true, "ignore_eos": true});
    let (mut stream, first) = open_stream(s.addr, "/v1/completions", &body).await;
    s.trigger_shutdown();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    let all = first + &String::from_utf8_lossy(&rest);
    assert!(all.contains("data: [DONE]"), "{all}");
    assert!(all.contains("\"finish_reason\":\"length\""));
    // New connections are refused once the server has stopped.
    let addr = s.addr;
    s.wait_stopped().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
