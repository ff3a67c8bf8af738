//! K-quants: super-blocks of 256 values split into sub-blocks (16 or 32 values) whose scales
//! are themselves quantized against one or two f16 super-scales. Layouts and reference
//! quantizers as in ggml's `block_q{2,3,4,5,6}_K` and `quantize_row_q*_K_ref` (the quantizers
//! llama.cpp uses when no importance matrix is given). Kawrakow, llama.cpp PR #1684.

use half::f16;

use super::{block_scale, f16_at};

/// Values per super-block.
pub const QK_K: usize = 256;

/// Bytes of a Q2_K block: scales[16], qs[64], d, dmin.
pub const Q2K_BYTES: usize = 84;
/// Bytes of a Q3_K block: hmask[32], qs[64], scales[12], d.
pub const Q3K_BYTES: usize = 110;
/// Bytes of a Q4_K block: d, dmin, scales[12], qs[128].
pub const Q4K_BYTES: usize = 144;
/// Bytes of a Q5_K block: d, dmin, scales[12], qh[32], qs[128].
pub const Q5K_BYTES: usize = 176;
/// Bytes of a Q6_K block: ql[128], qh[64], scales[16], d.
pub const Q6K_BYTES: usize = 210;

/// Below this magnitude a group counts as all zero.
const GROUP_MAX_EPS: f32 = 1e-15;

/// Round to nearest, ties to even, through the float-magic trick ggml uses (so results match
/// bit for bit). Valid for |v| ≤ 4194303.
#[inline]
pub(crate) fn nearest_int(v: f32) -> i32 {
    let bits = (v + 12_582_912.0f32).to_bits() as i32;
    (bits & 0x007f_ffff) - 0x0040_0000
}

/// Scale and min (6 bits each) of sub-block `j` from the 12 packed bytes of Q4_K / Q5_K.
#[inline]
pub(crate) fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The sixteen signed 6-bit scales of a Q3_K block, unpacked from its 12 bytes.
#[inline]
pub(crate) fn q3k_scales(packed: &[u8]) -> [i8; 16] {
    let w = |i: usize| {
        u32::from_le_bytes([
            packed[4 * i],
            packed[4 * i + 1],
            packed[4 * i + 2],
            packed[4 * i + 3],
        ])
    };
    let (a0, a1, tmp) = (w(0), w(1), w(2));
    const M1: u32 = 0x0303_0303;
    const M2: u32 = 0x0f0f_0f0f;
    let aux = [
        (a0 & M2) | ((tmp & M1) << 4),
        (a1 & M2) | (((tmp >> 2) & M1) << 4),
        ((a0 >> 4) & M2) | (((tmp >> 4) & M1) << 4),
        ((a1 >> 4) & M2) | (((tmp >> 6) & M1) << 4),
    ];
    let mut s = [0i8; 16];
    for (i, a) in aux.iter().enumerate() {
        for (k, b) in a.to_le_bytes().iter().enumerate() {
            s[4 * i + k] = *b as i8 - 32;
        }
    }
    s
}

// ---------------------------------------------------------------- dequantization

/// Dequantizes one Q2_K block into 256 values.
pub fn dequantize_q2k(b: &[u8], out: &mut [f32]) {
    let (scales, qs) = (&b[0..16], &b[16..80]);
    let (d, min) = (f16_at(b, 80), f16_at(b, 82));
    let mut y = 0;
    let mut is = 0;
    for half in 0..2 {
        let q = &qs[half * 32..];
        for shift in [0, 2, 4, 6] {
            for part in 0..2 {
                let sc = scales[is];
                is += 1;
                let (dl, ml) = (d * f32::from(sc & 0x0f), min * f32::from(sc >> 4));
                for l in 0..16 {
                    out[y] = dl * f32::from((q[l + 16 * part] >> shift) & 3) - ml;
                    y += 1;
                }
            }
        }
    }
}

/// Dequantizes one Q3_K block into 256 values.
pub fn dequantize_q3k(b: &[u8], out: &mut [f32]) {
    let (hm, qs) = (&b[0..32], &b[32..96]);
    let scales = q3k_scales(&b[96..108]);
    let d_all = f16_at(b, 108);
    let (mut y, mut is, mut m) = (0, 0, 1u8);
    for half in 0..2 {
        let q = &qs[half * 32..];
        for shift in [0, 2, 4, 6] {
            for part in 0..2 {
                let dl = d_all * f32::from(scales[is]);
                is += 1;
                for l in 16 * part..16 * part + 16 {
                    let low = ((q[l] >> shift) & 3) as i8;
                    let v = low - if hm[l] & m != 0 { 0 } else { 4 };
                    out[y] = dl * f32::from(v);
                    y += 1;
                }
            }
            m <<= 1;
        }
    }
}

