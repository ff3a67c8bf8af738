//! The engine thread and its handle. `Engine::start` moves a `LoadedModel` onto one thread that
//! owns the KV store, the block manager and the scheduler; `EngineHandle::submit` validates a
//! `Request`, queues it and returns the request's `EventReceiver`. Every iteration the thread
//! takes new requests, drops cancelled ones (their receiver is gone) and frees their blocks,
//! asks the scheduler for a plan, runs the whole plan as one `Model::forward`, then samples a
//! token for every sequence whose chunk reached its end. Each sequence's tokens are computed
//! independently of the others in the batch, so at temperature 0 or with a fixed seed a
//! request's output does not depend on what else runs (batch invariance, tested).
//! A panic inside a step fails the requests of that step and the thread carries on.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use models::{KvStore, Logits, SeqBatch};
use tokenizer::Tokenizer;

use crate::event_channel::{channel, EventReceiver};
use crate::kv_cache::{BlockManager, SeqId};
use crate::metrics::{EngineMetrics, MetricsSnapshot};
use crate::request::{Event, FinishReason, Request, MAX_TOP_LOGPROBS};
use crate::scheduler::{Plan, Scheduled, SchedulerConfig, SeqState};
use crate::sequence::{Outcome, Sequence};
use crate::{LoadedModel, Scheduler};

/// How the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Most sequences running at once.
    pub max_seqs: usize,
    /// Context length per sequence; `None` means the model's, at most `DEFAULT_MAX_CTX`
    /// (a 128K-token context of f32 keys and values would not fit most machines); more than
    /// the model's is the model's.
    pub ctx: Option<usize>,
    /// Bytes of KV cache; `None` means room for `max_seqs` full contexts, at most 4 GiB. At
    /// least one full context is always allocated.
    pub kv_mem_bytes: Option<usize>,
    /// Positions per KV block.
    pub block_size: usize,
    /// Most tokens in one forward pass (prefill chunks fill what decodes leave).
    pub max_batch_tokens: usize,
    /// Most requests waiting to start; more are refused with `SubmitError::QueueFull`.
    pub max_queue: usize,
    /// Sleep after every step: slows the engine down for tests of timing-dependent behaviour.
    pub step_delay: Option<Duration>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_seqs: 16,
            ctx: None,
            kv_mem_bytes: None,
            block_size: 16,
            max_batch_tokens: 512,
            max_queue: 256,
            step_delay: None,
        }
    }
}

/// The longest context `EngineConfig::ctx = None` gives.
pub const DEFAULT_MAX_CTX: usize = 8192;

/// Why a request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// A parameter is out of range or the prompt does not fit; the message says which.
    Invalid(String),
    /// Too many requests are waiting.
    QueueFull,
    /// The engine is shutting down or has stopped.
    Unavailable,
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::Invalid(why) => f.write_str(why),
            SubmitError::QueueFull => f.write_str("too many requests are waiting; retry later"),
            SubmitError::Unavailable => f.write_str("the engine is shutting down"),
        }
    }
}

impl std::error::Error for SubmitError {}

enum Command {
    Submit(SeqId, Request, Box<Sequence>),
    Shutdown,
}

/// What the server needs to know about the model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Where the model came from (path or embedded name).
    pub origin: String,
    /// Context length per sequence the engine serves.
    pub ctx: usize,
    /// Vocabulary size of the model.
    pub vocab_size: usize,
}

