//! `behemoth info`: what a model file holds: format, architecture and hyperparameters,
//! tokenizer, metadata, a tensor table, parameter count and size. Works on any GGUF file,
//! including architectures the engine cannot run yet.

use std::path::PathBuf;

use anyhow::{Context, Result};
use formats::{GgufFile, ModelBytes};

use crate::model_arg::{EMBEDDED_MODEL, EMBEDDED_NAME};

/// Flags of `behemoth info`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Model file (GGUF). Default: the embedded stories260K.
    model: Option<PathBuf>,
    /// Print every metadata key (long arrays are summarised).
    #[arg(long)]
    metadata: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let (bytes, origin) = match &args.model {
        Some(p) => (
            ModelBytes::open(p).with_context(|| format!("cannot open '{}'", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            ModelBytes::copy_from(EMBEDDED_MODEL),
            EMBEDDED_NAME.to_string(),
        ),
    };
    let gguf =
        GgufFile::parse(bytes.as_bytes()).with_context(|| format!("cannot read '{origin}'"))?;
    print!(
        "{}",
        describe(&gguf, &origin, bytes.as_bytes().len(), args.metadata)
    );
    Ok(())
}

fn describe(gguf: &GgufFile, origin: &str, file_bytes: usize, all_metadata: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "file:          {origin}");
    let _ = writeln!(
        s,
        "format:        GGUF v{}, {} metadata keys, {} tensors, {} bytes",
        gguf.version,
        gguf.metadata.len(),
        gguf.tensors.len(),
        file_bytes
    );
    match models::ModelConfig::from_gguf(gguf) {
        Ok(c) => {
            let _ = writeln!(
                s,
                "architecture:  {}{}",
                c.architecture,
                c.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            let _ = writeln!(s, "hidden_size:   {}", c.hidden_size);
            let _ = writeln!(s, "intermediate:  {}", c.intermediate_size);
            let _ = writeln!(s, "n_layers:      {}", c.n_layers);
            let _ = writeln!(
                s,
                "n_heads:       {} (n_kv_heads {}, head_dim {})",
                c.n_heads, c.n_kv_heads, c.head_dim
            );
            let _ = writeln!(
                s,
                "rope:          {:?}, {} dims, theta {}",
                c.rope_style, c.rope_dim, c.rope_theta
            );
            let _ = writeln!(s, "rms_norm_eps:  {:e}", c.rms_norm_eps);
            let _ = writeln!(s, "context:       {}", c.context_length);
            let _ = writeln!(s, "vocab_size:    {}", c.vocab_size);
        }
        Err(e) => {
            let arch = gguf
                .get_str("general.architecture")
                .ok()
                .flatten()
                .unwrap_or("?");
            let _ = writeln!(s, "architecture:  {arch} (cannot run: {e})");
        }
    }
    match tokenizer::Tokenizer::from_gguf(gguf) {
        Ok(t) => {
            let _ = writeln!(s, "tokenizer:     {}", t.summary());
        }
        Err(e) => {
            let _ = writeln!(s, "tokenizer:     unavailable ({e})");
        }
    }
    let n_params: u64 = gguf.tensors.iter().map(|t| t.n_elements()).sum();
    let n_bytes: u64 = gguf.tensors.iter().map(|t| t.size_bytes).sum();
    let _ = writeln!(
        s,
        "parameters:    {} ({}), tensor data {} ({:.2} bits per weight)",
        n_params,
        human_count(n_params),
        human_bytes(n_bytes),
        if n_params > 0 {
            n_bytes as f64 * 8.0 / n_params as f64
        } else {
            0.0
        }
    );
    if all_metadata {
        let _ = writeln!(s, "\nmetadata:");
        for (key, value) in &gguf.metadata {
            let _ = writeln!(s, "  {key:<44} {}", value.display_short());
        }
    }
    let _ = writeln!(
        s,
        "\n{:<36} {:<7} {:<22} {:>12}",
        "tensor", "type", "shape", "bytes"
    );
    for t in &gguf.tensors {
        // Shapes printed outermost first, like PyTorch ([rows, cols]).
        let shape: Vec<String> = t.dims.iter().rev().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "{:<36} {:<7} {:<22} {:>12}",
            t.name,
            t.ggml_type.name(),
            format!("[{}]", shape.join(", ")),
            t.size_bytes
        );
    }
    s
}

fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.2} K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.2} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.2} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
