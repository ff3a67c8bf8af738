//! llama.cpp's `test-tokenizer-0` vectors and Meta's Llama 3/4 vectors (same file format):
//! every `.inp` string must encode (no BOS, special tokens not parsed) to exactly the ids on the
//! matching `.out` line. SentencePiece (`llama`) and byte-level BPE (`gpt2`) vocabularies, from
//! GGUF files and from tiktoken `tokenizer.model` files.

use std::path::Path;
use std::time::Instant;

use tokenizer::Tokenizer;

use crate::{load, FIXTURES, SHARED, SHARED_LLAMA_CPP};

/// Encodes every string of `inp` with `tokenizer` (no BOS, special tokens not parsed) and
/// compares with `out`. Returns the number of cases; panics with the pass count and the first
/// differences. Also checks that each case decodes back to its text (byte-level BPE and
/// SentencePiece with byte fallback both round-trip exactly).
fn check(tokenizer: &Tokenizer, label: &str, inp: &Path, out: &Path) -> usize {
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
        "{label}: .inp and .out disagree on the case count"
    );

    let mut diffs = Vec::new();
    for (text, want) in cases.iter().zip(&expected) {
        let got = tokenizer.encode(text, false, false);
        if &got != want {
            diffs.push(format!("  {text:?}\n    want {want:?}\n    got  {got:?}"));
        } else if tokenizer.model_name() == "gpt2" && tokenizer.decode(&got, true) != *text {
            diffs.push(format!(
                "  {text:?} does not decode back: {:?}",
                tokenizer.decode(&got, true)
            ));
        }
    }
    let passed = cases.len() - diffs.len();
    println!("{label}: {passed}/{} passed", cases.len());
    assert!(
        diffs.is_empty(),
        "{label}: {passed}/{} passed; first differences:\n{}",
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
    let started = Instant::now();
    let tokenizer = load(&gguf);
    println!("{name}: loaded in {:?}", started.elapsed());
    let inp = Path::new(dir).join(format!("{name}.gguf.inp"));
    let out = Path::new(dir).join(format!("{name}.gguf.out"));
    Some(check(&tokenizer, &gguf.display().to_string(), &inp, &out))
}

/// `check` with Meta's tiktoken tokenizer in `shared/models/<model_dir>` on
/// `shared/tokenizer-tests/meta-llama/<vectors>.{inp,out}`, or "skipped" when absent.
fn check_meta(model_dir: &str, vectors: &str) -> Option<usize> {
    let tokenizer = crate::meta_tokenizer(model_dir)?;
    let dir = Path::new(SHARED).join("tokenizer-tests/meta-llama");
    Some(check(
        tokenizer,
        &format!("meta-llama/{vectors} with {model_dir}"),
        &dir.join(format!("{vectors}.inp")),
        &dir.join(format!("{vectors}.out")),
    ))
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

/// The byte-level BPE vocabularies of llama.cpp's older vector set whose `.gguf` is there.
/// `gpt-neox` has a vocabulary but no vectors; `bert-bge` is WordPiece and `baichuan` has no
/// vectors (both are reported as skipped).
#[test]
fn bpe_vocabularies_match_llama_cpp() {
    let mut total = 0;
    for name in [
        "gpt-2",
        "deepseek-coder",
        "deepseek-llm",
        "falcon",
        "mpt",
        "starcoder",
        "refact",
    ] {
        total += check_vocab(SHARED_LLAMA_CPP, &format!("ggml-vocab-{name}")).unwrap_or(0);
    }
    println!("llama.cpp BPE vectors: {total} cases passed");
    println!("skipped: ggml-vocab-gpt-neox.gguf has no .inp/.out vectors");
    println!("skipped: ggml-vocab-bert-bge.gguf is a WordPiece (bert) vocabulary, not BPE");
    println!("skipped: ggml-vocab-baichuan.gguf has no .inp/.out vectors");
}

/// Llama 3 (`llama-bpe`) and Qwen2 from llama.cpp commit 0c1e570.
#[test]
fn llama_bpe_and_qwen2_match_llama_cpp() {
    let dir = format!("{SHARED}/tokenizer-tests/llama.cpp-0c1e570");
    for name in ["ggml-vocab-llama-bpe", "ggml-vocab-qwen2"] {
        if let Some(n) = check_vocab(&dir, name) {
            assert_eq!(n, 46);
        }
    }
}

/// The older set's vectors whose vocabulary is only in the newer set: `llama-bpe` and `qwen2`,
/// and `deepseek-r1-qwen` (the Qwen2 vocabulary under its own pre-tokenizer name, which selects
/// the same pattern).
#[test]
fn older_vectors_with_newer_vocabularies() {
    let newer = Path::new(SHARED).join("tokenizer-tests/llama.cpp-0c1e570");
    let older = Path::new(SHARED_LLAMA_CPP);
    for (vocab, vectors) in [
        ("ggml-vocab-llama-bpe", &["ggml-vocab-llama-bpe"][..]),
        (
            "ggml-vocab-qwen2",
            &["ggml-vocab-qwen2", "ggml-vocab-deepseek-r1-qwen"][..],
        ),
    ] {
        let gguf = newer.join(format!("{vocab}.gguf"));
        if !gguf.exists() {
            println!("skipped: {} not found", gguf.display());
            continue;
        }
        let tokenizer = load(&gguf);
        for name in vectors {
            let n = check(
                &tokenizer,
                &format!("llama.cpp/{name} with llama.cpp-0c1e570/{vocab}.gguf"),
                &older.join(format!("{name}.gguf.inp")),
                &older.join(format!("{name}.gguf.out")),
            );
            assert_eq!(n, 46);
        }
    }
}

#[test]
fn meta_llama3_tiktoken_matches_meta() {
    let Some(tokenizer) = crate::meta_tokenizer("meta-llama3-tokenizer") else {
        return;
    };
    let dir = Path::new(SHARED).join("tokenizer-tests/meta-llama");
    let n = check(
        tokenizer,
        "meta-llama/llama3 with meta-llama3-tokenizer",
        &dir.join("llama3.inp"),
        &dir.join("llama3.out"),
    );
    assert_eq!(n, 46);
    // The same ids as llama.cpp's Llama 3 GGUF vectors.
    let dir = format!("{SHARED}/tokenizer-tests/llama.cpp");
    {
        check(
            tokenizer,
            "llama.cpp/ggml-vocab-llama-bpe with meta-llama3-tokenizer",
            Path::new(&format!("{dir}/ggml-vocab-llama-bpe.gguf.inp")),
            Path::new(&format!("{dir}/ggml-vocab-llama-bpe.gguf.out")),
        );
    }
}

#[test]
fn meta_llama4_tiktoken_matches_meta() {
    if let Some(n) = check_meta("meta-llama4-tokenizer", "llama4") {
        assert_eq!(n, 46);
    }
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
