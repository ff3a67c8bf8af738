//! CPU kernels. A `KernelSet` is a table of functions with the same signatures for every
//! instruction set; `scalar` is the specification and is always available, and `best()` picks
//! the fastest set the running CPU supports, once, at first use. Adding an instruction set means
//! one new file here and one line in `available()`.

pub mod parallel;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_avx2;

use std::sync::OnceLock;

use crate::DType;

/// Dot product of one weight row (raw bytes of its `DType`) with f32 activations.
pub type DotFn = fn(row: &[u8], x: &[f32]) -> f32;

/// One instruction set's kernels.
#[derive(Debug)]
pub struct KernelSet {
    /// Name shown in logs and test failures, e.g. `avx2`.
    pub name: &'static str,
    /// F32 row · f32.
    pub dot_f32: DotFn,
    /// F16 row · f32.
    pub dot_f16: DotFn,
    /// BF16 row · f32.
    pub dot_bf16: DotFn,
    /// Q8_0 row · f32.
    pub dot_q8_0: DotFn,
    /// Q4_0 row · f32.
    pub dot_q4_0: DotFn,
}

impl KernelSet {
    /// The dot-product kernel for weights of `dtype`.
    pub fn dot(&self, dtype: DType) -> DotFn {
        match dtype {
            DType::F32 => self.dot_f32,
            DType::F16 => self.dot_f16,
            DType::Bf16 => self.dot_bf16,
            DType::Q8_0 => self.dot_q8_0,
            DType::Q4_0 => self.dot_q4_0,
        }
    }
}

/// Every kernel set this CPU can run, scalar first.
pub fn available() -> Vec<&'static KernelSet> {
    #[allow(unused_mut)]
    let mut sets = vec![&scalar::KERNELS];
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86_avx2::kernels() {
        sets.push(k);
    }
    sets
}

/// The fastest kernel set this CPU can run (the last of `available()`), chosen once.
/// Setting the environment variable `BEHEMOTH_KERNELS=scalar` forces the reference kernels.
pub fn best() -> &'static KernelSet {
    static BEST: OnceLock<&'static KernelSet> = OnceLock::new();
    BEST.get_or_init(|| {
        let sets = available();
        match std::env::var("BEHEMOTH_KERNELS") {
            Ok(name) => sets
                .iter()
                .copied()
                .find(|k| k.name == name)
                .unwrap_or(sets[0]),
            Err(_) => sets[sets.len() - 1],
        }
    })
}
