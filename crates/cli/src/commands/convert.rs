//! `behemoth convert HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0]`: a Hugging Face model folder
//! to a GGUF file with llama.cpp's metadata keys and tensor names, tokenizer included.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use models::convert::{convert_hf_to_gguf, ConvertType};

/// Flags of `behemoth convert`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Hugging Face model folder (config.json, *.safetensors, tokenizer.json).
    input: PathBuf,
    /// Output GGUF file.
    output: PathBuf,
    /// Element type of the weight matrices: f32, f16, bf16 or q8_0 (norms and routers stay f32).
    #[arg(long = "type", default_value = "f16", value_parser = parse_type)]
    ty: ConvertType,
}

fn parse_type(s: &str) -> Result<ConvertType, String> {
    ConvertType::parse(s).ok_or_else(|| format!("'{s}' is not one of f32, f16, bf16, q8_0"))
}

pub(crate) fn run(args: Args) -> Result<()> {
    let start = Instant::now();
    let summary = convert_hf_to_gguf(&args.input, &args.output, args.ty).with_context(|| {
        format!(
            "cannot convert '{}' to '{}'",
            args.input.display(),
            args.output.display()
        )
    })?;
    eprintln!(
        "wrote {} ({} architecture, {} tensors, {} bytes) in {:.1} s",
        args.output.display(),
        summary.architecture,
        summary.n_tensors,
        summary.file_bytes,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
