//! Server integration tests: the real server on 127.0.0.1 (an ephemeral port) with the
//! stories260K fixture model, driven by a minimal HTTP/1.1 client over a TCP stream so that
//! the tests need no HTTP client library. One binary, one module per area.

mod api;
mod chat;
mod completions;
mod harness;
mod python_client;
mod serving;
