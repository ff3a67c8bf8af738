//! GGUF version 3 writer, the inverse of [`crate::gguf`]: metadata key/values of every type,
//! tensor infos, padding to `general.alignment` (default 32), then the tensor data, laid out as
//! ggml's `docs/gguf.md` (<https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>) and
//! llama.cpp's `gguf_write_to_file` do, so the reader and llama.cpp both load the result.
//!
//! Tensor data is never copied: [`GgufWriter::add_tensor`] borrows it, and for data produced one
//! tensor at a time (conversion, quantization) [`GgufWriter::add_tensor_info`] declares a tensor
//! whose bytes are streamed later through the [`TensorDataWriter`] that
//! [`GgufWriter::write_header`] returns. Every name, shape and length is checked before a byte is
//! written, with the same rules the reader applies.

use std::collections::HashSet;
use std::io::Write;

use crate::gguf::{
    tensor_size_bytes, GgmlType, MetadataArray, MetadataValue, DEFAULT_ALIGNMENT, MAGIC,
    MAX_ARRAY_DEPTH, MAX_DIMS, T_ARRAY, T_BOOL, T_F32, T_F64, T_I16, T_I32, T_I64, T_I8, T_STRING,
    T_U16, T_U32, T_U64, T_U8,
};
use crate::{Error, Result};

/// The GGUF version this writer produces.
const VERSION: u32 = 3;
/// Zeros for padding; alignments beyond this length are padded in several writes.
const ZEROS: [u8; 256] = [0; 256];

/// Collects metadata and tensors, then writes one GGUF v3 file.
///
/// Metadata and tensors keep the order in which they were added. `general.alignment`, when
/// added, must be a `u32` power of two; it sets the alignment of the data section and of every
/// tensor in it.
#[derive(Default)]
pub struct GgufWriter<'data> {
    metadata: Vec<(String, MetadataValue)>,
    keys: HashSet<String>,
    tensors: Vec<PlannedTensor<'data>>,
    tensor_names: HashSet<String>,
    alignment: Option<u64>,
}

/// A declared tensor: its info and, unless it is streamed later, its borrowed data.
struct PlannedTensor<'data> {
    name: String,
    dims: Vec<u64>,
    ggml_type: GgmlType,
    size_bytes: u64,
    data: Option<&'data [u8]>,
}

impl<'data> GgufWriter<'data> {
    /// An empty writer: no metadata, no tensors, alignment 32.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata key/value. Fails on a duplicate key, on a `general.alignment` that is not
    /// a `u32` power of two, and on arrays nested deeper than the reader accepts.
    pub fn add_metadata(&mut self, key: impl Into<String>, value: MetadataValue) -> Result<()> {
        let key = key.into();
        if self.keys.contains(&key) {
            return Err(invalid(
                format!("metadata key '{key}'"),
                "duplicate key".into(),
            ));
        }
        if key == "general.alignment" {
            match value {
                MetadataValue::U32(a) if a.is_power_of_two() => self.alignment = Some(a.into()),
                ref other => {
                    return Err(invalid(
                        format!("metadata '{key}'"),
                        format!(
                            "must be a u32 power of two, found {} {}",
                            other.type_name(),
                            other.display_short()
                        ),
                    ))
                }
            }
        }
        if let MetadataValue::Array(array) = &value {
            let depth = array_depth(array);
            if depth > MAX_ARRAY_DEPTH {
                return Err(invalid(
                    format!("metadata '{key}' array"),
                    format!("arrays nested {depth} deep, more than {MAX_ARRAY_DEPTH}"),
                ));
            }
        }
        self.keys.insert(key.clone());
        self.metadata.push((key, value));
        Ok(())
    }

