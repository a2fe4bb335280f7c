//! Properties, tag hashes, message ids and the producer-side encodings.
//!
//! Expected values are hand-computed from the Java sources named in each test
//! (`MessageDecoder.string2messageProperties`, `String.hashCode`,
//! `MessageDecoder.encodeMessage`, `MessageClientIDSetter`).

use std::net::IpAddr;

use bytes::Bytes;
use rocketmq_remoting::message::{
    compress_zlib, decode_properties, decode_properties_bytes, decompress, encode_batch,
    encode_properties, tag_hash, CompressionType, Message, UniqIdGenerator,
};

fn map(pairs: &[(&str, &str)]) -> rocketmq_remoting::message::Properties {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn properties_from_bytes_replace_invalid_utf8_as_decoding_the_whole_string_would() {
    let cases: [&[u8]; 4] = [
        b"TAGS\x01Tag\xffA\x02KEYS\x01k1 k2\x02",
        // A multi-byte sequence cut by a separator, and one cut by the end.
        b"na\xe2\x01v\xe2\x82\x02k\x01\xe2\x82",
        b"\xff\x01\xfe\x02",
        "caf\u{e9}\u{1}\u{20ac}\u{2}".as_bytes(),
    ];
    for raw in cases {
        assert_eq!(
            decode_properties_bytes(raw),
            decode_properties(&String::from_utf8_lossy(raw)),
            "{raw:?}"
        );
    }
    assert_eq!(
        decode_properties_bytes(b"k\x01v\xff\x02"),
        map(&[("k", "v\u{fffd}")])
    );
}

#[test]
fn properties_parse_follows_java_rules() {
    // Ordinary entries; the last one also ends with \x02.
    assert_eq!(
        decode_properties("TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}"),
        map(&[("TAGS", "TagA"), ("KEYS", "k1 k2")])
    );
    // A missing final separator still yields the last entry.
    assert_eq!(decode_properties("a\u{1}b"), map(&[("a", "b")]));
    // Empty name or empty value: dropped. Pieces shorter than 3 chars: dropped.
    assert_eq!(
        decode_properties("\u{1}v\u{2}k\u{1}\u{2}x\u{2}\u{2}"),
        map(&[])
    );
    // No separator in a piece: dropped; later pieces still parse.
    assert_eq!(
        decode_properties("novalue\u{2}k\u{1}v\u{2}"),
        map(&[("k", "v")])
    );
    // The first \x01 splits; the value keeps any later \x01.
    assert_eq!(
        decode_properties("k\u{1}v\u{1}w\u{2}"),
        map(&[("k", "v\u{1}w")])
    );
    // A later duplicate wins (HashMap.put).
    assert_eq!(
        decode_properties("k\u{1}1\u{2}k\u{1}2\u{2}"),
        map(&[("k", "2")])
    );
    // Non-ASCII names and values.
    assert_eq!(
        decode_properties("标签\u{1}值😀\u{2}"),
        map(&[("标签", "值😀")])
    );
    assert!(decode_properties("").is_empty());
}

#[test]
fn properties_encode_sorted_and_terminated() {
    let props = map(&[("b", "2"), ("a", "1")]);
    assert_eq!(encode_properties(&props), "a\u{1}1\u{2}b\u{1}2\u{2}");
    assert_eq!(decode_properties(&encode_properties(&props)), props);
    assert_eq!(encode_properties(&Default::default()), "");
}

#[test]
fn tag_hash_matches_java_string_hash_code() {
    assert_eq!(tag_hash("TagA"), 2_598_919);
    assert_eq!(tag_hash("TagB"), 2_598_920);
    assert_eq!(tag_hash(""), 0);
    // '标' U+6807, '签' U+7B7E: 26631*31 + 31614.
    assert_eq!(tag_hash("标签"), 857_175);
    // Outside the BMP: the two UTF-16 surrogates D83D DE00 are hashed, not the code point.
    assert_eq!(tag_hash("😀"), 0xD83D * 31 + 0xDE00);
    assert_eq!(tag_hash("café"), 3_045_921);
    // Wrapping arithmetic (values from Python emulating Java's int overflow).
    assert_eq!(tag_hash(&"a".repeat(20)), 1_542_361_408);
    assert_eq!(tag_hash("TopicTest-中文-😀"), -1_827_859_318);
}

#[test]
fn uniq_key_layout() {
    let ip: IpAddr = "10.0.0.5".parse().unwrap();
    let generator = UniqIdGenerator::with_salt(ip, 0x0001_3039, 0xDEAD_BEEF);
    // 2024-02-29T12:34:56.789Z is 2,464,496,789 ms after 2024-02-01T00:00Z (UTC);
    // as an i32 that is negative, as in Java's (int) cast: 0x92E5_3C95.
    let id = generator.next_at(1_709_210_096_789);
    assert_eq!(id, "0A0000053039DEADBEEF92E53C950000");
    let next = generator.next_at(1_709_210_096_789);
    assert_eq!(&next[28..], "0001", "counter increments");
    assert_eq!(id.len(), 32);

    let v6 = UniqIdGenerator::with_salt("::1".parse().unwrap(), 1, 2).next_at(0);
    assert_eq!(v6.len(), 56);
}

#[test]
fn message_helpers_set_java_properties() {
    let mut m = Message::new("T", Bytes::from_static(b"x"));
    m.set_tags("TagA");
    m.set_keys(["k1", "", "k2"]);
    m.set_delay_level(3);
    m.set_wait_store_msg_ok(true);
    m.set_uniq_key_if_absent(|| "ID1".to_owned());
    m.set_uniq_key_if_absent(|| "ID2".to_owned());
    assert_eq!(
        m.properties,
        map(&[
            ("TAGS", "TagA"),
            ("KEYS", "k1 k2"),
            ("DELAY", "3"),
            ("WAIT", "true"),
            ("UNIQ_KEY", "ID1")
        ])
    );
    m.set_delay_level(0);
    assert_eq!(m.property("DELAY"), None);
    assert_eq!(
        m.encoded_properties(),
        "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ID1\u{2}WAIT\u{1}true\u{2}"
    );
}

#[test]
fn batch_body_matches_java_encode_message_layout() {
    let mut m1 = Message::new("T", Bytes::from_static(b"ab"));
    m1.flag = 5;
    m1.put_property("k", "v");
    let m2 = Message::new("T", Bytes::new());
    let body = encode_batch(&[m1, m2]).unwrap();
    #[rustfmt::skip]
    let expected: Vec<u8> = [
        // totalSize = 4+4+4+4 + 4+2 + 2+4 = 28
        &[0, 0, 0, 28][..], &[0, 0, 0, 0], &[0, 0, 0, 0], &[0, 0, 0, 5],
        &[0, 0, 0, 2], b"ab",
        &[0, 4], b"k\x01v\x02",
        // empty message: 4+4+4+4 + 4 + 2 = 22
        &[0, 0, 0, 22], &[0, 0, 0, 0], &[0, 0, 0, 0], &[0, 0, 0, 0],
        &[0, 0, 0, 0],
        &[0, 0],
    ]
    .concat();
    assert_eq!(&body[..], &expected[..]);
}

#[test]
fn zlib_round_trip_and_java_header() {
    let data = "hello hello hello hello".repeat(50);
    let packed = compress_zlib(data.as_bytes(), 5).unwrap();
    // zlib header: CMF 0x78; level 5 is "default" class → FLG 0x9C (as Java's Deflater(5)).
    assert_eq!(&packed[..2], &[0x78, 0x9C]);
    let unpacked = decompress(CompressionType::Zlib, &packed, 1 << 20).unwrap();
    assert_eq!(unpacked, data.as_bytes());
    // Every truncation of the stream is an error, never a short body.
    for cut in 0..packed.len() {
        assert!(
            decompress(CompressionType::Zlib, &packed[..cut], 1 << 20).is_err(),
            "cut at {cut}"
        );
    }
    // The limit is exact: the full size passes, one byte less fails.
    assert!(decompress(CompressionType::Zlib, &packed, data.len()).is_ok());
    assert!(decompress(CompressionType::Zlib, &packed, data.len() - 1).is_err());
}

#[test]
fn a_decompressed_body_holds_no_spare_capacity_whatever_came_before() {
    // Highly repetitive bodies shrink a hundredfold; the consumer caches the decompressed
    // body for as long as it waits, so spare capacity would be held memory.
    let big = "a".repeat(300_000);
    let small = format!("{{\"i\":7,\"p\":\"{}\"}}", "a".repeat(16_000));
    for data in [&small, &big, &small] {
        let packed = compress_zlib(data.as_bytes(), 5).unwrap();
        let unpacked = decompress(CompressionType::Zlib, &packed, 1 << 20).unwrap();
        assert_eq!(unpacked, data.as_bytes());
        assert_eq!(unpacked.capacity(), data.len());
    }
    // A limit below what an earlier, larger body left as scratch room still holds.
    let packed = compress_zlib(small.as_bytes(), 5).unwrap();
    assert!(decompress(CompressionType::Zlib, &packed, small.len() - 1).is_err());
    assert!(decompress(CompressionType::Zlib, &packed, small.len()).is_ok());
}

#[test]
fn lz4_and_zstd_round_trip() {
    use rocketmq_remoting::message::compression::{compress_lz4, compress_zstd};
    let data = b"0123456789".repeat(300);
    let lz4 = compress_lz4(&data).unwrap();
    assert_eq!(&lz4[..4], &[0x04, 0x22, 0x4D, 0x18], "LZ4 frame magic");
    assert_eq!(
        decompress(CompressionType::Lz4, &lz4, 1 << 20).unwrap(),
        data
    );
    let zstd = compress_zstd(&data);
    assert_eq!(&zstd[..4], &[0x28, 0xB5, 0x2F, 0xFD], "zstd frame magic");
    assert_eq!(
        decompress(CompressionType::Zstd, &zstd, 1 << 20).unwrap(),
        data
    );
}

#[test]
fn compression_type_from_sys_flag() {
    assert_eq!(
        CompressionType::from_sys_flag(0x1).unwrap(),
        CompressionType::Zlib
    );
    assert_eq!(
        CompressionType::from_sys_flag(0x101).unwrap(),
        CompressionType::Lz4
    );
    assert_eq!(
        CompressionType::from_sys_flag(0x201).unwrap(),
        CompressionType::Zstd
    );
    assert_eq!(
        CompressionType::from_sys_flag(0x301).unwrap(),
        CompressionType::Zlib
    );
    assert!(CompressionType::from_sys_flag(0x401).is_err());
}
