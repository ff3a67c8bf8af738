//! The vocabulary of a GGUF model: token texts, scores and types from the `tokenizer.ggml.*`
//! metadata, the special-token ids and flags, and the lookup tables built once at load time
//! (text → id, byte → byte-fallback token, the special tokens ordered for splitting).
//!
//! Loading mirrors llama.cpp's `llama_vocab::impl::load` (`src/llama-vocab.cpp`) for
//! `tokenizer.ggml.model = "llama"` and `"gpt2"`, with stricter checks: where llama.cpp reads past the end of a
//! short `scores` array or silently keeps a default for an out-of-range special id, this module
//! returns an error naming the key.

use std::cmp::Reverse;
use std::collections::HashMap;

use formats::gguf::{GgufFile, MetadataArray};

use crate::{Error, Result};

pub(crate) const KEY_MODEL: &str = "tokenizer.ggml.model";
pub(crate) const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
pub(crate) const KEY_SCORES: &str = "tokenizer.ggml.scores";
pub(crate) const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const KEY_BOS: &str = "tokenizer.ggml.bos_token_id";
const KEY_EOS: &str = "tokenizer.ggml.eos_token_id";
const KEY_UNK: &str = "tokenizer.ggml.unknown_token_id";
const KEY_PAD: &str = "tokenizer.ggml.padding_token_id";
const KEY_EOT: &str = "tokenizer.ggml.eot_token_id";
const KEY_EOM: &str = "tokenizer.ggml.eom_token_id";
const KEY_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
const KEY_ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
const KEY_ADD_SPACE_PREFIX: &str = "tokenizer.ggml.add_space_prefix";

/// Token texts that end generation whatever the metadata says. llama.cpp finds these by text
/// (its EOT, EOM and end-of-generation lists; see llama.cpp issue #9606) and forces their type to
/// control, because converters often forget to record them. Phi-3's `<|end|>` is one.
/// Meta's Llama 3 and Llama 4 turn and text ends are listed too, so that a checkpoint whose
/// metadata names only one of them still stops at the others.
const END_OF_GENERATION_TEXTS: [&str; 11] = [
    "<|eot_id|>",
    "<|eot|>",
    "<|eom|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "<｜end▁of▁sentence｜>",
];

/// What kind of token an id is: GGUF `tokenizer.ggml.token_type`, llama.cpp `llama_token_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// Type 0, or any value GGUF does not define. Renders as nothing.
    Undefined,
    /// Type 1: an ordinary piece of text, with `▁` standing for a space.
    Normal,
    /// Type 2: the unknown token (`<unk>`), and padding placeholders in some vocabularies.
    Unknown,
    /// Type 3: a control token such as `<s>` or `</s>`; rendered only on request.
    Control,
    /// Type 4: a user-defined token, matched literally in the input before tokenization.
    UserDefined,
    /// Type 5: an unused slot. Renders as nothing.
    Unused,
    /// Type 6: a byte-fallback token `<0xNN>` standing for one raw byte.
    Byte,
}

impl TokenType {
    /// The type for a GGUF `token_type` value; values GGUF does not define are `Undefined`, as
    /// llama.cpp treats them.
    pub fn from_gguf(value: i64) -> TokenType {
        match value {
            1 => TokenType::Normal,
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Undefined,
        }
    }
}

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub(crate) struct TokenData {
    pub(crate) text: String,
    pub(crate) score: f32,
    pub(crate) ty: TokenType,
}

/// A loaded vocabulary with its lookup tables: token texts as the model stores them (`▁` for a
/// space in SentencePiece vocabularies, GPT-2's byte-to-character mapping in byte-level BPE
/// ones), types, special ids and flags.
#[derive(Clone)]
pub(crate) struct Vocab {
    pub(crate) tokens: Vec<TokenData>,
    /// Text → id over every token, built once; on duplicate texts the last id wins, as with
    /// llama.cpp's `token_to_id[word] = i`.
    pub(crate) text_to_id: HashMap<String, u32>,
    /// Byte → the id of the token `<0xNN>` (uppercase hex), looked up by text like llama.cpp's
    /// `byte_to_token`.
    pub(crate) byte_to_id: [Option<u32>; 256],
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) unk: Option<u32>,
    pub(crate) pad: Option<u32>,
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    pub(crate) add_space_prefix: bool,
    /// Ids that end generation, sorted.
    pub(crate) end_of_generation: Vec<u32>,
    /// Control, user-defined and unknown tokens, longest text first (ties by id): the order in
    /// which llama.cpp's `tokenizer_st_partition` looks for them in the input.
    pub(crate) special_tokens: Vec<u32>,
}

