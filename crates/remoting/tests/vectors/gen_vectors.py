#!/usr/bin/env python3
"""Writes the binary stored-message vectors next to this file.

Each record is laid out from the Java commit-log format (MessageDecoder / CommitLog:
totalSize, magic, bodyCRC, queueId, flag, queueOffset, physicalOffset, sysFlag,
bornTimestamp, bornHost, storeTimestamp, storeHost, reconsumeTimes, preparedTxOffset,
body, topic, properties; big-endian), independently of the Rust encoder. Compressed
bodies come from Python's zlib and the PyPI packages `lz4` (frame format) and
`zstandard`. Run: python3 gen_vectors.py  (needs: pip install lz4 zstandard)
"""
import ipaddress
import os
import struct
import zlib

import lz4.frame
import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC_V1 = 0xDAA320A7
MAGIC_V2 = 0xDAA320AB


def props(pairs):
    return "".join(f"{k}\x01{v}\x02" for k, v in pairs).encode("utf-8")


def host(addr, port):
    return ipaddress.ip_address(addr).packed + struct.pack(">i", port)


def record(*, topic, body, stored_body=None, sys_flag=0, queue_id=0, flag=0, queue_offset=0,
           phys_offset=0, born_ts=0, born=("127.0.0.1", 0), store_ts=0,
           store=("127.0.0.1", 10911), reconsume=0, prep_tx=0, properties=b"", v2=False):
    stored = body if stored_body is None else stored_body
    born_b = host(*born)
    store_b = host(*store)
    if len(born_b) == 20:
        sys_flag |= 0x10
    if len(store_b) == 20:
        sys_flag |= 0x20
    t = topic.encode("utf-8")
    tail = (struct.pack(">i", len(stored)) + stored
            + (struct.pack(">h", len(t)) if v2 else struct.pack(">b", len(t))) + t
            + struct.pack(">h", len(properties)) + properties)
    head = (struct.pack(">I", MAGIC_V2 if v2 else MAGIC_V1)
            + struct.pack(">i", zlib.crc32(stored) & 0x7FFFFFFF)
            + struct.pack(">iiqqiq", queue_id, flag, queue_offset, phys_offset, sys_flag, born_ts)
            + born_b + struct.pack(">q", store_ts) + store_b
            + struct.pack(">iq", reconsume, prep_tx))
    rec = head + tail
    return struct.pack(">i", len(rec) + 4) + rec


def inner(body, properties, flag=0):
    rec = struct.pack(">iii", 0, 0, flag) + struct.pack(">i", len(body)) + body \
        + struct.pack(">h", len(properties)) + properties
    return struct.pack(">i", len(rec) + 4) + rec


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(name, len(data))


# 1. V1 magic, IPv4 hosts, typical producer properties (names in sorted order, so the Rust
#    encoder, which sorts, must reproduce this record byte for byte).
write("v1_ipv4.bin", record(
    topic="TopicTest", body=b"Hello RocketMQ", queue_id=3, flag=7, queue_offset=42,
    phys_offset=0x1234, born_ts=1700000000123, born=("192.168.1.20", 50123),
    store_ts=1700000000456, store=("10.0.0.1", 10911), reconsume=2,
    properties=props([("KEYS", "k1 k2"), ("TAGS", "TagA"),
                      ("UNIQ_KEY", "7F0000010B5D1B6B6B6B0000AB120000"), ("WAIT", "true")])))

# 2. V2 magic (2-byte topic length), 200-byte topic, IPv6 born and store hosts.
write("v2_ipv6.bin", record(
    topic="%RETRY%" + "g" * 193, body=b"v2 body", queue_id=0, queue_offset=7,
    phys_offset=987654321, born_ts=1, born=("2001:db8::1", 40000), store_ts=2,
    store=("fe80::1:2:3:4", 10921), properties=props([("TAGS", "TagB"), ("RETRY_TOPIC", "TopicTest")]),
    v2=True))

# 3. One batch with every compression type bit pattern.
plain = ("compressible payload " * 40).encode()
batch = b"".join([
    record(topic="T", body=plain, stored_body=zlib.compress(plain, 5), sys_flag=0x1,
           queue_offset=100, phys_offset=1000),                                    # type 0 = zlib
    record(topic="T", body=plain,
           stored_body=lz4.frame.compress(plain, block_size=lz4.frame.BLOCKSIZE_MAX4MB,
                                          block_linked=False, content_checksum=True),
           sys_flag=0x1 | 0x100, queue_offset=101, phys_offset=2000),              # type 1 = lz4
    record(topic="T", body=plain, stored_body=zstandard.ZstdCompressor(level=3).compress(plain),
           sys_flag=0x1 | 0x200, queue_offset=102, phys_offset=3000),              # type 2 = zstd
    record(topic="T", body=plain, stored_body=zlib.compress(plain, 9), sys_flag=0x1 | 0x300,
           queue_offset=103, phys_offset=4000),                                    # type 3 = zlib
])
write("compressed_batch.bin", batch)

# 4. Broker-side inner batch: INNER_BATCH (0x80) | NEED_UNWRAP (0x40), three inner messages.
inner_body = b"".join([
    inner(b"first", props([("TAGS", "a")]), flag=1),
    inner(b"second", props([("TAGS", "b"), ("KEYS", "x")]), flag=2),
    inner(b"", b"", flag=3),
])
write("inner_batch.bin", record(topic="BatchTopic", body=inner_body, sys_flag=0xC0, queue_id=1,
                                queue_offset=500, phys_offset=77777, store=("10.0.0.2", 10911)))
