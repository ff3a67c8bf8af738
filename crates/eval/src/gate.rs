//! The release gate: a TOML file of projected scores with tolerances, one `[[benchmark]]`
//! table each; every benchmark is measured, compared with its projection, and reported as a
//! table, JSON, Markdown and an SVG chart. A benchmark falls short when its measured value is
//! worse than `projected − tolerance` (higher-is-better metrics) or `projected + tolerance`
//! (perplexities).
//!
//! ```toml
//! model = "stories260K"                # optional, for the report
//! [[benchmark]]
//! task = "hellaswag"                   # a task name, or "perplexity"
//! data = "../fixtures/eval/hellaswag_100.jsonl"   # relative to this file
//! metric = "acc_norm"
//! projected = 0.27
//! tolerance = 0.05
//! limit = 100                          # optional; also shots, fewshot_data, max_length,
//!                                      # and for perplexity: method, ctx, chunks
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use engine::LoadedModel;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::read_text;
use crate::perplexity::{run_perplexity, Method, PerplexityOptions};
use crate::report::{format_value, write_file};
use crate::tasks::{run_task, Task, TaskOptions};
use crate::{BenchResult, Error, Progress, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    model: Option<String>,
    #[serde(default)]
    benchmark: Vec<Spanned<TargetSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    name: Option<String>,
    task: String,
    data: PathBuf,
    metric: String,
    projected: f64,
    tolerance: f64,
    limit: Option<usize>,
    #[serde(default)]
    shots: usize,
    fewshot_data: Option<PathBuf>,
    max_length: Option<usize>,
    method: Option<Method>,
    ctx: Option<usize>,
    chunks: Option<usize>,
}

/// What to run for one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Benchmark {
    /// Perplexity of a text file.
    Perplexity {
        /// The definition.
        method: Method,
        /// Chunk or window length.
        ctx: usize,
        /// Chunk limit (`llama`).
        chunks: Option<usize>,
    },
    /// A task.
    Task {
        /// Which.
        task: Task,
        /// Item limit.
        limit: Option<usize>,
        /// Few-shot examples.
        shots: usize,
        /// Few-shot source file.
        fewshot_data: Option<PathBuf>,
        /// Longest input (lm-eval's `max_length`).
        max_length: Option<usize>,
    },
}

/// One projected score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Label in reports.
    pub name: String,
    /// What to run.
    pub benchmark: Benchmark,
    /// Data file, resolved against the targets file's folder.
    pub data: PathBuf,
    /// Metric compared.
    pub metric: String,
    /// Projected value.
    pub projected: f64,
    /// Allowed shortfall.
    pub tolerance: f64,
    /// Line of the `[[benchmark]]` table in the targets file.
    pub line: usize,
}

/// A parsed targets file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    /// The model the projections are for, if named.
    pub model: Option<String>,
    /// The targets, in file order.
    pub targets: Vec<Target>,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Reads and checks a targets file; every error names the file and, when known, the line.
pub fn load_targets(path: &Path) -> Result<Targets> {
    let text = read_text(path)?;
    parse_targets(&text, path)
}

