//! Blocks shared by the architecture files: batch validation and layout, paged causal
//! attention, the SwiGLU feed-forward, and the output head. Each takes plain slices and
//! hyperparameters, so a family file composes them and reads like its paper.

use std::ops::Range;

use tensor::cpu::{parallel, KernelSet};
use tensor::{ops, Tensor};

use crate::config::{MoeConfig, MoeGating};
use crate::kv_store::{KvStore, SeqBatch};
use crate::weights::{optional, require, require_matrix, WeightSource};
use crate::{Error, Logits, ModelConfig, Result};

/// Where each token of a batch sits: its position in its sequence, its KV slot, and which
/// sequence it belongs to; plus the rows that need logits.
pub(crate) struct BatchLayout {
    /// Token ids of all sequences, concatenated.
    pub(crate) tokens: Vec<u32>,
    /// Position of each token in its sequence.
    pub(crate) positions: Vec<usize>,
    /// KV row of each token.
    pub(crate) slots: Vec<usize>,
    /// Index into the batch of each token's sequence.
    pub(crate) seq_of: Vec<usize>,
    /// Rows (token indices) whose logits are returned, in order.
    pub(crate) logit_rows: Vec<usize>,
}

impl BatchLayout {
    /// Checks ids, positions and block tables, and lays the batch out.
    pub(crate) fn new(config: &ModelConfig, batch: &[SeqBatch<'_>], kv: &KvStore) -> Result<Self> {
        let total: usize = batch.iter().map(|s| s.tokens.len()).sum();
        let mut layout = BatchLayout {
            tokens: Vec::with_capacity(total),
            positions: Vec::with_capacity(total),
            slots: Vec::with_capacity(total),
            seq_of: Vec::with_capacity(total),
            logit_rows: Vec::new(),
        };
        for (si, seq) in batch.iter().enumerate() {
            let end = seq.start + seq.tokens.len();
            let capacity = seq.block_table.len() * kv.block_size();
            if end > capacity {
                return Err(Error::ContextFull {
                    used: seq.start,
                    requested: seq.tokens.len(),
                    capacity,
                });
            }
            if let Some(&b) = seq
                .block_table
                .iter()
                .find(|&&b| b as usize >= kv.n_blocks())
            {
                return Err(Error::BadBlock {
                    block: b,
                    n_blocks: kv.n_blocks(),
                });
            }
            for (i, &id) in seq.tokens.iter().enumerate() {
                if id as usize >= config.vocab_size {
                    return Err(Error::TokenOutOfRange {
                        id,
                        vocab_size: config.vocab_size,
                    });
                }
                let pos = seq.start + i;
                layout.tokens.push(id);
                layout.positions.push(pos);
                layout.slots.push(kv.slot(seq.block_table, pos));
                layout.seq_of.push(si);
            }
            let first = layout.tokens.len() - seq.tokens.len();
            match seq.logits {
                Logits::All => layout.logit_rows.extend(first..layout.tokens.len()),
                Logits::Last if !seq.tokens.is_empty() => {
                    layout.logit_rows.push(layout.tokens.len() - 1)
                }
                Logits::Last => {}
            }
        }
        Ok(layout)
    }

    /// Number of tokens in the batch.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

/// Matrix × activations with the model's kernels; shapes were checked at load time.
pub(crate) fn matmul(
    kernels: &KernelSet,
    threads: usize,
    w: &Tensor,
    x: &[f32],
    n: usize,
    out: &mut [f32],
) {
    ops::matmul(kernels, threads, w, x, n, out)
        .expect("weight shapes were checked against the config at load time");
}

/// Embedding lookup: `[n, hidden_size]` rows of `table` for `tokens`.
pub(crate) fn embed(table: &Tensor, tokens: &[u32]) -> Vec<f32> {
    let h = table.cols();
    let mut x = vec![0.0f32; tokens.len() * h];
    for (row, &id) in x.chunks_exact_mut(h).zip(tokens) {
        table.dequantize_row(id as usize, row);
    }
    x
}

/// Attention geometry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttentionShape {
    pub(crate) n_heads: usize,
    pub(crate) n_kv_heads: usize,
    pub(crate) head_dim: usize,
    /// Multiplies q·k (usually 1/sqrt(head_dim)).
    pub(crate) scale: f32,
}

/// Attention of query heads `heads` of one query token (`q`: `[n_heads · head_dim]`) over the
/// keys and values at positions `keys` of a sequence with block table `table`, into `out`
/// (`[heads.len() · head_dim]`). Grouped-query: query head h reads KV head h / (n_heads /
/// n_kv_heads).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attend(
    shape: AttentionShape,
    q: &[f32],
    kv: &KvStore,
    layer: usize,
    table: &[u32],
    keys: Range<usize>,
    heads: Range<usize>,
    scratch: &mut AttentionScratch,
    out: &mut [f32],
) {
    let AttentionShape {
        n_heads,
        n_kv_heads,
        head_dim: hd,
        scale,
    } = shape;
    let kv_dim = n_kv_heads * hd;
    let group = n_heads / n_kv_heads;
    let (k_all, v_all) = kv.layer(layer);
    let AttentionScratch { scores, slots } = scratch;
    // Offsets of the keys' (and values') rows in the layer's cache.
    slots.clear();
    slots.extend(keys.map(|p| kv.slot(table, p) * kv_dim));
    let n = slots.len();
    // Runs of query heads that share a key-value head are computed together, so each cached
    // key and value row is loaded once per run.
    let mut head = heads.start;
    while head < heads.end {
        let kv_head = head / group;
        let run_end = ((kv_head + 1) * group).min(heads.end);
        let m = run_end - head;
        scores.resize(m * n, 0.0);
        let kv_off = kv_head * hd;
        let at = (head - heads.start) * hd;
        let qs = &q[head * hd..run_end * hd];
        ops::dot_rows(qs, hd, k_all.skip(kv_off), slots, scores);
        for row in scores.chunks_exact_mut(n.max(1)) {
            row.iter_mut().for_each(|s| *s *= scale);
            ops::softmax(row);
        }
        let oh = &mut out[at..at + m * hd];
        ops::weighted_rows(scores, v_all.skip(kv_off), slots, oh, hd);
        head = run_end;
    }
}