/// Which GGUF `tokenizer.ggml.model` a vocabulary was read for; it sets llama.cpp's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GgufModel {
    /// `llama`: SentencePiece merges by score.
    Llama,
    /// `gpt2`: byte-level BPE with `tokenizer.ggml.merges`.
    Gpt2,
}

/// Special-token ids and flags of a vocabulary, before the lookup tables are built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Specials {
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) unk: Option<u32>,
    pub(crate) pad: Option<u32>,
    /// Further ids that end generation (GGUF eot/eom ids, a generation config's eos list).
    pub(crate) extra_end_of_generation: Vec<u32>,
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    pub(crate) add_space_prefix: bool,
}

impl Vocab {
    /// Reads the `tokenizer.ggml.model` key: `llama` or `gpt2`.
    pub(crate) fn gguf_model(gguf: &GgufFile) -> Result<GgufModel> {
        match gguf.get_str(KEY_MODEL)? {
            None => Err(Error::MissingKey {
                key: KEY_MODEL.into(),
            }),
            Some("llama") => Ok(GgufModel::Llama),
            Some("gpt2") => Ok(GgufModel::Gpt2),
            Some(other) => Err(Error::UnsupportedModel {
                model: other.into(),
            }),
        }
    }

    /// Reads and checks the vocabulary in `gguf`'s metadata.
    pub(crate) fn from_gguf(gguf: &GgufFile) -> Result<Vocab> {
        let model = Vocab::gguf_model(gguf)?;

        let texts = match gguf.get_array(KEY_TOKENS)? {
            None => {
                return Err(Error::MissingKey {
                    key: KEY_TOKENS.into(),
                })
            }
            Some(MetadataArray::String(v)) => v,
            Some(other) => {
                return Err(invalid(
                    KEY_TOKENS,
                    format!(
                        "must be an array of strings, found an array of {}",
                        other.element_type_name()
                    ),
                ))
            }
        };
        let n_tokens = texts.len();
        if n_tokens == 0 {
            return Err(invalid(KEY_TOKENS, "is empty".into()));
        }
        // Ids are u32 and u32::MAX means "none", so the largest id must stay below it.
        if n_tokens >= u32::MAX as usize {
            return Err(invalid(
                KEY_TOKENS,
                format!("has {n_tokens} tokens, too many for u32 ids"),
            ));
        }

        let scores = match gguf.get_array(KEY_SCORES)? {
            None => None,
            Some(MetadataArray::F32(v)) => {
                check_len(KEY_SCORES, v.len(), n_tokens)?;
                Some(v)
            }
            Some(other) => {
                return Err(invalid(
                    KEY_SCORES,
                    format!(
                        "must be an array of f32, found an array of {}",
                        other.element_type_name()
                    ),
                ))
            }
        };

        let types = match gguf.get_array(KEY_TOKEN_TYPE)? {
            None => None,
            Some(a) => {
                let v = a.to_i64_vec().ok_or_else(|| {
                    invalid(
                        KEY_TOKEN_TYPE,
                        format!(
                            "must be an array of integers, found an array of {}",
                            a.element_type_name()
                        ),
                    )
                })?;
                check_len(KEY_TOKEN_TYPE, v.len(), n_tokens)?;
                Some(v)
            }
        };

        let tokens = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                // -0.0 becomes 0.0 so that the merge queue's total order ties them as C++ `==`
                // does.
                let score = scores.map_or(0.0, |s| s[i]);
                let score = if score == 0.0 { 0.0 } else { score };
                let ty = types
                    .as_ref()
                    .map_or(TokenType::Normal, |t| TokenType::from_gguf(t[i]));
                TokenData {
                    text: text.clone(),
                    score,
                    ty,
                }
            })
            .collect();

        // Defaults are llama.cpp's: SentencePiece vocabularies have <unk> <s> </s> at 0 1 2 and
        // add BOS; BPE vocabularies name their special tokens explicitly.
        let spm = model == GgufModel::Llama;
        let eot = read_id(gguf, KEY_EOT, n_tokens, None)?;
        let eom = read_id(gguf, KEY_EOM, n_tokens, None)?;
        let specials = Specials {
            bos: read_id(gguf, KEY_BOS, n_tokens, spm.then_some(1))?,
            eos: read_id(gguf, KEY_EOS, n_tokens, spm.then_some(2))?,
            unk: read_id(gguf, KEY_UNK, n_tokens, spm.then_some(0))?,
            pad: read_id(gguf, KEY_PAD, n_tokens, None)?,
            extra_end_of_generation: [eot, eom].into_iter().flatten().collect(),
            add_bos: gguf.get_bool(KEY_ADD_BOS)?.unwrap_or(spm),
            add_eos: gguf.get_bool(KEY_ADD_EOS)?.unwrap_or(false),
            add_space_prefix: gguf.get_bool(KEY_ADD_SPACE_PREFIX)?.unwrap_or(spm),
        };
        Ok(Vocab::new(tokens, specials))
    }

    /// Builds the lookup tables over `tokens`. Special ids must be in range (callers check).
    pub(crate) fn new(mut tokens: Vec<TokenData>, specials: Specials) -> Vocab {
        let n_tokens = tokens.len();
        let mut text_to_id = HashMap::with_capacity(n_tokens);
        for (i, token) in tokens.iter_mut().enumerate() {
            // llama.cpp renames empty tokens; an empty special token would also match everywhere.
            if token.text.is_empty() {
                token.text = format!("[EMPTY_{i}]");
            }
            text_to_id.insert(token.text.clone(), i as u32);
        }

        let mut end_of_generation: Vec<u32> = [specials.eos]
            .into_iter()
            .flatten()
            .chain(specials.extra_end_of_generation.iter().copied())
            .filter(|&id| (id as usize) < n_tokens)
            .collect();
        for text in END_OF_GENERATION_TEXTS {
            if let Some(&id) = text_to_id.get(text) {
                end_of_generation.push(id);
                tokens[id as usize].ty = TokenType::Control;
            }
        }
        end_of_generation.sort_unstable();
        end_of_generation.dedup();

        let mut byte_to_id = [None; 256];
        for (byte, slot) in byte_to_id.iter_mut().enumerate() {
            *slot = text_to_id.get(&format!("<0x{byte:02X}>")).copied();
        }

        let mut special_tokens: Vec<u32> = (0..n_tokens as u32)
            .filter(|&id| {
                matches!(
                    tokens[id as usize].ty,
                    TokenType::Control | TokenType::UserDefined | TokenType::Unknown
                )
            })
            .collect();
        special_tokens.sort_by_key(|&id| Reverse(tokens[id as usize].text.len()));

        Vocab {
            tokens,
            text_to_id,
            byte_to_id,
            bos: specials.bos,
            eos: specials.eos,
            unk: specials.unk,
            pad: specials.pad,
            add_bos: specials.add_bos,
            add_eos: specials.add_eos,
            add_space_prefix: specials.add_space_prefix,
            end_of_generation,
            special_tokens,
        }
    }

    /// The entry for `id`, if it is in range.
    pub(crate) fn token(&self, id: u32) -> Option<&TokenData> {
        self.tokens.get(id as usize)
    }

    /// How many tokens have type `ty`.
    pub(crate) fn count_type(&self, ty: TokenType) -> usize {
        self.tokens.iter().filter(|t| t.ty == ty).count()
    }
}

