//! `Tensor`: an element type, a shape (outermost dimension first, so a weight matrix is
//! `[rows, cols]` with `cols` contiguous), a layout (rows as in the file, or re-laid at load for
//! the kernels: `interleaved`) and storage that is either a byte range of a shared buffer (a
//! memory-mapped model file: zero copy) or an owned `f32` vector.

use std::sync::Arc;

use crate::{DType, Error, Result};

/// A shared, read-only byte buffer, such as a memory-mapped file.
pub type ByteSource = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Where a tensor's bytes live.
#[derive(Clone)]
pub enum Storage {
    /// A byte range of a shared buffer.
    Shared {
        /// The buffer.
        source: ByteSource,
        /// The tensor's bytes within it.
        range: std::ops::Range<usize>,
    },
    /// Owned f32 values (only for `DType::F32`).
    OwnedF32(Vec<f32>),
}

/// How a tensor's rows are laid out in its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Row after row, each row its blocks in order: the file's layout.
    Rows,
    /// Groups of eight rows interleaved block by block (`crate::interleaved`); only the matrix
    /// products read it directly.
    Interleaved8,
}

/// A dense tensor of any supported element type.
#[derive(Clone)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    storage: Storage,
    layout: Layout,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({} {:?})", self.dtype, self.shape)
    }
}

impl Tensor {
    /// A view of `range` in `source`, checked against `shape` and `dtype`.
    pub fn from_shared(
        dtype: DType,
        shape: Vec<usize>,
        source: ByteSource,
        range: std::ops::Range<usize>,
    ) -> Result<Self> {
        let expected = expected_bytes(dtype, &shape)?;
        let got = range.len();
        if expected != got || range.end > (*source).as_ref().len() {
            return Err(Error::ByteLength {
                dtype: dtype.name(),
                shape,
                expected,
                got,
            });
        }
        Ok(Self {
            dtype,
            shape,
            storage: Storage::Shared { source, range },
            layout: Layout::Rows,
        })
    }

    /// An owned f32 tensor.
    pub fn from_f32(shape: Vec<usize>, values: Vec<f32>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if expected != values.len() {
            return Err(Error::ByteLength {
                dtype: "F32",
                shape,
                expected: expected * 4,
                got: values.len() * 4,
            });
        }
        Ok(Self {
            dtype: DType::F32,
            shape,
            storage: Storage::OwnedF32(values),
            layout: Layout::Rows,
        })
    }

    /// The same values with each matrix's rows interleaved eight at a time for the kernels
    /// (`Layout::Interleaved8`), in a new buffer of the same size; `None` when `dtype` has no
    /// interleaved layout, the tensor is not in file layout, or a matrix's row count (the
    /// second-innermost dimension) is not a multiple of eight.
    pub fn interleaved(&self) -> Option<Tensor> {
        let rows_per_matrix = *self.shape.iter().rev().nth(1)?;
        if self.layout != Layout::Rows
            || !crate::interleaved::supports(self.dtype)
            || !rows_per_matrix.is_multiple_of(crate::interleaved::ROWS)
        {
            return None;
        }
        let row_bytes = self.dtype.row_bytes(self.cols())?;
        let (source, range) = huge_page_buffer(self.bytes().len(), |out| {
            crate::interleaved::interleave(self.dtype, self.bytes(), row_bytes, out)
        });
        Some(Tensor {
            dtype: self.dtype,
            shape: self.shape.clone(),
            storage: Storage::Shared { source, range },
            layout: Layout::Interleaved8,
        })
    }

