//! Reference kernels: plain Rust, the specification every SIMD kernel must match.

use half::{bf16, f16};

use super::KernelSet;
use crate::quant::{block_scale, q4_0, q8_0};

/// The scalar kernel set.
pub static KERNELS: KernelSet = KernelSet {
    name: "scalar",
    dot_f32,
    dot_f16,
    dot_bf16,
    dot_q8_0,
    dot_q4_0,
};

/// F32 row · x.
pub fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(4)
        .zip(x)
        .map(|(c, &xv)| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * xv)
        .sum()
}

/// F16 row · x.
pub fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(2)
        .zip(x)
        .map(|(c, &xv)| f16::from_le_bytes([c[0], c[1]]).to_f32() * xv)
        .sum()
}

/// BF16 row · x.
pub fn dot_bf16(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(2)
        .zip(x)
        .map(|(c, &xv)| bf16::from_le_bytes([c[0], c[1]]).to_f32() * xv)
        .sum()
}

/// Q8_0 row · x: per block, d · Σ q·x.
pub fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(q8_0::BLOCK_BYTES)
        .zip(x.chunks_exact(32))
        .map(|(b, xs)| {
            let s: f32 = b[2..]
                .iter()
                .zip(xs)
                .map(|(&q, &xv)| f32::from(q as i8) * xv)
                .sum();
            block_scale(b) * s
        })
        .sum()
}

/// Q4_0 row · x: per block, d · Σ (q − 8)·x.
pub fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(q4_0::BLOCK_BYTES)
        .zip(x.chunks_exact(32))
        .map(|(b, xs)| {
            let mut s = 0.0f32;
            for (j, &byte) in b[2..].iter().enumerate() {
                s += (f32::from(byte & 0x0f) - 8.0) * xs[j];
                s += (f32::from(byte >> 4) - 8.0) * xs[j + 16];
            }
            block_scale(b) * s
        })
        .sum()
}
