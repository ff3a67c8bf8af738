//! The Llama 4 text decoder (Scout, Maverick, and the Behemoth architecture), as specified in
//! Meta's `models/llama4/model.py` + `moe.py`, Hugging Face's `modeling_llama4.py` and
//! llama.cpp's `src/models/llama4.cpp`; every rule here is cited in `shared/spec/llama4.md`.
//!
//! What differs from `llama.rs`, layer by layer (resolved once at load from the config):
//! - RoPE layers rotate q and k with adjacent pairs (optionally Llama 3-scaled), then apply a
//!   weightless per-head RMSNorm when `use_qk_norm`, and attend within absolute chunks of
//!   `attention_chunk_size` positions (also while decoding);
//! - NoPE layers (every `no_rope_layer_interval`-th) skip RoPE and QK-norm, attend over the
//!   whole causal history, and scale q by τ(p) = 1 + attn_scale · ln(1 + ⌊(p+1)/floor_scale⌋);
//! - MoE layers (every `interleave_moe_layer_step`-th) route each token to its top-1 expert by
//!   raw logit, scale the expert's *input* by the sigmoid of that logit, and add an always-on
//!   shared expert; other layers are dense SwiGLU of `intermediate_size_mlp`.
//!
//! The embedding is not scaled and the head is untied.

use tensor::cpu::KernelSet;
use tensor::{ops, Tensor};

use crate::config::{Llama4Attention, QkNorm};
use crate::kv_store::{KvStore, KvType, SeqBatch};
use crate::layers::{
    self, Activations, AttentionShape, AttentionWeights, BatchLayout, FeedForward,
};
use crate::weights::{embedding_and_output, require_vector, WeightSource};
use crate::{Error, LoadOptions, Model, ModelConfig, Result};

/// One decoder layer.
struct Layer {
    attn: AttentionWeights,
    ffn_norm: Vec<f32>, // [hidden_size]
    ffn: FeedForward,   // MoE (router + experts + shared expert) or dense SwiGLU
    uses_rope: bool,    // false on NoPE layers
}

/// A loaded Llama 4 text model.
pub struct Llama4 {
    config: ModelConfig,
    schedule: Llama4Attention,
    token_embd: Tensor, // [vocab_size, hidden_size]
    layers: Vec<Layer>,
    output_norm: Vec<f32>,   // [hidden_size]
    output: Tensor,          // [vocab_size, hidden_size]
    rope_inv_freq: Vec<f32>, // [head_dim / 2], Llama 3-scaled when configured
    kernels: &'static KernelSet,
    threads: usize,
    kv_type: KvType,
}

impl Llama4 {
    /// Builds the model from `weights` named as in GGUF `llama4`, checking shapes against `config`.
    pub fn load(
        config: ModelConfig,
        weights: &dyn WeightSource,
        opts: &LoadOptions,
    ) -> Result<Self> {
        config.validate()?;
        let schedule = config.llama4.clone().ok_or_else(|| Error::Config {
            key: "llama4".into(),
            reason: "the Llama 4 attention schedule is missing".into(),
        })?;
        let (h, v) = (config.hidden_size, config.vocab_size);
        let (token_embd, output) = embedding_and_output(weights, v, h)?;
        let layers = (0..config.n_layers)
            .map(|i| {
                Ok(Layer {
                    attn: AttentionWeights::load(weights, i, &config)?,
                    ffn_norm: require_vector(weights, &format!("blk.{i}.ffn_norm.weight"), h)?,
                    ffn: FeedForward::load(weights, i, &config)?,
                    uses_rope: schedule.rope_layers[i],
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
            schedule,
            config,
        })
    }

    /// Attention temperature τ(p) of NoPE layers (1 when tuning is off).
    fn temperature(&self, pos: usize) -> f32 {
        match self.schedule.attn_temperature {
            Some((floor_scale, attn_scale)) => {
                1.0 + attn_scale * (((pos as f32 + 1.0) / floor_scale).floor()).ln_1p()
            }
            None => 1.0,
        }
    }
}

impl Model for Llama4 {
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
        let qk_norm = c.qk_norm == QkNorm::UnweightedAfterRope;
        let (kernels, threads) = (self.kernels, self.threads);

        // x: [n, hidden_size], the residual stream; no √hidden scaling of the embedding.
        let mut x = layers::embed(&self.token_embd, &b.tokens);
        let mut a = Activations::new(c, n);

        for (il, layer) in self.layers.iter().enumerate() {
            ops::rms_norm(&x, &layer.attn.norm, c.rms_norm_eps, &mut a.normed);
            layer
                .attn
                .project(kernels, threads, &a.normed, n, &mut a.q, &mut a.k, &mut a.v);
            for t in 0..n {
                let pos = b.positions[t];
                let (qt, kt) = (
                    &mut a.q[t * q_dim..][..q_dim],
                    &mut a.k[t * kv_dim..][..kv_dim],
                );
                if layer.uses_rope {
                    ops::rope(qt, hd, pos, &self.rope_inv_freq, c.rope_style);
                    ops::rope(kt, hd, pos, &self.rope_inv_freq, c.rope_style);
                    if qk_norm {
                        layers::rms_norm_heads(qt, hd, None, c.rms_norm_eps);
                        layers::rms_norm_heads(kt, hd, None, c.rms_norm_eps);
                    }
                } else {
                    // Temperature scales queries only; the cached keys stay unscaled.
                    let tau = self.temperature(pos);
                    qt.iter_mut().for_each(|q| *q *= tau);
                }
                kv.write(il, b.slots[t], kt, &a.v[t * kv_dim..][..kv_dim]);
            }
            // Chunked layers see only their absolute chunk [⌊p/C⌋·C, p]; NoPE layers all of 0..=p.
            let chunk = self
                .schedule
                .attention_chunk_size
                .filter(|_| layer.uses_rope);
            let first_key = |pos: usize| chunk.map_or(0, |c| pos / c * c);
            let attn_out = &layer.attn.out;
            layers::attention_residual(
                kernels, threads, shape, kv, il, batch, &b, first_key, attn_out, &mut a, &mut x,
            );

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
