//! `BlockManager`: the bookkeeping of the paged KV cache, without any tensors. It hands out
//! fixed-size blocks of `KvStore` to sequences (per-sequence block tables over a free list with
//! reference counts), and keeps a prefix cache: every full block a sequence has computed is
//! registered under a hash chained over its parent block's hash and its own token ids, so a
//! later sequence whose prompt starts with the same tokens (a shared system prompt, the same
//! few-shot context) reuses those blocks instead of recomputing them, as vLLM's automatic prefix
//! caching does. A block nobody references keeps its cached contents and sits in an LRU list; it
//! is reused for new data only when the free list is empty (least recently freed first).
//! Shared blocks are never written: a sequence that must write into a block whose reference
//! count is above one gets a private copy first (copy-on-write, `prepare_write`).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

/// Identifies a sequence to the block manager.
pub type SeqId = u64;

/// What a block currently holds and who uses it.
#[derive(Debug, Clone, Default)]
struct BlockMeta {
    /// Sequences whose tables name this block.
    ref_count: u32,
    /// Set while the block is registered in the prefix cache.
    cached: Option<CacheKey>,
    /// Position in the LRU list while `ref_count == 0` and cached.
    lru_tick: Option<u64>,
}

/// The identity of a full block's contents: its parent's hash and its own token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheKey {
    hash: u64,
    parent: u64,
    tokens: Vec<u32>,
}

/// One sequence's blocks.
#[derive(Debug, Clone, Default)]
struct SeqBlocks {
    table: Vec<u32>,
    /// Leading blocks of `table` already registered (or found) in the prefix cache.
    registered: usize,
    /// Chain hash of the last registered block (0 before the first).
    last_hash: u64,
}

/// Counts for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCounts {
    /// Blocks in the store.
    pub total: usize,
    /// Blocks some sequence references.
    pub used: usize,
    /// Blocks nobody references (empty, or holding reusable cached contents).
    pub free: usize,
    /// Of the free blocks, those still holding prefix-cache contents.
    pub cached_free: usize,
}

/// Paged KV bookkeeping: free list, reference counts, block tables, prefix cache.
#[derive(Debug, Clone)]
pub struct BlockManager {
    block_size: usize,
    blocks: Vec<BlockMeta>,
    /// Blocks with no contents worth keeping, popped from the end.
    free: Vec<u32>,
    /// Unreferenced cached blocks by the tick they were freed at (oldest first).
    lru: BTreeMap<u64, u32>,
    tick: u64,
    /// Prefix cache: chain hash → block.
    by_hash: HashMap<u64, u32>,
    seqs: HashMap<SeqId, SeqBlocks>,
}

/// The hash of a full block of `tokens` following the block whose hash is `parent`.
fn chain_hash(parent: u64, tokens: &[u32]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parent.hash(&mut h);
    tokens.hash(&mut h);
    // 0 marks "no parent"; keep real hashes away from it.
    h.finish().max(1)
}

impl BlockManager {
    /// A manager of `n_blocks` blocks of `block_size` positions, all free.
    pub fn new(n_blocks: usize, block_size: usize) -> Self {
        let n = u32::try_from(n_blocks).unwrap_or(u32::MAX);
        Self {
            block_size: block_size.max(1),
            blocks: vec![BlockMeta::default(); n as usize],
            // Popped from the end, so block 0 is handed out first.
            free: (0..n).rev().collect(),
            lru: BTreeMap::new(),
            tick: 0,
            by_hash: HashMap::new(),
            seqs: HashMap::new(),
        }
    }

    /// Positions per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks that can be handed out now (empty or evictable).
    pub fn available(&self) -> usize {
        self.free.len() + self.lru.len()
    }

    /// Used, free and cached counts.
    pub fn counts(&self) -> BlockCounts {
        let free = self.available();
        BlockCounts {
            total: self.blocks.len(),
            used: self.blocks.len() - free,
            free,
            cached_free: self.lru.len(),
        }
    }

    /// The block table of `seq` (empty if unknown).
    pub fn table(&self, seq: SeqId) -> &[u32] {
        self.seqs.get(&seq).map_or(&[], |s| &s.table)
    }

    /// Whether `seq` has a block table.
    pub fn contains(&self, seq: SeqId) -> bool {
        self.seqs.contains_key(&seq)
    }

    /// Blocks needed to hold `positions` positions.
    pub fn blocks_for(&self, positions: usize) -> usize {
        positions.div_ceil(self.block_size)
    }

