//! Q4_1: blocks of 32 values, f16 scale `d`, f16 minimum `m` and 16 bytes of 4-bit codes;
//! value = d·q + m. Nibble order as Q4_0 (ggml's `block_q4_1` / `quantize_row_q4_1_ref`).

use half::f16;

use super::{block_scale, f16_at};

/// Bytes per block: 2 (d) + 2 (m) + 16 (nibbles).
pub const BLOCK_BYTES: usize = 20;

/// Dequantizes one block into 32 values.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let (d, m) = (block_scale(block), f16_at(block, 2));
    for (j, &byte) in block[4..BLOCK_BYTES].iter().enumerate() {
        out[j] = f32::from(byte & 0x0f) * d + m;
        out[j + 16] = f32::from(byte >> 4) * d + m;
    }
}

/// Quantizes 32 values and appends the block: d = (max − min) / 15, q = trunc((x − min)/d + ½).
pub fn quantize_block(values: &[f32], out: &mut Vec<u8>) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
    }
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    out.extend_from_slice(&f16::from_f32(min).to_le_bytes());
    let code = |v: f32| (((v - min) * id + 0.5) as i8).min(15) as u8;
    for j in 0..16 {
        out.push(code(values[j]) | (code(values[j + 16]) << 4));
    }
}
