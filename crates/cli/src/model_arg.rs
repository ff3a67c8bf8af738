//! The `-m MODEL` and `-t THREADS` flags shared by every subcommand, and the embedded default
//! model: stories260K (MIT, karpathy/llama2.c; see fixtures/stories260K/), compiled into the
//! binary so that `behemoth run` works offline on a fresh machine.

use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::{LoadOptions, LoadedModel};

/// The embedded model file.
pub(crate) static EMBEDDED_MODEL: &[u8] =
    include_bytes!("../../../fixtures/stories260K/stories260K.gguf");
/// How messages name the embedded model.
pub(crate) const EMBEDDED_NAME: &str = "stories260K (embedded)";

/// Model selection flags.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ModelArgs {
    /// Model file (GGUF). Default: the embedded stories260K.
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub(crate) model: Option<PathBuf>,
    /// Compute threads. Default: one per core.
    #[arg(short = 't', long = "threads", value_name = "THREADS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) threads: Option<u16>,
}

impl ModelArgs {
    /// Loads the chosen model.
    pub(crate) fn load(&self) -> Result<LoadedModel> {
        let mut opts = LoadOptions::default();
        if let Some(t) = self.threads {
            opts.threads = t.into();
        }
        match &self.model {
            Some(path) => LoadedModel::open(path, &opts)
                .with_context(|| format!("cannot load model '{}'", path.display())),
            None => LoadedModel::from_bytes(EMBEDDED_NAME, EMBEDDED_MODEL, &opts)
                .context("cannot load the embedded model"),
        }
    }
}
