//! Input checks done before anything reaches a broker: the one place the rules live. The
//! TypeScript layer checks only the types of what it hands over; these functions decide,
//! with the limits of Java's `Validators`, `MessageConst` and `DefaultMQProducer`.
//!
//! Every message names the field, the value (shortened when long) and the rule broken.

use std::ops::RangeInclusive;

use crate::error::{ClientError, Result};
use crate::producer::OutgoingMessage;

/// Longest topic name a broker accepts (Java's `Validators.TOPIC_MAX_LENGTH`).
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Longest group name (Java's `Validators.CHARACTER_MAX_LENGTH`).
pub const GROUP_MAX_LENGTH: usize = 255;

/// Largest delay level of a default broker (`messageDelayLevel` has 18 entries).
pub const MAX_DELAY_LEVEL: i32 = 18;

/// The producer group Java's producer falls back to and then refuses to start with
/// (`MixAll.DEFAULT_PRODUCER_GROUP`): brokers keep it for their own use.
pub const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";

/// Property names user code may not set, exactly Java 5.3.3's `MessageConst.STRING_HASH_SET`
/// in its order: the client and the broker write these themselves.
pub const RESERVED_PROPERTY_NAMES: &[&str] = &[
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "TIMER_DELAY_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

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

/// Values longer than this many characters are cut in messages: the error must say what
/// was given, not repeat a megabyte of it.
const SHOWN_CHARS: usize = 48;

/// `value` quoted for an error message, cut to [`SHOWN_CHARS`] characters with its length
/// said when longer.
pub fn shown(value: &str) -> String {
    let count = value.chars().count();
    if count <= SHOWN_CHARS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN_CHARS).collect();
    format!("{head:?}... ({count} characters)")
}

/// Java's `String.trim().isEmpty()`: nothing but characters up to U+0020.
fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c <= ' ')
}

/// The rule a topic or group name breaks, if any: 1..=`max` characters of `[%|a-zA-Z0-9_-]`.
fn name_problem(name: &str, max: usize) -> Option<String> {
    if is_blank(name) {
        return Some("must not be blank".into());
    }
    let length = name.chars().count();
    if length > max {
        return Some(format!("is {length} characters long; the limit is {max}"));
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))?;
    Some(format!(
        "contains {bad:?}; allowed are letters, digits, '%', '|', '_' and '-'"
    ))
}

/// A topic name a broker will accept: 1..=127 characters of `[%|a-zA-Z0-9_-]`.
pub fn validate_topic(topic: &str) -> Result<()> {
    match name_problem(topic, TOPIC_MAX_LENGTH) {
        Some(rule) => Err(ClientError::Validation(format!(
            "topic {} {rule}",
            shown(topic)
        ))),
        None => Ok(()),
    }
}

/// A producer or consumer group name in a configuration (`field` names the setting):
/// 1..=255 characters of the topic alphabet. A bad group is a configuration error.
pub fn validate_group(field: &str, group: &str) -> Result<()> {
    match name_problem(group, GROUP_MAX_LENGTH) {
        Some(rule) => Err(ClientError::Config(format!(
            "{field} {} {rule}",
            shown(group)
        ))),
        None => Ok(()),
    }
}

/// A group name passed to a call (`field` names the argument): the rules of
/// [`validate_group`], as bad input to that call.
pub fn validate_group_argument(field: &str, group: &str) -> Result<()> {
    validate_group(field, group).map_err(|err| ClientError::Validation(err.to_string()))
}

/// A producer's own group: a valid group name other than [`DEFAULT_PRODUCER_GROUP`], which
/// Java's producer refuses as well.
pub fn validate_producer_group(group: &str) -> Result<()> {
    validate_group("producerGroup", group)?;
    if group == DEFAULT_PRODUCER_GROUP {
        return Err(ClientError::Config(format!(
            "producerGroup {} is reserved for the broker's own use; choose a name of your own",
            shown(group)
        )));
    }
    Ok(())
}

/// The optional `instanceName` and `unitName` of a client: when given, not blank (a blank
/// one would silently mean "unset").
pub fn validate_client_names(instance_name: Option<&str>, unit_name: Option<&str>) -> Result<()> {
    for (field, value) in [("instanceName", instance_name), ("unitName", unit_name)] {
        if let Some(value) = value.filter(|v| is_blank(v)) {
            return Err(ClientError::Config(format!(
                "{field} {} must not be blank; leave it unset for the default",
                shown(value)
            )));
        }
    }
    Ok(())
}

