//! Real GGUF files parse, and survive a rewrite through `GgufWriter` unchanged: the committed
//! stories260K fixture always, and the larger files under `../shared` when that folder exists.

use formats::{GgufFile, GgufWriter};

const STORIES260K: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/stories260K/stories260K.gguf"
);
const LLAMA2_TINY_RANDOM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf"
);
const VOCAB_LLAMA_SPM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/tokenizer-tests/llama.cpp/ggml-vocab-llama-spm.gguf"
);

/// Reads and parses `path`, `None` (with a note) when the file is absent; checks that every
/// tensor lies in the file and that rewriting it gives the same metadata, infos and data.
fn check(path: &str) -> Option<(Vec<u8>, GgufFile)> {
    let Ok(bytes) = std::fs::read(path) else {
        println!("skipped: {path} not found");
        return None;
    };
    let gguf = GgufFile::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    for t in &gguf.tensors {
        assert!(
            t.byte_range().end <= bytes.len(),
            "{path}: tensor '{}'",
            t.name
        );
    }

    let mut writer = GgufWriter::new();
    for (key, value) in &gguf.metadata {
        writer.add_metadata(key.clone(), value.clone()).unwrap();
    }
    for t in &gguf.tensors {
        writer
            .add_tensor(t.name.clone(), &t.dims, t.ggml_type, &bytes[t.byte_range()])
            .unwrap();
    }
    let rewritten = writer.to_vec().unwrap();
    let again = GgufFile::parse(&rewritten).unwrap();
    assert_eq!(again.metadata, gguf.metadata, "{path}");
    assert_eq!(again.data_offset, gguf.data_offset, "{path}");
    assert_eq!(again.tensors.len(), gguf.tensors.len(), "{path}");
    for (a, b) in again.tensors.iter().zip(&gguf.tensors) {
        assert_eq!(
            (&a.name, &a.dims, a.ggml_type),
            (&b.name, &b.dims, b.ggml_type),
            "{path}"
        );
        assert_eq!(
            rewritten[a.byte_range()],
            bytes[b.byte_range()],
            "{path}: tensor '{}'",
            a.name
        );
    }
    // llama.cpp and gguf-py lay files out as the writer does, byte for byte, except that gguf-py
    // leaves out the padding after the header of a file without tensors, and files may or may
    // not pad their last tensor.
    let common = rewritten.len().min(bytes.len());
    assert!(
        rewritten[..common] == bytes[..common],
        "{path}: the rewrite differs from the original"
    );
    let tail = if rewritten.len() > common {
        &rewritten[common..]
    } else {
        &bytes[common..]
    };
    assert!(
        tail.len() < 4096 && tail.iter().all(|&b| b == 0),
        "{path}: {} extra bytes",
        tail.len()
    );
    Some((bytes, gguf))
}

#[test]
fn stories260k() {
    let (_, gguf) = check(STORIES260K).expect("the fixture is committed");
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.tensors.len(), 48);
    assert_eq!(gguf.get_str("general.architecture").unwrap(), Some("llama"));
    assert_eq!(
        gguf.get_array("tokenizer.ggml.tokens")
            .unwrap()
            .map(|a| a.len()),
        Some(512)
    );
}

#[test]
fn llama2_tiny_random() {
    let Some((_, gguf)) = check(LLAMA2_TINY_RANDOM) else {
        return;
    };
    assert_eq!(gguf.get_str("general.architecture").unwrap(), Some("llama"));
    assert!(!gguf.tensors.is_empty());
}

#[test]
fn vocab_llama_spm() {
    let Some((_, gguf)) = check(VOCAB_LLAMA_SPM) else {
        return;
    };
    assert_eq!(gguf.get_str("tokenizer.ggml.model").unwrap(), Some("llama"));
    let tokens = gguf
        .get_array("tokenizer.ggml.tokens")
        .unwrap()
        .expect("a vocabulary file has tokens");
    assert_eq!(tokens.len(), 32000);
}
