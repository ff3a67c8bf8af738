//! Logits: against the reference's first step, batch against token-by-token, every kernel set
//! against scalar, and the NeoX RoPE layout on permuted weights against the interleaved one.

use engine::{LoadOptions, LoadedModel};
use formats::GgufFile;
use models::{
    GgufWeights, KvStore, Logits, Model, ModelConfig, SeqBatch, SequenceKv, WeightSource,
};
use tensor::ops::RopeStyle;
use tensor::Tensor;

use crate::{fixture, stories260k};

/// Tolerance for f32 logits of this model: the reference is float64 NumPy, and logits are ~±20.
const TOL: f32 = 1e-3;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const PROMPT: [u32; 12] = [1, 403, 407, 261, 378, 432, 383, 261, 280, 443, 395, 313];

#[test]
fn first_step_logits_match_reference_top5_and_sum() {
    let lm = stories260k();
    let logits = engine::prompt_logits(&lm, &[1]).unwrap();
    let path = fixture("stories260K/expected-greedy-from-bos.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for entry in reference["first_step_logits_top5"].as_array().unwrap() {
        let id = entry["id"].as_u64().unwrap() as usize;
        let want = entry["logit"].as_f64().unwrap() as f32;
        assert!(
            (logits[id] - want).abs() < TOL,
            "id {id}: {} vs {want}",
            logits[id]
        );
    }
    let sum: f64 = logits.iter().map(|&l| l as f64).sum();
    let want_sum = reference["first_step_logits_sum"].as_f64().unwrap();
    assert!((sum - want_sum).abs() < 0.05, "sum {sum} vs {want_sum}");
}

#[test]
fn batch_and_token_by_token_agree() {
    let lm = stories260k();
    let batch = engine::prompt_logits(&lm, &PROMPT).unwrap();
    let mut kv = SequenceKv::new(lm.model.as_ref(), PROMPT.len());
    let vocab = lm.model.config().vocab_size;
    for (i, &id) in PROMPT.iter().enumerate() {
        let step = kv.forward(lm.model.as_ref(), &[id], Logits::Last).unwrap();
        let d = max_abs_diff(&step, &batch[i * vocab..(i + 1) * vocab]);
        assert!(d < 1e-4, "position {i}: max |Δ| {d}");
    }
    // Two uneven chunks give the same as well.
    let mut kv = SequenceKv::new(lm.model.as_ref(), PROMPT.len());
    let first = kv
        .forward(lm.model.as_ref(), &PROMPT[..7], Logits::All)
        .unwrap();
    let second = kv
        .forward(lm.model.as_ref(), &PROMPT[7..], Logits::All)
        .unwrap();
    let chunked: Vec<f32> = first.into_iter().chain(second).collect();
    assert!(max_abs_diff(&chunked, &batch) < 1e-4);
}

#[test]
fn every_kernel_set_gives_the_same_logits() {
    let path = fixture("stories260K/stories260K.gguf");
    let reference = {
        let opts = LoadOptions {
            threads: 1,
            kernels: &tensor::cpu::scalar::KERNELS,
            ..LoadOptions::default()
        };
        engine::prompt_logits(&LoadedModel::open(&path, &opts).unwrap(), &PROMPT).unwrap()
    };
    for kernels in tensor::cpu::available() {
        for threads in [1, 2, 3] {
            let opts = LoadOptions {
                threads,
                kernels,
                ..LoadOptions::default()
            };
            let lm = LoadedModel::open(&path, &opts).unwrap();
            let got = engine::prompt_logits(&lm, &PROMPT).unwrap();
            let d = max_abs_diff(&got, &reference);
            assert!(
                d < 1e-4,
                "{} with {threads} threads: max |Δ| {d}",
                kernels.name
            );
        }
    }
}

/// Wraps a GGUF weight source and permutes the rows of every Q and K projection from the
/// interleaved-pair layout to the half-split layout, exactly as Hugging Face's
/// `convert_llama_weights_to_hf.py` does (`permute`).
struct NeoXWeights<'a> {
    inner: GgufWeights<'a>,
    config: ModelConfig,
}

impl WeightSource for NeoXWeights<'_> {
    fn get(&self, name: &str) -> models::Result<Option<Tensor>> {
        let Some(t) = self.inner.get(name)? else {
            return Ok(None);
        };
        let n_heads = if name.ends_with("attn_q.weight") {
            self.config.n_heads
        } else if name.ends_with("attn_k.weight") {
            self.config.n_kv_heads
        } else {
            return Ok(Some(t));
        };
        let (rows, cols) = (t.rows(), t.cols());
        let hd = rows / n_heads;
        let w = t.to_f32_vec();
        let mut out = vec![0.0; w.len()];
        // HF row (h, half·(hd/2) + i) comes from GGUF row (h, 2i + half).
        for h in 0..n_heads {
            for i in 0..hd / 2 {
                for half in 0..2 {
                    let src = h * hd + 2 * i + half;
                    let dst = h * hd + half * (hd / 2) + i;
                    out[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&w[src * cols..(src + 1) * cols]);
                }
            }
        }
        Ok(Some(Tensor::from_f32(vec![rows, cols], out).unwrap()))
    }
}