fn invalid(key: &str, reason: String) -> Error {
    Error::InvalidKey {
        key: key.into(),
        reason,
    }
}

fn check_len(key: &str, len: usize, n_tokens: usize) -> Result<()> {
    if len == n_tokens {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("has {len} entries but {KEY_TOKENS} has {n_tokens}"),
        ))
    }
}

/// A special-token id: `default` when the key is absent (dropped if out of range), `None` for the
/// "no such token" values -1 and 4294967295 (u32) or 18446744073709551615 (u64).
fn read_id(
    gguf: &GgufFile,
    key: &str,
    n_tokens: usize,
    default: Option<u32>,
) -> Result<Option<u32>> {
    let Some(value) = gguf.get(key) else {
        return Ok(default.filter(|&id| (id as usize) < n_tokens));
    };
    let Some(id) = value.as_integer() else {
        return Err(invalid(
            key,
            format!("must be an integer token id, found {}", value.type_name()),
        ));
    };
    if id == -1 || id == i128::from(u32::MAX) || id == i128::from(u64::MAX) {
        return Ok(None);
    }
    if id < 0 || id >= n_tokens as i128 {
        return Err(Error::TokenIdOutOfRange {
            key: key.into(),
            id,
            n_tokens,
        });
    }
    Ok(Some(id as u32))
}