/// Dequantizes one Q4_K block into 256 values.
pub fn dequantize_q4k(b: &[u8], out: &mut [f32]) {
    let (d, min) = (block_scale(b), f16_at(b, 2));
    let (scales, qs) = (&b[4..16], &b[16..144]);
    for j in 0..4 {
        let (sc1, m1) = scale_min_k4(2 * j, scales);
        let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
        let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
        let q = &qs[32 * j..32 * j + 32];
        for l in 0..32 {
            out[64 * j + l] = d1 * f32::from(q[l] & 0x0f) - m1;
            out[64 * j + 32 + l] = d2 * f32::from(q[l] >> 4) - m2;
        }
    }
}

/// Dequantizes one Q5_K block into 256 values.
pub fn dequantize_q5k(b: &[u8], out: &mut [f32]) {
    let (d, min) = (block_scale(b), f16_at(b, 2));
    let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
    for j in 0..4 {
        let (sc1, m1) = scale_min_k4(2 * j, scales);
        let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
        let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
        let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
        let q = &qs[32 * j..32 * j + 32];
        for l in 0..32 {
            let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
            let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
            out[64 * j + l] = d1 * f32::from((q[l] & 0x0f) + h1) - m1;
            out[64 * j + 32 + l] = d2 * f32::from((q[l] >> 4) + h2) - m2;
        }
    }
}

/// The 256 signed codes (−32..32) of a Q6_K block.
#[inline]
pub(crate) fn q6k_codes(b: &[u8]) -> [i8; 256] {
    let (ql, qh) = (&b[0..128], &b[128..192]);
    let mut q = [0i8; 256];
    for half in 0..2 {
        let (ql, qh, y) = (&ql[64 * half..], &qh[32 * half..], 128 * half);
        for l in 0..32 {
            q[y + l] = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i8 - 32;
            q[y + l + 32] = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            q[y + l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            q[y + l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
        }
    }
    q
}

/// Dequantizes one Q6_K block into 256 values.
pub fn dequantize_q6k(b: &[u8], out: &mut [f32]) {
    let d = f16_at(b, 208);
    let q = q6k_codes(b);
    for (i, (o, &q)) in out.iter_mut().zip(&q).enumerate() {
        let sc = b[192 + i / 16] as i8;
        *o = d * f32::from(sc) * f32::from(q);
    }
}

// ---------------------------------------------------------------- quantization helpers

/// ggml's `make_qx_quants`: a signed scale for codes in −nmax..nmax, searched around the
/// max-magnitude value; `L` receives codes offset by `nmax`.
fn make_qx_quants(x: &[f32], nmax: i32, l_out: &mut [i8], rmse_type: i32) -> f32 {
    let n = x.len();
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l_out[..n].fill(0);
        return 0.0;
    }
    let mut iscale = -(nmax as f32) / max;
    if rmse_type == 0 {
        for (l, &v) in l_out.iter_mut().zip(x) {
            *l = (nmax + nearest_int(iscale * v).clamp(-nmax, nmax - 1)) as i8;
        }
        return 1.0 / iscale;
    }
    let weight = |v: f32| match rmse_type {
        1 => v * v,
        2 => 1.0,
        3 => v.abs(),
        _ => v.abs().sqrt(),
    };
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (l_o, &v) in l_out.iter_mut().zip(x) {
        let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        *l_o = (l + nmax) as i8;
        let w = weight(v);
        sumlx += w * v * l as f32;
        suml2 += w * l as f32 * l as f32;
    }
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        sumlx = 0.0;
        suml2 = 0.0;
        for &v in x {
            let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
            let w = weight(v);
            sumlx += w * v * l as f32;
            suml2 += w * l as f32 * l as f32;
        }
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (l_o, &v) in l_out.iter_mut().zip(x) {
                *l_o = (nmax + nearest_int(iscale * v).clamp(-nmax, nmax - 1)) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// ggml's `make_q3_quants` with `do_rmse`: a signed scale for codes −nmax..nmax, refined by
/// coordinate descent on the x²-weighted error; `L` receives codes offset by `nmax`.
fn make_q3_quants(x: &[f32], nmax: i32, l_out: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l_out[..x.len()].fill(0);
        return 0.0;
    }
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (l_o, &v) in l_out.iter_mut().zip(x) {
        let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        *l_o = l as i8;
        let w = v * v;
        sumlx += w * v * l as f32;
        suml2 += w * l as f32 * l as f32;
    }
    for _ in 0..5 {
        let mut n_changed = 0;
        for (i, &v) in x.iter().enumerate() {
            let w = v * v;
            let li = i32::from(l_out[i]);
            let mut slx = sumlx - w * v * li as f32;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * li as f32 * li as f32;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != li {
                    slx += w * v * new_l as f32;
                    sl2 += w * new_l as f32 * new_l as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        l_out[i] = new_l as i8;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed += 1;
                    }
                }
            }
        }
        if n_changed == 0 {
            break;
        }
    }
    for l in l_out[..x.len()].iter_mut() {
        *l += nmax as i8;
    }
    if suml2 > 0.0 {
        sumlx / suml2
    } else {
        0.0
    }
}

