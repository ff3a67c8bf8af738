//! Continuous batching: every engine step, the scheduler decides which sequences run and how
//! many of their tokens, within a token budget per step. Running sequences come first, oldest
//! first: a decoding sequence needs one token, a sequence still prefilling gets a chunk of its
//! prompt (chunked prefill), so prompts are processed alongside the decodes of others instead of
//! stalling them. New requests are admitted from the waiting queue while the budget, the
//! sequence limit and the KV blocks allow, starting after whatever prefix the prefix cache
//! already holds. When a running sequence needs a block and none is free, the youngest running
//! sequence is preempted: its blocks are released and it goes back to the front of the queue,
//! to be recomputed later (its generated tokens are kept, so it continues where it stopped).
//! The scheduler holds only token ids and counts, so it is tested with fake sequences.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::collections::VecDeque;

use crate::kv_cache::{BlockManager, SeqId};

/// Limits of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Most sequences running at once.
    pub max_seqs: usize,
    /// Most tokens in one forward pass.
    pub max_batch_tokens: usize,
}

/// What the scheduler knows about a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqState {
    /// Its id.
    pub id: SeqId,
    /// Prompt then generated tokens.
    pub tokens: Vec<u32>,
    /// Leading tokens that are the prompt.
    pub prompt_len: usize,
    /// Leading tokens whose keys and values are in the KV cache.
    pub computed: usize,
    /// Needs logits at every prompt position (prompt log-probabilities): never takes its
    /// prompt from the prefix cache.
    pub all_logits: bool,
    /// Whether it was ever admitted (first admission counts as leaving the queue).
    pub started: bool,
}

impl SeqState {
    /// A new sequence waiting with `prompt`.
    pub fn new(id: SeqId, prompt: Vec<u32>, all_logits: bool) -> Self {
        Self {
            id,
            prompt_len: prompt.len(),
            tokens: prompt,
            computed: 0,
            all_logits,
            started: false,
        }
    }
}

/// One sequence's share of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    /// The sequence.
    pub id: SeqId,
    /// First position to compute.
    pub start: usize,
    /// Positions to compute.
    pub len: usize,
    /// Logits wanted at every position of the chunk (prompt log-probabilities).
    pub all_logits: bool,
    /// The chunk ends at the last known token: its last logits give the next token.
    pub completes: bool,
}

/// The decisions of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to run, in batch order.
    pub batch: Vec<Scheduled>,
    /// Sequences admitted for the first time, with the prompt positions the cache held.
    pub admitted: Vec<(SeqId, usize)>,
    /// Sequences sent back to the queue to free blocks.
    pub preempted: Vec<SeqId>,
    /// Sequences that cannot fit the KV cache even alone; removed.
    pub too_long: Vec<SeqState>,
}

/// Waiting and running sequences and the policy that moves them.
#[derive(Debug, Clone)]
pub struct Scheduler {
    config: SchedulerConfig,
    waiting: VecDeque<SeqState>,
    running: Vec<SeqState>,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(config: SchedulerConfig) -> Self {
        Self {
            config: SchedulerConfig {
                max_seqs: config.max_seqs.max(1),
                max_batch_tokens: config.max_batch_tokens.max(1),
            },
            waiting: VecDeque::new(),
            running: Vec::new(),
        }
    }

    /// Queues a new sequence.
    pub fn add(&mut self, seq: SeqState) {
        self.waiting.push_back(seq);
    }

    /// Sequences waiting (new or preempted).
    pub fn n_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Sequences running.
    pub fn n_running(&self) -> usize {
        self.running.len()
    }

    /// True when nothing waits or runs.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    /// Ids of every sequence, running first.
    pub fn ids(&self) -> Vec<SeqId> {
        self.running
            .iter()
            .chain(&self.waiting)
            .map(|s| s.id)
            .collect()
    }

    /// The state of `id`.
    pub fn get(&self, id: SeqId) -> Option<&SeqState> {
        self.running
            .iter()
            .chain(&self.waiting)
            .find(|s| s.id == id)
    }

    fn get_mut(&mut self, id: SeqId) -> Option<&mut SeqState> {
        self.running
            .iter_mut()
            .chain(self.waiting.iter_mut())
            .find(|s| s.id == id)
    }

