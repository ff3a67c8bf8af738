//! `Tokenizer`: text → token ids and back, with llama.cpp's semantics (`llama_vocab::impl::
//! tokenize`, `token_to_piece` and `detokenize` in `src/llama-vocab.cpp`), so ids match
//! llama.cpp's for the same model file.
//!
//! One type, two engines behind it: llama.cpp's SentencePiece merge-by-score (`spm.rs`) for GGUF
//! `llama` vocabularies, and a Hugging Face `tokenizers::Tokenizer` for everything else (GGUF
//! `gpt2` byte-level BPE, `tokenizer.json`, tiktoken files). Special-token splitting, BOS/EOS,
//! pieces and decoding are done here for both, from the one [`Vocab`] table.

use std::fmt;

use crate::bpe::ByteMap;
use crate::special_tokens::{partition, Fragment};
use crate::spm;
use crate::vocab::{TokenType, Vocab};

/// SentencePiece's stand-in for a space, U+2581 LOWER ONE EIGHTH BLOCK.
pub(crate) const SPACE_SYMBOL: &str = "\u{2581}";

/// A loaded vocabulary that encodes and decodes. Pure and deterministic; cheap to share.
///
/// Built by [`from_gguf`](Self::from_gguf), [`from_hf_files`](Self::from_hf_files) or
/// [`from_tiktoken`](Self::from_tiktoken).
#[derive(Clone)]
pub struct Tokenizer {
    pub(crate) vocab: Vocab,
    pub(crate) engine: Engine,
    pub(crate) chat_template: Option<String>,
}

/// What turns a piece of plain text into ids.
#[derive(Clone)]
pub(crate) enum Engine {
    /// llama.cpp's SentencePiece algorithm over the vocabulary's scores.
    Spm,
    /// A Hugging Face tokenizer (its added tokens are never split out by it: `Tokenizer` does
    /// that). `byte_level` is set for GPT-2-style vocabularies, whose token texts spell bytes;
    /// otherwise texts use `▁` for a space and `<0xNN>` for byte fallback.
    Hf {
        tokenizer: Box<tokenizers::Tokenizer>,
        byte_level: bool,
    },
}

