//! `behemoth info`: what a model file holds: format, architecture and hyperparameters,
//! tokenizer, metadata, a tensor table, parameter count and size. Works on any GGUF file,
//! including architectures the engine cannot run yet.

use std::path::PathBuf;

use anyhow::{Context, Result};
use formats::{GgufFile, HfCheckpoint, ModelBytes};

use crate::model_arg::{EMBEDDED_MODEL, EMBEDDED_NAME};

/// Flags of `behemoth info`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Model file (GGUF) or Hugging Face folder. Default: the embedded stories260K.
    model: Option<PathBuf>,
    /// Print every metadata key (long arrays are summarised).
    #[arg(long)]
    metadata: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    if let Some(dir) = args.model.as_ref().filter(|p| p.is_dir()) {
        let checkpoint =
            HfCheckpoint::open(dir).with_context(|| format!("cannot read '{}'", dir.display()))?;
        print!("{}", describe_hf(&checkpoint));
        return Ok(());
    }
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
        Ok(c) => describe_config(&mut s, &c),
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

fn describe_hf(ck: &HfCheckpoint) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "file:          {}", ck.dir.display());
    let names = ck.tensor_names();
    let _ = writeln!(
        s,
        "format:        Hugging Face folder, {} safetensors shard(s), {} tensors",
        ck.shards.len(),
        names.len()
    );
    match models::ModelConfig::from_hf(&ck.config) {
        Ok(c) => describe_config(&mut s, &c),
        Err(e) => {
            let _ = writeln!(s, "architecture:  cannot run ({e})");
        }
    }
    let tokenizer = match &ck.tokenizer_json {
        Some(json) => {
            tokenizer::Tokenizer::from_hf_files(json, ck.tokenizer_config_json.as_deref())
                .map(|t| t.summary())
                .unwrap_or_else(|e| format!("unavailable ({e})"))
        }
        None => "none (no tokenizer.json)".to_string(),
    };
    let _ = writeln!(s, "tokenizer:     {tokenizer}");
    let mut n_params = 0u64;
    let mut n_bytes = 0u64;
    let mut table = String::new();
    for name in names {
        let Some(t) = ck.tensor(name) else { continue };
        let count: u64 = t.shape.iter().map(|&d| d as u64).product();
        n_params += count;
        n_bytes += t.range.len() as u64;
        let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
        let _ = writeln!(
            table,
            "{:<36} {:<7} {:<22} {:>12}",
            name,
            t.dtype.name(),
            format!("[{}]", shape.join(", ")),
            t.range.len()
        );
    }
    let _ = writeln!(
        s,
        "parameters:    {} ({}), tensor data {}",
        n_params,
        human_count(n_params),
        human_bytes(n_bytes)
    );
    let _ = writeln!(
        s,
        "\n{:<36} {:<7} {:<22} {:>12}",
        "tensor", "type", "shape", "bytes"
    );
    s.push_str(&table);
    s
}

fn describe_config(s: &mut String, c: &models::ModelConfig) {
    use std::fmt::Write;
    let name = c
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let _ = writeln!(s, "architecture:  {}{name}", c.architecture);
    let _ = writeln!(s, "hidden_size:   {}", c.hidden_size);
    let _ = writeln!(s, "intermediate:  {}", c.intermediate_size);
    let _ = writeln!(s, "n_layers:      {}", c.n_layers);
    let _ = writeln!(
        s,
        "n_heads:       {} (n_kv_heads {}, head_dim {})",
        c.n_heads, c.n_kv_heads, c.head_dim
    );
    let scaling = c
        .rope_scaling
        .map(|r| format!(", llama3 scaling x{}", r.factor))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "rope:          {:?}, {} dims, theta {}{scaling}",
        c.rope_style, c.rope_dim, c.rope_theta
    );
    let _ = writeln!(s, "rms_norm_eps:  {:e}", c.rms_norm_eps);
    let _ = writeln!(s, "context:       {}", c.context_length);
    let _ = writeln!(s, "vocab_size:    {}", c.vocab_size);
    if c.qk_norm != models::QkNorm::None {
        let _ = writeln!(s, "qk_norm:       {:?}", c.qk_norm);
    }
    if let Some(m) = &c.moe {
        let n_moe = m.moe_layers.iter().filter(|&&x| x).count();
        let shared = if m.shared_expert {
            " + shared expert"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "experts:       {} (top-{}, width {}, {:?}){shared}, MoE in {n_moe} of {} layers",
            m.n_experts, m.n_experts_used, m.expert_intermediate_size, m.gating, c.n_layers
        );
    }
    if let Some(l4) = &c.llama4 {
        let nope: Vec<String> = l4
            .rope_layers
            .iter()
            .enumerate()
            .filter(|(_, &r)| !r)
            .map(|(i, _)| i.to_string())
            .collect();
        let _ = writeln!(
            s,
            "attention:     chunk {:?} on RoPE layers, NoPE layers [{}], temperature {:?}",
            l4.attention_chunk_size,
            nope.join(", "),
            l4.attn_temperature
        );
    }
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
