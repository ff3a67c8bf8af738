//! Errors of the `tensor` crate. Kernels themselves do not fail: shapes are checked once where a
//! tensor is built or an op is entered, and these errors say which check failed.

use std::fmt;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A tensor could not be built or an op could not run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The byte length does not match shape and element type.
    ByteLength {
        /// Element type.
        dtype: &'static str,
        /// Shape, outermost first.
        shape: Vec<usize>,
        /// Bytes expected from the shape.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The innermost dimension is not a whole number of quantization blocks.
    PartialBlock {
        /// Element type.
        dtype: &'static str,
        /// Innermost dimension.
        cols: usize,
        /// Elements per block.
        block: usize,
    },
    /// Two operands disagree.
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// What disagreed.
        detail: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ByteLength {
                dtype,
                shape,
                expected,
                got,
            } => write!(
                f,
                "{dtype} tensor of shape {shape:?} needs {expected} bytes, got {got}"
            ),
            Error::PartialBlock { dtype, cols, block } => write!(
                f,
                "{dtype} rows must be a multiple of {block} elements, got {cols}"
            ),
            Error::ShapeMismatch { op, detail } => write!(f, "{op}: {detail}"),
        }
    }
}

impl std::error::Error for Error {}
