//! Weights re-laid once, at load time, eight rows at a time, so that the matrix-product kernels
//! compute eight rows as the eight lanes of a vector: no horizontal sums, each block's eight
//! scales in one load, and one sequential stream per thread. This is what single-token
//! decoding needs (the prompt path gets the same from `cpu::panel`, packed per call), and the
//! prompt path reads these groups directly too. The layout has exactly the bytes of the file's
//! rows, so the interleaved copy replaces the file's pages rather than adding to them.
//!
//! Q4_0, per group of eight rows and per 32-value block (144 bytes, as eight file blocks): the
//! eight rows' f16 scales `d`, then four 32-byte vectors; vector `q` holds, for row `r` in bytes
//! `4r..4r + 4`, the file's code bytes `4q..4q + 4` of that row's block (low nibbles values
//! `4q..4q + 4`, high nibbles values `16 + 4q..`). Groups follow one another, so group `g` is
//! bytes `g·8·row_bytes..(g + 1)·8·row_bytes` of the tensor. The idea is llama.cpp's repacked
//! `block_q4_0x8`; the byte order here is our own.

use crate::quant::q4_0;
use crate::DType;

/// Rows per group (the lanes of an f32 or i32 AVX2 vector).
pub const ROWS: usize = 8;

/// Bytes of one Q4_0 block of a group: eight f16 scales and four 32-byte code vectors.
pub const Q4_0_GROUP_BLOCK: usize = ROWS * q4_0::BLOCK_BYTES;

/// Byte offset of the code vectors in a Q4_0 group block.
pub const Q4_0_CODES: usize = 2 * ROWS;

/// True when weights of `dtype` have an interleaved layout.
pub const fn supports(dtype: DType) -> bool {
    matches!(dtype, DType::Q4_0)
}

/// Interleaves `src` (whole groups of eight rows of `row_bytes` bytes each, in file layout) into
/// a new buffer of the same length. `dtype` must be one that `supports` accepts.
pub(crate) fn interleave(dtype: DType, src: &[u8], row_bytes: usize) -> Vec<u8> {
    assert!(supports(dtype) && src.len().is_multiple_of(ROWS * row_bytes));
    let mut out = vec![0u8; src.len()];
    let group_bytes = ROWS * row_bytes;
    for (rows, group) in src
        .chunks_exact(group_bytes)
        .zip(out.chunks_exact_mut(group_bytes))
    {
        for (b, block) in group.chunks_exact_mut(Q4_0_GROUP_BLOCK).enumerate() {
            for r in 0..ROWS {
                let file = &rows[r * row_bytes + b * q4_0::BLOCK_BYTES..][..q4_0::BLOCK_BYTES];
                block[2 * r..2 * r + 2].copy_from_slice(&file[..2]);
                for q in 0..4 {
                    let at = Q4_0_CODES + 32 * q + 4 * r;
                    block[at..at + 4].copy_from_slice(&file[2 + 4 * q..2 + 4 * q + 4]);
                }
            }
        }
    }
    out
}

/// Row `r` of block `b` of an interleaved `group`, in file layout, into `out`
/// (`dtype.block_bytes()` bytes).
pub fn file_block(dtype: DType, group: &[u8], b: usize, r: usize, out: &mut [u8]) {
    debug_assert_eq!(dtype, DType::Q4_0);
    let block = &group[b * Q4_0_GROUP_BLOCK..(b + 1) * Q4_0_GROUP_BLOCK];
    out[..2].copy_from_slice(&block[2 * r..2 * r + 2]);
    for q in 0..4 {
        let at = Q4_0_CODES + 32 * q + 4 * r;
        out[2 + 4 * q..2 + 4 * q + 4].copy_from_slice(&block[at..at + 4]);
    }
}

/// Row `r` of an interleaved `group` (eight rows of `row_bytes`), in file layout, into `out`
/// (`row_bytes` bytes).
pub(crate) fn file_row(dtype: DType, group: &[u8], r: usize, out: &mut [u8]) {
    let bb = dtype.block_bytes();
    for (b, block) in out.chunks_exact_mut(bb).enumerate() {
        file_block(dtype, group, b, r, block);
    }
}