/// Parses targets from `text`; `path` names the file in errors and anchors relative data paths.
pub fn parse_targets(text: &str, path: &Path) -> Result<Targets> {
    let err = |line: Option<usize>, message: String| Error::Targets {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file: TargetsFile = toml::from_str(text).map_err(|e| {
        err(
            e.span().map(|s| line_of(text, s.start)),
            e.message().trim().to_string(),
        )
    })?;
    if file.benchmark.is_empty() {
        return Err(err(None, "no [[benchmark]] tables".into()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut targets = Vec::new();
    for spanned in file.benchmark {
        let line = line_of(text, spanned.span().start);
        let spec = spanned.into_inner();
        let bad = |m: String| err(Some(line), m);
        let benchmark = if spec.task == "perplexity" {
            if spec.limit.is_some()
                || spec.shots != 0
                || spec.fewshot_data.is_some()
                || spec.max_length.is_some()
            {
                return Err(bad(
                    "perplexity takes method, ctx and chunks, not limit, shots, \
                     fewshot_data or max_length"
                        .into(),
                ));
            }
            Benchmark::Perplexity {
                method: spec.method.unwrap_or(Method::Llama),
                ctx: spec.ctx.unwrap_or(512),
                chunks: spec.chunks,
            }
        } else {
            let task = Task::from_name(&spec.task).ok_or_else(|| {
                let names: Vec<_> = Task::ALL.iter().map(|t| t.name()).collect();
                bad(format!(
                    "unknown task {:?} (expected perplexity or one of {})",
                    spec.task,
                    names.join(", ")
                ))
            })?;
            if spec.method.is_some() || spec.ctx.is_some() || spec.chunks.is_some() {
                return Err(bad(format!(
                    "method, ctx and chunks apply to perplexity, not {}",
                    spec.task
                )));
            }
            Benchmark::Task {
                task,
                limit: spec.limit,
                shots: spec.shots,
                fewshot_data: spec.fewshot_data.map(|p| base.join(p)),
                max_length: spec.max_length,
            }
        };
        let metrics: &[&str] = match &benchmark {
            Benchmark::Perplexity {
                method: Method::Llama,
                ..
            } => &["ppl"],
            Benchmark::Perplexity {
                method: Method::Rolling,
                ..
            } => &[
                "token_perplexity",
                "word_perplexity",
                "byte_perplexity",
                "bits_per_byte",
            ],
            Benchmark::Task { task, .. } => task.metric_names(),
        };
        if !metrics.contains(&spec.metric.as_str()) {
            return Err(bad(format!(
                "metric {:?} is not reported by {} (expected one of {})",
                spec.metric,
                spec.task,
                metrics.join(", ")
            )));
        }
        if !spec.projected.is_finite() {
            return Err(bad("projected must be a finite number".into()));
        }
        if !(spec.tolerance.is_finite() && spec.tolerance >= 0.0) {
            return Err(bad("tolerance must be a finite number ≥ 0".into()));
        }
        targets.push(Target {
            name: spec
                .name
                .unwrap_or_else(|| format!("{} {}", spec.task, spec.metric)),
            benchmark,
            data: base.join(&spec.data),
            metric: spec.metric,
            projected: spec.projected,
            tolerance: spec.tolerance,
            line,
        });
    }
    Ok(Targets {
        model: file.model,
        targets,
    })
}

/// The outcome of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRow {
    /// The target.
    pub target: Target,
    /// Measured value.
    pub measured: f64,
    /// Its standard error, if defined.
    pub stderr: Option<f64>,
    /// Whether larger is better.
    pub higher_is_better: bool,
    /// Within tolerance of the projection (or better).
    pub pass: bool,
}

/// The gate's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateReport {
    /// The model measured.
    pub model: String,
    /// One row per target.
    pub rows: Vec<GateRow>,
    /// Every benchmark run, once each.
    pub results: Vec<BenchResult>,
}

impl GateReport {
    /// True when every target passed.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.pass)
    }
}

/// Whether `measured` meets `projected` within `tolerance`.
pub fn verdict(measured: f64, projected: f64, tolerance: f64, higher_is_better: bool) -> bool {
    if higher_is_better {
        measured >= projected - tolerance
    } else {
        measured <= projected + tolerance
    }
}

/// Runs one benchmark.
pub fn run_benchmark(
    lm: &LoadedModel,
    benchmark: &Benchmark,
    data: &Path,
    workers: usize,
    progress: &dyn Progress,
) -> Result<BenchResult> {
    match benchmark {
        Benchmark::Perplexity {
            method,
            ctx,
            chunks,
        } => run_perplexity(
            lm,
            data,
            &PerplexityOptions {
                method: *method,
                ctx: *ctx,
                chunks: *chunks,
                workers,
            },
            progress,
        ),
        Benchmark::Task {
            task,
            limit,
            shots,
            fewshot_data,
            max_length,
        } => Ok(run_task(
            lm,
            *task,
            data,
            &TaskOptions {
                limit: *limit,
                shots: *shots,
                fewshot_data: fewshot_data.clone(),
                workers,
                max_length: *max_length,
            },
            progress,
        )?
        .result),
    }
}

/// Measures every target (each distinct benchmark once) and compares.
pub fn run_gate(
    lm: &LoadedModel,
    targets: &Targets,
    workers: usize,
    progress: &dyn Progress,
) -> Result<GateReport> {
    let mut results: Vec<BenchResult> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for t in &targets.targets {
        let key = format!("{:?} {}", t.benchmark, t.data.display());
        let idx = match seen.get(&key) {
            Some(&i) => i,
            None => {
                let r = run_benchmark(lm, &t.benchmark, &t.data, workers, progress)?;
                results.push(r);
                seen.insert(key, results.len() - 1);
                results.len() - 1
            }
        };
        let m = results[idx].metric(&t.metric).ok_or_else(|| {
            Error::Invalid(format!("{}: metric {} was not measured", t.name, t.metric))
        })?;
        rows.push(GateRow {
            target: t.clone(),
            measured: m.value,
            stderr: m.stderr,
            higher_is_better: m.higher_is_better,
            pass: verdict(m.value, t.projected, t.tolerance, m.higher_is_better),
        });
    }
    Ok(GateReport {
        model: targets.model.clone().unwrap_or_else(|| lm.origin.clone()),
        rows,
        results,
    })
}

/// The gate table in Markdown.
pub fn gate_markdown(report: &GateReport) -> String {
    let mut s = format!("Release gate for `{}`\n\n", report.model);
    s.push_str("| benchmark | projected | tolerance | measured | ± stderr | verdict |\n");
    s.push_str("|---|---:|---:|---:|---:|---|\n");
    for r in &report.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.target.name,
            format_value(r.target.projected),
            format_value(r.target.tolerance),
            format_value(r.measured),
            r.stderr.map_or("–".into(), format_value),
            if r.pass { "pass" } else { "FALLS SHORT" }
        ));
    }
    let failed = report.rows.iter().filter(|r| !r.pass).count();
    s.push_str(&if failed == 0 {
        format!(
            "\nAll {} benchmarks meet their projections.\n",
            report.rows.len()
        )
    } else {
        format!(
            "\n{failed} of {} benchmarks fall short of their projections.\n",
            report.rows.len()
        )
    });
    s
}

