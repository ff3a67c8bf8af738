//! Blocks shared by the architecture files: batch validation and layout, paged causal
//! attention, the SwiGLU feed-forward, and the output head. Each takes plain slices and
//! hyperparameters, so a family file composes them and reads like its paper.

use std::ops::Range;

use tensor::cpu::KernelSet;
use tensor::{ops, Tensor};

use crate::kv_store::{KvStore, SeqBatch};
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

/// Attention of one query token (`q`: `[n_heads · head_dim]`) over the keys and values at
/// positions `keys` of a sequence with block table `table`, into `out` (`[n_heads · head_dim]`).
/// Grouped-query: query head h reads KV head h / (n_heads / n_kv_heads).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attend(
    shape: AttentionShape,
    q: &[f32],
    kv: &KvStore,
    layer: usize,
    table: &[u32],
    keys: Range<usize>,
    scores: &mut Vec<f32>,
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
    let slots: Vec<usize> = keys.clone().map(|p| kv.slot(table, p)).collect();
    scores.resize(slots.len(), 0.0);
    for head in 0..n_heads {
        let kv_off = (head / group) * hd;
        let qh = &q[head * hd..(head + 1) * hd];
        for (s, &slot) in scores.iter_mut().zip(&slots) {
            let kj = &k_all[slot * kv_dim + kv_off..][..hd];
            *s = qh.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
        }
        ops::softmax(scores);
        let oh = &mut out[head * hd..(head + 1) * hd];
        oh.fill(0.0);
        for (&p, &slot) in scores.iter().zip(&slots) {
            let vj = &v_all[slot * kv_dim + kv_off..][..hd];
            oh.iter_mut().zip(vj).for_each(|(o, &x)| *o += p * x);
        }
    }
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
