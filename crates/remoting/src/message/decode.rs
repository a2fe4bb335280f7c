//! Decoding of stored messages: the body of a successful pull, or the body of a
//! CONSUME_MESSAGE_DIRECTLY request.
//!
//! Layout (protocol.md §3.1): totalSize, magic, bodyCRC, queueId, flag, queueOffset,
//! commitLogOffset, sysFlag, bornTimestamp, bornHost, storeTimestamp, storeHost,
//! reconsumeTimes, preparedTransactionOffset, body, topic, properties — all big-endian.
//!
//! Choices, where Java's decoder is silent or lax:
//! * A malformed record makes the whole batch fail with a typed error (Java returns the
//!   messages before it and drops the rest silently). [`MessageIter`] yields the good
//!   records first for a caller that wants Java's behaviour, and
//!   [`decode_messages_skipping`] goes further for the consumer: it skips a bad record
//!   whose `totalSize` still frames it and keeps decoding the records after it, so one
//!   damaged message costs one message, not the rest of the batch.
//! * Each record is parsed inside its `totalSize`; fields may not overrun it, and bytes
//!   after the last field are skipped (room for future fields).
//! * Negative body, topic or properties lengths are errors (Java skips some of them and
//!   then misreads the rest).
//! * Topic and properties are decoded as UTF-8 with replacement characters, as Java's
//!   `new String(bytes, UTF_8)` does, so one odd producer cannot stall a queue.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::compression::{decompress, CompressionType};
use super::ids::offset_msg_id;
use super::properties::{decode_properties_bytes, keys, Properties};
use super::sysflag;
use crate::error::CodecError;

/// Magic code of a V1 record (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic code of a V2 record (2-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;

/// Bytes of a record with IPv4 hosts, empty body, empty topic and no properties.
const MIN_RECORD_SIZE: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2;

/// Knobs of the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The largest body a decompression may produce.
    pub max_decompressed_body: usize,
    /// Split broker-side inner batches into their messages (as the Java consumer does).
    pub unwrap_inner_batch: bool,
    /// Check each stored body against its bodyCRC (Java's client does not).
    pub verify_body_crc: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_decompressed_body: 64 * 1024 * 1024,
            unwrap_inner_batch: true,
            verify_body_crc: false,
        }
    }
}

/// A message as stored by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    /// The user flag from the producer.
    pub flag: i32,
    pub properties: Properties,
    /// The body, decompressed. A zero-copy slice of the input when it was not compressed.
    pub body: Bytes,
    /// The record's totalSize.
    pub store_size: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// Physical offset in the commit log.
    pub commit_log_offset: i64,
    /// MessageSysFlag; the COMPRESSED bit is cleared once the body is decompressed.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// Store host + commit-log offset as hex (see [`offset_msg_id`]).
    pub offset_msg_id: String,
    /// The broker group the message was read from. Not in the record: the decoder leaves
    /// it empty and the consumer fills it in from the queue it pulled (as Java's
    /// `MessageExt.brokerName`).
    pub broker_name: String,
}

impl MessageExt {
    /// The property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// The id a user sees: UNIQ_KEY when present, else the offsetMsgId.
    pub fn msg_id(&self) -> &str {
        self.property(keys::UNIQ_KEY)
            .unwrap_or(self.offset_msg_id.as_str())
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The business keys (the KEYS property split on spaces).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.property(keys::KEYS)
            .unwrap_or("")
            .split(keys::KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }

    /// Whether this record is a broker-side batch still to be split.
    pub fn is_inner_batch(&self) -> bool {
        sysflag::has(self.sys_flag, sysflag::INNER_BATCH | sysflag::NEED_UNWRAP)
    }
}

/// Decodes every message of a pull body with [`DecodeOptions::default`].
pub fn decode_messages(body: &Bytes) -> Result<Vec<MessageExt>, CodecError> {
    decode_messages_with(body, &DecodeOptions::default())
}

/// Decodes every message of a pull body; the first malformed record fails the call.
pub fn decode_messages_with(
    body: &Bytes,
    options: &DecodeOptions,
) -> Result<Vec<MessageExt>, CodecError> {
    MessageIter::new(body.clone(), options.clone()).collect()
}

/// A record [`decode_messages_skipping`] could not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// Where the record starts in the body.
    pub position: usize,
    /// Bytes skipped: the record's `totalSize`, or everything left in the body when the
    /// `totalSize` itself was unusable (then no later record can be found).
    pub skipped_bytes: usize,
    /// Why the record was skipped.
    pub error: CodecError,
}

