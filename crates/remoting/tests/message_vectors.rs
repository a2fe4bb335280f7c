//! Stored-message decoding against byte vectors.
//!
//! Vector files in `tests/vectors/` come from `tests/vectors/gen_vectors.py`, which lays
//! records out from the Java commit-log format with Python's `struct`, independently of
//! this crate, and compresses bodies with Python's zlib and the PyPI `lz4` / `zstandard`
//! packages. Expected ids were computed by hand from the same inputs (shown inline).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use rocketmq_remoting::message::{
    self, decode_message, decode_messages, decode_messages_skipping, decode_messages_with,
    encode_stored, sysflag, DecodeOptions, MessageIter, StoredMessage,
};
use rocketmq_remoting::CodecError;

fn vector(name: &str) -> Bytes {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn v1_ipv4_record() {
    let body = vector("v1_ipv4.bin");
    let msgs = decode_messages(&body).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.store_size, 187);
    assert_eq!(m.topic, "TopicTest");
    assert_eq!(&m.body[..], b"Hello RocketMQ");
    assert_eq!(m.queue_id, 3);
    assert_eq!(m.flag, 7);
    assert_eq!(m.queue_offset, 42);
    assert_eq!(m.commit_log_offset, 0x1234);
    assert_eq!(m.sys_flag, 0);
    assert_eq!(m.born_timestamp, 1_700_000_000_123);
    assert_eq!(m.born_host, addr("192.168.1.20:50123"));
    assert_eq!(m.store_timestamp, 1_700_000_000_456);
    assert_eq!(m.store_host, addr("10.0.0.1:10911"));
    assert_eq!(m.reconsume_times, 2);
    assert_eq!(m.prepared_transaction_offset, 0);
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
    assert_eq!(m.property("WAIT"), Some("true"));
    // 10.0.0.1 = 0A000001, port 10911 = 00002A9F, offset 0x1234.
    assert_eq!(m.offset_msg_id, "0A00000100002A9F0000000000001234");
    assert_eq!(m.msg_id(), "7F0000010B5D1B6B6B6B0000AB120000");
    // crc32(b"Hello RocketMQ") & 0x7FFFFFFF, as stored by the generator.
    assert_eq!(m.body_crc, 0x69C8_65ED);
    let strict = DecodeOptions {
        verify_body_crc: true,
        ..DecodeOptions::default()
    };
    assert_eq!(decode_messages_with(&body, &strict).unwrap().len(), 1);
}

#[test]
fn uncompressed_body_is_zero_copy() {
    let body = vector("v1_ipv4.bin");
    let m = decode_message(&body).unwrap();
    let start = body.as_ptr() as usize;
    let at = m.body.as_ptr() as usize;
    assert!(at >= start && at + m.body.len() <= start + body.len());
}

#[test]
fn rust_encoder_reproduces_v1_vector_byte_for_byte() {
    let expected = vector("v1_ipv4.bin");
    let mut properties = rocketmq_remoting::message::Properties::default();
    for (k, v) in [
        ("KEYS", "k1 k2"),
        ("TAGS", "TagA"),
        ("UNIQ_KEY", "7F0000010B5D1B6B6B6B0000AB120000"),
        ("WAIT", "true"),
    ] {
        properties.insert(k, v);
    }
    let stored = StoredMessage {
        topic: "TopicTest".into(),
        flag: 7,
        properties,
        body: b"Hello RocketMQ".to_vec(),
        queue_id: 3,
        queue_offset: 42,
        commit_log_offset: 0x1234,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_123,
        born_host: addr("192.168.1.20:50123"),
        store_timestamp: 1_700_000_000_456,
        store_host: addr("10.0.0.1:10911"),
        reconsume_times: 2,
        prepared_transaction_offset: 0,
        v2_magic: false,
    };
    let mut out = BytesMut::new();
    encode_stored(&stored, &mut out).unwrap();
    assert_eq!(&out[..], &expected[..]);
}

