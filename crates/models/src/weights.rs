//! From tensor descriptions to `Tensor`s: the `WeightSource` seam that a model file format
//! implements, the GGUF implementation (zero-copy views into the mapped file), and the checks
//! every architecture uses (shape against hyperparameters, supported element type).

use std::sync::Arc;

use formats::{GgmlType, GgufFile, HfCheckpoint, ModelBytes, SafeDtype};
use tensor::{ByteSource, DType, Tensor};

use crate::{Error, ModelConfig, Result};

/// Something that hands out tensors by canonical (GGUF) name, e.g. `blk.0.attn_q.weight`.
pub trait WeightSource {
    /// The tensor called `name`, or `None` when absent. Errors are for present but unusable ones.
    fn get(&self, name: &str) -> Result<Option<Tensor>>;

    /// Told that `tensor`, which this source handed out, was copied into another layout and
    /// its bytes here will not be read again: a memory-mapped file may drop those pages from
    /// memory. The default does nothing.
    fn release(&self, tensor: &Tensor) {
        let _ = tensor;
    }
}

/// Tensors of a GGUF file, viewed in place in the file's bytes.
pub struct GgufWeights<'a> {
    gguf: &'a GgufFile,
    file: Arc<ModelBytes>,
}

impl<'a> GgufWeights<'a> {
    /// Views over `file`, which holds the bytes `gguf` was parsed from.
    pub fn new(gguf: &'a GgufFile, file: Arc<ModelBytes>) -> Self {
        Self { gguf, file }
    }
}

/// The engine's `DType` for a GGUF type, when it has kernels for it.
pub fn dtype_of(t: GgmlType) -> Option<DType> {
    Some(match t {
        GgmlType::F32 => DType::F32,
        GgmlType::F16 => DType::F16,
        GgmlType::Bf16 => DType::Bf16,
        GgmlType::Q8_0 => DType::Q8_0,
        GgmlType::Q4_0 => DType::Q4_0,
        GgmlType::Q4_1 => DType::Q4_1,
        GgmlType::Q5_0 => DType::Q5_0,
        GgmlType::Q5_1 => DType::Q5_1,
        GgmlType::Q2K => DType::Q2K,
        GgmlType::Q3K => DType::Q3K,
        GgmlType::Q4K => DType::Q4K,
        GgmlType::Q5K => DType::Q5K,
        GgmlType::Q6K => DType::Q6K,
        GgmlType::Iq4Nl => DType::Iq4Nl,
        GgmlType::Iq4Xs => DType::Iq4Xs,
        _ => return None,
    })
}

impl WeightSource for GgufWeights<'_> {
    fn get(&self, name: &str) -> Result<Option<Tensor>> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let dtype = dtype_of(info.ggml_type).ok_or_else(|| Error::UnsupportedType {
            name: name.to_string(),
            dtype: info.ggml_type.name().to_string(),
        })?;
        // GGUF lists dims innermost first; `Tensor` shapes are outermost first.
        let shape: Vec<usize> = info.dims.iter().rev().map(|&d| d as usize).collect();
        let source: ByteSource = self.file.clone();
        Tensor::from_shared(dtype, shape, source, info.byte_range())
            .map(Some)
            .map_err(|source| Error::Tensor {
                name: name.to_string(),
                source,
            })
    }

    fn release(&self, tensor: &Tensor) {
        if let Some(range) = tensor.shared_range() {
            self.file.release(range);
        }
    }
}

