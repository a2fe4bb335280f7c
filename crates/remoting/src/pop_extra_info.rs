//! The receipt handle of a popped message (Java's `extraInfo`, stored as the `POP_CK`
//! property): eight space-separated fields that tell the broker which checkpoint to close
//! when the message is acknowledged, or to move when its invisible time changes:
//!
//! `ckQueueOffset popTime invisibleTime reviveQid retryMark brokerName queueId queueOffset`
//!
//! `retryMark` says which topic the message was read from: `0` the topic itself, `1` the
//! group's POP retry topic `%RETRY%group_topic`, `2` the v2 form `%RETRY%group+topic`.
//! The POP response carries the per-queue pieces (`startOffsetInfo`, `msgOffsetInfo`) from
//! which the client builds the handle of a message that does not come with one.

use std::collections::HashMap;
use std::fmt;

use crate::error::CodecError;

/// Java's `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";

/// The property a popped message carries its receipt handle in (Java's `PROPERTY_POP_CK`).
pub const POP_CK: &str = "POP_CK";

/// When the message was first popped (Java's `PROPERTY_FIRST_POP_TIME`).
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";

/// The retry mark of a topic name (Java's `ExtraInfoUtil.getRetry`).
pub fn retry_mark(topic: &str) -> &'static str {
    if let Some(rest) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
        if rest.contains('+') {
            "2"
        } else {
            "1"
        }
    } else {
        "0"
    }
}

/// The decoded receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    /// The first offset of the checkpoint the message belongs to.
    pub ck_queue_offset: i64,
    /// When the checkpoint was made (the POP's time), ms since the epoch.
    pub pop_time: i64,
    /// How long the message stays hidden from `pop_time`, ms.
    pub invisible_time: i64,
    /// The broker's revive queue holding the checkpoint.
    pub revive_qid: i32,
    /// `0`, `1` or `2` (see the module docs).
    pub retry: String,
    pub broker_name: String,
    pub queue_id: i32,
    /// The message's own queue offset.
    pub queue_offset: i64,
}

fn field<T: std::str::FromStr>(
    parts: &[&str],
    index: usize,
    name: &str,
    raw: &str,
) -> Result<T, CodecError> {
    parts
        .get(index)
        .ok_or_else(|| CodecError::invalid(name, raw))?
        .parse()
        .map_err(|_| CodecError::invalid(name, raw))
}

impl ExtraInfo {
    /// Parses a receipt handle; fails naming `receiptHandle` when it is not one.
    pub fn parse(raw: &str) -> Result<Self, CodecError> {
        const NAME: &str = "receiptHandle";
        let parts: Vec<&str> = raw.split(' ').collect();
        if parts.len() < 8 {
            return Err(CodecError::invalid(NAME, raw));
        }
        let retry = parts[4];
        if !matches!(retry, "0" | "1" | "2") || parts[5].is_empty() {
            return Err(CodecError::invalid(NAME, raw));
        }
        Ok(ExtraInfo {
            ck_queue_offset: field(&parts, 0, NAME, raw)?,
            pop_time: field(&parts, 1, NAME, raw)?,
            invisible_time: field(&parts, 2, NAME, raw)?,
            revive_qid: field(&parts, 3, NAME, raw)?,
            retry: retry.to_owned(),
            broker_name: parts[5].to_owned(),
            queue_id: field(&parts, 6, NAME, raw)?,
            queue_offset: field(&parts, 7, NAME, raw)?,
        })
    }

    /// The topic the message was read from, which ACK and CHANGE_INVISIBLE_TIME name
    /// (Java's `ExtraInfoUtil.getRealTopic`): `topic` itself or the group's retry topic.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.retry.as_str() {
            "1" => format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}"),
            "2" => format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}"),
            _ => topic.to_owned(),
        }
    }

    /// When the message becomes visible again, ms since the epoch.
    pub fn visible_again_at(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }
}

impl fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry,
            self.broker_name,
            self.queue_id,
            self.queue_offset
        )
    }
}

/// Parses `startOffsetInfo` or `msgOffsetInfo`: `;`-separated `retryMark queueId values`,
/// keyed `retryMark@queueId`, the values `,`-separated.
pub fn parse_offset_info(raw: &str) -> Result<HashMap<String, Vec<i64>>, CodecError> {
    let mut map = HashMap::new();
    for entry in raw.split(';').filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split(' ').collect();
        if parts.len() != 3 {
            return Err(CodecError::invalid("offsetInfo", raw));
        }
        let values = parts[2]
            .split(',')
            .map(|v| {
                v.parse()
                    .map_err(|_| CodecError::invalid("offsetInfo", raw))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        map.insert(format!("{}@{}", parts[0], parts[1]), values);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_reads_back_as_written() {
        let raw = "12 1700000000000 15000 3 0 broker-a 5 14";
        let info = ExtraInfo::parse(raw).unwrap();
        assert_eq!(info.ck_queue_offset, 12);
        assert_eq!(info.broker_name, "broker-a");
        assert_eq!(info.queue_id, 5);
        assert_eq!(info.queue_offset, 14);
        assert_eq!(info.visible_again_at(), 1_700_000_015_000);
        assert_eq!(info.to_string(), raw);
    }

    #[test]
    fn broken_handles_are_refused_by_name() {
        for raw in [
            "",
            "1 2 3",
            "a 2 3 4 0 b 5 6",
            "1 2 3 4 9 b 5 6",
            "1 2 3 4 0  5 6",
        ] {
            let err = ExtraInfo::parse(raw).unwrap_err().to_string();
            assert!(err.contains("receiptHandle"), "{raw:?}: {err}");
        }
    }

    #[test]
    fn retry_marks_name_the_topic_read() {
        assert_eq!(retry_mark("orders"), "0");
        assert_eq!(retry_mark("%RETRY%g_orders"), "1");
        assert_eq!(retry_mark("%RETRY%g+orders"), "2");
        let mut info = ExtraInfo::parse("1 2 3 4 1 b 5 6").unwrap();
        assert_eq!(info.real_topic("orders", "g"), "%RETRY%g_orders");
        info.retry = "2".into();
        assert_eq!(info.real_topic("orders", "g"), "%RETRY%g+orders");
        info.retry = "0".into();
        assert_eq!(info.real_topic("orders", "g"), "orders");
    }

    #[test]
    fn offset_infos_are_keyed_by_mark_and_queue() {
        let map = parse_offset_info("0 3 10,11;1 0 4").unwrap();
        assert_eq!(map["0@3"], vec![10, 11]);
        assert_eq!(map["1@0"], vec![4]);
        assert!(parse_offset_info("").unwrap().is_empty());
        assert!(parse_offset_info("0 3").is_err());
    }
}