#[test]
fn neox_rope_on_permuted_weights_equals_interleaved_rope() {
    let bytes = std::sync::Arc::new(
        formats::ModelBytes::open(&fixture("stories260K/stories260K.gguf")).unwrap(),
    );
    let gguf = GgufFile::parse(bytes.as_bytes()).unwrap();
    let config = ModelConfig::from_gguf(&gguf).unwrap();
    assert_eq!(config.rope_style, RopeStyle::Interleaved);
    let opts = LoadOptions::default();
    let interleaved = models::load(&gguf, bytes.clone(), &opts).unwrap();

    let neox_config = ModelConfig {
        rope_style: RopeStyle::NeoX,
        ..config.clone()
    };
    let weights = NeoXWeights {
        inner: GgufWeights::new(&gguf, bytes.clone()),
        config,
    };
    let neox = models::llama::Llama::load(neox_config, &weights, &opts).unwrap();

    let run = |m: &dyn Model| {
        SequenceKv::new(m, PROMPT.len())
            .forward(m, &PROMPT, Logits::All)
            .unwrap()
    };
    let d = max_abs_diff(&run(interleaved.as_ref()), &run(&neox));
    assert!(d < 1e-4, "max |Δ| {d}");
}

/// Hugging Face transformers' float32 logits for stories260K (the same weights as a
/// `LlamaForCausalLM` folder) on an 81-token prompt, recorded by
/// `scripts/reference/stories260k_transformers_logits.py`.
#[test]
fn stories260k_matches_transformers_at_every_position() {
    let path = fixture("stories260K/transformers-logits.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ids: Vec<u32> = reference["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let want: Vec<f32> = reference["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
        })
        .collect();
    let lm = stories260k();
    // The ids came from the folder's tokenizer.json through Hugging Face tokenizers.
    let prompt = reference["prompt"].as_str().unwrap();
    assert_eq!(lm.tokenizer.encode(prompt, true, false), ids);

    let vocab = lm.model.config().vocab_size;
    let batch = engine::prompt_logits(&lm, &ids).unwrap();
    let mut kv = SequenceKv::new(lm.model.as_ref(), ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let row = &want[i * vocab..(i + 1) * vocab];
        let d_batch = max_abs_diff(&batch[i * vocab..(i + 1) * vocab], row);
        let step = kv.forward(lm.model.as_ref(), &[id], Logits::Last).unwrap();
        let d_step = max_abs_diff(&step, row);
        assert!(
            d_batch <= TOL && d_step <= TOL,
            "position {i}: max |Δlogit| batch {d_batch}, token by token {d_step} (tolerance {TOL})"
        );
    }
}

/// Several sequences in one forward batch, with interleaved blocks of one shared store, give
/// each the logits it gets alone: the batch dimension never mixes sequences.
#[test]
fn multi_sequence_batch_equals_separate_runs() {
    let lm = stories260k();
    let m = lm.model.as_ref();
    let vocab = m.config().vocab_size;
    let a: &[u32] = &PROMPT;
    let b: &[u32] = &[1, 385, 410, 317];
    let alone = |ids: &[u32]| {
        SequenceKv::new(m, ids.len())
            .forward(m, ids, Logits::All)
            .unwrap()
    };
    let (want_a, want_b) = (alone(a), alone(b));

    let c = m.config();
    let mut kv = KvStore::new(c.n_layers, c.kv_dim(), 4, 8, m.kv_type());
    // Blocks of the two sequences interleave in the store, out of order.
    let (table_a, table_b) = ([5u32, 0, 7], [2u32, 6]);
    // First step: a's first 5 tokens and all of b; second step: the rest of a, alone.
    let out = m
        .forward(
            &[
                SeqBatch {
                    tokens: &a[..5],
                    start: 0,
                    block_table: &table_a,
                    logits: Logits::All,
                },
                SeqBatch {
                    tokens: b,
                    start: 0,
                    block_table: &table_b,
                    logits: Logits::Last,
                },
            ],
            &mut kv,
        )
        .unwrap();
    assert_eq!(out.len(), 6 * vocab);
    assert!(max_abs_diff(&out[..5 * vocab], &want_a[..5 * vocab]) < 1e-5);
    assert!(max_abs_diff(&out[5 * vocab..], &want_b[3 * vocab..]) < 1e-5);
    let rest = m
        .forward(
            &[SeqBatch {
                tokens: &a[5..],
                start: 5,
                block_table: &table_a,
                logits: Logits::All,
            }],
            &mut kv,
        )
        .unwrap();
    assert!(max_abs_diff(&rest, &want_a[5 * vocab..]) < 1e-5);

    // A table too short for the tokens, or naming a block the store lacks, is an error.
    let short = m.forward(
        &[SeqBatch {
            tokens: a,
            start: 0,
            block_table: &[0],
            logits: Logits::Last,
        }],
        &mut kv,
    );
    assert!(short.unwrap_err().to_string().contains("context full"));
    let bad = m.forward(
        &[SeqBatch {
            tokens: b,
            start: 0,
            block_table: &[9],
            logits: Logits::Last,
        }],
        &mut kv,
    );
    assert!(bad.unwrap_err().to_string().contains("block 9"));
}

#[test]
fn f16_kv_cache_stays_close_to_f32() {
    let path = fixture("stories260K/stories260K.gguf");
    let logits = |kv_type| {
        let opts = LoadOptions {
            kv_type,
            ..LoadOptions::default()
        };
        engine::prompt_logits(&LoadedModel::open(&path, &opts).unwrap(), &PROMPT).unwrap()
    };
    let (exact, half) = (logits(models::KvType::F32), logits(models::KvType::F16));
    let d = max_abs_diff(&half, &exact);
    println!(
        "f16 KV cache: max |Δlogit| {d} over {} positions",
        PROMPT.len()
    );
    // Keys and values rounded to 11 significant bits: logits move by far less than their
    // spread (about 20 here), and not at all when the cache is f32.
    assert!(d > 0.0 && d < 2e-2, "max |Δlogit| {d}");
}
