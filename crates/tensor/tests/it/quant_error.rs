//! Quantize → dequantize round trips: exact for the values each format represents exactly,
//! within the total-error bound of llama.cpp's `test-quantize-fns`, and within our own RMS bounds.

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
fn synthetic(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.1 + 2.0 * (i as f32).cos()).collect()
}

#[test]
fn total_error_within_llama_cpp_bound() {
    let data = synthetic(4096);
    for dtype in DType::ALL {
        let e = llama_cpp_total_error(&data, &round_trip(dtype, &data));
        assert!(e <= 0.002, "{dtype}: llama.cpp total error {e} > 0.002");
    }
}

#[test]
fn rms_error_per_format() {
    // Our own, tighter bounds on the same data (values in [-1.9, 2.1]): half a quantization
    // step of each format at that range, which a correct round-to-nearest quantizer stays under.
    let data = synthetic(4096);
    let bounds = [
        (DType::F32, 0.0),
        (DType::F16, 0.0005),
        (DType::Bf16, 0.005),
        (DType::Q8_0, 0.0085),
        (DType::Q4_0, 0.15),
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
    let v = vec![0.0; 32];
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
