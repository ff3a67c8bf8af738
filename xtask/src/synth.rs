//! `cargo xtask synth [OUT_DIR]`: writes the synthetic benchmark models as F16 GGUF files: real
//! shapes, random N(0, 0.02) weights, norms of one, and a minimal llama-style vocabulary of the
//! right size (`<unk>`, `<s>`, `</s>`, 256 byte tokens, then filler pieces), which is enough for
//! `behemoth bench` and llama.cpp's `llama-bench` to load them. Quantize them with
//! `behemoth quantize` (or `llama-quantize`) to benchmark other types.
//!
//! - `synth-llama-1b-f16.gguf`: the Llama-3.2-1B shape (hidden 2048, 16 layers, 32 heads, 8 KV
//!   heads, FFN 8192, vocab 128256, tied embeddings).
//! - `synth-llama4-moe-f16.gguf`: a Llama-4-style mixture of experts (arch `llama4`, llama.cpp's
//!   tensor names and keys): hidden 2048, 8 layers, 32 heads, 8 KV heads, 16 routed experts
//!   (top-1) of FFN 2048 plus a shared expert, vocab 128256, separate output matrix.
//!
//! Tensors are generated and written one at a time, so memory stays at one tensor.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use formats::{GgmlType, GgufWriter, MetadataArray, MetadataValue};

/// Shape of one synthetic model.
struct Shape {
    file: &'static str,
    arch: &'static str,
    hidden: u64,
    layers: u64,
    heads: u64,
    kv_heads: u64,
    ffn: u64,
    vocab: u64,
    /// Routed experts (0: dense), each of width `ffn`, plus one shared expert.
    experts: u64,
    tied: bool,
}

const MODELS: [Shape; 2] = [
    Shape {
        file: "synth-llama-1b-f16.gguf",
        arch: "llama",
        hidden: 2048,
        layers: 16,
        heads: 32,
        kv_heads: 8,
        ffn: 8192,
        vocab: 128_256,
        experts: 0,
        tied: true,
    },
    Shape {
        file: "synth-llama4-moe-f16.gguf",
        arch: "llama4",
        hidden: 2048,
        layers: 8,
        heads: 32,
        kv_heads: 8,
        ffn: 2048,
        vocab: 128_256,
        experts: 16,
        tied: false,
    },
];

