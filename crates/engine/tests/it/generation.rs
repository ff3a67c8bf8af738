//! Greedy generation reproduces reference token ids and text exactly.

use engine::{generate, GenerateOptions, SamplingParams, StopReason};

use crate::{fixture, shared, stories260k};

fn expected_greedy() -> serde_json::Value {
    let path = fixture("stories260K/expected-greedy-from-bos.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn greedy(lm: &engine::LoadedModel, prompt: &[u32], n: usize) -> (Vec<u32>, StopReason) {
    let opts = GenerateOptions {
        max_new_tokens: Some(n),
        sampling: SamplingParams::greedy(),
    };
    let mut ids = Vec::new();
    let stats = generate(lm, prompt, &opts, |id| {
        ids.push(id);
        true
    })
    .unwrap();
    (ids, stats.stop_reason)
}

#[test]
fn stories260k_greedy_from_bos_matches_reference_256_tokens() {
    let want: Vec<u32> = expected_greedy()["greedy_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(want.len(), 256);
    let lm = stories260k();
    let (got, stop) = greedy(&lm, &[1], 256);
    assert_eq!(stop, StopReason::Length);
    let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "first divergence at step {first_diff:?}");
    assert_eq!(got, want);
}

#[test]
fn stories260k_once_upon_a_time_continuation() {
    let lm = stories260k();
    let prompt = lm.tokenizer.encode("Once upon a time", true, true);
    assert_eq!(prompt, [1, 403, 407, 261, 378]);
    let (ids, _) = greedy(&lm, &prompt, 100);
    // The prompt is the reference's first four tokens, so the continuation is the rest of it.
    let reference = expected_greedy();
    let want: Vec<u32> = reference["greedy_ids"].as_array().unwrap()[4..104]
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(ids, want);
    let text = lm.tokenizer.decode(&ids, true);
    assert!(
        text.starts_with(
            ", there was a little girl named Lily. She loved to play outside in the park. \
             One day, she saw a big, red ball."
        ),
        "{text}"
    );
    // The reference text, decoded by llama2.c's rules, contains ours.
    let full = reference["text"].as_str().unwrap();
    assert!(
        full.starts_with(&format!("Once upon a time{text}")),
        "{text}"
    );
}

#[test]
fn same_seed_same_text_different_seed_different_text() {
    let lm = stories260k();
    let run = |seed| {
        let opts = GenerateOptions {
            max_new_tokens: Some(40),
            sampling: SamplingParams {
                temperature: 1.0,
                seed,
                ..SamplingParams::default()
            },
        };
        let mut ids = Vec::new();
        generate(&lm, &[1], &opts, |id| {
            ids.push(id);
            true
        })
        .unwrap();
        ids
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn callback_can_stop_and_limits_hold() {
    let lm = stories260k();
    let opts = GenerateOptions {
        max_new_tokens: Some(50),
        sampling: SamplingParams::greedy(),
    };
    let mut n = 0;
    let stats = generate(&lm, &[1], &opts, |_| {
        n += 1;
        n < 3
    })
    .unwrap();
    assert_eq!((n, stats.stop_reason), (3, StopReason::Stopped));
    // An empty prompt and an out-of-range id are errors, not panics.
    assert!(generate(&lm, &[], &opts, |_| true).is_err());
    let err = generate(&lm, &[1, 512], &opts, |_| true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("token id 512"), "{err}");
}

#[test]
fn llama2_tiny_random_f16_loads_and_generates() {
    let Some(path) = shared("models/llama-2-tiny-random/llama-2-tiny-random.gguf") else {
        return;
    };
    let lm = engine::LoadedModel::open(&path, &engine::LoadOptions::default()).unwrap();
    let c = lm.model.config();
    assert_eq!(
        (c.vocab_size, c.hidden_size, c.n_layers, c.n_heads),
        (32000, 8, 1, 2)
    );
    let prompt = lm.tokenizer.encode("Hello world", true, true);
    assert_eq!(prompt, [1, 15043, 3186]);
    let (ids, _) = greedy(&lm, &prompt, 16);
    assert_eq!(ids.len(), 16);
    assert!(ids.iter().all(|&id| id < 32000));
}
