//! One test per way a GGUF file can be malformed: each checks the error variant, the byte
//! offset it carries, and that the message names the key or tensor and that offset.

use formats::{Error, GgufFile};

use crate::alloc_probe::largest_allocation_during;
use crate::raw_gguf::{
    RawGguf, GGML_F32, GGML_Q4_0, T_ARRAY, T_BOOL, T_STRING, T_U32, T_U64, T_U8,
};

/// Parses `bytes`, which must fail, and checks that the message contains every needle.
fn parse_err(bytes: &[u8], needles: &[&str]) -> Error {
    let err = GgufFile::parse(bytes).expect_err("malformed input must not parse");
    let msg = err.to_string();
    for needle in needles {
        assert!(
            msg.contains(needle),
            "message {msg:?} does not contain {needle:?}"
        );
    }
    err
}

fn at(offset: u64) -> String {
    format!("at byte {offset}")
}

/// A valid file: two metadata pairs, one F32 [8, 2] tensor, and where each field starts.
struct Sample {
    raw: RawGguf,
    key1_bytes: u64,
    value0_type: u64,
    value0_bytes: u64,
    value1: u64,
    info: u64,
    dims: u64,
    offset_field: u64,
    infos_end: u64,
    data: u64,
}

fn sample() -> Sample {
    let mut raw = RawGguf::header(3, 1, 2);
    raw.string("general.architecture");
    let value0_type = raw.pos();
    raw.u32(T_STRING);
    let value0_bytes = raw.pos() + 8;
    raw.string("llama");
    let key1_bytes = raw.pos() + 8;
    raw.string("llama.block_count").u32(T_U32);
    let value1 = raw.pos();
    raw.u32(2);
    let info = raw.pos();
    let dims = info + 8 + "tok_embd".len() as u64 + 4;
    let offset_field = dims + 16 + 4;
    raw.tensor_info("tok_embd", &[8, 2], GGML_F32, 0);
    let infos_end = raw.pos();
    raw.pad_to(32);
    let data = raw.pos();
    raw.data(64);
    let sample = Sample {
        raw,
        key1_bytes,
        value0_type,
        value0_bytes,
        value1,
        info,
        dims,
        offset_field,
        infos_end,
        data,
    };
    GgufFile::parse(&sample.raw.bytes).expect("the sample itself is valid");
    sample
}

#[test]
fn bad_magic() {
    let mut bytes = sample().raw.bytes;
    bytes[..4].copy_from_slice(b"GGML");
    let err = parse_err(&bytes, &["GGML", "at byte 0"]);
    assert!(
        matches!(err, Error::BadMagic { found } if &found == b"GGML"),
        "{err:?}"
    );
}

#[test]
fn unsupported_version() {
    for version in [1u32, 4] {
        let mut bytes = sample().raw.bytes;
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        let err = parse_err(&bytes, &[&format!("version {version}"), "at byte 4"]);
        assert!(
            matches!(err, Error::UnsupportedVersion { version: v } if v == version),
            "{err:?}"
        );
    }
}

#[test]
fn truncated_header() {
    let s = sample();
    // (cut, what, offset of the field cut short). Cuts that leave too few bytes for the counts
    // are caught before any pair or info is read, as an `Invalid` count (marked `true`).
    let cases: Vec<(u64, &str, u64, bool)> = vec![
        (2, "magic", 0, false),
        (6, "version", 4, false),
        (12, "tensor count", 8, false),
        (20, "metadata count", 16, false),
        (28, "metadata count", 16, true),
        (s.key1_bytes + 5, "metadata key #1", s.key1_bytes, false),
        (
            s.value0_type + 2,
            "metadata 'general.architecture' value type",
            s.value0_type,
            false,
        ),
        (
            s.value0_bytes + 2,
            "metadata 'general.architecture' value",
            s.value0_bytes,
            false,
        ),
        (
            s.value1 + 3,
            "metadata 'llama.block_count' value",
            s.value1,
            false,
        ),
        (s.info + 3, "tensor count", 8, true),
        (s.dims + 11, "tensor 'tok_embd'", s.dims + 8, false),
        (
            s.offset_field + 1,
            "tensor 'tok_embd'",
            s.offset_field,
            false,
        ),
        (
            s.infos_end + 1,
            "padding before the tensor data section",
            s.infos_end,
            false,
        ),
    ];
    for (cut, what, offset, is_count) in cases {
        let err = parse_err(&s.raw.bytes[..cut as usize], &[what, &at(offset)]);
        match err {
            Error::Truncated {
                what: w,
                offset: o,
                needed,
                available,
            } if !is_count => {
                assert_eq!((w.as_str(), o), (what, offset), "cut at {cut}");
                assert_eq!(available, cut - offset, "cut at {cut}");
                assert!(needed > available, "cut at {cut}");
            }
            Error::Invalid {
                what: w,
                offset: o,
                reason,
            } if is_count => {
                assert_eq!((w.as_str(), o), (what, offset), "cut at {cut}");
                assert!(reason.contains("cannot fit"), "cut at {cut}: {reason}");
            }
            other => panic!("cut at {cut}: unexpected {other:?}"),
        }
    }
}

