//! AVX2 + FMA + F16C kernels for x86-64 (every x86 CPU since Haswell / Zen). Same signatures as
//! `scalar`; the table is handed out only after run-time detection, which is what makes the
//! safe wrappers below sound.
//!
//! Quantized kernels multiply unsigned weight codes by signed 8-bit activations with
//! `vpmaddubsw` (pairs summed to i16), widen with `vpmaddwd` (which also applies integer
//! sub-block scales), and scale once per block in f32. Offsets such as Q4_0's −8 are taken out
//! once per block through the activation block sums instead of per element. The approach is
//! ggml's (`ggml-cpu/arch/x86/quants.c`); the code is written from the formats.

use std::arch::x86_64::*;

use super::{CacheRows, KernelSet};
use crate::interleaved as x8;
use crate::quant::activation::{Q8K_BYTES, Q8_BYTES};
use crate::quant::iq4::{self, KVALUES};
use crate::quant::k_quants::{self, scale_min_k4};

static KERNELS: KernelSet = KernelSet {
    name: "avx2",
    dot_f32,
    dot_f16,
    dot_bf16,
    tile_f32,
    tile_f16,
    tile_bf16,
    dot_q4_0,
    dot_q4_1,
    dot_q5_0,
    dot_q5_1,
    dot_q8_0,
    dot_iq4_nl,
    dot_q2_k,
    dot_q3_k,
    dot_q4_k,
    dot_q5_k,
    dot_q6_k,
    dot_iq4_xs,
    dot4_q4_0,
    dot4_q8_0,
    dot4_q4_k,
    dot4_q6_k,
    dot_rows,
    weighted_rows,
    to_f16,
    softmax,
    silu_mul,
    interleaved_q4_0,
    interleaved_q8_0,
    interleaved_q4_k,
    interleaved_q6_k,
};

/// The AVX2 kernel set, when this CPU has AVX2, FMA and F16C.
pub fn kernels() -> Option<&'static KernelSet> {
    let ok = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    ok.then_some(&KERNELS)
}

macro_rules! wrappers4 {
    ($($name:ident => $imp:ident),* $(,)?) => {$(
        fn $name(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
            // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and
            // f16c.
            unsafe { $imp(row, acts) }
        }
    )*};
}

wrappers4! {
    dot4_q4_0 => dot4_q4_0_avx2,
    dot4_q8_0 => dot4_q8_0_avx2,
    dot4_q4_k => dot4_q4_k_avx2,
    dot4_q6_k => dot4_q6_k_avx2,
}

// The wrappers are private: they are reachable only through `KERNELS`, which `kernels()` returns
// only after the features were detected.
macro_rules! wrappers {
    ($($name:ident($($arg:ident: $ty:ty),*) => $imp:ident),* $(,)?) => {$(
        fn $name($($arg: $ty),*) -> f32 {
            // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and
            // f16c.
            unsafe { $imp($($arg),*) }
        }
    )*};
}

wrappers! {
    dot_q4_0(row: &[u8], act: &[u8]) => dot_q4_0_avx2,
    dot_q4_1(row: &[u8], act: &[u8]) => dot_q4_1_avx2,
    dot_q5_0(row: &[u8], act: &[u8]) => dot_q5_0_avx2,
    dot_q5_1(row: &[u8], act: &[u8]) => dot_q5_1_avx2,
    dot_q8_0(row: &[u8], act: &[u8]) => dot_q8_0_avx2,
    dot_iq4_nl(row: &[u8], act: &[u8]) => dot_iq4_nl_avx2,
    dot_q2_k(row: &[u8], act: &[u8]) => dot_q2_k_avx2,
    dot_q3_k(row: &[u8], act: &[u8]) => dot_q3_k_avx2,
    dot_q4_k(row: &[u8], act: &[u8]) => dot_q4_k_avx2,
    dot_q5_k(row: &[u8], act: &[u8]) => dot_q5_k_avx2,
    dot_q6_k(row: &[u8], act: &[u8]) => dot_q6_k_avx2,
    dot_iq4_xs(row: &[u8], act: &[u8]) => dot_iq4_xs_avx2,
}

fn dot_rows(qs: &[f32], width: usize, rows: CacheRows<'_>, offsets: &[usize], out: &mut [f32]) {
    let (m, n) = gathered_shape(qs.len(), width, offsets.len(), out.len());
    if !width.is_multiple_of(8) {
        return super::scalar::dot_rows(qs, width, rows, offsets, out);
    }
    check_gather(rows.len(), offsets, width);
    for q0 in (0..m).step_by(4) {
        let (q, o) = (&qs[q0 * width..], &mut out[q0 * n..]);
        macro_rules! run {
            ($f16:literal, $base:expr) => {
                // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma
                // and f16c; every gathered row was checked to lie inside the rows, and `q`, `o`
                // hold the group's queries and scores (shapes checked by `gathered_shape`).
                unsafe {
                    match m - q0 {
                        1 => dot_rows_avx2::<1, $f16>(q, width, $base, offsets, o),
                        2 => dot_rows_avx2::<2, $f16>(q, width, $base, offsets, o),
                        3 => dot_rows_avx2::<3, $f16>(q, width, $base, offsets, o),
                        _ => dot_rows_avx2::<4, $f16>(q, width, $base, offsets, o),
                    }
                }
            };
        }
        match rows {
            CacheRows::F32(r) => run!(false, r.as_ptr().cast()),
            CacheRows::F16(r) => run!(true, r.as_ptr().cast()),
        }
    }
}

fn weighted_rows(
    ps: &[f32],
    rows: CacheRows<'_>,
    offsets: &[usize],
    out: &mut [f32],
    width: usize,
) {
    let (m, n) = gathered_shape(out.len(), width, offsets.len(), ps.len());
    if !width.is_multiple_of(8) {
        return super::scalar::weighted_rows(ps, rows, offsets, out, width);
    }
    check_gather(rows.len(), offsets, width);
    for q0 in (0..m).step_by(4) {
        let (p, o) = (&ps[q0 * n..], &mut out[q0 * width..]);
        macro_rules! run {
            ($f16:literal, $base:expr) => {
                // SAFETY: as in `dot_rows`.
                unsafe {
                    match m - q0 {
                        // One query: its whole row in registers, 64 values per pass.
                        1 => weighted_rows_avx2::<$f16>(&p[..n], $base, offsets, &mut o[..width]),
                        2 => weighted_rows_multi_avx2::<2, $f16>(p, width, $base, offsets, o),
                        3 => weighted_rows_multi_avx2::<3, $f16>(p, width, $base, offsets, o),
                        _ => weighted_rows_multi_avx2::<4, $f16>(p, width, $base, offsets, o),
                    }
                }
            };
        }
        match rows {
            CacheRows::F32(r) => run!(false, r.as_ptr().cast()),
            CacheRows::F16(r) => run!(true, r.as_ptr().cast()),
        }
    }
}

fn to_f16(src: &[f32], dst: &mut [u16]) {
    assert!(
        dst.len() >= src.len(),
        "to_f16: {} values into {}",
        src.len(),
        dst.len()
    );
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { to_f16_avx2(src, dst) }
}

/// f32 → f16 with round-to-nearest-even (`vcvtps2ph`), as `half::f16::from_f32`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn to_f16_avx2(src: &[f32], dst: &mut [u16]) {
    let n = src.len();
    let body = n - n % 8;
    for i in (0..body).step_by(8) {
        // SAFETY: i + 8 ≤ body ≤ n ≤ dst.len().
        unsafe {
            let h = _mm256_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(_mm256_loadu_ps(
                src.as_ptr().add(i),
            ));
            _mm_storeu_si128(dst.as_mut_ptr().add(i).cast(), h);
        }
    }
    super::scalar::to_f16(&src[body..], &mut dst[body..n]);
}

/// Eight cached values at element `at` of `base`: f32, or f16 widened (`F16`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<const F16: bool>(base: *const u8, at: usize) -> __m256 {
    // SAFETY: the caller guarantees eight readable elements at `at`.
    unsafe {
        if F16 {
            _mm256_cvtph_ps(_mm_loadu_si128(base.add(2 * at).cast()))
        } else {
            _mm256_loadu_ps(base.add(4 * at).cast())
        }
    }
}

/// `(m, n)`: the number of queries (`per_query / width`) and of gathered rows; panics unless
/// the per-row side (`per_row`) holds `m · n` values.
fn gathered_shape(per_query: usize, width: usize, n: usize, per_row: usize) -> (usize, usize) {
    let m = per_query / width.max(1);
    assert!(
        m * width == per_query && m * n == per_row,
        "gathered rows: {per_query} query values of width {width}, {n} rows, {per_row} scores"
    );
    (m, n)
}

