//! `Tokenizer::from_hf_files`: a Hugging Face `tokenizer.json` (loaded by the `tokenizers`
//! crate) with its optional `tokenizer_config.json` (BOS/EOS, `add_bos_token`, the chat template).
//!
//! Added tokens marked `special` become control tokens (matched in text only with
//! `parse_special`), the others user-defined tokens (always matched), as llama.cpp's converter
//! types them. BOS and EOS come from `tokenizer_config.json`, or else from the
//! `TemplateProcessing` post-processor (the token it puts first is BOS, and then `add_bos`).

use serde_json::Value;

use crate::tokenizer::Engine;
use crate::vocab::{Specials, TokenData, Vocab};
use crate::{Error, Result, TokenType, Tokenizer};

const TOKENIZER_JSON: &str = "tokenizer.json";
const TOKENIZER_CONFIG: &str = "tokenizer_config.json";

fn file_err(file: &str, field: &str, reason: impl Into<String>) -> Error {
    Error::File {
        file: file.into(),
        field: field.into(),
        reason: reason.into(),
    }
}

impl Tokenizer {
    /// Builds the tokenizer of a Hugging Face model folder from the bytes of its
    /// `tokenizer.json` and, when present, `tokenizer_config.json`.
    ///
    /// Errors name the file and field at fault: JSON that does not parse, a model the
    /// `tokenizers` crate rejects, a `bos_token`/`eos_token` that is not in the vocabulary.
    pub fn from_hf_files(
        tokenizer_json: &[u8],
        tokenizer_config_json: Option<&[u8]>,
    ) -> Result<Tokenizer> {
        let json: Value = serde_json::from_slice(tokenizer_json)
            .map_err(|e| file_err(TOKENIZER_JSON, "", format!("is not valid JSON: {e}")))?;
        let config: Option<Value> = tokenizer_config_json
            .map(|bytes| {
                serde_json::from_slice(bytes)
                    .map_err(|e| file_err(TOKENIZER_CONFIG, "", format!("is not valid JSON: {e}")))
            })
            .transpose()?;
        if let Some(c) = &config {
            if !c.is_object() {
                return Err(file_err(TOKENIZER_CONFIG, "", "must be a JSON object"));
            }
        }

        let mut hf = tokenizers::Tokenizer::from_bytes(tokenizer_json).map_err(|e| {
            file_err(
                TOKENIZER_JSON,
                "",
                format!("is not a tokenizer the `tokenizers` crate can load: {e}"),
            )
        })?;
        // Tokenizer::encode splits special tokens out itself, and only when asked.
        hf.set_encode_special_tokens(true);

        let byte_level = uses_byte_level(&json);
        let text_to_id = hf.get_vocab(true);
        let Some(max_id) = text_to_id.values().copied().max() else {
            return Err(file_err(TOKENIZER_JSON, "model.vocab", "is empty"));
        };
        // Ids index a table; a few unused ids are fine, a sparse table of billions is not.
        if max_id as usize >= text_to_id.len() + (1 << 20) {
            return Err(file_err(
                TOKENIZER_JSON,
                "model.vocab",
                format!(
                    "has id {max_id} for only {} tokens (ids must be dense)",
                    text_to_id.len()
                ),
            ));
        }
        let n_tokens = max_id as usize + 1;
        let mut tokens: Vec<TokenData> = (0..n_tokens)
            .map(|id| TokenData {
                text: format!("[UNUSED_{id}]"),
                score: 0.0,
                ty: TokenType::Unused,
            })
            .collect();
        let byte_fallback = json
            .pointer("/model/byte_fallback")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (text, &id) in &text_to_id {
            let ty = if byte_fallback && is_byte_token(text) {
                TokenType::Byte
            } else {
                TokenType::Normal
            };
            tokens[id as usize] = TokenData {
                text: text.clone(),
                score: 0.0,
                ty,
            };
        }
        for (id, added) in hf.get_added_tokens_decoder() {
            if let Some(token) = tokens.get_mut(id as usize) {
                token.text = added.content.clone();
                token.ty = if added.special {
                    TokenType::Control
                } else {
                    TokenType::UserDefined
                };
            }
        }

        let lookup = |file: &str, field: &str, text: &str| -> Result<u32> {
            text_to_id.get(text).copied().ok_or_else(|| {
                file_err(
                    file,
                    field,
                    format!("= {text:?} is not a token of tokenizer.json"),
                )
            })
        };
        let config_token = |field: &str| -> Result<Option<u32>> {
            match config.as_ref().and_then(|c| c.get(field)) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => {
                    let text = token_content(value).ok_or_else(|| {
                        file_err(
                            TOKENIZER_CONFIG,
                            field,
                            "must be a string or an object with \"content\"",
                        )
                    })?;
                    lookup(TOKENIZER_CONFIG, field, text).map(Some)
                }
            }
        };
        let config_bool = |field: &str| -> Result<Option<bool>> {
            match config.as_ref().and_then(|c| c.get(field)) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(file_err(TOKENIZER_CONFIG, field, "must be true or false")),
            }
        };

        let (post_first, post_last) = post_processor_specials(&json);
        let post_first = post_first
            .map(|text| lookup(TOKENIZER_JSON, "post_processor", &text))
            .transpose()?;
        let post_last = post_last
            .map(|text| lookup(TOKENIZER_JSON, "post_processor", &text))
            .transpose()?;
        let bos = config_token("bos_token")?.or(post_first);
        let eos = config_token("eos_token")?;
        let add_bos = match config_bool("add_bos_token")? {
            Some(b) => b,
            None => post_first.is_some() && post_first == bos,
        };
        let add_eos = match config_bool("add_eos_token")? {
            Some(b) => b,
            None => post_last.is_some() && post_last == eos,
        };
        let unk = match config_token("unk_token")? {
            Some(id) => Some(id),
            None => json
                .pointer("/model/unk_token")
                .and_then(Value::as_str)
                .and_then(|t| text_to_id.get(t).copied()),
        };
        let chat_template = match config.as_ref().and_then(|c| c.get("chat_template")) {
            None | Some(Value::Null) => None,
            Some(value) => Some(chat_template_source(value)?),
        };

        let specials = Specials {
            bos,
            eos,
            unk,
            pad: config_token("pad_token")?,
            extra_end_of_generation: Vec::new(),
            add_bos,
            add_eos,
            // SentencePiece-style decoders drop the space their normalizer prepended.
            add_space_prefix: !byte_level && strips_prefix_space(&json),
        };
        Ok(Tokenizer {
            vocab: Vocab::new(tokens, specials),
            engine: Engine::Hf {
                tokenizer: Box::new(hf),
                byte_level,
            },
            chat_template,
        })
    }
}

