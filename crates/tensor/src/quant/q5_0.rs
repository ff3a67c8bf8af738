//! Q5_0: blocks of 32 values, f16 scale `d`, a 32-bit word of fifth bits and 16 bytes of low
//! nibbles; value = d·(q − 16). Bit j of the word is element j's fifth bit; nibble order as
//! Q4_0 (ggml's `block_q5_0` / `quantize_row_q5_0_ref`).

use half::f16;

use super::block_scale;

/// Bytes per block: 2 (d) + 4 (fifth bits) + 16 (nibbles).
pub const BLOCK_BYTES: usize = 22;

/// The 32 codes (0..32) of a Q5_0 or Q5_1 block whose fifth bits start at `qh_at`.
#[inline]
pub(crate) fn codes(block: &[u8], qh_at: usize) -> [u8; 32] {
    let qh = u32::from_le_bytes([
        block[qh_at],
        block[qh_at + 1],
        block[qh_at + 2],
        block[qh_at + 3],
    ]);
    let mut q = [0u8; 32];
    for (j, &byte) in block[qh_at + 4..qh_at + 20].iter().enumerate() {
        q[j] = (byte & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
        q[j + 16] = (byte >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
    }
    q
}

/// Packs 32 codes (0..32) as fifth-bit word + nibbles and appends them.
pub(crate) fn pack_codes(q: &[u8; 32], out: &mut Vec<u8>) {
    let mut qh = 0u32;
    for (j, &c) in q.iter().enumerate() {
        qh |= u32::from(c >> 4) << j;
    }
    out.extend_from_slice(&qh.to_le_bytes());
    for j in 0..16 {
        out.push((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
    }
}

/// Dequantizes one block into 32 values.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = block_scale(block);
    for (o, &q) in out.iter_mut().zip(&codes(block, 2)) {
        *o = (f32::from(q) - 16.0) * d;
    }
}

/// Quantizes 32 values and appends the block: the value of largest magnitude maps to code 0.
pub fn quantize_block(values: &[f32], out: &mut Vec<u8>) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in values {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    let mut q = [0u8; 32];
    for (c, &v) in q.iter_mut().zip(values) {
        *c = ((v * id + 16.5) as i8).min(31) as u8;
    }
    pack_codes(&q, out);
}