/// Panics unless each row `offset..offset + width` lies inside `len` values.
fn check_gather(len: usize, offsets: &[usize], width: usize) {
    if let Some(last) = offsets.iter().copied().max() {
        assert!(
            last + width <= len,
            "gathered row at {last} (+{width}) outside {len} values"
        );
    }
}

/// Sums of four vectors, one per lane of the result.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum4(v: [__m256; 4]) -> __m128 {
    let h = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h))
}

/// Q queries (sharing a key-value head) against the gathered rows, two rows at a time: each
/// row is loaded once for all Q queries, and 2·Q independent FMA chains hide the latency.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_rows_avx2<const Q: usize, const F16: bool>(
    qs: &[f32],
    d: usize,
    base: *const u8,
    offsets: &[usize],
    out: &mut [f32],
) {
    let n = offsets.len();
    let qp = qs.as_ptr();
    let mut j = 0;
    while j < n {
        let pair = (n - j).min(2);
        // SAFETY: checked by `check_gather`: each row's d values lie inside `rows`; a lone last
        // row is read twice.
        let r = [offsets[j], offsets[j + pair - 1]];
        let mut acc = [[_mm256_setzero_ps(); 2]; Q];
        for c in (0..d).step_by(8) {
            // SAFETY: c + 8 ≤ d: inside each query (Q·d values of `qs`) and each row.
            unsafe {
                let k = [load8::<F16>(base, r[0] + c), load8::<F16>(base, r[1] + c)];
                for (qi, acc) in acc.iter_mut().enumerate() {
                    let qv = _mm256_loadu_ps(qp.add(qi * d + c));
                    acc[0] = _mm256_fmadd_ps(qv, k[0], acc[0]);
                    acc[1] = _mm256_fmadd_ps(qv, k[1], acc[1]);
                }
            }
        }
        for (qi, acc) in acc.iter().enumerate() {
            let sums = hsum4([acc[0], acc[1], acc[0], acc[1]]);
            let mut two = [0.0f32; 4];
            // SAFETY: `two` has room for four f32.
            unsafe { _mm_storeu_ps(two.as_mut_ptr(), sums) };
            out[qi * n + j..qi * n + j + pair].copy_from_slice(&two[..pair]);
        }
        j += pair;
    }
}

/// Sixty-four output values (eight vectors, all in registers) per pass over the rows, so each
/// row's values are read once, in order; a narrower remainder goes eight values per pass.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn weighted_rows_avx2<const F16: bool>(
    p: &[f32],
    base: *const u8,
    offsets: &[usize],
    out: &mut [f32],
) {
    let (d, n) = (out.len(), p.len());
    let op = out.as_mut_ptr();
    let mut c = 0;
    while c + 64 <= d {
        let mut acc = [_mm256_setzero_ps(); 8];
        for j in 0..n {
            let pj = _mm256_set1_ps(p[j]);
            // SAFETY: checked by `check_gather`: row j's values c..c + 64 lie inside `rows`
            // (c + 64 ≤ d).
            let row = offsets[j] + c;
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: as above.
                *acc = _mm256_fmadd_ps(pj, unsafe { load8::<F16>(base, row + 8 * k) }, *acc);
            }
        }
        for (k, acc) in acc.iter().enumerate() {
            // SAFETY: c + 64 ≤ d = out.len().
            unsafe { _mm256_storeu_ps(op.add(c + 8 * k), *acc) };
        }
        c += 64;
    }
    while c < d {
        let mut acc = _mm256_setzero_ps();
        for j in 0..n {
            // SAFETY: as above, with c + 8 ≤ d.
            let v = unsafe { load8::<F16>(base, offsets[j] + c) };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), v, acc);
        }
        // SAFETY: c + 8 ≤ d = out.len().
        unsafe { _mm256_storeu_ps(op.add(c), acc) };
        c += 8;
    }
}

/// Q queries' weighted sums over the same gathered rows, sixteen output values per pass: each
/// row's sixteen values are loaded once for all Q queries (2·Q accumulators).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn weighted_rows_multi_avx2<const Q: usize, const F16: bool>(
    ps: &[f32],
    d: usize,
    base: *const u8,
    offsets: &[usize],
    out: &mut [f32],
) {
    let n = offsets.len();
    let op = out.as_mut_ptr();
    let mut c = 0;
    while c < d {
        // Sixteen values, or the last eight.
        let two = d - c >= 16;
        let mut acc = [[_mm256_setzero_ps(); 2]; Q];
        for j in 0..n {
            // SAFETY: checked by `check_gather`: row j's values c..c + 8 (c + 16 when `two`)
            // lie inside `rows`.
            let v = unsafe {
                let row = offsets[j] + c;
                [
                    load8::<F16>(base, row),
                    if two {
                        load8::<F16>(base, row + 8)
                    } else {
                        _mm256_setzero_ps()
                    },
                ]
            };
            for (qi, acc) in acc.iter_mut().enumerate() {
                let pj = _mm256_set1_ps(ps[qi * n + j]);
                acc[0] = _mm256_fmadd_ps(pj, v[0], acc[0]);
                acc[1] = _mm256_fmadd_ps(pj, v[1], acc[1]);
            }
        }
        for (qi, acc) in acc.iter().enumerate() {
            // SAFETY: query qi's output values c..c + 8 (c + 16 when `two`) lie inside `out`
            // (Q·d values).
            unsafe {
                _mm256_storeu_ps(op.add(qi * d + c), acc[0]);
                if two {
                    _mm256_storeu_ps(op.add(qi * d + c + 8), acc[1]);
                }
            }
        }
        c += if two { 16 } else { 8 };
    }
}

fn softmax(x: &mut [f32]) {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { softmax_avx2(x) }
}

fn silu_mul(gate: &mut [f32], up: &[f32]) {
    assert!(
        up.len() >= gate.len(),
        "silu_mul: {} up values for {}",
        up.len(),
        gate.len()
    );
    // SAFETY: as in `softmax`; `up` is at least as long as `gate`.
    unsafe { silu_mul_avx2(gate, up) }
}

/// e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' degree-6 `expf`
/// polynomial (about 1 ulp), times 2^n through the exponent bits. x is clamped to
/// [−87.3, 88.7], so very negative inputs give ~1e-38 instead of 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn exp8(x: __m256) -> __m256 {
    let x = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
        _mm256_set1_ps(88.7),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let e = _mm256_add_ps(
        _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r),
        _mm256_set1_ps(1.0),
    );
    let bits = _mm256_slli_epi32::<23>(_mm256_cvtps_epi32(n));
    _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(e), bits))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn softmax_avx2(x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    let body = n - n % 8;
    let mut max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        max = 0.0;
    }
    let m = _mm256_set1_ps(max);
    let mut sum = _mm256_setzero_ps();
    for i in (0..body).step_by(8) {
        // SAFETY: i + 8 ≤ body ≤ n.
        unsafe {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), m));
            _mm256_storeu_ps(p.add(i), e);
            sum = _mm256_add_ps(sum, e);
        }
    }
    let mut total = hsum(sum);
    if body < n {
        // The tail through the same polynomial (padded), so a value's result does not depend
        // on its position in the row.
        let mut tail = [f32::NEG_INFINITY; 8];
        tail[..n - body].copy_from_slice(&x[body..]);
        // SAFETY: `tail` is eight f32.
        unsafe {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), m));
            _mm256_storeu_ps(tail.as_mut_ptr(), e);
        }
        x[body..].copy_from_slice(&tail[..n - body]);
        total += x[body..].iter().sum::<f32>();
    }
    let inv = _mm256_set1_ps(1.0 / total);
    for i in (0..body).step_by(8) {
        // SAFETY: as above.
        unsafe { _mm256_storeu_ps(p.add(i), _mm256_mul_ps(_mm256_loadu_ps(p.add(i)), inv)) };
    }
    for v in &mut x[body..] {
        *v /= total;
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn silu_mul_avx2(gate: &mut [f32], up: &[f32]) {
    let n = gate.len();
    let body = n - n % 8;
    let (g, u) = (gate.as_mut_ptr(), up.as_ptr());
    let one = _mm256_set1_ps(1.0);
    for i in (0..body).step_by(8) {
        // SAFETY: i + 8 ≤ body ≤ n ≤ up.len().
        unsafe {
            let x = _mm256_loadu_ps(g.add(i));
            let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
            let s = _mm256_div_ps(x, _mm256_add_ps(one, e));
            _mm256_storeu_ps(g.add(i), _mm256_mul_ps(s, _mm256_loadu_ps(u.add(i))));
        }
    }
    if body == n {
        return;
    }
    // The tail through the same polynomial (padded), so that an element's result does not
    // depend on where it sits in the batch.
    let (mut gt, mut ut) = ([0.0f32; 8], [0.0f32; 8]);
    gt[..n - body].copy_from_slice(&gate[body..]);
    ut[..n - body].copy_from_slice(&up[body..n]);
    // SAFETY: both are eight f32; this function's features are enabled.
    unsafe { silu_mul_avx2(&mut gt, &ut) };
    gate[body..].copy_from_slice(&gt[..n - body]);
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Plain-float weight types of the tile kernels.
const F32: u8 = 0;
const F16: u8 = 1;
const BF16: u8 = 2;

/// Eight weights of type `KIND` from element `i` of the row at `p`, as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn weights8<const KIND: u8>(p: *const u8, i: usize) -> __m256 {
    // SAFETY: the caller guarantees eight readable elements at `i`.
    unsafe {
        match KIND {
            F32 => _mm256_loadu_ps(p.add(4 * i).cast()),
            F16 => _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * i).cast())),
            _ => {
                let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(p.add(2 * i).cast()));
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(h))
            }
        }
    }
}

