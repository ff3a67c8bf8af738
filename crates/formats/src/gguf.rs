//! GGUF reader, versions 2 and 3, as specified in ggml's `docs/gguf.md`
//! (<https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>).
//!
//! Layout: magic `GGUF`, `u32` version, `u64` tensor count, `u64` metadata count, the metadata
//! key/value pairs, the tensor infos (name, dims, type id, offset relative to the data section),
//! padding to `general.alignment` (default 32), then the tensor data. All integers little-endian.
//!
//! The reader checks every count and length against the bytes that remain before it allocates,
//! so a hostile file cannot make it reserve more memory than a small multiple of its own size,
//! and every error names the field and its byte offset.

use std::collections::HashMap;

use crate::{Error, Result};

/// GGUF magic, the bytes `GGUF` read as a little-endian `u32`.
pub(crate) const MAGIC: [u8; 4] = *b"GGUF";
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub(crate) const MAX_DIMS: u32 = 4;
/// Nested metadata arrays deeper than this are rejected (guards the parser's stack).
pub(crate) const MAX_ARRAY_DEPTH: usize = 16;

/// A ggml tensor element type, as GGUF stores it (`ggml_type` ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    Iq2Xxs,
    Iq2Xs,
    Iq3Xxs,
    Iq1S,
    Iq4Nl,
    Iq3S,
    Iq2S,
    Iq4Xs,
    I8,
    I16,
    I32,
    I64,
    F64,
    Iq1M,
    Bf16,
    Tq1_0,
    Tq2_0,
    Mxfp4,
}

impl GgmlType {
    /// Every type this reader knows, for lookups and tests.
    pub const ALL: [GgmlType; 32] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
        GgmlType::Q8K,
        GgmlType::Iq2Xxs,
        GgmlType::Iq2Xs,
        GgmlType::Iq3Xxs,
        GgmlType::Iq1S,
        GgmlType::Iq4Nl,
        GgmlType::Iq3S,
        GgmlType::Iq2S,
        GgmlType::Iq4Xs,
        GgmlType::I8,
        GgmlType::I16,
        GgmlType::I32,
        GgmlType::I64,
        GgmlType::F64,
        GgmlType::Iq1M,
        GgmlType::Bf16,
        GgmlType::Tq1_0,
        GgmlType::Tq2_0,
        GgmlType::Mxfp4,
    ];

    /// `(ggml id, name, elements per block, bytes per block)`.
    const fn layout(self) -> (u32, &'static str, u64, u64) {
        match self {
            GgmlType::F32 => (0, "F32", 1, 4),
            GgmlType::F16 => (1, "F16", 1, 2),
            GgmlType::Q4_0 => (2, "Q4_0", 32, 18),
            GgmlType::Q4_1 => (3, "Q4_1", 32, 20),
            GgmlType::Q5_0 => (6, "Q5_0", 32, 22),
            GgmlType::Q5_1 => (7, "Q5_1", 32, 24),
            GgmlType::Q8_0 => (8, "Q8_0", 32, 34),
            GgmlType::Q8_1 => (9, "Q8_1", 32, 36),
            GgmlType::Q2K => (10, "Q2_K", 256, 84),
            GgmlType::Q3K => (11, "Q3_K", 256, 110),
            GgmlType::Q4K => (12, "Q4_K", 256, 144),
            GgmlType::Q5K => (13, "Q5_K", 256, 176),
            GgmlType::Q6K => (14, "Q6_K", 256, 210),
            GgmlType::Q8K => (15, "Q8_K", 256, 292),
            GgmlType::Iq2Xxs => (16, "IQ2_XXS", 256, 66),
            GgmlType::Iq2Xs => (17, "IQ2_XS", 256, 74),
            GgmlType::Iq3Xxs => (18, "IQ3_XXS", 256, 98),
            GgmlType::Iq1S => (19, "IQ1_S", 256, 50),
            GgmlType::Iq4Nl => (20, "IQ4_NL", 32, 18),
            GgmlType::Iq3S => (21, "IQ3_S", 256, 110),
            GgmlType::Iq2S => (22, "IQ2_S", 256, 82),
            GgmlType::Iq4Xs => (23, "IQ4_XS", 256, 136),
            GgmlType::I8 => (24, "I8", 1, 1),
            GgmlType::I16 => (25, "I16", 1, 2),
            GgmlType::I32 => (26, "I32", 1, 4),
            GgmlType::I64 => (27, "I64", 1, 8),
            GgmlType::F64 => (28, "F64", 1, 8),
            GgmlType::Iq1M => (29, "IQ1_M", 256, 56),
            GgmlType::Bf16 => (30, "BF16", 1, 2),
            GgmlType::Tq1_0 => (34, "TQ1_0", 256, 54),
            GgmlType::Tq2_0 => (35, "TQ2_0", 256, 66),
            GgmlType::Mxfp4 => (39, "MXFP4", 32, 17),
        }
    }

    /// The type with ggml id `id`, if known.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The ggml type id.
    pub const fn id(self) -> u32 {
        self.layout().0
    }

    /// The name llama.cpp prints, e.g. `Q4_K`.
    pub const fn name(self) -> &'static str {
        self.layout().1
    }

    /// Elements per quantization block (1 for plain types).
    pub const fn block_size(self) -> u64 {
        self.layout().2
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> u64 {
        self.layout().3
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(MetadataArray),
}

/// A metadata array: elements of one type, stored unboxed.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum MetadataArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<MetadataArray>),
}

