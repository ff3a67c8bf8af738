//! `convert`: a Hugging Face checkpoint folder to a GGUF file with the metadata keys and tensor
//! names llama.cpp uses for the architecture (`llama` for Llama/Mistral/Mixtral, `qwen3`,
//! `qwen3moe`, `llama4`), the tokenizer included, so that behemoth (and llama.cpp, where its
//! loader supports the hyperparameters) reloads it.
//!
//! As llama.cpp's converter does: Llama/Mixtral q/k rows are permuted back from Hugging Face's
//! half-split RoPE layout to Meta's adjacent pairs (Qwen3 and Llama 4 are stored as they are);
//! Llama 3 RoPE scaling becomes a `rope_freqs.weight` tensor of per-frequency divisors;
//! experts are stacked into `ffn_{gate,up,down}_exps`; 1-D tensors and routers stay F32.
//! Llama 4 constants that llama.cpp hard-codes but a checkpoint may change are also written
//! under keys of our own (see `models::config`).

use std::io::BufWriter;
use std::path::Path;

use formats::{GgmlType, GgufWriter, HfCheckpoint, MetadataArray, MetadataValue};
use serde_json::Value;
use tensor::ops::RopeStyle;
use tensor::{DType, Tensor};

use crate::{Error, HfWeights, ModelConfig, MoeGating, QkNorm, Result, WeightSource};

/// Element type of the converted weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
    /// 8-bit blocks (rows whose length is not a multiple of 32 fall back to F16).
    Q8_0,
}

impl ConvertType {
    /// Parses `f32`, `f16`, `bf16` or `q8_0` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Some(Self::F32),
            "f16" => Some(Self::F16),
            "bf16" => Some(Self::Bf16),
            "q8_0" => Some(Self::Q8_0),
            _ => None,
        }
    }

    /// llama.cpp's `general.file_type` (`LLAMA_FTYPE_*`).
    fn file_type(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7,
            Self::Bf16 => 32,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ConvertSummary {
    /// Architecture written to `general.architecture`.
    pub architecture: String,
    /// Tensors written.
    pub n_tensors: usize,
    /// Bytes of the output file.
    pub file_bytes: u64,
}

/// Converts the checkpoint in `dir` to a GGUF file at `out`.
pub fn convert_hf_to_gguf(dir: &Path, out: &Path, ty: ConvertType) -> Result<ConvertSummary> {
    let checkpoint = HfCheckpoint::open(dir)?;
    let config = ModelConfig::from_hf(&checkpoint.config)?;
    let weights = HfWeights::new(&checkpoint, &config);
    let arch = config.architecture.clone();

    let mut writer = GgufWriter::new();
    let mut meta = |key: String, value: MetadataValue| writer_add(&mut writer, key, value);
    for (key, value) in model_metadata(&config, ty, dir) {
        meta(key, value)?;
    }
    let tokenizer_json = checkpoint.tokenizer_json.as_deref().ok_or_else(|| {
        Error::Convert(format!(
            "'{}' has no tokenizer.json to convert",
            dir.display()
        ))
    })?;
    for (key, value) in tokenizer_metadata(
        tokenizer_json,
        checkpoint.tokenizer_config_json.as_deref(),
        &config,
    )? {
        meta(key, value)?;
    }

    // Plan every tensor (name, dims, type) first, then stream the data in the same order.
    let names = tensor_names(&config);
    let mut planned = Vec::new();
    for name in names {
        let Some(tensor) = weights.get(&name)? else {
            if name == "output.weight" {
                continue; // tied embeddings
            }
            return Err(Error::MissingTensor(name));
        };
        let ggml_type = output_type(&name, &tensor, ty);
        // ggml dims are innermost first.
        let dims: Vec<u64> = tensor.shape().iter().rev().map(|&d| d as u64).collect();
        writer
            .add_tensor_info(name.clone(), &dims, ggml_type)
            .map_err(Error::Format)?;
        planned.push((name, tensor, ggml_type));
    }
    if let Some(divisors) = config.rope_freq_divisors() {
        writer
            .add_tensor_info("rope_freqs.weight", &[divisors.len() as u64], GgmlType::F32)
            .map_err(Error::Format)?;
        planned.push((
            "rope_freqs.weight".into(),
            Tensor::from_f32(vec![divisors.len()], divisors)
                .map_err(|e| Error::Convert(format!("rope_freqs: {e}")))?,
            GgmlType::F32,
        ));
    }
    let file = std::fs::File::create(out).map_err(|source| {
        Error::Format(formats::Error::Io {
            path: out.display().to_string(),
            source,
        })
    })?;
    let mut data = writer
        .write_header(BufWriter::new(file))
        .map_err(Error::Format)?;
    let permute = arch == "llama" && config.rope_style == RopeStyle::NeoX;
    for (name, tensor, ggml_type) in &planned {
        let mut values = tensor.to_f32_vec();
        if permute && (name.ends_with("attn_q.weight") || name.ends_with("attn_k.weight")) {
            let heads = if name.ends_with("attn_q.weight") {
                config.n_heads
            } else {
                config.n_kv_heads
            };
            values = half_split_to_interleaved(&values, heads, tensor.cols());
        }
        let dtype = match ggml_type {
            GgmlType::F32 => DType::F32,
            GgmlType::F16 => DType::F16,
            GgmlType::Bf16 => DType::Bf16,
            _ => DType::Q8_0,
        };
        data.write_tensor(name, &tensor::quant::quantize(dtype, &values))
            .map_err(Error::Format)?;
    }
    data.finish().map_err(Error::Format)?;
    let file_bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ConvertSummary {
        architecture: arch,
        n_tensors: planned.len(),
        file_bytes,
    })
}