/// What [`decode_messages_skipping`] kept and what it skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedBatch {
    /// The good messages, in body order (inner batches split when the options say so).
    pub messages: Vec<MessageExt>,
    /// The records that could not be decoded, in body order.
    pub skipped: Vec<SkippedRecord>,
}

/// Decodes every message of a pull body it can. A record that fails to decode is
/// skipped when its `totalSize` frames it (at least a minimal record, within the body)
/// and decoding goes on with the next record; only an unusable `totalSize` ends the
/// batch, because nothing then says where the next record starts. An inner batch that
/// fails to split is skipped whole.
pub fn decode_messages_skipping(body: &Bytes, options: &DecodeOptions) -> DecodedBatch {
    let mut batch = DecodedBatch::default();
    let mut pos = 0usize;
    while pos < body.len() {
        let mut reader = Reader::new(body, pos);
        let message = match decode_record(&mut reader, options) {
            Ok(message) => message,
            Err(error) => {
                let framed = framed_record_len(body, pos);
                let skipped_bytes = framed.unwrap_or(body.len() - pos);
                batch.skipped.push(SkippedRecord {
                    position: pos,
                    skipped_bytes,
                    error,
                });
                if framed.is_none() {
                    break;
                }
                pos += skipped_bytes;
                continue;
            }
        };
        let record_len = reader.record_end - pos;
        if options.unwrap_inner_batch && message.is_inner_batch() {
            match unwrap_inner_batch(&message) {
                Ok(inner) => batch.messages.extend(inner),
                Err(error) => batch.skipped.push(SkippedRecord {
                    position: pos,
                    skipped_bytes: record_len,
                    error,
                }),
            }
        } else {
            batch.messages.push(message);
        }
        pos = reader.record_end;
    }
    batch
}

/// The length of the record at `pos` when its `totalSize` is usable: at least a minimal
/// record and no longer than what is left of the body.
fn framed_record_len(body: &Bytes, pos: usize) -> Option<usize> {
    let bytes = body.get(pos..pos.checked_add(4)?)?;
    let size = usize::try_from(i32::from_be_bytes(bytes.try_into().ok()?)).ok()?;
    (MIN_RECORD_SIZE..=body.len() - pos)
        .contains(&size)
        .then_some(size)
}

/// Decodes the single stored message of a CONSUME_MESSAGE_DIRECTLY or
/// CHECK_TRANSACTION_STATE body (inner batches are not split).
pub fn decode_message(body: &Bytes) -> Result<MessageExt, CodecError> {
    let options = DecodeOptions::default();
    let mut reader = Reader::new(body, 0);
    decode_record(&mut reader, &options)
}

/// Lazily decodes a pull body, one message per item. After the first error it yields
/// nothing more.
#[derive(Debug)]
pub struct MessageIter {
    body: Bytes,
    pos: usize,
    options: DecodeOptions,
    pending: VecDeque<MessageExt>,
    failed: bool,
}

impl MessageIter {
    /// An iterator over the records of `body`.
    pub fn new(body: Bytes, options: DecodeOptions) -> Self {
        Self {
            body,
            pos: 0,
            options,
            pending: VecDeque::new(),
            failed: false,
        }
    }

    fn fail(&mut self, err: CodecError) -> CodecError {
        self.failed = true;
        err
    }

    fn next_record(&mut self) -> Result<MessageExt, CodecError> {
        let mut reader = Reader::new(&self.body, self.pos);
        let message = decode_record(&mut reader, &self.options)?;
        self.pos = reader.record_end;
        Ok(message)
    }
}

