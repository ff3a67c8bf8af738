//! Every kernel set this CPU offers agrees with the scalar reference on random and edge-case
//! rows of every `DType`, and the scalar kernels agree with dequantize-then-dot in f64.

use tensor::cpu::{self, scalar, CacheRows};
use tensor::quant::activation::{self, ActFormat};
use tensor::quant::{dequantize, quantize};
use tensor::DType;

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn next_f32(&mut self) -> f32 {
        let bits = self.next_u64() >> 40;
        bits as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn rows(rng: &mut Rng, len: usize) -> Vec<Vec<f32>> {
    let random: Vec<f32> = (0..len).map(|_| rng.next_f32() * 3.0).collect();
    let mut spiky = random.clone();
    spiky[len / 2] = 1000.0;
    vec![
        random,
        vec![0.0; len],
        vec![-1.0; len],
        spiky,
        (0..len)
            .map(|i| if i % 2 == 0 { 1e-3 } else { -65000.0 })
            .collect(),
        (0..len).map(|i| (i % 7) as f32 - 3.0).collect(),
    ]
}

/// Random bytes with every f16 field finite: exercises every code and scale bit pattern.
fn random_blocks(rng: &mut Rng, dtype: DType, len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..dtype.row_bytes(len).unwrap())
        .map(|_| rng.next_u64() as u8)
        .collect();
    let f16_fields: &[usize] = match dtype {
        DType::Q4_0 | DType::Q5_0 | DType::Q8_0 | DType::Iq4Nl | DType::Iq4Xs => &[0],
        DType::Q4_1 | DType::Q5_1 | DType::Q4K | DType::Q5K => &[0, 2],
        DType::Q2K => &[80, 82],
        DType::Q3K => &[108],
        DType::Q6K => &[208],
        _ => &[],
    };
    for block in bytes.chunks_exact_mut(dtype.block_bytes()) {
        for &at in f16_fields {
            let v = half::f16::from_f32(rng.next_f32() * 0.05);
            block[at..at + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

fn dequantized(dtype: DType, bytes: &[u8], len: usize) -> Vec<f32> {
    let mut w = vec![0.0; len];
    dequantize(dtype, bytes, &mut w);
    w
}

/// Σ w·x in f64 and Σ |w·x| (the scale errors are measured against).
fn reference(w: &[f32], x: &[f32]) -> (f64, f64) {
    let want = w.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
    let scale = w
        .iter()
        .zip(x)
        .map(|(&a, &b)| (a as f64 * b as f64).abs())
        .sum::<f64>();
    (want, scale + 1e-30)
}

fn check_quantized(dtype: DType, bytes: &[u8], x: &[f32]) {
    let len = x.len();
    let format = ActFormat::for_weights(dtype).unwrap();
    let mut act = vec![0u8; format.row_bytes(len)];
    format.quantize(x, &mut act);
    let mut xq = vec![0.0f32; len];
    activation::dequantize(format, &act, &mut xq);
    let (want, scale) = reference(&dequantized(dtype, bytes, len), &xq);
    let scalar = (scalar::KERNELS.dot_quant(dtype).unwrap())(bytes, &act) as f64;
    assert!(
        (scalar - want).abs() / scale < 1e-5,
        "scalar {dtype} len {len}: got {scalar}, want {want}"
    );
    for set in cpu::available() {
        let got = (set.dot_quant(dtype).unwrap())(bytes, &act) as f64;
        // f32 accumulation over `len` terms: relative to Σ|w·x|, 1e-5 is ~100 ulp.
        let err = (got - want).abs() / scale;
        assert!(
            err < 1e-5,
            "{} {dtype} len {len}: got {got}, want {want}, rel err {err}",
            set.name
        );
    }
}

#[test]
fn every_kernel_set_matches_scalar_on_quantized_rows() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    println!(
        "kernel sets on this CPU: {:?}",
        cpu::available().iter().map(|k| k.name).collect::<Vec<_>>()
    );
    for dtype in DType::QUANTIZED {
        for len in [256, 512, 4096] {
            for w in rows(&mut rng, len) {
                let x: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
                check_quantized(dtype, &quantize(dtype, &w), &x);
            }
            for _ in 0..20 {
                let bytes = random_blocks(&mut rng, dtype, len);
                let x: Vec<f32> = (0..len).map(|_| rng.next_f32() * 4.0).collect();
                check_quantized(dtype, &bytes, &x);
            }
        }
    }
}

#[test]
fn short_rows_of_32_value_blocks() {
    let mut rng = Rng(11);
    for dtype in [
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Iq4Nl,
    ] {
        for len in [32, 64, 96] {
            for _ in 0..20 {
                let bytes = random_blocks(&mut rng, dtype, len);
                let x: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
                check_quantized(dtype, &bytes, &x);
            }
        }
    }
}

#[test]
fn every_kernel_set_matches_scalar_on_float_rows() {
    let mut rng = Rng(0x1234_5678);
    for dtype in [DType::F32, DType::F16, DType::Bf16] {
        for len in [1, 3, 7, 8, 15, 17, 33, 256, 4096] {
            for w in rows(&mut rng, len.max(2))
                .into_iter()
                .map(|r| r[..len].to_vec())
            {
                let bytes = quantize(dtype, &w);
                let x: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
                let (want, scale) = reference(&dequantized(dtype, &bytes, len), &x);
                for set in cpu::available() {
                    let mut out = [[0.0f32; 4]; 3];
                    (set.float_tile(dtype).unwrap())(&[&bytes], &[&x], &mut out);
                    let got = out[0][0] as f64;
                    let err = (got - want).abs() / scale;
                    assert!(err < 1e-5, "{} {dtype} len {len}: rel err {err}", set.name);
                }
            }
        }
    }
}

#[test]
fn float_tiles_of_every_shape_equal_the_one_row_dot_bit_for_bit() {
    let mut rng = Rng(0x71e5_f10a);
    for dtype in [DType::F32, DType::F16, DType::Bf16] {
        for len in [5, 8, 16, 67, 512] {
            let rows: Vec<Vec<u8>> = (0..2)
                .map(|_| {
                    let w: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
                    quantize(dtype, &w)
                })
                .collect();
            let xs: Vec<Vec<f32>> = (0..3)
                .map(|_| (0..len).map(|_| rng.next_f32()).collect())
                .collect();
            for set in cpu::available() {
                let tile = set.float_tile(dtype).unwrap();
                let dot = set.dot_float(dtype).unwrap();
                let one = |r: usize, t: usize| {
                    let mut out = [[f32::NAN; 4]; 3];
                    tile(&[&rows[r]], &[&xs[t]], &mut out);
                    assert_eq!(out[0][0].to_bits(), dot(&rows[r], &xs[t]).to_bits());
                    out[0][0]
                };
                for nr in 1..=2 {
                    for nt in 1..=3 {
                        let rs: Vec<&[u8]> = rows[..nr].iter().map(|r| r.as_slice()).collect();
                        let ts: Vec<&[f32]> = xs[..nt].iter().map(|x| x.as_slice()).collect();
                        let mut out = [[f32::NAN; 4]; 3];
                        tile(&rs, &ts, &mut out);
                        for (t, values) in out.iter().enumerate().take(nt) {
                            for (r, value) in values.iter().enumerate().take(nr) {
                                assert_eq!(
                                    value.to_bits(),
                                    one(r, t).to_bits(),
                                    "{} {dtype} len {len} tile {nr}x{nt} row {r} token {t}",
                                    set.name
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn four_token_kernels_match_single_token_kernels() {
    let mut rng = Rng(0xfeed_f00d);
    for dtype in DType::QUANTIZED {
        for set in cpu::available() {
            let Some(dot4) = set.dot4_quant(dtype) else {
                continue;
            };
            let dot = set.dot_quant(dtype).unwrap();
            let format = ActFormat::for_weights(dtype).unwrap();
            for len in [256, 2048] {
                for _ in 0..10 {
                    let bytes = random_blocks(&mut rng, dtype, len);
                    let acts: Vec<Vec<u8>> = (0..4)
                        .map(|_| {
                            let x: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0).collect();
                            let mut a = vec![0u8; format.row_bytes(len)];
                            format.quantize(&x, &mut a);
                            a
                        })
                        .collect();
                    let four = dot4(&bytes, [&acts[0], &acts[1], &acts[2], &acts[3]]);
                    for (t, a) in acts.iter().enumerate() {
                        let one = dot(&bytes, a);
                        let tol = 1e-5 * (one.abs() + 1.0);
                        assert!(
                            (four[t] - one).abs() <= tol,
                            "{} {dtype} len {len} token {t}: {} vs {one}",
                            set.name,
                            four[t]
                        );
                    }
                }
            }
        }
    }
}

/// Quantized activation rows of `len` random values for weights of `dtype`.
fn activation_rows(
    rng: &mut Rng,
    dtype: DType,
    len: usize,
    n: usize,
) -> (Vec<Vec<u8>>, Vec<Vec<f32>>) {
    let format = ActFormat::for_weights(dtype).unwrap();
    (0..n)
        .map(|_| {
            let x: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0).collect();
            let mut a = vec![0u8; format.row_bytes(len)];
            format.quantize(&x, &mut a);
            let mut xq = vec![0.0f32; len];
            activation::dequantize(format, &a, &mut xq);
            (a, xq)
        })
        .unzip()
}

#[test]
fn batched_matmul_matches_token_by_token_scalar() {
    use std::sync::Arc;
    use tensor::{ops, Tensor};
    let mut rng = Rng(0xba7c_4ed0);
    // 20 rows in file layout: two eight-row groups interleaved per call and a four-row tail;
    // Q5_K has no group kernel.
    let (rows, len) = (20, 512);
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K, DType::Q5K] {
        let bytes: Vec<u8> = (0..rows)
            .flat_map(|_| random_blocks(&mut rng, dtype, len))
            .collect();
        let row_bytes = dtype.row_bytes(len).unwrap();
        let w = Tensor::from_shared(
            dtype,
            vec![rows, len],
            Arc::new(bytes.clone()),
            0..bytes.len(),
        )
        .unwrap();
        for n in [2, 3, 5, 9] {
            let x: Vec<f32> = (0..n * len).map(|_| rng.next_f32() * 2.0).collect();
            let (_, xq) = {
                let format = ActFormat::for_weights(dtype).unwrap();
                let mut a = vec![0u8; format.row_bytes(len)];
                let mut xq = Vec::new();
                for xt in x.chunks_exact(len) {
                    format.quantize(xt, &mut a);
                    let mut d = vec![0.0f32; len];
                    activation::dequantize(format, &a, &mut d);
                    xq.push(d);
                }
                ((), xq)
            };
            for set in cpu::available() {
                let mut batch = vec![0.0f32; n * rows];
                ops::matmul(set, 2, &w, &x, n, &mut batch).unwrap();
                for t in 0..n {
                    let mut one = vec![0.0f32; rows];
                    ops::matmul(
                        &scalar::KERNELS,
                        1,
                        &w,
                        &x[t * len..(t + 1) * len],
                        1,
                        &mut one,
                    )
                    .unwrap();
                    for r in 0..rows {
                        let row = &bytes[r * row_bytes..(r + 1) * row_bytes];
                        let (_, scale) = reference(&dequantized(dtype, row, len), &xq[t]);
                        let err = (batch[t * rows + r] as f64 - one[r] as f64).abs() / scale;
                        assert!(
                            err < 1e-5,
                            "{} {dtype} n {n} token {t} row {r}: {} vs {}, rel err {err}",
                            set.name,
                            batch[t * rows + r],
                            one[r]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gathered_row_kernels_match_scalar() {
    let mut rng = Rng(0xa11c_e5ed);
    // Widths: a remainder-only one, the common head sizes, one with a 64-wide pass and a
    // remainder, and one the AVX2 set hands to scalar; query counts: one, a partial group of
    // four, a full group, and more than a group.
    for width in [8, 64, 128, 88, 24, 12] {
        for m in [1, 2, 3, 4, 5, 8] {
            for n in [0, 1, 3, 4, 9, 33] {
                let stride = width + 5;
                let rows: Vec<f32> = (0..40 * stride).map(|_| rng.next_f32()).collect();
                let offsets: Vec<usize> = (0..n)
                    .map(|_| (rng.next_u64() % 40) as usize * stride)
                    .collect();
                let qs: Vec<f32> = (0..m * width).map(|_| rng.next_f32()).collect();
                let ps: Vec<f32> = (0..m * n).map(|_| rng.next_f32()).collect();
                let half: Vec<u16> = rows
                    .iter()
                    .map(|&v| half::f16::from_f32(v).to_bits())
                    .collect();
                for cache in [CacheRows::F32(&rows), CacheRows::F16(&half)] {
                    let (mut want_s, mut want_o) = (vec![0.0f32; m * n], vec![0.0f32; m * width]);
                    scalar::dot_rows(&qs, width, cache, &offsets, &mut want_s);
                    scalar::weighted_rows(&ps, cache, &offsets, &mut want_o, width);
                    for set in cpu::available() {
                        let (mut s, mut o) = (vec![1.0f32; m * n], vec![1.0f32; m * width]);
                        (set.dot_rows)(&qs, width, cache, &offsets, &mut s);
                        (set.weighted_rows)(&ps, cache, &offsets, &mut o, width);
                        // Sums of at most 128 products of values in (−1, 1): f32 reordering.
                        for (g, w) in s.iter().zip(&want_s).chain(o.iter().zip(&want_o)) {
                            assert!(
                                (g - w).abs() <= 1e-5,
                                "{} {cache:?} width {width} m {m} n {n}: {g} vs {w}",
                                set.name
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn f16_conversion_matches_half() {
    let mut rng = Rng(0xf16);
    let mut x: Vec<f32> = (0..1003).map(|_| rng.next_f32() * 70000.0).collect();
    x.extend([
        0.0,
        -0.0,
        1e-8,
        -6.0e-5,
        65504.0,
        65520.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]);
    x.extend((0..100).map(|i| (i as f32 + 0.5) * 2f32.powi(-14)));
    let want: Vec<u16> = x
        .iter()
        .map(|&v| half::f16::from_f32(v).to_bits())
        .collect();
    for set in cpu::available() {
        let mut got = vec![0u16; x.len()];
        (set.to_f16)(&x, &mut got);
        assert_eq!(got, want, "{}", set.name);
    }
}

#[test]
fn softmax_and_silu_match_libm() {
    let mut rng = Rng(0x50f7_3a11);
    for len in [1, 7, 8, 9, 64, 333] {
        let x: Vec<f32> = (0..len).map(|_| rng.next_f32() * 30.0).collect();
        let up: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
        let mut want = x.clone();
        scalar::softmax(&mut want);
        let mut want_silu = x.clone();
        scalar::silu_mul(&mut want_silu, &up);
        for set in cpu::available() {
            let mut got = x.clone();
            (set.softmax)(&mut got);
            let mut got_silu = x.clone();
            (set.silu_mul)(&mut got_silu, &up);
            // The AVX2 exp is a degree-6 polynomial within a few ulp of libm's.
            for (g, w) in got.iter().zip(&want).chain(got_silu.iter().zip(&want_silu)) {
                assert!(
                    (g - w).abs() <= 1e-6 * w.abs() + 1e-30,
                    "{} len {len}: {g} vs {w}",
                    set.name
                );
            }
        }
    }
    // Extremes: far below the max underflows to (nearly) zero; silu saturates to 0 and to x.
    for set in cpu::available() {
        let mut x = vec![0.0f32, -200.0, -100.0, 0.0, 50.0, -1e30, 1.0, 2.0];
        (set.softmax)(&mut x);
        assert!(x.iter().all(|v| v.is_finite()), "{}: {x:?}", set.name);
        assert!(
            (x.iter().sum::<f32>() - 1.0).abs() < 1e-6 && x[4] > 0.999,
            "{}: {x:?}",
            set.name
        );
        let mut g = vec![-100.0f32, 100.0, 0.0, -1e30, 1e30, 3.0, -3.0, 0.5];
        (set.silu_mul)(&mut g, &[1.0; 8]);
        assert!(
            g[0].abs() < 1e-30 && (g[1] - 100.0).abs() < 1e-4 && g[2] == 0.0,
            "{}: {g:?}",
            set.name
        );
        assert!(g.iter().all(|v| v.is_finite()), "{}: {g:?}", set.name);
    }
}

#[test]
fn fused_swiglu_matches_two_products_and_gating() {
    use std::sync::Arc;
    use tensor::{ops, Tensor};
    let mut rng = Rng(0x05a1_c0de);
    // 20 rows in file layout: two groups interleaved per call and a four-row tail.
    let (rows, len) = (20, 512);
    for dtype in [
        DType::Q4_0,
        DType::Q8_0,
        DType::Q4K,
        DType::Q6K,
        DType::Q5K,
        DType::F32,
    ] {
        let tensor = |rng: &mut Rng| {
            let bytes: Vec<u8> = if dtype == DType::F32 {
                let v: Vec<f32> = (0..rows * len).map(|_| rng.next_f32() * 0.1).collect();
                quantize(DType::F32, &v)
            } else {
                (0..rows)
                    .flat_map(|_| random_blocks(rng, dtype, len))
                    .collect()
            };
            let n = bytes.len();
            Tensor::from_shared(dtype, vec![rows, len], Arc::new(bytes), 0..n).unwrap()
        };
        let (gate, up) = (tensor(&mut rng), tensor(&mut rng));
        for n in [1, 2, 5, 9] {
            let x: Vec<f32> = (0..n * len).map(|_| rng.next_f32() * 2.0).collect();
            for set in cpu::available() {
                // The same set's two products and gating (the products are checked against
                // scalar elsewhere): only the fusion is under test here.
                let (mut g, mut u) = (vec![0.0f32; n * rows], vec![0.0f32; n * rows]);
                ops::matmul(set, 2, &gate, &x, n, &mut g).unwrap();
                ops::matmul(set, 2, &up, &x, n, &mut u).unwrap();
                (set.silu_mul)(&mut g, &u);
                let mut got = vec![0.0f32; n * rows];
                ops::swiglu(set, 2, &gate, &up, &x, n, &mut got).unwrap();
                for (i, (a, b)) in got.iter().zip(&g).enumerate() {
                    // Group rows are bit-identical; tail rows differ by the four-token kernel's
                    // summation order only.
                    let tol = 1e-5 * (b.abs() + 1.0);
                    assert!(
                        (a - b).abs() <= tol,
                        "{} {dtype} n {n} value {i}: {a} vs {b}",
                        set.name
                    );
                }
            }
        }
    }
}

#[test]
fn interleaved_kernels_match_scalar_dot_products_of_the_file_rows() {
    use tensor::interleaved;
    let mut rng = Rng(0x1a7e_41ed);
    for (dtype, len) in [
        (DType::Q4_0, 32),
        (DType::Q4_0, 256),
        (DType::Q4_0, 2048),
        (DType::Q8_0, 64),
        (DType::Q8_0, 2048),
        (DType::Q4K, 256),
        (DType::Q4K, 2048),
        (DType::Q6K, 256),
        (DType::Q6K, 2048),
    ] {
        for _ in 0..6 {
            let rows: Vec<Vec<u8>> = (0..interleaved::ROWS)
                .map(|_| random_blocks(&mut rng, dtype, len))
                .collect();
            let w = tensor::Tensor::from_shared(
                dtype,
                vec![interleaved::ROWS, len],
                std::sync::Arc::new(rows.concat()),
                0..rows.concat().len(),
            )
            .unwrap();
            let group = w.interleaved().unwrap();
            assert_eq!(group.bytes().len(), w.bytes().len());
            let (acts, xq) = activation_rows(&mut rng, dtype, len, 4);
            let dot = scalar::KERNELS.dot_quant(dtype).unwrap();
            for n in 1..=4 {
                let refs: Vec<&[u8]> = acts[..n].iter().map(|a| a.as_slice()).collect();
                for set in cpu::available() {
                    let kernel = set.interleaved(dtype).unwrap();
                    let mut got = [[f32::NAN; 8]; 4];
                    kernel(group.bytes(), &refs, &mut got);
                    for (t, a) in refs.iter().enumerate() {
                        for (r, row) in rows.iter().enumerate() {
                            let one = dot(row, a) as f64;
                            let (_, scale) = reference(&dequantized(dtype, row, len), &xq[t]);
                            // Same integer sums; f32 rounding over `len` terms only.
                            let err = (got[t][r] as f64 - one).abs() / scale;
                            assert!(
                                err < 1e-5,
                                "{} {dtype} interleaved len {len} n {n} token {t} row {r}: \
                                 {} vs {one}, rel err {err}",
                                set.name,
                                got[t][r]
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn interleaved_weights_give_the_products_and_values_of_the_file_layout() {
    use std::sync::Arc;
    use tensor::{ops, Layout, Tensor};
    let mut rng = Rng(0x0e1f_8888);
    // Two stacked matrices of 24 rows: outer slices of the interleaved stack are the
    // interleaved matrices.
    let (experts, rows, len) = (2, 24, 512);
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
        let bytes: Vec<u8> = (0..experts * rows)
            .flat_map(|_| random_blocks(&mut rng, dtype, len))
            .collect();
        let n_bytes = bytes.len();
        let stack =
            Tensor::from_shared(dtype, vec![experts, rows, len], Arc::new(bytes), 0..n_bytes)
                .unwrap();
        let inter = stack.interleaved().unwrap();
        assert_eq!(inter.layout(), Layout::Interleaved8);
        assert!(inter.interleaved().is_none(), "interleaving twice");
        assert_eq!(inter.to_f32_vec(), stack.to_f32_vec());
        let odd =
            Tensor::from_shared(DType::Q4_0, vec![4, 32], Arc::new(vec![0u8; 72]), 0..72).unwrap();
        assert!(odd.interleaved().is_none(), "4 rows do not make a group");
        for e in 0..experts {
            let (w, wi) = (stack.outer_slice(e), inter.outer_slice(e));
            let mut row = vec![0.0f32; len];
            let mut row_i = vec![0.0f32; len];
            for r in 0..rows {
                w.dequantize_row(r, &mut row);
                wi.dequantize_row(r, &mut row_i);
                assert_eq!(row, row_i, "expert {e} row {r}");
            }
            let up = stack.outer_slice(1 - e);
            let up_i = inter.outer_slice(1 - e);
            for n in [1, 2, 5, 9] {
                let x: Vec<f32> = (0..n * len).map(|_| rng.next_f32() * 2.0).collect();
                for set in cpu::available() {
                    let (mut want, mut got) = (vec![0.0f32; n * rows], vec![0.0f32; n * rows]);
                    ops::matmul(set, 2, &w, &x, n, &mut want).unwrap();
                    ops::matmul(set, 2, &wi, &x, n, &mut got).unwrap();
                    // Batch invariance: each token alone gives exactly its values in the batch.
                    for t in 0..n {
                        let mut one = vec![0.0f32; rows];
                        ops::matmul(set, 1, &wi, &x[t * len..(t + 1) * len], 1, &mut one).unwrap();
                        assert!(
                            one == got[t * rows..(t + 1) * rows],
                            "{} {dtype} expert {e}: token {t} of {n} differs alone",
                            set.name
                        );
                    }
                    let (mut want_s, mut got_s) = (vec![0.0f32; n * rows], vec![0.0f32; n * rows]);
                    ops::swiglu(set, 2, &w, &up, &x, n, &mut want_s).unwrap();
                    ops::swiglu(set, 2, &wi, &up_i, &x, n, &mut got_s).unwrap();
                    for (what, want, got) in [("matmul", &want, &got), ("swiglu", &want_s, &got_s)]
                    {
                        for (i, (a, b)) in got.iter().zip(want.iter()).enumerate() {
                            // Same integer sums in another order of f32 operations; a
                            // K-quant's min term cancels part of its scale term, so the
                            // rounding is bounded relative to the terms, not the result.
                            let tol = 1e-4 * (b.abs() + 1.0);
                            assert!(
                                (a - b).abs() <= tol,
                                "{} {dtype} {what} expert {e} n {n} value {i}: {a} vs {b}",
                                set.name
                            );
                        }
                    }
                }
            }
        }
    }
}
