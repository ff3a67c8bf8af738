//! `ModelConfig`: the hyperparameters every architecture is configured from, normalised from
//! GGUF metadata (`{arch}.embedding_length`, ...) or a Hugging Face `config.json`. Names follow
//! the Hugging Face vocabulary (hidden_size, n_heads, n_kv_heads, head_dim, vocab_size); see
//! the glossary in ARCHITECTURE.md. Architecture names are normalised to GGUF's: `llama`
//! (Llama 1/2/3, Mistral, Mixtral), `qwen3`, `qwen3moe`, `llama4`.
//!
//! Where llama.cpp hard-codes a Llama 4 constant that GGUF does not store (chunk size 8192,
//! NoPE every 4th layer, temperature floor 8192 and scale 0.1, QK-norm unless 128 experts),
//! we read optional keys of our own first (`llama4.attention.chunk_size`,
//! `llama4.no_rope_layer_interval`, `llama4.attention.temperature_floor_scale`,
//! `llama4.attention.temperature_scale`, `llama4.attention.use_qk_norm`) so that converted
//! checkpoints with other values reload exactly; llama.cpp ignores them.

use formats::GgufFile;
use serde_json::Value;
use tensor::ops::RopeStyle;

use crate::{Error, Result};

/// Hyperparameters of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Normalised architecture: `llama`, `qwen3`, `qwen3moe` or `llama4`.
    pub architecture: String,
    /// `general.name`, when present.
    pub name: Option<String>,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the dense MLP's hidden layer (Llama 4: `intermediate_size_mlp`).
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Dimensions of each head that rotary embedding rotates (≤ head_dim).
    pub rope_dim: usize,
    /// RoPE base frequency θ.
    pub rope_theta: f32,
    /// How RoPE pairs dimensions in the weights as loaded.
    pub rope_style: RopeStyle,
    /// Llama 3 frequency scaling, when the config asks for it (a GGUF `rope_freqs.weight`
    /// tensor carries the same information as divisors).
    pub rope_scaling: Option<Llama3RopeScaling>,
    /// RMSNorm ε.
    pub rms_norm_eps: f32,
    /// Context length the model was built for.
    pub context_length: usize,
    /// Whether the output head reuses the embedding (informational; the loader also falls back
    /// to the embedding when no output tensor exists).
    pub tie_word_embeddings: bool,
    /// Per-head normalisation of queries and keys.
    pub qk_norm: QkNorm,
    /// Keys a query sees beyond causality, for every layer.
    pub sliding_window: Option<usize>,
    /// Mixture-of-experts settings, when the model has experts.
    pub moe: Option<MoeConfig>,
    /// Llama 4's per-layer attention schedule.
    pub llama4: Option<Llama4Attention>,
}

/// Llama 3 RoPE frequency scaling (`rope_type: llama3`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Llama3RopeScaling {
    /// Divisor of the low frequencies.
    pub factor: f32,
    /// Wavelengths above `original_max_position_embeddings / low_freq_factor` are divided.
    pub low_freq_factor: f32,
    /// Wavelengths below `original_max_position_embeddings / high_freq_factor` are kept.
    pub high_freq_factor: f32,
    /// Context length of pre-training.
    pub original_max_position_embeddings: f32,
}

/// Per-head normalisation of Q and K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkNorm {
    /// None.
    None,
    /// RMSNorm with learned `[head_dim]` weights, before RoPE (Qwen3).
    WeightedBeforeRope,
    /// RMSNorm without weights, after RoPE, on RoPE layers only (Llama 4 Scout).
    UnweightedAfterRope,
}

/// How a router turns logits into expert weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoeGating {
    /// Softmax over all experts, keep the top k, optionally renormalise them to sum to 1;
    /// weights scale each expert's output (Mixtral, Qwen3-MoE).
    SoftmaxTopK {
        /// Renormalise the k kept weights.
        renormalize: bool,
    },
    /// Top k of the raw logits, then a sigmoid of each; weights scale each expert's input
    /// (Llama 4).
    TopKSigmoidInput,
}