impl Tokenizer {
    /// Token ids of `text`.
    ///
    /// `add_special` puts BOS first when the vocabulary's `add_bos` is set and EOS last when its
    /// `add_eos` is set. `parse_special` turns control-token texts in `text` (such as `<s>`) into
    /// their ids; user-defined tokens are matched either way. Each piece of text between special
    /// tokens is tokenized on its own: by SentencePiece with its space prefix when it starts the
    /// input or follows a special token, or by the byte-level BPE's pre-tokenizer and merges.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let vocab = &self.vocab;
        let mut output = Vec::new();
        if add_special && vocab.add_bos {
            output.extend(vocab.bos);
        }
        let mut is_prev_special = true;
        for fragment in partition(vocab, text, parse_special) {
            match fragment {
                Fragment::Text(raw) => {
                    match &self.engine {
                        Engine::Spm => {
                            let prefix = if vocab.add_space_prefix && is_prev_special {
                                " "
                            } else {
                                ""
                            };
                            let escaped = format!("{prefix}{raw}").replace(' ', SPACE_SYMBOL);
                            spm::tokenize(vocab, &escaped, &mut output);
                        }
                        Engine::Hf { tokenizer, .. } => {
                            // Byte-level BPE covers every byte and SentencePiece-style models
                            // fall back to bytes or <unk>; an error would need a broken model,
                            // and then the fragment gives no ids.
                            if let Ok(encoding) = tokenizer.encode_fast(raw, false) {
                                output.extend_from_slice(encoding.get_ids());
                            }
                        }
                    }
                    is_prev_special = false;
                }
                Fragment::Token(id) => {
                    output.push(id);
                    is_prev_special = true;
                }
            }
        }
        if add_special && vocab.add_eos {
            output.extend(vocab.eos);
        }
        output
    }

    /// Token ids of a rendered chat prompt: special tokens parsed, BOS added when the
    /// vocabulary adds one, and exactly one BOS at the start even when the template already
    /// wrote it (Hugging Face templates start with `{{ bos_token }}` and their tokenizers add BOS
    /// again; see spec/llama4.md, chat format).
    pub fn encode_chat(&self, prompt: &str) -> Vec<u32> {
        let mut ids = self.encode(prompt, true, true);
        if let (Some(bos), [first, second, ..]) = (self.vocab.bos, ids.as_slice()) {
            if *first == bos && *second == bos && self.vocab.add_bos {
                ids.remove(0);
            }
        }
        ids
    }

    /// The bytes token `id` stands for (llama.cpp's `token_to_piece`).
    ///
    /// Normal tokens give their text with `▁` turned into spaces, byte tokens `<0xNN>` their one
    /// byte, user-defined tokens their text as is. Control and unknown tokens give their text
    /// only when `render_special` is set, and nothing otherwise. Unused and undefined tokens, and
    /// ids outside the vocabulary, give nothing. A piece can be part of a UTF-8 character; see
    /// [`StreamDecoder`](crate::StreamDecoder).
    pub fn token_to_piece(&self, id: u32, render_special: bool) -> Vec<u8> {
        let Some(token) = self.vocab.token(id) else {
            return Vec::new();
        };
        match token.ty {
            TokenType::Normal => match &self.engine {
                Engine::Hf {
                    byte_level: true, ..
                } => ByteMap::gpt2().decode(&token.text),
                _ => token.text.replace(SPACE_SYMBOL, " ").into_bytes(),
            },
            TokenType::Byte => match parse_byte_token(&token.text) {
                Some(byte) => vec![byte],
                // A byte-typed token not spelled `<0xNN>`: only a broken file has one.
                None => token.text.as_bytes().to_vec(),
            },
            TokenType::UserDefined => token.text.as_bytes().to_vec(),
            TokenType::Control | TokenType::Unknown if render_special => {
                token.text.as_bytes().to_vec()
            }
            TokenType::Control | TokenType::Unknown | TokenType::Unused | TokenType::Undefined => {
                Vec::new()
            }
        }
    }

    /// The text of `ids`.
    ///
    /// With `skip_special`, control and unknown tokens render as nothing and a leading BOS is
    /// dropped; without it they render as their text. When the vocabulary adds a space prefix,
    /// one leading space is removed from the first token's piece (the first after a dropped BOS),
    /// undoing what [`encode`](Self::encode) added, so `decode(encode(s, b, false), true) == s`.
    /// Bytes that do not form valid UTF-8 become U+FFFD.
    ///
    /// llama.cpp's `detokenize` with `remove_special` differs in one case: after dropping a
    /// leading BOS it keeps the space (`[BOS, "▁Hello"]` gives " Hello" there, "Hello" here, as
    /// with SentencePiece and Hugging Face `skip_special_tokens`).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let vocab = &self.vocab;
        let mut ids = ids;
        if skip_special && vocab.add_bos {
            if let (Some(&first), Some(bos)) = (ids.first(), vocab.bos) {
                if first == bos {
                    ids = &ids[1..];
                }
            }
        }
        let mut bytes = Vec::new();
        let mut remove_space = vocab.add_space_prefix;
        for &id in ids {
            let piece = self.token_to_piece(id, !skip_special);
            let piece = match piece.split_first() {
                Some((b' ', rest)) if remove_space => rest,
                _ => &piece[..],
            };
            bytes.extend_from_slice(piece);
            remove_space = false;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Number of tokens in the vocabulary; valid ids are `0..n_vocab()`.
    pub fn n_vocab(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The beginning-of-sequence token, if the vocabulary has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.vocab.bos
    }

    /// The end-of-sequence token, if the vocabulary has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// The unknown token, if the vocabulary has one.
    pub fn unk_id(&self) -> Option<u32> {
        self.vocab.unk
    }

    /// Whether [`encode`](Self::encode) with `add_special` puts BOS first.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether generation should stop at `id`: EOS, the `tokenizer.ggml.eot_token_id` and
    /// `eom_token_id` tokens, and (like llama.cpp) tokens whose text is a well-known end marker
    /// such as `<|end|>`, `<|eot_id|>`, `<|im_end|>` or `<|endoftext|>`.
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.vocab.end_of_generation.binary_search(&id).is_ok()
    }

    /// The raw vocabulary text of `id` as the model stores it (with `▁` for spaces in
    /// SentencePiece vocabularies, GPT-2's byte characters such as `Ġ` in byte-level ones), if
    /// `id` is in range.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.token(id).map(|t| t.text.as_str())
    }

    /// The type of `id`, if `id` is in range.
    pub fn token_type(&self, id: u32) -> Option<TokenType> {
        self.vocab.token(id).map(|t| t.ty)
    }

    /// The GGUF `tokenizer.ggml.model` this tokenizer corresponds to: `"llama"` for
    /// SentencePiece-style vocabularies, `"gpt2"` for byte-level BPE.
    pub fn model_name(&self) -> &str {
        match &self.engine {
            Engine::Hf {
                byte_level: true, ..
            } => "gpt2",
            _ => "llama",
        }
    }

    /// The chat template that came with the model (GGUF `tokenizer.chat_template`, or
    /// `chat_template` in `tokenizer_config.json`), if any. See [`ChatTemplate`](crate::ChatTemplate).
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// Adds ids that end generation, for example a `generation_config.json` `eos_token_id` list.
    /// Ids outside the vocabulary are ignored.
    pub fn add_end_of_generation(&mut self, ids: &[u32]) {
        let n = self.vocab.tokens.len();
        let list = &mut self.vocab.end_of_generation;
        list.extend(ids.iter().copied().filter(|&id| (id as usize) < n));
        list.sort_unstable();
        list.dedup();
    }

    /// Every id that ends generation, ascending.
    pub fn end_of_generation_ids(&self) -> &[u32] {
        &self.vocab.end_of_generation
    }

    /// The id of the token whose vocabulary text is exactly `text`, if there is one.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.text_to_id.get(text).copied()
    }

    /// One line describing the vocabulary, for logs and `inspect`.
    pub fn summary(&self) -> String {
        let vocab = &self.vocab;
        let describe =
            |id: Option<u32>| match id.and_then(|id| self.token_text(id).map(|t| (id, t))) {
                Some((id, text)) => format!("{id} {text:?}"),
                None => "none".to_string(),
            };
        let mut line = format!(
            "{} vocab: {} tokens, bos {}, eos {}, unk {}",
            self.model_name(),
            self.n_vocab(),
            describe(vocab.bos),
            describe(vocab.eos),
            describe(vocab.unk),
        );
        if vocab.pad.is_some() {
            line += &format!(", pad {}", describe(vocab.pad));
        }
        line += &format!(
            ", add_bos {}, add_eos {}, add_space_prefix {}, {} control, {} byte, {} user-defined",
            vocab.add_bos,
            vocab.add_eos,
            vocab.add_space_prefix,
            vocab.count_type(TokenType::Control),
            vocab.count_type(TokenType::Byte),
            vocab.count_type(TokenType::UserDefined),
        );
        line
    }
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tokenizer").field(&self.summary()).finish()
    }
}

/// The byte of a byte-fallback token spelled `<0xNN>`.
fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
