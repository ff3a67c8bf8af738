//! The Llama dense decoder (Llama 1/2/3 and models built like them), as in Meta's
//! `llama/model.py` and llama.cpp's `src/models/llama.cpp`; paper: Touvron et al. 2023,
//! "LLaMA: Open and Efficient Foundation Language Models" (arXiv:2302.13971).
//!
//! x = embed(tokens); per layer: x += Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with
//! n = rmsnorm(x), then x += Wdown·(silu(Wgate·m) ⊙ Wup·m) with m = rmsnorm(x);
//! logits = Wout·rmsnorm(x). Attention is causal and grouped-query (n_heads / n_kv_heads query
//! heads share a KV head). Reads top to bottom: config, weights, forward.

use tensor::cpu::KernelSet;
use tensor::ops::{self, RopeStyle};
use tensor::Tensor;

use crate::weights::{optional, require, require_vector, WeightSource};
use crate::{Error, KvStore, LoadOptions, Logits, Model, ModelConfig, Result};

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
        ops::matmul(self.kernels, self.threads, w, x, n, out)
            .expect("shapes were checked against the config at load time");
    }

    /// Causal grouped-query attention of `n` new queries (`q`: `[n, n_heads · head_dim]`)
    /// at positions `start..start + n` over the stored keys and values `0..start + n`.
    fn attention(
        &self,
        q: &[f32],
        keys: &[f32],
        values: &[f32],
        start: usize,
        n: usize,
        out: &mut [f32],
    ) {
        let c = &self.config;
        let (hd, kv_dim) = (c.head_dim, c.kv_dim());
        let group = c.n_heads / c.n_kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        let mut scores = vec![0.0f32; start + n];
        for t in 0..n {
            let n_ctx = start + t + 1; // causal: positions 0..=start + t
            for head in 0..c.n_heads {
                let kv_off = (head / group) * hd;
                let qh = &q[t * c.n_heads * hd + head * hd..][..hd];
                for (j, s) in scores[..n_ctx].iter_mut().enumerate() {
                    let kj = &keys[j * kv_dim + kv_off..][..hd];
                    *s = qh.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
                ops::softmax(&mut scores[..n_ctx]);
                let oh = &mut out[t * c.n_heads * hd + head * hd..][..hd];
                oh.fill(0.0);
                for (j, &p) in scores[..n_ctx].iter().enumerate() {
                    let vj = &values[j * kv_dim + kv_off..][..hd];
                    oh.iter_mut().zip(vj).for_each(|(o, &x)| *o += p * x);
                }
            }
        }
    }
}

impl Model for Llama {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn forward(&self, tokens: &[u32], kv: &mut KvStore, logits: Logits) -> Result<Vec<f32>> {
        let c = &self.config;
        let n = tokens.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let start = kv.len();
        if start + n > kv.capacity() {
            return Err(Error::ContextFull {
                used: start,
                requested: n,
                capacity: kv.capacity(),
            });
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(Error::TokenOutOfRange {
                id,
                vocab_size: c.vocab_size,
            });
        }
        let (h, hd) = (c.hidden_size, c.head_dim);
        let (q_dim, kv_dim) = (c.n_heads * hd, c.kv_dim());
        let rope_style: RopeStyle = c.rope_style;

        // x: [n, hidden_size], the residual stream.
        let mut x = vec![0.0f32; n * h];
        for (row, &id) in x.chunks_exact_mut(h).zip(tokens) {
            self.token_embd.dequantize_row(id as usize, row);
        }
        let mut normed = vec![0.0f32; n * h];
        let mut q = vec![0.0f32; n * q_dim];
        let mut k = vec![0.0f32; n * kv_dim];
        let mut v = vec![0.0f32; n * kv_dim];
        let mut attn = vec![0.0f32; n * q_dim];
        let mut proj = vec![0.0f32; n * h];
        let mut gate = vec![0.0f32; n * c.intermediate_size];
        let mut up = vec![0.0f32; n * c.intermediate_size];

        for (il, layer) in self.layers.iter().enumerate() {
            // Attention block.
            ops::rms_norm(&x, &layer.attn_norm, c.rms_norm_eps, &mut normed);
            self.matmul(&layer.attn_q, &normed, n, &mut q);
            self.matmul(&layer.attn_k, &normed, n, &mut k);
            self.matmul(&layer.attn_v, &normed, n, &mut v);
            for t in 0..n {
                let pos = start + t;
                ops::rope(
                    &mut q[t * q_dim..][..q_dim],
                    hd,
                    pos,
                    &self.rope_inv_freq,
                    rope_style,
                );
                ops::rope(
                    &mut k[t * kv_dim..][..kv_dim],
                    hd,
                    pos,
                    &self.rope_inv_freq,
                    rope_style,
                );
            }
            kv.write(il, &k, &v);
            let (keys, values) = kv.layer(il, start + n);
            self.attention(&q, keys, values, start, n, &mut attn);
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
        kv.advance(n);

        // Head: only the rows the caller wants.
        let rows = match logits {
            Logits::All => &x[..],
            Logits::Last => &x[(n - 1) * h..],
        };
        let n_out = rows.len() / h;
        let mut normed = vec![0.0f32; rows.len()];
        ops::rms_norm(rows, &self.output_norm, c.rms_norm_eps, &mut normed);
        let mut out = vec![0.0f32; n_out * c.vocab_size];
        self.matmul(&self.output, &normed, n_out, &mut out);
        Ok(out)
    }
}