impl MetadataArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            MetadataArray::U8(v) => v.len(),
            MetadataArray::I8(v) => v.len(),
            MetadataArray::U16(v) => v.len(),
            MetadataArray::I16(v) => v.len(),
            MetadataArray::U32(v) => v.len(),
            MetadataArray::I32(v) => v.len(),
            MetadataArray::U64(v) => v.len(),
            MetadataArray::I64(v) => v.len(),
            MetadataArray::F32(v) => v.len(),
            MetadataArray::F64(v) => v.len(),
            MetadataArray::Bool(v) => v.len(),
            MetadataArray::String(v) => v.len(),
            MetadataArray::Array(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The GGUF name of the element type.
    pub fn element_type_name(&self) -> &'static str {
        match self {
            MetadataArray::U8(_) => "u8",
            MetadataArray::I8(_) => "i8",
            MetadataArray::U16(_) => "u16",
            MetadataArray::I16(_) => "i16",
            MetadataArray::U32(_) => "u32",
            MetadataArray::I32(_) => "i32",
            MetadataArray::U64(_) => "u64",
            MetadataArray::I64(_) => "i64",
            MetadataArray::F32(_) => "f32",
            MetadataArray::F64(_) => "f64",
            MetadataArray::Bool(_) => "bool",
            MetadataArray::String(_) => "string",
            MetadataArray::Array(_) => "array",
        }
    }

    /// The elements as `i64` when this is an array of integers.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        Some(match self {
            MetadataArray::U8(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::I8(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::U16(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::I16(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::U32(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::I32(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::U64(v) => v.iter().map(|&x| x as i64).collect(),
            MetadataArray::I64(v) => v.clone(),
            MetadataArray::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            _ => return None,
        })
    }
}

impl MetadataValue {
    /// The GGUF name of the value's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetadataValue::U8(_) => "u8",
            MetadataValue::I8(_) => "i8",
            MetadataValue::U16(_) => "u16",
            MetadataValue::I16(_) => "i16",
            MetadataValue::U32(_) => "u32",
            MetadataValue::I32(_) => "i32",
            MetadataValue::U64(_) => "u64",
            MetadataValue::I64(_) => "i64",
            MetadataValue::F32(_) => "f32",
            MetadataValue::F64(_) => "f64",
            MetadataValue::Bool(_) => "bool",
            MetadataValue::String(_) => "string",
            MetadataValue::Array(_) => "array",
        }
    }

    /// Any integer (or bool) value as `i128`, which holds every GGUF integer exactly.
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            MetadataValue::U8(v) => v.into(),
            MetadataValue::I8(v) => v.into(),
            MetadataValue::U16(v) => v.into(),
            MetadataValue::I16(v) => v.into(),
            MetadataValue::U32(v) => v.into(),
            MetadataValue::I32(v) => v.into(),
            MetadataValue::U64(v) => v.into(),
            MetadataValue::I64(v) => v.into(),
            MetadataValue::Bool(v) => v.into(),
            _ => return None,
        })
    }

    /// Any numeric value as `f64`.
    pub fn as_float(&self) -> Option<f64> {
        match *self {
            MetadataValue::F32(v) => Some(v.into()),
            MetadataValue::F64(v) => Some(v),
            _ => self.as_integer().map(|v| v as f64),
        }
    }

    /// A short human-readable rendering (arrays are summarised).
    pub fn display_short(&self) -> String {
        match self {
            MetadataValue::String(s) => {
                let mut t: String = s.chars().take(60).collect();
                if t.len() < s.len() {
                    t.push('…');
                }
                format!("{t:?}")
            }
            MetadataValue::Array(a) => format!("[{}; {}]", a.element_type_name(), a.len()),
            MetadataValue::F32(v) => format!("{v}"),
            MetadataValue::F64(v) => format!("{v}"),
            MetadataValue::Bool(v) => format!("{v}"),
            other => other
                .as_integer()
                .map(|v| v.to_string())
                .unwrap_or_default(),
        }
    }
}