thread_local! {
    /// Each thread's `attend` buffers, kept across calls so the decode loop does not allocate.
    static ATTENTION_SCRATCH: std::cell::RefCell<AttentionScratch> =
        std::cell::RefCell::new(AttentionScratch::default());
}

/// Per-query buffers of `attend`.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    scores: Vec<f32>,
    /// Cache offsets (slot · kv_dim) of the attended positions.
    slots: Vec<usize>,
}

/// The output head: final RMSNorm then `[vocab_size, hidden_size]` projection, for `rows` of `x`.
pub(crate) fn head(
    kernels: &KernelSet,
    threads: usize,
    config: &ModelConfig,
    x: &[f32],
    rows: &[usize],
    norm: &[f32],
    output: &Tensor,
) -> Vec<f32> {
    let h = config.hidden_size;
    let mut picked = Vec::with_capacity(rows.len() * h);
    for &r in rows {
        picked.extend_from_slice(&x[r * h..(r + 1) * h]);
    }
    let mut normed = vec![0.0f32; picked.len()];
    ops::rms_norm(&picked, norm, config.rms_norm_eps, &mut normed);
    let mut out = vec![0.0f32; rows.len() * config.vocab_size];
    matmul(kernels, threads, output, &normed, rows.len(), &mut out);
    out
}

/// RMSNorm of each `head_dim`-wide head of `x` in place, with a learned `[head_dim]` weight or
/// none (Qwen3's q/k norm; Llama 4's weightless QK-norm).
pub(crate) fn rms_norm_heads(x: &mut [f32], head_dim: usize, weight: Option<&[f32]>, eps: f32) {
    for head in x.chunks_exact_mut(head_dim) {
        let mean_sq = head.iter().map(|v| v * v).sum::<f32>() / head_dim as f32;
        let scale = 1.0 / (mean_sq + eps).sqrt();
        match weight {
            Some(w) => head
                .iter_mut()
                .zip(w)
                .for_each(|(v, &g)| *v = *v * scale * g),
            None => head.iter_mut().for_each(|v| *v *= scale),
        }
    }
}

/// A SwiGLU feed-forward: down · (silu(gate · x) ⊙ (up · x)).
pub(crate) struct SwiGlu {
    gate: Tensor, // [ff, hidden_size]
    up: Tensor,   // [ff, hidden_size]
    down: Tensor, // [hidden_size, ff]
}

impl SwiGlu {
    /// Loads `blk.{layer}.ffn_{gate,up,down}{suffix}.weight` of width `ff`.
    pub(crate) fn load(
        weights: &dyn WeightSource,
        layer: usize,
        suffix: &str,
        hidden: usize,
        ff: usize,
    ) -> Result<Self> {
        let name = |t: &str| format!("blk.{layer}.ffn_{t}{suffix}.weight");
        Ok(Self {
            gate: require_matrix(weights, &name("gate"), &[ff, hidden])?,
            up: require_matrix(weights, &name("up"), &[ff, hidden])?,
            down: require_matrix(weights, &name("down"), &[hidden, ff])?,
        })
    }

