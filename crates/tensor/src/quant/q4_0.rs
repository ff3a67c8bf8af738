//! Q4_0: blocks of 32 values, an f16 scale `d` and 16 bytes of 4-bit codes; value = d·(q − 8).
//! Byte j holds element j (low nibble) and element j + 16 (high nibble), as in ggml's
//! `block_q4_0` / `quantize_row_q4_0_ref`.

use half::f16;

use super::block_scale;

/// Bytes per block: 2 (f16 d) + 16 (packed nibbles).
pub const BLOCK_BYTES: usize = 18;

/// Dequantizes one block into 32 values.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = block_scale(block);
    for (j, &byte) in block[2..BLOCK_BYTES].iter().enumerate() {
        out[j] = d * (f32::from(byte & 0x0f) - 8.0);
        out[j + 16] = d * (f32::from(byte >> 4) - 8.0);
    }
}

/// Quantizes 32 values and appends the block. The value of largest magnitude (with its sign)
/// maps to code 0, i.e. d = max / −8, as llama.cpp's reference quantizer does.
pub fn quantize_block(values: &[f32], out: &mut Vec<u8>) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in values {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    let code = |v: f32| ((v * id + 8.5) as i8).min(15) as u8;
    for j in 0..16 {
        out.push(code(values[j]) | (code(values[j + 16]) << 4));
    }
}
