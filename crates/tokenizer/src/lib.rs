//! `tokenizer` turns text into token ids and back, and conversations into prompts. It reads GGUF
//! vocabularies (`llama` SentencePiece and `gpt2` byte-level BPE), Hugging Face `tokenizer.json`
//! folders and Meta's tiktoken `tokenizer.model` files, and reproduces llama.cpp's and the model
//! owners' ids for them; it is pure and deterministic once built, and encoding or decoding never
//! fails or panics on any input.
//!
//! - [`Tokenizer`] (`tokenizer.rs`): the public face: `encode`, `decode`, `token_to_piece`,
//!   special-token ids, the model's chat template. Built by `from_gguf.rs`,
//!   `from_tokenizer_json.rs` or `tiktoken.rs`.
//! - `vocab.rs`: the token table (texts, types, special ids) every engine shares; [`TokenType`].
//! - `special_tokens.rs`: splitting input around special-token texts before tokenization.
//! - `spm.rs`: the SentencePiece merge algorithm over token scores (GGUF `llama`).
//! - `bpe.rs` + `pretokenize.rs`: byte-level BPE as a `tokenizers::Tokenizer`, and the one table
//!   of named pre-tokenizer patterns (GGUF `tokenizer.ggml.pre`).
//! - [`ChatTemplate`] (`chat_template.rs`): Jinja chat templates rendered like transformers.
//! - [`StreamDecoder`] (`stream_decode.rs`): UTF-8-safe incremental detokenization.
//! - [`Error`] (`error.rs`): what can go wrong while loading, naming the key, file or line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bpe;
mod chat_template;
mod error;
mod from_gguf;
mod from_tokenizer_json;
mod pretokenize;
mod special_tokens;
mod spm;
mod stream_decode;
mod tiktoken;
mod tokenizer;
mod vocab;

pub use chat_template::{
    builtin_llama4_template, builtin_plain_template, ChatMessage, ChatTemplate,
};
pub use error::{Error, Result};
pub use stream_decode::StreamDecoder;
pub use tiktoken::TiktokenInfo;
pub use tokenizer::Tokenizer;
pub use vocab::TokenType;
