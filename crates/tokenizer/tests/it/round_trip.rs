//! `decode(encode(s))` gives back `s` for every llama.cpp test string and more: the space prefix
//! `encode` adds is the one `decode` removes, and byte fallback spells every character.

use std::path::Path;

use crate::FIXTURES;

/// llama.cpp's 46 test strings plus emoji, CJK, odd whitespace and text that looks special.
fn samples() -> Vec<String> {
    let inp = std::fs::read_to_string(
        Path::new(FIXTURES).join("tokenizer/ggml-vocab-llama-spm.gguf.inp"),
    )
    .expect("read .inp");
    let mut samples: Vec<String> = inp
        .split("\n__ggml_vocab_test__\n")
        .map(str::to_string)
        .collect();
    samples.extend(
        [
            "🦙",
            "🦙🦙 llama",
            "👨‍👩‍👧‍👦 family",
            "日本語のテキスト、中文文本，한국어 텍스트",
            "  leading and trailing  ",
            "\n\nnew\r\nlines\n",
            "\u{0}\u{1}\u{7f} control chars",
            "\u{10FFFF}\u{FFFD} edge code points",
            "<s> looks special </s> <unk>",
            "tab\tseparated\tvalues",
            "Ünïcödé àccénts",
            " ",
            "x",
        ]
        .map(str::to_string),
    );
    samples
}

#[test]
fn decode_inverts_encode() {
    let tokenizer = crate::llama_spm();
    for text in samples() {
        for add_special in [false, true] {
            let ids = tokenizer.encode(&text, add_special, false);
            assert_eq!(tokenizer.decode(&ids, true), text, "ids {ids:?}");
        }
    }
}

#[test]
fn streamed_pieces_concatenate_to_decode() {
    let tokenizer = crate::llama_spm();
    for text in samples() {
        let ids = tokenizer.encode(&text, false, false);
        let mut stream = tokenizer::StreamDecoder::new();
        let mut streamed = String::new();
        for &id in &ids {
            streamed += &stream.push(&tokenizer.token_to_piece(id, false));
        }
        streamed += &stream.finish();
        // Pieces keep the prefix space that `decode` strips from the first token.
        let expected = if text.is_empty() {
            String::new()
        } else {
            format!(" {text}")
        };
        assert_eq!(streamed, expected);
    }
}

#[test]
fn literal_space_symbol_decodes_as_space() {
    // SentencePiece cannot tell an input "▁" from an escaped space: the one lossy case.
    let tokenizer = crate::llama_spm();
    let ids = tokenizer.encode("a▁b", false, false);
    assert_eq!(ids, tokenizer.encode("a b", false, false));
    assert_eq!(tokenizer.decode(&ids, true), "a b");
}
