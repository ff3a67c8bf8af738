//! Splitting input text around special-token texts before tokenization, as llama.cpp's
//! `tokenizer_st_partition` does (`src/llama-vocab.cpp`).
//!
//! Special tokens are taken longest text first. Each one splits every text fragment that is left
//! at each of its non-overlapping occurrences, leftmost first, into text / token / text. Control
//! and unknown tokens are matched only when the caller asks to parse special tokens; user-defined
//! tokens are always matched, as Hugging Face tokenizers do with added tokens.
//!
//! Not mirrored: llama.cpp's per-token `lstrip`/`rstrip` attributes, which it sets only for
//! models whose `general.name` contains "phi-3"/"phi3" (and some jina BERTs), and which make it
//! drop whitespace next to those special tokens.

use crate::vocab::{TokenType, Vocab};

/// A piece of the input: text still to tokenize, or a special token already recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}

/// Splits `text` into fragments. Empty text gives no fragments; text fragments are never empty.
pub(crate) fn partition<'a>(
    vocab: &Vocab,
    text: &'a str,
    parse_special: bool,
) -> Vec<Fragment<'a>> {
    let mut fragments = Vec::new();
    if text.is_empty() {
        return fragments;
    }
    fragments.push(Fragment::Text(text));
    for &id in &vocab.special_tokens {
        let Some(token) = vocab.token(id) else {
            continue;
        };
        if !parse_special && matches!(token.ty, TokenType::Control | TokenType::Unknown) {
            continue;
        }
        let needle = token.text.as_str();
        // Token texts are never empty (loading renames empty ones), so `find` always advances.
        if needle.is_empty()
            || !fragments
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(needle)))
        {
            continue;
        }
        let mut split = Vec::with_capacity(fragments.len() + 2);
        for fragment in fragments {
            let Fragment::Text(mut rest) = fragment else {
                split.push(fragment);
                continue;
            };
            while let Some(at) = rest.find(needle) {
                if at > 0 {
                    split.push(Fragment::Text(&rest[..at]));
                }
                split.push(Fragment::Token(id));
                rest = &rest[at + needle.len()..];
            }
            if !rest.is_empty() {
                split.push(Fragment::Text(rest));
            }
        }
        fragments = split;
    }
    fragments
}