/// Where a tensor lives and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` (ne0) is the contiguous one.
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Absolute byte offset of the data in the file.
    pub file_offset: u64,
    /// Size of the data in bytes.
    pub size_bytes: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The data's byte range in the file.
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        // Both fit in usize: they were checked against the length of an in-memory file.
        self.file_offset as usize..(self.file_offset + self.size_bytes) as usize
    }
}

/// A parsed GGUF header: metadata in file order, tensor infos, and where the data starts.
#[derive(Debug, Clone)]
pub struct GgufFile {
    /// 2 or 3.
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, MetadataValue)>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Data-section alignment.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    metadata_index: HashMap<String, usize>,
    tensor_index: HashMap<String, usize>,
}

impl GgufFile {
    /// Parses the header of the GGUF file held in `bytes` and checks that every tensor's data
    /// lies inside it.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Parser { bytes, pos: 0 }.parse_file()
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// A tensor info by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// A string value; `Ok(None)` when absent, an error when present with another type.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetadataValue::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(key, "a string", v)),
        }
    }

    /// A non-negative integer of any integer type that fits `u64`.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_integer() {
                Some(i) => u64::try_from(i).map(Some).map_err(|_| Error::Metadata {
                    key: key.to_string(),
                    reason: format!("expected a non-negative integer, found {i}"),
                }),
                None => Err(wrong_type(key, "an integer", v)),
            },
        }
    }

    /// A number of any numeric type, as `f64`.
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_float()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a number", v)),
        }
    }

    /// A boolean.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetadataValue::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong_type(key, "a bool", v)),
        }
    }

    /// An array.
    pub fn get_array(&self, key: &str) -> Result<Option<&MetadataArray>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetadataValue::Array(a)) => Ok(Some(a)),
            Some(v) => Err(wrong_type(key, "an array", v)),
        }
    }
}

