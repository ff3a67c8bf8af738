//! `StreamDecoder`: complete characters only, U+FFFD for invalid bytes, never a panic.

use tokenizer::StreamDecoder;

#[test]
fn multibyte_char_fed_byte_by_byte() {
    let mut stream = StreamDecoder::new();
    let llama = "🦙".as_bytes();
    for &b in &llama[..3] {
        assert_eq!(stream.push(&[b]), "");
    }
    assert!(!stream.is_empty());
    assert_eq!(stream.push(&llama[3..]), "🦙");
    assert!(stream.is_empty());
    assert_eq!(stream.finish(), "");
}

#[test]
fn complete_prefix_is_emitted_at_once() {
    let mut stream = StreamDecoder::new();
    let text = "ab€".as_bytes(); // € is 3 bytes
    assert_eq!(stream.push(&text[..3]), "ab");
    assert_eq!(stream.push(&text[3..]), "€");
}

#[test]
fn invalid_bytes_become_replacement_chars() {
    let mut stream = StreamDecoder::new();
    assert_eq!(stream.push(b"a\xffb"), "a\u{FFFD}b");
    // A lead byte followed by a non-continuation byte is invalid at once.
    assert_eq!(stream.push(b"\xe2x"), "\u{FFFD}x");
    // A truncated sequence left at the end is flushed lossily.
    assert_eq!(stream.push(b"\xf0\x9f"), "");
    assert_eq!(stream.finish(), "\u{FFFD}");
    assert_eq!(stream.finish(), "");
}

#[test]
fn any_split_of_any_bytes_matches_lossy_decoding() {
    // A small xorshift generator: deterministic pseudo-random byte strings and split points.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2_000 {
        let len = (next() % 24) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| match next() % 4 {
                // Bias towards UTF-8 lead and continuation bytes to hit the interesting cases.
                0 => 0x80 | (next() % 0x40) as u8,
                1 => 0xC0 | (next() % 0x40) as u8,
                _ => next() as u8,
            })
            .collect();
        let mut stream = StreamDecoder::new();
        let mut out = String::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let take = 1 + (next() as usize) % rest.len();
            out += &stream.push(&rest[..take]);
            rest = &rest[take..];
        }
        out += &stream.finish();
        // However the bytes are split, the result is what one-shot lossy decoding gives.
        assert_eq!(out, String::from_utf8_lossy(&bytes), "{bytes:x?}");
    }
}