impl Iterator for MessageIter {
    type Item = Result<MessageExt, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        // A loop, not recursion: a body of many empty inner batches yields nothing for
        // many records in a row.
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some(Ok(message));
            }
            if self.failed || self.pos >= self.body.len() {
                return None;
            }
            let message = match self.next_record() {
                Ok(message) => message,
                Err(err) => return Some(Err(self.fail(err))),
            };
            if !(self.options.unwrap_inner_batch && message.is_inner_batch()) {
                return Some(Ok(message));
            }
            match unwrap_inner_batch(&message) {
                Ok(inner) => self.pending.extend(inner),
                Err(err) => return Some(Err(self.fail(err))),
            }
        }
    }
}

/// A bounds-checked big-endian reader over one record.
struct Reader<'a> {
    data: &'a Bytes,
    pos: usize,
    record_end: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a Bytes, pos: usize) -> Self {
        Self {
            data,
            pos,
            record_end: data.len(),
        }
    }

    /// Takes `len` bytes, never past the end of the current record.
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        // `let else` rather than `ok_or`: the error is built only on failure (building it
        // eagerly and dropping it again showed up in the decoder's profile).
        let Some(slice) = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.record_end)
            .and_then(|end| self.data.get(self.pos..end))
        else {
            return Err(CodecError::Truncated { what });
        };
        self.pos += len;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let slice = self.take(N, what)?;
        <[u8; N]>::try_from(slice).map_err(|_| CodecError::Truncated { what })
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, CodecError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, CodecError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, CodecError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// A length field that must be ≥ 0.
    fn length(&mut self, raw: i64, what: &'static str) -> Result<usize, CodecError> {
        usize::try_from(raw).map_err(|_| CodecError::InvalidLength { what, len: raw })
    }

    fn host(&mut self, ipv6: bool, what: &'static str) -> Result<SocketAddr, CodecError> {
        let ip = if ipv6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(what)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(what)?))
        };
        let port = self.i32(what)?;
        let port =
            u16::try_from(port).map_err(|_| CodecError::invalid(what, &format!("port {port}")))?;
        Ok(SocketAddr::new(ip, port))
    }
}

/// Decodes the record at `reader.pos` and leaves `reader.record_end` at its end.
fn decode_record(
    reader: &mut Reader<'_>,
    options: &DecodeOptions,
) -> Result<MessageExt, CodecError> {
    let start = reader.pos;
    let store_size = reader.i32("totalSize")?;
    let size = reader.length(i64::from(store_size), "totalSize")?;
    let available = reader.data.len().saturating_sub(start);
    if size < MIN_RECORD_SIZE || size > available {
        return Err(if size > available && size >= MIN_RECORD_SIZE {
            CodecError::Truncated {
                what: "message record",
            }
        } else {
            CodecError::InvalidLength {
                what: "totalSize",
                len: i64::from(store_size),
            }
        });
    }
    reader.record_end = start + size;

    let magic = reader.i32("magicCode")?;
    let long_topic = match magic {
        MAGIC_V1 => false,
        MAGIC_V2 => true,
        other => return Err(CodecError::BadMagic(other as u32)),
    };
    let body_crc = reader.i32("bodyCRC")?;
    let queue_id = reader.i32("queueId")?;
    let flag = reader.i32("flag")?;
    let queue_offset = reader.i64("queueOffset")?;
    let commit_log_offset = reader.i64("commitLogOffset")?;
    let mut sys_flag = reader.i32("sysFlag")?;
    let born_timestamp = reader.i64("bornTimestamp")?;
    let born_host = reader.host(sysflag::has(sys_flag, sysflag::BORNHOST_V6), "bornHost")?;
    let store_timestamp = reader.i64("storeTimestamp")?;
    let store_host = reader.host(sysflag::has(sys_flag, sysflag::STOREHOST_V6), "storeHost")?;
    let reconsume_times = reader.i32("reconsumeTimes")?;
    let prepared_transaction_offset = reader.i64("preparedTransactionOffset")?;

    let body_len = reader.i32("bodyLength")?;
    let body_len = reader.length(i64::from(body_len), "bodyLength")?;
    let body_start = reader.pos;
    let stored_body = reader.take(body_len, "body")?;
    if options.verify_body_crc {
        let crc = (crc32fast::hash(stored_body) & 0x7FFF_FFFF) as i32;
        if crc != body_crc {
            return Err(CodecError::invalid("bodyCRC", &body_crc.to_string()));
        }
    }
    let body = if sysflag::has(sys_flag, sysflag::COMPRESSED) && body_len > 0 {
        let algorithm = CompressionType::from_sys_flag(sys_flag)?;
        let plain = decompress(algorithm, stored_body, options.max_decompressed_body)?;
        sys_flag &= !sysflag::COMPRESSED;
        Bytes::from(plain)
    } else {
        reader.data.slice(body_start..body_start + body_len)
    };

    let topic_len = if long_topic {
        i64::from(reader.i16("topicLength")?)
    } else {
        i64::from(reader.u8("topicLength")? as i8)
    };
    let topic_len = reader.length(topic_len, "topicLength")?;
    let topic = String::from_utf8_lossy(reader.take(topic_len, "topic")?).into_owned();

    let props_len = reader.i16("propertiesLength")?;
    let props_len = reader.length(i64::from(props_len), "propertiesLength")?;
    let properties = decode_properties_bytes(reader.take(props_len, "properties")?);

    let offset_msg_id = offset_msg_id(&store_host, commit_log_offset);
    Ok(MessageExt {
        topic,
        flag,
        properties,
        body,
        store_size,
        body_crc,
        queue_id,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        offset_msg_id,
        broker_name: String::new(),
    })
}

