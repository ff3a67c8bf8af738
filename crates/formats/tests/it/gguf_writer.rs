//! The writer's own contract: streamed data gives the same bytes as borrowed data, and every
//! input the reader would reject (or that does not add up) is refused with a message that names
//! the key or tensor, before anything is written.

use std::io::Write;

use formats::{Error, GgmlType, GgufFile, GgufWriter, MetadataArray as A, MetadataValue as V};

/// Three tensors, the middle one of zero bytes.
fn tensors() -> Vec<(&'static str, Vec<u64>, GgmlType, Vec<u8>)> {
    vec![
        ("a", vec![3, 5], GgmlType::F32, (0..60).collect()),
        ("zero", vec![0], GgmlType::F16, vec![]),
        (
            "q",
            vec![32, 3],
            GgmlType::Q8_0,
            (0..102).map(|i| 255 - i).collect(),
        ),
    ]
}

fn message_names(err: &Error, needles: &[&str]) {
    let msg = err.to_string();
    for needle in needles {
        assert!(
            msg.contains(needle),
            "message {msg:?} does not name {needle:?}"
        );
    }
}

#[test]
fn streamed_chunks_match_borrowed_data() {
    let tensors = tensors();
    let mut borrowed = GgufWriter::new();
    let mut streamed = GgufWriter::new();
    for w in [&mut borrowed, &mut streamed] {
        w.add_metadata("general.architecture", V::String("llama".into()))
            .unwrap();
    }
    for (name, dims, ty, data) in &tensors {
        borrowed.add_tensor(*name, dims, *ty, data).unwrap();
        streamed.add_tensor_info(*name, dims, *ty).unwrap();
    }
    let expected = borrowed.to_vec().unwrap();

    let mut out = streamed.write_header(Vec::new()).unwrap();
    for (name, _, _, data) in &tensors {
        assert_eq!(out.next_tensor(), Some((*name, data.len() as u64)));
        if data.is_empty() {
            out.write_tensor_chunk(&[]).unwrap();
        }
        for chunk in data.chunks(7) {
            out.write_tensor_chunk(chunk).unwrap();
        }
    }
    assert_eq!(out.next_tensor(), None);
    let bytes = out.finish().unwrap();
    assert_eq!(bytes, expected);
    assert_eq!(bytes.len() as u64, streamed.encoded_len());
    assert_eq!(GgufFile::parse(&bytes).unwrap().tensors.len(), 3);
}

#[test]
fn write_tensor_takes_whole_tensors_in_order() {
    let tensors = tensors();
    let mut w = GgufWriter::new();
    for (name, dims, ty, _) in &tensors {
        w.add_tensor_info(*name, dims, *ty).unwrap();
    }
    let mut out = w.write_header(Vec::new()).unwrap();

    let err = out.write_tensor("q", &tensors[2].3).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(&err, &["tensor 'q'", "tensor 'a' comes next"]);

    let err = out.write_tensor("a", &[0; 59]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TensorSize {
                expected: 60,
                actual: 59,
                ..
            }
        ),
        "{err:?}"
    );
    message_names(&err, &["tensor 'a'", "60 bytes", "got 59"]);

    out.write_tensor_chunk(&[0; 10]).unwrap();
    let err = out.write_tensor("a", &tensors[0].3).unwrap_err();
    message_names(&err, &["tensor 'a'", "10 of its bytes are already written"]);
    let err = out.write_tensor_chunk(&[0; 51]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TensorSize {
                expected: 60,
                actual: 61,
                ..
            }
        ),
        "{err:?}"
    );
    out.write_tensor_chunk(&[0; 50]).unwrap();

    out.write_tensor("zero", &[]).unwrap();
    let err = out.finish().unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(
        &err,
        &["tensor 'q'", "only 0 of its 102 bytes", "2 of 3 tensors"],
    );
}

#[test]
fn writing_past_the_last_tensor_is_refused() {
    let mut w = GgufWriter::new();
    w.add_tensor_info("only", &[1], GgmlType::F32).unwrap();
    let mut out = w.write_header(Vec::new()).unwrap();
    out.write_tensor("only", &[1, 2, 3, 4]).unwrap();
    let err = out.write_tensor_chunk(&[0]).unwrap_err();
    message_names(&err, &["all 1 tensors are already written"]);
    let err = out.write_tensor("extra", &[]).unwrap_err();
    message_names(&err, &["tensor 'extra'", "already written"]);
    assert!(out.finish().is_ok());
}

#[test]
fn write_to_needs_data_for_every_tensor() {
    let mut w = GgufWriter::new();
    w.add_tensor("with_data", &[1], GgmlType::F32, &[0; 4])
        .unwrap();
    w.add_tensor_info("declared_only", &[1], GgmlType::F32)
        .unwrap();
    let err = w.to_vec().unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(&err, &["tensor 'declared_only'", "add_tensor_info"]);
}

