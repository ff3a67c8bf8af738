//! The named pre-tokenizers of byte-level BPE vocabularies: the one table that maps a GGUF
//! `tokenizer.ggml.pre` name to the regular expressions that cut text into words before BPE.
//!
//! The names and patterns are llama.cpp's (`llama_vocab::impl::load` maps names to
//! `LLAMA_VOCAB_PRE_TYPE_*`, `llm_tokenizer_bpe` lists each type's `regex_exprs`). Where llama.cpp
//! rewrote a model's pattern for C++ `std::regex` (which lacks `\p{Lu}` and `(?i:…)`), this table
//! keeps the model's original pattern from its `tokenizer.json`, which llama.cpp quotes beside
//! its rewrite; `fancy-regex` understands it as written.
//!
//! Each pattern splits every piece the previous one left: matches and the text between them both
//! become pieces (Hugging Face `Split` with `Isolated` behaviour, llama.cpp `unicode_regex_split`).
//! Adding a vocabulary family is one row here; nothing else names a pre-tokenizer.

use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::SplitDelimiterBehavior;

/// GPT-2's pattern without its final `\s+` (the pieces it would match are kept anyway).
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// Llama 3 (`tokenizer.json` of Meta-Llama-3 and Meta's `tokenizer.py`): digits in runs of 1–3.
const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen2: Llama 3's pattern with single digits.
const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// OpenAI o200k (GPT-4o) and Llama 4: case-aware words with contractions, digits in runs of 1–3.
const O200K: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Mistral Tekken: o200k-like words without contractions, single digits.
const TEKKEN: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A named pre-tokenizer: the patterns applied in order, and whether a word that is itself a
/// token skips the merges (Hugging Face `ignore_merges`, set by Llama 3's `tokenizer.json`).
#[derive(Debug)]
pub(crate) struct Preset {
    /// `tokenizer.ggml.pre` values that select this preset.
    pub(crate) names: &'static [&'static str],
    /// Patterns applied one after another.
    pub(crate) patterns: &'static [&'static str],
    pub(crate) ignore_merges: bool,
}

/// Every known pre-tokenizer. The first row is the fallback for a missing or `default` name.
pub(crate) const PRESETS: &[Preset] = &[
    Preset {
        names: &["default"],
        patterns: &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
        ignore_merges: false,
    },
    Preset {
        names: &["llama3", "llama-v3", "llama-bpe", "falcon3"],
        patterns: &[LLAMA3],
        ignore_merges: true,
    },
    Preset {
        names: &["dbrx", "smaug-bpe", "chatglm-bpe"],
        patterns: &[LLAMA3],
        ignore_merges: false,
    },
    Preset {
        names: &["gpt-4o", "llama4"],
        patterns: &[O200K],
        ignore_merges: false,
    },
    Preset {
        names: &["tekken"],
        patterns: &[TEKKEN],
        ignore_merges: false,
    },
    Preset {
        names: &["qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan"],
        patterns: &[QWEN2],
        ignore_merges: false,
    },
    Preset {
        names: &[
            "gpt-2",
            "mpt",
            "olmo",
            "jais",
            "trillion",
            "phi-2",
            "jina-es",
            "jina-de",
            "jina-v1-en",
            "jina-v2-es",
            "jina-v2-de",
            "jina-v2-code",
            "gigachat",
            "roberta-bpe",
        ],
        patterns: &[GPT2],
        ignore_merges: false,
    },
    Preset {
        names: &[
            "starcoder",
            "refact",
            "command-r",
            "smollm",
            "codeshell",
            "exaone",
            "minerva-7b",
        ],
        patterns: &[r"\p{N}", GPT2],
        ignore_merges: false,
    },
    Preset {
        names: &["falcon"],
        patterns: &[r"[\p{P}\$\+<=>\^~\|`]+", GPT2, r"[0-9][0-9][0-9]"],
        ignore_merges: false,
    },
    Preset {
        names: &["deepseek-llm"],
        patterns: &[
            r"[\r\n]",
            r"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
            r"\s?[!-/:-~！-／：-～‘-‟　-。]+",
            r"\s+$",
            r"[一-龥ࠀ-一가-퟿]+",
            r"\p{N}+",
        ],
        ignore_merges: false,
    },
    Preset {
        names: &["deepseek-coder"],
        patterns: &[
            r"[\r\n]",
            r"\s?\p{L}+",
            r"\s?\p{P}+",
            r"[一-龥ࠀ-一가-퟿]+",
            r"\p{N}",
        ],
        ignore_merges: false,
    },
    Preset {
        names: &["deepseek-v3"],
        patterns: &[
            r"\p{N}{1,3}",
            r"[一-龥぀-ゟ゠-ヿ]+",
            r"[!\x22#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ],
        ignore_merges: false,
    },
    Preset {
        names: &["poro-chat", "bloom", "gpt3-finnish"],
        patterns: &[r" ?[^(\s|.,!?…。，、।۔،)]+"],
        ignore_merges: false,
    },
    Preset {
        names: &["viking"],
        patterns: &[r" ?[^(\s|.,!?…。，、।۔،)]+", r"\p{N}"],
        ignore_merges: false,
    },
];

/// The preset for a `tokenizer.ggml.pre` value; `None` (key absent) means `default`.
pub(crate) fn preset(name: Option<&str>) -> Option<&'static Preset> {
    let name = name.unwrap_or("default");
    PRESETS.iter().find(|p| p.names.contains(&name))
}

/// Every known name, for error messages.
pub(crate) fn known_names() -> Vec<&'static str> {
    PRESETS
        .iter()
        .flat_map(|p| p.names.iter().copied())
        .collect()
}

/// The Hugging Face pre-tokenizer for `patterns`: each pattern as an isolating split, then the
/// byte-level mapping (without its own GPT-2 regex and without a prefix space).
pub(crate) fn byte_level_pre_tokenizer<S: AsRef<str>>(
    patterns: &[S],
) -> Result<PreTokenizerWrapper, String> {
    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(patterns.len() + 1);
    for pattern in patterns {
        let pattern = pattern.as_ref();
        let split = Split::new(
            SplitPattern::Regex(pattern.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("pre-tokenizer pattern {pattern:?} does not compile: {e}"))?;
        steps.push(split.into());
    }
    steps.push(ByteLevel::new(false, false, false).into());
    Ok(Sequence::new(steps).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_compiles_and_names_are_unique() {
        let mut names = known_names();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name appears in two presets");
        for preset in PRESETS {
            byte_level_pre_tokenizer(preset.patterns).unwrap();
        }
        assert_eq!(preset(None).unwrap().names[0], "default");
        assert!(preset(Some("llama-bpe")).unwrap().ignore_merges);
        assert!(preset(Some("no-such-thing")).is_none());
    }
}
