//! IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-linear table of 16 values (denser near
//! zero, where weights are). IQ4_NL has one f16 scale per 32 values; IQ4_XS packs eight 6-bit
//! sub-block scales under one f16 super-scale per 256. Layouts and the quantizer llama.cpp uses
//! without an importance matrix (`quantize_iq4_nl` / `quantize_iq4_xs`, 7 scale trials) as in
//! ggml's `block_iq4_nl` / `block_iq4_xs`.

use half::f16;

use super::block_scale;
use super::k_quants::nearest_int;

/// The non-linear code book (ggml's `kvalues_iq4nl`).
pub const KVALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// Bytes of an IQ4_NL block: d, qs[16].
pub const NL_BYTES: usize = 18;
/// Bytes of an IQ4_XS block: d, scales_h (u16), scales_l[4], qs[128].
pub const XS_BYTES: usize = 136;

/// Scale trials on each side of the first guess (llama.cpp's `ntry` for these formats).
const NTRY: i32 = 7;

/// Dequantizes one IQ4_NL block into 32 values.
pub fn dequantize_nl(b: &[u8], out: &mut [f32]) {
    let d = block_scale(b);
    for (j, &q) in b[2..18].iter().enumerate() {
        out[j] = d * f32::from(KVALUES[usize::from(q & 0x0f)]);
        out[j + 16] = d * f32::from(KVALUES[usize::from(q >> 4)]);
    }
}

/// The 6-bit scale (minus 32) of sub-block `ib` of an IQ4_XS block.
#[inline]
pub(crate) fn xs_scale(b: &[u8], ib: usize) -> i32 {
    let scales_h = u16::from_le_bytes([b[2], b[3]]);
    let low = (b[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f;
    let high = ((scales_h >> (2 * ib)) & 3) as u8;
    i32::from(low | (high << 4)) - 32
}

/// Dequantizes one IQ4_XS block into 256 values.
pub fn dequantize_xs(b: &[u8], out: &mut [f32]) {
    let d = block_scale(b);
    for ib in 0..8 {
        let dl = d * xs_scale(b, ib) as f32;
        let qs = &b[8 + 16 * ib..8 + 16 * ib + 16];
        let y = &mut out[32 * ib..32 * ib + 32];
        for (j, &q) in qs.iter().enumerate() {
            y[j] = dl * f32::from(KVALUES[usize::from(q & 0x0f)]);
            y[j + 16] = dl * f32::from(KVALUES[usize::from(q >> 4)]);
        }
    }
}

/// Index of the table value nearest to `x` (ggml's `best_index_int8`).
fn best_index(x: f32) -> u8 {
    let val = &KVALUES;
    if x <= f32::from(val[0]) {
        return 0;
    }
    if x >= f32::from(val[15]) {
        return 15;
    }
    let (mut ml, mut mu) = (0usize, 15usize);
    while mu - ml > 1 {
        let mav = (ml + mu) / 2;
        if x < f32::from(val[mav]) {
            mu = mav;
        } else {
            ml = mav;
        }
    }
    if x - f32::from(val[mu - 1]) < f32::from(val[mu]) - x {
        (mu - 1) as u8
    } else {
        mu as u8
    }
}

/// Best scale for one block of 32 (x²-weighted least squares over 2·NTRY + 1 trials); writes
/// the indices into `l`.
fn block_scale_search(xb: &[f32], l: &mut [u8]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in xb {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < 1e-15 {
        return 0.0;
    }
    let v0 = f32::from(KVALUES[0]);
    let mut d = -max / v0;
    let mut id = 1.0 / d;
    let (mut sumqx, mut sumq2) = (0.0f32, 0.0f32);
    for (lj, &x) in l.iter_mut().zip(xb) {
        let i = best_index(id * x);
        *lj = i;
        let q = f32::from(KVALUES[usize::from(i)]);
        let w = x * x;
        sumqx += w * q * x;
        sumq2 += w * q * q;
    }
    d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
    let mut best = d * sumqx;
    for itry in -NTRY..=NTRY {
        id = (itry as f32 + v0) / max;
        sumqx = 0.0;
        sumq2 = 0.0;
        for &x in xb {
            let q = f32::from(KVALUES[usize::from(best_index(id * x))]);
            let w = x * x;
            sumqx += w * q * x;
            sumq2 += w * q * q;
        }
        if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    d
}

fn pack_nibbles(l: &[u8], out: &mut Vec<u8>) {
    for i in 0..l.len() / 32 {
        for j in 0..16 {
            out.push(l[32 * i + j] | (l[32 * i + 16 + j] << 4));
        }
    }
}

/// Quantizes 32 values to one IQ4_NL block and appends it.
pub fn quantize_nl(x: &[f32], out: &mut Vec<u8>) {
    let mut l = [0u8; 32];
    let d = block_scale_search(x, &mut l);
    // As llama.cpp: an all-zero block gets index 8 (the table value nearest 0) everywhere.
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (lj, &v) in l.iter_mut().zip(x) {
        *lj = best_index(id * v);
    }
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    pack_nibbles(&l, out);
}

/// Quantizes 256 values to one IQ4_XS block and appends it.
pub fn quantize_xs(x: &[f32], out: &mut Vec<u8>) {
    let mut l = [0u8; 256];
    let mut scales = [0.0f32; 8];
    let (mut max_scale, mut amax_scale) = (0.0f32, 0.0f32);
    for ib in 0..8 {
        let d = block_scale_search(&x[32 * ib..32 * ib + 32], &mut l[32 * ib..32 * ib + 32]);
        scales[ib] = d;
        if d.abs() > amax_scale {
            amax_scale = d.abs();
            max_scale = d;
        }
    }
    let d = -max_scale / 32.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (mut scales_h, mut scales_l) = (0u16, [0u8; 4]);
    for ib in 0..8 {
        let ls = nearest_int(id * scales[ib]).clamp(-32, 31);
        let dl = d * ls as f32;
        let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
        for (lj, &v) in l[32 * ib..32 * ib + 32].iter_mut().zip(&x[32 * ib..]) {
            *lj = best_index(idl * v);
        }
        let ls = (ls + 32) as u8;
        scales_l[ib / 2] |= (ls & 0x0f) << (4 * (ib % 2));
        scales_h |= u16::from(ls >> 4) << (2 * ib);
    }
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    out.extend_from_slice(&scales_h.to_le_bytes());
    out.extend_from_slice(&scales_l);
    pack_nibbles(&l, out);
}
