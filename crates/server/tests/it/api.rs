//! Routes, errors and authentication: every error case answers OpenAI's error JSON with the
//! right status, and the server keeps serving afterwards.

use engine::EngineConfig;
use serde_json::json;

use crate::harness::{request, TestServer};

fn check_error(r: &crate::harness::Response, status: u16) -> serde_json::Value {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert!(e.get("param").is_some() && e.get("code").is_some(), "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_models_and_metrics() {
    let s = TestServer::start(EngineConfig::default()).await;
    let h = s.get("/health").await;
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));
    let m = s.get("/v1/models").await.json();
    assert_eq!(m["object"], "list");
    assert_eq!(m["data"][0]["id"], "stories260K");
    assert_eq!(s.get("/v1/models/stories260K").await.status, 200);
    check_error(&s.get("/v1/models/gpt-4").await, 404);
    let metrics = s.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for name in [
        "behemoth_requests_total{status=\"200\"}",
        "behemoth_prompt_tokens_total",
        "behemoth_generation_tokens_total",
        "behemoth_queue_depth",
        "behemoth_running_sequences",
        "behemoth_kv_blocks_used",
        "behemoth_kv_blocks_free",
        "behemoth_time_to_first_token_seconds_bucket{le=\"+Inf\"}",
        "behemoth_time_per_output_token_seconds_count",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_state_is_reported() {
    let slot = server::EngineSlot::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = server::ServerConfig {
        model_name: "m".into(),
        api_key: None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, config, slot, async move {
        let _ = rx.await;
    }));
    let h = request(addr, "GET", "/health", &[], None).await;
    assert_eq!(
        (h.status, h.json()["status"].as_str()),
        (503, Some("loading"))
    );
    let r = request(
        addr,
        "POST",
        "/v1/completions",
        &[],
        Some(r#"{"prompt":"x"}"#),
    )
    .await;
    check_error(&r, 503);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_case_is_openai_json_with_the_right_status() {
    let s = TestServer::start(EngineConfig {
        ctx: Some(64),
        ..EngineConfig::default()
    })
    .await;
    let a = s.addr;
    // Unknown route, wrong method.
    check_error(&s.get("/v2/nothing").await, 404);
    check_error(&request(a, "GET", "/v1/completions", &[], None).await, 405);
    // Malformed JSON, wrong types, missing fields.
    for body in [
        "{bad",
        "",
        "[1,2]",
        r#"{"prompt": 5}"#,
        r#"{"prompt": [-1]}"#,
        r#"{"prompt": "x", "max_tokens": -3}"#,
        r#"{"prompt": "x", "temperature": "hot"}"#,
        r#"{"max_tokens": 3}"#,
    ] {
        let r = request(a, "POST", "/v1/completions", &[], Some(body)).await;
        check_error(&r, 400);
    }
    let chat_bad = [
        r#"{"messages": []}"#,
        r#"{"messages": "hi"}"#,
        r#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#,
    ];
    for body in chat_bad {
        let r = request(a, "POST", "/v1/chat/completions", &[], Some(body)).await;
        check_error(&r, 400);
    }
    // Parameters out of range.
    let bad = [
        json!({"prompt": "x", "temperature": 5}),
        json!({"prompt": "x", "temperature": -1}),
        json!({"prompt": "x", "top_p": 0}),
        json!({"prompt": "x", "n": 0}),
        json!({"prompt": "x", "n": 1000000}),
        json!({"prompt": "x", "logprobs": 50}),
        json!({"prompt": "x", "presence_penalty": 3}),
        json!({"prompt": "x", "frequency_penalty": -9}),
        json!({"prompt": "x", "stop": vec!["a"; 40]}),
        json!({"prompt": []}),
        json!({"prompt": [[]]}),
        json!({"prompt": [1, 99999]}),
        json!({"prompt": vec!["x"; 1000]}),
        // Longer than the context (64 tokens).
        json!({"prompt": "one two three four five six seven eight nine ten ".repeat(20)}),
        json!({"prompt": vec![1u32; 64], "max_tokens": 1}),
    ];
    for body in &bad {
        let r = s.post("/v1/completions", body).await;
        let v = check_error(&r, 400);
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    let r = s
        .post(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21}),
        )
        .await;
    check_error(&r, 400);
    // A body over the 2 MiB limit.
    let huge = format!(r#"{{"prompt": "{}"}}"#, "a ".repeat(1_500_000));
    check_error(
        &request(a, "POST", "/v1/completions", &[], Some(&huge)).await,
        413,
    );
    // Unknown model.
    let r = s
        .post("/v1/completions", &json!({"model": "gpt-4", "prompt": "x"}))
        .await;
    assert_eq!(check_error(&r, 404)["error"]["code"], "model_not_found");
    // A prompt exactly filling the context with max_tokens 0 is fine (scoring).
    let r = s
        .post(
            "/v1/completions",
            &json!({"prompt": vec![1u32; 64], "max_tokens": 0, "echo": true, "logprobs": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // After all that, the server still answers.
    let r = s
        .post(
            "/v1/completions",
            &json!({"prompt": "Once", "max_tokens": 2}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(s.metric("behemoth_requests_total{status=\"400\"}").await >= bad.len() as f64);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_is_required_on_v1_routes() {
    let s = TestServer::start_with_key(EngineConfig::default(), Some("s3cret")).await;
    let body = r#"{"prompt": "Once", "max_tokens": 2}"#;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        request(s.addr, "POST", "/v1/completions", headers, Some(body))
    };
    check_error(&post(&[]).await, 401);
    check_error(&post(&[("Authorization", "Bearer wrong")]).await, 401);
    check_error(&post(&[("Authorization", "Bearer s3cre")]).await, 401);
    check_error(&post(&[("Authorization", "s3cret")]).await, 401);
    assert_eq!(
        post(&[("Authorization", "Bearer s3cret")]).await.status,
        200
    );
    check_error(&request(s.addr, "GET", "/v1/models", &[], None).await, 401);
    // Health and metrics stay open for probes and scrapers.
    assert_eq!(s.get("/health").await.status, 200);
    assert_eq!(s.get("/metrics").await.status, 200);
    s.stop().await;
}
