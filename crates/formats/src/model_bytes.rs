//! The bytes of a model file: a read-only memory map of a file on disk, or an owned,
//! 64-byte-aligned copy (for a model embedded in the binary, whose alignment the linker does not
//! promise). Both hand out one `&[u8]`; tensor views are byte ranges into it.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Read-only bytes of a whole model file.
pub struct ModelBytes {
    storage: Storage,
}

enum Storage {
    Mapped(memmap2::Mmap),
    /// `Vec<Align64>` keeps the start 64-byte aligned; `len` is the byte length in use.
    Owned {
        blocks: Vec<Align64>,
        len: usize,
    },
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Align64([u8; 64]);

impl ModelBytes {
    /// Maps the file at `path` read-only.
    pub fn open(path: &Path) -> Result<Self> {
        let io_err = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::other("is a directory, expected a .gguf file"),
            });
        }
        if meta.len() == 0 {
            // mmap of an empty file fails on some systems; an empty buffer parses to a clean error.
            return Ok(Self::copy_from(&[]));
        }
        // SAFETY: the map is read-only and private to this process. Another process truncating
        // or rewriting the file while it is mapped is outside what we can guard against; every
        // model loader (llama.cpp, candle, safetensors) accepts the same contract.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
        Ok(Self {
            storage: Storage::Mapped(map),
        })
    }

    /// Copies `bytes` into an owned, 64-byte-aligned buffer.
    pub fn copy_from(bytes: &[u8]) -> Self {
        let mut blocks = vec![Align64([0; 64]); bytes.len().div_ceil(64)];
        for (block, chunk) in blocks.iter_mut().zip(bytes.chunks(64)) {
            block.0[..chunk.len()].copy_from_slice(chunk);
        }
        Self {
            storage: Storage::Owned {
                blocks,
                len: bytes.len(),
            },
        }
    }

    /// Tells the map that the bytes in `range` will not be read again (the model copied them
    /// into another layout), so the whole pages inside it leave this process's memory. Reading
    /// them later is still correct: a file map faults them in again from the file. Does nothing
    /// for an owned copy, or for a range outside the bytes.
    pub fn release(&self, range: std::ops::Range<usize>) {
        const PAGE: usize = 4096;
        let Storage::Mapped(map) = &self.storage else {
            return;
        };
        let (start, end) = (range.start.next_multiple_of(PAGE), range.end / PAGE * PAGE);
        if start >= end || end > map.len() {
            return;
        }
        // SAFETY: the map is read-only (`Mmap::map`), so no page of it was ever written and
        // MADV_DONTNEED only drops this process's copies of file pages: a later read faults in
        // the same file bytes again, so every `&[u8]` into the map keeps reading the values it
        // read before. `start..end` lies inside the map (checked above). The advice is a hint;
        // if the kernel refuses it the pages simply stay, so the result is ignored.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }

    /// The whole file.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Mapped(map) => map,
            Storage::Owned { blocks, len } => {
                let bytes: &[u8] = flatten(blocks);
                &bytes[..*len]
            }
        }
    }
}

fn flatten(blocks: &[Align64]) -> &[u8] {
    // `Align64` is `repr(C)` over `[u8; 64]` with no padding, so the blocks are contiguous bytes.
    let len = blocks.len() * 64;
    let ptr = blocks.as_ptr().cast::<u8>();
    // SAFETY: `ptr` points at `blocks.len()` initialised `Align64` values, each exactly 64 bytes
    // of `u8` with no padding; the returned slice borrows `blocks` for its lifetime.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

impl AsRef<[u8]> for ModelBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for ModelBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.storage {
            Storage::Mapped(_) => "mapped",
            Storage::Owned { .. } => "owned",
        };
        write!(f, "ModelBytes({kind}, {} bytes)", self.as_bytes().len())
    }
}
