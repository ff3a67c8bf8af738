//! Integration tests of the `models` crate: every architecture against Hugging Face
//! transformers on tiny random checkpoints, loaded from safetensors and from converted GGUF.

mod hf_golden;

use std::path::{Path, PathBuf};

/// A file in the repository's `fixtures/` folder.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}