    /// One expert `e` of stacked `[n_experts, ...]` tensors.
    fn from_stack(gate: &Tensor, up: &Tensor, down: &Tensor, e: usize) -> Self {
        Self {
            gate: gate.outer_slice(e),
            up: up.outer_slice(e),
            down: down.outer_slice(e),
        }
    }

    /// `out = down · (silu(gate · x) ⊙ (up · x))` for `n` rows of `x`.
    pub(crate) fn forward(
        &self,
        kernels: &KernelSet,
        threads: usize,
        x: &[f32],
        n: usize,
        out: &mut [f32],
    ) {
        let len = n * self.gate.rows();
        FFN_SCRATCH.with_borrow_mut(|gated| {
            // Every value is overwritten below, so the buffer only grows.
            if gated.len() < len {
                gated.resize(len, 0.0);
            }
            let gated = &mut gated[..len];
            ops::swiglu(kernels, threads, &self.gate, &self.up, x, n, gated)
                .expect("weight shapes were checked against the config at load time");
            matmul(kernels, threads, &self.down, gated, n, out);
        });
    }
}

thread_local! {
    /// The gated projection of `SwiGlu::forward`, reused across calls (a prompt's is tens of
    /// MB, and fresh allocations of that size cost page faults every layer).
    static FFN_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A mixture-of-experts feed-forward: a router picks `n_used` experts per token; each expert
/// runs only on the tokens routed to it (grouped, so prefill runs one matrix product per
/// expert); an optional shared expert runs on every token.
pub(crate) struct Moe {
    router: Tensor, // [n_experts, hidden_size]
    experts: Vec<SwiGlu>,
    shared: Option<SwiGlu>,
    gating: MoeGating,
    n_used: usize,
}

impl Moe {
    /// Loads layer `layer`'s router, stacked experts and shared expert.
    pub(crate) fn load(
        weights: &dyn WeightSource,
        layer: usize,
        config: &ModelConfig,
        moe: &MoeConfig,
    ) -> Result<Self> {
        let (h, ff, e) = (
            config.hidden_size,
            moe.expert_intermediate_size,
            moe.n_experts,
        );
        let name = |t: &str| format!("blk.{layer}.ffn_{t}.weight");
        let gate = require_matrix(weights, &name("gate_exps"), &[e, ff, h])?;
        let up = require_matrix(weights, &name("up_exps"), &[e, ff, h])?;
        let down = require_matrix(weights, &name("down_exps"), &[e, h, ff])?;
        Ok(Self {
            router: require(weights, &name("gate_inp"), &[e, h])?,
            experts: (0..e)
                .map(|i| SwiGlu::from_stack(&gate, &up, &down, i))
                .collect(),
            shared: if moe.shared_expert {
                Some(SwiGlu::load(weights, layer, "_shexp", h, ff)?)
            } else {
                None
            },
            gating: moe.gating,
            n_used: moe.n_experts_used,
        })
    }

    /// The MoE output for `n` rows of `x` (`[n, hidden_size]`) into `out`.
    pub(crate) fn forward(
        &self,
        kernels: &KernelSet,
        threads: usize,
        x: &[f32],
        n: usize,
        out: &mut [f32],
    ) {
        let h = self.router.cols();
        let n_exp = self.experts.len();
        let mut logits = vec![0.0f32; n * n_exp];
        matmul(kernels, threads, &self.router, x, n, &mut logits);
        // Per expert: the tokens routed to it and their weights.
        let mut routed: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n_exp];
        for t in 0..n {
            let row = &logits[t * n_exp..(t + 1) * n_exp];
            for (e, w) in self.route(row) {
                routed[e].push((t, w));
            }
        }
        match &self.shared {
            Some(shared) => shared.forward(kernels, threads, x, n, out),
            None => out.fill(0.0),
        }
        let input_weighted = self.gating == MoeGating::TopKSigmoidInput;
        for (expert, tokens) in self.experts.iter().zip(&routed) {
            if tokens.is_empty() {
                continue;
            }
            let m = tokens.len();
            let mut xs = Vec::with_capacity(m * h);
            for &(t, w) in tokens {
                let row = &x[t * h..(t + 1) * h];
                if input_weighted {
                    xs.extend(row.iter().map(|v| v * w));
                } else {
                    xs.extend_from_slice(row);
                }
            }
            let mut ys = vec![0.0f32; m * h];
            expert.forward(kernels, threads, &xs, m, &mut ys);
            for (i, &(t, w)) in tokens.iter().enumerate() {
                let scale = if input_weighted { 1.0 } else { w };
                let y = &ys[i * h..(i + 1) * h];
                out[t * h..(t + 1) * h]
                    .iter_mut()
                    .zip(y)
                    .for_each(|(o, &v)| *o += scale * v);
            }
        }
    }

    /// The experts one token uses and their weights, from its router logits.
    fn route(&self, logits: &[f32]) -> Vec<(usize, f32)> {
        // Top-k by logit, ties to the lower expert index (softmax is monotonic, so the same set).
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        order.truncate(self.n_used);
        match self.gating {
            MoeGating::TopKSigmoidInput => order
                .into_iter()
                .map(|e| (e, 1.0 / (1.0 + (-logits[e]).exp())))
                .collect(),
            MoeGating::SoftmaxTopK { renormalize } => {
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
                let mut picked: Vec<(usize, f32)> = order
                    .into_iter()
                    .map(|e| (e, (logits[e] - max).exp() / total))
                    .collect();
                if renormalize {
                    let sum: f32 = picked.iter().map(|p| p.1).sum();
                    picked.iter_mut().for_each(|p| p.1 /= sum);
                }
                picked
            }
        }
    }
}

