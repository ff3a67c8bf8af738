//! Integration tests of the `formats` crate: real GGUF files parse, malformed ones fail cleanly.

use formats::GgufFile;

#[test]
fn parses_stories260k_header() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/stories260K/stories260K.gguf");
    let bytes = std::fs::read(path).expect("fixture present");
    let gguf = GgufFile::parse(&bytes).expect("parses");
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.tensors.len(), 48);
    assert_eq!(gguf.get_str("general.architecture").unwrap(), Some("llama"));
}