/// A topic a producer may send to: valid and not broker-internal.
pub fn validate_send_topic(topic: &str) -> Result<()> {
    validate_topic(topic)?;
    if SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_") {
        return Err(ClientError::Validation(format!(
            "topic {} is reserved for the broker's own use",
            shown(topic)
        )));
    }
    Ok(())
}

/// A body that is neither empty nor larger than `max_size` bytes (`maxMessageSize`).
pub fn validate_body(len: usize, max_size: usize) -> Result<()> {
    if len == 0 {
        return Err(ClientError::Validation(
            "message body is empty (0 bytes); it must hold at least one byte".into(),
        ));
    }
    if len > max_size {
        return Err(ClientError::Validation(format!(
            "message body is {len} bytes, over maxMessageSize {max_size}"
        )));
    }
    Ok(())
}

/// A delay level the default broker knows: 0 (none) or 1..=18.
pub fn validate_delay_level(level: i32) -> Result<()> {
    if !(0..=MAX_DELAY_LEVEL).contains(&level) {
        return Err(ClientError::Validation(format!(
            "message delayLevel {level} is out of range: 0 (none) or 1..={MAX_DELAY_LEVEL}"
        )));
    }
    Ok(())
}

/// Whether `name` is one of [`RESERVED_PROPERTY_NAMES`].
pub fn is_reserved_property(name: &str) -> bool {
    RESERVED_PROPERTY_NAMES.contains(&name)
}

/// A user property as Java's `Message.putUserProperty` accepts it (not reserved, neither
/// name nor value blank) that can also be encoded (no separator characters).
pub fn validate_property(name: &str, value: &str) -> Result<()> {
    if is_reserved_property(name) {
        return Err(ClientError::Validation(format!(
            "message property name {} is reserved by RocketMQ; choose another name",
            shown(name)
        )));
    }
    if is_blank(name) {
        return Err(ClientError::Validation(format!(
            "message property name {} must not be blank",
            shown(name)
        )));
    }
    if is_blank(value) {
        return Err(ClientError::Validation(format!(
            "message property {} has the blank value {}; values must not be blank",
            shown(name),
            shown(value)
        )));
    }
    for (what, text) in [("name", name), ("value", value)] {
        if has_separator(text) {
            return Err(ClientError::Validation(format!(
                "message property {what} {} contains a reserved control character (\\u0001 or \\u0002)",
                shown(text)
            )));
        }
    }
    Ok(())
}

/// \u{1} and \u{2} separate names and values on the wire.
fn has_separator(text: &str) -> bool {
    text.contains(['\u{1}', '\u{2}'])
}

/// A tag or key (`what`), which travel inside the properties string as well.
pub fn validate_tag_or_key(what: &str, text: &str) -> Result<()> {
    if has_separator(text) {
        return Err(ClientError::Validation(format!(
            "message {what} {} contains a reserved control character (\\u0001 or \\u0002)",
            shown(text)
        )));
    }
    Ok(())
}

/// A delivery time is a positive time in ms and excludes a delay level (the broker would
/// apply both).
fn validate_deliver_time(message: &OutgoingMessage) -> Result<()> {
    let Some(at) = message.deliver_time_ms else {
        return Ok(());
    };
    if at <= 0 {
        return Err(ClientError::Validation(format!(
            "message deliverTimeMs {at} must be a time in ms since the epoch"
        )));
    }
    if message.delay_level != 0 {
        return Err(ClientError::Validation(format!(
            "message deliverTimeMs and delayLevel {} exclude each other",
            message.delay_level
        )));
    }
    Ok(())
}

/// Every rule a message to send must meet, with the producer's `max_message_size`. Keys
/// may be empty: Java joins them as given and the broker indexes none for an empty one,
/// so the producer leaves them out.
pub fn validate_message(message: &OutgoingMessage, max_message_size: usize) -> Result<()> {
    validate_send_topic(&message.topic)?;
    validate_body(message.body.len(), max_message_size)?;
    validate_delay_level(message.delay_level)?;
    validate_deliver_time(message)?;
    for (name, value) in &message.properties {
        validate_property(name, value)?;
    }
    if let Some(tags) = &message.tags {
        validate_tag_or_key("tags", tags)?;
    }
    for key in &message.keys {
        validate_tag_or_key("key", key)?;
    }
    Ok(())
}

