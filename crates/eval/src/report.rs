//! Results and how they are written: `BenchResult` (one benchmark's metrics and settings),
//! a Markdown table, and `results.json` + `results.md` in an output folder.

use std::path::Path;

use serde::Serialize;

use crate::{Error, Metric, Result};

/// The measured metrics of one benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchResult {
    /// `perplexity` or a task name.
    pub benchmark: String,
    /// The data file.
    pub data: String,
    /// Items scored (documents, or windows for perplexity).
    pub items: usize,
    /// Few-shot examples per prompt.
    pub shots: usize,
    /// The scores.
    pub metrics: Vec<Metric>,
    /// Wall time.
    pub seconds: f64,
    /// The options that shaped the numbers.
    pub settings: serde_json::Value,
}

impl BenchResult {
    /// The metric called `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// A value printed with four decimals, or as a percentage-free plain number for large ones.
pub fn format_value(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The results as a Markdown table, one row per metric.
pub fn markdown_table(model: &str, results: &[BenchResult]) -> String {
    let mut s = format!("Model: `{model}`\n\n");
    s.push_str("| benchmark | metric | value | ± stderr | items | shots | seconds |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for r in results {
        for m in &r.metrics {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {:.1} |\n",
                r.benchmark,
                m.name,
                format_value(m.value),
                m.stderr.map_or("–".into(), format_value),
                r.items,
                r.shots,
                r.seconds
            ));
        }
    }
    s
}

/// Writes `results.json` and `results.md` into `dir` (created if needed).
pub fn write_results(dir: &Path, model: &str, results: &[BenchResult]) -> Result<()> {
    let json = serde_json::json!({ "model": model, "results": results });
    write_file(
        &dir.join("results.json"),
        &serde_json::to_string_pretty(&json).unwrap_or_default(),
    )?;
    write_file(&dir.join("results.md"), &markdown_table(model, results))
}

/// Writes `text` to `path`, creating its folder.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_row_per_metric() {
        let r = BenchResult {
            benchmark: "piqa".into(),
            data: "piqa.jsonl".into(),
            items: 10,
            shots: 0,
            metrics: vec![
                Metric::new("acc", 0.5, Some(0.1), true),
                Metric::new("acc_norm", 0.6, None, true),
            ],
            seconds: 1.0,
            settings: serde_json::json!({}),
        };
        let t = markdown_table("m", &[r]);
        assert!(
            t.contains("| piqa | acc | 0.5000 | 0.1000 | 10 | 0 | 1.0 |"),
            "{t}"
        );
        assert!(t.contains("| piqa | acc_norm | 0.6000 | – |"), "{t}");
    }
}