    /// Starts a block table for `seq` whose tokens begin with `tokens`, reusing cached full
    /// blocks of the longest matching prefix. At most `max_cached` positions are taken from the
    /// cache (whole blocks only). Returns the number of positions found.
    pub fn admit(&mut self, seq: SeqId, tokens: &[u32], max_cached: usize) -> usize {
        let mut entry = SeqBlocks::default();
        let bs = self.block_size;
        let limit = max_cached.min(tokens.len()) / bs;
        for chunk in tokens.chunks_exact(bs).take(limit) {
            let hash = chain_hash(entry.last_hash, chunk);
            let Some(&block) = self.by_hash.get(&hash) else {
                break;
            };
            let meta = &self.blocks[block as usize];
            let same = meta
                .cached
                .as_ref()
                .is_some_and(|k| k.parent == entry.last_hash && k.tokens == chunk);
            if !same {
                break; // a hash collision: treat as a miss
            }
            self.take_ref(block);
            entry.table.push(block);
            entry.registered += 1;
            entry.last_hash = hash;
        }
        let found = entry.table.len() * bs;
        self.release(seq);
        self.seqs.insert(seq, entry);
        found
    }

    /// Adds a reference to `block`, taking it off the LRU list if it was there.
    fn take_ref(&mut self, block: u32) {
        let meta = &mut self.blocks[block as usize];
        if let Some(t) = meta.lru_tick.take() {
            self.lru.remove(&t);
        }
        meta.ref_count += 1;
    }

    /// Pops a block for new contents: the free list first, then the least recently freed
    /// cached block (which leaves the prefix cache).
    fn pop_block(&mut self) -> Option<u32> {
        if let Some(b) = self.free.pop() {
            self.blocks[b as usize].ref_count = 1;
            return Some(b);
        }
        let (_, b) = self.lru.pop_first()?;
        let meta = &mut self.blocks[b as usize];
        meta.lru_tick = None;
        if let Some(key) = meta.cached.take() {
            if self.by_hash.get(&key.hash) == Some(&b) {
                self.by_hash.remove(&key.hash);
            }
        }
        meta.ref_count = 1;
        Some(b)
    }

    /// Grows the table of `seq` to cover `positions` positions; all or nothing. Returns false
    /// (changing nothing) when not enough blocks are available or `seq` is unknown.
    pub fn ensure_capacity(&mut self, seq: SeqId, positions: usize) -> bool {
        let need = self.blocks_for(positions);
        let Some(have) = self.seqs.get(&seq).map(|s| s.table.len()) else {
            return false;
        };
        let extra = need.saturating_sub(have);
        if extra > self.available() {
            return false;
        }
        let mut new = Vec::with_capacity(extra);
        for _ in 0..extra {
            match self.pop_block() {
                Some(b) => new.push(b),
                None => break, // unreachable: `available` was checked
            }
        }
        if let Some(s) = self.seqs.get_mut(&seq) {
            s.table.extend(new);
        }
        true
    }

    /// Registers the full blocks of `seq` among its first `computed` positions (whose token ids
    /// are `tokens[..computed]`) in the prefix cache.
    pub fn commit(&mut self, seq: SeqId, tokens: &[u32], computed: usize) {
        let bs = self.block_size;
        let Some(s) = self.seqs.get_mut(&seq) else {
            return;
        };
        let full = (computed.min(tokens.len()) / bs).min(s.table.len());
        while s.registered < full {
            let i = s.registered;
            let chunk = &tokens[i * bs..(i + 1) * bs];
            let hash = chain_hash(s.last_hash, chunk);
            let block = s.table[i];
            let meta = &mut self.blocks[block as usize];
            if meta.cached.is_none() && !self.by_hash.contains_key(&hash) {
                meta.cached = Some(CacheKey {
                    hash,
                    parent: s.last_hash,
                    tokens: chunk.to_vec(),
                });
                self.by_hash.insert(hash, block);
            }
            s.last_hash = hash;
            s.registered += 1;
        }
    }

    /// Makes the block holding position `pos` of `seq` private before it is written: if it is
    /// shared, a fresh block replaces it in the table and `(src, dst)` is returned for the KV
    /// store to copy. `None` when nothing needs copying (or no block is available: the caller
    /// checks `available` first).
    pub fn prepare_write(&mut self, seq: SeqId, pos: usize) -> Option<(u32, u32)> {
        let i = pos / self.block_size;
        let src = *self.seqs.get(&seq)?.table.get(i)?;
        if self.blocks[src as usize].ref_count <= 1 {
            return None;
        }
        let dst = self.pop_block()?;
        self.blocks[src as usize].ref_count -= 1;
        let s = self.seqs.get_mut(&seq)?;
        s.table[i] = dst;
        // The copy is a new identity: it is registered again once full.
        s.registered = s.registered.min(i);
        Some((src, dst))
    }