/// The rules of a batch beyond those of each message: at least one message, one topic, no
/// delay levels (Java's `MessageBatch.generateFromList`).
pub fn validate_batch(messages: &[OutgoingMessage], max_message_size: usize) -> Result<()> {
    let first = messages
        .first()
        .ok_or_else(|| ClientError::Validation("sendBatch needs at least one message".into()))?;
    for (index, message) in messages.iter().enumerate() {
        if message.topic != first.topic {
            return Err(ClientError::Validation(format!(
                "batch message {index} has topic {}; a batch goes to one topic ({})",
                shown(&message.topic),
                shown(&first.topic)
            )));
        }
        if message.delay_level != 0 {
            return Err(ClientError::Validation(format!(
                "batch message {index} has delayLevel {}; a batch cannot carry delayed messages",
                message.delay_level
            )));
        }
        if message.deliver_time_ms.is_some() {
            return Err(ClientError::Validation(format!(
                "batch message {index} has deliverTimeMs; a batch cannot carry delayed messages"
            )));
        }
        validate_message(message, max_message_size)?;
    }
    Ok(())
}

/// The rule an integer setting or argument must meet, for messages.
fn integer_rule(range: &RangeInclusive<i64>) -> String {
    format!("must be an integer in {}..={}", range.start(), range.end())
}

/// The rule `value` breaks as an integer in `range`, if any.
fn integer_problem(value: f64, range: &RangeInclusive<i64>) -> Option<String> {
    // Beyond 2^53 a float no longer says which integer it is; no range here reaches it.
    if value.fract() != 0.0 || !value.is_finite() || !range.contains(&(value as i64)) {
        return Some(integer_rule(range));
    }
    None
}

/// An integer configuration setting `field` of the engine's own types, in `range`.
pub fn validate_setting(field: &str, value: i64, range: RangeInclusive<i64>) -> Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ClientError::Config(format!(
        "{field} {value} {}",
        integer_rule(&range)
    )))
}

/// A number from JavaScript as an integer of a configuration setting `field`.
pub fn config_integer(field: &str, value: f64, range: RangeInclusive<i64>) -> Result<i64> {
    match integer_problem(value, &range) {
        Some(rule) => Err(ClientError::Config(format!("{field} {value} {rule}"))),
        None => Ok(value as i64),
    }
}

/// A number from JavaScript as an integer argument `field` of a call.
pub fn argument_integer(field: &str, value: f64, range: RangeInclusive<i64>) -> Result<i64> {
    match integer_problem(value, &range) {
        Some(rule) => Err(ClientError::Validation(format!("{field} {value} {rule}"))),
        None => Ok(value as i64),
    }
}

