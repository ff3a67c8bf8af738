//! Write → read: every metadata type, both readable versions, tensor infos, alignments, and
//! tensor byte ranges that point at exactly the bytes that were written.

use formats::{GgmlType, GgufFile, GgufWriter, MetadataArray as A, MetadataValue as V};

/// One key per metadata type, plus arrays of every element type, empty and nested arrays.
fn every_metadata_type() -> Vec<(String, V)> {
    let nested = A::Array(vec![
        A::U32(vec![1, 2, 3]),
        A::String(vec!["inner".into(), String::new()]),
        A::Array(vec![A::I8(vec![-1, 0, 1]), A::Array(vec![])]),
        A::Bool(vec![]),
    ]);
    [
        ("test.u8", V::U8(0xfe)),
        ("test.i8", V::I8(i8::MIN)),
        ("test.u16", V::U16(u16::MAX)),
        ("test.i16", V::I16(i16::MIN)),
        ("test.u32", V::U32(u32::MAX)),
        ("test.i32", V::I32(i32::MIN)),
        ("test.u64", V::U64(u64::MAX)),
        ("test.i64", V::I64(i64::MIN)),
        ("test.f32", V::F32(-1.5e-7)),
        ("test.f64", V::F64(std::f64::consts::PI)),
        ("test.bool_true", V::Bool(true)),
        ("test.bool_false", V::Bool(false)),
        ("test.string", V::String("héllo ✓ 🦀\n\0end".into())),
        ("test.string_empty", V::String(String::new())),
        ("test.array_u8", V::Array(A::U8(vec![0, 1, 255]))),
        ("test.array_i8", V::Array(A::I8(vec![-128, 0, 127]))),
        ("test.array_u16", V::Array(A::U16(vec![0, 65535]))),
        ("test.array_i16", V::Array(A::I16(vec![-32768, 32767]))),
        ("test.array_u32", V::Array(A::U32(vec![0, 7, u32::MAX]))),
        (
            "test.array_i32",
            V::Array(A::I32(vec![i32::MIN, -1, i32::MAX])),
        ),
        ("test.array_u64", V::Array(A::U64(vec![u64::MAX, 0]))),
        ("test.array_i64", V::Array(A::I64(vec![i64::MIN, i64::MAX]))),
        (
            "test.array_f32",
            V::Array(A::F32(vec![0.5, -0.0, f32::INFINITY, f32::MIN_POSITIVE])),
        ),
        (
            "test.array_f64",
            V::Array(A::F64(vec![-2.25, f64::MAX, f64::NEG_INFINITY])),
        ),
        (
            "test.array_bool",
            V::Array(A::Bool(vec![true, false, true])),
        ),
        (
            "test.array_string",
            V::Array(A::String(vec!["a".into(), String::new(), "ü ✓".into()])),
        ),
        ("test.array_empty_u32", V::Array(A::U32(vec![]))),
        ("test.array_empty_string", V::Array(A::String(vec![]))),
        ("test.array_nested", V::Array(nested)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Tensors of several types and ranks, sizes that need padding, and one with no elements.
fn sample_tensors() -> Vec<(&'static str, Vec<u64>, GgmlType, Vec<u8>)> {
    let specs: [(&str, &[u64], GgmlType); 6] = [
        ("token_embd.weight", &[4, 3], GgmlType::F32),
        ("blk.0.attn_q.weight", &[64, 2], GgmlType::Q4_0),
        ("output_norm.weight", &[7], GgmlType::F16),
        ("blk.0.ffn_down.weight", &[256, 1, 1, 2], GgmlType::Q6K),
        ("empty", &[0, 3], GgmlType::F32),
        ("bytes", &[5], GgmlType::I8),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(i, (name, dims, ty))| {
            let n: u64 = dims.iter().product();
            let len = (n / ty.block_size() * ty.block_bytes()) as usize;
            let data = (0..len).map(|j| (j * 7 + i * 31 + 1) as u8).collect();
            (name, dims.to_vec(), ty, data)
        })
        .collect()
}

/// Writes `metadata` and `tensors`, checks the length the writer predicted, and parses.
fn write_and_parse(
    metadata: &[(String, V)],
    tensors: &[(&str, Vec<u64>, GgmlType, Vec<u8>)],
) -> (Vec<u8>, GgufFile) {
    let mut writer = GgufWriter::new();
    for (key, value) in metadata {
        writer.add_metadata(key.clone(), value.clone()).unwrap();
    }
    for (name, dims, ty, data) in tensors {
        writer.add_tensor(*name, dims, *ty, data).unwrap();
    }
    let bytes = writer.to_vec().unwrap();
    assert_eq!(bytes.len() as u64, writer.encoded_len());
    let gguf = GgufFile::parse(&bytes).unwrap();
    (bytes, gguf)
}

/// Checks each parsed tensor against what was written, data included.
fn assert_tensors(bytes: &[u8], gguf: &GgufFile, tensors: &[(&str, Vec<u64>, GgmlType, Vec<u8>)]) {
    assert_eq!(gguf.tensors.len(), tensors.len());
    assert_eq!(gguf.data_offset % gguf.alignment, 0);
    for (info, (name, dims, ty, data)) in gguf.tensors.iter().zip(tensors) {
        assert_eq!(info.name, *name);
        assert_eq!(&info.dims, dims, "{name}");
        assert_eq!(info.ggml_type, *ty, "{name}");
        assert_eq!(info.size_bytes, data.len() as u64, "{name}");
        assert!(info.file_offset >= gguf.data_offset, "{name}");
        assert_eq!(
            (info.file_offset - gguf.data_offset) % gguf.alignment,
            0,
            "{name}"
        );
        assert_eq!(&bytes[info.byte_range()], &data[..], "{name}");
        assert_eq!(gguf.tensor(name), Some(info));
    }
}

#[test]
fn every_metadata_type_round_trips() {
    let metadata = every_metadata_type();
    let (_, gguf) = write_and_parse(&metadata, &[]);
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.metadata, metadata);
    for (key, value) in &metadata {
        assert_eq!(gguf.get(key), Some(value), "{key}");
    }
    assert!(gguf.tensors.is_empty());
}

#[test]
fn float_bits_round_trip_exactly() {
    let nan = f32::from_bits(0x7fc0_1234);
    let metadata = vec![
        ("f32.nan".to_string(), V::F32(nan)),
        ("f32.neg_zero".to_string(), V::F32(-0.0)),
        (
            "f64.array".to_string(),
            V::Array(A::F64(vec![f64::from_bits(0xfff8_0000_0000_0001), -0.0])),
        ),
    ];
    let (_, gguf) = write_and_parse(&metadata, &[]);
    let Some(V::F32(a)) = gguf.get("f32.nan") else {
        panic!("f32.nan missing")
    };
    assert_eq!(a.to_bits(), nan.to_bits());
    let Some(V::F32(z)) = gguf.get("f32.neg_zero") else {
        panic!("f32.neg_zero missing")
    };
    assert_eq!(z.to_bits(), (-0.0f32).to_bits());
    let Some(V::Array(A::F64(v))) = gguf.get("f64.array") else {
        panic!("f64.array missing")
    };
    assert_eq!(v[0].to_bits(), 0xfff8_0000_0000_0001);
    assert_eq!(v[1].to_bits(), (-0.0f64).to_bits());
}

#[test]
fn versions_2_and_3_both_read() {
    let metadata = every_metadata_type();
    let tensors = sample_tensors();
    let (mut bytes, v3) = write_and_parse(&metadata, &tensors);
    assert_eq!(
        &bytes[4..8],
        &3u32.to_le_bytes(),
        "the writer produces version 3"
    );
    // Version 2 differs from 3 only in what big-endian files may do; the layout is the same.
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let v2 = GgufFile::parse(&bytes).unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.metadata, v3.metadata);
    assert_eq!(v2.tensors, v3.tensors);
    assert_eq!(v2.data_offset, v3.data_offset);
    assert_tensors(&bytes, &v2, &tensors);
}

#[test]
fn tensor_infos_and_data_round_trip() {
    let metadata = vec![(
        "general.architecture".to_string(),
        V::String("llama".into()),
    )];
    let tensors = sample_tensors();
    let (bytes, gguf) = write_and_parse(&metadata, &tensors);
    assert_eq!(gguf.alignment, 32);
    assert_eq!(
        bytes.len() % 32,
        0,
        "each tensor, the last included, is padded"
    );
    assert_tensors(&bytes, &gguf, &tensors);
    assert_eq!(gguf.get_str("general.architecture").unwrap(), Some("llama"));
}

#[test]
fn custom_alignment_is_honoured() {
    let tensors = sample_tensors();
    for alignment in [1u32, 8, 64, 4096] {
        let metadata = vec![
            ("general.name".to_string(), V::String("aligned".into())),
            ("general.alignment".to_string(), V::U32(alignment)),
        ];
        let (bytes, gguf) = write_and_parse(&metadata, &tensors);
        assert_eq!(gguf.alignment, u64::from(alignment));
        assert_eq!(
            gguf.data_offset % u64::from(alignment),
            0,
            "alignment {alignment}"
        );
        assert_tensors(&bytes, &gguf, &tensors);
    }
}

#[test]
fn empty_file_round_trips() {
    let (bytes, gguf) = write_and_parse(&[], &[]);
    assert_eq!(
        bytes.len(),
        32,
        "24 header bytes padded to the default alignment"
    );
    assert!(gguf.metadata.is_empty() && gguf.tensors.is_empty());
    assert_eq!(gguf.data_offset, 32);
}