/// Whether the pre-tokenizer or decoder is (or contains) `ByteLevel`.
fn uses_byte_level(json: &Value) -> bool {
    ["pre_tokenizer", "decoder"]
        .iter()
        .any(|key| json.get(key).is_some_and(|v| contains_type(v, "ByteLevel")))
}

/// Whether the decoder removes the leading space a SentencePiece normalizer added: a `Strip`
/// decoder, or a `Metaspace` one that prepends.
fn strips_prefix_space(json: &Value) -> bool {
    json.get("decoder").is_some_and(|d| {
        contains_type(d, "Strip")
            || (contains_type(d, "Metaspace")
                && json
                    .pointer("/decoder/prepend_scheme")
                    .and_then(Value::as_str)
                    .is_none_or(|s| s != "never"))
    })
}

/// Whether `value` or anything inside it is an object with `"type": ty`.
fn contains_type(value: &Value, ty: &str) -> bool {
    match value {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some(ty)
                || map.values().any(|v| contains_type(v, ty))
        }
        Value::Array(items) => items.iter().any(|v| contains_type(v, ty)),
        _ => false,
    }
}

/// The special tokens a `TemplateProcessing` post-processor (possibly inside a `Sequence`) puts
/// first and last around a single sequence.
fn post_processor_specials(json: &Value) -> (Option<String>, Option<String>) {
    fn find(value: &Value) -> Option<&Value> {
        match value {
            Value::Object(map)
                if map.get("type").and_then(Value::as_str) == Some("TemplateProcessing") =>
            {
                Some(value)
            }
            Value::Object(map) => map.values().find_map(find),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    let Some(single) = json
        .get("post_processor")
        .and_then(find)
        .and_then(|t| t.get("single"))
        .and_then(Value::as_array)
    else {
        return (None, None);
    };
    let special = |piece: Option<&Value>| {
        piece
            .and_then(|p| p.pointer("/SpecialToken/id"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    (special(single.first()), special(single.last()))
}

/// The text of a `tokenizer_config.json` token field: a string, or `{"content": …}`.
fn token_content(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get("content").and_then(Value::as_str),
        _ => None,
    }
}

/// `chat_template`: a string, or a list of `{"name", "template"}` of which `default` is taken.
fn chat_template_source(value: &Value) -> Result<String> {
    let bad = || {
        file_err(
            TOKENIZER_CONFIG,
            "chat_template",
            "must be a string or a list of {\"name\", \"template\"} objects",
        )
    };
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(items) => {
            let named = |name: &str| {
                items.iter().find_map(|item| {
                    (item.get("name").and_then(Value::as_str) == Some(name))
                        .then(|| item.get("template").and_then(Value::as_str))
                        .flatten()
                })
            };
            named("default")
                .or_else(|| items.first().and_then(|i| i.get("template")?.as_str()))
                .map(str::to_string)
                .ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// Whether `text` is a byte-fallback token `<0xNN>`.
fn is_byte_token(text: &str) -> bool {
    text.len() == 6
        && text.starts_with("<0x")
        && text.ends_with('>')
        && text.as_bytes()[3..5].iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tokens_are_recognized() {
        assert!(is_byte_token("<0x0A>"));
        assert!(!is_byte_token("<0x0G>"));
        assert!(!is_byte_token("▁"));
    }
}