/// Weight `j` of type `KIND` of `row`, as f32.
fn weight<const KIND: u8>(row: &[u8], j: usize) -> f32 {
    match KIND {
        F32 => f32::from_le_bytes([row[4 * j], row[4 * j + 1], row[4 * j + 2], row[4 * j + 3]]),
        F16 => half::f16::from_le_bytes([row[2 * j], row[2 * j + 1]]).to_f32(),
        _ => half::bf16::from_le_bytes([row[2 * j], row[2 * j + 1]]).to_f32(),
    }
}

/// R float rows · T f32 rows. Each (row, token) pair has two accumulators of eight lanes
/// (columns 16k..16k + 8 and 16k + 8..16k + 16), added and summed horizontally, then the tail
/// in order: the same arithmetic for every R and T (batch invariance), with two independent
/// chains even for one row and one token, while the R·T pairs share each weight and activation
/// load.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn float_tile_avx2<const KIND: u8, const R: usize, const T: usize>(
    rows: &[&[u8]],
    xs: &[&[f32]],
    out: &mut [[f32; 4]; 3],
) {
    let n = xs[0].len();
    let width = if KIND == F32 { 4 } else { 2 };
    assert!(rows.iter().all(|r| r.len() >= n * width) && xs.iter().all(|x| x.len() == n));
    let rp: [*const u8; R] = std::array::from_fn(|r| rows[r].as_ptr());
    let xp: [*const f32; T] = std::array::from_fn(|t| xs[t].as_ptr());
    let mut acc = [[[_mm256_setzero_ps(); 2]; T]; R];
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n: sixteen elements at i of every row (checked above to hold n) and
        // of every activation row (n values).
        unsafe {
            for (h, at) in [i, i + 8].into_iter().enumerate() {
                let x: [__m256; T] = std::array::from_fn(|t| _mm256_loadu_ps(xp[t].add(at)));
                for r in 0..R {
                    let w = weights8::<KIND>(rp[r], at);
                    for t in 0..T {
                        acc[r][t][h] = _mm256_fmadd_ps(w, x[t], acc[r][t][h]);
                    }
                }
            }
        }
        i += 16;
    }
    for r in 0..R {
        for t in 0..T {
            let mut sum = hsum(_mm256_add_ps(acc[r][t][0], acc[r][t][1]));
            for (j, &x) in xs[t].iter().enumerate().skip(i) {
                sum += weight::<KIND>(rows[r], j) * x;
            }
            out[t][r] = sum;
        }
    }
}

/// Runs `float_tile_avx2::<KIND, R, T>` for `R = rows.len()` (1..=2), `T = xs.len()` (1..=3).
macro_rules! float_tile_entry {
    ($($name:ident => $kind:expr),* $(,)?) => {$(
        fn $name(rows: &[&[u8]], xs: &[&[f32]], out: &mut [[f32; 4]; 3]) {
            macro_rules! run {
                ($r:literal, $t:literal) => {
                    // SAFETY: only reachable through KERNELS, handed out after detecting avx2,
                    // fma and f16c; the kernel checks the slice lengths it reads.
                    unsafe { float_tile_avx2::<{ $kind }, $r, $t>(rows, xs, out) }
                };
            }
            match (rows.len(), xs.len()) {
                (1, 1) => run!(1, 1),
                (1, 2) => run!(1, 2),
                (1, 3) => run!(1, 3),
                (2, 1) => run!(2, 1),
                (2, 2) => run!(2, 2),
                (2, 3) => run!(2, 3),
                (r, t) => panic!("a float tile is 1 or 2 rows by 1 to 3 tokens, not {r} by {t}"),
            }
        }
    )*};
}

/// `float_tile_avx2::<KIND, 1, 1>` as a one-row dot product.
macro_rules! float_dot_entry {
    ($($name:ident => $kind:expr),* $(,)?) => {$(
        fn $name(row: &[u8], x: &[f32]) -> f32 {
            let mut out = [[0.0f32; 4]; 3];
            // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and
            // f16c; the kernel checks the slice lengths it reads.
            unsafe { float_tile_avx2::<{ $kind }, 1, 1>(&[row], &[x], &mut out) };
            out[0][0]
        }
    )*};
}

float_dot_entry! {
    dot_f32 => F32,
    dot_f16 => F16,
    dot_bf16 => BF16,
}

float_tile_entry! {
    tile_f32 => F32,
    tile_f16 => F16,
    tile_bf16 => BF16,
}

// ---------------------------------------------------------------- helpers for quantized dots

/// The f16 at `p` as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_at(p: *const u8) -> f32 {
    // SAFETY: the caller guarantees two readable bytes at p.
    let bits = unsafe { p.cast::<i16>().read_unaligned() };
    // A broadcast (not an insert into some register) so the conversion depends on nothing else.
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(bits)))
}

/// The f16 at `p`, as f32 in all eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16x8_at(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees two readable bytes at p.
    let bits = unsafe { p.cast::<i16>().read_unaligned() };
    _mm256_cvtph_ps(_mm_set1_epi16(bits))
}

/// The f32 at `p`, in all eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f32x8_at(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees four readable bytes at p.
    _mm256_set1_ps(unsafe { p.cast::<f32>().read_unaligned() })
}

/// The f32 at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f32_at(p: *const u8) -> f32 {
    // SAFETY: the caller guarantees four readable bytes at p.
    unsafe { p.cast::<f32>().read_unaligned() }
}

/// The i16 at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn i16_at(p: *const u8) -> i32 {
    // SAFETY: the caller guarantees two readable bytes at p.
    i32::from(unsafe { p.cast::<i16>().read_unaligned() })
}

/// 32 bytes at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes at p; loadu has no alignment requirement.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// The 32 nibbles of 16 bytes at `p`: low nibbles in bytes 0..16, high nibbles in 16..32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes at p.
    // The 16 bytes in both halves (a plain load), the upper half shifted right by four.
    let both = unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast())) };
    let shifted = _mm256_srlv_epi64(both, _mm256_set_epi64x(4, 4, 0, 0));
    _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f))
}

/// Byte k is 0xff when bit k of the 32-bit word at `p` is set.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bits_to_bytes(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees four readable bytes at p.
    let x = unsafe { p.cast::<u32>().read_unaligned() };
    let shuf = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x as i32), shuf);
    let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
    _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
}

/// Σ over byte pairs of unsigned `u` × signed `s`, as eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn madd_us8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// Σ over byte pairs of signed `x` × signed `y`, as eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn madd_i8(x: __m256i, y: __m256i) -> __m256i {
    madd_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
}

/// Products of unsigned `u` × signed `s` summed in pairs, each 16-value half multiplied by its
/// own i16 scale (`lo` for bytes 0..16, `hi` for 16..32), as eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn madd_us8_scaled(u: __m256i, s: __m256i, lo: i16, hi: i16) -> __m256i {
    let scales = _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo));
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scales)
}

/// The IQ4_NL code book in both 128-bit lanes, for `vpshufb` look-ups.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn iq4_table() -> __m256i {
    // SAFETY: KVALUES has 16 bytes.
    let t = unsafe { _mm_loadu_si128(KVALUES.as_ptr().cast()) };
    _mm256_set_m128i(t, t)
}

// ---------------------------------------------------------------- 32-value block types

/// Walks `nb` weight blocks of `wbytes` and Q8 activation blocks, calling `f(w, a)` with
/// pointers to each pair.
macro_rules! q8_blocks {
    ($row:ident, $act:ident, $wbytes:expr, |$w:ident, $a:ident| $body:block) => {{
        let nb = $row.len() / $wbytes;
        assert!($act.len() >= nb * Q8_BYTES);
        let (wp, ap) = ($row.as_ptr(), $act.as_ptr());
        for i in 0..nb {
            // SAFETY: i < nb, so block i of the row (wbytes) and of the activations (40 bytes)
            // lie inside the slices checked above.
            let ($w, $a) = unsafe { (wp.add(i * $wbytes), ap.add(i * Q8_BYTES)) };
            $body
        }
    }};
}

