//! MessageSysFlag bits of a stored or sent message.

/// The stored body is compressed.
pub const COMPRESSED: i32 = 0x1;
/// Several tags (unused by current producers).
pub const MULTI_TAGS: i32 = 0x2;
/// Mask of the two transaction-type bits.
pub const TRANSACTION_MASK: i32 = 0xC;
/// Transaction type: not transactional.
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// Transaction type: prepared (half) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Transaction type: commit.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Transaction type: rollback.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// The born host is IPv6 (16 address bytes).
pub const BORNHOST_V6: i32 = 0x10;
/// The store host is IPv6 (16 address bytes).
pub const STOREHOST_V6: i32 = 0x20;
/// With [`INNER_BATCH`]: the body holds several inner messages to split.
pub const NEED_UNWRAP: i32 = 0x40;
/// A broker-side batch record.
pub const INNER_BATCH: i32 = 0x80;
/// Mask of the compression-type bits; `(flag & MASK) >> 8` is the type.
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
/// Compression type bits for LZ4.
pub const COMPRESSION_LZ4: i32 = 0x100;
/// Compression type bits for ZSTD.
pub const COMPRESSION_ZSTD: i32 = 0x200;
/// Compression type bits for ZLIB.
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// Whether every bit of `bits` is set in `flag`.
pub fn has(flag: i32, bits: i32) -> bool {
    flag & bits == bits
}