    /// How the rows are laid out.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The byte range of the shared buffer this tensor views, if it views one.
    pub fn shared_range(&self) -> Option<std::ops::Range<usize>> {
        match &self.storage {
            Storage::Shared { range, .. } => Some(range.clone()),
            Storage::OwnedF32(_) => None,
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Shape, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn n_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Innermost (contiguous) dimension.
    pub fn cols(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Product of all but the innermost dimension.
    pub fn rows(&self) -> usize {
        self.n_elements() / self.cols().max(1)
    }

    /// The raw bytes in the storage's element type and `layout()`.
    pub fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Shared { source, range } => &(**source).as_ref()[range.clone()],
            Storage::OwnedF32(v) => f32_as_bytes(v),
        }
    }

    /// Bytes of row `i` (all but the innermost dimension flattened), for the file layout
    /// (`Layout::Rows`) only: an interleaved row is not contiguous.
    pub fn row_bytes(&self, i: usize) -> &[u8] {
        assert_eq!(
            self.layout,
            Layout::Rows,
            "row_bytes of an interleaved tensor"
        );
        let n = self
            .dtype
            .row_bytes(self.cols())
            .expect("checked at construction");
        &self.bytes()[i * n..(i + 1) * n]
    }

    /// Row `i` converted to f32 into `out` (`out.len() == cols`).
    pub fn dequantize_row(&self, i: usize, out: &mut [f32]) {
        match self.layout {
            Layout::Rows => crate::quant::dequantize(self.dtype, self.row_bytes(i), out),
            Layout::Interleaved8 => {
                let n = self
                    .dtype
                    .row_bytes(self.cols())
                    .expect("checked when built");
                let rows = crate::interleaved::ROWS;
                let group = &self.bytes()[i / rows * rows * n..][..rows * n];
                let (bs, mut block) = (self.dtype.block_size(), [0u8; 256]);
                let block = &mut block[..self.dtype.block_bytes()];
                for (b, out) in out.chunks_exact_mut(bs).enumerate() {
                    crate::interleaved::file_block(self.dtype, group, b, i % rows, block);
                    crate::quant::dequantize_block(self.dtype, block, out);
                }
            }
        }
    }

    /// Sub-tensor `i` along the outermost dimension (e.g. one expert of a stacked
    /// `[n_experts, rows, cols]` tensor): a view of the same bytes, no copy.
    pub fn outer_slice(&self, i: usize) -> Tensor {
        assert!(
            self.layout == Layout::Rows || self.shape.len() >= 3,
            "the rows of an interleaved matrix are not contiguous"
        );
        let shape = self.shape[1..].to_vec();
        let per = self.bytes().len() / self.shape[0].max(1);
        let range = i * per..(i + 1) * per;
        let storage = match &self.storage {
            Storage::Shared { source, range: r } => Storage::Shared {
                source: source.clone(),
                range: r.start + range.start..r.start + range.end,
            },
            Storage::OwnedF32(v) => Storage::OwnedF32(v[range.start / 4..range.end / 4].to_vec()),
        };
        Tensor {
            dtype: self.dtype,
            shape,
            storage,
            layout: self.layout,
        }
    }

    /// The whole tensor as f32 values.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.n_elements()];
        match self.layout {
            Layout::Rows => crate::quant::dequantize(self.dtype, self.bytes(), &mut out),
            Layout::Interleaved8 => {
                for (i, row) in out.chunks_exact_mut(self.cols().max(1)).enumerate() {
                    self.dequantize_row(i, row);
                }
            }
        }
        out
    }
}

/// A buffer of `len` bytes filled by `fill`, in anonymous memory that starts on a 2 MiB
/// boundary and asks the kernel for transparent huge pages, so that streaming the weights
/// through it once per token walks 512 times fewer page-table entries. Falls back to an
/// ordinary vector when the mapping fails.
fn huge_page_buffer(
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> (ByteSource, std::ops::Range<usize>) {
    const HUGE: usize = 2 << 20;
    if let Ok(mut map) = memmap2::MmapMut::map_anon(len + HUGE) {
        let start = (map.as_ptr() as usize).next_multiple_of(HUGE) - map.as_ptr() as usize;
        // A hint: without huge pages the buffer works the same.
        let _ = map.advise_range(memmap2::Advice::HugePage, start, len);
        fill(&mut map[start..start + len]);
        return (Arc::new(map), start..start + len);
    }
    let mut bytes = vec![0u8; len];
    fill(&mut bytes);
    (Arc::new(bytes), 0..len)
}

fn expected_bytes(dtype: DType, shape: &[usize]) -> Result<usize> {
    let cols = shape.last().copied().unwrap_or(1);
    let row = dtype.row_bytes(cols).ok_or(Error::PartialBlock {
        dtype: dtype.name(),
        cols,
        block: dtype.block_size(),
    })?;
    let rows: usize = shape.iter().rev().skip(1).product();
    Ok(row * rows)
}

pub(crate) fn f32_as_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and no invalid bit patterns as bytes; u8 has alignment 1, and
    // the slice covers exactly the same memory and lifetime as `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