#[test]
fn truncated_tensor_data() {
    let s = sample();
    let bytes = &s.raw.bytes[..s.data as usize + 10];
    let err = parse_err(
        bytes,
        &[
            "data of tensor 'tok_embd'",
            "F32",
            "[8, 2]",
            &at(s.data),
            "needs 64 bytes, only 10",
        ],
    );
    assert!(
        matches!(err, Error::Truncated { offset, needed: 64, available: 10, .. } if offset == s.data),
        "{err:?}"
    );
}

#[test]
fn tensor_offset_past_end_of_file() {
    for offset in [1u64 << 40, u64::MAX - 31] {
        let mut raw = RawGguf::header(3, 1, 0);
        raw.tensor_info("far", &[8], GGML_F32, offset)
            .pad_to(32)
            .data(32);
        let data = 64u64;
        let expected = data.saturating_add(offset);
        let err = parse_err(&raw.bytes, &["data of tensor 'far'", &at(expected)]);
        assert!(
            matches!(err, Error::Truncated { offset: o, needed: 32, available: 0, .. } if o == expected),
            "{err:?}"
        );
    }
}

#[test]
fn misaligned_tensor_offset() {
    let mut raw = RawGguf::header(3, 1, 0);
    raw.tensor_info("odd", &[1], GGML_F32, 4)
        .pad_to(32)
        .data(32);
    let err = parse_err(
        &raw.bytes,
        &[
            "tensor 'odd'",
            &at(24),
            "data offset 4 is not a multiple of the alignment 32",
        ],
    );
    assert!(matches!(err, Error::Invalid { offset: 24, .. }), "{err:?}");
}

/// Parses `bytes` and checks that no single allocation on the way was larger than 4 KiB.
fn parse_err_small_alloc(bytes: &[u8], needles: &[&str]) -> Error {
    let (err, largest) = largest_allocation_during(|| parse_err(bytes, needles));
    assert!(largest <= 4096, "parsing allocated {largest} bytes at once");
    err
}

#[test]
fn absurd_tensor_count() {
    for count in [u64::MAX, 1 << 40] {
        let raw = RawGguf::header(3, count, 0);
        let err = parse_err_small_alloc(
            &raw.bytes,
            &["tensor count", &at(8), &format!("count {count} cannot fit")],
        );
        assert!(matches!(err, Error::Invalid { offset: 8, .. }), "{err:?}");
    }
}

#[test]
fn absurd_metadata_count() {
    for count in [u64::MAX, 1 << 40] {
        let raw = RawGguf::header(3, 0, count);
        let err = parse_err_small_alloc(
            &raw.bytes,
            &[
                "metadata count",
                &at(16),
                &format!("count {count} cannot fit"),
            ],
        );
        assert!(matches!(err, Error::Invalid { offset: 16, .. }), "{err:?}");
    }
}

#[test]
fn absurd_array_count() {
    for (elem_type, count) in [
        (T_STRING, u64::MAX),
        (T_U8, 1 << 40),
        (T_ARRAY, 1 << 40),
        (T_U64, u64::MAX / 4),
    ] {
        let mut raw = RawGguf::header(3, 0, 1);
        raw.string("tokenizer.ggml.tokens")
            .u32(T_ARRAY)
            .u32(elem_type);
        let count_at = raw.pos();
        raw.u64(count).data(100);
        let err = parse_err_small_alloc(
            &raw.bytes,
            &[
                "metadata 'tokenizer.ggml.tokens' array",
                &at(count_at),
                "cannot fit",
            ],
        );
        assert!(
            matches!(err, Error::Invalid { offset, .. } if offset == count_at),
            "{err:?}"
        );
    }
}