/// Mixture-of-experts hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MoeConfig {
    /// Routed experts.
    pub n_experts: usize,
    /// Experts used per token (top-k).
    pub n_experts_used: usize,
    /// Hidden width of each expert.
    pub expert_intermediate_size: usize,
    /// Router semantics.
    pub gating: MoeGating,
    /// Which layers are MoE (the others are dense SwiGLU of `intermediate_size`).
    pub moe_layers: Vec<bool>,
    /// An always-on, ungated shared expert of `expert_intermediate_size` (Llama 4).
    pub shared_expert: bool,
}

/// Llama 4 attention schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Llama4Attention {
    /// Per layer: true when the layer uses RoPE (and chunked attention); false for NoPE layers,
    /// which attend globally and get temperature tuning.
    pub rope_layers: Vec<bool>,
    /// Absolute chunk size of attention on RoPE layers; `None` attends causally everywhere.
    pub attention_chunk_size: Option<usize>,
    /// `(floor_scale, attn_scale)` of temperature tuning on NoPE layers, when enabled.
    pub attn_temperature: Option<(f32, f32)>,
}

impl ModelConfig {
    /// Reads the hyperparameters of a GGUF file.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let architecture = gguf
            .get_str("general.architecture")?
            .ok_or_else(|| missing("general.architecture"))?
            .to_string();
        let rope_style = match architecture.as_str() {
            "llama" | "llama4" => RopeStyle::Interleaved,
            "qwen3" | "qwen3moe" => RopeStyle::NeoX,
            other => return Err(Error::UnsupportedArchitecture(other.to_string())),
        };
        let arch = architecture.as_str();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        let opt_usize = |suffix: &str| -> Result<Option<usize>> {
            Ok(gguf.get_u64(&key(suffix))?.map(|v| v as usize))
        };
        let required = |suffix: &str| -> Result<usize> {
            let v = opt_usize(suffix)?.ok_or_else(|| missing(&key(suffix)))?;
            positive(&key(suffix), v)
        };
        let opt_f32 = |suffix: &str| -> Result<Option<f32>> {
            Ok(gguf.get_f64(&key(suffix))?.map(|v| v as f32))
        };
        let hidden_size = required("embedding_length")?;
        let n_heads = required("attention.head_count")?;
        let n_layers = required("block_count")?;
        let n_kv_heads = opt_usize("attention.head_count_kv")?.unwrap_or(n_heads);
        let head_dim = opt_usize("attention.key_length")?.unwrap_or(hidden_size / n_heads);
        let vocab_size = match opt_usize("vocab_size")? {
            Some(v) => v,
            None => match gguf.tensor("token_embd.weight") {
                Some(t) if t.dims.len() == 2 => t.dims[1] as usize,
                _ => match gguf.get_array("tokenizer.ggml.tokens")? {
                    Some(tokens) => tokens.len(),
                    None => return Err(missing(&key("vocab_size"))),
                },
            },
        };
        let has_tensor = |name: String| gguf.tensor(&name).is_some();
        let n_experts = opt_usize("expert_count")?.unwrap_or(0);
        let moe = if n_experts > 0 {
            let n_experts_used = required("expert_used_count")?;
            let expert_ff = match opt_usize("expert_feed_forward_length")? {
                Some(v) => v,
                None => required("feed_forward_length")?,
            };
            let gating = match arch {
                "llama4" => MoeGating::TopKSigmoidInput,
                // llama.cpp renormalises Mixtral and Qwen3-MoE weights unless told otherwise.
                _ => MoeGating::SoftmaxTopK {
                    renormalize: gguf.get_bool(&key("expert_weights_norm"))?.unwrap_or(true),
                },
            };
            Some(MoeConfig {
                n_experts,
                n_experts_used,
                expert_intermediate_size: expert_ff,
                gating,
                // A layer is MoE when it has a router: covers interleaved and leading-dense layouts.
                moe_layers: (0..n_layers)
                    .map(|i| has_tensor(format!("blk.{i}.ffn_gate_inp.weight")))
                    .collect(),
                shared_expert: has_tensor("blk.0.ffn_gate_shexp.weight".into())
                    || (0..n_layers).any(|i| has_tensor(format!("blk.{i}.ffn_gate_shexp.weight"))),
            })
        } else {
            None
        };
        let mut qk_norm = if has_tensor("blk.0.attn_q_norm.weight".into()) {
            QkNorm::WeightedBeforeRope
        } else {
            QkNorm::None
        };
        let mut llama4 = None;
        if arch == "llama4" {
            let window = opt_usize("attention.sliding_window")?;
            let all_full = window == Some(0);
            let interval = opt_usize("no_rope_layer_interval")?.unwrap_or(4);
            let chunk = opt_usize("attention.chunk_size")?.unwrap_or(8192);
            let floor = opt_f32("attention.temperature_floor_scale")?.unwrap_or(8192.0);
            let scale = opt_f32("attention.temperature_scale")?.unwrap_or(0.1);
            let use_qk_norm = match gguf.get_bool(&key("attention.use_qk_norm"))? {
                Some(b) => b,
                None => n_experts != 128,
            };
            if use_qk_norm && !all_full {
                qk_norm = QkNorm::UnweightedAfterRope;
            }
            llama4 = Some(if all_full {
                Llama4Attention {
                    rope_layers: vec![true; n_layers],
                    attention_chunk_size: None,
                    attn_temperature: None,
                }
            } else {
                Llama4Attention {
                    rope_layers: (0..n_layers)
                        .map(|i| (i + 1) % interval.max(1) != 0)
                        .collect(),
                    attention_chunk_size: Some(positive(&key("attention.chunk_size"), chunk)?),
                    attn_temperature: Some((floor, scale)),
                }
            });
        }
        let config = ModelConfig {
            name: gguf.get_str("general.name")?.map(str::to_string),
            vocab_size,
            hidden_size,
            intermediate_size: opt_usize("feed_forward_length")?.unwrap_or(0),
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_dim: opt_usize("rope.dimension_count")?.unwrap_or(head_dim),
            rope_theta: opt_f32("rope.freq_base")?.unwrap_or(10_000.0),
            rope_style,
            rope_scaling: None,
            rms_norm_eps: opt_f32("attention.layer_norm_rms_epsilon")?.unwrap_or(1e-5),
            context_length: opt_usize("context_length")?.unwrap_or(2048),
            tie_word_embeddings: gguf.tensor("output.weight").is_none(),
            qk_norm,
            sliding_window: opt_usize("attention.sliding_window")?
                .filter(|&w| w > 0 && arch != "llama4"),
            moe,
            llama4,
            architecture,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads a Hugging Face `config.json` (a nested `text_config` is used when present, as in
    /// multimodal Llama 4 checkpoints). HF Llama/Mistral/Mixtral weights keep q/k in the
    /// half-split layout, so those load with NeoX RoPE; Llama 4 keeps adjacent pairs.
    pub fn from_hf(config: &Value) -> Result<Self> {
        let top_type = config
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or("");
        let c = match config.get("text_config") {
            Some(text) if text.is_object() => text,
            _ => config,
        };
        let model_type = c
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or(top_type);
        let architecture = match model_type {
            "llama" | "mistral" | "mixtral" => "llama",
            "qwen3" => "qwen3",
            "qwen3_moe" => "qwen3moe",
            "llama4" | "llama4_text" => "llama4",
            "" => return Err(hf_err("model_type", "missing".into())),
            other => return Err(Error::UnsupportedArchitecture(other.to_string())),
        };
        let j = HfJson(c);
        let hidden_size = positive("hidden_size", j.usize_req("hidden_size")?)?;
        let n_heads = positive("num_attention_heads", j.usize_req("num_attention_heads")?)?;
        let n_layers = positive("num_hidden_layers", j.usize_req("num_hidden_layers")?)?;
        let n_kv_heads = j.usize_opt("num_key_value_heads")?.unwrap_or(n_heads);
        let head_dim = j.usize_opt("head_dim")?.unwrap_or(hidden_size / n_heads);
        if j.bool_opt("attention_bias")?.unwrap_or(false)
            || j.bool_opt("mlp_bias")?.unwrap_or(false)
        {
            return Err(hf_err("attention_bias", "biases are not supported".into()));
        }
        let act = j.str_opt("hidden_act")?.unwrap_or("silu");
        if act != "silu" {
            return Err(hf_err(
                "hidden_act",
                format!("'{act}' is not supported (only silu)"),
            ));
        }
        // Newer transformers nest theta and scaling in `rope_parameters`.
        let rope = c
            .get("rope_parameters")
            .filter(|v| v.is_object())
            .or_else(|| c.get("rope_scaling"));
        let rope_theta = match rope
            .and_then(|r| r.get("rope_theta"))
            .and_then(Value::as_f64)
        {
            Some(t) => t,
            None => j.f64_opt("rope_theta")?.unwrap_or(10_000.0),
        } as f32;
        let rope_scaling = match rope.filter(|r| r.is_object()) {
            None => None,
            Some(r) => {
                let kind = r
                    .get("rope_type")
                    .or_else(|| r.get("type"))
                    .and_then(Value::as_str);
                match kind {
                    None | Some("default") => None,
                    Some("llama3") => {
                        let f = |k: &str| {
                            r.get(k)
                                .and_then(Value::as_f64)
                                .map(|v| v as f32)
                                .ok_or_else(|| {
                                    hf_err(
                                        &format!("rope_scaling.{k}"),
                                        "missing or not a number".into(),
                                    )
                                })
                        };
                        Some(Llama3RopeScaling {
                            factor: f("factor")?,
                            low_freq_factor: f("low_freq_factor")?,
                            high_freq_factor: f("high_freq_factor")?,
                            original_max_position_embeddings: f(
                                "original_max_position_embeddings",
                            )?,
                        })
                    }
                    Some(other) => {
                        return Err(hf_err(
                            "rope_scaling.rope_type",
                            format!("'{other}' is not supported"),
                        ))
                    }
                }
            }
        };
        let tie_default = architecture != "llama4";
        let tie_word_embeddings = match config.get("tie_word_embeddings").and_then(Value::as_bool) {
            Some(t) => t,
            None => j.bool_opt("tie_word_embeddings")?.unwrap_or(tie_default),
        };
        let mut qk_norm = if architecture.starts_with("qwen3") {
            QkNorm::WeightedBeforeRope
        } else {
            QkNorm::None
        };
        let sliding_window = match architecture {
            "qwen3" | "qwen3moe" if !j.bool_opt("use_sliding_window")?.unwrap_or(false) => None,
            "llama4" => None,
            _ => j.usize_opt("sliding_window")?,
        };

        let mut intermediate_size = j.usize_opt("intermediate_size")?.unwrap_or(0);
        let moe = match architecture {
            "llama" => match j.usize_opt("num_local_experts")?.unwrap_or(0) {
                0 => None,
                n => Some(MoeConfig {
                    n_experts: n,
                    n_experts_used: j.usize_req("num_experts_per_tok")?,
                    expert_intermediate_size: intermediate_size,
                    gating: MoeGating::SoftmaxTopK { renormalize: true },
                    moe_layers: vec![true; n_layers],
                    shared_expert: false,
                }),
            },
            "qwen3moe" => {
                let step = j.usize_opt("decoder_sparse_step")?.unwrap_or(1).max(1);
                let mlp_only = j.usize_list_opt("mlp_only_layers")?.unwrap_or_default();
                Some(MoeConfig {
                    // transformers 5 writes `num_local_experts`, older versions `num_experts`.
                    n_experts: match j.usize_opt("num_local_experts")? {
                        Some(n) => n,
                        None => j.usize_req("num_experts")?,
                    },
                    n_experts_used: j.usize_req("num_experts_per_tok")?,
                    expert_intermediate_size: j.usize_req("moe_intermediate_size")?,
                    gating: MoeGating::SoftmaxTopK {
                        renormalize: j.bool_opt("norm_topk_prob")?.unwrap_or(false),
                    },
                    moe_layers: (0..n_layers)
                        .map(|i| !mlp_only.contains(&i) && (i + 1) % step == 0)
                        .collect(),
                    shared_expert: false,
                })
            }
            "llama4" => {
                let expert_ff = intermediate_size;
                intermediate_size = j.usize_opt("intermediate_size_mlp")?.unwrap_or(expert_ff);
                let n_experts = j.usize_opt("num_local_experts")?.unwrap_or(0);
                if n_experts == 0 {
                    None
                } else {
                    let moe_layers = match j.usize_list_opt("moe_layers")? {
                        Some(list) => (0..n_layers).map(|i| list.contains(&i)).collect(),
                        None => {
                            let step = j
                                .usize_opt("interleave_moe_layer_step")?
                                .unwrap_or(1)
                                .max(1);
                            (0..n_layers).map(|i| (i + 1) % step == 0).collect()
                        }
                    };
                    Some(MoeConfig {
                        n_experts,
                        n_experts_used: j.usize_opt("num_experts_per_tok")?.unwrap_or(1),
                        expert_intermediate_size: expert_ff,
                        gating: MoeGating::TopKSigmoidInput,
                        moe_layers,
                        shared_expert: true,
                    })
                }
            }
            _ => None,
        };
        let llama4 = if architecture == "llama4" {
            // HF `no_rope_layers[i] == 1` means layer i USES RoPE; empty or absent: derive.
            let rope_layers = match j.usize_list_opt("no_rope_layers")? {
                Some(list) if !list.is_empty() => {
                    if list.len() != n_layers {
                        return Err(hf_err(
                            "no_rope_layers",
                            format!("has {} entries for {n_layers} layers", list.len()),
                        ));
                    }
                    list.iter().map(|&v| v != 0).collect()
                }
                _ => {
                    let interval = j.usize_opt("no_rope_layer_interval")?.unwrap_or(4).max(1);
                    (0..n_layers).map(|i| (i + 1) % interval != 0).collect()
                }
            };
            if j.bool_or_int_opt("use_qk_norm")?.unwrap_or(true) {
                qk_norm = QkNorm::UnweightedAfterRope;
            }
            let tuning = j
                .bool_or_int_opt("attn_temperature_tuning")?
                .unwrap_or(true);
            Some(Llama4Attention {
                rope_layers,
                attention_chunk_size: j.usize_opt("attention_chunk_size")?,
                attn_temperature: tuning.then_some((
                    j.f64_opt("floor_scale")?.unwrap_or(8192.0) as f32,
                    j.f64_opt("attn_scale")?.unwrap_or(0.1) as f32,
                )),
            })
        } else {
            None
        };
        let config = ModelConfig {
            architecture: architecture.to_string(),
            name: config
                .get("_name_or_path")
                .and_then(Value::as_str)
                .map(str::to_string),
            vocab_size: j.usize_req("vocab_size")?,
            hidden_size,
            intermediate_size,
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_dim: head_dim,
            rope_theta,
            rope_style: if architecture == "llama4" {
                RopeStyle::Interleaved
            } else {
                RopeStyle::NeoX
            },
            rope_scaling,
            rms_norm_eps: j.f64_opt("rms_norm_eps")?.unwrap_or(1e-5) as f32,
            context_length: j.usize_opt("max_position_embeddings")?.unwrap_or(4096),
            tie_word_embeddings,
            qk_norm,
            sliding_window,
            moe,
            llama4,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the relations between hyperparameters that the forward pass relies on.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, reason: String| {
            Err(Error::Config {
                key: key.into(),
                reason,
            })
        };
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(
                "head_count_kv",
                format!(
                    "{} query heads are not a multiple of {} KV heads",
                    self.n_heads, self.n_kv_heads
                ),
            );
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return bad(
                "head_dim",
                format!("head_dim {} must be even", self.head_dim),
            );
        }
        if self.rope_dim > self.head_dim || !self.rope_dim.is_multiple_of(2) {
            return bad(
                "rope.dimension_count",
                format!(
                    "{} must be even and at most head_dim {}",
                    self.rope_dim, self.head_dim
                ),
            );
        }
        if self.vocab_size == 0 {
            return bad("vocab_size", "must be positive".into());
        }
        if let Some(moe) = &self.moe {
            if moe.n_experts_used == 0 || moe.n_experts_used > moe.n_experts {
                return bad(
                    "expert_used_count",
                    format!("{} experts used of {}", moe.n_experts_used, moe.n_experts),
                );
            }
            if moe.moe_layers.len() != self.n_layers {
                return bad(
                    "moe_layers",
                    format!(
                        "{} entries for {} layers",
                        moe.moe_layers.len(),
                        self.n_layers
                    ),
                );
            }
        }
        let needs_dense = match &self.moe {
            Some(moe) => moe.moe_layers.iter().any(|&m| !m),
            None => true,
        };
        if needs_dense && self.intermediate_size == 0 {
            return bad("feed_forward_length", "must be positive".into());
        }
        if let Some(s) = &self.rope_scaling {
            if !(s.factor > 0.0 && s.low_freq_factor > 0.0 && s.high_freq_factor > 0.0) {
                return bad("rope_scaling", "factors must be positive".into());
            }
        }
        Ok(())
    }

    /// Width of the K (and V) vectors of one position: n_kv_heads · head_dim.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// RoPE inverse frequencies θ^(−2i/rope_dim) for i in 0..rope_dim/2, with Llama 3 scaling
    /// applied when configured, then divided by `divisors` (GGUF `rope_freqs.weight`) if given.
    pub fn rope_inv_freq(&self, divisors: Option<&[f32]>) -> Vec<f32> {
        let d = self.rope_dim as f32;
        let mut inv: Vec<f32> = (0..self.rope_dim / 2)
            .map(|i| 1.0 / self.rope_theta.powf(2.0 * i as f32 / d))
            .collect();
        if let Some(s) = self.rope_scaling {
            // Hugging Face `_compute_llama3_parameters`, branch order kept so that the middle
            // band (empty when low == high) never divides by zero.
            let low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
            let high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
            for f in inv.iter_mut() {
                let wavelen = 2.0 * std::f32::consts::PI / *f;
                if wavelen < high_wavelen {
                    continue;
                } else if wavelen > low_wavelen {
                    *f /= s.factor;
                } else {
                    let smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor)
                        / (s.high_freq_factor - s.low_freq_factor);
                    *f = (1.0 - smooth) * *f / s.factor + smooth * *f;
                }
            }
        }
        if let Some(div) = divisors {
            inv.iter_mut().zip(div).for_each(|(f, &d)| *f /= d);
        }
        inv
    }

    /// The GGUF `rope_freqs.weight` divisors equivalent to `rope_scaling` (what llama.cpp's
    /// converter writes), or `None` without scaling.
    pub fn rope_freq_divisors(&self) -> Option<Vec<f32>> {
        self.rope_scaling?;
        let plain = ModelConfig {
            rope_scaling: None,
            ..self.clone()
        }
        .rope_inv_freq(None);
        let scaled = self.rope_inv_freq(None);
        Some(plain.iter().zip(&scaled).map(|(p, s)| p / s).collect())
    }
}

/// Typed reads of a config.json object; errors name the key.
struct HfJson<'a>(&'a Value);

