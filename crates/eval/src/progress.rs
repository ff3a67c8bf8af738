//! How long-running evaluations report progress without knowing how it is shown: the CLI
//! draws a progress bar, tests pass `NoProgress`.

/// Receives progress of one evaluation phase at a time.
pub trait Progress: Sync {
    /// A phase with `total` units of work begins.
    fn start(&self, what: &str, total: usize);
    /// `n` more units are done (called from worker threads).
    fn advance(&self, n: usize);
    /// The phase is over.
    fn finish(&self);
}

/// Discards progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _what: &str, _total: usize) {}
    fn advance(&self, _n: usize) {}
    fn finish(&self) {}
}