#[test]
fn absurd_string_length() {
    // In a key.
    let mut raw = RawGguf::header(3, 0, 1);
    raw.u64(u64::MAX).data(100);
    let err = parse_err_small_alloc(
        &raw.bytes,
        &[
            "metadata key #0",
            &at(32),
            &format!("needs {} bytes", u64::MAX),
        ],
    );
    assert!(
        matches!(
            err,
            Error::Truncated {
                offset: 32,
                needed: u64::MAX,
                available: 100,
                ..
            }
        ),
        "{err:?}"
    );

    // In a value.
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.name").u32(T_STRING);
    let len_at = raw.pos();
    raw.u64(1 << 40).data(100);
    let err = parse_err_small_alloc(
        &raw.bytes,
        &["metadata 'general.name' value", &at(len_at + 8)],
    );
    assert!(
        matches!(
            err,
            Error::Truncated {
                needed: 0x100_0000_0000,
                ..
            }
        ),
        "{err:?}"
    );

    // In an array element.
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("tokenizer.ggml.tokens")
        .u32(T_ARRAY)
        .u32(T_STRING)
        .u64(2)
        .string("ok");
    let len_at = raw.pos();
    raw.u64(u64::MAX - 1).data(100);
    let err = parse_err_small_alloc(
        &raw.bytes,
        &[
            "metadata 'tokenizer.ggml.tokens' array element #1",
            &at(len_at + 8),
        ],
    );
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
}

#[test]
fn unknown_metadata_value_type() {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.mystery");
    let type_at = raw.pos();
    raw.u32(13).u64(0);
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata 'general.mystery' value type",
            &at(type_at),
            "unknown value type id 13",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == type_at),
        "{err:?}"
    );
}

#[test]
fn unknown_array_element_type() {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.list").u32(T_ARRAY);
    let type_at = raw.pos();
    raw.u32(13).u64(0);
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata 'general.list' array",
            &at(type_at),
            "unknown array element type id 13",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == type_at),
        "{err:?}"
    );
}

#[test]
fn unknown_tensor_type_id() {
    for type_id in [4u32, 1000] {
        let mut raw = RawGguf::header(3, 1, 0);
        raw.tensor_info("blk.0.attn_k.weight", &[32], type_id, 0)
            .pad_to(32)
            .data(64);
        let type_at = 24 + 8 + 19 + 4 + 8;
        let err = parse_err(
            &raw.bytes,
            &[
                "tensor 'blk.0.attn_k.weight'",
                &at(type_at),
                &format!("unknown tensor type id {type_id}"),
            ],
        );
        assert!(
            matches!(err, Error::Invalid { offset, .. } if offset == type_at),
            "{err:?}"
        );
    }
}

#[test]
fn invalid_utf8_in_key() {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string(b"general.\xffname").u32(T_U32).u32(1);
    let err = parse_err(&raw.bytes, &["metadata key #0", &at(24), "not valid UTF-8"]);
    assert!(matches!(err, Error::Invalid { offset: 24, .. }), "{err:?}");
}

#[test]
fn invalid_utf8_in_string_value() {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.name").u32(T_STRING);
    let value_at = raw.pos();
    raw.string(b"caf\xc3\x28");
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata 'general.name' value",
            &at(value_at),
            "not valid UTF-8",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == value_at),
        "{err:?}"
    );
}

#[test]
fn duplicate_key() {
    let mut raw = RawGguf::header(3, 0, 2);
    raw.kv_u32("llama.block_count", 1);
    let second = raw.pos();
    raw.kv_u32("llama.block_count", 2);
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata key 'llama.block_count'",
            &at(second),
            "duplicate key",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == second),
        "{err:?}"
    );
}

#[test]
fn duplicate_tensor_name() {
    let mut raw = RawGguf::header(3, 2, 0);
    raw.tensor_info("output.weight", &[8], GGML_F32, 0);
    let second = raw.pos();
    raw.tensor_info("output.weight", &[8], GGML_F32, 32)
        .pad_to(32)
        .data(64);
    let err = parse_err(
        &raw.bytes,
        &[
            "tensor 'output.weight'",
            &at(second),
            "duplicate tensor name",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == second),
        "{err:?}"
    );
}

