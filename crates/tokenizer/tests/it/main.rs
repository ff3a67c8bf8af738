//! Integration tests of the `tokenizer` crate: llama.cpp's conformance vectors, round trips,
//! special-token parsing, streaming detokenization, and load errors on hand-written GGUF files.

mod byte_level;
mod chat_templates;
mod golden;
mod hf_files;
mod parse_special;
mod round_trip;
mod stream_decode;
mod tiny_gguf;
mod vocab_errors;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use tokenizer::Tokenizer;

/// The `fixtures/` folder of the repository.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
/// llama.cpp's tokenizer vectors in the shared data folder, outside the repository; tests that
/// need it print "skipped" when it is absent.
const SHARED_LLAMA_CPP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/tokenizer-tests/llama.cpp"
);

/// The shared data folder outside the repository (models, vectors).
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// Meta's tiktoken tokenizer in `shared/models/<dir>` (`tokenizer.model` +
/// `tokenizer-info.json`), built once per test binary, or `None` with a "skipped" line when it
/// is absent.
fn meta_tokenizer(dir: &str) -> Option<&'static Tokenizer> {
    static CACHE: Mutex<BTreeMap<String, &'static Tokenizer>> = Mutex::new(BTreeMap::new());
    let path = Path::new(SHARED).join("models").join(dir);
    let model = path.join("tokenizer.model");
    if !model.exists() {
        println!("skipped: {} not found", model.display());
        return None;
    }
    // Holding the lock while building makes a second test wait instead of building it again.
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&tokenizer) = cache.get(dir) {
        return Some(tokenizer);
    }
    let started = std::time::Instant::now();
    let info = std::fs::read(path.join("tokenizer-info.json")).expect("read tokenizer-info.json");
    let info = tokenizer::TiktokenInfo::from_json(&info).expect("tokenizer-info.json parses");
    let model = std::fs::read(&model).expect("read tokenizer.model");
    let tokenizer = Tokenizer::from_tiktoken(&model, &info).expect("tiktoken model loads");
    println!("{}: loaded in {:?}", path.display(), started.elapsed());
    let tokenizer: &'static Tokenizer = Box::leak(Box::new(tokenizer));
    cache.insert(dir.to_string(), tokenizer);
    Some(tokenizer)
}

/// Loads the tokenizer of the GGUF file at `path`.
fn load(path: &Path) -> Tokenizer {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let gguf = formats::GgufFile::parse(&bytes).expect("GGUF parses");
    Tokenizer::from_gguf(&gguf).expect("vocabulary loads")
}

/// The Llama 2 vocabulary from llama.cpp's `models/ggml-vocab-llama-spm.gguf`.
fn llama_spm() -> Tokenizer {
    load(&Path::new(FIXTURES).join("tokenizer/ggml-vocab-llama-spm.gguf"))
}
