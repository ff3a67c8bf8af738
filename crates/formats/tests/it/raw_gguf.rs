//! A byte-level GGUF builder for tests: it writes whatever fields it is told, valid or not, and
//! reports offsets, so malformed-file tests can corrupt exactly one field and name its position.

/// GGUF value type ids, as in ggml's `gguf_type`.
pub(crate) const T_U8: u32 = 0;
pub(crate) const T_U32: u32 = 4;
pub(crate) const T_BOOL: u32 = 7;
pub(crate) const T_STRING: u32 = 8;
pub(crate) const T_ARRAY: u32 = 9;
pub(crate) const T_U64: u32 = 10;

/// ggml type ids used by the tests.
pub(crate) const GGML_F32: u32 = 0;
pub(crate) const GGML_Q4_0: u32 = 2;

/// Bytes under construction; every method appends and returns `&mut Self` for chaining.
pub(crate) struct RawGguf {
    pub(crate) bytes: Vec<u8>,
}

impl RawGguf {
    /// Magic, `version`, tensor count and metadata count: 24 bytes.
    pub(crate) fn header(version: u32, tensor_count: u64, kv_count: u64) -> Self {
        let mut raw = RawGguf {
            bytes: b"GGUF".to_vec(),
        };
        raw.u32(version).u64(tensor_count).u64(kv_count);
        raw
    }

    /// The offset the next field will have.
    pub(crate) fn pos(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.raw(&[v])
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    /// A GGUF string: `u64` length, then the bytes (not necessarily UTF-8).
    pub(crate) fn string(&mut self, s: impl AsRef<[u8]>) -> &mut Self {
        let s = s.as_ref();
        self.u64(s.len() as u64).raw(s)
    }

    /// A key and a `u32` value.
    pub(crate) fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.string(key).u32(T_U32).u32(v)
    }

    /// A tensor info: name, dims, ggml type id, data offset.
    pub(crate) fn tensor_info(
        &mut self,
        name: &str,
        dims: &[u64],
        type_id: u32,
        offset: u64,
    ) -> &mut Self {
        self.string(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(type_id).u64(offset)
    }

    /// Zero padding up to a multiple of `alignment`.
    pub(crate) fn pad_to(&mut self, alignment: u64) -> &mut Self {
        let target = self.pos().next_multiple_of(alignment);
        self.bytes.resize(target as usize, 0);
        self
    }

    /// `n` bytes of tensor data counting up from 0.
    pub(crate) fn data(&mut self, n: usize) -> &mut Self {
        let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
        self.raw(&data)
    }
}
