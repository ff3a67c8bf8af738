//! llama.cpp's `test-tokenizer-0` vectors: every `.inp` string must encode (no BOS, special
//! tokens not parsed) to exactly the ids on the matching `.out` line.

use std::path::Path;
use std::time::Instant;

use crate::{load, FIXTURES, SHARED_LLAMA_CPP};

/// Encodes every string of `inp` with the vocabulary in `vocab_gguf` and compares with `out`.
/// Returns the number of cases; panics with the pass count and the first differences.
fn check(vocab_gguf: &Path, inp: &Path, out: &Path) -> usize {
    let started = Instant::now();
    let tokenizer = load(vocab_gguf);
    let load_time = started.elapsed();
    let inp = std::fs::read_to_string(inp).expect("read .inp");
    let out = std::fs::read_to_string(out).expect("read .out");

    let mut cases: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    // The file ends with a separator: drop the empty remainder after it.
    if cases.last() == Some(&"") {
        cases.pop();
    }
    let expected: Vec<Vec<u32>> = out
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|id| id.parse().expect("numeric id"))
                .collect()
        })
        .collect();
    assert_eq!(
        cases.len(),
        expected.len(),
        "{}: .inp and .out disagree on the case count",
        vocab_gguf.display()
    );

    let mut diffs = Vec::new();
    for (text, want) in cases.iter().zip(&expected) {
        let got = tokenizer.encode(text, false, false);
        if &got != want {
            diffs.push(format!("  {text:?}\n    want {want:?}\n    got  {got:?}"));
        }
    }
    let passed = cases.len() - diffs.len();
    println!(
        "{}: {passed}/{} passed (vocabulary loaded in {load_time:?})",
        vocab_gguf.display(),
        cases.len()
    );
    assert!(
        diffs.is_empty(),
        "{}: {passed}/{} passed; first differences:\n{}",
        vocab_gguf.display(),
        cases.len(),
        diffs.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    cases.len()
}

/// `check` on `<dir>/<name>.gguf` with its `.inp` and `.out`, or "skipped" when absent.
fn check_vocab(dir: &str, name: &str) -> Option<usize> {
    let gguf = Path::new(dir).join(format!("{name}.gguf"));
    if !gguf.exists() {
        println!("skipped: {} not found", gguf.display());
        return None;
    }
    let inp = Path::new(dir).join(format!("{name}.gguf.inp"));
    let out = Path::new(dir).join(format!("{name}.gguf.out"));
    Some(check(&gguf, &inp, &out))
}

#[test]
fn llama_spm_matches_llama_cpp() {
    let dir = format!("{FIXTURES}/tokenizer");
    assert_eq!(check_vocab(&dir, "ggml-vocab-llama-spm"), Some(46));
}

#[test]
fn phi_3_matches_llama_cpp() {
    check_vocab(SHARED_LLAMA_CPP, "ggml-vocab-phi-3");
}

#[test]
fn stories260k_once_upon_a_time() {
    let tokenizer = load(&Path::new(FIXTURES).join("stories260K/stories260K.gguf"));
    assert_eq!(
        tokenizer.encode("Once upon a time", true, false),
        [1, 403, 407, 261, 378]
    );
    assert_eq!(tokenizer.n_vocab(), 512);
    assert_eq!(
        tokenizer.decode(&[1, 403, 407, 261, 378], true),
        "Once upon a time"
    );
}

#[test]
fn llama_spm_metadata() {
    let tokenizer = crate::llama_spm();
    assert_eq!(tokenizer.n_vocab(), 32000);
    assert_eq!(tokenizer.bos_id(), Some(1));
    assert_eq!(tokenizer.eos_id(), Some(2));
    assert!(tokenizer.add_bos());
    assert_eq!(tokenizer.model_name(), "llama");
    assert!(tokenizer.is_end_of_generation(2));
    assert!(!tokenizer.is_end_of_generation(1));
    assert_eq!(tokenizer.token_text(15043), Some("▁Hello"));
    assert_eq!(tokenizer.token_text(32000), None);
    assert_eq!(
        tokenizer.summary(),
        "llama vocab: 32000 tokens, bos 1 \"<s>\", eos 2 \"</s>\", unk 0 \"<unk>\", \
         add_bos true, add_eos false, add_space_prefix true, 2 control, 256 byte, 0 user-defined"
    );
}

#[test]
fn llama_spm_pieces() {
    let tokenizer = crate::llama_spm();
    assert_eq!(tokenizer.token_to_piece(15043, false), b" Hello");
    assert_eq!(tokenizer.token_to_piece(13, false), b"\n"); // <0x0A>
    assert_eq!(tokenizer.token_to_piece(3, false), [0u8]); // <0x00>
    assert_eq!(tokenizer.token_to_piece(1, false), b"");
    assert_eq!(tokenizer.token_to_piece(1, true), b"<s>");
    assert_eq!(tokenizer.token_to_piece(0, false), b"");
    assert_eq!(tokenizer.token_to_piece(0, true), b"<unk>");
    assert_eq!(tokenizer.token_to_piece(u32::MAX, true), b"");
    assert_eq!(tokenizer.decode(&[1, 15043, 2], false), "<s> Hello</s>");
    assert_eq!(tokenizer.decode(&[1, 15043, 2], true), "Hello");
    assert_eq!(tokenizer.decode(&[15043, 15043], true), "Hello Hello");
    // Only the very first token loses its space, even when it renders as nothing.
    assert_eq!(tokenizer.decode(&[40000, 15043], true), " Hello");
}

#[test]
fn phi_3_end_of_generation() {
    let path = Path::new(SHARED_LLAMA_CPP).join("ggml-vocab-phi-3.gguf");
    if !path.exists() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let tokenizer = load(&path);
    // EOS is <|endoftext|>; <|end|> ends a chat turn and is found by its text, as in llama.cpp.
    assert_eq!(tokenizer.eos_id(), Some(32000));
    assert!(tokenizer.is_end_of_generation(32000));
    assert!(tokenizer.is_end_of_generation(32007));
    assert!(!tokenizer.is_end_of_generation(32001));
    // Phi-3 types `</s>` as user-defined: it is matched in text even without parse_special.
    assert_eq!(tokenizer.encode("a</s>b", false, false)[1], 2);
    assert_eq!(tokenizer.token_to_piece(2, false), b"</s>");
}

#[test]
fn long_input_is_fast_enough() {
    let tokenizer = crate::llama_spm();
    // 200 KB with long runs that merge deeply; O(n^2) would take minutes here.
    let text = "Hello world! ".repeat(8_000) + &"a".repeat(50_000) + &" ".repeat(50_000);
    let started = Instant::now();
    let ids = tokenizer.encode(&text, true, false);
    println!(
        "encoded {} bytes into {} tokens in {:?}",
        text.len(),
        ids.len(),
        started.elapsed()
    );
    assert_eq!(tokenizer.decode(&ids, true), text);
}
