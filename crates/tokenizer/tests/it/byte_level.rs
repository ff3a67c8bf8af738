//! Byte-level BPE beyond the id vectors: pieces as raw bytes, streaming decode of split
//! characters, special-token parsing, end-of-generation ids, and tiktoken load errors.

use tokenizer::{Error, StreamDecoder, TiktokenInfo, Tokenizer};

use crate::meta_tokenizer;

/// Decoding token by token through a `StreamDecoder` gives the whole text.
fn stream(tokenizer: &Tokenizer, ids: &[u32]) -> String {
    let mut decoder = StreamDecoder::new();
    let mut out = String::new();
    for &id in ids {
        out += &decoder.push(&tokenizer.token_to_piece(id, false));
    }
    out + &decoder.finish()
}

#[test]
fn llama3_pieces_specials_and_stops() {
    let Some(t) = meta_tokenizer("meta-llama3-tokenizer") else {
        return;
    };
    assert_eq!(t.n_vocab(), 128_256);
    assert_eq!(t.model_name(), "gpt2");
    assert_eq!((t.bos_id(), t.eos_id()), (Some(128_000), Some(128_001)));
    for id in [128_001, 128_008, 128_009] {
        assert!(t.is_end_of_generation(id), "{id}");
    }
    assert!(!t.is_end_of_generation(128_000));
    assert_eq!(t.token_id("<|eot_id|>"), Some(128_009));
    assert_eq!(t.token_text(128_002), Some("<|reserved_special_token_0|>"));

    let text = "Hello 🦙 world\n";
    let ids = t.encode(text, true, false);
    assert_eq!(ids[0], 128_000);
    assert_eq!(t.decode(&ids, true), text);
    assert_eq!(stream(t, &ids), text);
    assert_eq!(t.token_to_piece(9906, false), b"Hello");

    let chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    let parsed = t.encode(chat, false, true);
    assert_eq!(parsed[0], 128_006);
    assert_eq!(*parsed.last().unwrap(), 128_009);
    assert_eq!(t.decode(&parsed, false), chat);
    assert_eq!(t.decode(&parsed, true), "user\n\nHi");
    // Without parse_special the marker is ordinary text.
    let plain = t.encode(chat, false, false);
    assert!(plain.iter().all(|&id| id < 128_000));
    assert_eq!(t.decode(&plain, true), chat);
}

#[test]
fn llama4_stops_and_chat_tokens() {
    let Some(t) = meta_tokenizer("meta-llama4-tokenizer") else {
        return;
    };
    assert_eq!(t.n_vocab(), 202_048);
    for id in [200_001, 200_007, 200_008] {
        assert!(t.is_end_of_generation(id), "{id}");
    }
    assert_eq!(t.token_id("<|header_start|>"), Some(200_005));
    let ids = t.encode(
        "<|header_start|>user<|header_end|>\n\nÄpfel 😁<|eot|>",
        true,
        true,
    );
    assert_eq!(&ids[..2], &[200_000, 200_005]);
    assert_eq!(*ids.last().unwrap(), 200_008);
    // Every single byte of an emoji is its own piece somewhere; streaming never splits a char.
    let text = "😁😁 ½ 🦙.cpp";
    assert_eq!(stream(t, &t.encode(text, false, false)), text);
}

