//! Fuzz target: `GgufFile::parse` on arbitrary bytes returns `Ok` or `Err`, never panics, never
//! allocates by an unchecked count, and every tensor of an `Ok` lies inside the input.
#![no_main]

use formats::GgufFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(gguf) = GgufFile::parse(data) {
        for tensor in &gguf.tensors {
            let range = tensor.byte_range();
            assert!(
                range.start <= range.end && range.end <= data.len(),
                "tensor '{}' out of bounds",
                tensor.name
            );
            // Touch the bytes, as a loader would.
            std::hint::black_box(&data[range]);
        }
        for (key, _) in &gguf.metadata {
            assert!(gguf.get(key).is_some(), "metadata '{key}' not indexed");
        }
    }
});
