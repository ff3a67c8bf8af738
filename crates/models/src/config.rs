//! `ModelConfig`: the hyperparameters every architecture is configured from, normalised from
//! GGUF metadata (`{arch}.embedding_length`, ...). Names follow the Hugging Face config
//! vocabulary (hidden_size, n_heads, n_kv_heads, head_dim, vocab_size), see ARCHITECTURE.md.

use formats::GgufFile;
use tensor::ops::RopeStyle;

use crate::{Error, Result};

/// Hyperparameters of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// `general.architecture`, e.g. `llama`.
    pub architecture: String,
    /// `general.name`, when present.
    pub name: Option<String>,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP's hidden layer.
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
    /// How RoPE pairs dimensions.
    pub rope_style: RopeStyle,
    /// RMSNorm ε.
    pub rms_norm_eps: f32,
    /// Context length the model was built for.
    pub context_length: usize,
}

impl ModelConfig {
    /// Reads the hyperparameters of a GGUF file.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let architecture = gguf
            .get_str("general.architecture")?
            .ok_or_else(|| missing("general.architecture"))?
            .to_string();
        let rope_style = match architecture.as_str() {
            "llama" => RopeStyle::Interleaved,
            other => return Err(Error::UnsupportedArchitecture(other.to_string())),
        };
        let arch = architecture.as_str();
        let usize_key = |suffix: &str| -> Result<Option<usize>> {
            let key = format!("{arch}.{suffix}");
            Ok(gguf.get_u64(&key)?.map(|v| v as usize))
        };
        let required = |suffix: &str| -> Result<usize> {
            let v = usize_key(suffix)?.ok_or_else(|| missing(&format!("{arch}.{suffix}")))?;
            if v == 0 {
                return Err(Error::Config {
                    key: format!("{arch}.{suffix}"),
                    reason: "must be positive".into(),
                });
            }
            Ok(v)
        };
        let hidden_size = required("embedding_length")?;
        let n_heads = required("attention.head_count")?;
        let n_kv_heads = usize_key("attention.head_count_kv")?.unwrap_or(n_heads);
        let head_dim = match usize_key("attention.key_length")? {
            Some(d) => d,
            None => hidden_size / n_heads,
        };
        let vocab_size = match usize_key("vocab_size")? {
            Some(v) => v,
            None => match gguf.get_array("tokenizer.ggml.tokens")? {
                Some(tokens) => tokens.len(),
                None => gguf
                    .tensor("token_embd.weight")
                    .and_then(|t| t.dims.get(1).copied())
                    .ok_or_else(|| missing(&format!("{arch}.vocab_size")))?
                    as usize,
            },
        };
        let config = ModelConfig {
            name: gguf.get_str("general.name")?.map(str::to_string),
            vocab_size,
            hidden_size,
            intermediate_size: required("feed_forward_length")?,
            n_layers: required("block_count")?,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_dim: usize_key("rope.dimension_count")?.unwrap_or(head_dim),
            rope_theta: gguf
                .get_f64(&format!("{arch}.rope.freq_base"))?
                .unwrap_or(10_000.0) as f32,
            rope_style,
            rms_norm_eps: gguf
                .get_f64(&format!("{arch}.attention.layer_norm_rms_epsilon"))?
                .unwrap_or(1e-5) as f32,
            context_length: usize_key("context_length")?.unwrap_or(2048),
            architecture,
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
                "attention.head_count_kv",
                format!(
                    "{} query heads are not a multiple of {} KV heads",
                    self.n_heads, self.n_kv_heads
                ),
            );
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return bad(
                "attention.key_length",
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
        Ok(())
    }

    /// Width of the K (and V) vectors of one position: n_kv_heads · head_dim.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// RoPE inverse frequencies θ^(−2i/rope_dim) for i in 0..rope_dim/2.
    pub fn rope_inv_freq(&self) -> Vec<f32> {
        (0..self.rope_dim / 2)
            .map(|i| self.rope_theta.powf(-2.0 * i as f32 / self.rope_dim as f32))
            .collect()
    }
}

fn missing(key: &str) -> Error {
    Error::Config {
        key: key.to_string(),
        reason: "missing from the file's metadata".into(),
    }
}
