//! `behemoth chat` driven through piped stdin on the embedded stories260K: one answer per user
//! line, no terminal prompt marker, deterministic when greedy, `/exit` ends the conversation.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::{stderr, stdout};

fn chat(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_behemoth"))
        .arg("chat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // The command may exit (bad flags) before reading: a broken pipe here is not a failure.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes());
    child.wait_with_output().expect("the binary finishes")
}

#[test]
fn chat_answers_each_piped_line() {
    let input = "Once upon a time\n\nTell me about Lily.\n";
    let o = chat(&["--temp", "0", "-n", "24"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains("> "),
        "no prompt marker without a terminal: {out:?}"
    );
    assert!(!out.contains("<s>") && !out.contains("User:"), "{out:?}");
    assert!(out.trim().len() > 20, "answers expected: {out:?}");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // Greedy decoding: the same conversation gives the same answers.
    let again = chat(&["--temp", "0", "-n", "24"], input);
    assert_eq!(stdout(&again), out);
    // A second user line changes the conversation, so the transcript is longer than one turn.
    let one = chat(&["--temp", "0", "-n", "24"], "Once upon a time\n");
    assert!(out.starts_with(stdout(&one).as_str()), "{out:?}");
    assert!(out.len() > stdout(&one).len(), "{out:?}");
}

#[test]
fn chat_with_system_and_exit() {
    let o = chat(
        &["--temp", "0", "-n", "8", "--system", "A story about a cat."],
        "Hello\n/exit\nnot read\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{:?}", stdout(&o));
    let empty = chat(&["--temp", "0", "-n", "8"], "");
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert_eq!(stdout(&empty), "");
}

#[test]
fn chat_rejects_bad_sampling_flags() {
    let o = chat(&["--top-p", "2"], "Hi\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("sampling"), "{}", stderr(&o));
}

#[test]
fn chat_forgets_old_turns_when_the_context_fills() {
    // stories260K holds 2048 positions; each line is about 700 tokens.
    let line = "Lily ".repeat(700);
    let input = format!("{line}\n{line}\n{line}\n");
    let o = chat(&["--temp", "0", "-n", "4"], &input);
    assert!(o.status.success(), "{}", stderr(&o));
    // One question alone larger than the context is a clean one-line error.
    let o = chat(
        &["--temp", "0", "-n", "4"],
        &format!("{}\n", "Lily ".repeat(2100)),
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("context"), "{err}");
}
