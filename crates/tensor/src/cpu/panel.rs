//! Eight-row weight panels for the batched (prefill) matrix product. A panel holds eight
//! consecutive weight rows re-laid so that one 32-byte vector carries four consecutive codes of
//! each of the eight rows: a kernel multiplies it by four activation bytes broadcast to every
//! lane, and its eight lanes end as the eight rows' results for one token, with no horizontal
//! sums and with each row's scales already in a vector. Packing is plain Rust shared by every
//! instruction set, done per call into a per-thread buffer (a few tens of KB), so the model's
//! weights keep their file layout and single-token decoding is unaffected. The layout is the
//! same idea as llama.cpp's repacked `q4_0_8x8`; the format here is our own.
//!
//! Per weight block (32 values for Q4_0/Q8_0, 256 for the K-quants) a panel stores f32 vectors
//! of per-row scales, then (K-quants) i16 sub-block scale vectors, then the codes as
//! `[group][row][4 bytes]`, group `g` holding values `4g..4g+4` of the block. Codes are the
//! unsigned ones of the file (Q4_0 0..15, Q4_K 0..15, Q6_K 0..63) except Q8_0's signed bytes.

use crate::quant::k_quants::{scale_min_k4, Q4K_BYTES, Q6K_BYTES, QK_K};
use crate::quant::{block_scale, f16_at};
use crate::DType;

/// Weight rows per panel (the lanes of an f32 or i32 AVX2 vector).
pub const ROWS: usize = 8;

/// Bytes of one 32-byte vector of a panel.
const VEC: usize = 32;

/// A weight type's panel layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelFormat {
    /// Per 32 values: `d` ×8, `−8·d` ×8 (the offset, taken out through the activation sums),
    /// codes 0..15.
    Q4_0,
    /// Per 32 values: `d` ×8, signed codes.
    Q8_0,
    /// Per 256 values: `d` ×8, `−dmin` ×8, eight sub-block scale vectors (each lane the row's
    /// 6-bit scale twice, as i16), eight min vectors (likewise), codes 0..15.
    Q4K,
    /// Per 256 values: `d` ×8, sixteen scale vectors (each lane the row's 16-value sub-block
    /// scale twice, as i16), eight scale-pair vectors (sub-blocks 2p and 2p+1), codes 0..63
    /// (the −32 offset is taken out through the activation's 16-value sums).
    Q6K,
}

impl PanelFormat {
    /// The panel layout for weights of `dtype`, for the types that have one.
    pub const fn for_weights(dtype: DType) -> Option<PanelFormat> {
        match dtype {
            DType::Q4_0 => Some(PanelFormat::Q4_0),
            DType::Q8_0 => Some(PanelFormat::Q8_0),
            DType::Q4K => Some(PanelFormat::Q4K),
            DType::Q6K => Some(PanelFormat::Q6K),
            _ => None,
        }
    }

    /// The weight type this layout packs.
    pub const fn dtype(self) -> DType {
        match self {
            PanelFormat::Q4_0 => DType::Q4_0,
            PanelFormat::Q8_0 => DType::Q8_0,
            PanelFormat::Q4K => DType::Q4K,
            PanelFormat::Q6K => DType::Q6K,
        }
    }

    /// Bytes of one packed block of eight rows.
    pub const fn block_bytes(self) -> usize {
        match self {
            PanelFormat::Q4_0 => Q4_0_BLOCK,
            PanelFormat::Q8_0 => Q8_0_BLOCK,
            PanelFormat::Q4K => Q4K_BLOCK,
            PanelFormat::Q6K => Q6K_BLOCK,
        }
    }

    /// Bytes of a panel of eight rows of `cols` values (`cols` a multiple of the block size).
    pub const fn panel_bytes(self, cols: usize) -> usize {
        cols / self.dtype().block_size() * self.block_bytes()
    }

    /// Byte offset of a packed block's codes.
    const fn codes_at(self) -> usize {
        match self {
            PanelFormat::Q4_0 => 2 * VEC,
            PanelFormat::Q8_0 => VEC,
            PanelFormat::Q4K => Q4K_CODES,
            PanelFormat::Q6K => Q6K_CODES,
        }
    }

