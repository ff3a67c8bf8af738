//! `behemoth quantize IN OUT --type TYPE`: re-quantizes a GGUF model. Per-tensor types follow
//! llama.cpp's mixes (`llama_tensor_get_type` in `src/llama-quant.cpp`), so files and speeds are
//! comparable and the output loads in llama.cpp: the output matrix (or the token embedding
//! when it is tied) becomes Q6_K, Q4_K_M and Q5_K_M keep part of `attn_v` and `ffn_down` at
//! Q6_K, norms and expert routers stay as they are. Quantization runs on every core, one chunk
//! of rows at a time, with a progress bar.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use formats::{GgmlType, GgufFile, GgufWriter, MetadataValue, ModelBytes};
use indicatif::{ProgressBar, ProgressStyle};
use tensor::DType;

/// Flags of `behemoth quantize`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Input GGUF model.
    input: PathBuf,
    /// Output GGUF file.
    output: PathBuf,
    /// Target: a llama.cpp mix (Q4_K_M, Q4_K_S, Q5_K_M, Q5_K_S, Q3_K_M, Q3_K_L) or a single type
    /// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q6_K, IQ4_NL, IQ4_XS, F16, BF16, F32).
    #[arg(long = "type", value_name = "TYPE")]
    target: String,
    /// Quantize every tensor to the base type (llama.cpp's --pure): no per-tensor mix.
    #[arg(long)]
    pure: bool,
    /// Threads. Default: one per core.
    #[arg(short = 't', long = "threads", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
}

/// A target as llama.cpp names it: its base type and its `general.file_type` number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    Plain(DType),
    Q3KM,
    Q3KL,
    Q4KS,
    Q4KM,
    Q5KS,
    Q5KM,
}

impl Mix {
    fn parse(name: &str) -> Option<Mix> {
        Some(match name.to_ascii_uppercase().as_str() {
            "Q3_K_M" => Mix::Q3KM,
            "Q3_K_L" => Mix::Q3KL,
            "Q4_K_S" => Mix::Q4KS,
            "Q4_K_M" => Mix::Q4KM,
            "Q5_K_S" => Mix::Q5KS,
            "Q5_K_M" => Mix::Q5KM,
            "Q2_K_S" | "Q3_K_S" => return None,
            other => Mix::Plain(DType::from_name(other)?),
        })
    }

    fn base(self) -> DType {
        match self {
            Mix::Plain(d) => d,
            Mix::Q3KM | Mix::Q3KL => DType::Q3K,
            Mix::Q4KS | Mix::Q4KM => DType::Q4K,
            Mix::Q5KS | Mix::Q5KM => DType::Q5K,
        }
    }

    /// llama.cpp's `llama_ftype` number.
    fn file_type(self) -> u32 {
        match self {
            Mix::Plain(d) => match d {
                DType::F32 => 0,
                DType::F16 => 1,
                DType::Q4_0 => 2,
                DType::Q4_1 => 3,
                DType::Q8_0 => 7,
                DType::Q5_0 => 8,
                DType::Q5_1 => 9,
                DType::Q2K => 10,
                DType::Q3K => 11, // Q3_K_S
                DType::Q4K => 14, // Q4_K_S
                DType::Q5K => 16, // Q5_K_S
                DType::Q6K => 18,
                DType::Iq4Nl => 25,
                DType::Iq4Xs => 30,
                DType::Bf16 => 32,
            },
            Mix::Q3KM => 12,
            Mix::Q3KL => 13,
            Mix::Q4KS => 14,
            Mix::Q4KM => 15,
            Mix::Q5KS => 16,
            Mix::Q5KM => 17,
        }
    }
}

/// What the mix rules need to know about the model.
struct ModelFacts {
    tied: bool,
    n_gqa: u64,
    n_expert: u64,
    n_attn_v: usize,
    n_ffn_down: usize,
}

/// Running counters, as llama.cpp's `quantize_state_impl`.
#[derive(Default)]
struct Counters {
    attn_v: usize,
    ffn_down: usize,
}

fn use_more_bits(i: usize, n: usize) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i as i64 - (n / 8) as i64) % 3 == 2
}

/// Whether llama.cpp quantizes this tensor at all.
fn quantizable(name: &str, dims: &[u64]) -> bool {
    dims.len() >= 2
        && name.ends_with("weight")
        && !name.contains("_norm.weight")
        && !name.contains("ffn_gate_inp.weight")
}