/// Escapes text for SVG.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG chart: one row per target on its own scale, with the tolerance band, the projected
/// value (a diamond), and the measured value (a dot, green or red) with ±1 stderr error bars.
pub fn gate_svg(report: &GateReport) -> String {
    let (w, row_h, left, right, top) = (760.0, 44.0, 220.0, 130.0, 40.0);
    let plot_w = w - left - right;
    let h = top + row_h * report.rows.len() as f64 + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Release gate: {} \
         (◆ projected, ● measured ± stderr, band = tolerance)</text>\n",
        xml(&report.model)
    );
    for (i, r) in report.rows.iter().enumerate() {
        let y = top + row_h * i as f64 + row_h / 2.0;
        let se = r.stderr.unwrap_or(0.0);
        let lo_t = r.target.projected - r.target.tolerance;
        let hi_t = r.target.projected + r.target.tolerance;
        let mut lo = lo_t.min(r.measured - se);
        let mut hi = hi_t.max(r.measured + se);
        let pad = ((hi - lo) * 0.1).max(1e-6);
        lo -= pad;
        hi += pad;
        let x = |v: f64| left + (v - lo) / (hi - lo) * plot_w;
        let color = if r.pass { "#2a9d3a" } else { "#d62828" };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left - 10.0,
            y + 4.0,
            xml(&r.target.name)
        ));
        s.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ccc\"/>\n",
            left + plot_w
        ));
        s.push_str(&format!(
            "<text x=\"{left}\" y=\"{:.1}\" font-size=\"9\" fill=\"#888\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#888\" \
             text-anchor=\"end\">{}</text>\n",
            y + 19.0,
            format_value(lo),
            left + plot_w,
            y + 19.0,
            format_value(hi)
        ));
        s.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"16\" fill=\"#bcd4f0\" \
             opacity=\"0.6\"/>\n",
            x(lo_t),
            y - 8.0,
            (x(hi_t) - x(lo_t)).max(1.0)
        ));
        let px = x(r.target.projected);
        s.push_str(&format!(
            "<path d=\"M{px:.1},{:.1} L{:.1},{y:.1} L{px:.1},{:.1} L{:.1},{y:.1} Z\" \
             fill=\"#1d4e89\"><title>projected {}</title></path>\n",
            y - 7.0,
            px + 6.0,
            y + 7.0,
            px - 6.0,
            format_value(r.target.projected)
        ));
        if se > 0.0 {
            let (a, b) = (x(r.measured - se), x(r.measured + se));
            s.push_str(&format!(
                "<g stroke=\"{color}\" stroke-width=\"1.5\"><line x1=\"{a:.1}\" y1=\"{y:.1}\" \
                 x2=\"{b:.1}\" y2=\"{y:.1}\"/><line x1=\"{a:.1}\" y1=\"{:.1}\" x2=\"{a:.1}\" \
                 y2=\"{:.1}\"/><line x1=\"{b:.1}\" y1=\"{:.1}\" x2=\"{b:.1}\" y2=\"{:.1}\"/></g>\n",
                y - 5.0,
                y + 5.0,
                y - 5.0,
                y + 5.0
            ));
        }
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{color}\"><title>measured {}\
             </title></circle>\n",
            x(r.measured),
            format_value(r.measured)
        ));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\">{} {}</text>\n",
            left + plot_w + 10.0,
            y + 4.0,
            format_value(r.measured),
            if r.pass { "pass" } else { "FALLS SHORT" }
        ));
    }
    s.push_str("</svg>\n");
    s
}

