//! The `behemoth` command line: flag parsing and wiring only. Each subcommand lives in
//! `commands/<name>.rs`; errors surface here as one line on stderr and a non-zero exit.
#![forbid(unsafe_code)]

mod commands;
mod model_arg;
mod sampling_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Runs, inspects and scores Llama-family language models on the CPU.
#[derive(Parser)]
#[command(name = "behemoth", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate text from a prompt (default model: the embedded stories260K).
    Run(commands::run::Args),
    /// Chat with a model through its chat template, reading user lines from stdin.
    Chat(commands::chat::Args),
    /// Serve the model over an OpenAI-compatible HTTP API with continuous batching.
    Serve(commands::serve::Args),
    /// Describe a model file: architecture, hyperparameters, tokenizer, tensors.
    Info(commands::info::Args),
    /// Print the token ids of a text.
    Tokenize(commands::tokenize::Args),
    /// Run token ids as one prompt and write every position's logits as JSON.
    Logits(commands::logits::Args),
    /// Convert a Hugging Face model folder to a GGUF file.
    Convert(commands::convert::Args),
    /// Measure a model: perplexity, benchmark tasks, and the release gate.
    Eval(commands::eval::Args),
    /// Re-quantize a GGUF model (llama.cpp's per-tensor mixes: Q4_K_M, Q5_K_M, ...).
    Quantize(commands::quantize::Args),
    /// Measure prompt and generation speed (llama-bench's method) against the memory roofline.
    Bench(commands::bench::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help and --version
        Err(e) => {
            // clap's first line says what is wrong ("error: invalid value 'x' for '-n'");
            // the usage block after it is noise for a one-line error.
            let text = e.to_string();
            eprintln!(
                "{} (see --help)",
                text.lines().next().unwrap_or("error: bad arguments")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Chat(args) => commands::chat::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Tokenize(args) => commands::tokenize::run(args),
        Command::Logits(args) => commands::logits::run(args),
        Command::Convert(args) => commands::convert::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Quantize(args) => commands::quantize::run(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
