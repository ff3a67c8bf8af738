//! `behemoth bench`: prompt-processing and generation speed with llama-bench's method (random
//! tokens, a fresh KV cache per repetition, one warm-up run of each test, generation from an
//! empty context, tokens/s as mean ± standard deviation over repetitions), plus the machine's
//! measured memory read bandwidth and generation speed as a fraction of the roofline
//! bandwidth ÷ weight bytes read per token.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use formats::{GgufFile, ModelBytes};
use models::{Logits, Model, SequenceKv};

use crate::model_arg::{ModelArgs, EMBEDDED_MODEL};

/// Flags of `behemoth bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Prompt tokens of the prompt-processing test (0 skips it).
    #[arg(short = 'p', long = "n-prompt", default_value_t = 512)]
    n_prompt: usize,
    /// Tokens of the generation test (0 skips it).
    #[arg(short = 'n', long = "n-gen", default_value_t = 128)]
    n_gen: usize,
    /// Repetitions of each test.
    #[arg(short = 'r', long = "repetitions", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Skip the memory-bandwidth measurement (and the roofline).
    #[arg(long = "no-bandwidth")]
    no_bandwidth: bool,
}

/// A small deterministic generator for token ids (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n as u64) as u32
    }
}

/// Seconds for one prompt of `n` random tokens from an empty cache.
fn prompt_once(model: &dyn Model, rng: &mut Rng, n: usize) -> Result<f64> {
    let vocab = model.config().vocab_size;
    let tokens: Vec<u32> = (0..n).map(|_| rng.below(vocab)).collect();
    let mut kv = SequenceKv::new(model, n);
    let start = Instant::now();
    kv.forward(model, &tokens, Logits::Last)?;
    Ok(start.elapsed().as_secs_f64())
}

