//! `behemoth chat`: a multi-turn conversation in the terminal. Each line read from stdin is a
//! user message; the whole conversation is rendered through the model's chat template (its own,
//! else the built-in Llama 4 format for Llama 4 vocabularies, else a plain `User:`/`Assistant:`
//! format), tokenized with special tokens parsed, and the model's answer is streamed to stdout
//! until its end-of-turn token. Works with piped stdin; the `> ` prompt appears only on a
//! terminal. `/exit` or end of input ends the chat.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use engine::{generate, GenerateOptions, StopReason};
use tokenizer::{ChatMessage, ChatTemplate, StreamDecoder};

use crate::model_arg::ModelArgs;
use crate::sampling_args::SamplingArgs;

/// Answer room kept free when old turns are dropped to fit the context.
const MIN_ANSWER_TOKENS: usize = 16;

/// Flags of `behemoth chat`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// A system message that opens the conversation.
    #[arg(long = "system", value_name = "TEXT")]
    system: Option<String>,
    #[command(flatten)]
    sampling: SamplingArgs,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let sampling = args.sampling.params()?;
    let lm = args.model.load()?;
    let tok = &lm.tokenizer;
    let template = ChatTemplate::for_tokenizer(tok).context("cannot use the chat template")?;
    if args.sampling.temp > 0.0 {
        eprintln!("seed: {}", sampling.seed);
    }
    let context = lm.model.config().context_length;
    let opts = GenerateOptions {
        max_new_tokens: args.sampling.max_new_tokens(),
        sampling,
    };

    let mut messages = Vec::new();
    if let Some(system) = args.system {
        messages.push(ChatMessage::new("system", system));
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!("chatting with {}; /exit or Ctrl-D ends", lm.origin);
    }
    let mut stdout = std::io::stdout().lock();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if interactive && !write_flush(&mut stdout, b"> ") {
            return Ok(());
        }
        let Some(line) = lines.next() else {
            break;
        };
        let line = line.context("cannot read stdin")?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            continue;
        }
        if matches!(line.trim(), "/exit" | "/quit") {
            break;
        }
        messages.push(ChatMessage::new("user", line));
        let ids = loop {
            let prompt = template
                .render(&messages, true)
                .context("cannot render the conversation")?;
            // Special tokens parsed, exactly one BOS even when the template writes it.
            let ids = tok.encode_chat(&prompt);
            // Leave room for an answer; forget the oldest exchange (never the system message
            // or the new question) when the conversation outgrows the context.
            let first = usize::from(messages.first().is_some_and(|m| m.role == "system"));
            if ids.len() + MIN_ANSWER_TOKENS <= context || messages.len() <= first + 1 {
                break ids;
            }
            messages.drain(first..(first + 2).min(messages.len() - 1));
        };

        let mut decoder = StreamDecoder::new();
        let mut answer = String::new();
        let mut out_ok = true;
        let stats = generate(&lm, &ids, &opts, |id| {
            let text = decoder.push(&tok.token_to_piece(id, false));
            // The answer starts at its first visible character (SentencePiece models begin
            // with a word-initial space after "Assistant:").
            let text = if answer.is_empty() {
                text.trim_start()
            } else {
                &text
            };
            answer.push_str(text);
            // A closed stdout (e.g. `| head`) ends the answer quietly.
            out_ok = out_ok && write_flush(&mut stdout, text.as_bytes());
            out_ok
        })
        .context("generation failed")?;
        let rest = decoder.finish();
        let rest = if answer.is_empty() {
            rest.trim_start()
        } else {
            &rest
        };
        answer.push_str(rest);
        if !(write_flush(&mut stdout, rest.as_bytes()) && write_flush(&mut stdout, b"\n")) {
            return Ok(());
        }
        if stats.stop_reason == StopReason::ContextFull {
            eprintln!("(the context is full; the conversation ends here)");
            break;
        }
        messages.push(ChatMessage::new("assistant", answer.trim().to_string()));
    }
    Ok(())
}

fn write_flush(out: &mut impl Write, bytes: &[u8]) -> bool {
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}