/// Q4_0 row · Q8 activations. Four blocks at a time: their integer sums are folded into one
/// vector (`hadd4`) so the float work (scales, conversion, accumulation) is done once per four
/// blocks, with the activation scales and sums loaded as vectors from the copies after the
/// row's blocks; leftover blocks go one by one.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0_avx2(row: &[u8], act: &[u8]) -> f32 {
    let nb = row.len() / 18;
    assert!(act.len() >= nb * (Q8_BYTES + 8));
    let (w, a) = (row.as_ptr(), act.as_ptr());
    // SAFETY: the copies of the nb scales and nb sums follow the nb blocks (checked above).
    let (dys, sums) = unsafe { (a.add(nb * Q8_BYTES), a.add(nb * (Q8_BYTES + 4))) };
    let (mut acc4, mut corr4) = (_mm256_setzero_ps(), _mm_setzero_ps());
    let mut i = 0;
    while i + 4 <= nb {
        // SAFETY: i + 4 ≤ nb: blocks i..i+4 of the row (18 bytes each), of the activations
        // (40 bytes each) and of the scale and sum copies (4 bytes each) lie inside the slices
        // checked above.
        unsafe {
            let wb = |k: usize| w.add((i + k) * 18);
            let ab = |k: usize| a.add((i + k) * Q8_BYTES);
            let p = [0, 1, 2, 3].map(|k| madd_us8(nibbles(wb(k).add(2)), load32(ab(k).add(8))));
            // The four f16 scales gathered in a general-purpose register, off the vector ports.
            let h = |k: usize| u64::from(wb(k).cast::<u16>().read_unaligned()) << (16 * k);
            let dw = _mm_cvtph_ps(_mm_cvtsi64_si128((h(0) | h(1) | h(2) | h(3)) as i64));
            let dy = _mm_loadu_ps(dys.add(4 * i).cast());
            let scale = _mm_mul_ps(dw, dy);
            acc4 = _mm256_fmadd_ps(
                _mm256_set_m128(scale, scale),
                _mm256_cvtepi32_ps(hadd4(p)),
                acc4,
            );
            corr4 = _mm_fmadd_ps(dw, _mm_loadu_ps(sums.add(4 * i).cast()), corr4);
        }
        i += 4;
    }
    let (mut acc, mut corr) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for j in i..nb {
        // SAFETY: j < nb, as above.
        unsafe {
            let (wj, aj) = (w.add(j * 18), a.add(j * Q8_BYTES));
            let dw = f16x8_at(wj);
            let p = madd_us8(nibbles(wj.add(2)), load32(aj.add(8)));
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, f32x8_at(aj)), _mm256_cvtepi32_ps(p), acc);
            corr = _mm256_fmadd_ps(dw, f32x8_at(aj.add(4)), corr);
        }
    }
    let c4 = _mm_add_ps(corr4, _mm_movehl_ps(corr4, corr4));
    let c4 = _mm_add_ss(c4, _mm_shuffle_ps::<1>(c4, c4));
    // Every lane of `corr` holds the same Σ d·s.
    hsum(acc4) + hsum(acc) - 8.0 * (_mm_cvtss_f32(c4) + _mm256_cvtss_f32(corr))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_1_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    q8_blocks!(row, act, 20, |w, a| {
        // SAFETY: w points at a 20-byte Q4_1 block, a at a 40-byte Q8 block.
        unsafe {
            let p = madd_us8(nibbles(w.add(4)), load32(a.add(8)));
            let scale = _mm256_mul_ps(f16x8_at(w), f32x8_at(a));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc);
            corr = _mm256_fmadd_ps(f16x8_at(w.add(2)), f32x8_at(a.add(4)), corr);
        }
    });
    hsum(acc) + _mm256_cvtss_f32(corr)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_0_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let bit4 = _mm256_set1_epi8(0x10);
    q8_blocks!(row, act, 22, |w, a| {
        // SAFETY: w points at a 22-byte Q5_0 block, a at a 40-byte Q8 block.
        unsafe {
            let dw = f16x8_at(w);
            let high = _mm256_and_si256(bits_to_bytes(w.add(2)), bit4);
            let p = madd_us8(_mm256_or_si256(nibbles(w.add(6)), high), load32(a.add(8)));
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, f32x8_at(a)), _mm256_cvtepi32_ps(p), acc);
            corr = _mm256_fmadd_ps(dw, f32x8_at(a.add(4)), corr);
        }
    });
    hsum(acc) - 16.0 * _mm256_cvtss_f32(corr)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_1_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let bit4 = _mm256_set1_epi8(0x10);
    q8_blocks!(row, act, 24, |w, a| {
        // SAFETY: w points at a 24-byte Q5_1 block, a at a 40-byte Q8 block.
        unsafe {
            let high = _mm256_and_si256(bits_to_bytes(w.add(4)), bit4);
            let p = madd_us8(_mm256_or_si256(nibbles(w.add(8)), high), load32(a.add(8)));
            let scale = _mm256_mul_ps(f16x8_at(w), f32x8_at(a));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc);
            corr = _mm256_fmadd_ps(f16x8_at(w.add(2)), f32x8_at(a.add(4)), corr);
        }
    });
    hsum(acc) + _mm256_cvtss_f32(corr)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0_avx2(row: &[u8], act: &[u8]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    q8_blocks!(row, act, 34, |w, a| {
        // SAFETY: w points at a 34-byte Q8_0 block, a at a 40-byte Q8 block.
        unsafe {
            let p = madd_i8(load32(w.add(2)), load32(a.add(8)));
            let scale = _mm256_mul_ps(f16x8_at(w), f32x8_at(a));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc);
        }
    });
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_iq4_nl_avx2(row: &[u8], act: &[u8]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let table = iq4_table();
    q8_blocks!(row, act, 18, |w, a| {
        // SAFETY: w points at an 18-byte IQ4_NL block, a at a 40-byte Q8 block.
        unsafe {
            let v = _mm256_shuffle_epi8(table, nibbles(w.add(2)));
            let p = madd_i8(v, load32(a.add(8)));
            let scale = _mm256_mul_ps(f16x8_at(w), f32x8_at(a));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc);
        }
    });
    hsum(acc)
}

// ---------------------------------------------------------------- 256-value super-blocks

/// Walks `nb` weight super-blocks of `wbytes` and Q8K activation blocks.
macro_rules! q8k_blocks {
    ($row:ident, $act:ident, $wbytes:expr, |$w:ident, $a:ident| $body:block) => {{
        let nb = $row.len() / $wbytes;
        assert!($act.len() >= nb * Q8K_BYTES);
        let (wp, ap) = ($row.as_ptr(), $act.as_ptr());
        for i in 0..nb {
            // SAFETY: i < nb, so super-block i of the row (wbytes) and of the activations
            // (292 bytes) lie inside the slices checked above.
            let ($w, $a) = unsafe { (wp.add(i * $wbytes), ap.add(i * Q8K_BYTES)) };
            $body
        }
    }};
}

