//! The `-m MODEL`, `-t THREADS` and `--kv-type` flags shared by every subcommand, and the embedded default
//! model: stories260K (MIT, karpathy/llama2.c; see fixtures/stories260K/), compiled into the
//! binary so that `behemoth run` works offline on a fresh machine.

use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::{LoadOptions, LoadedModel};
use models::KvType;

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
    /// Element type of the key-value cache: f16 (half the memory and bandwidth, llama.cpp's
    /// default) or f32 (exact). Default: f16 to generate, serve and bench; f32 to score
    /// (eval, logits).
    #[arg(long = "kv-type", value_name = "TYPE", value_enum)]
    pub(crate) kv_type: Option<KvTypeArg>,
}

/// `--kv-type` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KvTypeArg {
    F32,
    F16,
}

impl ModelArgs {
    /// Loads the chosen model, for generation (f16 key-value cache unless `--kv-type` says).
    pub(crate) fn load(&self) -> Result<LoadedModel> {
        self.load_with(KvType::F16)
    }

    /// Loads the chosen model for scoring (f32 key-value cache unless `--kv-type` says).
    pub(crate) fn load_for_scoring(&self) -> Result<LoadedModel> {
        self.load_with(KvType::F32)
    }

    fn load_with(&self, default_kv: KvType) -> Result<LoadedModel> {
        let mut opts = LoadOptions::default();
        if let Some(t) = self.threads {
            opts.threads = t.into();
        }
        opts.kv_type = match self.kv_type {
            None => default_kv,
            Some(KvTypeArg::F32) => KvType::F32,
            Some(KvTypeArg::F16) => KvType::F16,
        };
        match &self.model {
            Some(path) => LoadedModel::open(path, &opts)
                .with_context(|| format!("cannot load model '{}'", path.display())),
            None => LoadedModel::from_bytes(EMBEDDED_NAME, EMBEDDED_MODEL, &opts)
                .context("cannot load the embedded model"),
        }
    }
}
