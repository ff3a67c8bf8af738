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

/// The same checkpoint split into two shards with a `model.safetensors.index.json` loads to
/// bit-identical logits.
#[test]
fn sharded_checkpoint_equals_single_file() {
    let src = fixture("hf/llama");
    let dir = std::env::temp_dir().join(format!("behemoth-sharded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (shard, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", shard + 1);
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = part
            .iter()
            .map(|n| (n.clone(), st.tensor(n).unwrap()))
            .collect();
        std::fs::write(
            dir.join(&file),
            safetensors::serialize(views, None).unwrap(),
        )
        .unwrap();
        for n in part {
            weight_map.insert(n.clone(), serde_json::Value::String(file.clone()));
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();

    let r = reference(&src);
    let run = |d: &Path| {
        let ck = HfCheckpoint::open(d).unwrap();
        let m = models::load_hf(&ck, &LoadOptions::default()).unwrap();
        SequenceKv::new(m.as_ref(), r.ids.len())
            .forward(m.as_ref(), &r.ids, Logits::All)
            .unwrap()
    };
    let sharded = HfCheckpoint::open(&dir).unwrap();
    assert_eq!(sharded.shards.len(), 2);
    let (a, b) = (run(&src), run(&dir));
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(a, b);
}

/// Malformed checkpoint folders give errors that name the file and what is wrong.
#[test]
fn bad_checkpoints_name_the_problem() {
    let dir = std::env::temp_dir().join(format!("behemoth-bad-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    let err = HfCheckpoint::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("config.json") && err.contains("invalid JSON"),
        "{err}"
    );

    std::fs::copy(fixture("hf/llama/config.json"), dir.join("config.json")).unwrap();
    let err = HfCheckpoint::open(&dir).err().unwrap().to_string();
    assert!(err.contains("no model.safetensors"), "{err}");

    std::fs::write(
        dir.join("model.safetensors"),
        [8u8, 0, 0, 0, 0, 0, 0, 0, b'{'],
    )
    .unwrap();
    let err = HfCheckpoint::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("invalid safetensors header"),
        "{err}"
    );

    // A config whose shapes disagree with the weights names the tensor and both shapes.
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("hf/llama/config.json")).unwrap())
            .unwrap();
    config["intermediate_size"] = serde_json::json!(100);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::copy(
        fixture("hf/llama/model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let ck = HfCheckpoint::open(&dir).unwrap();
    let err = models::load_hf(&ck, &LoadOptions::default())
        .err()
        .unwrap()
        .to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        err.contains("blk.0.ffn_gate.weight")
            && err.contains("[100, 64]")
            && err.contains("[128, 64]"),
        "{err}"
    );
}
