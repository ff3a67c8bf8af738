//! Every kernel set this CPU offers agrees with the scalar reference on random and edge-case
//! rows of every `DType`, and the scalar kernels agree with dequantize-then-dot in f64.

use tensor::cpu::{self, scalar};
use tensor::quant::{dequantize, quantize};
use tensor::DType;

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
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
    ]
}

fn reference_dot(dtype: DType, bytes: &[u8], x: &[f32]) -> f64 {
    let mut w = vec![0.0; x.len()];
    dequantize(dtype, bytes, &mut w);
    w.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum()
}

#[test]
fn every_kernel_set_matches_scalar() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sets = cpu::available();
    println!(
        "kernel sets on this CPU: {:?}",
        sets.iter().map(|k| k.name).collect::<Vec<_>>()
    );
    for dtype in DType::ALL {
        for len in [32, 64, 96, 256, 4096] {
            for w in rows(&mut rng, len) {
                let bytes = quantize(dtype, &w);
                let x: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
                let want = reference_dot(dtype, &bytes, &x);
                let scale: f64 = {
                    let mut wd = vec![0.0; len];
                    dequantize(dtype, &bytes, &mut wd);
                    wd.iter()
                        .zip(&x)
                        .map(|(a, b)| (a * b).abs() as f64)
                        .sum::<f64>()
                        + 1e-30
                };
                for set in &sets {
                    let got = (set.dot(dtype))(&bytes, &x) as f64;
                    // f32 accumulation over `len` terms: relative to Σ|w·x|, 1e-5 is ~100 ulp.
                    let err = (got - want).abs() / scale;
                    assert!(
                        err < 1e-5,
                        "{} {dtype} len {len}: got {got}, want {want}, rel err {err}",
                        set.name
                    );
                }
                let scalar = (scalar::KERNELS.dot(dtype))(&bytes, &x) as f64;
                assert!((scalar - want).abs() / scale < 1e-5);
            }
        }
    }
}

#[test]
fn odd_lengths_of_plain_floats() {
    let mut rng = Rng(7);
    for dtype in [DType::F32, DType::F16, DType::Bf16] {
        for len in [1, 3, 7, 8, 15, 17, 33] {
            let w: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
            let x: Vec<f32> = (0..len).map(|_| rng.next_f32()).collect();
            let bytes = quantize(dtype, &w);
            let want = reference_dot(dtype, &bytes, &x);
            for set in cpu::available() {
                let got = (set.dot(dtype))(&bytes, &x) as f64;
                assert!((got - want).abs() < 1e-5, "{} {dtype} len {len}", set.name);
            }
        }
    }
}
