//! `behemoth eval`: perplexity (`eval perplexity`), lm-evaluation-harness tasks
//! (`eval hellaswag` …), and the release gate (`eval gate TARGETS.toml`). Flags and wiring
//! only; the measuring lives in the `eval` crate. Progress bars go to stderr, tables to stdout.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use eval::gate::{gate_markdown, load_targets, run_gate, write_gate_report};
use eval::perplexity::{run_perplexity, Method, PerplexityOptions};
use eval::report::{markdown_table, write_results};
use eval::tasks::run_task;
use eval::{Progress, Task, TaskOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::model_arg::ModelArgs;

/// Flags of `behemoth eval`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Perplexity of a text file (llama-perplexity's or lm-evaluation-harness's definition).
    Perplexity(PerplexityArgs),
    /// Measure the benchmarks of a targets file and compare with the projections; exits
    /// non-zero when any falls short beyond its tolerance.
    Gate(GateArgs),
    /// HellaSwag (acc, acc_norm).
    Hellaswag(TaskArgs),
    /// ARC-Easy (acc, acc_norm).
    #[command(name = "arc_easy")]
    ArcEasy(TaskArgs),
    /// ARC-Challenge (acc, acc_norm).
    #[command(name = "arc_challenge")]
    ArcChallenge(TaskArgs),
    /// WinoGrande, partial scoring (acc).
    Winogrande(TaskArgs),
    /// PIQA (acc, acc_norm).
    Piqa(TaskArgs),
    /// LAMBADA, OpenAI variant (acc, perplexity).
    Lambada(TaskArgs),
    /// MMLU (acc).
    Mmlu(TaskArgs),
}

/// Loads the model for scoring: unless `-t` says otherwise, one matmul thread per worker,
/// because the workers already keep every core busy with whole sequences (and a small model's
/// matrices are too small to split).
fn load_for_scoring(model: &ModelArgs) -> Result<engine::LoadedModel> {
    let mut model = model.clone();
    if model.threads.is_none() {
        model.threads = Some(1);
    }
    model.load_for_scoring()
}

/// Flags every evaluation shares.
#[derive(clap::Args, Debug)]
struct CommonArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Scoring threads, each with its own KV store. Default: one per core (and, unless `-t`
    /// is given, one matmul thread each).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Write the results (JSON and Markdown) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct PerplexityArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The text file.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Tokens per chunk (llama) or window length (rolling).
    #[arg(long, value_name = "N", default_value_t = 512)]
    ctx: usize,
    /// Score at most N chunks (llama only).
    #[arg(long, value_name = "N")]
    chunks: Option<usize>,
    /// `llama`: llama-perplexity's second-half chunks; `rolling`: lm-evaluation-harness's
    /// disjoint windows (token, word and byte perplexity, bits per byte).
    #[arg(long, value_name = "METHOD", default_value = "llama")]
    method: MethodArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum MethodArg {
    Llama,
    Rolling,
}

#[derive(clap::Args, Debug)]
struct TaskArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The task's data file (JSON Lines).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Score only the first N items.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Few-shot examples per prompt (the first ones of the few-shot file, minus the item).
    #[arg(long, value_name = "K", default_value_t = 0)]
    shots: usize,
    /// Where few-shot examples come from. Default: the data file.
    #[arg(long, value_name = "FILE")]
    fewshot_data: Option<PathBuf>,
    /// Longest input in tokens (lm-eval's `max_length`); longer contexts lose their first
    /// tokens. Default: the model's context length.
    #[arg(long, value_name = "N")]
    max_length: Option<usize>,
}

#[derive(clap::Args, Debug)]
struct GateArgs {
    /// The targets file (TOML, one [[benchmark]] table per projected score).
    targets: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    /// Scoring threads. Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Folder for gate.json, gate.md and gate.svg.
    #[arg(long, value_name = "DIR", default_value = "gate-report")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// An indicatif bar on stderr, one per phase.
struct Bar {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    fn new(quiet: bool) -> Self {
        Self {
            quiet,
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, what: &str, total: usize) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} (ETA {eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn advance(&self, n: usize) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.inc(n as u64);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

pub(crate) fn run(args: Args) -> Result<()> {
    match args.what {
        What::Perplexity(a) => perplexity(a),
        What::Gate(a) => gate(a),
        What::Hellaswag(a) => task(Task::Hellaswag, a),
        What::ArcEasy(a) => task(Task::ArcEasy, a),
        What::ArcChallenge(a) => task(Task::ArcChallenge, a),
        What::Winogrande(a) => task(Task::Winogrande, a),
        What::Piqa(a) => task(Task::Piqa, a),
        What::Lambada(a) => task(Task::Lambada, a),
        What::Mmlu(a) => task(Task::Mmlu, a),
    }
}

fn workers(w: Option<u16>) -> usize {
    w.map_or(0, usize::from)
}

fn finish(common: &CommonArgs, model: &str, result: eval::BenchResult) -> Result<()> {
    let results = [result];
    print!("{}", markdown_table(model, &results));
    if let Some(dir) = &common.out {
        write_results(dir, model, &results)
            .with_context(|| format!("cannot write the results to '{}'", dir.display()))?;
    }
    Ok(())
}

fn perplexity(a: PerplexityArgs) -> Result<()> {
    let lm = load_for_scoring(&a.common.model)?;
    let opts = PerplexityOptions {
        method: match a.method {
            MethodArg::Llama => Method::Llama,
            MethodArg::Rolling => Method::Rolling,
        },
        ctx: a.ctx,
        chunks: a.chunks,
        workers: workers(a.common.workers),
    };
    let bar = Bar::new(a.common.quiet);
    let result = run_perplexity(&lm, &a.data, &opts, &bar)?;
    finish(&a.common, &lm.origin, result)
}

fn task(task: Task, a: TaskArgs) -> Result<()> {
    let lm = load_for_scoring(&a.common.model)?;
    let opts = TaskOptions {
        limit: a.limit,
        shots: a.shots,
        fewshot_data: a.fewshot_data,
        workers: workers(a.common.workers),
        max_length: a.max_length,
    };
    let bar = Bar::new(a.common.quiet);
    let run = run_task(&lm, task, &a.data, &opts, &bar)?;
    finish(&a.common, &lm.origin, run.result)
}

fn gate(a: GateArgs) -> Result<()> {
    let targets = load_targets(&a.targets)?;
    let lm = load_for_scoring(&a.model)?;
    let bar = Bar::new(a.quiet);
    let report = run_gate(&lm, &targets, workers(a.workers), &bar)?;
    print!("{}", gate_markdown(&report));
    write_gate_report(&a.out, &report)
        .with_context(|| format!("cannot write the gate report to '{}'", a.out.display()))?;
    eprintln!("report: {}", a.out.join("gate.md").display());
    if !report.passed() {
        let short: Vec<&str> = report
            .rows
            .iter()
            .filter(|r| !r.pass)
            .map(|r| r.target.name.as_str())
            .collect();
        bail!(
            "release gate failed: {} fell short of projection",
            short.join(", ")
        );
    }
    Ok(())
}