#[test]
fn bad_alignment() {
    let values: [(u32, &[u8], &str); 3] = [
        (T_U32, &0u32.to_le_bytes(), "u32 0"),
        (T_U32, &3u32.to_le_bytes(), "u32 3"),
        (T_U64, &32u64.to_le_bytes(), "u64 32"),
    ];
    for (type_id, value, found) in values {
        let mut raw = RawGguf::header(3, 0, 1);
        raw.string("general.alignment");
        let type_at = raw.pos();
        raw.u32(type_id).raw(value);
        let err = parse_err(
            &raw.bytes,
            &["'general.alignment'", &at(type_at), "power of two", found],
        );
        assert!(
            matches!(err, Error::Invalid { offset, .. } if offset == type_at),
            "{err:?}"
        );
    }
}

#[test]
fn too_many_dims() {
    let mut raw = RawGguf::header(3, 1, 0);
    raw.tensor_info("t5", &[1, 1, 1, 1, 1], GGML_F32, 0)
        .pad_to(32)
        .data(32);
    let err = parse_err(&raw.bytes, &["tensor 't5'", &at(24), "5 dimensions"]);
    assert!(matches!(err, Error::Invalid { offset: 24, .. }), "{err:?}");
}

#[test]
fn zero_dims() {
    let mut raw = RawGguf::header(3, 1, 0);
    raw.tensor_info("scalar", &[], GGML_F32, 0)
        .pad_to(32)
        .data(32);
    let err = parse_err(&raw.bytes, &["tensor 'scalar'", &at(24), "0 dimensions"]);
    assert!(matches!(err, Error::Invalid { offset: 24, .. }), "{err:?}");
}

#[test]
fn first_dim_not_a_multiple_of_block_size() {
    let mut raw = RawGguf::header(3, 1, 0);
    raw.tensor_info("blk.0.attn_q.weight", &[31, 2], GGML_Q4_0, 0)
        .pad_to(32)
        .data(64);
    let err = parse_err(
        &raw.bytes,
        &[
            "tensor 'blk.0.attn_q.weight'",
            &at(24),
            "first dimension 31 is not a multiple of the Q4_0 block size 32",
        ],
    );
    assert!(matches!(err, Error::Invalid { offset: 24, .. }), "{err:?}");
}

#[test]
fn bool_byte_2() {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.flag").u32(T_BOOL);
    let byte_at = raw.pos();
    raw.u8(2);
    let err = parse_err(
        &raw.bytes,
        &["metadata 'general.flag' value", &at(byte_at), "found 2"],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == byte_at),
        "{err:?}"
    );

    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.flags")
        .u32(T_ARRAY)
        .u32(T_BOOL)
        .u64(3)
        .u8(1);
    let byte_at = raw.pos();
    raw.u8(2).u8(0);
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata 'general.flags' array element #1",
            &at(byte_at),
            "found 2",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == byte_at),
        "{err:?}"
    );
}

#[test]
fn dims_product_overflow() {
    for dims in [&[1u64 << 32, 1 << 32, 2][..], &[1 << 62, 1]] {
        let mut raw = RawGguf::header(3, 1, 0);
        raw.tensor_info("huge", dims, GGML_F32, 0)
            .pad_to(32)
            .data(32);
        let err = parse_err(&raw.bytes, &["tensor 'huge'", &at(24), "overflow"]);
        assert!(
            matches!(err, Error::Invalid { offset: 24, .. }),
            "{dims:?}: {err:?}"
        );
    }
}

/// A metadata pair whose value is `levels` arrays nested in one another, the innermost empty.
fn nested_arrays(levels: usize) -> (RawGguf, u64) {
    let mut raw = RawGguf::header(3, 0, 1);
    raw.string("general.deep").u32(T_ARRAY);
    let mut last_body = raw.pos();
    for _ in 1..levels {
        raw.u32(T_ARRAY).u64(1);
        last_body = raw.pos();
    }
    raw.u32(T_U8).u64(0);
    (raw, last_body)
}

#[test]
fn arrays_nested_beyond_the_limit() {
    let (ok, _) = nested_arrays(16);
    GgufFile::parse(&ok.bytes).expect("16 levels are allowed");
    let (raw, deepest) = nested_arrays(17);
    let err = parse_err(
        &raw.bytes,
        &[
            "metadata 'general.deep' array",
            &at(deepest),
            "nested deeper than 16",
        ],
    );
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset == deepest),
        "{err:?}"
    );
}