#[test]
fn tiktoken_errors_name_the_line() {
    let info = TiktokenInfo {
        pattern: r"\s+|\S+".into(),
        n_words: 4,
        special_tokens: vec![("<|end|>".into(), 3)],
        bos_id: None,
        eos_id: Some(3),
        stop_tokens: vec![3],
    };
    let ok = Tokenizer::from_tiktoken(b"YQ== 0\nYg== 1\nYWI= 2\n", &info).expect("loads");
    assert_eq!(ok.encode("ab", false, false), [2]);
    assert_eq!(ok.encode("ab<|end|>", false, true), [2, 3]);
    assert!(ok.is_end_of_generation(3));

    let err = Tokenizer::from_tiktoken(b"YQ== 0\n!!! 1\n", &info).unwrap_err();
    assert!(matches!(err, Error::Tiktoken { line: 2, .. }), "{err}");
    let err = Tokenizer::from_tiktoken(b"YQ== 0\nYg== x\n", &info).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    let err = Tokenizer::from_tiktoken(b"YQ== 0\nYg== 0\n", &info).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    let err = Tokenizer::from_tiktoken(b"YQ== 4000000000\n", &info).unwrap_err();
    assert!(err.to_string().contains("gap"), "{err}");
    let huge = TiktokenInfo {
        n_words: usize::MAX,
        ..info.clone()
    };
    let err = Tokenizer::from_tiktoken(b"YQ== 0\n", &huge).unwrap_err();
    assert!(err.to_string().contains("n_words"), "{err}");
    let err = Tokenizer::from_tiktoken(b"", &info).unwrap_err();
    assert!(err.to_string().contains("no tokens"), "{err}");

    let err = TiktokenInfo::from_json(br#"{"n_words": 3}"#).unwrap_err();
    assert!(err.to_string().contains("pat_str"), "{err}");
    let bad_pattern = TiktokenInfo {
        pattern: "(".into(),
        ..info
    };
    let err = Tokenizer::from_tiktoken(b"YQ== 0\n", &bad_pattern).unwrap_err();
    assert!(err.to_string().contains("pat_str"), "{err}");
}

#[test]
fn gpt2_gguf_pieces_and_unknown_pre_tokenizer() {
    let path = std::path::Path::new(crate::SHARED_LLAMA_CPP).join("ggml-vocab-gpt-2.gguf");
    if !path.exists() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let t = crate::load(&path);
    assert_eq!(t.model_name(), "gpt2");
    assert_eq!(t.token_text(18435), Some("ĠHello"));
    assert_eq!(t.token_to_piece(18435, false), b" Hello");
    assert!(t.is_end_of_generation(50256));
    assert_eq!(t.token_to_piece(50256, false), b"");
    assert_eq!(t.token_to_piece(50256, true), b"<|endoftext|>");
    assert!(
        t.summary().starts_with("gpt2 vocab: 50257 tokens"),
        "{}",
        t.summary()
    );
}

/// A three-token `gpt2` vocabulary built in memory.
fn tiny_gpt2(pre: Option<&str>, merges: &[&str]) -> crate::tiny_gguf::TinyGguf {
    let gguf = crate::tiny_gguf::TinyGguf::new()
        .string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", &["a", "b", "ab", "Ġ"])
        .strings("tokenizer.ggml.merges", merges);
    match pre {
        Some(pre) => gguf.string("tokenizer.ggml.pre", pre),
        None => gguf,
    }
}

#[test]
fn gpt2_gguf_errors_name_the_key() {
    let t = Tokenizer::from_gguf(&tiny_gpt2(Some("gpt-2"), &["a b"]).parse()).expect("loads");
    assert_eq!(t.encode("ab ab", false, false), [2, 3, 2]);
    assert_eq!(t.decode(&[2, 3, 2], true), "ab ab");
    assert_eq!(t.bos_id(), None);
    assert!(!t.add_bos());

    let err = Tokenizer::from_gguf(&tiny_gpt2(Some("nope"), &["a b"]).parse()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("tokenizer.ggml.pre") && text.contains("'nope'"),
        "{text}"
    );
    assert!(text.contains("llama-bpe"), "{text}");
    let err = Tokenizer::from_gguf(&tiny_gpt2(None, &["ab"]).parse()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.ggml.merges"), "{err}");
    let err = Tokenizer::from_gguf(&tiny_gpt2(None, &["a c"]).parse()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.ggml.merges"), "{err}");
    let no_merges = crate::tiny_gguf::TinyGguf::new()
        .string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", &["a"]);
    let err = Tokenizer::from_gguf(&no_merges.parse()).unwrap_err();
    assert!(matches!(err, Error::MissingKey { ref key } if key == "tokenizer.ggml.merges"));
}

/// Random text, special-token texts and lone combining marks included, round-trips exactly
/// through byte-level BPE, and a long input encodes in reasonable time.
#[test]
fn random_text_round_trips_and_long_text_is_fast() {
    let Some(t) = meta_tokenizer("meta-llama4-tokenizer") else {
        return;
    };
    const ALPHABET: &[&str] = &[
        "a",
        "Z",
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "é",
        "ß",
        "日本",
        "🦙",
        "\u{301}",
        "'s",
        "’",
        "<|eot|>",
        "<|header_start|>",
        "123",
        "½",
        "\u{200d}",
        "\u{0}",
        "Ω",
        "K",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let len = (next() % 40) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        for parse_special in [false, true] {
            let ids = t.encode(&text, true, parse_special);
            assert_eq!(t.decode(&ids, false), format!("<|begin_of_text|>{text}"));
            // Streamed without render_special, parsed control tokens show as nothing.
            let shown = if parse_special {
                text.replace("<|eot|>", "").replace("<|header_start|>", "")
            } else {
                text.clone()
            };
            assert_eq!(stream(t, &ids[1..]), shown);
        }
    }
    let long = "The quick brown fox, naïve café 123456 — 🦙!\n".repeat(4_000);
    let started = std::time::Instant::now();
    let ids = t.encode(&long, false, true);
    println!(
        "{} bytes → {} tokens in {:?}",
        long.len(),
        ids.len(),
        started.elapsed()
    );
    assert_eq!(t.decode(&ids, false), long);
}

#[test]
fn tokenizers_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Tokenizer>();
}
