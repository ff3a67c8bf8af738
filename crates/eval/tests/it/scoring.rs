//! The engine's scoring primitives agree with each other and with plain logits: a shared
//! context scored once gives the same log-likelihoods as each pair run alone, and
//! `score_windows` agrees with `prompt_logits`.

use engine::{
    loglikelihood, prompt_logits, score_windows, token_logprob, LoglikelihoodRequest, ScoreOptions,
    ScoreWindow,
};

use crate::model;

#[test]
fn shared_context_scores_equal_scores_from_full_logits() {
    let lm = model();
    let tok = &lm.tokenizer;
    let context = tok.encode("Once upon a time, there was a", true, false);
    let choices = [" little girl", " big dog named Max", " cat"];
    let requests: Vec<LoglikelihoodRequest> = choices
        .iter()
        .map(|c| LoglikelihoodRequest {
            context: context.clone(),
            continuation: tok.encode(c, false, false),
        })
        .collect();
    let got = loglikelihood(lm, &requests, &ScoreOptions { workers: 2 }, &|_| {}).unwrap();
    let vocab = lm.model.config().vocab_size;
    for (r, g) in requests.iter().zip(&got) {
        let ids = [r.context.clone(), r.continuation.clone()].concat();
        let logits = prompt_logits(lm, &ids).unwrap();
        let mut sum = 0.0;
        let mut greedy = true;
        for (j, &t) in r.continuation.iter().enumerate() {
            let pos = r.context.len() - 1 + j;
            let (lp, g) = token_logprob(&logits[pos * vocab..(pos + 1) * vocab], t);
            sum += lp;
            greedy &= g;
        }
        assert!((sum - g.logprob).abs() < 1e-4, "{sum} vs {}", g.logprob);
        assert_eq!(greedy, g.is_greedy);
        // And score_windows over the same tokens gives the same sum.
        let w = score_windows(
            lm,
            &[ScoreWindow {
                tokens: ids.clone(),
                first_scored: r.context.len(),
            }],
            &ScoreOptions { workers: 1 },
            &|_| {},
        )
        .unwrap();
        assert!((w[0].iter().sum::<f64>() - g.logprob).abs() < 1e-4);
    }
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let lm = model();
    let empty = LoglikelihoodRequest {
        context: vec![],
        continuation: vec![1],
    };
    assert!(loglikelihood(lm, &[empty], &ScoreOptions::default(), &|_| {}).is_err());
    let too_long = LoglikelihoodRequest {
        context: vec![1; 5000],
        continuation: vec![1],
    };
    assert!(loglikelihood(lm, &[too_long], &ScoreOptions::default(), &|_| {}).is_err());
    let bad_window = ScoreWindow {
        tokens: vec![1, 2],
        first_scored: 0,
    };
    assert!(score_windows(lm, &[bad_window], &ScoreOptions::default(), &|_| {}).is_err());
}