/// The tensor `name` with exactly `shape` (outermost first).
pub fn require(weights: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<Tensor> {
    let t = weights
        .get(name)?
        .ok_or_else(|| Error::MissingTensor(name.to_string()))?;
    check_shape(name, &t, shape)?;
    Ok(t)
}

/// Like `require`, for a matrix (or stack of matrices) that only matrix products read: where
/// its type has an interleaved layout (`tensor::interleaved`) it is re-laid once here, and the
/// source releases the file's copy, so memory holds the weights once.
pub fn require_matrix(weights: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<Tensor> {
    Ok(for_products(weights, require(weights, name, shape)?))
}

/// Like `optional`, for a matrix that only matrix products read (as `require_matrix`).
fn optional_matrix(
    weights: &dyn WeightSource,
    name: &str,
    shape: &[usize],
) -> Result<Option<Tensor>> {
    Ok(optional(weights, name, shape)?.map(|t| for_products(weights, t)))
}

/// The token embedding `[vocab, hidden]` and the output matrix. Without an `output.weight` the
/// embedding is tied to the output, as llama.cpp falls back for every architecture; a tied
/// embedding is laid out for the products like any output matrix (its lookups read one row at
/// a time in any layout).
pub fn embedding_and_output(
    weights: &dyn WeightSource,
    vocab: usize,
    hidden: usize,
) -> Result<(Tensor, Tensor)> {
    let shape = [vocab, hidden];
    Ok(match optional_matrix(weights, "output.weight", &shape)? {
        Some(output) => (require(weights, "token_embd.weight", &shape)?, output),
        None => {
            let tied = require_matrix(weights, "token_embd.weight", &shape)?;
            (tied.clone(), tied)
        }
    })
}

/// `t` interleaved for the product kernels when its type has that layout, with the source's
/// copy released; otherwise `t` itself.
fn for_products(weights: &dyn WeightSource, t: Tensor) -> Tensor {
    match t.interleaved() {
        Some(interleaved) => {
            weights.release(&t);
            interleaved
        }
        None => t,
    }
}

/// The tensor `name` with `shape`, or `None` when absent.
pub fn optional(weights: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<Option<Tensor>> {
    match weights.get(name)? {
        Some(t) => check_shape(name, &t, shape).map(|()| Some(t)),
        None => Ok(None),
    }
}

/// A 1-D weight (a norm's scale) as f32 values.
pub fn require_vector(weights: &dyn WeightSource, name: &str, len: usize) -> Result<Vec<f32>> {
    Ok(require(weights, name, &[len])?.to_f32_vec())
}

fn check_shape(name: &str, t: &Tensor, shape: &[usize]) -> Result<()> {
    if t.shape() != shape {
        return Err(Error::TensorShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            got: t.shape().to_vec(),
        });
    }
    Ok(())
}

/// Tensors of a Hugging Face checkpoint under their canonical (GGUF) names. Plain tensors are
/// zero-copy views into the mapped shards; stacked expert tensors are assembled once at load
/// (per-expert matrices concatenated, or Llama 4's fused input-major `gate_up_proj` /
/// `down_proj` transposed into `[out, in]` rows) because our kernels read one row per output.
pub struct HfWeights<'a> {
    checkpoint: &'a HfCheckpoint,
    config: &'a ModelConfig,
}

impl<'a> HfWeights<'a> {
    /// Canonical views of `checkpoint`'s tensors for a model with `config`.
    pub fn new(checkpoint: &'a HfCheckpoint, config: &'a ModelConfig) -> Self {
        Self { checkpoint, config }
    }

    /// The checkpoint tensor `name`, trying the multimodal `language_model.` prefix too.
    fn raw(&self, name: &str) -> Result<Option<Tensor>> {
        let prefixed = format!("language_model.{name}");
        let (found, info) = match self.checkpoint.tensor(name) {
            Some(info) => (name, info),
            None => match self.checkpoint.tensor(&prefixed) {
                Some(info) => (prefixed.as_str(), info),
                None => return Ok(None),
            },
        };
        let dtype = match info.dtype {
            SafeDtype::F32 => DType::F32,
            SafeDtype::F16 => DType::F16,
            SafeDtype::Bf16 => DType::Bf16,
            SafeDtype::Other(ref other) => {
                return Err(Error::UnsupportedType {
                    name: found.to_string(),
                    dtype: other.clone(),
                })
            }
        };
        let source: ByteSource = self.checkpoint.shards[info.shard].clone();
        Tensor::from_shared(dtype, info.shape.clone(), source, info.range.clone())
            .map(Some)
            .map_err(|source| Error::Tensor {
                name: found.to_string(),
                source,
            })
    }

    /// The HF name of a per-layer canonical tensor, or `None` when it is an expert stack.
    fn hf_name(&self, layer: usize, what: &str) -> Option<String> {
        let p = format!("model.layers.{layer}");
        let ffn = if self.config.architecture == "llama4" {
            "feed_forward"
        } else {
            "mlp"
        };
        Some(match what {
            "attn_norm" => format!("{p}.input_layernorm.weight"),
            "ffn_norm" => format!("{p}.post_attention_layernorm.weight"),
            "attn_q" => format!("{p}.self_attn.q_proj.weight"),
            "attn_k" => format!("{p}.self_attn.k_proj.weight"),
            "attn_v" => format!("{p}.self_attn.v_proj.weight"),
            "attn_output" => format!("{p}.self_attn.o_proj.weight"),
            "attn_q_norm" => format!("{p}.self_attn.q_norm.weight"),
            "attn_k_norm" => format!("{p}.self_attn.k_norm.weight"),
            "ffn_gate" => format!("{p}.{ffn}.gate_proj.weight"),
            "ffn_up" => format!("{p}.{ffn}.up_proj.weight"),
            "ffn_down" => format!("{p}.{ffn}.down_proj.weight"),
            "ffn_gate_shexp" => format!("{p}.feed_forward.shared_expert.gate_proj.weight"),
            "ffn_up_shexp" => format!("{p}.feed_forward.shared_expert.up_proj.weight"),
            "ffn_down_shexp" => format!("{p}.feed_forward.shared_expert.down_proj.weight"),
            "ffn_gate_inp" => match self.config.architecture.as_str() {
                "llama4" => format!("{p}.feed_forward.router.weight"),
                "qwen3moe" => format!("{p}.mlp.gate.weight"),
                _ => format!("{p}.block_sparse_moe.gate.weight"),
            },
            _ => return None,
        })
    }

    /// `blk.{layer}.ffn_{which}_exps.weight` as one `[n_experts, out, in]` tensor.
    fn expert_stack(&self, layer: usize, which: &str) -> Result<Option<Tensor>> {
        let Some(moe) = &self.config.moe else {
            return Ok(None);
        };
        let p = format!("model.layers.{layer}");
        let canonical = format!("blk.{layer}.ffn_{which}_exps.weight");
        if self.config.architecture == "llama4" {
            let fused = match which {
                "gate" | "up" => self.raw(&format!("{p}.feed_forward.experts.gate_up_proj"))?,
                _ => self.raw(&format!("{p}.feed_forward.experts.down_proj"))?,
            };
            if let Some(t) = fused {
                return transpose_fused_experts(&canonical, &t, which).map(Some);
            }
        }
        // Per-expert matrices (Mixtral w1/w3/w2, Qwen3-MoE and per-expert Llama 4 checkpoints).
        let mut parts = Vec::with_capacity(moe.n_experts);
        for e in 0..moe.n_experts {
            let name = match self.config.architecture.as_str() {
                "llama" => {
                    let w = match which {
                        "gate" => "w1",
                        "up" => "w3",
                        _ => "w2",
                    };
                    format!("{p}.block_sparse_moe.experts.{e}.{w}.weight")
                }
                "llama4" => format!("{p}.feed_forward.experts.{e}.{which}_proj.weight"),
                _ => format!("{p}.mlp.experts.{e}.{which}_proj.weight"),
            };
            match self.raw(&name)? {
                Some(t) => parts.push(t),
                None if e == 0 => return Ok(None),
                None => return Err(Error::MissingTensor(name)),
            }
        }
        stack(&canonical, &parts).map(Some)
    }
}

impl WeightSource for HfWeights<'_> {
    fn get(&self, name: &str) -> Result<Option<Tensor>> {
        match name {
            "token_embd.weight" => return self.raw("model.embed_tokens.weight"),
            "output_norm.weight" => return self.raw("model.norm.weight"),
            "output.weight" => return self.raw("lm_head.weight"),
            "rope_freqs.weight" => return Ok(None), // HF configs carry rope_scaling instead
            _ => {}
        }
        let Some(rest) = name.strip_prefix("blk.") else {
            return Ok(None);
        };
        let Some((layer, what)) = rest.split_once('.') else {
            return Ok(None);
        };
        let Ok(layer) = layer.parse::<usize>() else {
            return Ok(None);
        };
        let Some(what) = what.strip_suffix(".weight") else {
            return Ok(None);
        };
        if let Some(which) = what
            .strip_prefix("ffn_")
            .and_then(|w| w.strip_suffix("_exps"))
        {
            return self.expert_stack(layer, which);
        }
        match self.hf_name(layer, what) {
            Some(hf) => self.raw(&hf),
            None => Ok(None),
        }
    }
}

