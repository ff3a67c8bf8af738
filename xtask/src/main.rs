//! `cargo run -p xtask -- tidy`: checks the rules of ARCHITECTURE.md that the compiler cannot:
//! which internal crates each crate may depend on, a `//!` paragraph at the top of every Rust
//! file, `#![forbid(unsafe_code)]` outside the crates allowed `unsafe`, and no grab-bag module
//! names. The same checks run as an ordinary `#[test]`, so `cargo test` enforces them.
#![forbid(unsafe_code)]

mod synth;

use std::path::{Path, PathBuf};

/// Internal crates each crate may depend on (ARCHITECTURE.md, "Invariants").
const ALLOWED_DEPS: &[(&str, &[&str])] = &[
    ("tensor", &[]),
    ("formats", &[]),
    ("tokenizer", &["formats"]),
    ("models", &["tensor", "formats"]),
    ("engine", &["models", "tensor", "tokenizer", "formats"]),
    ("server", &["engine", "tokenizer"]),
    ("eval", &["engine", "tokenizer"]),
    (
        "cli",
        &[
            "formats",
            "tensor",
            "tokenizer",
            "models",
            "engine",
            "server",
            "eval",
        ],
    ),
];

/// Crates allowed to contain `unsafe` (kernels and mmap).
const UNSAFE_ALLOWED: &[&str] = &["tensor", "formats"];

/// Module names that say nothing about what they hold.
const GRAB_BAG_NAMES: &[&str] = &["utils.rs", "util.rs", "common.rs", "misc.rs", "helpers.rs"];

fn main() {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "tidy" => {
            let problems = tidy(&workspace_root());
            for p in &problems {
                eprintln!("tidy: {p}");
            }
            if !problems.is_empty() {
                std::process::exit(1);
            }
            println!("tidy: ok");
        }
        "synth" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            if let Err(e) = synth::run(&args) {
                eprintln!("synth: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: cargo xtask tidy | cargo xtask synth [OUT_DIR]");
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is one level down")
        .to_path_buf()
}

/// Every rule violation found under `root`, one message each.
fn tidy(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for dir in ["crates", "xtask", "fuzz"] {
        for file in rust_files(&root.join(dir)) {
            let rel = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if !text.trim_start().starts_with("//!") {
                problems.push(format!("{rel}: does not open with a `//!` paragraph"));
            }
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if GRAB_BAG_NAMES.contains(&name) {
                problems.push(format!("{rel}: name the concept instead of `{name}`"));
            }
        }
    }
    let Ok(entries) = std::fs::read_dir(root.join("crates")) else {
        problems.push("no crates/ folder".into());
        return problems;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let Some(krate) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let allowed = ALLOWED_DEPS
            .iter()
            .find(|(k, _)| *k == krate)
            .map(|(_, d)| *d);
        let Some(allowed) = allowed else {
            problems.push(format!(
                "crates/{krate}: not in the layer table; add it to ARCHITECTURE.md and xtask"
            ));
            continue;
        };
        for dep in internal_dependencies(&manifest) {
            if !allowed.contains(&dep.as_str()) {
                problems.push(format!(
                    "crates/{krate} depends on `{dep}`, which its layer may not use"
                ));
            }
        }
        if !UNSAFE_ALLOWED.contains(&krate.as_str()) {
            for root_file in ["src/lib.rs", "src/main.rs"] {
                let path = dir.join(root_file);
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if !text.contains("#![forbid(unsafe_code)]") {
                        problems.push(format!(
                            "crates/{krate}/{root_file}: missing #![forbid(unsafe_code)]"
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Names of the workspace crates listed under `[dependencies]` (not dev-dependencies).
fn internal_dependencies(manifest: &str) -> Vec<String> {
    let internal: Vec<&str> = ALLOWED_DEPS.iter().map(|(k, _)| *k).collect();
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or("");
        if internal.contains(&name) {
            deps.push(name.to_string());
        }
    }
    deps
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_finds_no_problems() {
        let problems = tidy(&workspace_root());
        assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
    }

    #[test]
    fn dependency_scan_reads_both_spellings() {
        let manifest =
            "[dependencies]\nformats.workspace = true\nmodels = { path = \"../models\" }\n\
                        clap = \"4\"\n[dev-dependencies]\nengine.workspace = true\n";
        assert_eq!(internal_dependencies(manifest), ["formats", "models"]);
    }
}
