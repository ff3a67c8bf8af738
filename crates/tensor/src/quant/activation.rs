//! Activations quantized to 8-bit blocks, so that weight · activation dot products run on
//! integers (llama.cpp's `vec_dot_type`). Two layouts, chosen by the weight type:
//!
//! - `Q8` (for the 32-value block types): per 32 values an f32 scale `d`, an f32 `s = d·Σq`
//!   (the block sum, which lets unsigned-code formats subtract their offset once), and 32 `i8`:
//!   40 bytes. `d = max|x| / 127`, `q = x / d` rounded to nearest even, as ggml's AVX2
//!   `quantize_row_q8_1`. After a row's blocks come copies of every block's `d`, then of every
//!   `s` (f32 each), so a single-row kernel loads several blocks' scales as one vector.
//! - `Q8K` (for the K-quants and IQ4_XS): per 256 values an f32 `d`, 256 `i8` and sixteen `i16`
//!   sums of 16 codes each: 292 bytes, exactly ggml's `block_q8_K` and `quantize_row_q8_K_ref`.
//!
//! These are in-memory formats only, never written to files.

use super::k_quants::nearest_int;
use crate::DType;

/// Bytes of one `Q8` activation block (32 values).
pub const Q8_BYTES: usize = 40;
/// Bytes of one `Q8K` activation block (256 values).
pub const Q8K_BYTES: usize = 292;

/// Which 8-bit activation layout a weight type's integer dot product consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActFormat {
    /// 32-value blocks with scale and sum.
    Q8,
    /// 256-value blocks with scale and 16-value sums.
    Q8K,
}

impl ActFormat {
    /// The layout for weights of `dtype`; `None` for the plain floats (they take f32).
    pub const fn for_weights(dtype: DType) -> Option<ActFormat> {
        match dtype {
            DType::F32 | DType::F16 | DType::Bf16 => None,
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 | DType::Iq4Nl => {
                Some(ActFormat::Q8)
            }
            DType::Q2K | DType::Q3K | DType::Q4K | DType::Q5K | DType::Q6K | DType::Iq4Xs => {
                Some(ActFormat::Q8K)
            }
        }
    }

    /// Values per block.
    pub const fn block_size(self) -> usize {
        match self {
            ActFormat::Q8 => 32,
            ActFormat::Q8K => 256,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            ActFormat::Q8 => Q8_BYTES,
            ActFormat::Q8K => Q8K_BYTES,
        }
    }

    /// Bytes of `n` values (`n` a multiple of the block size), including `Q8`'s scale copies.
    pub const fn row_bytes(self, n: usize) -> usize {
        let blocks = n / self.block_size();
        match self {
            ActFormat::Q8 => blocks * (Q8_BYTES + 8),
            ActFormat::Q8K => blocks * Q8K_BYTES,
        }
    }

    /// Quantizes `x` (a multiple of the block size) into `out` (`row_bytes(x.len())` bytes).
    pub fn quantize(self, x: &[f32], out: &mut [u8]) {
        match self {
            ActFormat::Q8 => quantize_q8(x, out),
            ActFormat::Q8K => quantize_q8k(x, out),
        }
    }
}

/// Quantizes `x` to `Q8` blocks followed by the copies of their scales (`out` is
/// `ActFormat::Q8.row_bytes(x.len())` bytes).
pub fn quantize_q8(x: &[f32], out: &mut [u8]) {
    let nb = x.len() / 32;
    let (blocks, copies) = out.split_at_mut(nb * Q8_BYTES);
    let (ds, ss) = copies.split_at_mut(nb * 4);
    for (((xs, b), dc), sc) in x
        .chunks_exact(32)
        .zip(blocks.chunks_exact_mut(Q8_BYTES))
        .zip(ds.chunks_exact_mut(4))
        .zip(ss.chunks_exact_mut(4))
    {
        let amax = xs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in b[8..].iter_mut().zip(xs) {
            let v = nearest_int(v * id) as i8;
            sum += i32::from(v);
            *q = v as u8;
        }
        let s = d * sum as f32;
        b[0..4].copy_from_slice(&d.to_le_bytes());
        b[4..8].copy_from_slice(&s.to_le_bytes());
        dc.copy_from_slice(&d.to_le_bytes());
        sc.copy_from_slice(&s.to_le_bytes());
    }
}

/// Quantizes `x` to `Q8K` blocks.
pub fn quantize_q8k(x: &[f32], out: &mut [u8]) {
    for (xs, b) in x.chunks_exact(256).zip(out.chunks_exact_mut(Q8K_BYTES)) {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in xs {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            b.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in b[4..260].iter_mut().zip(xs) {
            *q = nearest_int(iscale * v).min(127) as i8 as u8;
        }
        for j in 0..16 {
            let s: i32 = b[4 + 16 * j..4 + 16 * j + 16]
                .iter()
                .map(|&q| i32::from(q as i8))
                .sum();
            b[260 + 2 * j..262 + 2 * j].copy_from_slice(&(s as i16).to_le_bytes());
        }
        b[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    }
}

/// Converts quantized activations back to f32 (for the scalar reference dot products).
pub fn dequantize(format: ActFormat, bytes: &[u8], out: &mut [f32]) {
    let (bs, bb, at) = match format {
        ActFormat::Q8 => (32, Q8_BYTES, 8),
        ActFormat::Q8K => (256, Q8K_BYTES, 4),
    };
    for (o, b) in out.chunks_exact_mut(bs).zip(bytes.chunks_exact(bb)) {
        let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        for (v, &q) in o.iter_mut().zip(&b[at..at + bs]) {
            *v = d * f32::from(q as i8);
        }
    }
}