#[test]
fn v2_magic_with_ipv6_hosts() {
    let msgs = decode_messages(&vector("v2_ipv6.bin")).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.topic.len(), 200);
    assert!(m.topic.starts_with("%RETRY%ggg"));
    assert_eq!(&m.body[..], b"v2 body");
    assert_eq!(m.born_host, addr("[2001:db8::1]:40000"));
    assert_eq!(m.store_host, addr("[fe80::1:2:3:4]:10921"));
    assert_eq!(
        m.sys_flag,
        sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6,
        "both v6 flags set by the generator"
    );
    assert_eq!(m.property("RETRY_TOPIC"), Some("TopicTest"));
    // 16 IP bytes + port 10921 (00002AA9) + offset 987654321 (3ADE68B1): 56 characters.
    assert_eq!(
        m.offset_msg_id,
        "FE80000000000000000100020003000400002AA9000000003ADE68B1"
    );
    assert_eq!(m.msg_id(), m.offset_msg_id, "no UNIQ_KEY: msgId falls back");
    assert_eq!(
        message::decode_offset_msg_id(&m.offset_msg_id).unwrap(),
        (m.store_host, 987_654_321)
    );
}

#[test]
fn every_compression_type() {
    let msgs = decode_messages(&vector("compressed_batch.bin")).unwrap();
    let plain = "compressible payload ".repeat(40);
    assert_eq!(msgs.len(), 4);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(&m.body[..], plain.as_bytes(), "message {i}");
        assert_eq!(
            m.sys_flag & sysflag::COMPRESSED,
            0,
            "flag cleared, message {i}"
        );
        assert_eq!(m.queue_offset, 100 + i as i64);
    }
    // The compression-type bits stay visible after the COMPRESSED bit is cleared.
    let types: Vec<i32> = msgs
        .iter()
        .map(|m| m.sys_flag & sysflag::COMPRESSION_TYPE_MASK)
        .collect();
    assert_eq!(types, vec![0, 0x100, 0x200, 0x300]);
}

