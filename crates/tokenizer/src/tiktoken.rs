//! Meta's tiktoken `tokenizer.model` files (Llama 3, Llama 4) as byte-level BPE.
//!
//! The file has one `base64(token bytes) rank` pair per line; a token's rank is its id and its
//! merge priority. Special tokens are not in the file: Meta's `tokenizer.py` appends them after
//! the ranks, and the caller passes them (with the pre-tokenizer pattern) in a [`TiktokenInfo`].
//!
//! Conversion is the standard tiktoken → Hugging Face one: every token of two or more bytes is
//! re-split by running BPE on its own bytes with only lower ranks allowed (`max_rank`), which
//! leaves exactly the two parts it was merged from; those pairs, ordered by rank, are the merges.
//! With `ignore_merges` (a word that is a token is taken whole) this encodes exactly as tiktoken.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;

use crate::bpe::ByteMap;
use crate::tokenizer::Engine;
use crate::vocab::{Specials, TokenData, Vocab};
use crate::{Error, Result, TokenType, Tokenizer};

/// What a tiktoken ranks file does not say: the pre-tokenizer pattern and the special tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokenInfo {
    /// The pre-tokenizer regular expression (tiktoken's `pat_str`).
    pub pattern: String,
    /// Total number of ids: ranks, then special tokens. Ids with no name are reserved special
    /// tokens, named `<|reserved_special_token_N|>` with N counting the unnamed ids from 0.
    pub n_words: usize,
    /// Named special tokens and their ids.
    pub special_tokens: Vec<(String, u32)>,
    /// Beginning of text.
    pub bos_id: Option<u32>,
    /// End of text.
    pub eos_id: Option<u32>,
    /// Every id that ends generation (EOS, end of turn, end of message).
    pub stop_tokens: Vec<u32>,
}

impl TiktokenInfo {
    /// Reads the `tokenizer-info.json` layout: `pat_str`, `n_words`, `bos_id`, `eos_id`,
    /// `stop_tokens`, and `special_tokens_non_reserved` (name → id).
    pub fn from_json(bytes: &[u8]) -> Result<TiktokenInfo> {
        const FILE: &str = "tokenizer-info.json";
        let err = |field: &str, reason: &str| Error::File {
            file: FILE.into(),
            field: field.into(),
            reason: reason.into(),
        };
        let json: Value = serde_json::from_slice(bytes).map_err(|e| Error::File {
            file: FILE.into(),
            field: String::new(),
            reason: format!("is not valid JSON: {e}"),
        })?;
        let id = |field: &str| -> Result<Option<u32>> {
            match json.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| err(field, "must be a token id")),
            }
        };
        let pattern = json
            .get("pat_str")
            .and_then(Value::as_str)
            .ok_or_else(|| err("pat_str", "must be a string (the pre-tokenizer pattern)"))?
            .to_string();
        let n_words = json
            .get("n_words")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| err("n_words", "must be a number"))?;
        let mut special_tokens = Vec::new();
        if let Some(map) = json.get("special_tokens_non_reserved") {
            let map = map
                .as_object()
                .ok_or_else(|| err("special_tokens_non_reserved", "must be an object"))?;
            for (name, id) in map {
                let id = id
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| err("special_tokens_non_reserved", "values must be ids"))?;
                special_tokens.push((name.clone(), id));
            }
        }
        let stop_tokens = match json.get("stop_tokens") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
                        .collect::<Option<Vec<u32>>>()
                })
                .ok_or_else(|| err("stop_tokens", "must be an array of ids"))?,
        };
        Ok(TiktokenInfo {
            pattern,
            n_words,
            special_tokens,
            bos_id: id("bos_id")?,
            eos_id: id("eos_id")?,
            stop_tokens,
        })
    }
}

/// The parsed ranks: token bytes by rank (`None` for a rank the file skips).
pub(crate) struct Ranks {
    pub(crate) by_rank: Vec<Option<Vec<u8>>>,
}

