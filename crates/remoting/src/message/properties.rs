//! The message properties string: `name \x01 value \x02` entries.

use std::collections::HashMap;

/// Property map of a message. Hashed with foldhash rather than std's SipHash: a consumer
/// builds one map per pulled message, and SipHash was most of building it (bench/findings.md).
/// Its seeds are still random per process, so crafted names cannot pick the buckets.
pub type Properties = HashMap<String, String, foldhash::fast::RandomState>;

/// Separator between a name and its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminator of each entry.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Well-known property names (Java `MessageConst`).
pub mod keys {
    pub const TAGS: &str = "TAGS";
    /// Business keys separated by [`KEY_SEPARATOR`].
    pub const KEYS: &str = "KEYS";
    /// Separator inside [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
    /// Client-generated message id.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// "true": the producer waits for the store to finish.
    pub const WAIT: &str = "WAIT";
    /// Delay level 1..18.
    pub const DELAY: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MSG_TYPE: &str = "MSG_TYPE";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const TTL: &str = "TTL";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    pub const CRC32: &str = "__CRC32#";
    pub const BORN_HOST: &str = "__BORNHOST";
}

/// Parses a properties string with Java's `string2messageProperties` rules: split on
/// `\x02`; in each piece the first `\x01` must have at least one character before it and
/// one after it, otherwise the piece is ignored. The value keeps any further `\x01`.
/// A later duplicate name replaces an earlier one.
pub fn decode_properties(text: &str) -> Properties {
    decode_properties_bytes(text.as_bytes())
}

/// [`decode_properties`] of the bytes of a record: invalid UTF-8 is replaced as
/// `String::from_utf8_lossy` replaces it. Splitting before checking UTF-8 gives the same
/// entries as checking first: the separators are ASCII, never inside a multi-byte sequence,
/// and a replacement character is never a separator. Each name and value is checked on its
/// own, the common all-valid case without the lossy decoder's chunking.
pub fn decode_properties_bytes(raw: &[u8]) -> Properties {
    const ENTRY_END: u8 = PROPERTY_SEPARATOR as u8;
    const NAME_END: u8 = NAME_VALUE_SEPARATOR as u8;
    // Sized up front: one entry per separator is the common case, plus the two a consumer
    // adds to every pulled message (MIN_OFFSET and MAX_OFFSET, as Java's PullAPIWrapper),
    // which otherwise made every pulled message's map grow and rehash.
    let entries = raw.iter().filter(|&&b| b == ENTRY_END).count();
    let mut map = Properties::with_capacity_and_hasher(entries + 2, Default::default());
    for piece in raw.split(|&b| b == ENTRY_END) {
        let Some(at) = piece.iter().position(|&b| b == NAME_END) else {
            continue;
        };
        let (name, value) = (&piece[..at], &piece[at + 1..]);
        if !name.is_empty() && !value.is_empty() {
            map.insert(owned_text(name), owned_text(value));
        }
    }
    map
}

/// `bytes` as a String, invalid UTF-8 replaced.
fn owned_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Writes properties as Java's `messageProperties2String` does: every entry followed by
/// `\x02`, including the last. Entries are written in name order so the output is stable.
pub fn encode_properties(properties: &Properties) -> String {
    let mut names: Vec<&String> = properties.keys().collect();
    names.sort();
    let len: usize = properties.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for name in names {
        if let Some(value) = properties.get(name) {
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(value);
            out.push(PROPERTY_SEPARATOR);
        }
    }
    out
}
