//! The Llama dense decoder (Llama 1/2/3 and models built like them), as in Meta's
//! `llama/model.py` and llama.cpp's `src/models/llama.cpp`; paper: Touvron et al. 2023,
//! "LLaMA: Open and Efficient Foundation Language Models" (arXiv:2302.13971).
//!
//! x = embed(tokens); per layer: x += Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with
//! n = rmsnorm(x), then x += Wdown·(silu(Wgate·m) ⊙ Wup·m) with m = rmsnorm(x);
//! logits = Wout·rmsnorm(x). Attention is causal and grouped-query (n_heads / n_kv_heads query
//! heads share a KV head). Reads top to bottom: config, weights, forward.

use tensor::cpu::KernelSet;
use tensor::{ops, Tensor};

use crate::kv_store::{KvStore, SeqBatch};
use crate::layers::{self, AttentionShape, BatchLayout};
use crate::weights::{optional, require, require_vector, WeightSource};
use crate::{LoadOptions, Model, ModelConfig, Result};

/// Weights of one decoder layer; shapes `[out, in]`.
struct Layer {
    attn_norm: Vec<f32>, // [hidden_size]
    attn_q: Tensor,      // [n_heads · head_dim, hidden_size]
    attn_k: Tensor,      // [n_kv_heads · head_dim, hidden_size]
    attn_v: Tensor,      // [n_kv_heads · head_dim, hidden_size]
    attn_out: Tensor,    // [hidden_size, n_heads · head_dim]
    ffn_norm: Vec<f32>,  // [hidden_size]
    ffn_gate: Tensor,    // [intermediate_size, hidden_size]
    ffn_up: Tensor,      // [intermediate_size, hidden_size]
    ffn_down: Tensor,    // [hidden_size, intermediate_size]
}

/// A loaded Llama model.
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
}

impl Llama {
    /// Builds the model from `weights` named as in GGUF, checking every shape against `config`.
    pub fn load(
        config: ModelConfig,
        weights: &dyn WeightSource,
        opts: &LoadOptions,
    ) -> Result<Self> {
        config.validate()?;
        let (h, v, ff) = (
            config.hidden_size,
            config.vocab_size,
            config.intermediate_size,
        );
        let (q_dim, kv_dim) = (config.n_heads * config.head_dim, config.kv_dim());
        let token_embd = require(weights, "token_embd.weight", &[v, h])?;
        let layers = (0..config.n_layers)
            .map(|i| {
                let name = |t: &str| format!("blk.{i}.{t}.weight");
                Ok(Layer {
                    attn_norm: require_vector(weights, &name("attn_norm"), h)?,
                    attn_q: require(weights, &name("attn_q"), &[q_dim, h])?,
                    attn_k: require(weights, &name("attn_k"), &[kv_dim, h])?,
                    attn_v: require(weights, &name("attn_v"), &[kv_dim, h])?,
                    attn_out: require(weights, &name("attn_output"), &[h, q_dim])?,
                    ffn_norm: require_vector(weights, &name("ffn_norm"), h)?,
                    ffn_gate: require(weights, &name("ffn_gate"), &[ff, h])?,
                    ffn_up: require(weights, &name("ffn_up"), &[ff, h])?,
                    ffn_down: require(weights, &name("ffn_down"), &[h, ff])?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let output = match optional(weights, "output.weight", &[v, h])? {
            Some(t) => t,
            None => token_embd.clone(), // tied embeddings
        };
        Ok(Self {
            token_embd,
            layers,
            output_norm: require_vector(weights, "output_norm.weight", h)?,
            output,
            rope_inv_freq: config.rope_inv_freq(),
            kernels: opts.kernels,
            threads: opts.threads.max(1),
            config,
        })
    }

    fn matmul(&self, w: &Tensor, x: &[f32], n: usize, out: &mut [f32]) {
        layers::matmul(self.kernels, self.threads, w, x, n, out);
    }
}

impl Model for Llama {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn forward(&self, batch: &[SeqBatch<'_>], kv: &mut KvStore) -> Result<Vec<f32>> {
        let c = &self.config;
        let b = BatchLayout::new(c, batch, kv)?;
        let n = b.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let (h, hd) = (c.hidden_size, c.head_dim);
        let (q_dim, kv_dim) = (c.n_heads * hd, c.kv_dim());
        let shape = AttentionShape {
            n_heads: c.n_heads,
            n_kv_heads: c.n_kv_heads,
            head_dim: hd,
            scale: 1.0 / (hd as f32).sqrt(),
        };

        // x: [n, hidden_size], the residual stream of every token of every sequence.
        let mut x = layers::embed(&self.token_embd, &b.tokens);
        let mut normed = vec![0.0f32; n * h];
        let mut q = vec![0.0f32; n * q_dim];
        let mut k = vec![0.0f32; n * kv_dim];
        let mut v = vec![0.0f32; n * kv_dim];
        let mut attn = vec![0.0f32; n * q_dim];
        let mut proj = vec![0.0f32; n * h];
        let mut gate = vec![0.0f32; n * c.intermediate_size];
        let mut up = vec![0.0f32; n * c.intermediate_size];
        let mut scores = Vec::new();

        for (il, layer) in self.layers.iter().enumerate() {
            // Attention block: every token's K and V are stored before any token attends, so
            // a token sees the earlier tokens of its own chunk through the cache.
            ops::rms_norm(&x, &layer.attn_norm, c.rms_norm_eps, &mut normed);
            self.matmul(&layer.attn_q, &normed, n, &mut q);
            self.matmul(&layer.attn_k, &normed, n, &mut k);
            self.matmul(&layer.attn_v, &normed, n, &mut v);
            for t in 0..n {
                let (qt, kt) = (&mut q[t * q_dim..][..q_dim], &mut k[t * kv_dim..][..kv_dim]);
                ops::rope(qt, hd, b.positions[t], &self.rope_inv_freq, c.rope_style);
                ops::rope(kt, hd, b.positions[t], &self.rope_inv_freq, c.rope_style);
                kv.write(il, b.slots[t], kt, &v[t * kv_dim..][..kv_dim]);
            }
            for t in 0..n {
                let table = batch[b.seq_of[t]].block_table;
                let keys = 0..b.positions[t] + 1; // causal
                let (qt, out) = (&q[t * q_dim..][..q_dim], &mut attn[t * q_dim..][..q_dim]);
                layers::attend(shape, qt, kv, il, table, keys, &mut scores, out);
            }
            self.matmul(&layer.attn_out, &attn, n, &mut proj);
            ops::add_assign(&mut x, &proj);

            // Feed-forward block (SwiGLU).
            ops::rms_norm(&x, &layer.ffn_norm, c.rms_norm_eps, &mut normed);
            self.matmul(&layer.ffn_gate, &normed, n, &mut gate);
            self.matmul(&layer.ffn_up, &normed, n, &mut up);
            ops::silu_mul(&mut gate, &up);
            self.matmul(&layer.ffn_down, &gate, n, &mut proj);
            ops::add_assign(&mut x, &proj);
        }

        Ok(layers::head(
            self.kernels,
            self.threads,
            c,
            &x,
            &b.logit_rows,
            &self.output_norm,
            &self.output,
        ))
    }
}
