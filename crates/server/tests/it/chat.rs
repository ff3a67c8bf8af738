//! `/v1/chat/completions`: rendered through the chat template, non-streaming and streaming
//! give the same message; logprobs with alternatives; `n`, penalties and `max_completion_tokens`.

use engine::EngineConfig;
use serde_json::{json, Value};

use crate::harness::TestServer;

fn messages() -> Value {
    json!([
        {"role": "system", "content": "You tell short stories."},
        {"role": "user", "content": [{"type": "text", "text": "Tell me about a cat."}]}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streaming_and_not_give_the_same_message() {
    let s = TestServer::start(EngineConfig::default()).await;
    let body = json!({"model": "stories260K", "messages": messages(), "max_completion_tokens": 24,
                      "temperature": 0});
    let r = s.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["role"], "assistant");
    let content = msg["content"].as_str().unwrap().to_string();
    assert!(!content.is_empty());
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 24);
    assert!(v["choices"][0]["logprobs"].is_null());

    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    sbody["stream_options"] = json!({"include_usage": true});
    let chunks = s.post("/v1/chat/completions", &sbody).await.sse_json();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| c["delta"]["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(streamed, content);
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| &c["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("length")]);
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["completion_tokens"], 24);
    assert_eq!(last["usage"]["total_tokens"], v["usage"]["total_tokens"]);
    // Without include_usage no chunk carries usage.
    sbody["stream_options"] = json!({"include_usage": false});
    let chunks = s.post("/v1/chat/completions", &sbody).await.sse_json();
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_logprobs_n_and_penalties() {
    let s = TestServer::start(EngineConfig::default()).await;
    let r = s
        .post(
            "/v1/chat/completions",
            &json!({"messages": messages(), "max_tokens": 10, "temperature": 0,
                    "logprobs": true, "top_logprobs": 3}),
        )
        .await
        .json();
    let content = r["choices"][0]["logprobs"]["content"].as_array().unwrap();
    assert_eq!(content.len(), 10);
    for c in content {
        let top = c["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        // Greedy: the chosen token is the most likely one.
        assert_eq!(top[0]["token"], c["token"]);
        assert_eq!(top[0]["logprob"], c["logprob"]);
        assert!(c["logprob"].as_f64().unwrap() <= 0.0);
        assert!(c["bytes"].is_array());
    }

    let r = s
        .post(
            "/v1/chat/completions",
            &json!({"messages": messages(), "max_tokens": 16, "temperature": 1, "n": 4, "seed": 3}),
        )
        .await
        .json();
    let choices = r["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 4);
    assert_eq!(
        r["usage"]["completion_tokens"].as_u64().unwrap(),
        choices.len() as u64 * 16
    );

    // A strong frequency penalty changes a long greedy answer (stories repeat words).
    let plain = json!({"messages": messages(), "max_tokens": 60, "temperature": 0});
    let mut penalised = plain.clone();
    penalised["frequency_penalty"] = json!(2.0);
    penalised["presence_penalty"] = json!(1.0);
    let a = s.post("/v1/chat/completions", &plain).await.json();
    let b = s.post("/v1/chat/completions", &penalised).await.json();
    assert_ne!(
        a["choices"][0]["message"]["content"],
        b["choices"][0]["message"]["content"]
    );
    s.stop().await;
}