    /// Adds a tensor whose bytes are `data`, borrowed until the file is written. `dims` are in
    /// ggml order (`dims[0]` is the contiguous one) and `data` must hold exactly the bytes that
    /// `dims` of `ggml_type` take, already in the file's (little-endian) byte order.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: GgmlType,
        data: &'data [u8],
    ) -> Result<()> {
        let tensor = planned_tensor(&self.tensor_names, name.into(), dims, ggml_type)?;
        if data.len() as u64 != tensor.size_bytes {
            return Err(Error::TensorSize {
                name: tensor.name,
                ggml_type,
                dims: tensor.dims,
                expected: tensor.size_bytes,
                actual: data.len() as u64,
            });
        }
        self.push_tensor(PlannedTensor {
            data: Some(data),
            ..tensor
        });
        Ok(())
    }

    /// Declares a tensor whose bytes will be streamed through [`Self::write_header`]'s
    /// [`TensorDataWriter`], in the order tensors were added.
    pub fn add_tensor_info(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: GgmlType,
    ) -> Result<()> {
        let tensor = planned_tensor(&self.tensor_names, name.into(), dims, ggml_type)?;
        self.push_tensor(tensor);
        Ok(())
    }

    fn push_tensor(&mut self, tensor: PlannedTensor<'data>) {
        self.tensor_names.insert(tensor.name.clone());
        self.tensors.push(tensor);
    }

    /// Alignment of the data section and of every tensor in it.
    pub fn alignment(&self) -> u64 {
        self.alignment.unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// Number of bytes [`Self::write_to`] will write.
    pub fn encoded_len(&self) -> u64 {
        let mut counter = ByteCounter(0);
        self.encode_header(&mut counter);
        let data_start = counter.0.next_multiple_of(self.alignment());
        data_start
            + self
                .tensors
                .iter()
                .map(|t| t.size_bytes.next_multiple_of(self.alignment()))
                .sum::<u64>()
    }

    /// Writes the whole file to `out` and hands `out` back. Every tensor must have been added
    /// with [`Self::add_tensor`]; wrap a `File` in a `BufWriter` (the header is written in one
    /// call, tensor data straight from the borrowed slices).
    pub fn write_to<W: Write>(&self, out: W) -> Result<W> {
        if let Some(t) = self.tensors.iter().find(|t| t.data.is_none()) {
            return Err(invalid(
                format!("tensor '{}'", t.name),
                "was declared with add_tensor_info and has no data: stream it through write_header"
                    .into(),
            ));
        }
        let mut data_writer = self.write_header(out)?;
        for t in &self.tensors {
            data_writer.write_tensor(&t.name, t.data.unwrap_or_default())?;
        }
        data_writer.finish()
    }

    /// The whole file in memory.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let capacity = usize::try_from(self.encoded_len()).unwrap_or(0);
        self.write_to(Vec::with_capacity(capacity))
    }

    /// Writes the header and the padding up to the data section, and returns the writer that
    /// takes the tensor data, in the order the tensors were added.
    pub fn write_header<W: Write>(&self, mut out: W) -> Result<TensorDataWriter<'_, W>> {
        let mut header = ByteCounter(0);
        self.encode_header(&mut header);
        let capacity = usize::try_from(header.0).unwrap_or(0);
        let mut bytes = Vec::with_capacity(capacity);
        self.encode_header(&mut bytes);
        let header_len = bytes.len() as u64;
        let pad = header_len.next_multiple_of(self.alignment()) - header_len;
        write_bytes(&mut out, &bytes, "header")?;
        write_zeros(&mut out, pad, "padding before the tensor data section")?;
        Ok(TensorDataWriter {
            out,
            tensors: &self.tensors,
            alignment: self.alignment(),
            next: 0,
            written: 0,
        })
    }

    fn encode_header(&self, sink: &mut impl Sink) {
        sink.put(&MAGIC);
        sink.put(&VERSION.to_le_bytes());
        sink.put(&(self.tensors.len() as u64).to_le_bytes());
        sink.put(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_string(sink, key);
            put_value(sink, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_string(sink, &t.name);
            sink.put(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                sink.put(&d.to_le_bytes());
            }
            sink.put(&t.ggml_type.id().to_le_bytes());
            sink.put(&offset.to_le_bytes());
            offset += t.size_bytes.next_multiple_of(self.alignment());
        }
    }
}

/// Takes the tensor data after [`GgufWriter::write_header`], in the order tensors were added,
/// padding each tensor to the alignment. A tensor may come whole ([`Self::write_tensor`]) or in
/// consecutive pieces ([`Self::write_tensor_chunk`]), so a converter never holds more than one.
pub struct TensorDataWriter<'w, W: Write> {
    out: W,
    tensors: &'w [PlannedTensor<'w>],
    alignment: u64,
    /// Index of the tensor being written.
    next: usize,
    /// Bytes of that tensor written so far.
    written: u64,
}