/// The type of tensor `name` under `mix` (llama.cpp's `llama_tensor_get_type` for the mixes
/// above, without an importance matrix).
fn tensor_type(
    mix: Mix,
    pure: bool,
    f: &ModelFacts,
    c: &mut Counters,
    name: &str,
    ne0: u64,
) -> DType {
    let base = mix.base();
    let mut t = base;
    let layer = || -> usize {
        name.strip_prefix("blk.")
            .and_then(|s| s.split('.').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    if !pure && base.is_quantized() {
        let output = name == "output.weight" || (f.tied && name == "token_embd.weight");
        if output {
            if !ne0.is_multiple_of(base.block_size() as u64) {
                t = DType::Q8_0;
            } else if base != DType::Q8_0 {
                t = DType::Q6K;
            }
        } else if name.contains("attn_v.weight") {
            let i = c.attn_v;
            c.attn_v += 1;
            t = match mix {
                Mix::Plain(DType::Q2K) if f.n_gqa >= 4 => DType::Q4K,
                Mix::Plain(DType::Q2K) => DType::Q3K,
                Mix::Q3KM if i < 2 => DType::Q5K,
                Mix::Q3KM => DType::Q4K,
                Mix::Q3KL => DType::Q5K,
                Mix::Plain(DType::Iq4Nl | DType::Iq4Xs) if f.n_gqa >= 4 => DType::Q5K,
                Mix::Q4KM | Mix::Q5KM if use_more_bits(i, f.n_attn_v) => DType::Q6K,
                Mix::Q4KS if i < 4 => DType::Q5K,
                _ => t,
            };
            if f.n_expert == 8 {
                t = DType::Q8_0;
            }
        } else if name.contains("attn_k.weight") {
            if f.n_expert == 8 {
                t = DType::Q8_0;
            }
        } else if name.contains("ffn_down") {
            let counted = c.ffn_down;
            c.ffn_down += 1;
            let (i, n) = if f.n_expert > 1 {
                (layer(), f.n_ffn_down)
            } else {
                (counted, f.n_ffn_down)
            };
            t = match mix {
                Mix::Plain(DType::Q2K) => DType::Q3K,
                Mix::Q3KM if i < n / 16 => DType::Q5K,
                Mix::Q3KM => DType::Q4K,
                Mix::Q3KL => DType::Q5K,
                Mix::Q4KM if use_more_bits(i, n) => DType::Q6K,
                Mix::Plain(DType::Iq4Nl | DType::Iq4Xs) if i < n / 8 => DType::Q5K,
                Mix::Q5KM if use_more_bits(i, n) => DType::Q6K,
                Mix::Q4KS if i < n / 8 => DType::Q5K,
                _ => t,
            };
        } else if name.contains("attn_output.weight") {
            if f.n_expert == 8 {
                if matches!(
                    mix,
                    Mix::Plain(DType::Q2K)
                        | Mix::Q3KM
                        | Mix::Plain(DType::Iq4Nl)
                        | Mix::Q4KS
                        | Mix::Q4KM
                        | Mix::Plain(DType::Iq4Xs)
                ) {
                    t = DType::Q5K;
                }
            } else {
                t = match mix {
                    Mix::Plain(DType::Q2K) => DType::Q3K,
                    Mix::Q3KM => DType::Q4K,
                    Mix::Q3KL => DType::Q5K,
                    _ => t,
                };
            }
        }
    }
    // Shapes a type cannot hold fall back as llama.cpp's `tensor_type_fallback` does.
    if !ne0.is_multiple_of(t.block_size() as u64) {
        t = match t {
            DType::Iq4Xs => DType::Iq4Nl,
            DType::Q2K | DType::Q3K => DType::Q4_0,
            DType::Q4K => DType::Q5_0,
            DType::Q5K => DType::Q5_1,
            DType::Q6K => DType::Q8_0,
            other => other,
        };
        if !ne0.is_multiple_of(t.block_size() as u64) {
            t = DType::F16;
        }
    }
    t
}

fn ggml_type(d: DType) -> GgmlType {
    match d {
        DType::F32 => GgmlType::F32,
        DType::F16 => GgmlType::F16,
        DType::Bf16 => GgmlType::Bf16,
        DType::Q8_0 => GgmlType::Q8_0,
        DType::Q4_0 => GgmlType::Q4_0,
        DType::Q4_1 => GgmlType::Q4_1,
        DType::Q5_0 => GgmlType::Q5_0,
        DType::Q5_1 => GgmlType::Q5_1,
        DType::Q2K => GgmlType::Q2K,
        DType::Q3K => GgmlType::Q3K,
        DType::Q4K => GgmlType::Q4K,
        DType::Q5K => GgmlType::Q5K,
        DType::Q6K => GgmlType::Q6K,
        DType::Iq4Nl => GgmlType::Iq4Nl,
        DType::Iq4Xs => GgmlType::Iq4Xs,
    }
}

fn meta_u64(gguf: &GgufFile, key: &str) -> u64 {
    gguf.get_u64(key).ok().flatten().unwrap_or(0)
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mix = Mix::parse(&args.target).ok_or_else(|| {
        anyhow!(
            "unknown --type '{}' (try Q4_0, Q8_0, Q4_K_M, Q5_K_M, Q6_K, IQ4_XS)",
            args.target
        )
    })?;
    let threads = args
        .threads
        .map_or_else(tensor::cpu::parallel::physical_cores, usize::from);
    // The reader's error names the file and the cause in one line.
    let bytes = ModelBytes::open(&args.input).map_err(|e| anyhow!("{e}"))?;
    let data = bytes.as_bytes();
    let gguf = GgufFile::parse(data)
        .with_context(|| format!("'{}' is not a usable GGUF file", args.input.display()))?;
    let arch = gguf
        .get_str("general.architecture")
        .ok()
        .flatten()
        .unwrap_or("llama")
        .to_string();
    let heads = meta_u64(&gguf, &format!("{arch}.attention.head_count"));
    let kv_heads = meta_u64(&gguf, &format!("{arch}.attention.head_count_kv")).max(1);
    let facts = ModelFacts {
        tied: gguf.tensor("output.weight").is_none(),
        n_gqa: heads / kv_heads,
        n_expert: meta_u64(&gguf, &format!("{arch}.expert_count")),
        n_attn_v: gguf
            .tensors
            .iter()
            .filter(|t| t.name.contains("attn_v.weight"))
            .count(),
        n_ffn_down: gguf
            .tensors
            .iter()
            .filter(|t| t.name.contains("ffn_down"))
            .count(),
    };

    // Header: the input's metadata with the new file type, then every tensor with its type.
    let mut w = GgufWriter::new();
    for (key, value) in &gguf.metadata {
        if key == "general.file_type" || key == "general.quantization_version" {
            continue;
        }
        w.add_metadata(key.clone(), value.clone())?;
    }
    w.add_metadata("general.file_type", MetadataValue::U32(mix.file_type()))?;
    w.add_metadata("general.quantization_version", MetadataValue::U32(2))?;
    let mut counters = Counters::default();
    let mut plan = Vec::with_capacity(gguf.tensors.len());
    for t in &gguf.tensors {
        let src = models::weights::dtype_of(t.ggml_type).ok_or_else(|| {
            anyhow!(
                "tensor '{}' has type {}, which behemoth cannot read",
                t.name,
                t.ggml_type.name()
            )
        })?;
        let ne0 = t.dims.first().copied().unwrap_or(1);
        let dst = if quantizable(&t.name, &t.dims) {
            tensor_type(mix, args.pure, &facts, &mut counters, &t.name, ne0)
        } else {
            src
        };
        w.add_tensor_info(t.name.clone(), &t.dims, ggml_type(dst))?;
        plan.push((t, src, dst));
    }

    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create '{}'", args.output.display()))?;
    let mut out = w.write_header(BufWriter::with_capacity(1 << 22, file))?;
    let total: u64 = gguf.tensors.iter().map(|t| t.n_elements()).sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {elapsed_precise} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut in_bytes, mut out_bytes) = (0u64, 0u64);
    for (t, src, dst) in plan {
        bar.set_message(format!("{} {} → {}", t.name, src, dst));
        let raw = &data[t.byte_range()];
        in_bytes += raw.len() as u64;
        let ne0 = t.dims.first().copied().unwrap_or(1) as usize;
        if src == dst || raw.is_empty() {
            out.write_tensor(&t.name, raw)?;
            out_bytes += raw.len() as u64;
        } else {
            let (src_row, dst_row) = (
                src.row_bytes(ne0).context("source row")?,
                dst.row_bytes(ne0).context("target row")?,
            );
            let rows = raw.len() / src_row;
            // Chunks of about 16 Mi values, each split across the threads.
            let chunk_rows = (16 << 20) / ne0.max(1);
            for first in (0..rows).step_by(chunk_rows.max(1)) {
                let n = chunk_rows.min(rows - first);
                let src_chunk = &raw[first * src_row..(first + n) * src_row];
                let mut dst_chunk = vec![0u8; n * dst_row];
                let per = n.div_ceil(threads).max(1);
                std::thread::scope(|s| {
                    for (sc, dc) in src_chunk
                        .chunks(per * src_row)
                        .zip(dst_chunk.chunks_mut(per * dst_row))
                    {
                        s.spawn(move || {
                            let mut values = vec![0.0f32; ne0];
                            let mut q = Vec::with_capacity(dst_row);
                            for (sr, dr) in
                                sc.chunks_exact(src_row).zip(dc.chunks_exact_mut(dst_row))
                            {
                                tensor::quant::dequantize(src, sr, &mut values);
                                q.clear();
                                tensor::quant::quantize_into(dst, &values, &mut q);
                                dr.copy_from_slice(&q);
                            }
                        });
                    }
                });
                out.write_tensor_chunk(&dst_chunk)?;
                out_bytes += dst_chunk.len() as u64;
                bar.inc((n * ne0) as u64);
            }
            continue;
        }
        bar.inc(t.n_elements());
    }
    let mut file = out.finish()?;
    file.flush()?;
    bar.finish_and_clear();
    eprintln!(
        "{} ({}): {:.2} MiB → {:.2} MiB, {} ({})",
        args.input.display(),
        arch,
        in_bytes as f64 / (1 << 20) as f64,
        out_bytes as f64 / (1 << 20) as f64,
        args.output.display(),
        args.target.to_ascii_uppercase()
    );
    if !args.output.exists() {
        bail!("'{}' was not written", args.output.display());
    }
    Ok(())
}
