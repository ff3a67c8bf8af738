//! Integration tests of the `formats` crate: GGUF files written by `GgufWriter` read back
//! unchanged, real files parse, and malformed or corrupted ones fail with a clean error that
//! names the field and its byte offset, never a panic or an outsized allocation.

mod alloc_probe;
mod gguf_malformed;
mod gguf_never_panics;
mod gguf_real_files;
mod gguf_round_trip;
mod gguf_writer;
mod raw_gguf;