#[test]
fn inner_batch_is_unwrapped() {
    let msgs = decode_messages(&vector("inner_batch.bin")).unwrap();
    assert_eq!(msgs.len(), 3);
    let offsets: Vec<i64> = msgs.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![500, 501, 502]);
    assert_eq!(&msgs[0].body[..], b"first");
    assert_eq!(msgs[0].tags(), Some("a"));
    assert_eq!(msgs[0].flag, 1);
    assert_eq!(&msgs[1].body[..], b"second");
    assert_eq!(msgs[1].property("KEYS"), Some("x"));
    assert!(msgs[2].body.is_empty() && msgs[2].properties.is_empty());
    for m in &msgs {
        assert_eq!(m.topic, "BatchTopic");
        assert_eq!(m.queue_id, 1);
        assert_eq!(m.commit_log_offset, 77777);
        assert_eq!(m.store_host, addr("10.0.0.2:10911"));
    }
    let raw = decode_messages_with(
        &vector("inner_batch.bin"),
        &DecodeOptions {
            unwrap_inner_batch: false,
            ..DecodeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(raw.len(), 1);
    assert!(raw[0].is_inner_batch());
}

#[test]
fn concatenated_vectors_decode_in_order() {
    let mut all = BytesMut::new();
    for name in [
        "v1_ipv4.bin",
        "v2_ipv6.bin",
        "compressed_batch.bin",
        "inner_batch.bin",
    ] {
        all.extend_from_slice(&vector(name));
    }
    let msgs = decode_messages(&all.freeze()).unwrap();
    assert_eq!(msgs.len(), 1 + 1 + 4 + 3);
}

#[test]
fn empty_body_is_an_empty_batch() {
    assert!(decode_messages(&Bytes::new()).unwrap().is_empty());
}

#[test]
fn truncation_anywhere_is_a_typed_error() {
    let full = vector("v1_ipv4.bin");
    for cut in 1..full.len() {
        let err = decode_messages(&full.slice(..cut)).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::Truncated { .. } | CodecError::InvalidLength { .. }
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn iterator_yields_good_records_before_the_bad_one() {
    let mut data = BytesMut::new();
    data.extend_from_slice(&vector("v1_ipv4.bin"));
    data.extend_from_slice(&vector("v1_ipv4.bin")[..50]);
    let items: Vec<_> = MessageIter::new(data.freeze(), DecodeOptions::default()).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert!(items[1].is_err());
}

#[test]
fn bad_magic_and_bad_lengths() {
    let good = vector("v1_ipv4.bin");

    let mut bad_magic = good.to_vec();
    bad_magic[4..8].copy_from_slice(&0xCBD4_3194_u32.to_be_bytes());
    assert_eq!(
        decode_messages(&Bytes::from(bad_magic)).unwrap_err(),
        CodecError::BadMagic(0xCBD4_3194)
    );

    let mut negative_total = good.to_vec();
    negative_total[0..4].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(matches!(
        decode_messages(&Bytes::from(negative_total)).unwrap_err(),
        CodecError::InvalidLength {
            what: "totalSize",
            ..
        }
    ));

    // bodyLength sits at offset 84 for IPv4 hosts.
    let mut negative_body = good.to_vec();
    negative_body[84..88].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(matches!(
        decode_messages(&Bytes::from(negative_body)).unwrap_err(),
        CodecError::InvalidLength {
            what: "bodyLength",
            ..
        }
    ));

    let mut huge_body = good.to_vec();
    huge_body[84..88].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        decode_messages(&Bytes::from(huge_body)).unwrap_err(),
        CodecError::Truncated { what: "body" }
    ));

    // V1 topic length is a signed byte: 0x80 is -128.
    let mut negative_topic = good.to_vec();
    negative_topic[88 + 14] = 0x80;
    assert!(matches!(
        decode_messages(&Bytes::from(negative_topic)).unwrap_err(),
        CodecError::InvalidLength {
            what: "topicLength",
            ..
        }
    ));

    let mut bad_crc = good.to_vec();
    bad_crc[8] ^= 0x01;
    let strict = DecodeOptions {
        verify_body_crc: true,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        decode_messages_with(&Bytes::from(bad_crc), &strict).unwrap_err(),
        CodecError::InvalidField { .. }
    ));
}

#[test]
fn corrupt_compressed_body_is_a_decompress_error() {
    let batch = vector("compressed_batch.bin");
    let first_len = u32::from_be_bytes(batch[0..4].try_into().unwrap()) as usize;
    let mut first = batch[..first_len].to_vec();
    // Break the zlib header (body starts at 88 for IPv4 hosts).
    first[88] = 0xFF;
    first[89] = 0xFF;
    assert!(matches!(
        decode_messages(&Bytes::from(first)).unwrap_err(),
        CodecError::Decompress {
            algorithm: "zlib",
            ..
        }
    ));
}

#[test]
fn decompression_is_bounded() {
    let options = DecodeOptions {
        max_decompressed_body: 100,
        ..DecodeOptions::default()
    };
    let err = decode_messages_with(&vector("compressed_batch.bin"), &options).unwrap_err();
    assert!(matches!(err, CodecError::Decompress { .. }), "{err:?}");
}