/// The 16 activation sums of 16 values of a Q8K block.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bsums(a: *const u8) -> [i32; 16] {
    // SAFETY: the caller passes a 292-byte Q8K block; the sums are at bytes 260..292.
    std::array::from_fn(|g| unsafe { i16_at(a.add(260 + 2 * g)) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q2_k_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), 0.0f32);
    let m3 = _mm256_set1_epi8(3);
    q8k_blocks!(row, act, k_quants::Q2K_BYTES, |w, a| {
        // SAFETY: w points at an 84-byte Q2_K block, a at a 292-byte Q8K block.
        unsafe {
            let dy = f32_at(a);
            let sc: [u8; 16] = std::array::from_fn(|g| *w.add(g));
            let bs = bsums(a);
            let mins: i32 = (0..16).map(|g| i32::from(sc[g] >> 4) * bs[g]).sum();
            let mut sumi = _mm256_setzero_si256();
            for h in 0..2 {
                let bits = load32(w.add(16 + 32 * h));
                for s in 0..4 {
                    let q = _mm256_and_si256(
                        _mm256_srl_epi16(bits, _mm_cvtsi32_si128(2 * s as i32)),
                        m3,
                    );
                    let y = load32(a.add(4 + 128 * h + 32 * s));
                    let g = 8 * h + 2 * s;
                    let p = madd_us8_scaled(q, y, i16::from(sc[g] & 15), i16::from(sc[g + 1] & 15));
                    sumi = _mm256_add_epi32(sumi, p);
                }
            }
            let d = dy * f16_at(w.add(80));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            corr += dy * f16_at(w.add(82)) * mins as f32;
        }
    });
    hsum(acc) - corr
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q3_k_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), 0.0f32);
    let (m3, one) = (_mm256_set1_epi8(3), _mm256_set1_epi8(1));
    q8k_blocks!(row, act, k_quants::Q3K_BYTES, |w, a| {
        // SAFETY: w points at a 110-byte Q3_K block, a at a 292-byte Q8K block.
        unsafe {
            let dy = f32_at(a);
            let sc = k_quants::q3k_scales(std::slice::from_raw_parts(w.add(96), 12));
            let bs = bsums(a);
            let offs: i32 = (0..16).map(|g| i32::from(sc[g]) * bs[g]).sum();
            let hm = load32(w);
            let mut sumi = _mm256_setzero_si256();
            for h in 0..2 {
                let bits = load32(w.add(32 + 32 * h));
                for s in 0..4 {
                    let low = _mm256_and_si256(
                        _mm256_srl_epi16(bits, _mm_cvtsi32_si128(2 * s as i32)),
                        m3,
                    );
                    let hb = _mm256_and_si256(
                        _mm256_srl_epi16(hm, _mm_cvtsi32_si128((4 * h + s) as i32)),
                        one,
                    );
                    let q = _mm256_or_si256(low, _mm256_slli_epi16::<2>(hb));
                    let y = load32(a.add(4 + 128 * h + 32 * s));
                    let g = 8 * h + 2 * s;
                    let p = madd_us8_scaled(q, y, i16::from(sc[g]), i16::from(sc[g + 1]));
                    sumi = _mm256_add_epi32(sumi, p);
                }
            }
            let d = dy * f16_at(w.add(108));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            corr += d * 4.0 * offs as f32;
        }
    });
    hsum(acc) - corr
}

/// The eight 6-bit scales (bytes 0..8) and mins (bytes 8..16) of a Q4_K / Q5_K block, from the
/// 12 packed bytes at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k4_scales_mins(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 12 readable bytes at p.
    let u: [u32; 3] = unsafe { [0, 4, 8].map(|o| p.add(o).cast::<u32>().read_unaligned()) };
    const M1: u32 = 0x3f3f_3f3f;
    const M2: u32 = 0x0f0f_0f0f;
    const M3: u32 = 0x0303_0303;
    let scales_hi = (u[2] & M2) | (((u[0] >> 6) & M3) << 4);
    let mins_hi = ((u[2] >> 4) & M2) | (((u[1] >> 6) & M3) << 4);
    _mm_set_epi32(
        mins_hi as i32,
        (u[1] & M1) as i32,
        scales_hi as i32,
        (u[0] & M1) as i32,
    )
}

/// Shuffle that broadcasts i16 element `e` of a 128-bit vector to all eight.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn broadcast_i16(v: __m128i, e: i32) -> __m128i {
    let lo = (2 * e) as i8;
    _mm_shuffle_epi8(
        v,
        _mm_set_epi8(
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
            lo + 1,
            lo,
        ),
    )
}

/// Scale vectors of a Q4_K / Q5_K block: for sub-block j, all sixteen i16 lanes hold its scale;
/// plus the eight mins as i16.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k4_scale_vectors(p: *const u8) -> ([__m256i; 8], __m128i) {
    // SAFETY: the caller guarantees 12 readable bytes at p.
    let sm = unsafe { k4_scales_mins(p) };
    let scales = _mm_cvtepu8_epi16(sm);
    let mins = _mm_cvtepu8_epi16(_mm_srli_si128::<8>(sm));
    let v = std::array::from_fn(|j| {
        let b = broadcast_i16(scales, j as i32);
        _mm256_set_m128i(b, b)
    });
    (v, mins)
}

/// Σ_j min_j · (activation sum of sub-block j) of a Q8K block, as i32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k4_min_sum(mins: __m128i, a: *const u8) -> i32 {
    // SAFETY: the caller passes a 292-byte Q8K block; its sums are at bytes 260..292.
    let (b0, b1) = unsafe {
        (
            _mm_loadu_si128(a.add(260).cast()),
            _mm_loadu_si128(a.add(276).cast()),
        )
    };
    let prod = _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
    let s = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<1>(s));
    _mm_cvtsi128_si32(s)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_k_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), 0.0f32);
    let m4 = _mm256_set1_epi8(0x0f);
    q8k_blocks!(row, act, k_quants::Q4K_BYTES, |w, a| {
        // SAFETY: w points at a 144-byte Q4_K block, a at a 292-byte Q8K block.
        unsafe {
            let dy = f32_at(a);
            let (sv, mins) = k4_scale_vectors(w.add(4));
            let mut sumi = _mm256_setzero_si256();
            for j in 0..4 {
                let bits = load32(w.add(16 + 32 * j));
                let lo = _mm256_and_si256(bits, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4);
                let p0 = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(lo, load32(a.add(4 + 64 * j))),
                    sv[2 * j],
                );
                let p1 = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(hi, load32(a.add(36 + 64 * j))),
                    sv[2 * j + 1],
                );
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
            }
            acc = _mm256_fmadd_ps(
                _mm256_set1_ps(dy * f16_at(w)),
                _mm256_cvtepi32_ps(sumi),
                acc,
            );
            corr += dy * f16_at(w.add(2)) * k4_min_sum(mins, a) as f32;
        }
    });
    hsum(acc) - corr
}

/// Q4_K row · four activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q4_k_avx2(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
    let nb = row.len() / k_quants::Q4K_BYTES;
    for a in acts {
        assert!(a.len() >= nb * Q8K_BYTES);
    }
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut corr = [0.0f32; 4];
    for i in 0..nb {
        // SAFETY: i < nb: block i of the row (144 bytes) and of each activation row (292
        // bytes) lie inside the slices checked above.
        unsafe {
            let w = row.as_ptr().add(i * k_quants::Q4K_BYTES);
            let a: [*const u8; 4] = acts.map(|x| x.as_ptr().add(i * Q8K_BYTES));
            let (sv, mins) = k4_scale_vectors(w.add(4));
            let mut sumi = [_mm256_setzero_si256(); 4];
            for j in 0..4 {
                let bits = load32(w.add(16 + 32 * j));
                let lo = _mm256_and_si256(bits, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4);
                for t in 0..4 {
                    let p0 = _mm256_madd_epi16(
                        _mm256_maddubs_epi16(lo, load32(a[t].add(4 + 64 * j))),
                        sv[2 * j],
                    );
                    let p1 = _mm256_madd_epi16(
                        _mm256_maddubs_epi16(hi, load32(a[t].add(36 + 64 * j))),
                        sv[2 * j + 1],
                    );
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p0, p1));
                }
            }
            let (d, dmin) = (f16_at(w), f16_at(w.add(2)));
            for t in 0..4 {
                let dy = f32_at(a[t]);
                acc[t] =
                    _mm256_fmadd_ps(_mm256_set1_ps(dy * d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
                corr[t] += dy * dmin * k4_min_sum(mins, a[t]) as f32;
            }
        }
    }
    std::array::from_fn(|t| hsum(acc[t]) - corr[t])
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_k_avx2(row: &[u8], act: &[u8]) -> f32 {
    let (mut acc, mut corr) = (_mm256_setzero_ps(), 0.0f32);
    let (m4, one) = (_mm256_set1_epi8(0x0f), _mm256_set1_epi8(1));
    q8k_blocks!(row, act, k_quants::Q5K_BYTES, |w, a| {
        // SAFETY: w points at a 176-byte Q5_K block, a at a 292-byte Q8K block.
        unsafe {
            let dy = f32_at(a);
            let packed = std::slice::from_raw_parts(w.add(4), 12);
            let sm: [(u8, u8); 8] = std::array::from_fn(|j| scale_min_k4(j, packed));
            let bs = bsums(a);
            let mins: i32 = (0..8)
                .map(|j| i32::from(sm[j].1) * (bs[2 * j] + bs[2 * j + 1]))
                .sum();
            let hbits = load32(w.add(16));
            let mut sumi = _mm256_setzero_si256();
            for j in 0..4 {
                let bits = load32(w.add(48 + 32 * j));
                let h0 = _mm256_and_si256(
                    _mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j as i32)),
                    one,
                );
                let h1 = _mm256_and_si256(
                    _mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j as i32 + 1)),
                    one,
                );
                let lo = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_slli_epi16::<4>(h0));
                let hi = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4),
                    _mm256_slli_epi16::<4>(h1),
                );
                let (s0, s1) = (i16::from(sm[2 * j].0), i16::from(sm[2 * j + 1].0));
                let p0 = madd_us8_scaled(lo, load32(a.add(4 + 64 * j)), s0, s0);
                let p1 = madd_us8_scaled(hi, load32(a.add(36 + 64 * j)), s1, s1);
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
            }
            let d = dy * f16_at(w);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            corr += dy * f16_at(w.add(2)) * mins as f32;
        }
    });
    hsum(acc) - corr
}

