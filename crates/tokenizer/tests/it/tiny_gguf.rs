//! Tiny GGUF files written byte by byte, so tests can build vocabularies (broken ones included)
//! without fixture files. Layout per ggml's `docs/gguf.md`: magic, version 3, tensor count 0,
//! metadata count, then key/value pairs.

use formats::GgufFile;

const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;

/// Metadata key/value pairs, serialized as they are added.
#[derive(Default)]
pub(crate) struct TinyGguf {
    count: u64,
    body: Vec<u8>,
}

impl TinyGguf {
    pub(crate) fn new() -> TinyGguf {
        TinyGguf::default()
    }

    fn key(&mut self, key: &str, value_type: u32) {
        self.count += 1;
        put_str(&mut self.body, key);
        self.body.extend_from_slice(&value_type.to_le_bytes());
    }

    pub(crate) fn string(mut self, key: &str, value: &str) -> TinyGguf {
        self.key(key, T_STRING);
        put_str(&mut self.body, value);
        self
    }

    pub(crate) fn u32(mut self, key: &str, value: u32) -> TinyGguf {
        self.key(key, T_U32);
        self.body.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn i32(mut self, key: &str, value: i32) -> TinyGguf {
        self.key(key, T_I32);
        self.body.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn bool(mut self, key: &str, value: bool) -> TinyGguf {
        self.key(key, T_BOOL);
        self.body.push(value.into());
        self
    }

    fn array_header(&mut self, key: &str, elem_type: u32, len: usize) {
        self.key(key, T_ARRAY);
        self.body.extend_from_slice(&elem_type.to_le_bytes());
        self.body.extend_from_slice(&(len as u64).to_le_bytes());
    }

    pub(crate) fn strings(mut self, key: &str, values: &[&str]) -> TinyGguf {
        self.array_header(key, T_STRING, values.len());
        for v in values {
            put_str(&mut self.body, v);
        }
        self
    }

    pub(crate) fn f32s(mut self, key: &str, values: &[f32]) -> TinyGguf {
        self.array_header(key, T_F32, values.len());
        for v in values {
            self.body.extend_from_slice(&v.to_le_bytes());
        }
        self
    }

    pub(crate) fn i32s(mut self, key: &str, values: &[i32]) -> TinyGguf {
        self.array_header(key, T_I32, values.len());
        for v in values {
            self.body.extend_from_slice(&v.to_le_bytes());
        }
        self
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    pub(crate) fn parse(&self) -> GgufFile {
        GgufFile::parse(&self.to_bytes()).expect("a hand-written GGUF parses")
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A small `llama` vocabulary: `<unk>` `<s>` `</s>`, the 256 byte tokens, then `extra` normal
/// tokens as `(text, score)`, then `user_defined` tokens. The fields are public so tests can
/// write broken variants.
pub(crate) struct TinyVocab {
    pub(crate) texts: Vec<String>,
    pub(crate) scores: Vec<f32>,
    pub(crate) types: Vec<i32>,
}

impl TinyVocab {
    pub(crate) fn new(extra: &[(&str, f32)], user_defined: &[&str]) -> TinyVocab {
        let mut v = TinyVocab {
            texts: Vec::new(),
            scores: Vec::new(),
            types: Vec::new(),
        };
        v.push("<unk>", 0.0, 2);
        v.push("<s>", 0.0, 3);
        v.push("</s>", 0.0, 3);
        for b in 0..=255u8 {
            v.push(&format!("<0x{b:02X}>"), 0.0, 6);
        }
        for (text, score) in extra {
            v.push(text, *score, 1);
        }
        for text in user_defined {
            v.push(text, 0.0, 4);
        }
        v
    }

    fn push(&mut self, text: &str, score: f32, ty: i32) {
        self.texts.push(text.to_string());
        self.scores.push(score);
        self.types.push(ty);
    }

    /// The id of `text`; panics if absent (test vocabularies are literal).
    pub(crate) fn id(&self, text: &str) -> u32 {
        self.texts
            .iter()
            .position(|t| t == text)
            .expect("token in tiny vocab") as u32
    }

    /// `tokenizer.ggml.model` and the three arrays.
    pub(crate) fn gguf(&self) -> TinyGguf {
        let texts: Vec<&str> = self.texts.iter().map(String::as_str).collect();
        TinyGguf::new()
            .string("tokenizer.ggml.model", "llama")
            .strings("tokenizer.ggml.tokens", &texts)
            .f32s("tokenizer.ggml.scores", &self.scores)
            .i32s("tokenizer.ggml.token_type", &self.types)
    }
}
