//! `--method llama` against llama-perplexity, and `--method rolling` against
//! lm-evaluation-harness's `loglikelihood_rolling`.
//!
//! llama-perplexity reference: llama.cpp as vendored in the `llama-cpp-python==0.3.36` sdist
//! (`pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`), built outside the
//! repository with `cmake -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release
//! && cmake --build build --target llama-perplexity`, run as
//! `llama-perplexity -m fixtures/stories260K/stories260K.gguf -f FILE -c CTX [--chunks N] -t 2`.

use eval::perplexity::{run_perplexity, Method, PerplexityOptions};
use eval::{BenchResult, NoProgress};

use crate::{model, repo, shared};

fn run(file: &std::path::Path, method: Method, ctx: usize, chunks: Option<usize>) -> BenchResult {
    let opts = PerplexityOptions {
        method,
        ctx,
        chunks,
        workers: 0,
    };
    run_perplexity(model(), file, &opts, &NoProgress).expect("perplexity runs")
}

/// Asserts `got` equals `want` to 4 significant digits (as llama-perplexity prints them).
fn assert_4_digits(got: f64, want: f64, what: &str) {
    let scale = 10f64.powi(3 - want.abs().log10().floor() as i32);
    assert_eq!(
        (got * scale).round(),
        (want * scale).round(),
        "{what}: {got} vs llama-perplexity {want}"
    );
}

/// Asserts `got` within 1e-4 relative of `want` (the ± that llama-perplexity prints to 4
/// significant digits; ours comes from logits that differ from llama.cpp's in the 6th digit).
fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got / want - 1.0).abs() < 1e-4,
        "{what}: {got} vs llama-perplexity {want}"
    );
}

#[test]
fn llama_method_matches_llama_perplexity_on_the_fixture() {
    // `-f fixtures/eval/tinystories_head.txt -c 128`: "calculating perplexity over 148 chunks",
    // "Final estimate: PPL = 4.0334 +/- 0.07622".
    let r = run(
        &repo("fixtures/eval/tinystories_head.txt"),
        Method::Llama,
        128,
        None,
    );
    let ppl = r.metric("ppl").unwrap();
    assert_eq!(r.items, 148);
    assert_4_digits(ppl.value, 4.0334, "ppl, c=128");
    assert_close(ppl.stderr.unwrap(), 0.07622, "± c=128");
    // `-c 256`: 74 chunks, "Final estimate: PPL = 3.9242 +/- 0.07457".
    let r = run(
        &repo("fixtures/eval/tinystories_head.txt"),
        Method::Llama,
        256,
        None,
    );
    assert_eq!(r.items, 74);
    assert_4_digits(r.metric("ppl").unwrap().value, 3.9242, "ppl, c=256");
    assert_close(r.metric("ppl").unwrap().stderr.unwrap(), 0.07457, "± c=256");
}

#[test]
fn llama_method_matches_llama_perplexity_on_the_tinystories_head() {
    let Some(file) = shared("datasets/tinystories/tinystories_val_head.txt") else {
        return;
    };
    // `-f tinystories_val_head.txt -c 128 --chunks 100`: "PPL = 3.9403 +/- 0.08910".
    let r = run(&file, Method::Llama, 128, Some(100));
    assert_4_digits(r.metric("ppl").unwrap().value, 3.9403, "ppl");
    assert_close(r.metric("ppl").unwrap().stderr.unwrap(), 0.08910, "±");
    // Not run here (53 s in the dev profile): the whole file, `-c 128` (3070 chunks), gives
    // "PPL = 4.9693 +/- 0.02431" from llama-perplexity and 4.9693 ± 0.0243 from
    // `behemoth eval perplexity --data tinystories_val_head.txt --ctx 128`; `-c 512 --chunks 40`
    // gives "PPL = 3.8545 +/- 0.06969".
}

#[test]
fn rolling_method_matches_lm_eval_loglikelihood_rolling() {
    // `python3 scripts/reference/lm_eval_rolling.py ../shared/models/stories260K-hf
    // fixtures/eval/tinystories_head.txt 512` (lm-eval 0.4.13, HF backend, float32):
    // loglikelihood=-26782.623947143555, tokens=19060, token_perplexity=4.076237550122789,
    // words=7931 word_perplexity=29.28145040544205, bytes=39753
    // byte_perplexity=1.9615321083915542 bits_per_byte=0.9719809511367193.
    let file = repo("fixtures/eval/tinystories_head.txt");
    let r = run(&file, Method::Rolling, 512, None);
    let expect = [
        ("token_perplexity", 4.076237550122789),
        ("word_perplexity", 29.28145040544205),
        ("byte_perplexity", 1.9615321083915542),
        ("bits_per_byte", 0.9719809511367193),
    ];
    for (name, want) in expect {
        let got = r.metric(name).unwrap().value;
        assert!(
            (got / want - 1.0).abs() < 1e-5,
            "{name}: {got} vs lm-eval {want}"
        );
    }
    assert_eq!(r.settings["scored_tokens"], 19060);
    // The same with max_length=128: token_perplexity=4.397334284878474,
    // bits_per_byte=1.0244296719038417.
    let r = run(&file, Method::Rolling, 128, None);
    let got = r.metric("token_perplexity").unwrap().value;
    assert!((got / 4.397334284878474 - 1.0).abs() < 1e-5, "{got}");
    let got = r.metric("bits_per_byte").unwrap().value;
    assert!((got / 1.0244296719038417 - 1.0).abs() < 1e-5, "{got}");
}

#[test]
fn too_short_a_text_is_a_clear_error() {
    let file = crate::temp_path("short.txt");
    std::fs::write(&file, "Once upon a time.").unwrap();
    let opts = PerplexityOptions {
        method: Method::Llama,
        ctx: 128,
        chunks: None,
        workers: 1,
    };
    let e = run_perplexity(model(), &file, &opts, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("needs at least 256"), "{e}");
    let _ = std::fs::remove_file(file);
}