/// A cheap, cloneable handle to the engine thread.
#[derive(Clone)]
pub struct EngineHandle {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Command>,
    tokenizer: Tokenizer,
    info: ModelInfo,
    max_queue: u64,
    metrics: Arc<EngineMetrics>,
    next_id: AtomicU64,
    accepting: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Starts engine threads.
pub struct Engine;

impl Engine {
    /// Moves `lm` onto a new engine thread and returns its handle.
    pub fn start(lm: LoadedModel, config: EngineConfig) -> crate::Result<EngineHandle> {
        let mc = lm.model.config().clone();
        let ctx = config
            .ctx
            .filter(|&c| c > 0)
            .map_or(mc.context_length.min(DEFAULT_MAX_CTX), |c| {
                c.min(mc.context_length)
            });
        let block_size = config.block_size.clamp(1, 1024);
        let kv_type = lm.model.kv_type();
        let probe = KvStore::new(mc.n_layers, mc.kv_dim(), block_size, 0, kv_type);
        let per_block = probe.bytes_per_block().max(1);
        let blocks_per_ctx = ctx.div_ceil(block_size);
        let wanted = config
            .kv_mem_bytes
            .unwrap_or_else(|| (config.max_seqs.max(1) * blocks_per_ctx * per_block).min(4 << 30));
        let n_blocks = (wanted / per_block).max(blocks_per_ctx);
        if n_blocks > u32::MAX as usize / 2 {
            return Err(crate::Error::InvalidRequest(format!(
                "a KV cache of {n_blocks} blocks is too large"
            )));
        }
        let kv = KvStore::new(mc.n_layers, mc.kv_dim(), block_size, n_blocks, kv_type);
        let metrics = Arc::new(EngineMetrics::default());
        metrics
            .kv_blocks_total
            .store(n_blocks as u64, Ordering::Relaxed);
        metrics
            .kv_blocks_free
            .store(n_blocks as u64, Ordering::Relaxed);
        let info = ModelInfo {
            origin: lm.origin.clone(),
            ctx,
            vocab_size: mc.vocab_size,
        };
        let (tx, rx) = mpsc::channel();
        let scheduler_config = SchedulerConfig {
            max_seqs: config.max_seqs,
            max_batch_tokens: config.max_batch_tokens,
        };
        let tokenizer = lm.tokenizer.clone();
        let mut worker = Worker {
            blocks: BlockManager::new(n_blocks, block_size),
            scheduler: Scheduler::new(scheduler_config),
            scheduler_config,
            seqs: std::collections::HashMap::new(),
            kv,
            lm,
            rx,
            metrics: metrics.clone(),
            step_delay: config.step_delay,
            shutting_down: false,
            n_blocks,
            block_size,
        };
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || worker.run())
            .map_err(|e| crate::Error::InvalidRequest(format!("cannot start the engine: {e}")))?;
        Ok(EngineHandle {
            inner: Arc::new(Inner {
                tx,
                tokenizer,
                info,
                max_queue: config.max_queue as u64,
                metrics,
                next_id: AtomicU64::new(1),
                accepting: AtomicBool::new(true),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }
}

impl EngineHandle {
    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.inner.tokenizer
    }

    /// Facts about the served model.
    pub fn info(&self) -> &ModelInfo {
        &self.inner.info
    }

    /// Current metrics.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// Checks `request` and queues it; events arrive on the returned receiver. Dropping the
    /// receiver cancels the request.
    pub fn submit(&self, request: Request) -> Result<EventReceiver, SubmitError> {
        let max_new = self.validate(&request)?;
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(SubmitError::Unavailable);
        }
        let depth = self
            .inner
            .metrics
            .queue_depth
            .fetch_add(1, Ordering::AcqRel);
        if depth >= self.inner.max_queue {
            self.inner
                .metrics
                .queue_depth
                .fetch_sub(1, Ordering::AcqRel);
            return Err(SubmitError::QueueFull);
        }
        let (tx, rx) = channel();
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let seq = Box::new(Sequence::new(request.clone(), max_new, tx));
        if self
            .inner
            .tx
            .send(Command::Submit(id, request, seq))
            .is_err()
        {
            self.inner
                .metrics
                .queue_depth
                .fetch_sub(1, Ordering::AcqRel);
            return Err(SubmitError::Unavailable);
        }
        Ok(rx)
    }

    /// Returns the number of new tokens `request` may generate, or why it is refused.
    fn validate(&self, r: &Request) -> Result<usize, SubmitError> {
        let bad = |m: String| Err(SubmitError::Invalid(m));
        let ctx = self.inner.info.ctx;
        let vocab = self.inner.info.vocab_size;
        if r.prompt.is_empty() {
            return bad("the prompt is empty".into());
        }
        if let Some(&id) = r.prompt.iter().find(|&&id| id as usize >= vocab) {
            return bad(format!(
                "token id {id} is out of range: the vocabulary has {vocab} tokens"
            ));
        }
        let needed = r.prompt.len() + usize::from(r.max_tokens > 0);
        if needed > ctx {
            return bad(format!(
                "this model's maximum context length is {ctx} tokens, but the prompt has {} tokens{}",
                r.prompt.len(),
                if r.max_tokens > 0 { " and at least one must be generated" } else { "" }
            ));
        }
        r.sampling.validate().map_err(SubmitError::Invalid)?;
        for (name, v) in [
            ("presence_penalty", r.presence_penalty),
            ("frequency_penalty", r.frequency_penalty),
        ] {
            if !(-2.0..=2.0).contains(&v) {
                return bad(format!("{name} must be between -2 and 2"));
            }
        }
        for k in [r.logprobs, r.prompt_logprobs].into_iter().flatten() {
            if k > MAX_TOP_LOGPROBS {
                return bad(format!(
                    "at most {MAX_TOP_LOGPROBS} log-probabilities per token can be returned"
                ));
            }
        }
        Ok(r.max_tokens.min(ctx - r.prompt.len()))
    }

    /// Stops accepting requests; the thread finishes those in flight, then exits.
    pub fn shutdown(&self) {
        self.inner.accepting.store(false, Ordering::Release);
        let _ = self.inner.tx.send(Command::Shutdown);
    }

    /// Whether the engine thread is still running.
    pub fn is_running(&self) -> bool {
        let t = self.inner.thread.lock().unwrap_or_else(|e| e.into_inner());
        t.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Shuts down and waits for the thread to exit.
    pub fn join(&self) {
        self.shutdown();
        let t = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}

/// The engine thread's state.
struct Worker {
    lm: LoadedModel,
    kv: KvStore,
    blocks: BlockManager,
    scheduler: Scheduler,
    scheduler_config: SchedulerConfig,
    seqs: std::collections::HashMap<SeqId, Box<Sequence>>,
    rx: mpsc::Receiver<Command>,
    metrics: Arc<EngineMetrics>,
    step_delay: Option<Duration>,
    shutting_down: bool,
    n_blocks: usize,
    block_size: usize,
}

impl Worker {
    fn run(&mut self) {
        loop {
            if self.scheduler.is_empty() {
                if self.shutting_down {
                    return;
                }
                match self.rx.recv() {
                    Ok(cmd) => self.command(cmd),
                    Err(_) => return, // every handle is gone
                }
            }
            while let Ok(cmd) = self.rx.try_recv() {
                self.command(cmd);
            }
            let stepped = catch_unwind(AssertUnwindSafe(|| self.step()));
            match stepped {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => self.recover("the engine failed on this batch"),
            }
            self.update_gauges();
            if let Some(d) = self.step_delay {
                std::thread::sleep(d);
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Submit(id, request, seq) => {
                let all_logits = request.prompt_logprobs.is_some();
                self.scheduler
                    .add(SeqState::new(id, request.prompt, all_logits));
                self.seqs.insert(id, seq);
            }
            Command::Shutdown => self.shutting_down = true,
        }
    }

    /// Fails every request and starts over with empty bookkeeping (after a panic).
    fn recover(&mut self, why: &str) {
        for id in self.scheduler.ids() {
            if self.scheduler.get(id).is_some_and(|s| !s.started) {
                self.metrics.queue_depth.fetch_sub(1, Ordering::AcqRel);
            }
            if let Some(seq) = self.seqs.remove(&id) {
                seq.sink.send(Event::Error(why.to_string()));
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.seqs.clear();
        self.blocks = BlockManager::new(self.n_blocks, self.block_size);
        self.scheduler = Scheduler::new(self.scheduler_config);
    }

    fn update_gauges(&self) {
        let c = self.blocks.counts();
        let m = &self.metrics;
        m.running
            .store(self.scheduler.n_running() as u64, Ordering::Relaxed);
        m.kv_blocks_used.store(c.used as u64, Ordering::Relaxed);
        m.kv_blocks_free.store(c.free as u64, Ordering::Relaxed);
    }

    /// Removes `id`, releasing its blocks; sends the final event unless it was cancelled.
    fn end(&mut self, id: SeqId, finish: FinishReason) {
        let state = self.scheduler.remove(id, &mut self.blocks);
        // Before the final event, so that a client reading /metrics after it sees the blocks freed.
        self.update_gauges();
        let Some(mut seq) = self.seqs.remove(&id) else {
            return;
        };
        if state.as_ref().is_some_and(|s| !s.started) {
            self.metrics.queue_depth.fetch_sub(1, Ordering::AcqRel);
        }
        let prompt_tokens = seq.request.prompt.len();
        match finish {
            FinishReason::Cancelled => {
                self.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                seq.finish(finish, prompt_tokens);
                self.metrics.finished.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn fail(&mut self, id: SeqId, why: &str) {
        if let Some(seq) = self.seqs.get(&id) {
            seq.sink.send(Event::Error(why.to_string()));
        }
        self.metrics.failed.fetch_add(1, Ordering::Relaxed);
        self.end(id, FinishReason::Cancelled);
        self.metrics.cancelled.fetch_sub(1, Ordering::Relaxed);
    }

    /// One iteration; false when there was nothing to run.
    fn step(&mut self) -> bool {
        for id in self.scheduler.ids() {
            if self.seqs.get(&id).is_none_or(|s| s.sink.is_closed()) {
                self.end(id, FinishReason::Cancelled);
            }
        }
        let plan: Plan = self.scheduler.schedule(&mut self.blocks);
        self.update_gauges();
        for &(id, cached) in &plan.admitted {
            self.metrics.queue_depth.fetch_sub(1, Ordering::AcqRel);
            if let Some(seq) = self.seqs.get_mut(&id) {
                seq.cached_tokens = cached;
                let m = &self.metrics;
                m.prompt_tokens
                    .fetch_add(seq.request.prompt.len() as u64, Ordering::Relaxed);
                m.cached_prompt_tokens
                    .fetch_add(cached as u64, Ordering::Relaxed);
            }
        }
        self.metrics
            .preemptions
            .fetch_add(plan.preempted.len() as u64, Ordering::Relaxed);
        for s in &plan.too_long {
            // Already removed from the scheduler; it never fit the KV cache.
            if !s.started {
                self.metrics.queue_depth.fetch_sub(1, Ordering::AcqRel);
            }
            if let Some(mut seq) = self.seqs.remove(&s.id) {
                seq.finish(FinishReason::Length, s.prompt_len);
                self.metrics.finished.fetch_add(1, Ordering::Relaxed);
            }
        }
        if plan.batch.is_empty() {
            return false;
        }

        let logits = {
            let mut batch = Vec::with_capacity(plan.batch.len());
            for item in &plan.batch {
                let Some(state) = self.scheduler.get(item.id) else {
                    continue;
                };
                batch.push(SeqBatch {
                    tokens: &state.tokens[item.start..item.start + item.len],
                    start: item.start,
                    block_table: self.blocks.table(item.id),
                    logits: if item.all_logits {
                        Logits::All
                    } else {
                        Logits::Last
                    },
                });
            }
            self.lm.model.forward(&batch, &mut self.kv)
        };
        self.metrics.steps.fetch_add(1, Ordering::Relaxed);
        let logits = match logits {
            Ok(l) => l,
            Err(e) => {
                let why = format!("model error: {e}");
                for item in &plan.batch {
                    self.fail(item.id, &why);
                }
                return true;
            }
        };

        let vocab = self.lm.model.config().vocab_size;
        let mut row = 0;
        for item in &plan.batch {
            let rows = if item.all_logits { item.len } else { 1 };
            let chunk = logits.get(row * vocab..(row + rows) * vocab).unwrap_or(&[]);
            row += rows;
            self.process(item, chunk, vocab);
        }
        true
    }

    /// Handles one sequence's logits after a forward pass.
    fn process(&mut self, item: &Scheduled, chunk: &[f32], vocab: usize) {
        let id = item.id;
        let Some(state) = self.scheduler.get(id) else {
            return;
        };
        let prompt_len = state.prompt_len;
        let Some(seq) = self.seqs.get_mut(&id) else {
            return;
        };
        if item.all_logits && chunk.len() == item.len * vocab {
            for r in 0..item.len {
                let target = item.start + r + 1;
                if let Some(&token) = state.tokens.get(target).filter(|_| target < prompt_len) {
                    seq.add_prompt_logprob(&chunk[r * vocab..(r + 1) * vocab], target, token);
                }
            }
        }
        self.scheduler.advance(id, item.len, &mut self.blocks);
        if !item.completes {
            return;
        }
        let (Some(state), Some(seq)) = (self.scheduler.get(id), self.seqs.get_mut(&id)) else {
            return;
        };
        if !seq.send_prompt_logprobs() {
            self.end(id, FinishReason::Cancelled);
            return;
        }
        if seq.generated >= seq.max_new {
            self.end(id, FinishReason::Length);
            return;
        }
        let Some(last) = chunk.len().checked_sub(vocab).map(|s| &chunk[s..]) else {
            self.fail(id, "the model returned no logits");
            return;
        };
        let mut row = last.to_vec();
        let (token, lp) = seq.sample(&mut row, &state.tokens);
        let before = seq.generated;
        let (outcome, first, seconds) = seq.accept(token, lp, &self.lm.tokenizer);
        if seq.generated > before {
            self.metrics
                .generated_tokens
                .fetch_add(1, Ordering::Relaxed);
        }
        if first {
            self.metrics.ttft.observe(seconds);
        } else {
            self.metrics.tpot.observe(seconds);
        }
        match outcome {
            Outcome::Continue => self.scheduler.append(id, token),
            Outcome::Finished(f) => self.end(id, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadOptions, SamplingParams};

    fn start(config: EngineConfig) -> EngineHandle {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/stories260K/stories260K.gguf"
        );
        let opts = LoadOptions {
            threads: 1,
            ..LoadOptions::default()
        };
        let lm = LoadedModel::open(std::path::Path::new(path), &opts).unwrap();
        Engine::start(lm, config).unwrap()
    }

    fn requests(h: &EngineHandle) -> Vec<Request> {
        let tok = h.tokenizer();
        [
            "Once upon a time",
            "The cat sat",
            "Lily wanted to play with her friends",
        ]
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let ids = tok.encode(p, true, true);
            let mut greedy = Request::greedy(ids.clone(), 30);
            greedy.prompt_logprobs = Some(2);
            greedy.logprobs = Some(1);
            let mut seeded = Request::greedy(ids, 30);
            seeded.sampling = SamplingParams {
                temperature: 0.9,
                seed: i as u64,
                ..SamplingParams::default()
            };
            seeded.frequency_penalty = 0.5;
            [greedy, seeded]
        })
        .collect()
    }

    fn events(rx: &EventReceiver) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = rx.recv() {
            let done = matches!(e, Event::Done { .. } | Event::Error(_));
            let e = match e {
                // Whether the prefix cache helped depends on what ran before: not compared.
                Event::Done {
                    text,
                    finish,
                    mut usage,
                } => {
                    usage.cached_tokens = 0;
                    Event::Done {
                        text,
                        finish,
                        usage,
                    }
                }
                e => e,
            };
            out.push(e);
            if done {
                break;
            }
        }
        out
    }

    #[test]
    fn outputs_do_not_depend_on_batching_or_preemption() {
        // Small blocks, a small step budget and a cache of two contexts: prefill chunks,
        // decodes and preemptions all mix.
        let h = start(EngineConfig {
            ctx: Some(64),
            block_size: 4,
            max_batch_tokens: 8,
            kv_mem_bytes: Some(1),
            ..EngineConfig::default()
        });
        let reqs = requests(&h);
        let alone: Vec<Vec<Event>> = reqs
            .iter()
            .map(|r| events(&h.submit(r.clone()).unwrap()))
            .collect();
        let rxs: Vec<EventReceiver> = reqs.iter().map(|r| h.submit(r.clone()).unwrap()).collect();
        let batched: Vec<Vec<Event>> = rxs.iter().map(events).collect();
        for (i, (a, b)) in alone.iter().zip(&batched).enumerate() {
            let first = a.iter().zip(b).position(|(x, y)| x != y);
            assert!(
                first.is_none() && a.len() == b.len(),
                "request {i}: first difference at event {first:?}: {:?} vs {:?}",
                first.map(|k| &a[k]),
                first.map(|k| &b[k])
            );
        }
        assert!(matches!(alone[0][0], Event::PromptLogprobs(ref v) if v.len() == 4));
        let m = h.metrics();
        assert!(m.preemptions > 0, "{m:?}");
        assert_eq!((m.kv_blocks_used, m.running, m.queue_depth), (0, 0, 0));
        h.join();
    }

    #[test]
    fn dropping_the_receiver_cancels_and_frees_blocks() {
        let h = start(EngineConfig {
            step_delay: Some(Duration::from_millis(2)),
            ..EngineConfig::default()
        });
        let mut r = Request::greedy(h.tokenizer().encode("Once", true, true), 1000);
        r.ignore_eos = true;
        let rx = h.submit(r).unwrap();
        assert!(matches!(rx.recv(), Some(Event::Token { .. })));
        assert!(h.metrics().kv_blocks_used > 0);
        drop(rx);
        let t0 = std::time::Instant::now();
        while h.metrics().kv_blocks_used > 0 && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(2));
        }
        let m = h.metrics();
        assert_eq!((m.kv_blocks_used, m.running, m.cancelled), (0, 0, 1));
        h.join();
        assert!(!h.is_running());
        assert_eq!(
            h.submit(Request::greedy(vec![1], 1)).unwrap_err(),
            SubmitError::Unavailable
        );
    }

    #[test]
    fn invalid_requests_are_refused_with_a_reason() {
        let h = start(EngineConfig {
            ctx: Some(16),
            ..EngineConfig::default()
        });
        let bad = |r: Request| match h.submit(r) {
            Err(SubmitError::Invalid(why)) => why,
            other => panic!("accepted: {other:?}"),
        };
        assert!(bad(Request::greedy(vec![], 1)).contains("empty"));
        assert!(bad(Request::greedy(vec![1; 16], 1)).contains("context"));
        assert!(bad(Request::greedy(vec![1, 1_000_000], 1)).contains("out of range"));
        let mut r = Request::greedy(vec![1], 1);
        r.logprobs = Some(99);
        assert!(bad(r).contains("log-probabilities"));
        // A prompt filling the context may still be scored.
        let mut r = Request::greedy(vec![1; 16], 0);
        r.prompt_logprobs = Some(0);
        let ev = events(&h.submit(r).unwrap());
        assert!(matches!(
            ev.last(),
            Some(Event::Done {
                finish: FinishReason::Length,
                ..
            })
        ));
        h.join();
    }
}