impl<W: Write> TensorDataWriter<'_, W> {
    /// The name and byte size of the tensor whose data comes next, `None` once all are written.
    pub fn next_tensor(&self) -> Option<(&str, u64)> {
        self.tensors
            .get(self.next)
            .map(|t| (t.name.as_str(), t.size_bytes))
    }

    /// Writes all of tensor `name`'s data; it must be the next tensor and none of it written.
    pub fn write_tensor(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let Some(tensor) = self.tensors.get(self.next) else {
            return Err(invalid(format!("tensor '{name}'"), self.all_written()));
        };
        if tensor.name != name || self.written != 0 {
            let reason = if tensor.name != name {
                format!(
                    "tensor '{}' comes next: data is written in the order tensors were added",
                    tensor.name
                )
            } else {
                format!(
                    "{} of its bytes are already written as chunks",
                    self.written
                )
            };
            return Err(invalid(format!("tensor '{name}'"), reason));
        }
        if data.len() as u64 != tensor.size_bytes {
            return Err(Error::TensorSize {
                name: tensor.name.clone(),
                ggml_type: tensor.ggml_type,
                dims: tensor.dims.clone(),
                expected: tensor.size_bytes,
                actual: data.len() as u64,
            });
        }
        self.write_tensor_chunk(data)
    }

    /// Writes the next `chunk` bytes of the current tensor (see [`Self::next_tensor`]); a chunk
    /// never spans two tensors. An empty chunk completes a tensor of zero bytes.
    pub fn write_tensor_chunk(&mut self, chunk: &[u8]) -> Result<()> {
        let Some(tensor) = self.tensors.get(self.next) else {
            return Err(invalid("tensor data".into(), self.all_written()));
        };
        let left = tensor.size_bytes - self.written;
        if chunk.len() as u64 > left {
            return Err(Error::TensorSize {
                name: tensor.name.clone(),
                ggml_type: tensor.ggml_type,
                dims: tensor.dims.clone(),
                expected: tensor.size_bytes,
                actual: self.written + chunk.len() as u64,
            });
        }
        let what = || format!("data of tensor '{}'", tensor.name);
        self.out.write_all(chunk).map_err(|source| Error::Write {
            what: what(),
            source,
        })?;
        self.written += chunk.len() as u64;
        if self.written == tensor.size_bytes {
            let pad = tensor.size_bytes.next_multiple_of(self.alignment) - tensor.size_bytes;
            write_zeros(
                &mut self.out,
                pad,
                &format!("padding after tensor '{}'", tensor.name),
            )?;
            self.next += 1;
            self.written = 0;
        }
        Ok(())
    }

    /// Checks that every tensor was written in full, flushes, and hands the output back.
    pub fn finish(mut self) -> Result<W> {
        if let Some(tensor) = self.tensors.get(self.next) {
            return Err(invalid(
                format!("tensor '{}'", tensor.name),
                format!(
                    "only {} of its {} bytes were written ({} of {} tensors complete)",
                    self.written,
                    tensor.size_bytes,
                    self.next,
                    self.tensors.len()
                ),
            ));
        }
        self.out.flush().map_err(|source| Error::Write {
            what: "final flush".into(),
            source,
        })?;
        Ok(self.out)
    }

    fn all_written(&self) -> String {
        format!("all {} tensors are already written", self.tensors.len())
    }
}

fn invalid(what: String, reason: String) -> Error {
    Error::InvalidInput { what, reason }
}

/// Checks a tensor declaration against the rules the reader applies and sizes its data.
fn planned_tensor<'data>(
    existing: &HashSet<String>,
    name: String,
    dims: &[u64],
    ggml_type: GgmlType,
) -> Result<PlannedTensor<'data>> {
    let what = || format!("tensor '{name}'");
    if existing.contains(&name) {
        return Err(invalid(what(), "duplicate tensor name".into()));
    }
    if dims.is_empty() || dims.len() > MAX_DIMS as usize {
        return Err(invalid(
            what(),
            format!("{} dimensions (ggml supports 1 to {MAX_DIMS})", dims.len()),
        ));
    }
    let size_bytes =
        tensor_size_bytes(ggml_type, dims).map_err(|reason| invalid(what(), reason))?;
    Ok(PlannedTensor {
        name,
        dims: dims.to_vec(),
        ggml_type,
        size_bytes,
        data: None,
    })
}

