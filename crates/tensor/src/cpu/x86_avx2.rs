//! AVX2 + FMA + F16C kernels for x86-64 (every x86 CPU since Haswell / Zen). Same signatures as
//! `scalar`; the table is handed out only after run-time detection, which is what makes the
//! safe wrappers below sound.

use std::arch::x86_64::*;

use super::KernelSet;
use crate::quant::{block_scale, q4_0, q8_0};

static KERNELS: KernelSet = KernelSet {
    name: "avx2",
    dot_f32,
    dot_f16,
    dot_bf16,
    dot_q8_0,
    dot_q4_0,
};

/// The AVX2 kernel set, when this CPU has AVX2, FMA and F16C.
pub fn kernels() -> Option<&'static KernelSet> {
    let ok = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    ok.then_some(&KERNELS)
}

// The wrappers are private: they are reachable only through `KERNELS`, which `kernels()` returns
// only after the features were detected.

fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { dot_f32_avx2(row, x) }
}

fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { dot_f16_avx2(row, x) }
}

fn dot_bf16(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { dot_bf16_avx2(row, x) }
}

fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { dot_q8_0_avx2(row, x) }
}

fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: only reachable through KERNELS, handed out after detecting avx2, fma and f16c.
    unsafe { dot_q4_0_avx2(row, x) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_f32_avx2(row: &[u8], x: &[f32]) -> f32 {
    let n = x.len();
    assert!(row.len() >= n * 4);
    let (rp, xp) = (row.as_ptr(), x.as_ptr());
    let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n, and row holds at least 4n bytes, so all 16 loads are in bounds;
        // loadu has no alignment requirement.
        unsafe {
            let w0 = _mm256_loadu_ps(rp.add(i * 4).cast());
            let w1 = _mm256_loadu_ps(rp.add(i * 4 + 32).cast());
            a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xp.add(i)), a0);
            a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xp.add(i + 8)), a1);
        }
        i += 16;
    }
    let mut sum = hsum(_mm256_add_ps(a0, a1));
    for j in i..n {
        let c = &row[j * 4..j * 4 + 4];
        sum += f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * x[j];
    }
    sum
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_f16_avx2(row: &[u8], x: &[f32]) -> f32 {
    let n = x.len();
    assert!(row.len() >= n * 2);
    let (rp, xp) = (row.as_ptr(), x.as_ptr());
    let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n and row holds at least 2n bytes: both 16-byte loads are in bounds.
        unsafe {
            let w0 = _mm256_cvtph_ps(_mm_loadu_si128(rp.add(i * 2).cast()));
            let w1 = _mm256_cvtph_ps(_mm_loadu_si128(rp.add(i * 2 + 16).cast()));
            a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xp.add(i)), a0);
            a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xp.add(i + 8)), a1);
        }
        i += 16;
    }
    let mut sum = hsum(_mm256_add_ps(a0, a1));
    for j in i..n {
        sum += half::f16::from_le_bytes([row[j * 2], row[j * 2 + 1]]).to_f32() * x[j];
    }
    sum
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_bf16_avx2(row: &[u8], x: &[f32]) -> f32 {
    let n = x.len();
    assert!(row.len() >= n * 2);
    let (rp, xp) = (row.as_ptr(), x.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n and row holds at least 2n bytes: the 16-byte load is in bounds.
        unsafe {
            let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(rp.add(i * 2).cast()));
            let w = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(h));
            acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(xp.add(i)), acc);
        }
        i += 8;
    }
    let mut sum = hsum(acc);
    for j in i..n {
        sum += half::bf16::from_le_bytes([row[j * 2], row[j * 2 + 1]]).to_f32() * x[j];
    }
    sum
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_0_avx2(row: &[u8], x: &[f32]) -> f32 {
    assert!(row.len() / q8_0::BLOCK_BYTES * 32 >= x.len() && x.len().is_multiple_of(32));
    let mut acc = _mm256_setzero_ps();
    for (b, xs) in row.chunks_exact(q8_0::BLOCK_BYTES).zip(x.chunks_exact(32)) {
        let (qp, xp) = (b[2..].as_ptr(), xs.as_ptr());
        let mut s = _mm256_setzero_ps();
        for g in 0..4 {
            // SAFETY: the block has 32 quant bytes and xs 32 values; g < 4 keeps each 8-byte
            // and 8-float load inside them.
            unsafe {
                let q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(qp.add(g * 8).cast()));
                s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), _mm256_loadu_ps(xp.add(g * 8)), s);
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(block_scale(b)), s, acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_0_avx2(row: &[u8], x: &[f32]) -> f32 {
    assert!(row.len() / q4_0::BLOCK_BYTES * 32 >= x.len() && x.len().is_multiple_of(32));
    let mut acc = _mm256_setzero_ps();
    let mask = _mm_set1_epi8(0x0f);
    let eight = _mm256_set1_epi32(8);
    for (b, xs) in row.chunks_exact(q4_0::BLOCK_BYTES).zip(x.chunks_exact(32)) {
        let xp = xs.as_ptr();
        // SAFETY: the block has 16 bytes of codes after its 2-byte scale.
        let packed = unsafe { _mm_loadu_si128(b[2..].as_ptr().cast()) };
        let lo = _mm_and_si128(packed, mask); // elements 0..16
        let hi = _mm_and_si128(_mm_srli_epi16::<4>(packed), mask); // elements 16..32
        let groups = [lo, _mm_srli_si128::<8>(lo), hi, _mm_srli_si128::<8>(hi)];
        let mut s = _mm256_setzero_ps();
        for (g, q) in groups.into_iter().enumerate() {
            let q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(q), eight);
            // SAFETY: xs holds 32 floats; g < 4 keeps the 8-float load inside it.
            let xv = unsafe { _mm256_loadu_ps(xp.add(g * 8)) };
            s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), xv, s);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(block_scale(b)), s, acc);
    }
    hsum(acc)
}
