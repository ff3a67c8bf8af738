//! Incremental, UTF-8-safe detokenization for streaming output.
//!
//! A token's piece can end in the middle of a character (byte-fallback tokens spell an emoji as
//! four one-byte tokens), so printing pieces as they come would print broken characters.
//! `StreamDecoder` buffers bytes and hands out only complete text: the longest valid UTF-8 prefix,
//! with a definitely invalid sequence replaced by U+FFFD, and an incomplete tail that could still
//! become a valid character (at most 3 bytes) kept for the next piece.

/// Turns a stream of token pieces into complete UTF-8 text.
#[derive(Debug, Clone, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// An empty decoder.
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Adds `piece` and returns the text that is now complete (possibly empty).
    pub fn push(&mut self, piece: &[u8]) -> String {
        self.pending.extend_from_slice(piece);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // `valid` was just checked by `from_utf8`; this never replaces anything.
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        // An incomplete sequence at the end: wait for more bytes.
                        None => {
                            rest = after;
                            break;
                        }
                        // Bytes that no continuation can make valid.
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[n..];
                        }
                    }
                }
            }
        }
        let kept = rest.len();
        let total = self.pending.len();
        self.pending.drain(..total - kept);
        out
    }

    /// Returns whatever is still buffered, an incomplete sequence becoming U+FFFD, and resets.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }

    /// True when no bytes are waiting for the rest of a character.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