/// Writes `gate.json`, `gate.md` and `gate.svg` into `dir`.
pub fn write_gate_report(dir: &Path, report: &GateReport) -> Result<()> {
    write_file(
        &dir.join("gate.json"),
        &serde_json::to_string_pretty(report).unwrap_or_default(),
    )?;
    write_file(&dir.join("gate.md"), &gate_markdown(report))?;
    write_file(&dir.join("gate.svg"), &gate_svg(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Targets> {
        parse_targets(text, Path::new("dir/targets.toml"))
    }

    #[test]
    fn parses_targets_and_resolves_paths() {
        let t = parse(
            "model = \"m\"\n[[benchmark]]\ntask = \"piqa\"\ndata = \"p.jsonl\"\nmetric = \"acc\"\n\
             projected = 0.5\ntolerance = 0.1\nlimit = 3\n\n[[benchmark]]\ntask = \"perplexity\"\n\
             data = \"t.txt\"\nmetric = \"ppl\"\nprojected = 10.0\ntolerance = 1.0\nctx = 64\n",
        )
        .unwrap();
        assert_eq!(t.targets.len(), 2);
        assert_eq!(t.targets[0].data, Path::new("dir/p.jsonl"));
        assert_eq!(t.targets[0].line, 2);
        assert_eq!(t.targets[1].line, 10);
        assert_eq!(t.targets[0].name, "piqa acc");
        assert!(matches!(
            t.targets[1].benchmark,
            Benchmark::Perplexity {
                method: Method::Llama,
                ctx: 64,
                chunks: None
            }
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("[[benchmark]]\ntask = \"piqa\"\ndata = \"p\"\nmetric = \"acc\"\nprojected = \"high\"\ntolerance = 0.1\n", 5),
            ("[[benchmark]]\ntask = \"piqa\"\ndata = \"p\"\nmetric = \"acc\"\nprojected = 0.5\n", 1),
            ("[[benchmark]]\ntask = \"nope\"\ndata = \"p\"\nmetric = \"acc\"\nprojected = 0.5\ntolerance = 0.1\n", 1),
            ("\n[[benchmark]]\ntask = \"piqa\"\ndata = \"p\"\nmetric = \"ppl\"\nprojected = 0.5\ntolerance = 0.1\n", 2),
            ("[[benchmark]]\ntask = \"piqa\"\ndata = \"p\"\nmetric = \"acc\"\nprojected = 0.5\ntolerance = -1.0\n", 1),
            ("[[benchmark]]\ntask = \"piqa\"\nbogus = 1\n", 3),
            ("[[benchmark]\n", 1),
        ];
        for (text, line) in cases {
            match parse(text) {
                Err(Error::Targets {
                    line: Some(l),
                    message,
                    ..
                }) => {
                    assert_eq!(l, line, "{text:?}: {message}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn verdicts_respect_direction_and_tolerance() {
        assert!(verdict(0.45, 0.5, 0.05, true));
        assert!(!verdict(0.44, 0.5, 0.05, true));
        assert!(verdict(10.9, 10.0, 1.0, false));
        assert!(!verdict(11.1, 10.0, 1.0, false));
    }
}