#[test]
fn duplicate_key_is_refused() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.name", V::String("a".into()))
        .unwrap();
    let err = w.add_metadata("general.name", V::U32(1)).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(&err, &["'general.name'", "duplicate key"]);
}

#[test]
fn duplicate_tensor_name_is_refused() {
    let mut w = GgufWriter::new();
    w.add_tensor("t", &[1], GgmlType::F32, &[0; 4]).unwrap();
    let err = w.add_tensor_info("t", &[2], GgmlType::F32).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(&err, &["tensor 't'", "duplicate tensor name"]);
}

#[test]
fn data_length_must_match_dims_and_type() {
    let mut w = GgufWriter::new();
    let err = w
        .add_tensor("blk.0.attn_q.weight", &[32, 2], GgmlType::Q4_0, &[0; 35])
        .unwrap_err();
    let Error::TensorSize {
        name,
        ggml_type,
        dims,
        expected,
        actual,
    } = &err
    else {
        panic!("expected TensorSize, got {err:?}")
    };
    assert_eq!(
        (name.as_str(), *ggml_type, &dims[..]),
        ("blk.0.attn_q.weight", GgmlType::Q4_0, &[32, 2][..])
    );
    assert_eq!((*expected, *actual), (36, 35));
    message_names(
        &err,
        &[
            "tensor 'blk.0.attn_q.weight'",
            "Q4_0",
            "[32, 2]",
            "36 bytes",
            "got 35",
        ],
    );
}

#[test]
fn shapes_the_reader_rejects_are_refused() {
    let mut w = GgufWriter::new();
    let cases: [(&[u64], GgmlType, &str); 5] = [
        (&[], GgmlType::F32, "0 dimensions"),
        (&[1, 1, 1, 1, 1], GgmlType::F32, "5 dimensions"),
        (
            &[31, 2],
            GgmlType::Q4_0,
            "first dimension 31 is not a multiple of the Q4_0 block size 32",
        ),
        (&[1 << 32, 1 << 32, 2], GgmlType::F32, "overflow"),
        (&[1 << 62], GgmlType::F32, "overflow"),
    ];
    for (dims, ty, reason) in cases {
        let err = w.add_tensor_info("bad", dims, ty).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{dims:?}: {err:?}"
        );
        message_names(&err, &["tensor 'bad'", reason]);
    }
    w.add_tensor_info("bad", &[32, 2], GgmlType::Q4_0).unwrap();
}

#[test]
fn bad_alignment_is_refused() {
    for value in [V::U32(0), V::U32(3), V::U64(32), V::String("32".into())] {
        let mut w = GgufWriter::new();
        let err = w
            .add_metadata("general.alignment", value.clone())
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{value:?}: {err:?}"
        );
        message_names(&err, &["'general.alignment'", "power of two"]);
        assert_eq!(w.alignment(), 32);
    }
}

/// `levels` arrays nested in one another, the innermost holding one `u8`.
fn nested(levels: usize) -> A {
    (1..levels).fold(A::U8(vec![7]), |inner, _| A::Array(vec![inner]))
}

#[test]
fn arrays_nest_as_deep_as_the_reader_reads_and_no_deeper() {
    let mut w = GgufWriter::new();
    w.add_metadata("deep", V::Array(nested(16))).unwrap();
    let gguf = GgufFile::parse(&w.to_vec().unwrap()).unwrap();
    assert_eq!(gguf.get("deep"), Some(&V::Array(nested(16))));

    let err = w.add_metadata("deeper", V::Array(nested(17))).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    message_names(&err, &["metadata 'deeper'", "nested 17 deep"]);
}

/// A sink that fails once `room` bytes have been written.
struct FullDisk {
    room: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_name_what_was_being_written() {
    let mut w = GgufWriter::new();
    w.add_tensor("output.weight", &[8], GgmlType::F32, &[1; 32])
        .unwrap();
    let header_len = w.encoded_len() as usize - 32;

    let err = w
        .write_to(FullDisk { room: 10 })
        .err()
        .expect("write fails");
    let Error::Write { what, source } = &err else {
        panic!("expected Write, got {err:?}")
    };
    assert_eq!(what, "header");
    assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
    assert!(std::error::Error::source(&err).is_some());

    let err = w
        .write_to(FullDisk {
            room: header_len + 5,
        })
        .err()
        .expect("write fails");
    assert!(matches!(err, Error::Write { .. }), "{err:?}");
    message_names(&err, &["data of tensor 'output.weight'", "disk full"]);
}
