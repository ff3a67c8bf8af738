//! Loading a broken or unsupported vocabulary gives an error that names the key; defaults apply
//! when optional keys are absent.

use tokenizer::{Error, Tokenizer};

use crate::tiny_gguf::{TinyGguf, TinyVocab};

fn load_err(gguf: TinyGguf) -> Error {
    Tokenizer::from_gguf(&gguf.parse()).expect_err("vocabulary is rejected")
}

/// Asserts that `err` mentions every string in `needles`.
fn assert_mentions(err: &Error, needles: &[&str]) {
    let message = err.to_string();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{message:?} does not mention {needle:?}"
        );
    }
}

fn tokens(texts: &[&str]) -> TinyGguf {
    TinyGguf::new()
        .string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", texts)
}

#[test]
fn missing_model_or_tokens() {
    let err = load_err(TinyGguf::new().strings("tokenizer.ggml.tokens", &["a"]));
    assert!(matches!(err, Error::MissingKey { ref key } if key == "tokenizer.ggml.model"));
    let err = load_err(TinyGguf::new().string("tokenizer.ggml.model", "llama"));
    assert_mentions(&err, &["tokenizer.ggml.tokens", "missing"]);
    assert_mentions(&load_err(tokens(&[])), &["tokenizer.ggml.tokens", "empty"]);
}

#[test]
fn unsupported_models_are_named() {
    let err = load_err(TinyGguf::new().string("tokenizer.ggml.model", "bert"));
    assert!(matches!(err, Error::UnsupportedModel { ref model } if model == "bert"));
    assert_mentions(&err, &["'bert'", "'gpt2' byte-level BPE"]);
    assert_mentions(
        &load_err(TinyGguf::new().string("tokenizer.ggml.model", "t5")),
        &["'t5'"],
    );
}

#[test]
fn array_lengths_and_types_are_checked() {
    let vocab = TinyVocab::new(&[], &[]);
    let texts: Vec<&str> = vocab.texts.iter().map(String::as_str).collect();
    let short = &vocab.scores[1..];
    let err = load_err(tokens(&texts).f32s("tokenizer.ggml.scores", short));
    assert_mentions(&err, &["tokenizer.ggml.scores", "258 entries", "259"]);

    let err = load_err(tokens(&texts).i32s("tokenizer.ggml.token_type", &vocab.types[2..]));
    assert_mentions(&err, &["tokenizer.ggml.token_type", "257 entries"]);

    let err = load_err(tokens(&texts).strings("tokenizer.ggml.scores", &texts));
    assert_mentions(&err, &["tokenizer.ggml.scores", "f32", "string"]);

    let err = load_err(
        TinyGguf::new()
            .string("tokenizer.ggml.model", "llama")
            .f32s("tokenizer.ggml.tokens", &[1.0]),
    );
    assert_mentions(&err, &["tokenizer.ggml.tokens", "strings"]);

    let err = load_err(tokens(&texts).string("tokenizer.ggml.add_bos_token", "yes"));
    assert_mentions(&err, &["tokenizer.ggml.add_bos_token"]);
}

#[test]
fn special_ids_are_checked() {
    let err = load_err(tokens(&["<unk>", "<s>", "</s>"]).u32("tokenizer.ggml.bos_token_id", 3));
    assert!(matches!(
        err,
        Error::TokenIdOutOfRange { ref key, id: 3, n_tokens: 3 } if key == "tokenizer.ggml.bos_token_id"
    ));
    let err = load_err(tokens(&["a"]).i32("tokenizer.ggml.eos_token_id", -2));
    assert_mentions(&err, &["tokenizer.ggml.eos_token_id", "-2"]);
    let err = load_err(tokens(&["a"]).string("tokenizer.ggml.eot_token_id", "1"));
    assert_mentions(&err, &["tokenizer.ggml.eot_token_id", "integer"]);
}

#[test]
fn none_ids_and_defaults() {
    let gguf = tokens(&["<unk>", "<s>", "</s>", "▁a", "<|end|>"])
        .u32("tokenizer.ggml.bos_token_id", u32::MAX)
        .i32("tokenizer.ggml.unknown_token_id", -1)
        .u32("tokenizer.ggml.eot_token_id", 3)
        .bool("tokenizer.ggml.add_space_prefix", false)
        .bool("tokenizer.ggml.add_eos_token", true);
    let tokenizer = Tokenizer::from_gguf(&gguf.parse()).expect("loads");
    assert_eq!(tokenizer.bos_id(), None);
    assert_eq!(tokenizer.unk_id(), None);
    assert_eq!(tokenizer.eos_id(), Some(2)); // llama.cpp's default for SentencePiece
    assert!(tokenizer.add_bos()); // default true
    assert!(tokenizer.is_end_of_generation(2));
    assert!(tokenizer.is_end_of_generation(3)); // eot_token_id
    assert!(tokenizer.is_end_of_generation(4)); // found by its text
                                                // No BOS to add, EOS appended, no space prefix; types default to normal.
    assert_eq!(tokenizer.encode("▁a", true, false), [3, 2]);
    assert_eq!(tokenizer.token_type(0), Some(tokenizer::TokenType::Normal));
    // <|end|> was forced to control, like llama.cpp does for end-of-generation texts.
    assert_eq!(tokenizer.token_type(4), Some(tokenizer::TokenType::Control));
    assert_eq!(tokenizer.token_to_piece(4, false), b"");

    // Absent ids that do not fit the vocabulary are dropped rather than reported.
    let tiny = Tokenizer::from_gguf(&tokens(&["a"]).parse()).expect("loads");
    assert_eq!(
        (tiny.bos_id(), tiny.eos_id(), tiny.unk_id()),
        (None, None, Some(0))
    );
    assert_eq!(tiny.encode("", true, false), Vec::<u32>::new());
}

#[test]
fn empty_token_texts_are_renamed() {
    let tokenizer = Tokenizer::from_gguf(&tokens(&["<unk>", "", "b"]).parse()).expect("loads");
    assert_eq!(tokenizer.token_text(1), Some("[EMPTY_1]"));
}