/// Levels of array nesting: 1 for an array of scalars or strings.
fn array_depth(array: &MetadataArray) -> usize {
    match array {
        MetadataArray::Array(items) => 1 + items.iter().map(array_depth).max().unwrap_or(0),
        _ => 1,
    }
}

fn write_bytes(out: &mut impl Write, bytes: &[u8], what: &str) -> Result<()> {
    out.write_all(bytes).map_err(|source| Error::Write {
        what: what.into(),
        source,
    })
}

fn write_zeros(out: &mut impl Write, mut n: u64, what: &str) -> Result<()> {
    while n > 0 {
        let step = n.min(ZEROS.len() as u64);
        write_bytes(out, &ZEROS[..step as usize], what)?;
        n -= step;
    }
    Ok(())
}

/// Where the header encoding goes: a byte buffer, or a counter that sizes the buffer first.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

struct ByteCounter(u64);

impl Sink for ByteCounter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

fn put_string(sink: &mut impl Sink, s: &str) {
    sink.put(&(s.len() as u64).to_le_bytes());
    sink.put(s.as_bytes());
}

/// Writes a value's type id and then its payload.
fn put_value(sink: &mut impl Sink, value: &MetadataValue) {
    let type_id = match value {
        MetadataValue::U8(_) => T_U8,
        MetadataValue::I8(_) => T_I8,
        MetadataValue::U16(_) => T_U16,
        MetadataValue::I16(_) => T_I16,
        MetadataValue::U32(_) => T_U32,
        MetadataValue::I32(_) => T_I32,
        MetadataValue::U64(_) => T_U64,
        MetadataValue::I64(_) => T_I64,
        MetadataValue::F32(_) => T_F32,
        MetadataValue::F64(_) => T_F64,
        MetadataValue::Bool(_) => T_BOOL,
        MetadataValue::String(_) => T_STRING,
        MetadataValue::Array(_) => T_ARRAY,
    };
    sink.put(&type_id.to_le_bytes());
    match value {
        MetadataValue::U8(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::I8(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::U16(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::I16(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::U32(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::I32(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::U64(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::I64(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::F32(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::F64(v) => sink.put(&v.to_le_bytes()),
        MetadataValue::Bool(v) => sink.put(&[u8::from(*v)]),
        MetadataValue::String(s) => put_string(sink, s),
        MetadataValue::Array(a) => put_array(sink, a),
    }
}

/// Writes an array body: element type id, count, elements (each nested array is a body too).
fn put_array(sink: &mut impl Sink, array: &MetadataArray) {
    macro_rules! elements {
        ($type_id:expr, $items:expr, |$sink:ident, $x:ident| $put:expr) => {{
            sink.put(&$type_id.to_le_bytes());
            sink.put(&($items.len() as u64).to_le_bytes());
            for $x in $items {
                let $sink = &mut *sink;
                $put;
            }
        }};
    }
    match array {
        MetadataArray::U8(v) => {
            sink.put(&T_U8.to_le_bytes());
            sink.put(&(v.len() as u64).to_le_bytes());
            sink.put(v);
        }
        MetadataArray::I8(v) => elements!(T_I8, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::U16(v) => elements!(T_U16, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::I16(v) => elements!(T_I16, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::U32(v) => elements!(T_U32, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::I32(v) => elements!(T_I32, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::U64(v) => elements!(T_U64, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::I64(v) => elements!(T_I64, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::F32(v) => elements!(T_F32, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::F64(v) => elements!(T_F64, v, |s, x| s.put(&x.to_le_bytes())),
        MetadataArray::Bool(v) => elements!(T_BOOL, v, |s, x| s.put(&[u8::from(*x)])),
        MetadataArray::String(v) => elements!(T_STRING, v, |s, x| put_string(s, x)),
        MetadataArray::Array(v) => elements!(T_ARRAY, v, |s, x| put_array(s, x)),
    }
}
