//! The message properties string: `name \x01 value \x02` entries.

pub use super::property_map::Properties;

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
    // Room for the two entries a consumer adds to every pulled message (MIN_OFFSET and
    // MAX_OFFSET, as Java's PullAPIWrapper), so that adding them does not grow the map.
    const ADDED_BYTES: usize = 64;
    let entries = raw.iter().filter(|&&b| b == ENTRY_END).count() + 1;
    let Ok(text) = std::str::from_utf8(raw) else {
        // Rare: rebuilt entry by entry, each name and value decoded lossily.
        let mut map = Properties::with_capacity(entries + 2);
        for (start, separator, end) in entry_spans(raw) {
            map.insert(
                owned_text(&raw[start..separator]),
                owned_text(&raw[separator + 1..end]),
            );
        }
        return map;
    };
    let mut owned = String::with_capacity(raw.len() + 1 + ADDED_BYTES);
    owned.push_str(text);
    if !raw.is_empty() && raw.last() != Some(&ENTRY_END) {
        // The last entry's terminator, which the map's wire form keeps for every entry.
        owned.push(PROPERTY_SEPARATOR);
    }
    let mut spans: Vec<(usize, usize, usize)> = Vec::with_capacity(entries + 2);
    for span in entry_spans(raw) {
        let name = &raw[span.0..span.1];
        match spans.iter_mut().find(|(s, sep, _)| &raw[*s..*sep] == name) {
            // A later duplicate replaces the earlier one.
            Some(earlier) => *earlier = span,
            None => spans.push(span),
        }
    }
    Properties::from_parts(owned, spans)
}

const ENTRY_END: u8 = PROPERTY_SEPARATOR as u8;
const NAME_END: u8 = NAME_VALUE_SEPARATOR as u8;

/// Where each entry of `raw` Java keeps lies: its start, its name-value separator and its
/// end (where its terminator is or would be), in order. A piece without a separator, or
/// with an empty name or value, is not an entry.
fn entry_spans(raw: &[u8]) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut next = 0;
    raw.split(|&b| b == ENTRY_END).filter_map(move |piece| {
        let start = next;
        let end = start + piece.len();
        next = end + 1;
        let at = piece.iter().position(|&b| b == NAME_END)?;
        (at > 0 && at + 1 < piece.len()).then_some((start, start + at, end))
    })
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
    let mut entries: Vec<(&str, &str)> = properties.wire_entries().zip(properties.keys()).collect();
    entries.sort_unstable_by_key(|&(_, name)| name);
    let mut out = String::with_capacity(properties.wire_len());
    for (entry, _) in entries {
        out.push_str(entry);
    }
    out
}