/// Seconds for `n` single-token steps from an empty cache.
fn generate_once(model: &dyn Model, rng: &mut Rng, n: usize) -> Result<f64> {
    let vocab = model.config().vocab_size;
    let mut kv = SequenceKv::new(model, n);
    let start = Instant::now();
    for _ in 0..n {
        let token = rng.below(vocab);
        kv.forward(model, &[token], Logits::Last)?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Mean and sample standard deviation.
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Memory read bandwidth in bytes/s with `threads` threads: the best of several passes over a
/// 1 GiB buffer (far larger than any cache), each thread summing its own contiguous part.
fn read_bandwidth(threads: usize) -> f64 {
    let words = (1usize << 30) / 8;
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        // 1 MiB chunks, handed to whichever thread asks next.
        tensor::cpu::parallel::for_each_chunk(words, 1 << 17, threads, |range| {
            let mut acc = [0u64; 8];
            for c in buf[range].chunks_exact(8) {
                for k in 0..8 {
                    acc[k] = acc[k].wrapping_add(c[k]);
                }
            }
            std::hint::black_box(acc);
        });
        best = best.max((words * 8) as f64 / start.elapsed().as_secs_f64());
    }
    best
}

/// Weight bytes one generated token reads: every matrix once, the token embedding only as
/// the output head when it is tied, and routed experts in proportion to those used.
fn weight_bytes_per_token(gguf: &GgufFile) -> u64 {
    let arch = gguf
        .get_str("general.architecture")
        .ok()
        .flatten()
        .unwrap_or("llama");
    let experts = gguf
        .get_u64(&format!("{arch}.expert_count"))
        .ok()
        .flatten()
        .unwrap_or(0);
    let used = gguf
        .get_u64(&format!("{arch}.expert_used_count"))
        .ok()
        .flatten()
        .unwrap_or(0);
    let tied = gguf.tensor("output.weight").is_none();
    gguf.tensors
        .iter()
        .map(|t| {
            if t.name == "token_embd.weight" && !tied {
                0
            } else if t.name.contains("_exps") && experts > 0 {
                t.size_bytes * used / experts
            } else {
                t.size_bytes
            }
        })
        .sum()
}

pub(crate) fn run(args: Args) -> Result<()> {
    let threads = args
        .model
        .threads
        .map_or_else(tensor::cpu::parallel::physical_cores, usize::from);
    let mut model_args = args.model.clone();
    model_args.threads = Some(threads as u16);
    let loaded = model_args.load()?;
    let model = &*loaded.model;
    let header = match &args.model.model {
        Some(path) if !Path::new(path).is_dir() => {
            let bytes = ModelBytes::open(path)
                .with_context(|| format!("cannot read '{}'", path.display()))?;
            GgufFile::parse(bytes.as_bytes())?
        }
        Some(_) => anyhow::bail!("bench needs a GGUF file (convert the folder first)"),
        None => GgufFile::parse(EMBEDDED_MODEL)?,
    };
    let file_bytes: u64 = header.tensors.iter().map(|t| t.size_bytes).sum();
    let params: u64 = header.tensors.iter().map(|t| t.n_elements()).sum();
    let per_token = weight_bytes_per_token(&header);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);

    let mut results = Vec::new();
    if args.n_prompt > 0 {
        prompt_once(model, &mut rng, args.n_prompt)?; // warm-up
        let mut ts = Vec::new();
        for _ in 0..args.reps {
            ts.push(args.n_prompt as f64 / prompt_once(model, &mut rng, args.n_prompt)?);
        }
        results.push((format!("pp{}", args.n_prompt), ts));
    }
    if args.n_gen > 0 {
        generate_once(model, &mut rng, 1)?; // warm-up
        let mut ts = Vec::new();
        for _ in 0..args.reps {
            ts.push(args.n_gen as f64 / generate_once(model, &mut rng, args.n_gen)?);
        }
        results.push((format!("tg{}", args.n_gen), ts));
    }
    let bandwidth = (!args.no_bandwidth).then(|| read_bandwidth(threads));
    let roofline = bandwidth.map(|b| b / per_token as f64);
    let tg_mean = results
        .iter()
        .find(|(name, _)| name.starts_with("tg"))
        .map(|(_, ts)| mean_sd(ts).0);

    if args.json {
        let tests: Vec<_> = results
            .iter()
            .map(|(name, ts)| {
                let (mean, sd) = mean_sd(ts);
                serde_json::json!({"test": name, "avg_ts": mean, "stddev_ts": sd, "samples_ts": ts})
            })
            .collect();
        let doc = serde_json::json!({
            "model": loaded.origin,
            "size_bytes": file_bytes,
            "params": params,
            "threads": threads,
            "kernels": tensor::cpu::best().name,
            "weight_bytes_per_token": per_token,
            "read_bandwidth_bytes_per_s": bandwidth,
            "roofline_tg_ts": roofline,
            "tg_fraction_of_roofline": roofline.zip(tg_mean).map(|(r, t)| t / r),
            "tests": tests,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("| model | size | params | kernels | threads | test | t/s |");
    println!("| --- | ---: | ---: | --- | ---: | --- | ---: |");
    for (name, ts) in &results {
        let (mean, sd) = mean_sd(ts);
        println!(
            "| {} | {:.2} GiB | {:.2} B | {} | {threads} | {name} | {mean:.2} ± {sd:.2} |",
            loaded.origin,
            file_bytes as f64 / (1u64 << 30) as f64,
            params as f64 / 1e9,
            tensor::cpu::best().name,
        );
    }
    println!();
    println!("weights read per token: {:.3} GB", per_token as f64 / 1e9);
    if let (Some(b), Some(r)) = (bandwidth, roofline) {
        print!(
            "memory read bandwidth: {:.1} GB/s ({threads} threads); roofline: {r:.2} tok/s",
            b / 1e9
        );
        match tg_mean {
            Some(t) => println!("; generation at {:.0}% of it", 100.0 * t / r),
            None => println!(),
        }
    }
    Ok(())
}