/// How many ranks a file may skip.
const MAX_RANK_GAP: usize = 65_536;

/// Ids a `TiktokenInfo` may add after the ranks.
const MAX_SPECIAL_IDS: usize = 1 << 20;

/// Reads `base64 rank` lines. Blank lines are skipped; ranks must be unique.
pub(crate) fn parse_ranks(model: &[u8]) -> Result<Ranks> {
    let text = std::str::from_utf8(model).map_err(|e| Error::Tiktoken {
        line: 1 + model[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: "is not UTF-8 text".into(),
    })?;
    let mut by_rank: Vec<Option<Vec<u8>>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let bad = |reason: String| Error::Tiktoken {
            line: line_no,
            reason,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (token, rank) = line
            .split_once(' ')
            .ok_or_else(|| bad("expected 'base64-token rank'".into()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(token)
            .map_err(|e| bad(format!("token {token:?} is not base64: {e}")))?;
        let rank: u32 = rank
            .trim()
            .parse()
            .map_err(|_| bad(format!("rank {rank:?} is not a number")))?;
        if bytes.is_empty() {
            return Err(bad("the token is empty".into()));
        }
        // Ranks are ids, numbered densely: a rank far beyond the lines read so far would only
        // make a huge, mostly empty table.
        let rank = rank as usize;
        if rank > line_no + MAX_RANK_GAP {
            return Err(bad(format!(
                "rank {rank} leaves a gap of more than {MAX_RANK_GAP} unused ranks"
            )));
        }
        if by_rank.len() <= rank {
            by_rank.resize(rank + 1, None);
        }
        if by_rank[rank].is_some() {
            return Err(bad(format!("rank {rank} appears twice")));
        }
        by_rank[rank] = Some(bytes);
    }
    if by_rank.is_empty() {
        return Err(Error::Tiktoken {
            line: 1,
            reason: "the file has no tokens".into(),
        });
    }
    Ok(Ranks { by_rank })
}

/// The merges (byte-level texts), in rank order, recovered from the ranks.
pub(crate) fn recover_merges(ranks: &Ranks, map: &ByteMap) -> Vec<(String, String)> {
    let rank_of: HashMap<&[u8], u32> = ranks
        .by_rank
        .iter()
        .enumerate()
        .filter_map(|(r, t)| t.as_deref().map(|t| (t, r as u32)))
        .collect();
    let mut merges = Vec::new();
    for (rank, token) in ranks.by_rank.iter().enumerate() {
        let Some(token) = token else { continue };
        if token.len() < 2 {
            continue;
        }
        let parts = bpe_parts(&rank_of, token, rank as u32);
        if let [left, right] = parts.as_slice() {
            merges.push((map.encode(left), map.encode(right)));
        }
    }
    merges
}

/// tiktoken's byte-pair merge of `token` using only ranks below `max_rank`.
fn bpe_parts<'a>(rank_of: &HashMap<&[u8], u32>, token: &'a [u8], max_rank: u32) -> Vec<&'a [u8]> {
    // Part boundaries as byte offsets: part k is token[bounds[k]..bounds[k + 1]].
    let mut bounds: Vec<usize> = (0..=token.len()).collect();
    loop {
        let mut best: Option<(u32, usize)> = None;
        for k in 0..bounds.len().saturating_sub(2) {
            let pair = &token[bounds[k]..bounds[k + 2]];
            if let Some(&r) = rank_of.get(pair) {
                if r < max_rank && best.is_none_or(|(b, _)| r < b) {
                    best = Some((r, k));
                }
            }
        }
        match best {
            Some((_, k)) => {
                bounds.remove(k + 1);
            }
            None => break,
        }
    }
    bounds.windows(2).map(|w| &token[w[0]..w[1]]).collect()
}

impl Tokenizer {
    /// Builds a byte-level BPE tokenizer from a tiktoken ranks file (Meta's Llama 3 / Llama 4
    /// `tokenizer.model`) and what the file does not say (`info`: pattern, special tokens).
    ///
    /// Ranks are ids; the ids from the largest rank + 1 up to `info.n_words` are special tokens
    /// (control tokens: parsed only with `parse_special`). BOS is added by
    /// [`encode`](Tokenizer::encode) with `add_special`, as Meta's `encode(bos=True)` does.
    pub fn from_tiktoken(model: &[u8], info: &TiktokenInfo) -> Result<Tokenizer> {
        let ranks = parse_ranks(model)?;
        let map = ByteMap::gpt2();
        let n_ranks = ranks.by_rank.len();
        let n_words = info.n_words.max(n_ranks);
        if n_words > n_ranks + MAX_SPECIAL_IDS {
            return Err(Error::File {
                file: "tokenizer-info.json".into(),
                field: "n_words".into(),
                reason: format!(
                    "= {n_words} is more than {MAX_SPECIAL_IDS} ids beyond the {n_ranks} ranks"
                ),
            });
        }
        let info_err = |field: &str, reason: String| Error::File {
            file: "tokenizer-info.json".into(),
            field: field.into(),
            reason,
        };
        let mut names: Vec<Option<&str>> = vec![None; n_words];
        for (name, id) in &info.special_tokens {
            let slot = names.get_mut(*id as usize).ok_or_else(|| {
                info_err(
                    "special_tokens_non_reserved",
                    format!("id {id} of {name:?} is outside n_words = {n_words}"),
                )
            })?;
            if (*id as usize) < n_ranks && ranks.by_rank[*id as usize].is_some() {
                return Err(info_err(
                    "special_tokens_non_reserved",
                    format!("id {id} of {name:?} is also a rank of tokenizer.model"),
                ));
            }
            *slot = Some(name);
        }
        for (field, id) in [("bos_id", info.bos_id), ("eos_id", info.eos_id)] {
            if let Some(id) = id.filter(|&id| id as usize >= n_words) {
                return Err(info_err(
                    field,
                    format!("= {id} is outside n_words = {n_words}"),
                ));
            }
        }

        let mut reserved = 0usize;
        let tokens: Vec<TokenData> = (0..n_words)
            .map(|id| {
                let rank = ranks.by_rank.get(id).and_then(|t| t.as_deref());
                match (rank, names[id]) {
                    (Some(bytes), _) => TokenData {
                        text: map.encode(bytes),
                        score: 0.0,
                        ty: TokenType::Normal,
                    },
                    (None, Some(name)) => TokenData {
                        text: name.to_string(),
                        score: 0.0,
                        ty: TokenType::Control,
                    },
                    (None, None) => {
                        reserved += 1;
                        TokenData {
                            text: format!("<|reserved_special_token_{}|>", reserved - 1),
                            score: 0.0,
                            ty: TokenType::Control,
                        }
                    }
                }
            })
            .collect();

        let merges = recover_merges(&ranks, map);
        let bpe_vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.ty == TokenType::Normal)
            .map(|(id, t)| (t.text.clone(), id as u32))
            .collect();
        let pre_tokenizer =
            crate::pretokenize::byte_level_pre_tokenizer(std::slice::from_ref(&info.pattern))
                .map_err(|reason| info_err("pat_str", reason))?;
        let tokenizer =
            crate::bpe::build(bpe_vocab, merges, true, pre_tokenizer).map_err(|reason| {
                Error::Tiktoken {
                    line: 1,
                    reason: format!("the ranks do not form a BPE model: {reason}"),
                }
            })?;

        let specials = Specials {
            bos: info.bos_id,
            eos: info.eos_id,
            unk: None,
            pad: None,
            extra_end_of_generation: info.stop_tokens.clone(),
            add_bos: info.bos_id.is_some(),
            add_eos: false,
            add_space_prefix: false,
        };
        Ok(Tokenizer {
            vocab: Vocab::new(tokens, specials),
            engine: Engine::Hf {
                tokenizer: Box::new(tokenizer),
                byte_level: true,
            },
            chat_template: None,
        })
    }
}