/// ggml's `make_qkx2_quants`: scale and (negated) minimum for codes 0..=nmax, searched over
/// `nstep + 1` candidate scales by weighted least squares. Returns (scale, −min).
#[allow(clippy::too_many_arguments)]
fn make_qkx2_quants(
    x: &[f32],
    weights: &[f32],
    nmax: i32,
    l_out: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let n = x.len();
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        min = min.min(x[i]);
        max = max.max(x[i]);
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l_out[..n].fill(0);
        return (0.0, -min);
    }
    let err = |diff: f32| if use_mad { diff.abs() } else { diff * diff };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        l_out[i] = l as u8;
        best_error += weights[i] * err(scale * l as f32 + min - x[i]);
    }
    let mut laux = [0u8; 32];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            laux[i] = l as u8;
            let (w, lf) = (weights[i], l as f32);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                cur_error += weights[i] * err(this_scale * f32::from(laux[i]) + this_min - x[i]);
            }
            if cur_error < best_error {
                l_out[..n].copy_from_slice(&laux[..n]);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// Packs 2-bit codes of 256 values the way Q2_K and Q3_K store them: byte `j/4 + l` of each
/// 128-value half holds values l, l+32, l+64, l+96 in bit pairs 0, 2, 4, 6.
fn pack_2bit(l: &[u8; 256], out: &mut Vec<u8>) {
    for j in (0..QK_K).step_by(128) {
        for i in 0..32 {
            out.push(l[j + i] | (l[j + i + 32] << 2) | (l[j + i + 64] << 4) | (l[j + i + 96] << 6));
        }
    }
}

// ---------------------------------------------------------------- quantization

/// Quantizes 256 values to one Q2_K block and appends it.
pub fn quantize_q2k(x: &[f32], out: &mut Vec<u8>) {
    let mut l = [0u8; 256];
    let (mut scales, mut mins) = ([0.0f32; 16], [0.0f32; 16]);
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    let mut weights = [0.0f32; 16];
    for j in 0..16 {
        let xs = &x[16 * j..16 * j + 16];
        for (w, &v) in weights.iter_mut().zip(xs) {
            *w = v.abs();
        }
        let (s, m) = make_qkx2_quants(xs, &weights, 3, &mut l[16 * j..], -0.5, 0.1, 15, true);
        scales[j] = s;
        mins[j] = m;
        max_scale = max_scale.max(s);
        max_min = max_min.max(m);
    }
    let mut sc = [0u8; 16];
    let d = if max_scale > 0.0 {
        let iscale = 15.0 / max_scale;
        for (c, &s) in sc.iter_mut().zip(&scales) {
            *c = nearest_int(iscale * s) as u8;
        }
        max_scale / 15.0
    } else {
        0.0
    };
    let dmin = if max_min > 0.0 {
        let iscale = 15.0 / max_min;
        for (c, &m) in sc.iter_mut().zip(&mins) {
            *c |= (nearest_int(iscale * m) << 4) as u8;
        }
        max_min / 15.0
    } else {
        0.0
    };
    let (d16, dmin16) = (f16::from_f32(d), f16::from_f32(dmin));
    for j in 0..16 {
        let dl = d16.to_f32() * f32::from(sc[j] & 0x0f);
        if dl == 0.0 {
            continue;
        }
        let dm = dmin16.to_f32() * f32::from(sc[j] >> 4);
        for i in 0..16 {
            l[16 * j + i] = nearest_int((x[16 * j + i] + dm) / dl).clamp(0, 3) as u8;
        }
    }
    out.extend_from_slice(&sc);
    pack_2bit(&l, out);
    out.extend_from_slice(&d16.to_le_bytes());
    out.extend_from_slice(&dmin16.to_le_bytes());
}

/// Quantizes 256 values to one Q3_K block and appends it.
pub fn quantize_q3k(x: &[f32], out: &mut Vec<u8>) {
    let mut li = [0i8; 256];
    let mut scales = [0.0f32; 16];
    let (mut max_scale, mut amax) = (0.0f32, 0.0f32);
    for j in 0..16 {
        scales[j] = make_q3_quants(&x[16 * j..16 * j + 16], 4, &mut li[16 * j..]);
        if scales[j].abs() > amax {
            amax = scales[j].abs();
            max_scale = scales[j];
        }
    }
    let mut packed = [0u8; 12];
    let d = if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        for (j, &s) in scales.iter().enumerate() {
            let l = ((nearest_int(iscale * s) as i8).clamp(-32, 31) + 32) as u8;
            if j < 8 {
                packed[j] = l & 0x0f;
            } else {
                packed[j - 8] |= (l & 0x0f) << 4;
            }
            packed[j % 4 + 8] |= (l >> 4) << (2 * (j / 4));
        }
        1.0 / iscale
    } else {
        0.0
    };
    let d16 = f16::from_f32(d);
    let sc = q3k_scales(&packed);
    for j in 0..16 {
        let dl = d16.to_f32() * f32::from(sc[j]);
        if dl == 0.0 {
            continue;
        }
        for i in 0..16 {
            li[16 * j + i] = nearest_int(x[16 * j + i] / dl).clamp(-4, 3) as i8 + 4;
        }
    }
    let mut hmask = [0u8; 32];
    let mut l = [0u8; 256];
    for j in 0..QK_K {
        let mut v = li[j] as u8;
        if v > 3 {
            hmask[j % 32] |= 1 << (j / 32);
            v -= 4;
        }
        l[j] = v;
    }
    out.extend_from_slice(&hmask);
    pack_2bit(&l, out);
    out.extend_from_slice(&packed);
    out.extend_from_slice(&d16.to_le_bytes());
}

