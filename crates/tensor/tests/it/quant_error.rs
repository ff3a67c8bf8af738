//! Quantize → dequantize round trips: exact for the values each format represents exactly,
//! within the total-error bound of llama.cpp's `test-quantize-fns`, and within our own RMS bounds.

use tensor::cpu;
use tensor::quant::activation::ActFormat;
use tensor::quant::{dequantize, quantize};
use tensor::DType;

fn round_trip(dtype: DType, values: &[f32]) -> Vec<f32> {
    let bytes = quantize(dtype, values);
    assert_eq!(Some(bytes.len()), dtype.row_bytes(values.len()));
    let mut out = vec![0.0; values.len()];
    dequantize(dtype, &bytes, &mut out);
    out
}

/// llama.cpp's `array_rmse` in `tests/test-quantize-fns.cpp`: note it is sqrt(Σ d²) / n, not a
/// true RMS; its bound `MAX_QUANTIZATION_TOTAL_ERROR` is 0.002 for every 4- to 8-bit format.
fn llama_cpp_total_error(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    sum.sqrt() / a.len() as f64
}

/// True root-mean-square error.
fn rms_error(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    (sum / a.len() as f64).sqrt()
}

/// llama.cpp's synthetic test data: 0.1 + 2·cos(i + offset), 4096 values.
fn synthetic(n: usize, offset: f32) -> Vec<f32> {
    (0..n)
        .map(|i| 0.1 + 2.0 * (i as f32 + offset).cos())
        .collect()
}

/// `test-quantize-fns`' bound on the total error for a type: 0.0075 for 2-bit, 0.004 for
/// 3-bit, 0.002 for the rest.
fn llama_cpp_bound(dtype: DType) -> f64 {
    match dtype {
        DType::Q2K => 0.0075,
        DType::Q3K => 0.0040,
        _ => 0.002,
    }
}

#[test]
fn total_error_within_llama_cpp_bound() {
    let data = synthetic(4096, 0.0);
    for dtype in DType::ALL {
        let e = llama_cpp_total_error(&data, &round_trip(dtype, &data));
        println!("{dtype}: llama.cpp total error {e}");
        assert!(
            e <= llama_cpp_bound(dtype),
            "{dtype}: llama.cpp total error {e}"
        );
    }
}

/// `test-quantize-fns`' dot-product check: the quantized dot product (weights in the type,
/// activations in its 8-bit format) is within 0.02 per element of the f32 one (0.04 for
/// 2- and 3-bit types), for every kernel set.
#[test]
fn dot_product_error_within_llama_cpp_bound() {
    let (x, y) = (synthetic(4096, 0.0), synthetic(4096, 1.0));
    let exact: f64 = x.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum();
    for dtype in DType::QUANTIZED {
        let bound = if matches!(dtype, DType::Q2K | DType::Q3K) {
            0.04
        } else {
            0.02
        };
        let w = quantize(dtype, &x);
        let format = ActFormat::for_weights(dtype).unwrap();
        let mut act = vec![0u8; format.row_bytes(y.len())];
        format.quantize(&y, &mut act);
        for set in cpu::available() {
            let got = (set.dot_quant(dtype).unwrap())(&w, &act) as f64;
            let e = (got - exact).abs() / x.len() as f64;
            assert!(
                e <= bound,
                "{} {dtype}: dot product error {e} > {bound}",
                set.name
            );
        }
    }
}

#[test]
fn rms_error_per_format() {
    // Our own, tighter bounds on the same data (values in [-1.9, 2.1]): about half a
    // quantization step of each format at that range (measured values in comments).
    let data = synthetic(4096, 0.0);
    let bounds = [
        (DType::F32, 0.0),
        (DType::F16, 0.0005),
        (DType::Bf16, 0.005),
        (DType::Q8_0, 0.0085),
        (DType::Q4_0, 0.15),
        (DType::Q4_1, 0.1),
        (DType::Q5_0, 0.075),
        (DType::Q5_1, 0.05),
        (DType::Q2K, 0.4),
        (DType::Q3K, 0.2),
        (DType::Q4K, 0.1),
        (DType::Q5K, 0.05),
        (DType::Q6K, 0.025),
        (DType::Iq4Nl, 0.15),
        (DType::Iq4Xs, 0.15),
    ];
    for (dtype, bound) in bounds {
        let e = rms_error(&data, &round_trip(dtype, &data));
        println!("{dtype}: rms error {e}");
        assert!(e <= bound, "{dtype}: rms error {e} > {bound}");
    }
}

#[test]
fn exactly_representable_values_survive() {
    // Integers in [-127, 127] times a power of two are exact in Q8_0 when 127 is present.
    let mut v: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 0.25).collect();
    v[0] = 127.0 * 0.25;
    assert_eq!(round_trip(DType::Q8_0, &v), v);
    // Q4_0 codes q − 8 ∈ [-8, 7] with the extreme value −8·d present.
    let v: Vec<f32> = (0..32).map(|i| ((i % 16) as f32 - 8.0) * 0.5).collect();
    assert_eq!(round_trip(DType::Q4_0, &v), v);
    let v = vec![0.0; 256];
    for dtype in DType::ALL {
        assert_eq!(round_trip(dtype, &v), v, "{dtype} zeros");
    }
}

#[test]
fn q4_0_layout_matches_ggml() {
    // Block with d = 1 (f16 0x3c00): byte j = low nibble element j, high nibble element j + 16.
    let mut block = vec![0x00, 0x3c];
    block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    let mut out = vec![0.0; 32];
    dequantize(DType::Q4_0, &block, &mut out);
    for j in 0..16 {
        assert_eq!(out[j], j as f32 - 8.0);
        assert_eq!(out[j + 16], (15 - j) as f32 - 8.0);
    }
}
