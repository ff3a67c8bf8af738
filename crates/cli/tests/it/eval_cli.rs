//! `behemoth eval` as a user runs it: a task and perplexity with `--out`, the release gate
//! passing (exit 0), falling short (non-zero exit, verdict in the table), and malformed targets
//! and data files (one line naming the file and line).

use super::{assert_user_error, behemoth, fixture, stderr, stdout, temp_path};

/// A targets file in a scratch folder whose data paths point at the fixtures.
fn targets(name: &str, body: &str) -> std::path::PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("targets.toml");
    let body = body.replace("FIXTURES", &fixture("eval").display().to_string());
    std::fs::write(&path, body).unwrap();
    path
}

const PASSING: &str = "model = \"stories260K\"\n\
[[benchmark]]\ntask = \"perplexity\"\ndata = \"FIXTURES/tinystories_head.txt\"\nctx = 128\nchunks = 20\n\
metric = \"ppl\"\nprojected = 4.0\ntolerance = 0.5\n\n\
[[benchmark]]\ntask = \"arc_challenge\"\ndata = \"FIXTURES/arc_challenge_50.jsonl\"\nlimit = 20\n\
metric = \"acc\"\nprojected = 0.2\ntolerance = 0.1\n";

#[test]
fn eval_task_prints_a_table_and_writes_json_and_markdown() {
    let out = temp_path("task-out");
    let data = fixture("eval/arc_challenge_50.jsonl");
    let o = behemoth(&[
        "eval",
        "arc_challenge",
        "--data",
        data.to_str().unwrap(),
        "--limit",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("| arc_challenge | acc |"), "{text}");
    assert!(text.contains("| arc_challenge | acc_norm |"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["results"][0]["benchmark"], "arc_challenge");
    assert_eq!(json["results"][0]["items"], 10);
    assert_eq!(
        std::fs::read_to_string(out.join("results.md")).unwrap(),
        text
    );
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn eval_perplexity_matches_llama_perplexity() {
    // llama-perplexity -m fixtures/stories260K/stories260K.gguf -f fixtures/eval/tinystories_head.txt
    // -c 128: "Final estimate: PPL = 4.0334 +/- 0.07622" (see crates/eval/tests/it/perplexity.rs).
    let data = fixture("eval/tinystories_head.txt");
    let o = behemoth(&[
        "eval",
        "perplexity",
        "--data",
        data.to_str().unwrap(),
        "--ctx",
        "128",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("| perplexity | ppl | 4.033"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn gate_passes_with_exit_zero_and_writes_the_report() {
    let path = targets("gate-pass", PASSING);
    let out = path.parent().unwrap().join("report");
    let o = behemoth(&[
        "eval",
        "gate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("All 2 benchmarks meet their projections."),
        "{text}"
    );
    assert_eq!(text.matches("| pass |").count(), 2, "{text}");
    for f in ["gate.json", "gate.md", "gate.svg"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn gate_falls_short_with_non_zero_exit_and_the_verdict_shown() {
    let path = targets(
        "gate-fail",
        &PASSING.replace(
            "projected = 0.2\ntolerance = 0.1",
            "projected = 0.6\ntolerance = 0.1",
        ),
    );
    let out = path.parent().unwrap().join("report");
    let o = behemoth(&[
        "eval",
        "gate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("| arc_challenge acc | 0.6000 | 0.1000 |"),
        "{text}"
    );
    assert!(text.contains("| FALLS SHORT |"), "{text}");
    assert!(text.contains("1 of 2 benchmarks fall short"), "{text}");
    let err = stderr(&o);
    assert!(
        err.contains("release gate failed: arc_challenge acc"),
        "{err}"
    );
    assert!(out.join("gate.svg").exists());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn malformed_targets_give_one_line_naming_the_line() {
    let path = targets(
        "gate-bad",
        &PASSING.replace("projected = 0.2\n", "projected = \"high\"\n"),
    );
    let o = behemoth(&["eval", "gate", path.to_str().unwrap()]);
    assert_user_error(&o, &format!("{}:16:", path.display()));
    let path2 = targets(
        "gate-bad-task",
        &PASSING.replace("arc_challenge", "arc_hard"),
    );
    let o = behemoth(&["eval", "gate", path2.to_str().unwrap()]);
    assert_user_error(&o, "targets.toml:11: unknown task \"arc_hard\"");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    let _ = std::fs::remove_dir_all(path2.parent().unwrap());
}

#[test]
fn malformed_data_gives_one_line_naming_the_file_and_line() {
    let dir = temp_path("bad-data");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("piqa.jsonl");
    std::fs::write(
        &file,
        "{\"query\": \"Question: x\\n\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n{\"query\": \"q\"\n",
    )
    .unwrap();
    let o = behemoth(&["eval", "piqa", "--data", file.to_str().unwrap()]);
    assert_user_error(&o, &format!("{}:2: not valid JSON", file.display()));
    let o = behemoth(&[
        "eval",
        "piqa",
        "--data",
        dir.join("nope.jsonl").to_str().unwrap(),
    ]);
    assert_user_error(&o, "nope.jsonl");
    let _ = std::fs::remove_dir_all(dir);
}
