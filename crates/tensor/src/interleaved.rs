//! Weights re-laid once, at load time, eight rows at a time, so that the matrix-product kernels
//! compute eight rows as the eight lanes of a vector: no horizontal sums, each block's eight
//! scales in one load, and one sequential stream per thread. Single-token decoding and batched
//! prompts read these groups in place (a matrix left in file layout is interleaved a group at a
//! time per call instead). The layout has exactly the bytes of the file's rows, so the
//! interleaved copy replaces the file's pages rather than adding to them.
//!
//! Per group of eight rows and per block, the group block holds each field of the file's block
//! (a `Segment`) for the eight rows, one field after another; within a field, unit `u` of row
//! `r` (units of 1, 2 or 4 bytes) sits at unit index `8u + r`. So a 4-byte-unit field is a run
//! of 32-byte vectors whose lanes are the rows, and a 2-byte field such as `d` is the rows'
//! eight f16 scales. Groups follow one another, so group `g` is bytes
//! `g·8·row_bytes..(g + 1)·8·row_bytes` of the tensor.
//!
//! - Q4_0 (144 bytes per block): `d` ×8, then the 16 code bytes as four vectors; vector `q`
//!   holds code bytes `4q..4q + 4` of each row (low nibbles values `4q..`, high `16 + 4q..`).
//! - Q8_0 (272 bytes per block): `d` ×8, then the 32 signed codes as eight vectors (vector `q`
//!   holds codes `4q..4q + 4` of each row).
//! - Q4_K (1,152 bytes per block): `d` ×8, `dmin` ×8, the twelve packed scale bytes as
//!   `[k][r]`, then the 128 code bytes as 32 vectors (vector `8j + g` holds code bytes
//!   `32j + 4g..` of each row: low nibbles values `64j + 4g..`, high nibbles `64j + 32 + 4g..`).
//! - Q6_K (1,680 bytes per block): `d` ×8, the sixteen i8 sub-block scales as `[k][r]` bytes,
//!   then for each half `h` of the block and each `l = 4g` (g < 8) three vectors: `ql` bytes
//!   `64h + l..`, `ql` bytes `64h + 32 + l..` and `qh` bytes `32h + l..` (together the codes of
//!   values `128h + l`, `+ 32`, `+ 64` and `+ 96`, four each), in the order the kernel
//!   reads them, so a group streams front to back.
//!
//! The idea is llama.cpp's repacked `block_q4_0x8`; the byte order here is our own.

use crate::cpu::parallel;
use crate::quant::k_quants::{Q4K_BYTES, Q6K_BYTES};
use crate::quant::{q4_0, q8_0};
use crate::DType;

/// Rows per group (the lanes of an f32 or i32 AVX2 vector).
pub const ROWS: usize = 8;

/// Bytes of one Q4_0 block of a group.
pub const Q4_0_GROUP_BLOCK: usize = ROWS * q4_0::BLOCK_BYTES;
/// Byte offset of the code vectors in a Q4_0 group block.
pub const Q4_0_CODES: usize = 2 * ROWS;

/// Bytes of one Q8_0 block of a group.
pub const Q8_0_GROUP_BLOCK: usize = ROWS * q8_0::BLOCK_BYTES;
/// Byte offset of the code vectors in a Q8_0 group block.
pub const Q8_0_CODES: usize = 2 * ROWS;

/// Bytes of one Q4_K block of a group.
pub const Q4K_GROUP_BLOCK: usize = ROWS * Q4K_BYTES;
/// Byte offset of the `dmin` scales in a Q4_K group block.
pub const Q4K_DMIN: usize = 2 * ROWS;
/// Byte offset of the `[k][r]` packed scale bytes in a Q4_K group block.
pub const Q4K_SCALES: usize = 4 * ROWS;
/// Byte offset of the code vectors in a Q4_K group block.
pub const Q4K_CODES: usize = Q4K_SCALES + 12 * ROWS;

/// Bytes of one Q6_K block of a group.
pub const Q6K_GROUP_BLOCK: usize = ROWS * Q6K_BYTES;
/// Byte offset of the `[k][r]` sub-block scales in a Q6_K group block.
pub const Q6K_SCALES: usize = 2 * ROWS;
/// Byte offset of the code vectors (`ql`, `ql`, `qh` triples) in a Q6_K group block.
pub const Q6K_CODES: usize = Q6K_SCALES + 16 * ROWS;

/// One field of a file block: `len` bytes at `at`, interleaved in units of `unit` bytes.
struct Segment {
    at: usize,
    len: usize,
    unit: usize,
}

const fn seg(at: usize, len: usize, unit: usize) -> Segment {
    Segment { at, len, unit }
}

/// The fields of a block of `dtype`, in their order in the group block; `None` for the types
/// without an interleaved layout.
fn segments(dtype: DType) -> Option<&'static [Segment]> {
    const Q4_0: [Segment; 2] = [seg(0, 2, 2), seg(2, 16, 4)];
    const Q8_0: [Segment; 2] = [seg(0, 2, 2), seg(2, 32, 4)];
    const Q4K: [Segment; 4] = [seg(0, 2, 2), seg(2, 2, 2), seg(4, 12, 1), seg(16, 128, 4)];
    const Q6K: [Segment; 50] = q6k_segments();
    match dtype {
        DType::Q4_0 => Some(&Q4_0),
        DType::Q8_0 => Some(&Q8_0),
        DType::Q4K => Some(&Q4K),
        DType::Q6K => Some(&Q6K),
        _ => None,
    }
}