/// A layer's feed-forward block.
pub(crate) enum FeedForward {
    /// One SwiGLU MLP.
    Dense(SwiGlu),
    /// Routed experts.
    Moe(Moe),
}

impl FeedForward {
    /// Loads layer `layer`'s block: MoE when the config says so, else dense of `dense_ff`.
    pub(crate) fn load(
        weights: &dyn WeightSource,
        layer: usize,
        config: &ModelConfig,
    ) -> Result<Self> {
        match &config.moe {
            Some(moe) if moe.moe_layers[layer] => {
                Ok(FeedForward::Moe(Moe::load(weights, layer, config, moe)?))
            }
            _ => Ok(FeedForward::Dense(SwiGlu::load(
                weights,
                layer,
                "",
                config.hidden_size,
                config.intermediate_size,
            )?)),
        }
    }

    /// The block's output for `n` rows of `x` into `out`.
    pub(crate) fn forward(
        &self,
        kernels: &KernelSet,
        threads: usize,
        x: &[f32],
        n: usize,
        out: &mut [f32],
    ) {
        match self {
            FeedForward::Dense(mlp) => mlp.forward(kernels, threads, x, n, out),
            FeedForward::Moe(moe) => moe.forward(kernels, threads, x, n, out),
        }
    }
}

/// RoPE inverse frequencies for `config`, including GGUF `rope_freqs.weight` divisors.
pub(crate) fn rope_inv_freq(config: &ModelConfig, weights: &dyn WeightSource) -> Result<Vec<f32>> {
    let divisors =
        optional(weights, "rope_freqs.weight", &[config.rope_dim / 2])?.map(|t| t.to_f32_vec());
    Ok(config.rope_inv_freq(divisors.as_deref()))
}

/// The attention weights of one layer; shapes `[out, in]`.
pub(crate) struct AttentionWeights {
    pub(crate) norm: Vec<f32>, // [hidden_size]
    pub(crate) q: Tensor,      // [n_heads · head_dim, hidden_size]
    pub(crate) k: Tensor,      // [n_kv_heads · head_dim, hidden_size]
    pub(crate) v: Tensor,      // [n_kv_heads · head_dim, hidden_size]
    pub(crate) out: Tensor,    // [hidden_size, n_heads · head_dim]
}

impl AttentionWeights {
    /// Loads `blk.{layer}.attn_{norm,q,k,v,output}.weight`.
    pub(crate) fn load(
        weights: &dyn WeightSource,
        layer: usize,
        config: &ModelConfig,
    ) -> Result<Self> {
        let h = config.hidden_size;
        let (q_dim, kv_dim) = (config.n_heads * config.head_dim, config.kv_dim());
        let name = |t: &str| format!("blk.{layer}.{t}.weight");
        Ok(Self {
            norm: require(weights, &name("attn_norm"), &[h])?.to_f32_vec(),
            q: require_matrix(weights, &name("attn_q"), &[q_dim, h])?,
            k: require_matrix(weights, &name("attn_k"), &[kv_dim, h])?,
            v: require_matrix(weights, &name("attn_v"), &[kv_dim, h])?,
            out: require_matrix(weights, &name("attn_output"), &[h, q_dim])?,
        })
    }