fn writer_add(writer: &mut GgufWriter<'_>, key: String, value: MetadataValue) -> Result<()> {
    writer.add_metadata(key, value).map_err(Error::Format)
}

/// Every canonical tensor name of the model, in llama.cpp's order.
fn tensor_names(c: &ModelConfig) -> Vec<String> {
    let mut names = vec!["token_embd.weight".to_string()];
    for i in 0..c.n_layers {
        let mut layer = vec!["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output"];
        if c.qk_norm == QkNorm::WeightedBeforeRope {
            layer.extend(["attn_q_norm", "attn_k_norm"]);
        }
        layer.push("ffn_norm");
        match &c.moe {
            Some(moe) if moe.moe_layers[i] => {
                layer.extend([
                    "ffn_gate_inp",
                    "ffn_gate_exps",
                    "ffn_up_exps",
                    "ffn_down_exps",
                ]);
                if moe.shared_expert {
                    layer.extend(["ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp"]);
                }
            }
            _ => layer.extend(["ffn_gate", "ffn_up", "ffn_down"]),
        }
        names.extend(layer.into_iter().map(|t| format!("blk.{i}.{t}.weight")));
    }
    names.extend([
        "output_norm.weight".to_string(),
        "output.weight".to_string(),
    ]);
    names
}

/// llama.cpp keeps 1-D tensors and routers in F32 and falls back to F16 where Q8_0 blocks do not fit.
fn output_type(name: &str, t: &Tensor, ty: ConvertType) -> GgmlType {
    if t.shape().len() == 1 || name.contains("ffn_gate_inp") {
        return GgmlType::F32;
    }
    match ty {
        ConvertType::F32 => GgmlType::F32,
        ConvertType::F16 => GgmlType::F16,
        ConvertType::Bf16 => GgmlType::Bf16,
        ConvertType::Q8_0 if t.cols().is_multiple_of(32) => GgmlType::Q8_0,
        ConvertType::Q8_0 => GgmlType::F16,
    }
}