    /// Packs eight weight rows (`rows`: the rows' file bytes, one after another) into `panel`
    /// (`panel_bytes(cols)` bytes). Each row's codes are unpacked in value order, then
    /// `transpose` (a kernel set's `transpose_codes`) interleaves the eight rows.
    pub fn pack(self, rows: &[u8], panel: &mut [u8], transpose: TransposeCodesFn) {
        let row_bytes = rows.len() / ROWS;
        let wb = self.dtype().block_bytes();
        let bb = self.block_bytes();
        let values = self.dtype().block_size();
        let mut stage = [0u8; ROWS * QK_K];
        for (b, out) in panel.chunks_exact_mut(bb).enumerate() {
            for r in 0..ROWS {
                let block = &rows[r * row_bytes + b * wb..r * row_bytes + (b + 1) * wb];
                let codes = &mut stage[r * values..(r + 1) * values];
                match self {
                    PanelFormat::Q4_0 => pack_q4_0(block, r, out, codes),
                    PanelFormat::Q8_0 => pack_q8_0(block, r, out, codes),
                    PanelFormat::Q4K => pack_q4k(block, r, out, codes),
                    PanelFormat::Q6K => pack_q6k(block, r, out, codes),
                }
            }
            let at = self.codes_at();
            for c in 0..values / 32 {
                transpose(
                    &stage[32 * c..],
                    values,
                    &mut out[at + 256 * c..at + 256 * (c + 1)],
                );
            }
        }
    }
}

/// Interleaves eight rows of 32 codes: `out[32g + 4r + k] = src[r · stride + 4g + k]` for
/// groups `g`, rows `r` < 8 and `k` < 4 (`out` is 256 bytes).
pub type TransposeCodesFn = fn(src: &[u8], stride: usize, out: &mut [u8]);

/// Plain-Rust `TransposeCodesFn`.
pub fn transpose_codes(src: &[u8], stride: usize, out: &mut [u8]) {
    for (g, group) in out[..8 * VEC].chunks_exact_mut(VEC).enumerate() {
        for (r, lane) in group.chunks_exact_mut(4).enumerate() {
            lane.copy_from_slice(&src[r * stride + 4 * g..r * stride + 4 * g + 4]);
        }
    }
}

/// Q4_0 panel block: d ×8, −8d ×8, 8 code groups.
pub const Q4_0_BLOCK: usize = 2 * VEC + 8 * VEC;
/// Q8_0 panel block: d ×8, 8 code groups.
pub const Q8_0_BLOCK: usize = VEC + 8 * VEC;
/// Byte offset of the Q4_K panel's scale vectors.
pub const Q4K_SCALES: usize = 2 * VEC;
/// Byte offset of the Q4_K panel's min vectors.
pub const Q4K_MINS: usize = Q4K_SCALES + 8 * VEC;
/// Byte offset of the Q4_K panel's codes.
pub const Q4K_CODES: usize = Q4K_MINS + 8 * VEC;
/// Q4_K panel block.
pub const Q4K_BLOCK: usize = Q4K_CODES + QK_K / 4 * VEC;
/// Byte offset of the Q6_K panel's scale vectors.
pub const Q6K_SCALES: usize = VEC;
/// Byte offset of the Q6_K panel's scale-pair vectors.
pub const Q6K_PAIRS: usize = Q6K_SCALES + 16 * VEC;
/// Byte offset of the Q6_K panel's codes.
pub const Q6K_CODES: usize = Q6K_PAIRS + 8 * VEC;
/// Q6_K panel block.
pub const Q6K_BLOCK: usize = Q6K_CODES + QK_K / 4 * VEC;

/// Writes lane `r` (4 bytes) of vector `v` at `at`.
#[inline]
fn put_lane(out: &mut [u8], at: usize, r: usize, lane: [u8; 4]) {
    out[at + 4 * r..at + 4 * r + 4].copy_from_slice(&lane);
}

/// Stores eight codes (one byte each, as a little-endian u64): values `v..v + 8`.
#[inline]
fn put_codes8(codes: &mut [u8], v: usize, eight: u64) {
    codes[v..v + 8].copy_from_slice(&eight.to_le_bytes());
}

/// The little-endian u64 at byte `at`.
#[inline]
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// Low nibble of every byte.
const NIBBLES: u64 = 0x0f0f_0f0f_0f0f_0f0f;

/// An i16 written twice into a lane.
#[inline]
fn i16_twice(v: i16) -> [u8; 4] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[0], b[1]]
}

/// Two i16 in a lane.
#[inline]
fn i16_pair(lo: i16, hi: i16) -> [u8; 4] {
    let (l, h) = (lo.to_le_bytes(), hi.to_le_bytes());
    [l[0], l[1], h[0], h[1]]
}

