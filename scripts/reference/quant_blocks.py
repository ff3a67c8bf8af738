#!/usr/bin/env python3
"""Reference quantization blocks for crates/tensor's tests (developer tool; CI does not run it).

For every block type the engine reads, writes fixtures/quant/<TYPE>.bin with values computed by
the Python `gguf` package (gguf-py, llama.cpp's own Python reference, `gguf.quants`):

    u32 n_values, u32 has_input,
    f32[n_values] input        (only when has_input: the values gguf-py quantized),
    u8[...] blocks             (gguf-py's quantization of the input, or random valid blocks),
    f32[n_values] dequantized  (gguf-py's dequantization of the blocks)

all little-endian. Types gguf-py can quantize (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) get random
normal inputs plus edge cases (zeros, one spike, constant blocks); for the others the blocks are
random bytes with their f16 scales replaced by finite values of sensible size, so every code and
scale bit pattern is exercised. The Rust tests compare dequantization bit for bit, and
quantization bit for bit where an input is given.

Usage: python3 scripts/reference/quant_blocks.py   (needs: pip install gguf numpy)
"""

import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "fixtures" / "quant"

# Byte offsets of the f16 scales within one block of each type without a gguf-py quantizer.
F16_FIELDS = {
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
    T.IQ4_NL: [0],
    T.IQ4_XS: [0],
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]


def write(name: str, n: int, inp, blocks: bytes, deq: np.ndarray) -> None:
    data = struct.pack("<II", n, 1 if inp is not None else 0)
    if inp is not None:
        data += inp.astype("<f4").tobytes()
    data += blocks + deq.astype("<f4").tobytes()
    (OUT / f"{name}.bin").write_bytes(data)
    print(f"{name}: {n} values, {len(data)} bytes")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240601)
    for t in QUANTIZABLE:
        block, _ = GGML_QUANT_SIZES[t]
        parts = [
            rng.normal(0, 1, 4 * block),
            np.zeros(block),
            np.where(np.arange(block) == 5, 7.5, 0.01),
            np.full(block, -0.25),
            rng.normal(0, 1e-3, block),
        ]
        values = np.concatenate(parts).astype(np.float32)
        q = quants.quantize(values.reshape(1, -1), t)
        deq = quants.dequantize(q, t).reshape(-1)
        write(t.name, values.size, values, q.tobytes(), deq)
    for t, fields in F16_FIELDS.items():
        block, size = GGML_QUANT_SIZES[t]
        n_blocks = 3 if block == 256 else 8
        raw = bytearray(rng.integers(0, 256, n_blocks * size, dtype=np.uint8).tobytes())
        for b in range(n_blocks):
            for off in fields:
                scale = np.float16(rng.uniform(1e-4, 2e-2) * rng.choice([-1, 1]))
                raw[b * size + off : b * size + off + 2] = scale.tobytes()
        q = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(1, -1)
        deq = quants.dequantize(q, t).reshape(-1)
        write(t.name, n_blocks * block, None, bytes(raw), deq)


if __name__ == "__main__":
    main()
