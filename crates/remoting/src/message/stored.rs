//! Encoder of stored-message records, the inverse of [`super::decode`].
//!
//! A broker writes these; a client needs them only to build test vectors, benchmarks and
//! fuzz seeds, and to answer nothing. The layout is Java's `MessageDecoder.encode`, plus
//! the V2 magic and IPv6 hosts.

use std::net::{IpAddr, SocketAddr};

use bytes::{BufMut, BytesMut};

use super::decode::{MAGIC_V1, MAGIC_V2};
use super::properties::{encode_properties, Properties};
use super::sysflag;
use crate::error::CodecError;

/// The fields of one stored record. `body` is written as given (already compressed when
/// `sys_flag` says so); host flags in `sys_flag` are derived from the addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub topic: String,
    pub flag: i32,
    pub properties: Properties,
    pub body: Vec<u8>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// Write the V2 magic (2-byte topic length) instead of V1.
    pub v2_magic: bool,
}

fn put_host(out: &mut BytesMut, host: &SocketAddr) {
    match host.ip() {
        IpAddr::V4(v4) => out.put_slice(&v4.octets()),
        IpAddr::V6(v6) => out.put_slice(&v6.octets()),
    }
    out.put_i32(i32::from(host.port()));
}

fn host_len(host: &SocketAddr) -> usize {
    if host.is_ipv6() {
        16 + 4
    } else {
        4 + 4
    }
}

fn unencodable(what: &'static str, len: usize) -> CodecError {
    CodecError::Unencodable {
        what,
        message: format!("length {len} does not fit its length field"),
    }
}

/// Appends `message` as one stored record to `out`.
pub fn encode_stored(message: &StoredMessage, out: &mut BytesMut) -> Result<(), CodecError> {
    let properties = encode_properties(&message.properties);
    let topic = message.topic.as_bytes();
    let topic_len_size = if message.v2_magic { 2 } else { 1 };
    let max_topic = if message.v2_magic {
        i16::MAX as usize
    } else {
        i8::MAX as usize
    };
    if topic.len() > max_topic {
        return Err(unencodable("topic", topic.len()));
    }
    let props_len =
        i16::try_from(properties.len()).map_err(|_| unencodable("properties", properties.len()))?;
    let body_len =
        i32::try_from(message.body.len()).map_err(|_| unencodable("body", message.body.len()))?;
    let total = 4
        + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&message.born_host)
        + 8
        + host_len(&message.store_host)
        + 4
        + 8
        + 4
        + message.body.len()
        + topic_len_size
        + topic.len()
        + 2
        + properties.len();
    let total_i32 = i32::try_from(total).map_err(|_| unencodable("record", total))?;

    let mut sys_flag = message.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if message.born_host.is_ipv6() {
        sys_flag |= sysflag::BORNHOST_V6;
    }
    if message.store_host.is_ipv6() {
        sys_flag |= sysflag::STOREHOST_V6;
    }

    out.reserve(total);
    out.put_i32(total_i32);
    out.put_i32(if message.v2_magic { MAGIC_V2 } else { MAGIC_V1 });
    out.put_i32((crc32fast::hash(&message.body) & 0x7FFF_FFFF) as i32);
    out.put_i32(message.queue_id);
    out.put_i32(message.flag);
    out.put_i64(message.queue_offset);
    out.put_i64(message.commit_log_offset);
    out.put_i32(sys_flag);
    out.put_i64(message.born_timestamp);
    put_host(out, &message.born_host);
    out.put_i64(message.store_timestamp);
    put_host(out, &message.store_host);
    out.put_i32(message.reconsume_times);
    out.put_i64(message.prepared_transaction_offset);
    out.put_i32(body_len);
    out.put_slice(&message.body);
    if message.v2_magic {
        out.put_i16(topic.len() as i16);
    } else {
        out.put_u8(topic.len() as u8);
    }
    out.put_slice(topic);
    out.put_i16(props_len);
    out.put_slice(properties.as_bytes());
    Ok(())
}
