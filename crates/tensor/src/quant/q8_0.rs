//! Q8_0: blocks of 32 values, an f16 scale `d` and 32 signed bytes; value = d·q.
//! Layout and reference quantizer as in ggml's `block_q8_0` / `quantize_row_q8_0_ref`.

use half::f16;

use super::block_scale;

/// Bytes per block: 2 (f16 d) + 32 (i8 q).
pub const BLOCK_BYTES: usize = 34;

/// Dequantizes one block into 32 values.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = block_scale(block);
    for (o, &q) in out.iter_mut().zip(&block[2..BLOCK_BYTES]) {
        *o = d * f32::from(q as i8);
    }
}

/// Quantizes 32 values and appends the block: d = max|x| / 127, q = round(x / d).
pub fn quantize_block(values: &[f32], out: &mut Vec<u8>) {
    let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    // `as i8` saturates; |x·id| ≤ 127 up to rounding, so it never does in practice.
    out.extend(values.iter().map(|&v| (v * id).round() as i8 as u8));
}
