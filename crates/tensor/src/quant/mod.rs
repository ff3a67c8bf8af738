//! Block layouts and scalar conversions between f32 and every `DType`: the reference that all
//! faster kernels are tested against. One file per quantization family.

pub mod q4_0;
pub mod q8_0;

use half::{bf16, f16};

use crate::DType;

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
        DType::Q8_0 => {
            for (o, b) in out
                .chunks_exact_mut(32)
                .zip(bytes.chunks_exact(q8_0::BLOCK_BYTES))
            {
                q8_0::dequantize_block(b, o);
            }
        }
        DType::Q4_0 => {
            for (o, b) in out
                .chunks_exact_mut(32)
                .zip(bytes.chunks_exact(q4_0::BLOCK_BYTES))
            {
                q4_0::dequantize_block(b, o);
            }
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
        DType::Q8_0 => values
            .chunks_exact(32)
            .for_each(|b| q8_0::quantize_block(b, &mut out)),
        DType::Q4_0 => values
            .chunks_exact(32)
            .for_each(|b| q4_0::quantize_block(b, &mut out)),
    }
    out
}

/// Reads the little-endian f16 scale at the start of a block.
#[inline]
pub(crate) fn block_scale(block: &[u8]) -> f32 {
    f16::from_le_bytes([block[0], block[1]]).to_f32()
}
