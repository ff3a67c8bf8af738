//! Named scores with standard errors, computed as lm-evaluation-harness does: the mean of
//! per-item values and `sample_stddev / sqrt(n)` (`mean_stderr` in `lm_eval/api/metrics.py`).

use serde::Serialize;

/// One measured score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Its name (`acc`, `acc_norm`, `ppl`, …).
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its standard error, when one is defined.
    pub stderr: Option<f64>,
    /// Whether larger values are better (accuracies) or worse (perplexities).
    pub higher_is_better: bool,
}

impl Metric {
    /// A metric with a standard error.
    pub fn new(name: &str, value: f64, stderr: Option<f64>, higher_is_better: bool) -> Self {
        Self {
            name: name.to_string(),
            value,
            stderr,
            higher_is_better,
        }
    }
}

/// Mean and standard error of the mean (sample standard deviation, n − 1) of `xs`;
/// the error is `None` for fewer than two items.
pub fn mean_stderr(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, None);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    (mean, Some((var / n as f64).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_of_a_coin() {
        // lm-eval: sample_stddev([1,0,1,0]) = sqrt(1/3), / sqrt(4).
        let (m, s) = mean_stderr(&[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(m, 0.5);
        assert!((s.unwrap() - (1.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
        assert_eq!(mean_stderr(&[3.0]), (3.0, None));
        assert!(mean_stderr(&[]).0.is_nan());
    }
}