    /// Gives `child` a table that shares every block of `parent` (for parallel samples of one
    /// prompt); writes go through `prepare_write`.
    pub fn fork(&mut self, parent: SeqId, child: SeqId) {
        let Some(p) = self.seqs.get(&parent).cloned() else {
            return;
        };
        for &b in &p.table {
            self.take_ref(b);
        }
        self.release(child);
        self.seqs.insert(child, p);
    }

    /// Drops every block reference of `seq`. Cached blocks stay findable until reused; the
    /// tail of the sequence is queued for reuse before its head, since heads are shared more.
    pub fn release(&mut self, seq: SeqId) {
        let Some(s) = self.seqs.remove(&seq) else {
            return;
        };
        for &b in s.table.iter().rev() {
            let meta = &mut self.blocks[b as usize];
            meta.ref_count = meta.ref_count.saturating_sub(1);
            if meta.ref_count > 0 {
                continue;
            }
            if meta.cached.is_some() {
                self.tick += 1;
                meta.lru_tick = Some(self.tick);
                self.lru.insert(self.tick, b);
            } else {
                self.free.push(b);
            }
        }
    }

    /// Sequences holding tables.
    pub fn n_seqs(&self) -> usize {
        self.seqs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<u32> {
        (100..100 + n).collect()
    }

    #[test]
    fn allocate_and_release_returns_every_block() {
        let mut m = BlockManager::new(8, 4);
        assert_eq!(m.admit(1, &ids(10), 0), 0);
        assert!(m.ensure_capacity(1, 10));
        assert_eq!(m.table(1), &[0, 1, 2]);
        assert_eq!(m.counts().used, 3);
        assert!(!m.ensure_capacity(1, 40), "all or nothing");
        assert_eq!(m.counts().used, 3);
        m.release(1);
        assert_eq!(m.counts().used, 0);
        assert_eq!(m.counts().free, 8);
        assert_eq!(m.n_seqs(), 0);
    }

    #[test]
    fn prefix_cache_reuses_full_blocks_only() {
        let mut m = BlockManager::new(8, 4);
        let a = ids(10);
        m.admit(1, &a, usize::MAX);
        assert!(m.ensure_capacity(1, 10));
        m.commit(1, &a, 10); // blocks 0 and 1 are full, block 2 is not
        let mut b = a[..9].to_vec();
        b.push(7);
        assert_eq!(m.admit(2, &b, usize::MAX), 8);
        assert_eq!(&m.table(2)[..2], &m.table(1)[..2]);
        // Limited by max_cached (the last prompt token must be computed).
        assert_eq!(m.admit(3, &a[..8], 7), 4);
        // A different first block shares nothing, even with equal later blocks.
        let mut c = a.clone();
        c[0] = 1;
        assert_eq!(m.admit(4, &c, usize::MAX), 0);
    }

    #[test]
    fn cached_blocks_survive_release_and_are_evicted_lru() {
        let mut m = BlockManager::new(4, 2);
        let a = ids(4);
        m.admit(1, &a, 0);
        assert!(m.ensure_capacity(1, 4));
        m.commit(1, &a, 4);
        m.release(1);
        assert_eq!(
            m.counts(),
            BlockCounts {
                total: 4,
                used: 0,
                free: 4,
                cached_free: 2
            }
        );
        assert_eq!(m.admit(2, &a, 4), 4, "found after release");
        m.release(2);
        // Filling the store evicts the cached blocks, tail first.
        m.admit(3, &[9; 8], 0);
        assert!(m.ensure_capacity(3, 6));
        assert_eq!(m.counts().cached_free, 1);
        assert_eq!(m.admit(4, &a, 4), 2, "head block still cached");
        m.release(4);
        assert!(m.ensure_capacity(3, 8));
        assert_eq!(m.admit(5, &a, 4), 0);
    }

    #[test]
    fn copy_on_write_of_shared_blocks() {
        let mut m = BlockManager::new(6, 4);
        m.admit(1, &ids(6), 0);
        assert!(m.ensure_capacity(1, 6));
        m.fork(1, 2);
        assert_eq!(m.table(1), m.table(2));
        assert_eq!(m.counts().used, 2);
        let (src, dst) = m.prepare_write(2, 5).expect("shared block is copied");
        assert_eq!(src, m.table(1)[1]);
        assert_eq!(m.table(2)[1], dst);
        assert_ne!(m.table(1)[1], dst);
        assert_eq!(m.prepare_write(2, 5), None, "now private");
        assert_eq!(m.prepare_write(1, 5), None, "the original is private again");
        m.release(1);
        m.release(2);
        assert_eq!(m.counts().used, 0);
    }
}