/// Scales and mins of the eight sub-blocks of Q4_K / Q5_K, searched with `make_qkx2_quants`.
fn k4_sub_scales(
    x: &[f32],
    nmax: i32,
    rmin: f32,
    nstep: i32,
    l: &mut [u8; 256],
) -> [(f32, f32); 8] {
    let mut res = [(0.0f32, 0.0f32); 8];
    let mut weights = [0.0f32; 32];
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let sum_x2: f32 = xs.iter().map(|v| v * v).sum();
        let av_x = (sum_x2 / 32.0).sqrt();
        for (w, &v) in weights.iter_mut().zip(xs) {
            *w = av_x + v.abs();
        }
        res[j] = make_qkx2_quants(
            xs,
            &weights,
            nmax,
            &mut l[32 * j..],
            rmin,
            0.1,
            nstep,
            false,
        );
    }
    res
}

/// Packs eight 6-bit scales and mins into 12 bytes (the inverse of `scale_min_k4`) and returns
/// the super-scales (d, dmin) with the codes applied to `l`.
fn pack_k4(
    x: &[f32],
    sub: &[(f32, f32); 8],
    nmax: i32,
    l: &mut [u8; 256],
    packed: &mut [u8; 12],
) -> (f16, f16) {
    let max_scale = sub.iter().fold(0.0f32, |m, s| m.max(s.0));
    let max_min = sub.iter().fold(0.0f32, |m, s| m.max(s.1));
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    for (j, &(s, m)) in sub.iter().enumerate() {
        let ls = (nearest_int(inv_scale * s) as u8).min(63);
        let lm = (nearest_int(inv_min * m) as u8).min(63);
        if j < 4 {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    let (d, dmin) = (
        f16::from_f32(max_scale / 63.0),
        f16::from_f32(max_min / 63.0),
    );
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, packed);
        let dl = d.to_f32() * f32::from(sc);
        if dl == 0.0 {
            continue;
        }
        let dm = dmin.to_f32() * f32::from(m);
        for i in 0..32 {
            l[32 * j + i] = nearest_int((x[32 * j + i] + dm) / dl).clamp(0, nmax) as u8;
        }
    }
    (d, dmin)
}

