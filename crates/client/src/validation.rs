//! Input checks done before anything reaches a broker, with the limits Java's `Validators` uses.

use rocketmq_remoting::message::properties::keys;

use crate::error::{ClientError, Result};

/// Longest topic name a broker accepts.
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Largest delay level of a default broker (`messageDelayLevel` has 18 entries).
pub const MAX_DELAY_LEVEL: i32 = 18;

/// Topics a producer must not send to: broker-internal ones.
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Property names the client and broker set themselves; a user value would corrupt them.
const RESERVED_PROPERTIES: &[&str] = &[
    keys::TAGS,
    keys::KEYS,
    keys::UNIQ_KEY,
    keys::WAIT,
    keys::DELAY,
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::TRAN_MSG,
    keys::PRODUCER_GROUP,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::ORIGIN_MESSAGE_ID,
    keys::RECONSUME_TIME,
    keys::MAX_RECONSUME_TIMES,
    keys::CONSUME_START_TIME,
    keys::TRANSACTION_ID,
    keys::TRANSACTION_CHECK_TIMES,
    keys::INNER_NUM,
    keys::INNER_BASE,
    keys::SHARDING_KEY,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
];

/// Topic and group names share one alphabet: `[%|a-zA-Z0-9_-]`.
fn first_bad_name_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))
}

/// A topic name a broker will accept: 1..=127 characters of `[%|a-zA-Z0-9_-]`.
pub fn validate_topic(topic: &str) -> Result<()> {
    if topic.trim().is_empty() {
        return Err(ClientError::Validation("topic must not be empty".into()));
    }
    if topic.len() > TOPIC_MAX_LENGTH {
        return Err(ClientError::Validation(format!(
            "topic is {} characters long; the limit is {TOPIC_MAX_LENGTH}",
            topic.len()
        )));
    }
    if let Some(bad) = first_bad_name_char(topic) {
        return Err(ClientError::Validation(format!(
            "topic {topic:?} contains {bad:?}; allowed are letters, digits, '%', '|', '_' and '-'"
        )));
    }
    Ok(())
}

/// A producer or consumer group name: 1..=255 characters of the topic alphabet. A bad
/// group is a configuration error, not bad input to one call.
pub fn validate_group(kind: &str, group: &str) -> Result<()> {
    if group.trim().is_empty() || group.len() > 255 {
        return Err(ClientError::Config(format!(
            "{kind} must be 1..=255 characters, got {group:?}"
        )));
    }
    if first_bad_name_char(group).is_some() {
        return Err(ClientError::Config(format!(
            "{kind} {group:?} may only contain letters, digits, '%', '|', '_' and '-'"
        )));
    }
    Ok(())
}

/// A topic a producer may send to: valid and not broker-internal.
pub fn validate_send_topic(topic: &str) -> Result<()> {
    validate_topic(topic)?;
    if SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_") {
        return Err(ClientError::Validation(format!(
            "topic {topic} is reserved for the broker's own use"
        )));
    }
    Ok(())
}

/// A body that is neither empty nor larger than `max_size` bytes.
pub fn validate_body(len: usize, max_size: usize) -> Result<()> {
    if len == 0 {
        return Err(ClientError::Validation(
            "message body must not be empty".into(),
        ));
    }
    if len > max_size {
        return Err(ClientError::Validation(format!(
            "message body is {len} bytes; the limit (maxMessageSize) is {max_size}"
        )));
    }
    Ok(())
}

/// A delay level the default broker knows: 0 (none) or 1..=18.
pub fn validate_delay_level(level: i32) -> Result<()> {
    if !(0..=MAX_DELAY_LEVEL).contains(&level) {
        return Err(ClientError::Validation(format!(
            "delayLevel must be 0 (none) or 1..={MAX_DELAY_LEVEL}, got {level}"
        )));
    }
    Ok(())
}

/// A user property that can be encoded and does not overwrite a system one.
pub fn validate_property(name: &str, value: &str) -> Result<()> {
    if name.is_empty() || value.is_empty() {
        return Err(ClientError::Validation(format!(
            "property names and values must not be empty (name {name:?})"
        )));
    }
    if RESERVED_PROPERTIES.contains(&name) {
        return Err(ClientError::Validation(format!(
            "property {name} is set by the client itself; choose another name"
        )));
    }
    // \x01 and \x02 separate names and values on the wire.
    if [name, value].iter().any(|s| s.contains(['\u{1}', '\u{2}'])) {
        return Err(ClientError::Validation(format!(
            "property {name:?} contains a control character \\x01 or \\x02"
        )));
    }
    Ok(())
}

/// A tag or key, which travel inside the properties string as well.
pub fn validate_tag_or_key(what: &str, text: &str) -> Result<()> {
    if text.contains(['\u{1}', '\u{2}']) {
        return Err(ClientError::Validation(format!(
            "{what} {text:?} contains a control character \\x01 or \\x02"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        assert!(validate_topic("Topic_A-1%x|y").is_ok());
        assert!(validate_topic(&"t".repeat(127)).is_ok());
        for bad in ["", "  ", "a b", "a.b", "ä", &"t".repeat(128)] {
            assert_eq!(
                validate_topic(bad).unwrap_err().code(),
                "ERR_VALIDATION",
                "{bad:?}"
            );
        }
        assert!(validate_send_topic("TBW102").is_err());
        assert!(validate_send_topic("SCHEDULE_TOPIC_XXXX").is_err());
        assert!(validate_send_topic("orders").is_ok());
    }

    #[test]
    fn bodies_delays_properties() {
        assert!(validate_body(0, 10).is_err());
        assert!(validate_body(10, 10).is_ok());
        assert!(validate_body(11, 10).is_err());
        assert!(validate_delay_level(0).is_ok());
        assert!(validate_delay_level(18).is_ok());
        assert!(validate_delay_level(19).is_err());
        assert!(validate_delay_level(-1).is_err());
        assert!(validate_property("order", "1").is_ok());
        assert!(validate_property("TAGS", "x").is_err());
        assert!(validate_property("", "x").is_err());
        assert!(validate_property("a", "").is_err());
        assert!(validate_property("a\u{1}", "x").is_err());
        assert!(validate_tag_or_key("tag", "a\u{2}").is_err());
    }
}