/// The range of Java's `int`, which bounds every numeric producer setting.
pub const JAVA_INT: RangeInclusive<i64> = i32::MIN as i64..=i32::MAX as i64;

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rocketmq_remoting::message::properties::keys;

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
    fn messages_name_the_field_the_value_and_the_rule() {
        let err = validate_topic("a b").unwrap_err().to_string();
        assert!(err.contains("topic") && err.contains("\"a b\"") && err.contains("allowed"));
        let long = "x".repeat(300);
        let err = validate_topic(&long).unwrap_err().to_string();
        assert!(err.contains("300 characters") && err.contains("limit is 127"));
        assert!(err.len() < 200, "a long value is shortened: {err}");
        let err = validate_property("TAGS", "x").unwrap_err().to_string();
        assert!(err.contains("\"TAGS\"") && err.contains("reserved"));
        let err = config_integer("sendMsgTimeout", 1.5, 1..=10).unwrap_err();
        assert_eq!(err.code(), "ERR_CONFIG");
        assert!(err
            .to_string()
            .contains("sendMsgTimeout 1.5 must be an integer in 1..=10"));
    }

    #[test]
    fn groups() {
        assert!(validate_group("producerGroup", &"g".repeat(255)).is_ok());
        for bad in ["", " ", "a b", &"g".repeat(256)] {
            assert_eq!(
                validate_group("producerGroup", bad).unwrap_err().code(),
                "ERR_CONFIG"
            );
            assert_eq!(
                validate_group_argument("producerGroup", bad)
                    .unwrap_err()
                    .code(),
                "ERR_VALIDATION"
            );
        }
        // Java's producer refuses its own default group.
        let err = validate_producer_group(DEFAULT_PRODUCER_GROUP).unwrap_err();
        assert_eq!(err.code(), "ERR_CONFIG");
        assert!(err.to_string().contains("DEFAULT_PRODUCER"));
        assert!(validate_producer_group("orders_producer").is_ok());
        assert!(validate_client_names(Some("a"), None).is_ok());
        assert_eq!(
            validate_client_names(None, Some(" ")).unwrap_err().code(),
            "ERR_CONFIG"
        );
    }

    #[test]
    fn reserved_properties_are_java_5_3_3_string_hash_set() {
        assert_eq!(RESERVED_PROPERTY_NAMES.len(), 51);
        let mut unique = RESERVED_PROPERTY_NAMES.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 51, "no name twice");
        // What the producer writes itself is among them, so a user value cannot clash.
        for own in [
            keys::TAGS,
            keys::KEYS,
            keys::UNIQ_KEY,
            keys::WAIT,
            keys::DELAY,
        ] {
            assert!(is_reserved_property(own), "{own}");
        }
        for name in RESERVED_PROPERTY_NAMES {
            assert_eq!(
                validate_property(name, "x").unwrap_err().code(),
                "ERR_VALIDATION"
            );
        }
        // Set by Java internally but not reserved there: user code may use them.
        for free in ["__SHARDINGKEY", "INNER_NUM", "__transactionId__", "order"] {
            assert!(validate_property(free, "x").is_ok(), "{free}");
        }
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
        // Blank as Java's trim() sees it: nothing above U+0020.
        for (name, value) in [("", "x"), (" ", "x"), ("a", ""), ("a", " \t")] {
            assert!(
                validate_property(name, value).is_err(),
                "{name:?}={value:?}"
            );
        }
        assert!(validate_property("a\u{1}b", "x").is_err());
        assert!(validate_property("a", "x\u{2}y").is_err());
        assert!(validate_tag_or_key("tags", "a\u{2}").is_err());
    }

    #[test]
    fn whole_messages_and_batches() {
        let good = OutgoingMessage {
            topic: "orders".into(),
            body: Bytes::from_static(b"x"),
            keys: vec!["k".into(), String::new()],
            ..Default::default()
        };
        assert!(
            validate_message(&good, 10).is_ok(),
            "an empty key is allowed"
        );
        let too_big = OutgoingMessage {
            body: Bytes::from(vec![0; 11]),
            ..good.clone()
        };
        assert!(validate_message(&too_big, 10).is_err());
        assert!(validate_batch(&[], 10).is_err());
        assert!(validate_batch(&[good.clone(), good.clone()], 10).is_ok());
        let other = OutgoingMessage {
            topic: "other".into(),
            ..good.clone()
        };
        assert!(validate_batch(&[good.clone(), other], 10).is_err());
        let delayed = OutgoingMessage {
            delay_level: 2,
            ..good.clone()
        };
        assert!(validate_batch(&[good.clone(), delayed.clone()], 10).is_err());
        let timed = OutgoingMessage {
            deliver_time_ms: Some(1),
            ..good.clone()
        };
        assert!(validate_message(&timed, 10).is_ok());
        assert!(validate_batch(&[good.clone(), timed.clone()], 10).is_err());
        let both = OutgoingMessage {
            delay_level: 2,
            ..timed
        };
        assert!(validate_message(&both, 10).is_err());
        let before_epoch = OutgoingMessage {
            deliver_time_ms: Some(0),
            ..good
        };
        assert!(validate_message(&before_epoch, 10).is_err());
    }

    #[test]
    fn integers_from_javascript() {
        assert_eq!(config_integer("n", 5.0, 1..=10).unwrap(), 5);
        for bad in [0.0, 11.0, 1.5, f64::NAN, f64::INFINITY, -1.0] {
            assert!(config_integer("n", bad, 1..=10).is_err(), "{bad}");
        }
        assert_eq!(
            argument_integer("flag", 2f64.powi(40), JAVA_INT)
                .unwrap_err()
                .code(),
            "ERR_VALIDATION"
        );
    }
}