/// Quantizes 256 values to one Q4_K block and appends it.
pub fn quantize_q4k(x: &[f32], out: &mut Vec<u8>) {
    let mut l = [0u8; 256];
    let sub = k4_sub_scales(x, 15, -1.0, 20, &mut l);
    let mut packed = [0u8; 12];
    let (d, dmin) = pack_k4(x, &sub, 15, &mut l, &mut packed);
    out.extend_from_slice(&d.to_le_bytes());
    out.extend_from_slice(&dmin.to_le_bytes());
    out.extend_from_slice(&packed);
    for j in (0..QK_K).step_by(64) {
        for i in 0..32 {
            out.push(l[j + i] | (l[j + i + 32] << 4));
        }
    }
}

/// Quantizes 256 values to one Q5_K block and appends it.
pub fn quantize_q5k(x: &[f32], out: &mut Vec<u8>) {
    let mut l = [0u8; 256];
    let sub = k4_sub_scales(x, 31, -0.5, 15, &mut l);
    let mut packed = [0u8; 12];
    let (d, dmin) = pack_k4(x, &sub, 31, &mut l, &mut packed);
    out.extend_from_slice(&d.to_le_bytes());
    out.extend_from_slice(&dmin.to_le_bytes());
    out.extend_from_slice(&packed);
    let mut qh = [0u8; 32];
    let mut ql = [0u8; 128];
    for (k, n) in (0..QK_K).step_by(64).enumerate() {
        let (m1, m2) = (1u8 << (2 * k), 2u8 << (2 * k));
        for j in 0..32 {
            let (mut l1, mut l2) = (l[n + j], l[n + j + 32]);
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= m1;
            }
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[32 * k + j] = l1 | (l2 << 4);
        }
    }
    out.extend_from_slice(&qh);
    out.extend_from_slice(&ql);
}

/// Quantizes 256 values to one Q6_K block and appends it.
pub fn quantize_q6k(x: &[f32], out: &mut Vec<u8>) {
    let mut li = [0i8; 256];
    let mut scales = [0.0f32; 16];
    let (mut max_scale, mut max_abs) = (0.0f32, 0.0f32);
    for ib in 0..16 {
        let s = make_qx_quants(&x[16 * ib..16 * ib + 16], 32, &mut li[16 * ib..], 1);
        scales[ib] = s;
        if s.abs() > max_abs {
            max_abs = s.abs();
            max_scale = s;
        }
    }
    if max_abs < GROUP_MAX_EPS {
        out.extend_from_slice(&[0u8; Q6K_BYTES]);
        return;
    }
    let iscale = -128.0 / max_scale;
    let d = f16::from_f32(1.0 / iscale);
    let mut sc = [0i8; 16];
    for (c, &s) in sc.iter_mut().zip(&scales) {
        *c = nearest_int(iscale * s).min(127) as i8;
    }
    for j in 0..16 {
        let dl = d.to_f32() * f32::from(sc[j]);
        if dl == 0.0 {
            continue;
        }
        for i in 0..16 {
            li[16 * j + i] = (nearest_int(x[16 * j + i] / dl).clamp(-32, 31) + 32) as i8;
        }
    }
    let l = li.map(|v| v as u8);
    let (mut ql, mut qh) = ([0u8; 128], [0u8; 64]);
    for (h, j) in (0..QK_K).step_by(128).enumerate() {
        let (ql, qh) = (&mut ql[64 * h..], &mut qh[32 * h..]);
        for i in 0..32 {
            let (q1, q2, q3, q4) = (l[j + i], l[j + i + 32], l[j + i + 64], l[j + i + 96]);
            ql[i] = (q1 & 0x0f) | ((q3 & 0x0f) << 4);
            ql[i + 32] = (q2 & 0x0f) | ((q4 & 0x0f) << 4);
            qh[i] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
        }
    }
    out.extend_from_slice(&ql);
    out.extend_from_slice(&qh);
    out.extend(sc.iter().map(|&s| s as u8));
    out.extend_from_slice(&d.to_le_bytes());
}