/// Splits a broker-side batch record into its messages (Java
/// `MessageDecoder.decodeMessage(MessageExt, List)`): message i gets queueOffset + i and
/// the outer record's topic, queue, hosts, times, sysFlag and commit-log offset; flag, body
/// and properties come from the inner encoding (see [`super::batch`]).
pub fn unwrap_inner_batch(outer: &MessageExt) -> Result<Vec<MessageExt>, CodecError> {
    let mut messages = Vec::new();
    let mut pos = 0usize;
    let data = &outer.body;
    let mut index: i64 = 0;
    while pos < data.len() {
        let mut reader = Reader::new(data, pos);
        let total = reader.i32("inner totalSize")?;
        let total_len = reader.length(i64::from(total), "inner totalSize")?;
        let end = pos
            .checked_add(total_len)
            .filter(|&end| end <= data.len() && total_len >= 4 + 4 + 4 + 4 + 4 + 2)
            .ok_or(CodecError::InvalidLength {
                what: "inner totalSize",
                len: i64::from(total),
            })?;
        reader.record_end = end;
        let _magic = reader.i32("inner magicCode")?;
        let _crc = reader.i32("inner bodyCRC")?;
        let flag = reader.i32("inner flag")?;
        let body_len = reader.i32("inner bodyLength")?;
        let body_len = reader.length(i64::from(body_len), "inner bodyLength")?;
        let body_start = reader.pos;
        reader.take(body_len, "inner body")?;
        let props_len = reader.i16("inner propertiesLength")?;
        let props_len = reader.length(i64::from(props_len), "inner propertiesLength")?;
        let properties = decode_properties_bytes(reader.take(props_len, "inner properties")?);
        messages.push(MessageExt {
            topic: outer.topic.clone(),
            flag,
            properties,
            body: data.slice(body_start..body_start + body_len),
            store_size: total,
            body_crc: 0,
            queue_id: outer.queue_id,
            queue_offset: outer.queue_offset.saturating_add(index),
            commit_log_offset: outer.commit_log_offset,
            sys_flag: outer.sys_flag,
            born_timestamp: outer.born_timestamp,
            born_host: outer.born_host,
            store_timestamp: outer.store_timestamp,
            store_host: outer.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            offset_msg_id: outer.offset_msg_id.clone(),
            broker_name: outer.broker_name.clone(),
        });
        index += 1;
        pos = end;
    }
    Ok(messages)
}