/// Bytes taken by the data of a `ggml_type` tensor with `dims` (ggml order, at least one), or
/// why that shape is impossible: a product that overflows, or a first dimension that does not
/// split into whole quantization blocks. The reader and the writer share this one rule.
pub(crate) fn tensor_size_bytes(
    ggml_type: GgmlType,
    dims: &[u64],
) -> std::result::Result<u64, String> {
    let Some(n_elements) = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)) else {
        return Err(format!("dims {dims:?} overflow"));
    };
    let ne0 = dims.first().copied().unwrap_or(1);
    if ne0 % ggml_type.block_size() != 0 {
        return Err(format!(
            "first dimension {ne0} is not a multiple of the {ggml_type} block size {}",
            ggml_type.block_size()
        ));
    }
    (n_elements / ggml_type.block_size())
        .checked_mul(ggml_type.block_bytes())
        .ok_or_else(|| format!("dims {dims:?} of {ggml_type} overflow the byte size"))
}

fn wrong_type(key: &str, expected: &str, found: &MetadataValue) -> Error {
    Error::Metadata {
        key: key.to_string(),
        reason: format!("expected {expected}, found {}", found.type_name()),
    }
}

/// GGUF value type ids.
pub(crate) const T_U8: u32 = 0;
pub(crate) const T_I8: u32 = 1;
pub(crate) const T_U16: u32 = 2;
pub(crate) const T_I16: u32 = 3;
pub(crate) const T_U32: u32 = 4;
pub(crate) const T_I32: u32 = 5;
pub(crate) const T_F32: u32 = 6;
pub(crate) const T_BOOL: u32 = 7;
pub(crate) const T_STRING: u32 = 8;
pub(crate) const T_ARRAY: u32 = 9;
pub(crate) const T_U64: u32 = 10;
pub(crate) const T_I64: u32 = 11;
pub(crate) const T_F64: u32 = 12;