impl HfJson<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn usize_opt(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| hf_err(key, format!("expected a non-negative integer, found {v}"))),
        }
    }

    fn usize_req(&self, key: &str) -> Result<usize> {
        self.usize_opt(key)?
            .ok_or_else(|| hf_err(key, "missing".into()))
    }

    fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| hf_err(key, format!("expected a number, found {v}"))),
        }
    }

    fn bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| hf_err(key, format!("expected true or false, found {v}"))),
        }
    }

    /// A bool, or an integer read as "non-zero" (old Llama 4 configs store `4`).
    fn bool_or_int_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            Some(v) if v.is_i64() || v.is_u64() => Ok(Some(v.as_i64() != Some(0))),
            _ => self.bool_opt(key),
        }
    }

    fn str_opt(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| hf_err(key, format!("expected a string, found {v}"))),
        }
    }

    fn usize_list_opt(&self, key: &str) -> Result<Option<Vec<usize>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let list = v
            .as_array()
            .ok_or_else(|| hf_err(key, "expected a list".into()))?;
        list.iter()
            .map(|x| {
                x.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| hf_err(key, format!("{x} is not an integer")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

fn positive(key: &str, v: usize) -> Result<usize> {
    if v == 0 {
        return Err(Error::Config {
            key: key.to_string(),
            reason: "must be positive".into(),
        });
    }
    Ok(v)
}

fn missing(key: &str) -> Error {
    Error::Config {
        key: key.to_string(),
        reason: "missing from the file's metadata".into(),
    }
}

fn hf_err(key: &str, reason: String) -> Error {
    Error::Config {
        key: format!("config.json: {key}"),
        reason,
    }
}