fn pack_q4_0(block: &[u8], r: usize, out: &mut [u8], codes: &mut [u8]) {
    let d = block_scale(block);
    put_lane(out, 0, r, d.to_le_bytes());
    put_lane(out, VEC, r, (-8.0 * d).to_le_bytes());
    // Byte j holds value j (low nibble) and value j + 16 (high nibble).
    for half in 0..2 {
        let x = u64_at(block, 2 + 8 * half);
        put_codes8(codes, 8 * half, x & NIBBLES);
        put_codes8(codes, 16 + 8 * half, (x >> 4) & NIBBLES);
    }
}

fn pack_q8_0(block: &[u8], r: usize, out: &mut [u8], codes: &mut [u8]) {
    put_lane(out, 0, r, block_scale(block).to_le_bytes());
    for v in (0..32).step_by(8) {
        put_codes8(codes, v, u64_at(block, 2 + v));
    }
}

fn pack_q4k(block: &[u8], r: usize, out: &mut [u8], codes: &mut [u8]) {
    debug_assert_eq!(block.len(), Q4K_BYTES);
    put_lane(out, 0, r, block_scale(block).to_le_bytes());
    put_lane(out, VEC, r, (-f16_at(block, 2)).to_le_bytes());
    let scales = &block[4..16];
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        put_lane(out, Q4K_SCALES + j * VEC, r, i16_twice(i16::from(sc)));
        put_lane(out, Q4K_MINS + j * VEC, r, i16_twice(i16::from(m)));
    }
    // Bytes 32j..32j+32 hold sub-block 2j in their low nibbles and 2j + 1 in their high ones.
    for j in 0..4 {
        for l in (0..32).step_by(8) {
            let x = u64_at(block, 16 + 32 * j + l);
            put_codes8(codes, 64 * j + l, x & NIBBLES);
            put_codes8(codes, 64 * j + 32 + l, (x >> 4) & NIBBLES);
        }
    }
}

fn pack_q6k(block: &[u8], r: usize, out: &mut [u8], codes: &mut [u8]) {
    debug_assert_eq!(block.len(), Q6K_BYTES);
    put_lane(out, 0, r, f16_at(block, 208).to_le_bytes());
    let sc = |k: usize| i16::from(block[192 + k] as i8);
    for k in 0..16 {
        put_lane(out, Q6K_SCALES + k * VEC, r, i16_twice(sc(k)));
    }
    for p in 0..8 {
        put_lane(
            out,
            Q6K_PAIRS + p * VEC,
            r,
            i16_pair(sc(2 * p), sc(2 * p + 1)),
        );
    }
    // Codes 0..63 (the stored form, before ggml's −32): four low bits from `ql`, two high
    // bits from `qh`, as in `k_quants::q6k_codes`, eight values per word.
    const TWO_BITS: u64 = 0x0303_0303_0303_0303;
    for half in 0..2 {
        let (ql, qh, y) = (64 * half, 128 + 32 * half, 128 * half);
        for l in (0..32).step_by(8) {
            let (a, b, h) = (
                u64_at(block, ql + l),
                u64_at(block, ql + 32 + l),
                u64_at(block, qh + l),
            );
            let high = |shift: u32| ((h >> shift) & TWO_BITS) << 4;
            put_codes8(codes, y + l, (a & NIBBLES) | high(0));
            put_codes8(codes, y + l + 32, (b & NIBBLES) | high(2));
            put_codes8(codes, y + l + 64, ((a >> 4) & NIBBLES) | high(4));
            put_codes8(codes, y + l + 96, ((b >> 4) & NIBBLES) | high(6));
        }
    }
}

/// The f32 in lane `r` of the vector at `at`.
fn f32_lane(p: &[u8], at: usize, r: usize) -> f32 {
    f32::from_le_bytes(lane(p, at, r))
}

/// The four bytes of lane `r` of the vector at `at`.
fn lane(p: &[u8], at: usize, r: usize) -> [u8; 4] {
    [
        p[at + 4 * r],
        p[at + 4 * r + 1],
        p[at + 4 * r + 2],
        p[at + 4 * r + 3],
    ]
}

