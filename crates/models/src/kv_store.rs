//! KV memory. `KvStore` is the physical store: for every layer, `n_blocks` fixed-size blocks of
//! `block_size` positions of keys and values. A sequence owns a list of blocks (its block
//! table); position p lives in block `table[p / block_size]` at offset `p % block_size`.
//! The engine decides which blocks a sequence gets (and may share a prefix's blocks between
//! sequences); the store only knows block ids. `SequenceKv` is the one-sequence convenience:
//! a private store with an identity block table, for the CLI and tests.

use tensor::cpu::CacheRows;
use tensor::ops;

use crate::{Logits, Model, Result};

/// The element type keys and values are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KvType {
    /// f32: exactly what the forward pass computed (the reference comparisons use it).
    #[default]
    F32,
    /// f16 (round to nearest even): half the memory and the bandwidth, llama.cpp's default.
    F16,
}

impl KvType {
    /// Bytes per stored value.
    pub const fn bytes(self) -> usize {
        match self {
            KvType::F32 => 4,
            KvType::F16 => 2,
        }
    }

    /// The name used on the command line: `f32` or `f16`.
    pub const fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
        }
    }
}

/// One layer's keys or values, `[n_blocks · block_size, kv_dim]`.
#[derive(Debug, Clone)]
enum CacheBuffer {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

impl CacheBuffer {
    fn new(kv_type: KvType, len: usize) -> Self {
        match kv_type {
            KvType::F32 => CacheBuffer::F32(vec![0.0; len]),
            KvType::F16 => CacheBuffer::F16(vec![0; len]),
        }
    }

    fn rows(&self) -> CacheRows<'_> {
        match self {
            CacheBuffer::F32(v) => CacheRows::F32(v),
            CacheBuffer::F16(v) => CacheRows::F16(v),
        }
    }

    fn store(&mut self, at: usize, x: &[f32]) {
        match self {
            CacheBuffer::F32(v) => v[at..at + x.len()].copy_from_slice(x),
            CacheBuffer::F16(v) => ops::to_f16(x, &mut v[at..at + x.len()]),
        }
    }

    fn copy_within(&mut self, src: std::ops::Range<usize>, dst: usize) {
        match self {
            CacheBuffer::F32(v) => v.copy_within(src, dst),
            CacheBuffer::F16(v) => v.copy_within(src, dst),
        }
    }
}

/// Keys and values of every layer in fixed-size blocks.
#[derive(Debug, Clone)]
pub struct KvStore {
    kv_dim: usize,
    block_size: usize,
    n_blocks: usize,
    kv_type: KvType,
    /// Per layer: `[n_blocks · block_size, kv_dim]` keys.
    keys: Vec<CacheBuffer>,
    /// Per layer: `[n_blocks · block_size, kv_dim]` values.
    values: Vec<CacheBuffer>,
}

impl KvStore {
    /// A zeroed store of `n_blocks` blocks of `block_size` positions for `n_layers` layers,
    /// holding `kv_type` values.
    pub fn new(
        n_layers: usize,
        kv_dim: usize,
        block_size: usize,
        n_blocks: usize,
        kv_type: KvType,
    ) -> Self {
        let len = n_blocks * block_size * kv_dim;
        Self {
            kv_dim,
            block_size,
            n_blocks,
            kv_type,
            keys: (0..n_layers)
                .map(|_| CacheBuffer::new(kv_type, len))
                .collect(),
            values: (0..n_layers)
                .map(|_| CacheBuffer::new(kv_type, len))
                .collect(),
        }
    }

    /// The element type of the stored keys and values.
    pub fn kv_type(&self) -> KvType {
        self.kv_type
    }

    /// Positions per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks in the store.
    pub fn n_blocks(&self) -> usize {
        self.n_blocks
    }

    /// Width of one position's key (and value).
    pub fn kv_dim(&self) -> usize {
        self.kv_dim
    }

