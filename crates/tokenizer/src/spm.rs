//! SentencePiece-style BPE over token scores, as llama.cpp's `llm_tokenizer_spm_session::tokenize`
//! does it (`src/llama-vocab.cpp`; first written in llama.cpp commit 074bea2e).
//!
//! The text (spaces already escaped to `▁`) is split into UTF-8 characters, each a symbol in a
//! doubly-linked list. Every adjacent pair whose concatenation is a vocabulary token goes into a
//! max-heap keyed by that token's score, ties going to the leftmost pair. Popping a pair merges
//! the right symbol into the left one, unless either has changed since the pair was queued, and
//! queues the merged symbol's new pairs with its neighbours. Each remaining symbol is then a
//! token, or a character outside the vocabulary that is spelled as byte-fallback tokens `<0xNN>`.
//! Each character and each merge costs one heap operation: O(n log n) in the text length.
//!
//! llama.cpp also keeps a `rev_merge` map to re-split a symbol that is not a token into the pair
//! it was merged from. It is never used: a symbol is either one character or the result of a
//! merge, and a merge happens only when the merged text is a token, so the lookup that precedes
//! it always succeeds. This module leaves the map out.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::vocab::Vocab;

/// A run of the text: `len` bytes from `start`; `len` is 0 once merged into its left neighbour.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge of symbols `left` and `right` (adjacent when queued) into a token of `size`
/// bytes whose score is `score`.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    /// Higher score first; for equal scores the smaller left index first (llama.cpp's
    /// `llm_bigram_spm::comparator`). Scores are compared with `total_cmp`, which agrees with
    /// C++ `<` for every non-NaN value because loading turns -0.0 into 0.0.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

/// Appends the tokens of `text` (spaces already written as `▁`) to `output`.
pub(crate) fn tokenize(vocab: &Vocab, text: &str, output: &mut Vec<u32>) {
    let bytes = text.as_bytes();
    let mut symbols: Vec<Symbol> = Vec::with_capacity(bytes.len());
    let mut offset = 0;
    while offset < bytes.len() {
        let len = utf8_len(bytes[offset]).min(bytes.len() - offset);
        let index = symbols.len();
        symbols.push(Symbol {
            start: offset,
            len,
            prev: index.checked_sub(1),
            next: (offset + len < bytes.len()).then_some(index + 1),
        });
        offset += len;
    }

    let mut queue = BinaryHeap::with_capacity(symbols.len());
    for right in 1..symbols.len() {
        try_add_bigram(
            vocab,
            text,
            &symbols,
            &mut queue,
            Some(right - 1),
            Some(right),
        );
    }

    while let Some(bigram) = queue.pop() {
        let (left_len, right_len) = (symbols[bigram.left].len, symbols[bigram.right].len);
        // One of the symbols was merged away or grew since this pair was queued.
        if left_len == 0 || right_len == 0 || left_len + right_len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += right_len;
        symbols[bigram.right].len = 0;
        let next = symbols[bigram.right].next;
        symbols[bigram.left].next = next;
        if let Some(next) = next {
            symbols[next].prev = Some(bigram.left);
        }
        let prev = symbols[bigram.left].prev;
        try_add_bigram(vocab, text, &symbols, &mut queue, prev, Some(bigram.left));
        try_add_bigram(vocab, text, &symbols, &mut queue, Some(bigram.left), next);
    }

    let mut current = (!symbols.is_empty()).then_some(0);
    while let Some(index) = current {
        let symbol = symbols[index];
        let piece = &bytes[symbol.start..symbol.start + symbol.len];
        match text
            .get(symbol.start..symbol.start + symbol.len)
            .and_then(|s| vocab.text_to_id.get(s))
        {
            Some(&id) => output.push(id),
            None => {
                // A character outside the vocabulary: one byte-fallback token per byte. llama.cpp
                // throws when a byte has no `<0xNN>` token; this falls back to the unknown token
                // and, without one, drops the byte.
                output.extend(
                    piece
                        .iter()
                        .filter_map(|&b| vocab.byte_to_id[b as usize].or(vocab.unk)),
                );
            }
        }
        current = symbol.next;
    }
}

/// Queues the merge of `left` and `right` if their concatenated text is a token.
fn try_add_bigram(
    vocab: &Vocab,
    text: &str,
    symbols: &[Symbol],
    queue: &mut BinaryHeap<Bigram>,
    left: Option<usize>,
    right: Option<usize>,
) {
    let (Some(left), Some(right)) = (left, right) else {
        return;
    };
    let start = symbols[left].start;
    let size = symbols[left].len + symbols[right].len;
    let Some(&id) = text
        .get(start..start + size)
        .and_then(|s| vocab.text_to_id.get(s))
    else {
        return;
    };
    let Some(token) = vocab.token(id) else {
        return;
    };
    queue.push(Bigram {
        score: token.score,
        left,
        right,
        size,
    });
}

/// Length of a UTF-8 sequence from its first byte (llama.cpp's `unicode_len_utf8`); a stray
/// continuation byte counts as 1.
fn utf8_len(first: u8) -> usize {
    const LOOKUP: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LOOKUP[(first >> 4) as usize]
}