/// The sixteen i8 scales of a Q6_K block as i16 pairs: vector `k` has scale 2k in its low
/// 128-bit lane and 2k + 1 in its high lane; plus Σ scale·(activation sum) per lane pair.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6k_scales(w: *const u8) -> [__m256i; 8] {
    // SAFETY: the caller passes a 210-byte Q6_K block; the scales are at bytes 192..208.
    let s8 = unsafe { _mm_loadu_si128(w.add(192).cast()) };
    std::array::from_fn(|k| {
        let (lo, hi) = ((2 * k) as i8, (2 * k + 1) as i8);
        let pick = _mm_shuffle_epi8(
            s8,
            _mm_set_epi8(
                hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo,
            ),
        );
        _mm256_cvtepi8_epi16(pick)
    })
}

/// 32 · Σ_g scale_g · (activation sum of group g), as eight i32 lanes to subtract.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6k_offset(w: *const u8, a: *const u8) -> __m256i {
    // SAFETY: w is a 210-byte Q6_K block (scales at 192..208), a a 292-byte Q8K block (sums at
    // 260..292).
    let (s8, sums) = unsafe {
        (
            _mm_loadu_si128(w.add(192).cast()),
            _mm256_loadu_si256(a.add(260).cast()),
        )
    };
    _mm256_slli_epi32::<5>(_mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), sums))
}

/// The 6-bit codes of half `h` of a Q6_K block: values 128h + 32k + (0..32) in vector k.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6k_codes(w: *const u8, h: usize) -> [__m256i; 4] {
    let m4 = _mm256_set1_epi8(0x0f);
    // SAFETY: the caller passes a 210-byte Q6_K block and h < 2.
    let (b1, b2, hb) = unsafe {
        (
            load32(w.add(64 * h)),
            load32(w.add(64 * h + 32)),
            load32(w.add(128 + 32 * h)),
        )
    };
    // Bit pair 2j of each `qh` byte, moved to bits 4..6 with constant shifts.
    let m30 = _mm256_set1_epi8(0x30);
    let high = [
        _mm256_and_si256(_mm256_slli_epi16::<4>(hb), m30),
        _mm256_and_si256(_mm256_slli_epi16::<2>(hb), m30),
        _mm256_and_si256(hb, m30),
        _mm256_and_si256(_mm256_srli_epi16::<2>(hb), m30),
    ];
    [
        _mm256_or_si256(_mm256_and_si256(b1, m4), high[0]),
        _mm256_or_si256(_mm256_and_si256(b2, m4), high[1]),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b1), m4), high[2]),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b2), m4), high[3]),
    ]
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6_k_avx2(row: &[u8], act: &[u8]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    q8k_blocks!(row, act, k_quants::Q6K_BYTES, |w, a| {
        // SAFETY: w points at a 210-byte Q6_K block, a at a 292-byte Q8K block.
        unsafe {
            let sc = q6k_scales(w);
            let mut sumi = _mm256_sub_epi32(_mm256_setzero_si256(), q6k_offset(w, a));
            for h in 0..2 {
                let q = q6k_codes(w, h);
                for (k, &qk) in q.iter().enumerate() {
                    let y = load32(a.add(4 + 128 * h + 32 * k));
                    let p = _mm256_madd_epi16(_mm256_maddubs_epi16(qk, y), sc[4 * h + k]);
                    sumi = _mm256_add_epi32(sumi, p);
                }
            }
            let d = f32_at(a) * f16_at(w.add(208));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
    });
    hsum(acc)
}

/// Q6_K row · four activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q6_k_avx2(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
    let nb = row.len() / k_quants::Q6K_BYTES;
    for a in acts {
        assert!(a.len() >= nb * Q8K_BYTES);
    }
    let mut acc = [_mm256_setzero_ps(); 4];
    for i in 0..nb {
        // SAFETY: i < nb: block i of the row (210 bytes) and of each activation row (292
        // bytes) lie inside the slices checked above.
        unsafe {
            let w = row.as_ptr().add(i * k_quants::Q6K_BYTES);
            let a: [*const u8; 4] = acts.map(|x| x.as_ptr().add(i * Q8K_BYTES));
            let sc = q6k_scales(w);
            let mut sumi: [__m256i; 4] = std::array::from_fn(|t| {
                _mm256_sub_epi32(_mm256_setzero_si256(), q6k_offset(w, a[t]))
            });
            for h in 0..2 {
                let q = q6k_codes(w, h);
                for (k, &qk) in q.iter().enumerate() {
                    for t in 0..4 {
                        let y = load32(a[t].add(4 + 128 * h + 32 * k));
                        let p = _mm256_madd_epi16(_mm256_maddubs_epi16(qk, y), sc[4 * h + k]);
                        sumi[t] = _mm256_add_epi32(sumi[t], p);
                    }
                }
            }
            let dw = f16_at(w.add(208));
            for t in 0..4 {
                let d = f32_at(a[t]) * dw;
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
            }
        }
    }
    std::array::from_fn(|t| hsum(acc[t]))
}

/// Sums each of four i32x8 vectors to one value per 128-bit half: the low half of the result
/// holds the partial sums of `p[0..4]` over their low halves, the high half over their high.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hadd4(p: [__m256i; 4]) -> __m256i {
    // Interleave-and-add instead of `vphaddd` (several uops each on current cores): lane k of
    // each half ends as the half's sum of p[k].
    let add_pairs = |x: __m256i, y: __m256i| {
        _mm256_add_epi32(_mm256_unpacklo_epi32(x, y), _mm256_unpackhi_epi32(x, y))
    };
    let (a, b) = (add_pairs(p[0], p[1]), add_pairs(p[2], p[3]));
    _mm256_add_epi32(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b))
}

/// The f32 at byte `off` of block `i` of each of four Q8 activation rows, as one vector.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gather4(acts: &[&[u8]; 4], at: usize) -> __m128 {
    // SAFETY: the caller guarantees four readable bytes at `at` in each row.
    unsafe {
        _mm_set_ps(
            f32_at(acts[3].as_ptr().add(at)),
            f32_at(acts[2].as_ptr().add(at)),
            f32_at(acts[1].as_ptr().add(at)),
            f32_at(acts[0].as_ptr().add(at)),
        )
    }
}

/// The four token results from `acc` (per-token partial sums in both halves).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn fold4(acc: __m256, corr: __m128) -> [f32; 4] {
    let s = _mm_sub_ps(
        _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc)),
        corr,
    );
    let mut out = [0.0f32; 4];
    // SAFETY: `out` has room for four f32.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), s) };
    out
}

/// Q4_0 row · four activation rows: the row is unpacked once, the four tokens' integer sums
/// are folded into one vector, and the block's float work is done once for all four.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q4_0_avx2(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
    let nb = row.len() / 18;
    for a in acts {
        assert!(a.len() >= nb * Q8_BYTES);
    }
    let (mut acc, mut corr) = (_mm256_setzero_ps(), _mm_setzero_ps());
    for i in 0..nb {
        // SAFETY: i < nb: block i of the row (18 bytes) and of each activation row (40 bytes)
        // lie inside the slices checked above.
        unsafe {
            let w = row.as_ptr().add(i * 18);
            let dw = f16x8_at(w);
            let q = nibbles(w.add(2));
            let at = i * Q8_BYTES;
            let p = [0, 1, 2, 3].map(|t| madd_us8(q, load32(acts[t].as_ptr().add(at + 8))));
            let dy = gather4(&acts, at);
            let scale = _mm256_mul_ps(dw, _mm256_set_m128(dy, dy));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(hadd4(p)), acc);
            corr = _mm_fmadd_ps(_mm256_castps256_ps128(dw), gather4(&acts, at + 4), corr);
        }
    }
    fold4(acc, _mm_mul_ps(corr, _mm_set1_ps(8.0)))
}

