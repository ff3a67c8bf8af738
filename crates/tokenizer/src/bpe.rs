//! Byte-level BPE (GPT-2 style) built as a Hugging Face `tokenizers::Tokenizer`: the vocabulary
//! and merges come from a GGUF file or a tiktoken ranks file, the pre-tokenizer from
//! `pretokenize.rs`.
//!
//! Byte-level vocabularies spell every byte as a printable character (GPT-2's `bytes_to_unicode`:
//! the printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100…U+0143 in
//! byte order), so token texts are strings even when the bytes are not UTF-8. [`ByteMap`] holds
//! that table in both directions; decoding a token turns its characters back into bytes.

use tokenizers::models::bpe::{Vocab as BpeVocab, BPE};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;

/// GPT-2's byte ↔ character table.
#[derive(Clone)]
pub(crate) struct ByteMap {
    to_char: [char; 256],
    /// The bytes spelled U+0100, U+0101, … in order.
    shifted: Vec<u8>,
}

/// Bytes that GPT-2's table spells as themselves.
fn is_printable(byte: u32) -> bool {
    matches!(byte, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

impl ByteMap {
    /// The table of GPT-2's `bytes_to_unicode`, built once.
    pub(crate) fn gpt2() -> &'static ByteMap {
        static MAP: std::sync::OnceLock<ByteMap> = std::sync::OnceLock::new();
        MAP.get_or_init(ByteMap::build)
    }

    fn build() -> ByteMap {
        let mut to_char = ['\0'; 256];
        let mut shifted = Vec::with_capacity(68);
        for (byte, slot) in to_char.iter_mut().enumerate() {
            let code = if is_printable(byte as u32) {
                byte as u32
            } else {
                shifted.push(byte as u8);
                0x100 + shifted.len() as u32 - 1
            };
            // Every code here is below U+0144, a valid scalar value.
            *slot = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        }
        ByteMap { to_char, shifted }
    }

    /// The character standing for `byte`.
    pub(crate) fn char_of(&self, byte: u8) -> char {
        self.to_char[byte as usize]
    }

    /// The byte a character stands for, if it is one of the table's characters.
    pub(crate) fn byte_of(&self, c: char) -> Option<u8> {
        let code = c as u32;
        if code < 0x100 {
            is_printable(code).then_some(code as u8)
        } else {
            self.shifted.get((code - 0x100) as usize).copied()
        }
    }

    /// `bytes` spelled in the table's characters.
    pub(crate) fn encode(&self, bytes: &[u8]) -> String {
        bytes.iter().map(|&b| self.char_of(b)).collect()
    }

    /// The bytes of a byte-level token text; a character outside the table gives its own UTF-8
    /// bytes (added tokens are stored as plain text).
    pub(crate) fn decode(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match self.byte_of(c) {
                Some(b) => out.push(b),
                None => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out
    }
}

/// A byte-level BPE `tokenizers::Tokenizer` over `vocab` (token text → id, only the tokens BPE
/// may produce) and `merges` (in priority order), with `pre_tokenizer` in front.
pub(crate) fn build(
    vocab: BpeVocab,
    merges: Vec<(String, String)>,
    ignore_merges: bool,
    pre_tokenizer: PreTokenizerWrapper,
) -> Result<tokenizers::Tokenizer, String> {
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(ignore_merges)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tokenizer = tokenizers::Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_round_trips_every_byte() {
        let map = ByteMap::gpt2();
        for b in 0..=255u8 {
            assert_eq!(map.byte_of(map.char_of(b)), Some(b), "byte {b}");
        }
        assert_eq!(map.char_of(b' '), 'Ġ');
        assert_eq!(map.char_of(b'\n'), 'Ċ');
        assert_eq!(map.char_of(b'A'), 'A');
        assert_eq!(map.decode("ĠHello"), b" Hello");
        assert_eq!(map.encode(b" \n"), "ĠĊ");
    }
}
