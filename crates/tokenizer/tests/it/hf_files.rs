//! `Tokenizer::from_hf_files`: the stories260K `tokenizer.json` (a SentencePiece-style BPE with
//! byte fallback, as transformers' `LlamaConverter` writes it) must give the GGUF SentencePiece
//! path's ids on llama.cpp's strings; broken files give errors that name the file and field.

use std::path::Path;

use tokenizer::{Error, Tokenizer};

use crate::{load, FIXTURES};

fn stories_hf() -> Tokenizer {
    let dir = Path::new(FIXTURES).join("tokenizer/stories260K-hf");
    let json = std::fs::read(dir.join("tokenizer.json")).expect("read tokenizer.json");
    let config = std::fs::read(dir.join("tokenizer_config.json")).expect("read config");
    Tokenizer::from_hf_files(&json, Some(&config)).expect("tokenizer.json loads")
}

fn stories_gguf() -> Tokenizer {
    load(&Path::new(FIXTURES).join("stories260K/stories260K.gguf"))
}

#[test]
fn once_upon_a_time() {
    let hf = stories_hf();
    assert_eq!(
        hf.encode("Once upon a time", true, false),
        [1, 403, 407, 261, 378]
    );
    assert_eq!(hf.bos_id(), Some(1));
    assert_eq!(hf.eos_id(), Some(2));
    assert!(hf.add_bos());
    assert_eq!(hf.n_vocab(), 512);
    assert_eq!(hf.model_name(), "llama");
    assert!(hf.is_end_of_generation(2));
    assert_eq!(
        hf.decode(&[1, 403, 407, 261, 378], true),
        "Once upon a time"
    );
    assert_eq!(hf.chat_template(), None);
}

/// Every llama.cpp test string, and the strings with special tokens in them, give the same ids
/// and the same text back through tokenizer.json as through the GGUF vocabulary.
#[test]
fn same_ids_as_the_gguf_vocabulary() {
    let (hf, gguf) = (stories_hf(), stories_gguf());
    let inp = std::fs::read_to_string(
        Path::new(FIXTURES).join("tokenizer/ggml-vocab-llama-spm.gguf.inp"),
    )
    .expect("read .inp");
    let mut cases: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    cases.pop();
    cases.extend([
        "<s>Hello</s> world",
        "a<s>b",
        "Lily 🦙 said \"hi\"\n\n  end ",
    ]);
    for text in cases {
        for (add_special, parse_special) in [(false, false), (true, false), (true, true)] {
            let want = gguf.encode(text, add_special, parse_special);
            let got = hf.encode(text, add_special, parse_special);
            assert_eq!(
                got, want,
                "{text:?} add_special {add_special} parse_special {parse_special}"
            );
            assert_eq!(hf.decode(&got, true), gguf.decode(&want, true), "{text:?}");
        }
        for id in gguf.encode(text, true, true) {
            assert_eq!(hf.token_to_piece(id, true), gguf.token_to_piece(id, true));
            assert_eq!(hf.token_to_piece(id, false), gguf.token_to_piece(id, false));
        }
    }
}

#[test]
fn without_tokenizer_config_bos_comes_from_the_post_processor() {
    let json = std::fs::read(Path::new(FIXTURES).join("tokenizer/stories260K-hf/tokenizer.json"))
        .expect("read tokenizer.json");
    let hf = Tokenizer::from_hf_files(&json, None).expect("loads");
    assert_eq!(hf.bos_id(), Some(1));
    assert!(hf.add_bos());
    assert_eq!(hf.encode("Once upon a time", true, false)[0], 1);
}

#[test]
fn chat_template_from_tokenizer_config() {
    let json = std::fs::read(Path::new(FIXTURES).join("tokenizer/stories260K-hf/tokenizer.json"))
        .expect("read tokenizer.json");
    let config = br#"{"bos_token": {"content": "<s>"}, "eos_token": "</s>",
        "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#;
    let hf = Tokenizer::from_hf_files(&json, Some(config)).expect("loads");
    assert_eq!(hf.chat_template(), Some("D"));
    let config = br#"{"chat_template": "{{ bos_token }}"}"#;
    let hf = Tokenizer::from_hf_files(&json, Some(config)).expect("loads");
    assert_eq!(hf.chat_template(), Some("{{ bos_token }}"));
}

