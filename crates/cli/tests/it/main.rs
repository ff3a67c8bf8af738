//! End-to-end tests of the `behemoth` binary as a user runs it: exact greedy text, the other
//! subcommands' output, and one-line errors with a non-zero exit for bad input.

mod architectures;
mod chat;
mod eval_cli;
mod serve_cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn behemoth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_behemoth"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn reference_text() -> String {
    let json =
        std::fs::read_to_string(fixture("stories260K/expected-greedy-from-bos.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["text"].as_str().unwrap().to_string()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("behemoth-cli-test-{}-{name}", std::process::id()))
}

/// Asserts a clean user error: non-zero exit, one line on stderr containing `needle`.
fn assert_user_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err:?} does not contain {needle:?}");
}

#[test]
fn run_greedy_once_upon_a_time_prints_reference_continuation() {
    let o = behemoth(&["run", "--temp", "0", "-n", "100", "Once upon a time"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with(
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
    ), "{out}");
    let reference = reference_text();
    assert!(reference.starts_with(out.trim_end()), "{out}");
    assert!(out.len() > 250, "100 tokens of text expected: {out}");
    assert!(stderr(&o).contains("tok/s"), "speed goes to stderr");
}

#[test]
fn run_greedy_from_bos_prints_the_whole_reference_text() {
    let o = behemoth(&["run", "--temp", "0", "-n", "256"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim_end(), reference_text());
}

#[test]
fn run_same_seed_same_text() {
    let args = [
        "run",
        "--temp",
        "1.0",
        "--seed",
        "7",
        "-n",
        "40",
        "--top-k",
        "0",
        "--repeat-penalty",
        "1.1",
        "Lily",
    ];
    let (a, b) = (behemoth(&args), behemoth(&args));
    assert!(a.status.success());
    assert_eq!(stdout(&a), stdout(&b));
    let c = behemoth(&[
        "run", "--temp", "1.0", "--seed", "8", "-n", "40", "--top-k", "0", "Lily",
    ]);
    assert_ne!(stdout(&a), stdout(&c));
}

#[test]
fn tokenize_prints_ids_and_pieces() {
    let o = behemoth(&["tokenize", "Once upon a time"]);
    assert_eq!(stdout(&o).trim(), "[1, 403, 407, 261, 378]");
    let o = behemoth(&["tokenize", "--pieces", "Once upon a time"]);
    let out = stdout(&o);
    assert!(
        out.contains("403 \" Once\"") && out.contains("378 \" time\""),
        "{out}"
    );
}

#[test]
fn info_describes_the_embedded_model() {
    let o = behemoth(&["info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "architecture:  llama",
        "n_layers:      5",
        "n_heads:       8 (n_kv_heads 4, head_dim 8)",
        "vocab_size:    512",
        "token_embd.weight",
        "blk.4.ffn_down.weight",
        "F32",
        "[512, 64]",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn info_and_run_on_llama2_tiny_random() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf");
    if !path.exists() {
        println!(
            "skipped: {} not found (../shared is absent)",
            path.display()
        );
        return;
    }
    let p = path.to_str().unwrap();
    let o = behemoth(&["info", p]);
    let out = stdout(&o);
    assert!(
        out.contains("vocab_size:    32000") && out.contains("F16"),
        "{out}"
    );
    let o = behemoth(&["run", "-m", p, "--temp", "0", "-n", "8", "Hello"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Hello"));
}

#[test]
fn logits_writes_one_row_per_id() {
    let out = temp_path("logits.json");
    let o = behemoth(&[
        "logits",
        "--ids",
        "1,403,407",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    std::fs::remove_file(&out).ok();
    assert_eq!(v["ids"], serde_json::json!([1, 403, 407]));
    let rows = v["logits"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let first: Vec<f64> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(first.len(), 512);
    let argmax = (0..512)
        .max_by(|&a, &b| first[a].total_cmp(&first[b]))
        .unwrap();
    assert_eq!(argmax, 403);
    assert!((first[403] - 17.02352).abs() < 1e-3);
}

#[test]
fn user_errors_are_one_line_and_non_zero() {
    assert_user_error(
        &behemoth(&["run", "-m", "/no/such/model.gguf", "hi"]),
        "/no/such/model.gguf",
    );
    let not_gguf = temp_path("not.gguf");
    std::fs::write(&not_gguf, b"this is not a model file at all").unwrap();
    assert_user_error(
        &behemoth(&["run", "-m", not_gguf.to_str().unwrap()]),
        "not a GGUF file",
    );
    assert_user_error(
        &behemoth(&["info", not_gguf.to_str().unwrap()]),
        "not a GGUF file",
    );
    std::fs::remove_file(&not_gguf).ok();
    assert_user_error(&behemoth(&["run", "--top-p", "2", "hi"]), "top-p");
    assert_user_error(&behemoth(&["run", "--temp", "-1", "hi"]), "temperature");
    assert_user_error(
        &behemoth(&["logits", "--ids", "1,x", "--out", "-"]),
        "item 2",
    );
    assert_user_error(
        &behemoth(&["logits", "--ids", "1,999", "--out", "-"]),
        "token id 999",
    );
    assert_user_error(&behemoth(&["run", "-n", "abc"]), "-n");
    assert_user_error(&behemoth(&["run", "--no-such-flag"]), "--no-such-flag");
}
