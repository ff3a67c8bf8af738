//! `behemoth run`: prints the prompt, then streams the generated continuation to stdout as it
//! is produced; prompt and generation speed go to stderr.

use std::io::Write;

use anyhow::{Context, Result};
use engine::{generate, GenerateOptions, SamplingParams, StopReason};
use tokenizer::StreamDecoder;

use crate::model_arg::ModelArgs;

/// Flags of `behemoth run`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The prompt. Empty or absent: generate from the beginning-of-text token alone.
    prompt: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
    /// Tokens to generate; -1 runs until the context is full or the model ends the text.
    #[arg(short = 'n', long = "n-predict", default_value_t = 256, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    n_predict: i64,
    /// Temperature; 0 is greedy.
    #[arg(long = "temp", default_value_t = 0.8, allow_negative_numbers = true)]
    temp: f32,
    /// Top-k; 0 disables.
    #[arg(long = "top-k", default_value_t = 40)]
    top_k: usize,
    /// Top-p; 1 disables.
    #[arg(long = "top-p", default_value_t = 0.95)]
    top_p: f32,
    /// Min-p; 0 disables.
    #[arg(long = "min-p", default_value_t = 0.05)]
    min_p: f32,
    /// Repetition penalty over the last 64 tokens; 1 disables.
    #[arg(long = "repeat-penalty", default_value_t = 1.0)]
    repeat_penalty: f32,
    /// Random seed; default: from the clock (printed to stderr).
    #[arg(long = "seed")]
    seed: Option<u64>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let seed = args.seed.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
    });
    let sampling = SamplingParams {
        temperature: args.temp,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        repeat_last_n: 64,
        seed,
    };
    sampling
        .validate()
        .map_err(anyhow::Error::msg)
        .context("bad sampling flag")?;
    let lm = args.model.load()?;
    let prompt = args.prompt.unwrap_or_default();
    let tok = &lm.tokenizer;
    let mut ids = tok.encode(&prompt, true, true);
    if ids.is_empty() {
        ids.extend(tok.bos_id()); // no text and no BOS flag: start from BOS anyway
    }
    if ids.is_empty() {
        anyhow::bail!("the prompt is empty and the model has no beginning-of-text token");
    }
    if args.temp > 0.0 {
        eprintln!("seed: {seed}");
    }

    let mut stdout = std::io::stdout().lock();
    let mut out_ok = write_flush(&mut stdout, prompt.as_bytes());
    let mut decoder = StreamDecoder::new();
    // After an empty prompt the first piece's leading space is the SentencePiece word marker,
    // not text: drop it, as llama2.c does.
    let mut strip_space = prompt.is_empty();
    let opts = GenerateOptions {
        max_new_tokens: usize::try_from(args.n_predict).ok(),
        sampling,
    };
    let stats = generate(&lm, &ids, &opts, |id| {
        let mut piece = tok.token_to_piece(id, false);
        if strip_space && !piece.is_empty() {
            if piece[0] == b' ' {
                piece.remove(0);
            }
            strip_space = false;
        }
        let text = decoder.push(&piece);
        // A closed stdout (e.g. `| head`) ends generation quietly.
        out_ok = out_ok && write_flush(&mut stdout, text.as_bytes());
        out_ok
    })?;
    let rest = decoder.finish();
    if out_ok {
        write_flush(&mut stdout, rest.as_bytes());
        write_flush(&mut stdout, b"\n");
    }
    let rate = |n: usize, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    eprintln!(
        "prompt: {} tokens in {:.1} ms ({:.1} tok/s) | generation: {} tokens in {:.1} ms ({:.1} tok/s) | stop: {}",
        stats.prompt_tokens,
        stats.prompt_seconds * 1e3,
        rate(stats.prompt_tokens, stats.prompt_seconds),
        stats.decode_tokens,
        stats.decode_seconds * 1e3,
        rate(stats.decode_tokens, stats.decode_seconds),
        match stats.stop_reason {
            StopReason::EndOfGeneration => "end of text",
            StopReason::Length => "token limit",
            StopReason::ContextFull => "context full",
            StopReason::Stopped => "output closed",
        }
    );
    Ok(())
}

fn write_flush(out: &mut impl Write, bytes: &[u8]) -> bool {
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}