/// Smallest encoded size of one element of a value type: used to bound counts before allocating.
fn min_encoded_size(value_type: u32) -> u64 {
    match value_type {
        T_U8 | T_I8 | T_BOOL => 1,
        T_U16 | T_I16 => 2,
        T_U32 | T_I32 | T_F32 => 4,
        T_U64 | T_I64 | T_F64 | T_STRING => 8,
        _ => 12, // nested array: u32 type + u64 count
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::Truncated {
                what: what(),
                offset: self.pos as u64,
                needed: n,
                available: self.remaining(),
            });
        }
        let n = n as usize;
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn invalid(&self, what: String, offset: usize, reason: String) -> Error {
        Error::Invalid {
            what,
            offset: offset as u64,
            reason,
        }
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let start = self.pos;
        let len = self.u64(&|| format!("{} (string length)", what()))?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|e| self.invalid(what(), start, format!("string is not valid UTF-8 ({e})")))
    }

    /// Checks that `count` elements of at least `min_size` bytes each can fit in what remains;
    /// an error points at `count_offset`, where the count itself was read.
    fn check_count(
        &self,
        count: u64,
        count_offset: usize,
        min_size: u64,
        what: &dyn Fn() -> String,
    ) -> Result<usize> {
        match count.checked_mul(min_size) {
            Some(bytes) if bytes <= self.remaining() => Ok(count as usize),
            _ => Err(self.invalid(
                what(),
                count_offset,
                format!(
                    "count {count} cannot fit in the {} bytes that remain",
                    self.remaining()
                ),
            )),
        }
    }

    fn parse_file(mut self) -> Result<GgufFile> {
        let magic: [u8; 4] = self.array(&|| "magic".into())?;
        if magic != MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        let version = self.u32(&|| "version".into())?;
        if version != 2 && version != 3 {
            return Err(Error::UnsupportedVersion { version });
        }
        let tensor_count_offset = self.pos;
        let tensor_count = self.u64(&|| "tensor count".into())?;
        let kv_count_offset = self.pos;
        let kv_count = self.u64(&|| "metadata count".into())?;

        // Each key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes.
        let kv_count =
            self.check_count(kv_count, kv_count_offset, 13, &|| "metadata count".into())?;
        let mut metadata = Vec::with_capacity(kv_count);
        let mut metadata_index = HashMap::with_capacity(kv_count);
        let mut alignment_offset = 0;
        for i in 0..kv_count {
            let key_offset = self.pos;
            let key = self.string(&|| format!("metadata key #{i}"))?;
            if key == "general.alignment" {
                alignment_offset = self.pos;
            }
            let value_type = self.u32(&|| format!("metadata '{key}' value type"))?;
            let value = self.value(value_type, &key, 0)?;
            if metadata_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(self.invalid(
                    format!("metadata key '{key}'"),
                    key_offset,
                    "duplicate key".into(),
                ));
            }
            metadata.push((key, value));
        }

        let mut alignment = DEFAULT_ALIGNMENT;
        if let Some(&i) = metadata_index.get("general.alignment") {
            match metadata[i].1 {
                MetadataValue::U32(a) if a != 0 && a.is_power_of_two() => alignment = a.into(),
                ref other => {
                    return Err(self.invalid(
                        "metadata 'general.alignment'".into(),
                        alignment_offset,
                        format!(
                            "must be a u32 power of two, found {} {}",
                            other.type_name(),
                            other.display_short()
                        ),
                    ))
                }
            }
        }

        // Each tensor info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
        let tensor_count = self.check_count(tensor_count, tensor_count_offset, 24, &|| {
            "tensor count".into()
        })?;
        let mut raw = Vec::with_capacity(tensor_count);
        let mut tensor_index = HashMap::with_capacity(tensor_count);
        for i in 0..tensor_count {
            let info_offset = self.pos;
            let name = self.string(&|| format!("tensor #{i} name"))?;
            let what = || format!("tensor '{name}'");
            let n_dims = self.u32(&what)?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(self.invalid(
                    what(),
                    info_offset,
                    format!("{n_dims} dimensions (ggml supports 1 to {MAX_DIMS})"),
                ));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(self.u64(&what)?);
            }
            let type_offset = self.pos;
            let type_id = self.u32(&what)?;
            let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| {
                self.invalid(
                    what(),
                    type_offset,
                    format!("unknown tensor type id {type_id}"),
                )
            })?;
            let offset = self.u64(&what)?;
            if tensor_index.insert(name.clone(), raw.len()).is_some() {
                return Err(self.invalid(what(), info_offset, "duplicate tensor name".into()));
            }
            raw.push((name, dims, ggml_type, offset, info_offset));
        }

        let data_offset = (self.pos as u64).next_multiple_of(alignment);
        let file_len = self.bytes.len() as u64;
        if tensor_count > 0 && data_offset > file_len {
            return Err(Error::Truncated {
                what: "padding before the tensor data section".into(),
                offset: self.pos as u64,
                needed: data_offset - self.pos as u64,
                available: self.remaining(),
            });
        }

        let mut tensors = Vec::with_capacity(raw.len());
        for (name, dims, ggml_type, offset, info_offset) in raw {
            let what = format!("tensor '{name}'");
            let size_bytes = tensor_size_bytes(ggml_type, &dims)
                .map_err(|reason| self.invalid(what.clone(), info_offset, reason))?;
            if offset % alignment != 0 {
                return Err(self.invalid(
                    what,
                    info_offset,
                    format!("data offset {offset} is not a multiple of the alignment {alignment}"),
                ));
            }
            let start = data_offset.checked_add(offset);
            let end = start.and_then(|s| s.checked_add(size_bytes));
            match (start, end) {
                (Some(start), Some(end)) if end <= file_len => tensors.push(TensorInfo {
                    name,
                    dims,
                    ggml_type,
                    file_offset: start,
                    size_bytes,
                }),
                _ => {
                    return Err(Error::Truncated {
                        what: format!("data of {what} ({ggml_type}, dims {dims:?})"),
                        offset: data_offset.saturating_add(offset),
                        needed: size_bytes,
                        available: file_len.saturating_sub(data_offset.saturating_add(offset)),
                    })
                }
            }
        }

        Ok(GgufFile {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            metadata_index,
            tensor_index,
        })
    }

    fn value(&mut self, value_type: u32, key: &str, depth: usize) -> Result<MetadataValue> {
        let what = || format!("metadata '{key}' value");
        Ok(match value_type {
            T_U8 => MetadataValue::U8(self.array::<1>(&what)?[0]),
            T_I8 => MetadataValue::I8(self.array::<1>(&what)?[0] as i8),
            T_U16 => MetadataValue::U16(u16::from_le_bytes(self.array(&what)?)),
            T_I16 => MetadataValue::I16(i16::from_le_bytes(self.array(&what)?)),
            T_U32 => MetadataValue::U32(self.u32(&what)?),
            T_I32 => MetadataValue::I32(i32::from_le_bytes(self.array(&what)?)),
            T_F32 => MetadataValue::F32(f32::from_le_bytes(self.array(&what)?)),
            T_U64 => MetadataValue::U64(self.u64(&what)?),
            T_I64 => MetadataValue::I64(i64::from_le_bytes(self.array(&what)?)),
            T_F64 => MetadataValue::F64(f64::from_le_bytes(self.array(&what)?)),
            T_BOOL => MetadataValue::Bool(self.bool(&what)?),
            T_STRING => MetadataValue::String(self.string(&what)?),
            T_ARRAY => MetadataValue::Array(self.array_value(key, depth)?),
            other => {
                return Err(self.invalid(
                    format!("metadata '{key}' value type"),
                    self.pos - 4,
                    format!("unknown value type id {other}"),
                ))
            }
        })
    }

    fn bool(&mut self, what: &dyn Fn() -> String) -> Result<bool> {
        let offset = self.pos;
        match self.array::<1>(what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.invalid(
                what(),
                offset,
                format!("bool byte must be 0 or 1, found {b}"),
            )),
        }
    }

    fn array_value(&mut self, key: &str, depth: usize) -> Result<MetadataArray> {
        let what = || format!("metadata '{key}' array");
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.invalid(
                what(),
                self.pos,
                format!("arrays nested deeper than {MAX_ARRAY_DEPTH}"),
            ));
        }
        let type_offset = self.pos;
        let elem_type = self.u32(&what)?;
        if elem_type > T_F64 {
            return Err(self.invalid(
                what(),
                type_offset,
                format!("unknown array element type id {elem_type}"),
            ));
        }
        let count_offset = self.pos;
        let count = self.u64(&what)?;
        let n = self.check_count(count, count_offset, min_encoded_size(elem_type), &what)?;
        macro_rules! fixed {
            ($variant:ident, $ty:ty) => {{
                let raw = self.take((n * std::mem::size_of::<$ty>()) as u64, &what)?;
                MetadataArray::$variant(
                    raw.chunks_exact(std::mem::size_of::<$ty>())
                        .map(|c| <$ty>::from_le_bytes(c.try_into().expect("chunk size matches")))
                        .collect(),
                )
            }};
        }
        Ok(match elem_type {
            T_U8 => MetadataArray::U8(self.take(n as u64, &what)?.to_vec()),
            T_I8 => fixed!(I8, i8),
            T_U16 => fixed!(U16, u16),
            T_I16 => fixed!(I16, i16),
            T_U32 => fixed!(U32, u32),
            T_I32 => fixed!(I32, i32),
            T_F32 => fixed!(F32, f32),
            T_U64 => fixed!(U64, u64),
            T_I64 => fixed!(I64, i64),
            T_F64 => fixed!(F64, f64),
            T_BOOL => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(self.bool(&|| format!("metadata '{key}' array element #{i}"))?);
                }
                MetadataArray::Bool(v)
            }
            T_STRING => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(self.string(&|| format!("metadata '{key}' array element #{i}"))?);
                }
                MetadataArray::String(v)
            }
            _ => {
                let mut v = Vec::with_capacity(n);
                // Each element of an array of arrays is an array body: element type, count, items.
                for _ in 0..n {
                    v.push(self.array_value(key, depth + 1)?);
                }
                MetadataArray::Array(v)
            }
        })
    }
}
