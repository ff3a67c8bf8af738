//! Q5_1: blocks of 32 values, f16 scale `d`, f16 minimum `m`, fifth bits and nibbles as Q5_0;
//! value = d·q + m (ggml's `block_q5_1` / `quantize_row_q5_1_ref`).

use half::f16;

use super::{block_scale, f16_at, q5_0};

/// Bytes per block: 2 (d) + 2 (m) + 4 (fifth bits) + 16 (nibbles).
pub const BLOCK_BYTES: usize = 24;

/// Dequantizes one block into 32 values.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let (d, m) = (block_scale(block), f16_at(block, 2));
    for (o, &q) in out.iter_mut().zip(&q5_0::codes(block, 4)) {
        *o = f32::from(q) * d + m;
    }
}

/// Quantizes 32 values and appends the block: d = (max − min) / 31, q = trunc((x − min)/d + ½).
pub fn quantize_block(values: &[f32], out: &mut Vec<u8>) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
    }
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    out.extend_from_slice(&f16::from_f32(min).to_le_bytes());
    let mut q = [0u8; 32];
    for (c, &v) in q.iter_mut().zip(values) {
        *c = ((v - min) * id + 0.5) as u8;
    }
    q5_0::pack_codes(&q, out);
}
