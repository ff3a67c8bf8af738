//! Integration tests of the engine on real model files: greedy decoding of stories260K against
//! the reference run, logits against the reference's first step, batch vs token-by-token
//! agreement, every kernel set against scalar, and both RoPE layouts.

mod generation;
mod logits;
mod quantized;

use std::path::{Path, PathBuf};

use engine::{LoadOptions, LoadedModel};

/// A file in the repository's `fixtures/` folder.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

/// A file in `../shared`, or `None` (with a printed reason) when this checkout has none.
pub(crate) fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} not found (../shared is absent)", p.display());
        None
    }
}

pub(crate) fn stories260k() -> LoadedModel {
    LoadedModel::open(
        &fixture("stories260K/stories260K.gguf"),
        &LoadOptions::default(),
    )
    .expect("stories260K loads")
}