/// The two i16 of lane `r` of the vector at `at`.
fn i16_lane(p: &[u8], at: usize, r: usize) -> (i32, i32) {
    let l = lane(p, at, r);
    (
        i32::from(i16::from_le_bytes([l[0], l[1]])),
        i32::from(i16::from_le_bytes([l[2], l[3]])),
    )
}

/// Σ over `groups` code groups from `at` of row `r`'s codes × activation bytes from `x`
/// (unsigned codes, or signed for Q8_0).
fn group_dot(p: &[u8], at: usize, r: usize, x: &[u8], groups: usize, signed: bool) -> i32 {
    let mut s = 0;
    for g in 0..groups {
        for (k, &c) in lane(p, at + g * VEC, r).iter().enumerate() {
            let c = if signed {
                i32::from(c as i8)
            } else {
                i32::from(c)
            };
            s += c * i32::from(x[4 * g + k] as i8);
        }
    }
    s
}

/// The f32 at byte `at` of an activation block.
fn act_f32(a: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([a[at], a[at + 1], a[at + 2], a[at + 3]])
}

/// The i16 pair at byte `at` of an activation block.
fn act_i16_pair(a: &[u8], at: usize) -> (i32, i32) {
    (
        i32::from(i16::from_le_bytes([a[at], a[at + 1]])),
        i32::from(i16::from_le_bytes([a[at + 2], a[at + 3]])),
    )
}

/// Plain-Rust panel · activations: what an instruction set's panel kernel computes, with the
/// same integer sums and the same order of float operations (`out[t][r]` for each activation
/// row `t < acts.len() ≤ 4`). Activations are in the weight type's `ActFormat`.
pub fn multiply_reference(
    format: PanelFormat,
    panel: &[u8],
    acts: &[&[u8]],
    out: &mut [[f32; 8]; 4],
) {
    use crate::quant::activation::{Q8K_BYTES, Q8_BYTES};
    let bb = format.block_bytes();
    for (act, out) in acts.iter().zip(out.iter_mut()) {
        for (r, out) in out.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for (b, p) in panel.chunks_exact(bb).enumerate() {
                match format {
                    PanelFormat::Q4_0 | PanelFormat::Q8_0 => {
                        let a = &act[b * Q8_BYTES..(b + 1) * Q8_BYTES];
                        let codes = if format == PanelFormat::Q4_0 {
                            2 * VEC
                        } else {
                            VEC
                        };
                        let s = group_dot(p, codes, r, &a[8..], 8, format == PanelFormat::Q8_0);
                        acc += s as f32 * (f32_lane(p, 0, r) * act_f32(a, 0));
                        if format == PanelFormat::Q4_0 {
                            acc += f32_lane(p, VEC, r) * act_f32(a, 4);
                        }
                    }
                    PanelFormat::Q4K => {
                        let a = &act[b * Q8K_BYTES..(b + 1) * Q8K_BYTES];
                        let (mut s, mut m) = (0i32, 0i32);
                        for j in 0..8 {
                            let at = Q4K_CODES + 8 * j * VEC;
                            let dot = group_dot(p, at, r, &a[4 + 32 * j..], 8, false);
                            s += dot * i16_lane(p, Q4K_SCALES + j * VEC, r).0;
                            let (s0, s1) = act_i16_pair(a, 260 + 4 * j);
                            m += i16_lane(p, Q4K_MINS + j * VEC, r).0 * (s0 + s1);
                        }
                        let da = act_f32(a, 0);
                        acc += s as f32 * (f32_lane(p, 0, r) * da);
                        acc += m as f32 * (f32_lane(p, VEC, r) * da);
                    }
                    PanelFormat::Q6K => {
                        let a = &act[b * Q8K_BYTES..(b + 1) * Q8K_BYTES];
                        let (mut s, mut o) = (0i32, 0i32);
                        for k in 0..16 {
                            let at = Q6K_CODES + 4 * k * VEC;
                            let dot = group_dot(p, at, r, &a[4 + 16 * k..], 4, false);
                            s += dot * i16_lane(p, Q6K_SCALES + k * VEC, r).0;
                        }
                        for pair in 0..8 {
                            let (c0, c1) = i16_lane(p, Q6K_PAIRS + pair * VEC, r);
                            let (s0, s1) = act_i16_pair(a, 260 + 4 * pair);
                            o += c0 * s0 + c1 * s1;
                        }
                        acc += (s - 32 * o) as f32 * (f32_lane(p, 0, r) * act_f32(a, 0));
                    }
                }
            }
            *out = acc;
        }
    }
}
