//! `tensor` is the numbers layer: element types and quantized block layouts, a `Tensor` that
//! borrows its bytes from a model file without copying, and the CPU kernels the models need.
//! It knows nothing about files, models, tokens or requests.
//!
//! Kernels come in sets (`cpu::KernelSet`): `cpu::scalar` is the specification, and an
//! instruction-set version (`cpu::x86_avx2`) is chosen once at run time when the CPU has it.
#![warn(missing_docs)]

pub mod cpu;
mod dtype;
mod error;
pub mod interleaved;
pub mod ops;
pub mod quant;
mod tensor;

pub use dtype::DType;
pub use error::{Error, Result};
pub use tensor::{ByteSource, Layout, Storage, Tensor};
