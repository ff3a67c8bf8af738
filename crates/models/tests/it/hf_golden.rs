//! Every architecture against Hugging Face transformers: the tiny random checkpoints in
//! `fixtures/hf/<arch>/` (made by `scripts/reference/hf_fixtures.py`, with transformers'
//! float32 logits for a 60-token prompt) must give the same logits within 1e-3 at every
//! position, loaded from the safetensors folder and from its converted GGUF (F32 and F16
//! within a looser, stated bound), with the prompt run in one batch and token by token.

use std::path::Path;
use std::sync::Arc;

use formats::{GgufFile, HfCheckpoint, ModelBytes};
use models::convert::{convert_hf_to_gguf, ConvertType};
use models::{LoadOptions, Logits, Model, SequenceKv};

use crate::fixture;

/// Maximum |Δlogit| allowed against transformers (float32 on both sides).
const TOL: f32 = 1e-3;

struct Reference {
    ids: Vec<u32>,
    logits: Vec<f32>, // [ids.len(), vocab_size]
}

fn reference(dir: &Path) -> Reference {
    let text = std::fs::read_to_string(dir.join("reference.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids = meta["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let bytes = std::fs::read(dir.join("logits.f32")).unwrap();
    let logits = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Reference { ids, logits }
}

/// The largest |Δlogit| of `model` against the reference, over every position, with the
/// prompt in one batch and token by token; and where it occurred.
fn max_diff(model: &dyn Model, r: &Reference) -> (f32, usize) {
    let vocab = model.config().vocab_size;
    assert_eq!(r.logits.len(), r.ids.len() * vocab, "reference shape");
    let batch = SequenceKv::new(model, r.ids.len())
        .forward(model, &r.ids, Logits::All)
        .unwrap();
    let mut kv = SequenceKv::new(model, r.ids.len());
    let mut worst = (0.0f32, 0);
    for (i, &id) in r.ids.iter().enumerate() {
        let want = &r.logits[i * vocab..(i + 1) * vocab];
        let step = kv.forward(model, &[id], Logits::Last).unwrap();
        for got in [&batch[i * vocab..(i + 1) * vocab], &step[..]] {
            let d = got
                .iter()
                .zip(want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            if d > worst.0 {
                worst = (d, i);
            }
        }
    }
    worst
}

fn load_gguf(path: &Path) -> Box<dyn Model> {
    let bytes = Arc::new(ModelBytes::open(path).unwrap());
    let gguf = GgufFile::parse(bytes.as_bytes()).unwrap();
    models::load(&gguf, bytes, &LoadOptions::default()).unwrap()
}

fn run_architecture(arch: &str) {
    let dir = fixture(&format!("hf/{arch}"));
    let r = reference(&dir);
    let checkpoint = HfCheckpoint::open(&dir).unwrap();
    let hf = models::load_hf(&checkpoint, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{arch}: {e}"));
    let (d, pos) = max_diff(hf.as_ref(), &r);
    println!("{arch} safetensors: max |Δlogit| {d} at position {pos}");
    assert!(
        d <= TOL,
        "{arch} safetensors: max |Δlogit| {d} at position {pos} (tolerance {TOL})"
    );

    // F32 conversion must agree just as tightly; F16 rounds every weight (relative 2^-11), so
    // it gets a bound of 5e-2 on logits of magnitude up to ~60.
    for (ty, tol) in [(ConvertType::F32, TOL), (ConvertType::F16, 5e-2)] {
        let out = std::env::temp_dir().join(format!(
            "behemoth-{arch}-{ty:?}-{}.gguf",
            std::process::id()
        ));
        convert_hf_to_gguf(&dir, &out, ty).unwrap_or_else(|e| panic!("{arch} convert: {e}"));
        let converted = load_gguf(&out);
        std::fs::remove_file(&out).ok();
        assert_eq!(converted.config().architecture, hf.config().architecture);
        let (d, pos) = max_diff(converted.as_ref(), &r);
        println!("{arch} converted {ty:?} GGUF: max |Δlogit| {d} at position {pos}");
        assert!(
            d <= tol,
            "{arch} {ty:?} GGUF: max |Δlogit| {d} at position {pos} (tolerance {tol})"
        );
    }
}

#[test]
fn llama3_with_rope_scaling_and_tied_embeddings() {
    run_architecture("llama");
}

#[test]
fn mixtral_top2_experts() {
    run_architecture("mixtral");
}

#[test]
fn qwen3_qk_norm() {
    run_architecture("qwen3");
}

#[test]
fn qwen3_moe_without_renormalisation() {
    run_architecture("qwen3moe");
}

#[test]
fn llama4_moe_chunked_attention_nope_layers_temperature() {
    run_architecture("llama4");
}