    /// Q, K and V of `n` normalised rows.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn project(
        &self,
        kernels: &KernelSet,
        threads: usize,
        normed: &[f32],
        n: usize,
        q: &mut [f32],
        k: &mut [f32],
        v: &mut [f32],
    ) {
        matmul(kernels, threads, &self.q, normed, n, q);
        matmul(kernels, threads, &self.k, normed, n, k);
        matmul(kernels, threads, &self.v, normed, n, v);
    }
}

/// Scratch buffers of one forward pass over `n` tokens.
pub(crate) struct Activations {
    /// `[n, hidden_size]` normalised input of a block.
    pub(crate) normed: Vec<f32>,
    /// `[n, n_heads · head_dim]` queries.
    pub(crate) q: Vec<f32>,
    /// `[n, kv_dim]` keys.
    pub(crate) k: Vec<f32>,
    /// `[n, kv_dim]` values.
    pub(crate) v: Vec<f32>,
    /// `[n, n_heads · head_dim]` attention output before the projection.
    pub(crate) attn: Vec<f32>,
    /// `[n, hidden_size]` output of a block, added to the residual stream.
    pub(crate) proj: Vec<f32>,
}

impl Activations {
    pub(crate) fn new(config: &ModelConfig, n: usize) -> Self {
        let q_dim = config.n_heads * config.head_dim;
        Self {
            normed: vec![0.0; n * config.hidden_size],
            q: vec![0.0; n * q_dim],
            k: vec![0.0; n * config.kv_dim()],
            v: vec![0.0; n * config.kv_dim()],
            attn: vec![0.0; n * q_dim],
            proj: vec![0.0; n * config.hidden_size],
        }
    }
}

/// Every token of the batch attends over its sequence's key positions `first_key(pos)..=pos`;
/// then the output projection, added to the residual stream `x`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention_residual(
    kernels: &KernelSet,
    threads: usize,
    shape: AttentionShape,
    kv: &KvStore,
    layer: usize,
    batch: &[SeqBatch<'_>],
    b: &BatchLayout,
    first_key: impl Fn(usize) -> usize + Sync,
    out_proj: &Tensor,
    a: &mut Activations,
    x: &mut [f32],
) {
    let (n_heads, hd) = (shape.n_heads, shape.head_dim);
    let q_dim = n_heads * hd;
    let keys = |t: usize| first_key(b.positions[t])..b.positions[t] + 1;
    let work: usize = (0..b.len()).map(|t| keys(t).len() * q_dim * 2).sum();
    // Heads of every token are spread over the threads, so both a long prompt and a single
    // decoded token use them all; each thread keeps its own scratch across calls.
    let q = &a.q;
    let attend_items = |items: Range<usize>, out: &mut [f32], scratch: &mut AttentionScratch| {
        let mut at = 0;
        let mut i = items.start;
        while i < items.end {
            let (t, head) = (i / n_heads, i % n_heads);
            let last = (items.end - t * n_heads).min(n_heads);
            let table = batch[b.seq_of[t]].block_table;
            let len = (last - head) * hd;
            attend(
                shape,
                &q[t * q_dim..][..q_dim],
                kv,
                layer,
                table,
                keys(t),
                head..last,
                scratch,
                &mut out[at..at + len],
            );
            at += len;
            i = t * n_heads + last;
        }
    };
    let one = |items: Range<usize>, out: &mut [f32]| {
        ATTENTION_SCRATCH.with_borrow_mut(|scratch| attend_items(items, out, scratch))
    };
    // About 10 µs of single-threaded work: below that, waking a thread costs more than it saves.
    if threads <= 1 || work < 1 << 16 {
        one(0..b.len() * n_heads, &mut a.attn);
    } else {
        // A work item is one key-value head's run of query heads, so that no run is split
        // between threads (each cached row is loaded once per run).
        let group = n_heads / shape.n_kv_heads;
        parallel::for_each_range_mut(&mut a.attn, group * hd, threads, |items, out| {
            one(items.start * group..items.end * group, out)
        });
    }
    matmul(kernels, threads, out_proj, &a.attn, b.len(), &mut a.proj);
    ops::add_assign(x, &a.proj);
}

/// `x += ffn(rmsnorm(x))` for the `n` rows of the residual stream.
#[allow(clippy::too_many_arguments)]
pub(crate) fn feed_forward_residual(
    kernels: &KernelSet,
    threads: usize,
    eps: f32,
    norm: &[f32],
    ffn: &FeedForward,
    n: usize,
    a: &mut Activations,
    x: &mut [f32],
) {
    ops::rms_norm(x, norm, eps, &mut a.normed);
    ffn.forward(kernels, threads, &a.normed, n, &mut a.proj);
    ops::add_assign(x, &a.proj);
}
