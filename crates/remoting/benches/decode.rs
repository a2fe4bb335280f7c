//! Pull-batch decoding throughput: 32-message batches as a broker returns them for one
//! pull, with plain 100 B and 1 KiB bodies and with compressed 1 KiB bodies.
//!
//! Run: `cargo bench -p rocketmq-remoting --bench decode`. Throughput is reported in
//! elements (messages) per second.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rocketmq_remoting::message::compression::{compress_lz4, compress_zstd};
use rocketmq_remoting::message::{
    compress_zlib, decode_messages, encode_stored, sysflag, StoredMessage,
};

const BATCH: usize = 32;

#[derive(Clone, Copy)]
enum Body {
    Plain,
    Zlib,
    Lz4,
    Zstd,
}

/// A body that compresses about as well as typical JSON payloads.
fn payload(size: usize, seed: usize) -> Vec<u8> {
    let text = format!(
        "{{\"order\":{seed},\"user\":\"user-{}\",\"items\":[\"sku-1\",\"sku-2\"],\"note\":\"",
        seed * 7919
    );
    let mut body = text.into_bytes();
    let mut x = seed as u32 | 1;
    while body.len() < size {
        // xorshift: some entropy so the compressors do real work.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        body.push(b"abcdefghijklmnopqrstuvwxyz     "[(x % 31) as usize]);
    }
    body.truncate(size);
    body
}

fn batch(body_size: usize, kind: Body) -> Bytes {
    let mut out = BytesMut::new();
    for i in 0..BATCH {
        let plain = payload(body_size, i);
        let (body, flag) = match kind {
            Body::Plain => (plain, 0),
            Body::Zlib => (compress_zlib(&plain, 5).unwrap(), sysflag::COMPRESSED),
            Body::Lz4 => (
                compress_lz4(&plain).unwrap(),
                sysflag::COMPRESSED | sysflag::COMPRESSION_LZ4,
            ),
            Body::Zstd => (
                compress_zstd(&plain),
                sysflag::COMPRESSED | sysflag::COMPRESSION_ZSTD,
            ),
        };
        let mut properties = rocketmq_remoting::message::Properties::default();
        properties.insert("TAGS", "TagA");
        properties.insert("KEYS", format!("order-{i} user-{i}"));
        properties.insert("UNIQ_KEY", format!("7F0000010B5D1B6B6B6B0000AB12{i:04X}"));
        properties.insert("WAIT", "true");
        properties.insert("MIN_OFFSET", "0");
        properties.insert("MAX_OFFSET", "1000000");
        properties.insert("CLUSTER", "DefaultCluster");
        let message = StoredMessage {
            topic: "BenchmarkTopic".into(),
            flag: 0,
            properties,
            body,
            queue_id: 1,
            queue_offset: 1000 + i as i64,
            commit_log_offset: 1_000_000 + (i * 2000) as i64,
            sys_flag: flag,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.5:50000".parse().unwrap(),
            store_timestamp: 1_700_000_000_010,
            store_host: "10.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            v2_magic: false,
        };
        encode_stored(&message, &mut out).unwrap();
    }
    out.freeze()
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("pull_batch_decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    let cases = [
        ("plain_100B", 100, Body::Plain),
        ("plain_1KiB", 1024, Body::Plain),
        ("zlib_1KiB", 1024, Body::Zlib),
        // The Java producer compresses only bodies above 4 KiB, so this is the usual case.
        ("zlib_16KiB", 16 * 1024, Body::Zlib),
        ("lz4_1KiB", 1024, Body::Lz4),
        ("zstd_1KiB", 1024, Body::Zstd),
    ];
    for (name, size, kind) in cases {
        let body = batch(size, kind);
        assert_eq!(decode_messages(&body).unwrap().len(), BATCH);
        group.bench_function(name, |b| {
            b.iter(|| decode_messages(black_box(&body)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
