//! `Tokenizer::from_gguf`: a GGUF file's `tokenizer.ggml.*` metadata as a tokenizer.
//!
//! `tokenizer.ggml.model = "llama"` keeps llama.cpp's SentencePiece algorithm (`spm.rs`): those
//! vocabularies are defined by scores, not merges. `"gpt2"` vocabularies (Llama 3/4, Qwen2,
//! GPT-2, Falcon, DeepSeek, StarCoder, …) become a byte-level BPE `tokenizers::Tokenizer` from
//! `tokenizer.ggml.tokens` + `tokenizer.ggml.merges`, with the pre-tokenizer named by
//! `tokenizer.ggml.pre` (`pretokenize.rs`).

use formats::gguf::{GgufFile, MetadataArray};
use tokenizers::models::bpe::Vocab as BpeVocab;

use crate::bpe;
use crate::pretokenize;
use crate::tokenizer::Engine;
use crate::vocab::{GgufModel, Vocab};
use crate::{Error, Result, Tokenizer};

const KEY_MERGES: &str = "tokenizer.ggml.merges";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_CHAT_TEMPLATE: &str = "tokenizer.chat_template";

impl Tokenizer {
    /// Builds the tokenizer from a GGUF file's `tokenizer.ggml.*` metadata.
    ///
    /// `tokenizer.ggml.model = "llama"` (SentencePiece: Llama 1/2, Mistral, Phi-3) and `"gpt2"`
    /// (byte-level BPE with `tokenizer.ggml.merges` and `tokenizer.ggml.pre`) are supported;
    /// other models give [`Error::UnsupportedModel`]. The chat template, if any, comes from
    /// `tokenizer.chat_template`.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Tokenizer> {
        let model = Vocab::gguf_model(gguf)?;
        let vocab = Vocab::from_gguf(gguf)?;
        let chat_template = gguf.get_str(KEY_CHAT_TEMPLATE)?.map(str::to_string);
        let engine = match model {
            GgufModel::Llama => Engine::Spm,
            GgufModel::Gpt2 => byte_level_engine(gguf, &vocab)?,
        };
        Ok(Tokenizer {
            vocab,
            engine,
            chat_template,
        })
    }
}

/// The byte-level BPE engine of a `gpt2` vocabulary.
fn byte_level_engine(gguf: &GgufFile, vocab: &Vocab) -> Result<Engine> {
    let merges = match gguf.get_array(KEY_MERGES)? {
        None => {
            return Err(Error::MissingKey {
                key: KEY_MERGES.into(),
            })
        }
        Some(MetadataArray::String(v)) => v,
        Some(other) => {
            return Err(Error::InvalidKey {
                key: KEY_MERGES.into(),
                reason: format!(
                    "must be an array of strings, found an array of {}",
                    other.element_type_name()
                ),
            })
        }
    };
    let merges = merges
        .iter()
        .enumerate()
        .map(|(i, merge)| {
            // Byte-level texts spell a space as `Ġ`, so the one literal space separates the two.
            merge
                .split_once(' ')
                .filter(|(l, r)| !l.is_empty() && !r.is_empty())
                .map(|(l, r)| (l.to_string(), r.to_string()))
                .ok_or_else(|| Error::InvalidKey {
                    key: KEY_MERGES.into(),
                    reason: format!("entry {i} ({merge:?}) is not two tokens separated by a space"),
                })
        })
        .collect::<Result<Vec<_>>>()?;

    let pre = gguf.get_str(KEY_PRE)?;
    let preset = pretokenize::preset(pre).ok_or_else(|| Error::InvalidKey {
        key: KEY_PRE.into(),
        reason: format!(
            "= '{}' names no known pre-tokenizer (known: {})",
            pre.unwrap_or_default(),
            pretokenize::known_names().join(", ")
        ),
    })?;
    let pre_tokenizer =
        pretokenize::byte_level_pre_tokenizer(preset.patterns).map_err(|reason| {
            Error::InvalidKey {
                key: KEY_PRE.into(),
                reason,
            }
        })?;

    // Every token may be produced by BPE, as in llama.cpp (`token_to_id` over all tokens).
    let bpe_vocab: BpeVocab = vocab
        .text_to_id
        .iter()
        .map(|(text, &id)| (text.clone(), id))
        .collect();
    let tokenizer =
        bpe::build(bpe_vocab, merges, preset.ignore_merges, pre_tokenizer).map_err(|reason| {
            Error::InvalidKey {
                key: KEY_MERGES.into(),
                reason: format!("do not form a BPE model: {reason}"),
            }
        })?;
    Ok(Engine::Hf {
        tokenizer: Box::new(tokenizer),
        byte_level: true,
    })
}
