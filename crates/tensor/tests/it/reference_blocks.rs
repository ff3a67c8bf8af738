//! Dequantization (and, where gguf-py has a quantizer, quantization) of every block type equals
//! the values the Python `gguf` package computes for the same blocks, bit for bit.
//! The fixtures are written by `scripts/reference/quant_blocks.py`.

use std::path::PathBuf;

use tensor::quant::{dequantize, quantize};
use tensor::DType;

struct Reference {
    input: Option<Vec<f32>>,
    blocks: Vec<u8>,
    dequantized: Vec<f32>,
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn load(dtype: DType) -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/quant")
        .join(format!("{}.bin", dtype.name()));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u32::from_le_bytes(data[0..4].try_into().unwrap()) as usize;
    let has_input = u32::from_le_bytes(data[4..8].try_into().unwrap()) != 0;
    let mut at = 8;
    let input = has_input.then(|| {
        at += 4 * n;
        f32s(&data[8..at])
    });
    let n_bytes = dtype.row_bytes(n).unwrap();
    let blocks = data[at..at + n_bytes].to_vec();
    let dequantized = f32s(&data[at + n_bytes..]);
    assert_eq!(dequantized.len(), n, "{}", path.display());
    Reference {
        input,
        blocks,
        dequantized,
    }
}

#[test]
fn dequantization_equals_gguf_py() {
    for dtype in DType::QUANTIZED {
        let r = load(dtype);
        let mut out = vec![0.0f32; r.dequantized.len()];
        dequantize(dtype, &r.blocks, &mut out);
        for (i, (a, b)) in out.iter().zip(&r.dequantized).enumerate() {
            assert!(
                a.to_bits() == b.to_bits(),
                "{dtype} value {i}: got {a}, gguf-py {b}"
            );
        }
    }
}

#[test]
fn quantization_equals_gguf_py() {
    for dtype in DType::QUANTIZED {
        let r = load(dtype);
        if let Some(input) = &r.input {
            assert_eq!(quantize(dtype, input), r.blocks, "{dtype}");
        }
    }
}