fn mentions(err: &Error, words: &[&str]) {
    let text = err.to_string();
    for word in words {
        assert!(text.contains(word), "{text:?} does not mention {word:?}");
    }
}

#[test]
fn broken_files_name_the_file_and_field() {
    let json = std::fs::read(Path::new(FIXTURES).join("tokenizer/stories260K-hf/tokenizer.json"))
        .expect("read tokenizer.json");
    let err = Tokenizer::from_hf_files(b"{not json", None).unwrap_err();
    mentions(&err, &["tokenizer.json", "not valid JSON"]);
    let err = Tokenizer::from_hf_files(br#"{"model": {"type": "Nope"}}"#, None).unwrap_err();
    mentions(&err, &["tokenizer.json"]);
    let err = Tokenizer::from_hf_files(&json, Some(b"[1")).unwrap_err();
    mentions(&err, &["tokenizer_config.json", "not valid JSON"]);
    let err = Tokenizer::from_hf_files(&json, Some(br#"{"bos_token": "<nope>"}"#)).unwrap_err();
    mentions(&err, &["tokenizer_config.json", "bos_token", "<nope>"]);
    let err = Tokenizer::from_hf_files(&json, Some(br#"{"add_bos_token": "yes"}"#)).unwrap_err();
    mentions(&err, &["tokenizer_config.json", "add_bos_token"]);
    let err = Tokenizer::from_hf_files(&json, Some(br#"{"chat_template": 3}"#)).unwrap_err();
    mentions(&err, &["chat_template"]);
    let sparse = br#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 4000000000}, "merges": []}}"#;
    let err = Tokenizer::from_hf_files(sparse, None).unwrap_err();
    mentions(&err, &["tokenizer.json", "model.vocab", "dense"]);
    // Truncations of a valid file never panic.
    for cut in (0..json.len()).step_by(997) {
        assert!(Tokenizer::from_hf_files(&json[..cut], None).is_err());
    }
}

/// A byte-level `tokenizer.json` written from the GPT-2 GGUF vocabulary (as transformers'
/// GPT-2 tokenizer.json has it: BPE model, `ByteLevel` pre-tokenizer with its own regex and
/// decoder, `<|endoftext|>` an added special token) gives the GGUF path's ids.
#[test]
fn byte_level_tokenizer_json_matches_the_gguf() {
    let path = Path::new(crate::SHARED_LLAMA_CPP).join("ggml-vocab-gpt-2.gguf");
    if !path.exists() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let bytes = std::fs::read(&path).expect("read gguf");
    let gguf = formats::GgufFile::parse(&bytes).expect("parses");
    let Ok(Some(formats::MetadataArray::String(tokens))) = gguf.get_array("tokenizer.ggml.tokens")
    else {
        panic!("tokens")
    };
    let Ok(Some(formats::MetadataArray::String(merges))) = gguf.get_array("tokenizer.ggml.merges")
    else {
        panic!("merges")
    };
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.clone(), id.into()))
        .collect();
    let json = serde_json::json!({
        "version": "1.0",
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": false,
            "lstrip": false, "rstrip": false, "normalized": true, "special": true}],
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
            "use_regex": true},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false,
            "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
            "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false,
            "vocab": vocab, "merges": merges},
    });
    let config = br#"{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}"#;
    let hf = Tokenizer::from_hf_files(json.to_string().as_bytes(), Some(config)).expect("loads");
    let gguf = load(&path);
    assert_eq!(hf.model_name(), "gpt2");
    assert_eq!(hf.n_vocab(), gguf.n_vocab());
    assert!(hf.is_end_of_generation(50256));
    assert!(!hf.add_bos());
    let inp = std::fs::read_to_string(path.with_extension("gguf.inp")).expect("read .inp");
    let mut cases: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    cases.pop();
    cases.push("text<|endoftext|>more");
    for text in cases {
        for parse_special in [false, true] {
            let want = gguf.encode(text, false, parse_special);
            let got = hf.encode(text, false, parse_special);
            assert_eq!(got, want, "{text:?} parse_special {parse_special}");
            assert_eq!(hf.decode(&got, false), text);
        }
    }
}
