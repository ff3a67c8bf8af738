//! `behemoth logits`: runs token ids as one prompt and writes
//! `{"ids": [...], "logits": [[f32; vocab_size] per position]}`; every comparison with a
//! reference implementation goes through this file format.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::model_arg::ModelArgs;

/// Flags of `behemoth logits`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Comma-separated token ids, e.g. `1,403,407`.
    #[arg(long, value_name = "IDS")]
    ids: String,
    /// Output JSON file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let ids = parse_ids(&args.ids)?;
    let lm = args.model.load_for_scoring()?;
    let logits = engine::prompt_logits(&lm, &ids)?;
    let vocab = lm.model.config().vocab_size;
    let rows: Vec<&[f32]> = logits.chunks_exact(vocab).collect();
    let json = serde_json::json!({ "ids": ids, "logits": rows });
    let text = serde_json::to_string(&json).context("cannot serialise the logits")?;
    if args.out.as_os_str() == "-" {
        println!("{text}");
    } else {
        let mut f = std::fs::File::create(&args.out)
            .with_context(|| format!("cannot create '{}'", args.out.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write '{}'", args.out.display()))?;
    }
    Ok(())
}

fn parse_ids(text: &str) -> Result<Vec<u32>> {
    let ids = text
        .split(',')
        .enumerate()
        .map(|(i, s)| {
            s.trim().parse::<u32>().with_context(|| {
                format!("--ids: item {} ({:?}) is not a token id", i + 1, s.trim())
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if ids.is_empty() {
        bail!("--ids: no token ids given");
    }
    Ok(ids)
}