#[test]
fn many_empty_inner_batches_do_not_exhaust_the_stack() {
    // 50,000 consecutive broker batches with no inner messages: the iterator must loop,
    // not recurse, past records that yield nothing.
    let record = StoredMessage {
        topic: "T".into(),
        flag: 0,
        properties: Default::default(),
        body: Vec::new(),
        queue_id: 0,
        queue_offset: 0,
        commit_log_offset: 0,
        sys_flag: sysflag::INNER_BATCH | sysflag::NEED_UNWRAP,
        born_timestamp: 0,
        born_host: addr("127.0.0.1:1"),
        store_timestamp: 0,
        store_host: addr("127.0.0.1:2"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        v2_magic: false,
    };
    let mut one = BytesMut::new();
    encode_stored(&record, &mut one).unwrap();
    let mut body = BytesMut::with_capacity(one.len() * 50_000);
    for _ in 0..50_000 {
        body.extend_from_slice(&one);
    }
    let mut tail = BytesMut::new();
    tail.extend_from_slice(&vector("v1_ipv4.bin"));
    body.extend_from_slice(&tail);
    let msgs = decode_messages(&body.freeze()).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].topic, "TopicTest");
}

/// Three records in a row, each a copy of the V1 vector with its own queue offset, so a
/// test can damage the middle one and see which survive.
fn three_records() -> (Vec<u8>, usize) {
    let one = vector("v1_ipv4.bin");
    let mut data = Vec::new();
    for offset in 0..3i64 {
        let mut record = one.to_vec();
        // queueOffset sits at byte 20.
        record[20..28].copy_from_slice(&(100 + offset).to_be_bytes());
        data.extend_from_slice(&record);
    }
    (data, one.len())
}

fn offsets(messages: &[message::MessageExt]) -> Vec<i64> {
    messages.iter().map(|m| m.queue_offset).collect()
}

#[test]
fn skipping_decoder_keeps_the_records_around_a_bad_one() {
    let (mut data, len) = three_records();
    // Bad magic in the second record: its totalSize still frames it.
    data[len + 4..len + 8].copy_from_slice(&0x1234_5678_u32.to_be_bytes());
    let body = Bytes::from(data);
    let strict = decode_messages(&body);
    assert_eq!(strict.unwrap_err(), CodecError::BadMagic(0x1234_5678));

    let batch = decode_messages_skipping(&body, &DecodeOptions::default());
    assert_eq!(offsets(&batch.messages), vec![100, 102]);
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].position, len);
    assert_eq!(batch.skipped[0].skipped_bytes, len);
    assert_eq!(batch.skipped[0].error, CodecError::BadMagic(0x1234_5678));
}

#[test]
fn skipping_decoder_skips_a_record_whose_fields_overrun_it() {
    let (mut data, len) = three_records();
    // A body length past the record's end (bodyLength at byte 84).
    data[len + 84..len + 88].copy_from_slice(&i32::MAX.to_be_bytes());
    let batch = decode_messages_skipping(&Bytes::from(data), &DecodeOptions::default());
    assert_eq!(offsets(&batch.messages), vec![100, 102]);
    assert!(matches!(
        batch.skipped[0].error,
        CodecError::Truncated { what: "body" }
    ));
}

#[test]
fn skipping_decoder_stops_where_no_record_boundary_is_left() {
    let (mut data, len) = three_records();
    // An unusable totalSize: nothing says where the third record starts.
    data[len..len + 4].copy_from_slice(&(-1i32).to_be_bytes());
    let total = data.len();
    let batch = decode_messages_skipping(&Bytes::from(data), &DecodeOptions::default());
    assert_eq!(offsets(&batch.messages), vec![100]);
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].skipped_bytes, total - len);

    // A truncated last record is skipped the same way, after the good ones.
    let (data, len) = three_records();
    let cut = Bytes::from(data[..2 * len + 10].to_vec());
    let batch = decode_messages_skipping(&cut, &DecodeOptions::default());
    assert_eq!(offsets(&batch.messages), vec![100, 101]);
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].skipped_bytes, 10);
}

#[test]
fn skipping_decoder_equals_the_strict_one_on_good_bodies() {
    for name in ["v1_ipv4.bin", "compressed_batch.bin"] {
        let body = vector(name);
        let batch = decode_messages_skipping(&body, &DecodeOptions::default());
        assert!(batch.skipped.is_empty(), "{name}");
        assert_eq!(batch.messages, decode_messages(&body).unwrap(), "{name}");
    }
}
