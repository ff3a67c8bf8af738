//! Element types the engine computes with, and their block layouts as GGUF defines them
//! (ggml's `block_*` structs in `ggml-common.h`; all multi-byte fields little-endian).

/// An element type of a weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16 (the top half of a binary32).
    Bf16,
    /// Blocks of 32: f16 scale `d`, then 32 `i8`; value = d·q (34 bytes).
    Q8_0,
    /// Blocks of 32: f16 scale `d`, then 16 bytes of 4-bit codes; value = d·(q − 8) (18 bytes).
    /// Byte j holds element j in its low nibble and element j + 16 in its high nibble.
    Q4_0,
    /// Blocks of 32: f16 `d`, f16 `m`, 16 bytes of nibbles as Q4_0; value = d·q + m (20 bytes).
    Q4_1,
    /// Blocks of 32: f16 `d`, 4 bytes of fifth bits, 16 bytes of nibbles; value = d·(q − 16)
    /// (22 bytes).
    Q5_0,
    /// Blocks of 32: f16 `d`, f16 `m`, fifth bits, nibbles; value = d·q + m (24 bytes).
    Q5_1,
    /// Super-blocks of 256: 16 bytes of 4-bit scale/min pairs, 64 bytes of 2-bit codes, f16 `d`,
    /// f16 `dmin` (84 bytes).
    Q2K,
    /// Super-blocks of 256: 32 bytes of high bits, 64 bytes of low 2-bit codes, 12 bytes of
    /// 6-bit scales, f16 `d` (110 bytes).
    Q3K,
    /// Super-blocks of 256: f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales and mins for eight
    /// sub-blocks of 32, 128 bytes of nibbles (144 bytes).
    Q4K,
    /// Super-blocks of 256: as Q4_K plus 32 bytes of fifth bits (176 bytes).
    Q5K,
    /// Super-blocks of 256: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 `i8`
    /// scales, f16 `d`; value = d·scale·(q − 32) (210 bytes).
    Q6K,
    /// Blocks of 32: f16 `d`, 16 bytes of 4-bit indices into a fixed non-linear table (18 bytes).
    Iq4Nl,
    /// Super-blocks of 256: f16 `d`, 6-bit sub-block scales, indices as IQ4_NL (136 bytes).
    Iq4Xs,
}

impl DType {
    /// Every type, for tests that cover them all.
    pub const ALL: [DType; 15] = [
        DType::F32,
        DType::F16,
        DType::Bf16,
        DType::Q8_0,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q2K,
        DType::Q3K,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
        DType::Iq4Nl,
        DType::Iq4Xs,
    ];

    /// The quantized block types (every type but the plain floats).
    pub const QUANTIZED: [DType; 12] = [
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q2K,
        DType::Q3K,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
        DType::Iq4Nl,
        DType::Iq4Xs,
    ];

    /// Elements per block (1 for plain floats).
    pub const fn block_size(self) -> usize {
        match self {
            DType::F32 | DType::F16 | DType::Bf16 => 1,
            DType::Q8_0 | DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Iq4Nl => {
                32
            }
            DType::Q2K | DType::Q3K | DType::Q4K | DType::Q5K | DType::Q6K | DType::Iq4Xs => 256,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
            DType::Q8_0 => 34,
            DType::Q4_0 => 18,
            DType::Q4_1 => 20,
            DType::Q5_0 => 22,
            DType::Q5_1 => 24,
            DType::Q2K => 84,
            DType::Q3K => 110,
            DType::Q4K => 144,
            DType::Q5K => 176,
            DType::Q6K => 210,
            DType::Iq4Nl => 18,
            DType::Iq4Xs => 136,
        }
    }

    /// True for the block-quantized types.
    pub const fn is_quantized(self) -> bool {
        !matches!(self, DType::F32 | DType::F16 | DType::Bf16)
    }

    /// Bytes of a row of `cols` elements; `None` when `cols` is not a whole number of blocks.
    pub const fn row_bytes(self, cols: usize) -> Option<usize> {
        if !cols.is_multiple_of(self.block_size()) {
            return None;
        }
        Some(cols / self.block_size() * self.block_bytes())
    }

    /// Bits per weight, as llama.cpp reports them.
    pub fn bits_per_weight(self) -> f64 {
        self.block_bytes() as f64 * 8.0 / self.block_size() as f64
    }

    /// The name GGUF and llama.cpp use.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::Bf16 => "BF16",
            DType::Q8_0 => "Q8_0",
            DType::Q4_0 => "Q4_0",
            DType::Q4_1 => "Q4_1",
            DType::Q5_0 => "Q5_0",
            DType::Q5_1 => "Q5_1",
            DType::Q2K => "Q2_K",
            DType::Q3K => "Q3_K",
            DType::Q4K => "Q4_K",
            DType::Q5K => "Q5_K",
            DType::Q6K => "Q6_K",
            DType::Iq4Nl => "IQ4_NL",
            DType::Iq4Xs => "IQ4_XS",
        }
    }

    /// The type whose name (case-insensitive) is `name`.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