/// Entry point of the subcommand; `args` are what follows `synth`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let dir = PathBuf::from(args.first().map_or("models", String::as_str));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for shape in &MODELS {
        let path = dir.join(shape.file);
        eprintln!("writing {} ...", path.display());
        write_model(shape, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// A tensor to write: GGUF name, ggml dims (innermost first), and whether it is a norm (F32
/// ones) rather than a random F16 matrix.
struct Planned {
    name: String,
    dims: Vec<u64>,
    norm: bool,
}

fn plan(s: &Shape) -> Vec<Planned> {
    let (h, hd) = (s.hidden, s.hidden / s.heads);
    let (q, kv) = (s.heads * hd, s.kv_heads * hd);
    let matrix = |name: String, dims: &[u64]| Planned {
        name,
        dims: dims.to_vec(),
        norm: false,
    };
    let norm = |name: String| Planned {
        name,
        dims: vec![h],
        norm: true,
    };
    let mut t = vec![matrix("token_embd.weight".into(), &[h, s.vocab])];
    for i in 0..s.layers {
        let n = |x: &str| format!("blk.{i}.{x}.weight");
        t.push(norm(n("attn_norm")));
        t.push(matrix(n("attn_q"), &[h, q]));
        t.push(matrix(n("attn_k"), &[h, kv]));
        t.push(matrix(n("attn_v"), &[h, kv]));
        t.push(matrix(n("attn_output"), &[q, h]));
        t.push(norm(n("ffn_norm")));
        if s.experts == 0 {
            t.push(matrix(n("ffn_gate"), &[h, s.ffn]));
            t.push(matrix(n("ffn_up"), &[h, s.ffn]));
            t.push(matrix(n("ffn_down"), &[s.ffn, h]));
        } else {
            t.push(matrix(n("ffn_gate_inp"), &[h, s.experts]));
            t.push(matrix(n("ffn_gate_exps"), &[h, s.ffn, s.experts]));
            t.push(matrix(n("ffn_up_exps"), &[h, s.ffn, s.experts]));
            t.push(matrix(n("ffn_down_exps"), &[s.ffn, h, s.experts]));
            t.push(matrix(n("ffn_gate_shexp"), &[h, s.ffn]));
            t.push(matrix(n("ffn_up_shexp"), &[h, s.ffn]));
            t.push(matrix(n("ffn_down_shexp"), &[s.ffn, h]));
        }
    }
    t.push(norm("output_norm.weight".into()));
    if !s.tied {
        t.push(matrix("output.weight".into(), &[h, s.vocab]));
    }
    t
}

fn metadata(w: &mut GgufWriter<'_>, s: &Shape) -> formats::Result<()> {
    let a = s.arch;
    let hd = s.hidden / s.heads;
    let u32v = |v: u64| MetadataValue::U32(v as u32);
    w.add_metadata("general.architecture", MetadataValue::String(a.into()))?;
    w.add_metadata(
        "general.name",
        MetadataValue::String(s.file.trim_end_matches(".gguf").into()),
    )?;
    w.add_metadata("general.file_type", MetadataValue::U32(1))?; // MOSTLY_F16
    w.add_metadata(format!("{a}.context_length"), u32v(8192))?;
    w.add_metadata(format!("{a}.embedding_length"), u32v(s.hidden))?;
    w.add_metadata(format!("{a}.block_count"), u32v(s.layers))?;
    w.add_metadata(format!("{a}.feed_forward_length"), u32v(s.ffn))?;
    w.add_metadata(format!("{a}.attention.head_count"), u32v(s.heads))?;
    w.add_metadata(format!("{a}.attention.head_count_kv"), u32v(s.kv_heads))?;
    w.add_metadata(
        format!("{a}.attention.layer_norm_rms_epsilon"),
        MetadataValue::F32(1e-5),
    )?;
    w.add_metadata(format!("{a}.rope.freq_base"), MetadataValue::F32(500_000.0))?;
    w.add_metadata(format!("{a}.rope.dimension_count"), u32v(hd))?;
    w.add_metadata(format!("{a}.vocab_size"), u32v(s.vocab))?;
    if s.experts > 0 {
        w.add_metadata(format!("{a}.expert_feed_forward_length"), u32v(s.ffn))?;
        w.add_metadata(format!("{a}.attention.key_length"), u32v(hd))?;
        w.add_metadata(format!("{a}.attention.value_length"), u32v(hd))?;
        w.add_metadata(format!("{a}.expert_count"), u32v(s.experts))?;
        w.add_metadata(format!("{a}.expert_used_count"), u32v(1))?;
        w.add_metadata(format!("{a}.interleave_moe_layer_step"), u32v(1))?;
    }
    // A minimal SentencePiece-style vocabulary: control tokens, byte tokens, filler pieces.
    let n = s.vocab as usize;
    let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
    let mut types = vec![2i32, 3, 3];
    for b in 0..256 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let mut i = 0;
    while tokens.len() < n {
        tokens.push(format!("\u{2581}t{i}"));
        types.push(1);
        i += 1;
    }
    let scores: Vec<f32> = (0..n).map(|i| -(i as f32)).collect();
    w.add_metadata(
        "tokenizer.ggml.model",
        MetadataValue::String("llama".into()),
    )?;
    w.add_metadata(
        "tokenizer.ggml.tokens",
        MetadataValue::Array(MetadataArray::String(tokens)),
    )?;
    w.add_metadata(
        "tokenizer.ggml.scores",
        MetadataValue::Array(MetadataArray::F32(scores)),
    )?;
    w.add_metadata(
        "tokenizer.ggml.token_type",
        MetadataValue::Array(MetadataArray::I32(types)),
    )?;
    w.add_metadata("tokenizer.ggml.unknown_token_id", MetadataValue::U32(0))?;
    w.add_metadata("tokenizer.ggml.bos_token_id", MetadataValue::U32(1))?;
    w.add_metadata("tokenizer.ggml.eos_token_id", MetadataValue::U32(2))?;
    Ok(())
}

/// xorshift64* with Box–Muller: deterministic N(0, σ) samples.
struct Normal {
    state: u64,
    spare: Option<f32>,
}

impl Normal {
    fn uniform(&mut self) -> f32 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let bits = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        (bits as f32 + 0.5) / (1u64 << 24) as f32
    }

    fn sample(&mut self, sigma: f32) -> f32 {
        if let Some(v) = self.spare.take() {
            return v * sigma;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f32::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c * sigma
    }
}

fn write_model(s: &Shape, path: &Path) -> Result<(), String> {
    let planned = plan(s);
    let mut w = GgufWriter::new();
    metadata(&mut w, s).map_err(|e| e.to_string())?;
    for t in &planned {
        let ty = if t.norm { GgmlType::F32 } else { GgmlType::F16 };
        w.add_tensor_info(t.name.clone(), &t.dims, ty)
            .map_err(|e| e.to_string())?;
    }
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut data = w
        .write_header(BufWriter::with_capacity(1 << 22, file))
        .map_err(|e| e.to_string())?;
    let mut rng = Normal {
        state: 0x853c_49e6_748f_ea9b,
        spare: None,
    };
    let mut buf = Vec::new();
    for t in &planned {
        let n: u64 = t.dims.iter().product();
        buf.clear();
        if t.norm {
            for _ in 0..n {
                buf.extend_from_slice(&1.0f32.to_le_bytes());
            }
        } else {
            buf.reserve(n as usize * 2);
            for _ in 0..n {
                buf.extend_from_slice(&half::f16::from_f32(rng.sample(0.02)).to_le_bytes());
            }
        }
        data.write_tensor(&t.name, &buf)
            .map_err(|e| e.to_string())?;
    }
    let mut out = data.finish().map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(())
}
