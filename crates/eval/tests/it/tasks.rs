//! Task scores against lm-evaluation-harness 0.4.13's Hugging Face backend on
//! `shared/models/stories260K-hf` (the same weights as the GGUF stories260K), with the local task
//! configs in `scripts/lm-eval-tasks` (see its README). The commands, run from the repository
//! root with `../shared` beside it:
//!
//! ```sh
//! lm_eval --model hf --model_args pretrained=../shared/models/stories260K-hf,dtype=float32 \
//!   --tasks behemoth_hellaswag,behemoth_arc_easy,behemoth_winogrande,behemoth_lambada,behemoth_arc_challenge \
//!   --include_path scripts/lm-eval-tasks --limit 500 --batch_size 32 --device cpu --log_samples --output_path OUT
//! lm_eval ... --tasks behemoth_piqa --limit 300 ...   # PIQA item 315 has a 624-token answer: lm-eval asserts
//! ```
//!
//! The first-50/100 numbers for the committed fixtures are the means over `doc_id < N` of the
//! per-sample `acc`/`acc_norm` in those runs' `samples_*.jsonl`.
//! Item by item, the 8,100 per-choice log-likelihoods of those runs (HellaSwag, ARC-Easy,
//! ARC-Challenge, WinoGrande, LAMBADA at 500 items, PIQA at 300) agree with ours within 2.2e-4
//! and every `is_greedy` flag is the same (compared once from `--log_samples`; not stored).

use eval::tasks::{build_prompts, encode_pair, load_docs, run_task, Task};
use eval::{NoProgress, TaskOptions};

use crate::{model, repo, shared};

fn run(
    task: Task,
    file: &std::path::Path,
    limit: Option<usize>,
    workers: usize,
) -> eval::tasks::TaskRun {
    // lm-eval's max_length for the HF twin is its config.json's 512 (the GGUF says 2048).
    let opts = TaskOptions {
        limit,
        workers,
        max_length: Some(512),
        ..TaskOptions::default()
    };
    run_task(model(), task, file, &opts, &NoProgress).expect("task runs")
}