    /// Bytes of KV memory one block takes across all layers.
    pub fn bytes_per_block(&self) -> usize {
        2 * self.keys.len() * self.block_size * self.kv_dim * self.kv_type.bytes()
    }

    /// Copies block `src` onto block `dst` in every layer (copy-on-write of a shared block).
    pub fn copy_block(&mut self, src: u32, dst: u32) {
        let n = self.block_size * self.kv_dim;
        let (s, d) = (src as usize * n, dst as usize * n);
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            layer.copy_within(s..s + n, d);
        }
    }

    /// Row index of position `pos` of a sequence with block table `table`.
    #[inline]
    pub(crate) fn slot(&self, table: &[u32], pos: usize) -> usize {
        table[pos / self.block_size] as usize * self.block_size + pos % self.block_size
    }

    /// Stores one position's key and value for `layer`.
    #[inline]
    pub(crate) fn write(&mut self, layer: usize, slot: usize, k: &[f32], v: &[f32]) {
        self.keys[layer].store(slot * self.kv_dim, &k[..self.kv_dim]);
        self.values[layer].store(slot * self.kv_dim, &v[..self.kv_dim]);
    }

    /// All keys and values of `layer`, `[n_blocks · block_size, kv_dim]` each.
    #[inline]
    pub(crate) fn layer(&self, layer: usize) -> (CacheRows<'_>, CacheRows<'_>) {
        (self.keys[layer].rows(), self.values[layer].rows())
    }
}

/// One sequence's slice of a forward batch.
#[derive(Debug, Clone, Copy)]
pub struct SeqBatch<'a> {
    /// New tokens, at positions `start..start + tokens.len()`.
    pub tokens: &'a [u32],
    /// Positions already in the KV store for this sequence.
    pub start: usize,
    /// Blocks holding this sequence's positions; must cover `start + tokens.len()`.
    pub block_table: &'a [u32],
    /// Which of its positions need logits.
    pub logits: Logits,
}

/// Positions per block of a `SequenceKv`.
const SEQUENCE_BLOCK_SIZE: usize = 16;

/// Most tokens `SequenceKv::forward` runs in one pass.
const MICRO_BATCH: usize = 256;

/// A private KV store for a single sequence, with its length.
#[derive(Debug, Clone)]
pub struct SequenceKv {
    store: KvStore,
    table: Vec<u32>,
    len: usize,
}

impl SequenceKv {
    /// Room for `capacity` positions of `model`, in the model's `kv_type()`.
    pub fn new(model: &dyn Model, capacity: usize) -> Self {
        let c = model.config();
        let n_blocks = capacity.div_ceil(SEQUENCE_BLOCK_SIZE).max(1);
        let store = KvStore::new(
            c.n_layers,
            c.kv_dim(),
            SEQUENCE_BLOCK_SIZE,
            n_blocks,
            model.kv_type(),
        );
        Self {
            store,
            table: (0..n_blocks as u32).collect(),
            len: 0,
        }
    }

    /// Positions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum positions.
    pub fn capacity(&self) -> usize {
        self.table.len() * SEQUENCE_BLOCK_SIZE
    }

    /// Forgets positions from `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Runs `tokens` after the stored positions and returns the logits `logits` asks for.
    pub fn forward(
        &mut self,
        model: &dyn Model,
        tokens: &[u32],
        logits: Logits,
    ) -> Result<Vec<f32>> {
        // Long inputs go through in micro-batches, which bounds the activation memory (as
        // llama.cpp's `n_ubatch`); each writes its keys and values before the next attends.
        let mut out = Vec::new();
        let chunks = tokens.chunks(MICRO_BATCH.max(1));
        let n_chunks = chunks.len();
        for (i, chunk) in chunks.enumerate() {
            let batch = [SeqBatch {
                tokens: chunk,
                start: self.len,
                block_table: &self.table,
                logits,
            }];
            let part = model.forward(&batch, &mut self.store)?;
            self.len += chunk.len();
            if logits == Logits::All || i + 1 == n_chunks {
                out.extend_from_slice(&part);
            }
        }
        Ok(out)
    }
}