/// Q8_0 row · four activation rows (as `dot4_q4_0_avx2`).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q8_0_avx2(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
    let nb = row.len() / 34;
    for a in acts {
        assert!(a.len() >= nb * Q8_BYTES);
    }
    let mut acc = _mm256_setzero_ps();
    for i in 0..nb {
        // SAFETY: i < nb: block i of the row (34 bytes) and of each activation row (40 bytes)
        // lie inside the slices checked above.
        unsafe {
            let w = row.as_ptr().add(i * 34);
            let dw = f16x8_at(w);
            let q = load32(w.add(2));
            let aq = _mm256_sign_epi8(q, q);
            let at = i * Q8_BYTES;
            let p = [0, 1, 2, 3].map(|t| {
                madd_us8(
                    aq,
                    _mm256_sign_epi8(load32(acts[t].as_ptr().add(at + 8)), q),
                )
            });
            let dy = gather4(&acts, at);
            let scale = _mm256_mul_ps(dw, _mm256_set_m128(dy, dy));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(hadd4(p)), acc);
        }
    }
    fold4(acc, _mm_setzero_ps())
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_iq4_xs_avx2(row: &[u8], act: &[u8]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let table = iq4_table();
    q8k_blocks!(row, act, iq4::XS_BYTES, |w, a| {
        // SAFETY: w points at a 136-byte IQ4_XS block, a at a 292-byte Q8K block.
        unsafe {
            let block = std::slice::from_raw_parts(w, iq4::XS_BYTES);
            let mut sumi = _mm256_setzero_si256();
            for ib in 0..8 {
                let v = _mm256_shuffle_epi8(table, nibbles(w.add(8 + 16 * ib)));
                let y = load32(a.add(4 + 32 * ib));
                let p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(y, v));
                let ls = iq4::xs_scale(block, ib) as i16;
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, _mm256_set1_epi16(ls)));
            }
            let d = f32_at(a) * f16_at(w);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
    });
    hsum(acc)
}

// ---------------------------------------------------------------- eight-row groups (interleaved)

/// Four activation bytes at `p`, broadcast to all eight 32-bit lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bcast4(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees four readable bytes at p.
    _mm256_set1_epi32(unsafe { p.cast::<i32>().read_unaligned() })
}

/// Checks the group and activation lengths a group kernel reads: `nb` blocks each.
fn group_blocks(group: &[u8], group_block: usize, acts: &[&[u8]], act_block: usize) -> usize {
    let nb = group.len() / group_block;
    for a in acts {
        assert!(
            a.len() >= nb * act_block,
            "activation row shorter than the group"
        );
    }
    nb
}

/// Runs `$kernel::<N>` for `N = acts.len()` (1..=4), which stores its lanes into `out[..N]`.
macro_rules! group_entry {
    ($($name:ident => $kernel:ident),* $(,)?) => {$(
        fn $name(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
            macro_rules! run {
                ($n:literal) => {{
                    let a: [&[u8]; $n] = std::array::from_fn(|t| acts[t]);
                    // SAFETY: only reachable through KERNELS, handed out after detecting avx2,
                    // fma and f16c; the kernel checks the slice lengths it reads.
                    unsafe { $kernel::<$n>(group, a, out) }
                }};
            }
            match acts.len() {
                1 => run!(1),
                2 => run!(2),
                3 => run!(3),
                4 => run!(4),
                n => panic!("a group kernel takes 1 to 4 activation rows, not {n}"),
            }
        }
    )*};
}

/// Stores the N token vectors of eight row lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn store_lanes<const N: usize>(acc: [__m256; N], out: &mut [[f32; 8]; 4]) {
    for (o, v) in out.iter_mut().zip(acc) {
        // SAFETY: `o` is eight f32.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), v) };
    }
}

group_entry! {
    interleaved_q4_0 => interleaved_q4_0_avx2,
    interleaved_q8_0 => interleaved_q8_0_avx2,
    interleaved_q4_k => interleaved_q4_k_avx2,
    interleaved_q6_k => interleaved_q6_k_avx2,
}

/// Interleaved Q4_0 group (`crate::interleaved`) · N Q8 activation rows: the decode kernel, and
/// the prompt kernel for these weights. Per block, each 32-byte code vector splits into its low
/// and high nibbles (values `4q..` and `16 + 4q..` of the eight rows), and each half meets four
/// broadcast activation bytes in one `vpmaddubsw`; eight of those summed in i16 (at most
/// 8 · 2 · 15 · 127 = 30,480) and one `vpmaddwd` give the eight rows' block sums as lanes.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn interleaved_q4_0_avx2<const N: usize>(
    group: &[u8],
    acts: [&[u8]; N],
    out: &mut [[f32; 8]; 4],
) {
    let nb = group_blocks(group, x8::Q4_0_GROUP_BLOCK, &acts, Q8_BYTES);
    let (ones, low) = (_mm256_set1_epi16(1), _mm256_set1_epi8(0x0f));
    let minus8 = _mm256_set1_ps(-8.0);
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        // SAFETY: b < nb: group block b (144 bytes) and activation block b (40 bytes) of each
        // row lie inside the slices checked by `group_blocks`.
        unsafe {
            let p = group.as_ptr().add(b * x8::Q4_0_GROUP_BLOCK);
            let a: [*const u8; N] = std::array::from_fn(|t| acts[t].as_ptr().add(b * Q8_BYTES));
            let mut s16 = [_mm256_setzero_si256(); N];
            for q in 0..4 {
                let v = load32(p.add(x8::Q4_0_CODES + 32 * q));
                let lo = _mm256_and_si256(v, low);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
                for t in 0..N {
                    let xl = bcast4(a[t].add(8 + 4 * q));
                    let xh = bcast4(a[t].add(24 + 4 * q));
                    let both = _mm256_add_epi16(
                        _mm256_maddubs_epi16(lo, xl),
                        _mm256_maddubs_epi16(hi, xh),
                    );
                    s16[t] = _mm256_add_epi16(s16[t], both);
                }
            }
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            let off = _mm256_mul_ps(d, minus8);
            for t in 0..N {
                let s = _mm256_cvtepi32_ps(_mm256_madd_epi16(s16[t], ones));
                acc[t] = _mm256_fmadd_ps(s, _mm256_mul_ps(d, f32x8_at(a[t])), acc[t]);
                acc[t] = _mm256_fmadd_ps(off, f32x8_at(a[t].add(4)), acc[t]);
            }
        }
    }
    store_lanes(acc, out);
}

/// Interleaved Q8_0 group (`crate::interleaved`) · N Q8 activation rows: signed codes, so each
/// product goes through the `|w| · sign(x, w)` form and is widened per vector (two products
/// can reach 2 · 127 · 127).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn interleaved_q8_0_avx2<const N: usize>(
    group: &[u8],
    acts: [&[u8]; N],
    out: &mut [[f32; 8]; 4],
) {
    let nb = group_blocks(group, x8::Q8_0_GROUP_BLOCK, &acts, Q8_BYTES);
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        // SAFETY: b < nb: group block b (272 bytes) and activation block b (40 bytes) of each
        // row lie inside the slices checked by `group_blocks`.
        unsafe {
            let p = group.as_ptr().add(b * x8::Q8_0_GROUP_BLOCK);
            let a: [*const u8; N] = std::array::from_fn(|t| acts[t].as_ptr().add(b * Q8_BYTES));
            let mut s32 = [_mm256_setzero_si256(); N];
            for q in 0..8 {
                let w = load32(p.add(x8::Q8_0_CODES + 32 * q));
                let aw = _mm256_sign_epi8(w, w);
                for t in 0..N {
                    let x = _mm256_sign_epi8(bcast4(a[t].add(8 + 4 * q)), w);
                    s32[t] = _mm256_add_epi32(s32[t], madd_us8(aw, x));
                }
            }
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            for t in 0..N {
                let s = _mm256_cvtepi32_ps(s32[t]);
                acc[t] = _mm256_fmadd_ps(s, _mm256_mul_ps(d, f32x8_at(a[t])), acc[t]);
            }
        }
    }
    store_lanes(acc, out);
}

/// Bytes `8i..8i + 8` of `x`, zero-extended to eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn u8x8_lanes<const I: i32>(x: __m256i) -> __m256i {
    let half = if I < 2 {
        _mm256_castsi256_si128(x)
    } else {
        _mm256_extracti128_si256::<1>(x)
    };
    let half = if I % 2 == 1 {
        _mm_srli_si128::<8>(half)
    } else {
        half
    };
    _mm256_cvtepu8_epi32(half)
}

