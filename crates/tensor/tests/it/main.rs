//! Integration tests of the `tensor` crate: every kernel set against the scalar reference,
//! block formats against gguf-py's reference values, quantization round trips within llama.cpp's
//! error bounds, and the thread pool.

mod kernel_equivalence;
mod quant_error;
mod reference_blocks;
mod thread_pool;
