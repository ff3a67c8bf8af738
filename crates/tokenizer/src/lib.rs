//! `tokenizer` turns text into token ids and back. It knows GGUF vocabularies of the `llama`
//! (SentencePiece) kind and reproduces llama.cpp's ids for them exactly; it is pure and
//! deterministic once built, and encoding or decoding never fails or panics on any input.
//!
//! - [`Tokenizer`] (`tokenizer.rs`): the public face: `from_gguf`, `encode`, `decode`,
//!   `token_to_piece`, special-token ids.
//! - `vocab.rs`: reading and checking `tokenizer.ggml.*` metadata; [`TokenType`].
//! - `special_tokens.rs`: splitting input around special-token texts before tokenization.
//! - `spm.rs`: the SentencePiece merge algorithm over token scores.
//! - [`StreamDecoder`] (`stream_decode.rs`): UTF-8-safe incremental detokenization.
//! - [`Error`] (`error.rs`): what can go wrong while loading, naming the key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod special_tokens;
mod spm;
mod stream_decode;
mod tokenizer;
mod vocab;

pub use error::{Error, Result};
pub use stream_decode::StreamDecoder;
pub use tokenizer::Tokenizer;
pub use vocab::TokenType;