    /// Removes `id` wherever it is and releases its blocks.
    pub fn remove(&mut self, id: SeqId, blocks: &mut BlockManager) -> Option<SeqState> {
        blocks.release(id);
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            return Some(self.running.remove(i));
        }
        let i = self.waiting.iter().position(|s| s.id == id)?;
        self.waiting.remove(i)
    }

    /// Records that the scheduled chunk of `id` was computed, registering its full blocks in
    /// the prefix cache.
    pub fn advance(&mut self, id: SeqId, len: usize, blocks: &mut BlockManager) {
        if let Some(s) = self.get_mut(id) {
            s.computed = (s.computed + len).min(s.tokens.len());
            blocks.commit(id, &s.tokens, s.computed);
        }
    }

    /// Appends a generated token to `id`.
    pub fn append(&mut self, id: SeqId, token: u32) {
        if let Some(s) = self.get_mut(id) {
            s.tokens.push(token);
        }
    }

    /// Plans the next step, allocating the blocks it needs.
    pub fn schedule(&mut self, blocks: &mut BlockManager) -> Plan {
        let mut plan = Plan::default();
        let mut budget = self.config.max_batch_tokens;
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let (id, computed, total) = {
                let s = &self.running[i];
                (s.id, s.computed, s.tokens.len())
            };
            let n = (total - computed).min(budget);
            if n == 0 {
                i += 1;
                continue;
            }
            if blocks.ensure_capacity(id, computed + n) {
                let s = &self.running[i];
                plan.batch.push(Scheduled {
                    id,
                    start: computed,
                    len: n,
                    all_logits: s.all_logits && computed < s.prompt_len,
                    completes: computed + n == total,
                });
                budget -= n;
                i += 1;
                continue;
            }
            // Out of blocks: preempt the youngest sequence not yet scheduled.
            if self.running.len() > i + 1 {
                if let Some(victim) = self.running.pop() {
                    self.preempt(victim, blocks, &mut plan);
                }
            } else if i > 0 {
                let victim = self.running.remove(i);
                self.preempt(victim, blocks, &mut plan);
            } else {
                // Alone and still no room: it can never fit.
                let s = self.running.remove(i);
                blocks.release(s.id);
                plan.too_long.push(s);
            }
        }
        if !plan.preempted.is_empty() {
            return plan; // let the preempted go first once blocks free up
        }
        while budget > 0 && self.running.len() < self.config.max_seqs {
            let Some(s) = self.waiting.front() else {
                break;
            };
            let max_cached = if s.all_logits { 0 } else { s.tokens.len() - 1 };
            let cached = blocks.admit(s.id, &s.tokens, max_cached);
            let n = (s.tokens.len() - cached).min(budget);
            if !blocks.ensure_capacity(s.id, cached + n) {
                blocks.release(s.id);
                if self.running.is_empty() {
                    // Even an empty cache cannot hold its first chunk.
                    if let Some(s) = self.waiting.pop_front() {
                        plan.too_long.push(s);
                    }
                    continue;
                }
                break;
            }
            let Some(mut s) = self.waiting.pop_front() else {
                break;
            };
            s.computed = cached;
            if !s.started {
                s.started = true;
                plan.admitted.push((s.id, cached));
            }
            plan.batch.push(Scheduled {
                id: s.id,
                start: cached,
                len: n,
                all_logits: s.all_logits && cached < s.prompt_len,
                completes: cached + n == s.tokens.len(),
            });
            budget -= n;
            self.running.push(s);
        }
        plan
    }

    fn preempt(&mut self, mut victim: SeqState, blocks: &mut BlockManager, plan: &mut Plan) {
        blocks.release(victim.id);
        victim.computed = 0;
        plan.preempted.push(victim.id);
        self.waiting.push_front(victim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_seqs: usize, max_batch_tokens: usize) -> SchedulerConfig {
        SchedulerConfig {
            max_seqs,
            max_batch_tokens,
        }
    }

    /// Runs a plan as the engine would: advance every chunk, and give every sequence whose
    /// chunk completed one more token.
    fn run(s: &mut Scheduler, plan: &Plan, b: &mut BlockManager) {
        for item in &plan.batch {
            s.advance(item.id, item.len, b);
            if item.completes {
                s.append(item.id, 7);
            }
        }
    }

    #[test]
    fn prefill_is_chunked_and_mixed_with_decodes() {
        let mut b = BlockManager::new(64, 4);
        let mut s = Scheduler::new(config(4, 8));
        s.add(SeqState::new(1, vec![1; 3], false));
        let p = s.schedule(&mut b);
        assert_eq!(p.admitted, [(1, 0)]);
        assert_eq!(p.batch.len(), 1);
        assert!(p.batch[0].completes);
        run(&mut s, &p, &mut b);
        // A long prompt arrives: it gets the 7 tokens left after seq 1's decode token.
        s.add(SeqState::new(2, (0..20).collect(), false));
        let p = s.schedule(&mut b);
        let shape: Vec<(u64, usize, usize, bool)> = p
            .batch
            .iter()
            .map(|x| (x.id, x.start, x.len, x.completes))
            .collect();
        assert_eq!(shape, [(1, 3, 1, true), (2, 0, 7, false)]);
        run(&mut s, &p, &mut b);
        let p = s.schedule(&mut b);
        assert_eq!(p.batch[1].start, 7);
        assert_eq!(p.batch[1].len, 7);
    }

    #[test]
    fn max_seqs_limits_admission() {
        let mut b = BlockManager::new(64, 4);
        let mut s = Scheduler::new(config(2, 100));
        for id in 0..3 {
            s.add(SeqState::new(id, vec![1, 2], false));
        }
        let p = s.schedule(&mut b);
        assert_eq!(p.batch.len(), 2);
        assert_eq!((s.n_running(), s.n_waiting()), (2, 1));
        run(&mut s, &p, &mut b);
        s.remove(0, &mut b);
        let p = s.schedule(&mut b);
        assert_eq!(p.admitted, [(2, 0)]);
    }

    #[test]
    fn out_of_blocks_preempts_the_youngest_and_it_resumes() {
        // 4 blocks of 2 positions; two sequences of 3 tokens each take 2 blocks.
        let mut b = BlockManager::new(4, 2);
        let mut s = Scheduler::new(config(4, 100));
        s.add(SeqState::new(1, vec![1, 2, 3], false));
        s.add(SeqState::new(2, vec![4, 5, 6], false));
        let p = s.schedule(&mut b);
        assert_eq!(p.batch.len(), 2);
        run(&mut s, &p, &mut b); // both now have 4 tokens, 3 computed
        let p = s.schedule(&mut b);
        assert_eq!(p.batch.len(), 2, "position 3 still fits the second blocks");
        run(&mut s, &p, &mut b); // 5 tokens each: position 4 needs a third block
        let p = s.schedule(&mut b);
        assert_eq!(p.preempted, [2]);
        assert_eq!(p.batch.len(), 1);
        assert_eq!(b.counts().used, 3);
        let preempted = s.get(2).cloned().unwrap();
        assert_eq!(preempted.computed, 0);
        assert_eq!(preempted.tokens.len(), 5, "generated tokens are kept");
        run(&mut s, &p, &mut b);
        s.remove(1, &mut b);
        let p = s.schedule(&mut b);
        assert!(p.admitted.is_empty(), "not a new admission");
        assert_eq!(p.batch[0].id, 2);
        assert_eq!(p.batch[0].len + p.batch[0].start, 5);
        assert!(p.batch[0].completes);
    }

    #[test]
    fn prefix_cache_skips_computed_blocks_but_not_the_last_token() {
        let mut b = BlockManager::new(16, 4);
        let mut s = Scheduler::new(config(4, 100));
        let prompt: Vec<u32> = (0..8).collect();
        s.add(SeqState::new(1, prompt.clone(), false));
        let p = s.schedule(&mut b);
        run(&mut s, &p, &mut b);
        s.add(SeqState::new(2, prompt.clone(), false));
        s.add(SeqState::new(3, prompt.clone(), true));
        let p = s.schedule(&mut b);
        // Seq 2 finds the first block (the second holds the last token, computed again).
        assert_eq!(p.admitted, [(2, 4), (3, 0)]);
        assert_eq!(b.table(2)[0], b.table(1)[0]);
        let two = p.batch.iter().find(|x| x.id == 2).unwrap();
        assert_eq!((two.start, two.len), (4, 4));
    }

    #[test]
    fn a_sequence_larger_than_the_cache_is_reported() {
        let mut b = BlockManager::new(2, 2);
        let mut s = Scheduler::new(config(4, 2));
        s.add(SeqState::new(1, vec![1; 9], false));
        let mut too_long = Vec::new();
        for _ in 0..6 {
            let p = s.schedule(&mut b);
            run(&mut s, &p, &mut b);
            too_long.extend(p.too_long.iter().map(|x| x.id));
        }
        assert_eq!(too_long, [1]);
        assert!(s.is_empty());
        assert_eq!(b.counts().used, 0);
    }
}
