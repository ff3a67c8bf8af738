//! Block layouts and scalar conversions between f32 and every `DType`: the reference that all
//! faster kernels are tested against. One file per quantization family; `activation` holds the
//! in-memory 8-bit layouts activations are quantized to for integer dot products.

pub mod activation;
pub mod iq4;
pub mod k_quants;
pub mod q4_0;
pub mod q4_1;
pub mod q5_0;
pub mod q5_1;
pub mod q8_0;

use half::{bf16, f16};

use crate::DType;

/// Converts one block of `dtype` into `out` (`dtype.block_size()` values).
pub fn dequantize_block(dtype: DType, b: &[u8], out: &mut [f32]) {
    match dtype {
        DType::F32 => out[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        DType::F16 => out[0] = f16::from_le_bytes([b[0], b[1]]).to_f32(),
        DType::Bf16 => out[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        DType::Q8_0 => q8_0::dequantize_block(b, out),
        DType::Q4_0 => q4_0::dequantize_block(b, out),
        DType::Q4_1 => q4_1::dequantize_block(b, out),
        DType::Q5_0 => q5_0::dequantize_block(b, out),
        DType::Q5_1 => q5_1::dequantize_block(b, out),
        DType::Q2K => k_quants::dequantize_q2k(b, out),
        DType::Q3K => k_quants::dequantize_q3k(b, out),
        DType::Q4K => k_quants::dequantize_q4k(b, out),
        DType::Q5K => k_quants::dequantize_q5k(b, out),
        DType::Q6K => k_quants::dequantize_q6k(b, out),
        DType::Iq4Nl => iq4::dequantize_nl(b, out),
        DType::Iq4Xs => iq4::dequantize_xs(b, out),
    }
}

/// Converts `bytes` of `dtype` into `out` (`out.len()` elements; `bytes` holds exactly them).
pub fn dequantize(dtype: DType, bytes: &[u8], out: &mut [f32]) {
    debug_assert_eq!(Some(bytes.len()), dtype.row_bytes(out.len()));
    match dtype {
        DType::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        DType::F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        DType::Bf16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        _ => {
            for (o, b) in out
                .chunks_exact_mut(dtype.block_size())
                .zip(bytes.chunks_exact(dtype.block_bytes()))
            {
                dequantize_block(dtype, b, o);
            }
        }
    }
}

/// Appends the quantization of `values` (whole blocks of `dtype`) to `out`.
pub fn quantize_into(dtype: DType, values: &[f32], out: &mut Vec<u8>) {
    match dtype {
        DType::F32 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F16 => values
            .iter()
            .for_each(|&v| out.extend_from_slice(&f16::from_f32(v).to_le_bytes())),
        DType::Bf16 => values
            .iter()
            .for_each(|&v| out.extend_from_slice(&bf16::from_f32(v).to_le_bytes())),
        _ => {
            let quantize_block: fn(&[f32], &mut Vec<u8>) = match dtype {
                DType::Q8_0 => q8_0::quantize_block,
                DType::Q4_0 => q4_0::quantize_block,
                DType::Q4_1 => q4_1::quantize_block,
                DType::Q5_0 => q5_0::quantize_block,
                DType::Q5_1 => q5_1::quantize_block,
                DType::Q2K => k_quants::quantize_q2k,
                DType::Q3K => k_quants::quantize_q3k,
                DType::Q4K => k_quants::quantize_q4k,
                DType::Q5K => k_quants::quantize_q5k,
                DType::Q6K => k_quants::quantize_q6k,
                DType::Iq4Nl => iq4::quantize_nl,
                _ => iq4::quantize_xs,
            };
            values
                .chunks_exact(dtype.block_size())
                .for_each(|b| quantize_block(b, out));
        }
    }
}

/// Converts f32 `values` to `dtype` (round to nearest for floats, llama.cpp's reference
/// quantizers for blocks). `values.len()` must be a whole number of blocks.
pub fn quantize(dtype: DType, values: &[f32]) -> Vec<u8> {
    let n_bytes = dtype
        .row_bytes(values.len())
        .expect("whole number of blocks");
    let mut out = Vec::with_capacity(n_bytes);
    quantize_into(dtype, values, &mut out);
    out
}

/// Reads the little-endian f16 scale at the start of a block.
#[inline]
pub(crate) fn block_scale(block: &[u8]) -> f32 {
    f16_at(block, 0)
}

/// Reads the little-endian f16 at byte `at`.
#[inline]
pub(crate) fn f16_at(block: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([block[at], block[at + 1]]).to_f32()
}
