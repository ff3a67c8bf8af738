//! Parsing never panics: thousands of single-byte corruptions and truncations of the header of
//! the stories260K fixture each give `Ok` or `Err`, and every `Ok` keeps its tensors in bounds.
//! The cheap, deterministic twin of the `fuzz/` target.

use formats::GgufFile;

/// xorshift64: a deterministic stream for choosing positions and bytes, no dependency needed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parses `bytes`; a panic fails the test with `describe()`, an `Ok` must keep tensors in bounds.
fn check(bytes: &[u8], describe: impl Fn() -> String) {
    match std::panic::catch_unwind(|| GgufFile::parse(bytes)) {
        Ok(Ok(gguf)) => {
            for t in &gguf.tensors {
                assert!(
                    t.byte_range().end <= bytes.len(),
                    "{}: tensor '{}' out of bounds",
                    describe(),
                    t.name
                );
            }
        }
        Ok(Err(e)) => assert!(!e.to_string().is_empty()),
        Err(_) => panic!("GgufFile::parse panicked on {}", describe()),
    }
}

#[test]
fn corrupted_and_truncated_headers_never_panic() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/stories260K/stories260K.gguf"
    );
    let mut bytes = std::fs::read(path).expect("fixture present");
    let header = GgufFile::parse(&bytes).unwrap().data_offset as usize;
    // The header region: magic, counts, metadata (the 512-token vocabulary) and tensor infos.
    let region = header.min(bytes.len());
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);

    for _ in 0..2000 {
        let pos = rng.below(region);
        let original = bytes[pos];
        // Half bit flips (near-valid values), half arbitrary bytes (0x00 and 0xff included).
        let byte = match rng.next() % 4 {
            0 => original ^ (1 << rng.below(8)),
            1 => 0xff,
            2 => 0,
            _ => rng.next() as u8,
        };
        bytes[pos] = byte;
        check(&bytes, || {
            format!("byte {pos} set from {original:#04x} to {byte:#04x}")
        });
        bytes[pos] = original;
    }

    for _ in 0..1000 {
        let cut = rng.below(region + 64);
        check(&bytes[..cut], || format!("the first {cut} bytes"));
    }
}
