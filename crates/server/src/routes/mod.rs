//! One file per endpoint.

pub(crate) mod chat_completions;
pub(crate) mod completions;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod models;