/// Asserts each `(metric, lm-eval value)` within 0.1 points (0.001).
fn check(run: &eval::tasks::TaskRun, expected: &[(&str, f64)]) {
    for &(name, want) in expected {
        let got = run
            .result
            .metric(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .value;
        assert!(
            (got - want).abs() <= 0.001,
            "{} {name}: {got} vs lm-eval {want}",
            run.result.benchmark
        );
    }
}

/// A task, its fixture, its item count and lm-eval's metrics on those items.
type Case = (Task, &'static str, usize, &'static [(&'static str, f64)]);

#[test]
fn fixtures_match_lm_eval_first_items() {
    let cases: [Case; 6] = [
        (
            Task::Hellaswag,
            "hellaswag_val_100.jsonl",
            100,
            &[("acc", 0.27), ("acc_norm", 0.15)],
        ),
        (
            Task::ArcEasy,
            "arc_easy_100.jsonl",
            100,
            &[("acc", 0.24), ("acc_norm", 0.23)],
        ),
        (
            Task::ArcChallenge,
            "arc_challenge_50.jsonl",
            50,
            &[("acc", 0.20), ("acc_norm", 0.18)],
        ),
        (
            Task::Piqa,
            "piqa_100.jsonl",
            100,
            &[("acc", 0.46), ("acc_norm", 0.46)],
        ),
        (
            Task::Winogrande,
            "winogrande_100.jsonl",
            100,
            &[("acc", 0.48)],
        ),
        (
            Task::Lambada,
            "lambada_openai_50.jsonl",
            50,
            &[("acc", 0.04)],
        ),
    ];
    for (task, file, n, expected) in cases {
        let r = run(task, &repo(&format!("fixtures/eval/{file}")), None, 0);
        assert_eq!(r.result.items, n);
        check(&r, expected);
    }
}

#[test]
fn lambada_perplexity_matches_lm_eval() {
    // First 50 items: exp(-mean(ll)) = 885623.66 in lm-eval's samples (float32 torch).
    let r = run(
        Task::Lambada,
        &repo("fixtures/eval/lambada_openai_50.jsonl"),
        None,
        0,
    );
    let ppl = r.result.metric("perplexity").unwrap().value;
    assert!((ppl / 885623.6627662707 - 1.0).abs() < 1e-4, "{ppl}");
}

#[test]
fn hellaswag_arc_easy_piqa_match_lm_eval() {
    let Some(hs) = shared("datasets/hellaswag/hellaswag_val_1000.jsonl") else {
        return;
    };
    let Some(arc) = shared("datasets/arc-easy/arc_easy.jsonl") else {
        return;
    };
    let Some(piqa) = shared("datasets/piqa/piqa.jsonl") else {
        return;
    };
    // behemoth_hellaswag, --limit 500: acc 0.2700 ± 0.0199, acc_norm 0.2460 ± 0.0193.
    let r = run(Task::Hellaswag, &hs, Some(500), 0);
    check(&r, &[("acc", 0.2700), ("acc_norm", 0.2460)]);
    let acc = r.result.metric("acc").unwrap();
    assert!((acc.stderr.unwrap() - 0.0199).abs() < 5e-5, "{acc:?}");
    // behemoth_arc_easy, --limit 500: acc 0.2460 ± 0.0193, acc_norm 0.2380 ± 0.0191.
    check(
        &run(Task::ArcEasy, &arc, Some(500), 0),
        &[("acc", 0.2460), ("acc_norm", 0.2380)],
    );
    // behemoth_piqa, --limit 300: acc 0.4933 ± 0.0289, acc_norm 0.4500 ± 0.0288.
    check(
        &run(Task::Piqa, &piqa, Some(300), 0),
        &[("acc", 0.4933), ("acc_norm", 0.4500)],
    );
}

#[test]
fn winogrande_matches_lm_eval() {
    let Some(file) = shared("datasets/winogrande/winogrande.jsonl") else {
        return;
    };
    // behemoth_winogrande, --limit 500: acc 0.5060 ± 0.0224.
    check(
        &run(Task::Winogrande, &file, Some(500), 0),
        &[("acc", 0.5060)],
    );
    // Not run here, for time: behemoth_arc_challenge --limit 500: acc 0.1920, acc_norm 0.2220;
    // behemoth_lambada --limit 500: acc 0.0080, perplexity 18541651.06; behemoth eval gives
    // the same accuracies and perplexity 18541652.95.
}

#[test]
fn worker_count_does_not_change_scores() {
    let file = repo("fixtures/eval/arc_challenge_50.jsonl");
    let one = run(Task::ArcChallenge, &file, Some(20), 1);
    let three = run(Task::ArcChallenge, &file, Some(20), 3);
    assert_eq!(one.docs, three.docs);
}

#[test]
fn encode_pair_moves_trailing_space_and_splits_after_the_context() {
    let tok = &model().tokenizer;
    let (c, k) = encode_pair(tok, "Question: why?\nAnswer: ", "because");
    let (c2, k2) = encode_pair(tok, "Question: why?\nAnswer:", " because");
    assert_eq!((c.clone(), k.clone()), (c2, k2));
    assert_eq!(c[0], tok.bos_id().unwrap());
    let whole = tok.encode("Question: why?\nAnswer: because", true, true);
    assert_eq!([c, k].concat(), whole);
    // An empty context is BOS alone, and the continuation has no BOS.
    let (c, k) = encode_pair(tok, "", "Hello");
    assert_eq!(c, vec![tok.bos_id().unwrap()]);
    assert_eq!(k, tok.encode("Hello", false, true));
}

#[test]
fn prompts_are_lm_evals() {
    let hs = load_docs(
        Task::Hellaswag,
        &repo("fixtures/eval/hellaswag_val_100.jsonl"),
    )
    .unwrap();
    // lm-eval's logged arguments for doc 0 (samples_behemoth_hellaswag_*.jsonl).
    assert_eq!(
        hs[0].requests[0],
        (
            "Pole vault: Pole vault is a sport where you run with a pole and stop and swing your body. A few women".to_string(),
            " go down a rock and stop.".to_string()
        )
    );
    let piqa = load_docs(Task::Piqa, &repo("fixtures/eval/piqa_100.jsonl")).unwrap();
    assert_eq!(piqa[1].requests[1].0, "Question: dresser\nAnswer:");
    assert_eq!(piqa[1].requests[1].1, " finish, woodgrain with  bobby pin");
    let wg = load_docs(
        Task::Winogrande,
        &repo("fixtures/eval/winogrande_100.jsonl"),
    )
    .unwrap();
    assert_eq!(
        wg[0].requests[1],
        (
            "Sarah was a much better surgeon than Maria so Maria".to_string(),
            " always got the easier cases.".to_string()
        )
    );
    assert_eq!(wg[0].gold, 1);
}

#[test]
fn mmlu_prompts_follow_the_default_template_with_first_n_shots() {
    let test = load_docs(Task::Mmlu, &repo("fixtures/eval/mmlu_tiny.jsonl")).unwrap();
    let dev = load_docs(Task::Mmlu, &repo("fixtures/eval/mmlu_tiny_dev.jsonl")).unwrap();
    assert_eq!(test[4].gold, 1, "letter answers are accepted");
    let zero = build_prompts(&test, None, 0, usize::MAX).unwrap();
    assert_eq!(
        zero[4][1],
        (
            "The following are multiple choice questions (with answers) about miscellaneous.\n\n\
             How many legs does a cat have?\nA. Two\nB. Four\nC. Six\nD. Eight\nAnswer:"
                .to_string(),
            " B".to_string()
        )
    );
    let two = build_prompts(&test, Some(&dev), 2, usize::MAX).unwrap();
    assert_eq!(
        two[0][0].0,
        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n\
         What is 1 + 1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n\
         What is 3 times 3?\nA. 6\nB. 9\nC. 12\nD. 33\nAnswer: B\n\n\
         What is 2 + 3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:"
    );
    // From the test file itself, the item is left out of its own examples.
    let own = build_prompts(&test, None, 1, usize::MAX).unwrap();
    assert!(own[0][0].0.contains("Which number is even?"));
    assert!(own[1][0].0.contains("What is 2 + 3?\nA. 4"));
    assert!(
        build_prompts(&test, Some(&dev), 3, usize::MAX).is_err(),
        "too few shots"
    );
    let r = run_task(
        model(),
        Task::Mmlu,
        &repo("fixtures/eval/mmlu_tiny.jsonl"),
        &TaskOptions {
            shots: 2,
            fewshot_data: Some(repo("fixtures/eval/mmlu_tiny_dev.jsonl")),
            ..TaskOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.result.items, 6);
    assert_eq!(r.result.metrics.len(), 1);
    assert_eq!(r.docs[0].loglikelihoods.len(), 4);
}

#[test]
fn malformed_data_names_the_file_and_line() {
    let cases = [
        (
            "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n\nnot json\n",
            ":3: not valid JSON",
        ),
        (
            "{\"query\": \"q\", \"choices\": [\"a\"]}\n",
            ":1: missing field `gold`",
        ),
        (
            "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 5}\n",
            ":1: gold answer 5 is out of range",
        ),
        (
            "{\"query\": 3, \"choices\": [\"a\"], \"gold\": 0}\n",
            ":1: field `query` is not a string",
        ),
        ("[1, 2]\n", ":1: expected a JSON object"),
        (
            "{\"query\": \"q\", \"choices\": [\"a\", 7], \"gold\": 0}\n",
            ":1: field `choices` holds a non-string",
        ),
        (
            "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": -1}\n",
            ":1: field `gold` is not a non-negative integer",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = crate::temp_path(&format!("bad{i}.jsonl"));
        std::fs::write(&file, text).unwrap();
        let e = run_task(
            model(),
            Task::ArcEasy,
            &file,
            &TaskOptions::default(),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&file.display().to_string()) && e.contains(needle),
            "{e:?}"
        );
        let _ = std::fs::remove_file(file);
    }
    let e = run_task(
        model(),
        Task::Piqa,
        &repo("fixtures/eval/nope.jsonl"),
        &TaskOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope.jsonl"), "{e}");
}

#[test]
fn long_contexts_are_left_truncated_like_lm_eval() {
    let Some(file) = shared("datasets/arc-challenge/arc_challenge.jsonl") else {
        return;
    };
    // ARC-Challenge item 232 (doc_id 231) has a 544-token prompt; lm-eval keeps its last
    // tokens so that context + continuation fit max_length + 1 = 513. Its log-likelihoods from
    // samples_behemoth_arc_challenge_*.jsonl of the --limit 500 run:
    let lm_eval = [
        -35.310768127441406,
        -35.28740692138672,
        -26.094196319580078,
        -69.5108413696289,
    ];
    let line = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .nth(231)
        .unwrap()
        .to_string();
    let one = crate::temp_path("arc232.jsonl");
    std::fs::write(&one, line).unwrap();
    let r = run(Task::ArcChallenge, &one, None, 0);
    for (got, want) in r.docs[0].loglikelihoods.iter().zip(lm_eval) {
        assert!((got - want).abs() < 1e-3, "{got} vs lm-eval {want}");
    }
    // Without truncation (the GGUF's 2048 positions) the scores differ.
    let opts = TaskOptions::default();
    let full = run_task(model(), Task::ArcChallenge, &one, &opts, &NoProgress).unwrap();
    assert!((full.docs[0].loglikelihoods[0] - lm_eval[0]).abs() > 0.1);
    let _ = std::fs::remove_file(one);
}