/// Concatenates equally shaped `[out, in]` matrices into `[n, out, in]`.
fn stack(name: &str, parts: &[Tensor]) -> Result<Tensor> {
    let first = &parts[0];
    let mut bytes = Vec::with_capacity(first.bytes().len() * parts.len());
    for t in parts {
        if t.shape() != first.shape() || t.dtype() != first.dtype() {
            return Err(Error::TensorShape {
                name: name.to_string(),
                expected: first.shape().to_vec(),
                got: t.shape().to_vec(),
            });
        }
        bytes.extend_from_slice(t.bytes());
    }
    let mut shape = vec![parts.len()];
    shape.extend_from_slice(first.shape());
    owned_tensor(name, first.dtype(), shape, bytes)
}

/// Llama 4's fused experts are input-major: `gate_up_proj` `[E, D, 2F]` (gate first) and
/// `down_proj` `[E, F, D]`. Returns `[E, F, D]` gate or up rows, or `[E, D, F]` down rows.
fn transpose_fused_experts(name: &str, t: &Tensor, which: &str) -> Result<Tensor> {
    let shape = t.shape();
    if shape.len() != 3 {
        return Err(Error::TensorShape {
            name: name.to_string(),
            expected: vec![0, 0, 0],
            got: shape.to_vec(),
        });
    }
    let (n_exp, rows_in, cols) = (shape[0], shape[1], shape[2]);
    let (col_start, n_cols) = match which {
        "gate" => (0, cols / 2),
        "up" => (cols / 2, cols / 2),
        _ => (0, cols),
    };
    let elem = t.dtype().block_bytes();
    let src = t.bytes();
    let mut out = vec![0u8; n_exp * n_cols * rows_in * elem];
    for e in 0..n_exp {
        for r in 0..rows_in {
            for c in 0..n_cols {
                let s = ((e * rows_in + r) * cols + col_start + c) * elem;
                let d = ((e * n_cols + c) * rows_in + r) * elem;
                out[d..d + elem].copy_from_slice(&src[s..s + elem]);
            }
        }
    }
    owned_tensor(name, t.dtype(), vec![n_exp, n_cols, rows_in], out)
}

fn owned_tensor(name: &str, dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Tensor> {
    let len = bytes.len();
    let source: ByteSource = std::sync::Arc::new(bytes);
    Tensor::from_shared(dtype, shape, source, 0..len).map_err(|source| Error::Tensor {
        name: name.to_string(),
        source,
    })
}