/// Hugging Face row j·(d/2) + i of each head goes back to Meta row 2i + j.
fn half_split_to_interleaved(w: &[f32], n_heads: usize, cols: usize) -> Vec<f32> {
    let rows = w.len() / cols;
    let hd = rows / n_heads;
    let mut out = vec![0.0; w.len()];
    for h in 0..n_heads {
        for i in 0..hd / 2 {
            for j in 0..2 {
                let src = h * hd + j * (hd / 2) + i;
                let dst = h * hd + 2 * i + j;
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&w[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

fn u32v(v: usize) -> MetadataValue {
    MetadataValue::U32(v as u32)
}

/// `general.*` and `{arch}.*` hyperparameter keys.
fn model_metadata(c: &ModelConfig, ty: ConvertType, dir: &Path) -> Vec<(String, MetadataValue)> {
    let arch = c.architecture.as_str();
    let k = |s: &str| format!("{arch}.{s}");
    let name = c.name.clone().unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| arch.to_string())
    });
    let mut m = vec![
        (
            "general.architecture".to_string(),
            MetadataValue::String(arch.to_string()),
        ),
        ("general.name".to_string(), MetadataValue::String(name)),
        (
            "general.file_type".to_string(),
            MetadataValue::U32(ty.file_type()),
        ),
        (k("vocab_size"), u32v(c.vocab_size)),
        (k("context_length"), u32v(c.context_length)),
        (k("embedding_length"), u32v(c.hidden_size)),
        (k("block_count"), u32v(c.n_layers)),
        (k("feed_forward_length"), u32v(c.intermediate_size)),
        (k("attention.head_count"), u32v(c.n_heads)),
        (k("attention.head_count_kv"), u32v(c.n_kv_heads)),
        (k("attention.key_length"), u32v(c.head_dim)),
        (k("attention.value_length"), u32v(c.head_dim)),
        (
            k("attention.layer_norm_rms_epsilon"),
            MetadataValue::F32(c.rms_norm_eps),
        ),
        (k("rope.freq_base"), MetadataValue::F32(c.rope_theta)),
        (k("rope.dimension_count"), u32v(c.rope_dim)),
    ];
    if let Some(w) = c.sliding_window {
        m.push((k("attention.sliding_window"), u32v(w)));
    }
    if let Some(moe) = &c.moe {
        m.push((k("expert_count"), u32v(moe.n_experts)));
        m.push((k("expert_used_count"), u32v(moe.n_experts_used)));
        if arch != "llama" {
            m.push((
                k("expert_feed_forward_length"),
                u32v(moe.expert_intermediate_size),
            ));
        }
        if let MoeGating::SoftmaxTopK { renormalize } = moe.gating {
            m.push((k("expert_weights_norm"), MetadataValue::Bool(renormalize)));
        }
        if arch == "llama4" {
            let step = moe.moe_layers.iter().position(|&x| x).map_or(1, |i| i + 1);
            m.push((k("interleave_moe_layer_step"), u32v(step)));
        }
    }
    if let Some(l4) = &c.llama4 {
        match l4.attention_chunk_size {
            None => m.push((k("attention.sliding_window"), MetadataValue::U32(0))),
            Some(chunk) => m.push((k("attention.chunk_size"), u32v(chunk))),
        }
        let interval = l4
            .rope_layers
            .iter()
            .position(|&r| !r)
            .map_or(c.n_layers + 1, |i| i + 1);
        m.push((k("no_rope_layer_interval"), u32v(interval)));
        let (floor, scale) = l4.attn_temperature.unwrap_or((8192.0, 0.0));
        m.push((
            k("attention.temperature_floor_scale"),
            MetadataValue::F32(floor),
        ));
        m.push((k("attention.temperature_scale"), MetadataValue::F32(scale)));
        m.push((
            k("attention.use_qk_norm"),
            MetadataValue::Bool(c.qk_norm == QkNorm::UnweightedAfterRope),
        ));
    }
    m
}

/// GGUF `tokenizer.ggml.*` keys from a tokenizer.json (+ tokenizer_config.json): a
/// SentencePiece-style BPE with byte fallback becomes llama.cpp's `llama` vocabulary (scores
/// from merge ranks: earlier merges score higher); a byte-level BPE becomes `gpt2` with its
/// merges and the pre-tokenizer name llama.cpp uses for its regex.
fn tokenizer_metadata(
    tokenizer_json: &[u8],
    tokenizer_config_json: Option<&[u8]>,
    config: &ModelConfig,
) -> Result<Vec<(String, MetadataValue)>> {
    let bad = |what: &str| Error::Convert(format!("tokenizer.json: {what}"));
    let tj: Value =
        serde_json::from_slice(tokenizer_json).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
    let tc: Option<Value> = tokenizer_config_json.and_then(|b| serde_json::from_slice(b).ok());
    let model = tj.get("model").ok_or_else(|| bad("no \"model\""))?;
    if model.get("type").and_then(Value::as_str) != Some("BPE") {
        return Err(bad("only BPE tokenizers can be converted"));
    }
    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no model.vocab"))?;
    let mut n = vocab
        .values()
        .filter_map(Value::as_u64)
        .max()
        .map_or(0, |m| m as usize + 1);
    let added: Vec<&Value> = tj
        .get("added_tokens")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for t in &added {
        if let Some(id) = t.get("id").and_then(Value::as_u64) {
            n = n.max(id as usize + 1);
        }
    }
    if n > 10_000_000 {
        return Err(bad("vocabulary larger than 10M entries"));
    }
    // The embedding may have more rows than the tokenizer (Llama 4): pad with reserved tokens.
    let n = n.max(config.vocab_size);
    let mut tokens: Vec<Option<String>> = vec![None; n];
    let mut types = vec![1i32; n];
    for (text, id) in vocab {
        if let Some(id) = id.as_u64() {
            tokens[id as usize] = Some(text.clone());
        }
    }
    let unk = model.get("unk_token").and_then(Value::as_str);
    for t in &added {
        let (Some(id), Some(text)) = (
            t.get("id").and_then(Value::as_u64),
            t.get("content").and_then(Value::as_str),
        ) else {
            continue;
        };
        tokens[id as usize] = Some(text.to_string());
        let special = t.get("special").and_then(Value::as_bool).unwrap_or(false);
        types[id as usize] = if Some(text) == unk {
            2
        } else if special {
            3
        } else {
            4
        };
    }
    let merges: Vec<String> = model
        .get("merges")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| match m {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(pair) => Some(format!(
                        "{} {}",
                        pair.first()?.as_str()?,
                        pair.get(1)?.as_str()?
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let byte_level = json_mentions(&tj, "ByteLevel");
    let mut m = Vec::new();
    let tokens: Vec<String> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.unwrap_or_else(|| format!("[PAD{i}]")))
        .collect();
    let special_id = |key: &str| -> Option<u32> {
        let text = tc
            .as_ref()?
            .get(key)
            .and_then(|v| v.as_str().or_else(|| v.get("content")?.as_str()))?;
        tokens.iter().position(|t| t == text).map(|i| i as u32)
    };
    if byte_level {
        m.push((
            "tokenizer.ggml.model".to_string(),
            MetadataValue::String("gpt2".into()),
        ));
        m.push((
            "tokenizer.ggml.pre".to_string(),
            MetadataValue::String(pre_tokenizer_name(&tj).into()),
        ));
        m.push((
            "tokenizer.ggml.merges".to_string(),
            MetadataValue::Array(MetadataArray::String(merges)),
        ));
    } else {
        m.push((
            "tokenizer.ggml.model".to_string(),
            MetadataValue::String("llama".into()),
        ));
        let mut scores = vec![0.0f32; n];
        for (rank, merge) in merges.iter().enumerate() {
            let joined: String = merge.split(' ').collect();
            if let Some(id) = tokens.iter().position(|t| *t == joined) {
                if scores[id] == 0.0 {
                    scores[id] = -(rank as f32) - 1.0;
                }
            }
        }
        for (i, t) in tokens.iter().enumerate() {
            if t.len() == 6 && t.starts_with("<0x") && t.ends_with('>') {
                types[i] = 6;
            }
        }
        m.push((
            "tokenizer.ggml.scores".to_string(),
            MetadataValue::Array(MetadataArray::F32(scores)),
        ));
        m.push((
            "tokenizer.ggml.add_space_prefix".to_string(),
            MetadataValue::Bool(json_mentions(&tj, "Prepend")),
        ));
    }
    for (key, gguf_key) in [
        ("bos_token", "bos_token_id"),
        ("eos_token", "eos_token_id"),
        ("unk_token", "unknown_token_id"),
        ("pad_token", "padding_token_id"),
    ] {
        if let Some(id) = special_id(key) {
            m.push((format!("tokenizer.ggml.{gguf_key}"), MetadataValue::U32(id)));
        }
    }
    m.push((
        "tokenizer.ggml.tokens".to_string(),
        MetadataValue::Array(MetadataArray::String(tokens)),
    ));
    m.push((
        "tokenizer.ggml.token_type".to_string(),
        MetadataValue::Array(MetadataArray::I32(types)),
    ));
    if let Some(tc) = &tc {
        if let Some(b) = tc.get("add_bos_token").and_then(Value::as_bool) {
            m.push((
                "tokenizer.ggml.add_bos_token".to_string(),
                MetadataValue::Bool(b),
            ));
        }
        if let Some(b) = tc.get("add_eos_token").and_then(Value::as_bool) {
            m.push((
                "tokenizer.ggml.add_eos_token".to_string(),
                MetadataValue::Bool(b),
            ));
        }
        if let Some(t) = tc.get("chat_template").and_then(Value::as_str) {
            m.push((
                "tokenizer.chat_template".to_string(),
                MetadataValue::String(t.to_string()),
            ));
        }
    }
    Ok(m)
}

/// True when any `"type"` field in the JSON tree equals `kind`.
fn json_mentions(v: &Value, kind: &str) -> bool {
    match v {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some(kind)
                || map.values().any(|x| json_mentions(x, kind))
        }
        Value::Array(list) => list.iter().any(|x| json_mentions(x, kind)),
        _ => false,
    }
}

/// llama.cpp's `tokenizer.ggml.pre` name for the split regex in tokenizer.json.
fn pre_tokenizer_name(tj: &Value) -> &'static str {
    let text = tj
        .get("pre_tokenizer")
        .map(Value::to_string)
        .unwrap_or_default();
    if text.contains("\\\\p{N}{1,3}") && text.contains("[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+") {
        "llama-bpe"
    } else if text.contains("\\\\p{Lu}") && text.contains("\\\\p{N}{1,3}") {
        "llama4"
    } else if text.contains("\\\\p{N}") && !text.contains("{1,3}") {
        "qwen2"
    } else {
        "gpt-2"
    }
}