/// Q6_K's fields: `d` (at 208), the scales (at 192), then per half and per four values the two
/// `ql` runs and the `qh` run.
const fn q6k_segments() -> [Segment; 50] {
    let mut s = [const { seg(0, 0, 1) }; 50];
    s[0] = seg(208, 2, 2);
    s[1] = seg(192, 16, 1);
    let mut i = 0;
    while i < 16 {
        let (h, l) = (i / 8, 4 * (i % 8));
        s[2 + 3 * i] = seg(64 * h + l, 4, 4);
        s[3 + 3 * i] = seg(64 * h + 32 + l, 4, 4);
        s[4 + 3 * i] = seg(128 + 32 * h + l, 4, 4);
        i += 1;
    }
    s
}

/// True when weights of `dtype` have an interleaved layout.
pub fn supports(dtype: DType) -> bool {
    segments(dtype).is_some()
}

/// Calls `f(file_at, group_at, unit, count)` for each field of a block: `count` units of `unit`
/// bytes; unit `u` of row `r` is at `file_at + u·unit` in the row's file block and at
/// `group_at + (8u + r)·unit` in the group block. The one statement of the layout; both
/// directions copy through it.
#[inline(always)]
fn for_each_field(dtype: DType, mut f: impl FnMut(usize, usize, usize, usize)) {
    let mut base = 0;
    for s in segments(dtype).expect("a type with an interleaved layout") {
        f(s.at, base, s.unit, s.len / s.unit);
        base += ROWS * s.len;
    }
}

/// Copies `count` units of `unit` bytes (1, 2 or 4), unit `u` from `src[from + u·src_step..]`
/// to `dst[to + u·dst_step..]`, each a fixed-size copy (a slice copy of run-time length would
/// be a `memmove` call per unit).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn copy_units(
    dst: &mut [u8],
    to: usize,
    dst_step: usize,
    src: &[u8],
    from: usize,
    src_step: usize,
    unit: usize,
    count: usize,
) {
    fn strided<const N: usize>(
        dst: &mut [u8],
        to: usize,
        ds: usize,
        src: &[u8],
        from: usize,
        ss: usize,
        count: usize,
    ) {
        for u in 0..count {
            dst[to + u * ds..][..N].copy_from_slice(&src[from + u * ss..][..N]);
        }
    }
    match unit {
        4 => strided::<4>(dst, to, dst_step, src, from, src_step, count),
        2 => strided::<2>(dst, to, dst_step, src, from, src_step, count),
        _ => strided::<1>(dst, to, dst_step, src, from, src_step, count),
    }
}

/// Interleaves `src` (whole groups of eight rows of `row_bytes` bytes each, in file layout) into
/// `out` (as long), groups spread over the machine's cores. `dtype` must be one that
/// `supports` accepts.
pub(crate) fn interleave(dtype: DType, src: &[u8], row_bytes: usize, out: &mut [u8]) {
    let group_bytes = ROWS * row_bytes;
    assert!(supports(dtype) && src.len().is_multiple_of(group_bytes) && out.len() == src.len());
    let threads = parallel::physical_cores();
    parallel::for_each_range_mut(out, group_bytes, threads, |groups, part| {
        for (g, group) in groups.zip(part.chunks_exact_mut(group_bytes)) {
            interleave_group(dtype, &src[g * group_bytes..(g + 1) * group_bytes], group);
        }
    });
}

/// Interleaves one group: `rows` (eight rows in file layout, one after another) into `group`
/// (as long). This is also how a batched product reads a matrix left in file layout: a group
/// at a time into a per-thread buffer.
pub(crate) fn interleave_group(dtype: DType, rows: &[u8], group: &mut [u8]) {
    let row_bytes = rows.len() / ROWS;
    let (bb, gb) = (dtype.block_bytes(), ROWS * dtype.block_bytes());
    for (b, block) in group.chunks_exact_mut(gb).enumerate() {
        for_each_field(dtype, |file_at, group_at, unit, count| {
            for r in 0..ROWS {
                let file = &rows[r * row_bytes + b * bb..][..bb];
                let to = group_at + r * unit;
                copy_units(block, to, ROWS * unit, file, file_at, unit, unit, count);
            }
        });
    }
}

/// Row `r` of block `b` of an interleaved `group`, in file layout, into `out`
/// (`dtype.block_bytes()` bytes).
pub fn file_block(dtype: DType, group: &[u8], b: usize, r: usize, out: &mut [u8]) {
    let gb = ROWS * dtype.block_bytes();
    let block = &group[b * gb..(b + 1) * gb];
    for_each_field(dtype, |file_at, group_at, unit, count| {
        let from = group_at + r * unit;
        copy_units(out, file_at, unit, block, from, ROWS * unit, unit, count);
    });
}
