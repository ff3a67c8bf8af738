//! The release gate on the example targets file: everything passes for stories260K; a raised
//! projection falls short; malformed files are errors naming the line; reports are written.

use std::path::Path;

use eval::gate::{
    gate_markdown, gate_svg, load_targets, parse_targets, run_gate, write_gate_report,
};
use eval::NoProgress;

use crate::{model, repo, temp_path};

#[test]
fn example_targets_pass_for_stories260k_and_a_raised_one_falls_short() {
    let path = repo("eval-targets/stories260K.toml");
    let targets = load_targets(&path).unwrap();
    assert_eq!(targets.targets.len(), 9);
    let report = run_gate(model(), &targets, 0, &NoProgress).unwrap();
    let md = gate_markdown(&report);
    assert!(report.passed(), "{md}");
    assert_eq!(report.results.len(), 9);
    let ppl = &report.rows[0];
    assert!((ppl.measured / 4.0334 - 1.0).abs() < 2e-5, "{md}"); // llama-perplexity's value
    assert!(
        md.contains("| hellaswag acc_norm | 0.2000 | 0.0800 | 0.1500 | 0.0359 | pass |"),
        "{md}"
    );

    // Hellaswag projected at 0.35: falls short; MMLU still passes.
    let text = "model = \"stories260K\"\n\
        [[benchmark]]\ntask = \"hellaswag\"\ndata = \"../fixtures/eval/hellaswag_val_100.jsonl\"\n\
        metric = \"acc_norm\"\nprojected = 0.35\ntolerance = 0.08\n\n\
        [[benchmark]]\ntask = \"mmlu\"\ndata = \"../fixtures/eval/mmlu_tiny.jsonl\"\n\
        metric = \"acc\"\nprojected = 0.25\ntolerance = 0.25\n";
    let raised = parse_targets(text, &path).unwrap();
    let report = run_gate(model(), &raised, 0, &NoProgress).unwrap();
    assert!(!report.passed());
    let failing: Vec<_> = report
        .rows
        .iter()
        .filter(|r| !r.pass)
        .map(|r| r.target.name.as_str())
        .collect();
    assert_eq!(failing, ["hellaswag acc_norm"]);
    let md = gate_markdown(&report);
    assert!(
        md.contains("| hellaswag acc_norm | 0.3500 | 0.0800 | 0.1500 | 0.0359 | FALLS SHORT |"),
        "{md}"
    );
    assert!(md.contains("1 of 2 benchmarks fall short"), "{md}");

    let dir = temp_path("gate");
    write_gate_report(&dir, &report).unwrap();
    let svg = std::fs::read_to_string(dir.join("gate.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg, gate_svg(&report));
    assert_eq!(svg.matches("<circle").count(), 2);
    assert!(svg.contains("FALLS SHORT"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gate.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2);
    assert!(dir.join("gate.md").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn malformed_targets_name_the_line() {
    let p = Path::new("targets.toml");
    let e = parse_targets("[[benchmark]]\ntask = \"piqa\"\ndata = \"x\"\nmetric = \"acc\"\nprojected = 0.5\ntolerance = \"wide\"\n", p)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("targets.toml:6: "), "{e}");
    let e = load_targets(&repo("fixtures/eval/README.md"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("README.md:"), "{e}");
}
