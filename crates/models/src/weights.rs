//! From tensor descriptions to `Tensor`s: the `WeightSource` seam that a model file format
//! implements, the GGUF implementation (zero-copy views into the mapped file), and the checks
//! every architecture uses (shape against hyperparameters, supported element type).

use formats::{GgmlType, GgufFile};
use tensor::{ByteSource, DType, Tensor};

use crate::{Error, Result};

/// Something that hands out tensors by canonical (GGUF) name, e.g. `blk.0.attn_q.weight`.
pub trait WeightSource {
    /// The tensor called `name`, or `None` when absent. Errors are for present but unusable ones.
    fn get(&self, name: &str) -> Result<Option<Tensor>>;
}

/// Tensors of a GGUF file, viewed in place in the file's bytes.
pub struct GgufWeights<'a> {
    gguf: &'a GgufFile,
    source: ByteSource,
}

impl<'a> GgufWeights<'a> {
    /// Views over `source`, which holds the bytes `gguf` was parsed from.
    pub fn new(gguf: &'a GgufFile, source: ByteSource) -> Self {
        Self { gguf, source }
    }
}

/// The engine's `DType` for a GGUF type, when it has kernels for it.
pub fn dtype_of(t: GgmlType) -> Option<DType> {
    Some(match t {
        GgmlType::F32 => DType::F32,
        GgmlType::F16 => DType::F16,
        GgmlType::Bf16 => DType::Bf16,
        GgmlType::Q8_0 => DType::Q8_0,
        GgmlType::Q4_0 => DType::Q4_0,
        _ => return None,
    })
}

impl WeightSource for GgufWeights<'_> {
    fn get(&self, name: &str) -> Result<Option<Tensor>> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let dtype = dtype_of(info.ggml_type).ok_or_else(|| Error::UnsupportedType {
            name: name.to_string(),
            dtype: info.ggml_type.name().to_string(),
        })?;
        // GGUF lists dims innermost first; `Tensor` shapes are outermost first.
        let shape: Vec<usize> = info.dims.iter().rev().map(|&d| d as usize).collect();
        Tensor::from_shared(dtype, shape, self.source.clone(), info.byte_range())
            .map(Some)
            .map_err(|source| Error::Tensor {
                name: name.to_string(),
                source,
            })
    }
}

/// The tensor `name` with exactly `shape` (outermost first).
pub fn require(weights: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<Tensor> {
    let t = weights
        .get(name)?
        .ok_or_else(|| Error::MissingTensor(name.to_string()))?;
    check_shape(name, &t, shape)?;
    Ok(t)
}

/// The tensor `name` with `shape`, or `None` when absent.
pub fn optional(weights: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<Option<Tensor>> {
    match weights.get(name)? {
        Some(t) => check_shape(name, &t, shape).map(|()| Some(t)),
        None => Ok(None),
    }
}

/// A 1-D weight (a norm's scale) as f32 values.
pub fn require_vector(weights: &dyn WeightSource, name: &str, len: usize) -> Result<Vec<f32>> {
    Ok(require(weights, name, &[len])?.to_f32_vec())
}

fn check_shape(name: &str, t: &Tensor, shape: &[usize]) -> Result<()> {
    if t.shape() != shape {
        return Err(Error::TensorShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            got: t.shape().to_vec(),
        });
    }
    Ok(())
}
