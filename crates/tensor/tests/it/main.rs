//! Integration tests of the `tensor` crate: every kernel set against the scalar reference, and
//! quantization round trips within llama.cpp's error bounds.

mod kernel_equivalence;
mod quant_error;
