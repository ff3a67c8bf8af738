//! Integration tests of the `eval` crate, one binary: perplexity against llama-perplexity,
//! task scores against lm-evaluation-harness, the scoring primitives against each other, data
//! and targets errors, and the release gate. Reference numbers and the commands that produced
//! them are written next to each assertion. Tests that need `../shared` print `skipped: …`
//! when it is absent.

mod gate;
mod perplexity;
mod scoring;
mod tasks;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine::{LoadOptions, LoadedModel};

/// The stories260K model, loaded once.
pub(crate) fn model() -> &'static LoadedModel {
    static MODEL: OnceLock<LoadedModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        // One matmul thread: the scoring workers use the cores.
        let opts = LoadOptions {
            threads: 1,
            ..LoadOptions::default()
        };
        LoadedModel::open(&repo("fixtures/stories260K/stories260K.gguf"), &opts)
            .expect("stories260K loads")
    })
}

/// A path under the repository root.
pub(crate) fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A path under `../shared`, or `None` (after printing `skipped: …`) when it is absent.
pub(crate) fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is absent", p.display());
        None
    }
}

/// A scratch path unique to this process.
pub(crate) fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("behemoth-eval-test-{}-{name}", std::process::id()))
}
