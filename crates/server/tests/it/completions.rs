//! `/v1/completions`: greedy text equals the engine's single-sequence `generate`; every prompt
//! form; echo with the legacy log-probability object (checked against the model's own logits);
//! stop strings across token boundaries; `n` > 1 with seeds; streaming equals non-streaming.

use engine::{generate, prompt_logits, EngineConfig, GenerateOptions, SamplingParams};
use serde_json::{json, Value};
use tokenizer::StreamDecoder;

use crate::harness::{load, TestServer};

/// The text `behemoth run --temp 0` would produce.
fn reference_text(prompt: &str, n: usize) -> String {
    let lm = load();
    let ids = lm.tokenizer.encode(prompt, true, true);
    let mut text = String::new();
    let mut dec = StreamDecoder::new();
    let opts = GenerateOptions {
        max_new_tokens: Some(n),
        sampling: SamplingParams::greedy(),
    };
    generate(&lm, &ids, &opts, |id| {
        text.push_str(&dec.push(&lm.tokenizer.token_to_piece(id, false)));
        true
    })
    .unwrap();
    text.push_str(&dec.finish());
    text
}

fn choice_text(v: &Value, i: usize) -> &str {
    v["choices"][i]["text"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_completion_equals_single_sequence_generation() {
    let s = TestServer::start(EngineConfig::default()).await;
    let r = s
        .post(
            "/v1/completions",
            &json!({"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 40, "temperature": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(choice_text(&v, 0), reference_text("Once upon a time", 40));
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 40);
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["total_tokens"], 45);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prompt_form_and_n() {
    let s = TestServer::start(EngineConfig::default()).await;
    let ids: Vec<u32> = load().tokenizer.encode("Once upon a time", true, true);
    let base = json!({"max_tokens": 8, "temperature": 0});
    let with = |prompt: Value| {
        let mut b = base.clone();
        b["prompt"] = prompt;
        b
    };
    let one = s
        .post("/v1/completions", &with(json!("Once upon a time")))
        .await
        .json();
    let want = choice_text(&one, 0).to_string();
    let by_ids = s.post("/v1/completions", &with(json!(ids))).await.json();
    assert_eq!(choice_text(&by_ids, 0), want);
    let many = s
        .post(
            "/v1/completions",
            &with(json!(["Once upon a time", "The cat"])),
        )
        .await
        .json();
    assert_eq!(many["choices"].as_array().unwrap().len(), 2);
    assert_eq!(choice_text(&many, 0), want);
    assert_eq!(many["choices"][1]["index"], 1);
    let lists = s
        .post("/v1/completions", &with(json!([ids.clone(), ids.clone()])))
        .await
        .json();
    assert_eq!(choice_text(&lists, 1), want);

    // n = 3 per prompt at a temperature: indices run prompt-major; a seed reproduces them.
    let sampled = json!({"prompt": ["Once upon a time", "The cat"], "max_tokens": 12,
                         "temperature": 1.0, "n": 3, "seed": 7});
    let a = s.post("/v1/completions", &sampled).await.json();
    let b = s.post("/v1/completions", &sampled).await.json();
    let texts = |v: &Value| -> Vec<String> {
        v["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&a).len(), 6);
    assert_eq!(texts(&a), texts(&b), "same seed, same choices");
    let idx: Vec<u64> = a["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 1, 2, 3, 4, 5]);
    let first = texts(&a)[..3].to_vec();
    assert!(
        first[0] != first[1] || first[1] != first[2],
        "choices of one prompt differ: {first:?}"
    );
    // Usage counts each prompt once and every choice's tokens.
    assert_eq!(a["usage"]["completion_tokens"], 6 * 12);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_with_logprobs_scores_the_prompt_like_the_model() {
    let s = TestServer::start(EngineConfig::default()).await;
    let lm = load();
    let ids = lm
        .tokenizer
        .encode("Once upon a time there was", true, true);
    let vocab = lm.model.config().vocab_size;
    let logits = prompt_logits(&lm, &ids).unwrap();
    // What lm-evaluation-harness sends for loglikelihood requests.
    for max_tokens in [0, 1] {
        let r = s
            .post(
                "/v1/completions",
                &json!({"model": "stories260K", "prompt": [ids.clone()], "max_tokens": max_tokens,
                        "logprobs": 1, "echo": true, "temperature": 0, "seed": 1234}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let lp = &v["choices"][0]["logprobs"];
        let token_logprobs = lp["token_logprobs"].as_array().unwrap();
        let n = ids.len() + max_tokens;
        assert_eq!(token_logprobs.len(), n);
        assert_eq!(lp["tokens"].as_array().unwrap().len(), n);
        assert_eq!(lp["top_logprobs"].as_array().unwrap().len(), n);
        assert_eq!(lp["text_offset"].as_array().unwrap().len(), n);
        assert!(token_logprobs[0].is_null() && lp["top_logprobs"][0].is_null());
        assert_eq!(lp["tokens"][0], "<s>");
        for i in 1..ids.len() {
            let row = &logits[(i - 1) * vocab..i * vocab];
            let max = row.iter().copied().fold(f32::MIN, f32::max);
            let lse = max + row.iter().map(|&x| (x - max).exp()).sum::<f32>().ln();
            let want = row[ids[i] as usize] - lse;
            let got = token_logprobs[i].as_f64().unwrap() as f32;
            assert!((got - want).abs() < 1e-4, "position {i}: {got} vs {want}");
            let top = lp["top_logprobs"][i].as_object().unwrap();
            assert_eq!(top.len(), 1);
            let best = top.values().next().unwrap().as_f64().unwrap() as f32;
            assert!(best >= got - 1e-6);
        }
        let text = choice_text(&v, 0);
        assert!(text.starts_with("Once upon a time there was"), "{text}");
        // Offsets index the returned text.
        let offsets: Vec<usize> = lp["text_offset"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_u64().unwrap() as usize)
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        let chars: Vec<char> = text.chars().collect();
        let at = |i: usize| chars[offsets[i]..].iter().collect::<String>();
        assert!(
            at(3).starts_with(" a time") || at(3).starts_with("a time"),
            "{}",
            at(3)
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_strings_cut_the_text_across_token_boundaries() {
    let s = TestServer::start(EngineConfig::default()).await;
    let full = reference_text("Once upon a time", 60);
    // A stop string starting inside a word, spanning several tokens.
    let at = full.find("girl").expect("the story has a girl");
    let stop = &full[at + 1..at + 6];
    let r = s
        .post(
            "/v1/completions",
            &json!({"prompt": "Once upon a time", "max_tokens": 60, "temperature": 0,
                    "stop": ["NEVER-THERE", stop]}),
        )
        .await
        .json();
    assert_eq!(choice_text(&r, 0), &full[..at + 1]);
    assert_eq!(r["choices"][0]["finish_reason"], "stop");
    // A single stop string, streamed: same text.
    let r = s
        .post(
            "/v1/completions",
            &json!({"prompt": "Once upon a time", "max_tokens": 60, "temperature": 0,
                    "stop": stop, "stream": true}),
        )
        .await;
    let chunks = r.sse_json();
    let text: String = chunks
        .iter()
        .map(|c| c["choices"][0]["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(text, &full[..at + 1]);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_equals_non_streaming() {
    let s = TestServer::start(EngineConfig::default()).await;
    let body = json!({"prompt": "The dog", "max_tokens": 30, "temperature": 0.9, "seed": 5,
                      "logprobs": 2, "echo": true});
    let whole = s.post("/v1/completions", &body).await.json();
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    sbody["stream_options"] = json!({"include_usage": true});
    let r = s.post("/v1/completions", &sbody).await;
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let chunks = r.sse_json();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| c["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(text, choice_text(&whole, 0));
    let streamed_lps: Vec<Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .filter(|c| !c["logprobs"].is_null())
        .flat_map(|c| c["logprobs"]["token_logprobs"].as_array().unwrap().clone())
        .collect();
    let as_f32 = |v: &[Value]| -> Vec<Option<f32>> {
        v.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
    };
    assert_eq!(
        as_f32(&streamed_lps),
        as_f32(
            whole["choices"][0]["logprobs"]["token_logprobs"]
                .as_array()
                .unwrap()
        )
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        usage["completion_tokens"],
        whole["usage"]["completion_tokens"]
    );
    assert!(chunks.last().unwrap()["choices"]
        .as_array()
        .unwrap()
        .is_empty());
    s.stop().await;
}