/// Interleaved Q4_K group (`crate::interleaved`) · N Q8K activation rows. The rows' 6-bit
/// sub-block scales and mins are unpacked from the `[k][r]` scale bytes with a few vector
/// operations per block; per 32-value sub-block, eight `vpmaddubsw` are summed in i16 (at most
/// 8 · 2 · 15 · 127 = 30,480) and widened by the rows' scales with one `vpmaddwd`; the mins
/// come from the activation's 16-value sums, two per `vpmaddwd`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn interleaved_q4_k_avx2<const N: usize>(
    group: &[u8],
    acts: [&[u8]; N],
    out: &mut [[f32; 8]; 4],
) {
    let nb = group_blocks(group, x8::Q4K_GROUP_BLOCK, &acts, Q8K_BYTES);
    let (nib, six, high2) = (
        _mm256_set1_epi8(0x0f),
        _mm256_set1_epi8(0x3f),
        _mm256_set1_epi8(0x30),
    );
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        // SAFETY: b < nb: group block b (1,152 bytes) and activation block b (292 bytes) of
        // each row lie inside the slices checked by `group_blocks`.
        unsafe {
            let p = group.as_ptr().add(b * x8::Q4K_GROUP_BLOCK);
            let a: [*const u8; N] = std::array::from_fn(|t| acts[t].as_ptr().add(b * Q8K_BYTES));
            // Scale bytes 0..4, 4..8 and 8..12 of the eight rows, as `[k][r]`.
            let x0 = load32(p.add(x8::Q4K_SCALES));
            let x1 = load32(p.add(x8::Q4K_SCALES + 32));
            let x2 = load32(p.add(x8::Q4K_SCALES + 64));
            // `[s][r]` bytes: scales of sub-blocks 0..4 and 4..8, mins likewise.
            let sc_lo = _mm256_and_si256(x0, six);
            let sc_hi = _mm256_or_si256(
                _mm256_and_si256(x2, nib),
                _mm256_and_si256(_mm256_srli_epi16::<2>(x0), high2),
            );
            let m_lo = _mm256_and_si256(x1, six);
            let m_hi = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16::<4>(x2), nib),
                _mm256_and_si256(_mm256_srli_epi16::<2>(x1), high2),
            );
            // Lane r: the row's value for sub-block s as an i16, twice.
            let twice = |v: __m256i| _mm256_or_si256(v, _mm256_slli_epi32::<16>(v));
            let per_sub = |lo: __m256i, hi: __m256i| -> [__m256i; 8] {
                [
                    twice(u8x8_lanes::<0>(lo)),
                    twice(u8x8_lanes::<1>(lo)),
                    twice(u8x8_lanes::<2>(lo)),
                    twice(u8x8_lanes::<3>(lo)),
                    twice(u8x8_lanes::<0>(hi)),
                    twice(u8x8_lanes::<1>(hi)),
                    twice(u8x8_lanes::<2>(hi)),
                    twice(u8x8_lanes::<3>(hi)),
                ]
            };
            let (scales, mins) = (per_sub(sc_lo, sc_hi), per_sub(m_lo, m_hi));
            let mut s32 = [_mm256_setzero_si256(); N];
            for j in 0..4 {
                let mut s16 = [[_mm256_setzero_si256(); 2]; N];
                for g in 0..8 {
                    let v = load32(p.add(x8::Q4K_CODES + 32 * (8 * j + g)));
                    let lo = _mm256_and_si256(v, nib);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nib);
                    for t in 0..N {
                        let at = a[t].add(4 + 64 * j + 4 * g);
                        s16[t][0] =
                            _mm256_add_epi16(s16[t][0], _mm256_maddubs_epi16(lo, bcast4(at)));
                        s16[t][1] = _mm256_add_epi16(
                            s16[t][1],
                            _mm256_maddubs_epi16(hi, bcast4(at.add(32))),
                        );
                    }
                }
                for t in 0..N {
                    let both = _mm256_add_epi32(
                        _mm256_madd_epi16(s16[t][0], scales[2 * j]),
                        _mm256_madd_epi16(s16[t][1], scales[2 * j + 1]),
                    );
                    s32[t] = _mm256_add_epi32(s32[t], both);
                }
            }
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            let dmin = _mm256_cvtph_ps(_mm_loadu_si128(p.add(x8::Q4K_DMIN).cast()));
            for t in 0..N {
                let mut m32 = _mm256_setzero_si256();
                for (s, m) in mins.iter().enumerate() {
                    m32 =
                        _mm256_add_epi32(m32, _mm256_madd_epi16(*m, bcast4(a[t].add(260 + 4 * s))));
                }
                let da = f32x8_at(a[t]);
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32[t]), _mm256_mul_ps(d, da), acc[t]);
                acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m32), _mm256_mul_ps(dmin, da), acc[t]);
            }
        }
    }
    store_lanes(acc, out);
}

/// Interleaved Q6_K group (`crate::interleaved`) · N Q8K activation rows, reading each block's
/// code vectors in storage order. Per half block and per four values `l`, one `ql` vector
/// pair and one `qh` vector give the 6-bit codes (0..63) of
/// values `l`, `l + 32`, `l + 64` and `l + 96` of the eight rows; two `vpmaddubsw` of one
/// 16-value sub-block (at most 2 · 2 · 63 · 127 = 32,004) are summed in i16 and widened by the
/// rows' sub-block scales with `vpmaddwd`. The −32 offset comes out once per block through the
/// activation's 16-value sums, two sub-blocks per `vpmaddwd`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn interleaved_q6_k_avx2<const N: usize>(
    group: &[u8],
    acts: [&[u8]; N],
    out: &mut [[f32; 8]; 4],
) {
    let nb = group_blocks(group, x8::Q6K_GROUP_BLOCK, &acts, Q8K_BYTES);
    let (nib, two) = (_mm256_set1_epi8(0x0f), _mm256_set1_epi8(0x30));
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        // SAFETY: b < nb: group block b (1,680 bytes) and activation block b (292 bytes) of
        // each row lie inside the slices checked by `group_blocks`.
        unsafe {
            let p = group.as_ptr().add(b * x8::Q6K_GROUP_BLOCK);
            let a: [*const u8; N] = std::array::from_fn(|t| acts[t].as_ptr().add(b * Q8K_BYTES));
            // Lane r of scale vector k: the row's sub-block scale k as an i16, twice.
            let sc: [__m256i; 16] = std::array::from_fn(|k| {
                let v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.add(x8::Q6K_SCALES + 8 * k).cast()));
                _mm256_blend_epi16::<0xaa>(v, _mm256_slli_epi32::<16>(v))
            });
            let mut s32 = [_mm256_setzero_si256(); N];
            for half in 0..2 {
                for g in (0..8).step_by(2) {
                    // Values 128·half + 4g.. (+32, +64, +96) and the next four: sub-blocks
                    // k = 8·half + g/4 (+2, +4, +6).
                    let mut codes = [[_mm256_setzero_si256(); 2]; 4];
                    for (i, g) in [g, g + 1].into_iter().enumerate() {
                        let v = p.add(x8::Q6K_CODES + 96 * (8 * half + g));
                        let (la, lb, h) = (load32(v), load32(v.add(32)), load32(v.add(64)));
                        let hi = |shifted: __m256i| _mm256_and_si256(shifted, two);
                        codes[0][i] = _mm256_or_si256(
                            _mm256_and_si256(la, nib),
                            hi(_mm256_slli_epi16::<4>(h)),
                        );
                        codes[1][i] = _mm256_or_si256(
                            _mm256_and_si256(lb, nib),
                            hi(_mm256_slli_epi16::<2>(h)),
                        );
                        codes[2][i] = _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16::<4>(la), nib),
                            hi(h),
                        );
                        codes[3][i] = _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16::<4>(lb), nib),
                            hi(_mm256_srli_epi16::<2>(h)),
                        );
                    }
                    for (j, pair) in codes.iter().enumerate() {
                        let k = 8 * half + 2 * j + g / 4;
                        let at = 4 + 128 * half + 32 * j + 4 * g;
                        for t in 0..N {
                            let s16 = _mm256_add_epi16(
                                _mm256_maddubs_epi16(pair[0], bcast4(a[t].add(at))),
                                _mm256_maddubs_epi16(pair[1], bcast4(a[t].add(at + 4))),
                            );
                            s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16, sc[k]));
                        }
                    }
                }
            }
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            // Lane r of pair vector q: the row's scales 2q and 2q + 1 as i16s.
            let pairs: [__m256i; 8] =
                std::array::from_fn(|q| _mm256_blend_epi16::<0xaa>(sc[2 * q], sc[2 * q + 1]));
            for t in 0..N {
                let mut o32 = _mm256_setzero_si256();
                for (q, pair) in pairs.iter().enumerate() {
                    o32 = _mm256_add_epi32(
                        o32,
                        _mm256_madd_epi16(*pair, bcast4(a[t].add(260 + 4 * q))),
                    );
                }
                let s = _mm256_sub_epi32(s32[t], _mm256_slli_epi32::<5>(o32));
                acc[t] = _mm256_fmadd_ps(
                    _mm256_cvtepi32_ps(s),
                    _mm256_mul_ps(d, f32x8_at(a[t])),
                    acc[t],
                );
            }
        }
    }
    store_lanes(acc, out);
}
