//! Special-token texts in the input: ids with `parse_special`, literal text without it.

use tokenizer::Tokenizer;

use crate::tiny_gguf::TinyVocab;

#[test]
fn control_tokens_parsed_only_on_request() {
    let tokenizer = crate::llama_spm();
    let hello = 15043; // "▁Hello": text after a special token gets the space prefix
    assert_eq!(tokenizer.encode("<s>Hello</s>", false, true), [1, hello, 2]);
    assert_eq!(
        tokenizer.encode("<s>Hello</s>", true, true),
        [1, 1, hello, 2]
    );

    let literal = tokenizer.encode("<s>Hello</s>", false, false);
    assert!(
        !literal.contains(&1) && !literal.contains(&2),
        "{literal:?}"
    );
    assert_eq!(tokenizer.decode(&literal, true), "<s>Hello</s>");

    // The unknown token is special too.
    assert_eq!(tokenizer.encode("<unk>", false, true), [0]);
    assert_ne!(tokenizer.encode("<unk>", false, false), [0]);
}

#[test]
fn text_after_a_special_token_gets_the_space_prefix() {
    let tokenizer = crate::llama_spm();
    // llama.cpp's is_prev_special: the first fragment and any fragment after a special token
    // are tokenized as " Hello".
    assert_eq!(
        tokenizer.encode("Hello<s>Hello", false, true),
        [15043, 1, 15043]
    );
    assert_eq!(tokenizer.encode("</s></s>", false, true), [2, 2]);
    assert_eq!(tokenizer.encode("", true, true), [1]);
    assert_eq!(tokenizer.encode("", false, true), Vec::<u32>::new());
}

#[test]
fn user_defined_tokens_always_split_longest_first() {
    let vocab = TinyVocab::new(
        &[("▁", -1.0), ("a", -1.0), ("b", -1.0), ("▁a", -0.5)],
        &["<|x|>", "<|x|>y"],
    );
    let tokenizer = Tokenizer::from_gguf(&vocab.gguf().parse()).expect("loads");
    let x = vocab.id("<|x|>");
    let xy = vocab.id("<|x|>y");
    let a = vocab.id("a");
    let space_a = vocab.id("▁a");
    assert_eq!(
        tokenizer.encode("a<|x|>ya<|x|>a", false, false),
        [space_a, xy, space_a, x, space_a]
    );
    assert_eq!(tokenizer.encode("<|x|>", false, false), [x]);
    // User-defined tokens render as their text, ▁ included.
    assert_eq!(tokenizer.decode(&[a, x], true), "a<|x|>");
}

#[test]
fn byte_fallback_and_unknown() {
    let vocab = TinyVocab::new(&[("▁", -1.0), ("a", -1.0)], &[]);
    let tokenizer = Tokenizer::from_gguf(&vocab.gguf().parse()).expect("loads");
    let space = vocab.id("▁");
    let a = vocab.id("a");
    // "é" is not a token: its two UTF-8 bytes become <0xC3> <0xA9>.
    assert_eq!(
        tokenizer.encode("aé", false, false),
        [space, a, vocab.id("<0xC3>"), vocab.id("<0xA9>")]
    );
    assert_eq!(
        tokenizer.decode(&tokenizer.encode("aé", false, false), true),
        "aé"
    );

    // Without byte tokens, a character outside the vocabulary becomes <unk>, one per byte.
    let texts = ["<unk>", "<s>", "</s>", "▁", "a"];
    let bare = crate::tiny_gguf::TinyGguf::new()
        .string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", &texts)
        .parse();
    let tokenizer = Tokenizer::from_gguf(&bare).expect("loads");
    assert_eq!(tokenizer.encode("aé", false, false), [3, 4, 0, 0]);
}
