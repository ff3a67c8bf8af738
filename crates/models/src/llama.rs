//! The Llama decoder family: Llama 1/2/3 (dense), Mistral and Mixtral (sliding window, softmax
//! top-k experts), Qwen3 and Qwen3-MoE (per-head q/k RMSNorm before RoPE), as in Meta's
//! `llama/model.py`, Hugging Face's `modeling_{llama,mixtral,qwen3,qwen3_moe}.py` and
//! llama.cpp's `src/models/llama.cpp`; paper: Touvron et al. 2023, "LLaMA: Open and Efficient
//! Foundation Language Models" (arXiv:2302.13971). The variants differ only by config flags.
//!
//! x = embed(tokens); per layer: x += Wo·attn(rope(norm_q(Wq·n)), rope(norm_k(Wk·n)), Wv·n)
//! with n = rmsnorm(x), then x += ffn(rmsnorm(x)) where ffn is SwiGLU or a mixture of SwiGLU
//! experts; logits = Wout·rmsnorm(x). Attention is causal (optionally windowed) and
//! grouped-query. Reads top to bottom: weights, load, forward.

use tensor::cpu::KernelSet;
use tensor::{ops, Tensor};

use crate::config::QkNorm;
use crate::kv_store::{KvStore, KvType, SeqBatch};
use crate::layers::{
    self, Activations, AttentionShape, AttentionWeights, BatchLayout, FeedForward,
};
use crate::weights::{embedding_and_output, require_vector, WeightSource};
use crate::{LoadOptions, Model, ModelConfig, Result};

/// Weights of one decoder layer.
struct Layer {
    attn: AttentionWeights,   // norm, q, k, v, output projections
    q_norm: Option<Vec<f32>>, // [head_dim] (Qwen3)
    k_norm: Option<Vec<f32>>, // [head_dim] (Qwen3)
    ffn_norm: Vec<f32>,       // [hidden_size]
    ffn: FeedForward,         // dense SwiGLU or experts
}

/// A loaded Llama-family model.
pub struct Llama {
    config: ModelConfig,
    token_embd: Tensor, // [vocab_size, hidden_size]
    layers: Vec<Layer>,
    output_norm: Vec<f32>, // [hidden_size]
    /// `[vocab_size, hidden_size]`; a clone of `token_embd`'s view when the head is tied.
    output: Tensor,
    rope_inv_freq: Vec<f32>, // [rope_dim / 2]
    kernels: &'static KernelSet,
    threads: usize,
    kv_type: KvType,
}

impl Llama {
    /// Builds the model from `weights` named as in GGUF, checking every shape against `config`.
    pub fn load(
        config: ModelConfig,
        weights: &dyn WeightSource,
        opts: &LoadOptions,
    ) -> Result<Self> {
        config.validate()?;
        let (h, v, hd) = (config.hidden_size, config.vocab_size, config.head_dim);
        let (token_embd, output) = embedding_and_output(weights, v, h)?;
        let layers = (0..config.n_layers)
            .map(|i| {
                let name = |t: &str| format!("blk.{i}.{t}.weight");
                let qk = config.qk_norm == QkNorm::WeightedBeforeRope;
                Ok(Layer {
                    attn: AttentionWeights::load(weights, i, &config)?,
                    q_norm: if qk {
                        Some(require_vector(weights, &name("attn_q_norm"), hd)?)
                    } else {
                        None
                    },
                    k_norm: if qk {
                        Some(require_vector(weights, &name("attn_k_norm"), hd)?)
                    } else {
                        None
                    },
                    ffn_norm: require_vector(weights, &name("ffn_norm"), h)?,
                    ffn: FeedForward::load(weights, i, &config)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            token_embd,
            layers,
            output_norm: require_vector(weights, "output_norm.weight", h)?,
            output,
            rope_inv_freq: layers::rope_inv_freq(&config, weights)?,
            kernels: opts.kernels,
            threads: opts.threads.max(1),
            kv_type: opts.kv_type,
            config,
        })
    }
}

impl Model for Llama {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn kv_type(&self) -> KvType {
        self.kv_type
    }

    fn forward(&self, batch: &[SeqBatch<'_>], kv: &mut KvStore) -> Result<Vec<f32>> {
        let c = &self.config;
        let b = BatchLayout::new(c, batch, kv)?;
        let n = b.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let hd = c.head_dim;
        let (q_dim, kv_dim) = (c.n_heads * hd, c.kv_dim());
        let shape = AttentionShape {
            n_heads: c.n_heads,
            n_kv_heads: c.n_kv_heads,
            head_dim: hd,
            scale: 1.0 / (hd as f32).sqrt(),
        };
        let (kernels, threads) = (self.kernels, self.threads);

        // x: [n, hidden_size], the residual stream of every token of every sequence.
        let mut x = layers::embed(&self.token_embd, &b.tokens);
        let mut a = Activations::new(c, n);

        for (il, layer) in self.layers.iter().enumerate() {
            // Attention block: every token's K and V are stored before any token attends, so
            // a token sees the earlier tokens of its own chunk through the cache.
            ops::rms_norm(&x, &layer.attn.norm, c.rms_norm_eps, &mut a.normed);
            layer
                .attn
                .project(kernels, threads, &a.normed, n, &mut a.q, &mut a.k, &mut a.v);
            if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
                layers::rms_norm_heads(&mut a.q, hd, Some(qn), c.rms_norm_eps);
                layers::rms_norm_heads(&mut a.k, hd, Some(kn), c.rms_norm_eps);
            }
            for t in 0..n {
                let (qt, kt) = (
                    &mut a.q[t * q_dim..][..q_dim],
                    &mut a.k[t * kv_dim..][..kv_dim],
                );
                ops::rope(qt, hd, b.positions[t], &self.rope_inv_freq, c.rope_style);
                ops::rope(kt, hd, b.positions[t], &self.rope_inv_freq, c.rope_style);
                kv.write(il, b.slots[t], kt, &a.v[t * kv_dim..][..kv_dim]);
            }
            // Causal, or the last `sliding_window` positions (Mistral / Mixtral).
            let first_key =
                |pos: usize| c.sliding_window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let attn_out = &layer.attn.out;
            layers::attention_residual(
                kernels, threads, shape, kv, il, batch, &b, first_key, attn_out, &mut a, &mut x,
            );

            // Feed-forward block: SwiGLU or a mixture of SwiGLU experts.
            let eps = c.rms_norm_eps;
            layers::feed_forward_residual(
                kernels,
                threads,
                eps,
                &layer.ffn_norm,
                &layer.ffn,
                n,
                &mut a,
                &mut x,
            );
        }

        Ok(layers::head(
            kernels,
            threads,
            c,
            &x,
            &b.logit_rows,
            &self.output_norm,
            &self.output,
        ))
    }
}
