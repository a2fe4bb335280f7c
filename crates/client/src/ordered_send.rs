//! Ordered sending: where a message with a sharding key goes, and the checks of a queue the
//! caller names.
//!
//! Every message with the same sharding key goes to the same queue of its topic, so a
//! consumer reading that queue sees them in the order they were sent. The queue is
//! `abs(javaStringHash(key) % n)` over the topic's `n` writable queues in the producer's
//! order (by broker name, then queue id): the rule of Java's `SelectMessageQueueByHash` given
//! the key as its `arg`, over the list Java's producer hands a `MessageQueueSelector`. A Java
//! producer sending with that selector and the same key picks the same queue as ours.
//!
//! The choice depends on the queue set: adding or removing a broker, or changing a topic's
//! write queue count, moves most keys to other queues (messages sent before and after the
//! change may then be consumed out of order across the two queues). As in Java, an ordered
//! send is tried once, on its queue: switching queues after a failure would break the order
//! it exists for.

use rocketmq_remoting::body::MessageQueue;

use crate::error::{ClientError, Result};
use crate::validation::shown;

/// Java's `String.hashCode()`: `31 * h + c` over the UTF-16 code units, wrapping in 32 bits.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The index of `key`'s queue among `queue_count` queues, as Java's `SelectMessageQueueByHash`
/// computes it: the remainder first (Java's `%` keeps the dividend's sign), then its absolute
/// value, which is below `queue_count` for every hash, `i32::MIN` included.
///
/// `queue_count` must be positive.
pub fn sharding_index(key: &str, queue_count: usize) -> usize {
    debug_assert!(queue_count > 0);
    let count = i64::try_from(queue_count).unwrap_or(i64::MAX);
    (i64::from(java_string_hash(key)) % count).unsigned_abs() as usize
}

/// The queue of `key` among `queues` (the writable queues in the producer's order).
pub fn queue_for_key<'q>(queues: &'q [MessageQueue], key: &str) -> Option<&'q MessageQueue> {
    if queues.is_empty() {
        return None;
    }
    queues.get(sharding_index(key, queues.len()))
}

/// A sharding key as the producer accepts it: not empty, not blank, and no control
/// characters (it also travels as the `__SHARDINGKEY` property, and RocketMQ 5's proxy
/// refuses a message group that is blank or holds a control character).
pub fn validate_sharding_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(ClientError::Validation(
            "message shardingKey is empty; leave it out for an unordered send".into(),
        ));
    }
    if key.chars().all(char::is_whitespace) {
        return Err(ClientError::Validation(format!(
            "message shardingKey {} is blank; it must hold a visible character",
            shown(key)
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(ClientError::Validation(format!(
            "message shardingKey {} contains a control character",
            shown(key)
        )));
    }
    Ok(())
}

/// The sharding key a batch goes by: the one every message carries, or none when no message
/// has one. A batch is stored in one queue, so messages of different keys (or with and
/// without one) cannot share a batch.
pub fn batch_sharding_key<'m>(
    keys: impl IntoIterator<Item = Option<&'m str>>,
) -> Result<Option<&'m str>> {
    let mut keys = keys.into_iter().enumerate();
    let Some((_, first)) = keys.next() else {
        return Ok(None);
    };
    for (index, key) in keys {
        if key != first {
            return Err(ClientError::Validation(format!(
                "batch message {index} has shardingKey {}, message 0 has {}; a batch goes to one queue, so its messages share one key or none",
                key.map_or_else(|| "none".to_owned(), shown),
                first.map_or_else(|| "none".to_owned(), shown),
            )));
        }
    }
    Ok(first)
}

/// A queue the caller chose (Java's `send(msg, MessageQueue)`), by broker and queue id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueChoice {
    /// The topic the caller named with the queue, if any: it must be the message's.
    pub topic: Option<String>,
    pub broker_name: String,
    pub queue_id: i32,
}

/// Where a send goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SendTarget {
    /// The message's sharding key's queue when it has one; else round-robin, retried on
    /// another broker after a failure.
    #[default]
    Auto,
    /// This queue, tried once.
    Queue(QueueChoice),
}

/// `choice` as one of `queues` (the topic's writable queues), or a ValidationError naming the
/// queue and what is writable.
pub fn chosen_queue<'q>(
    queues: &'q [MessageQueue],
    topic: &str,
    choice: &QueueChoice,
) -> Result<&'q MessageQueue> {
    if let Some(named) = choice.topic.as_deref().filter(|named| *named != topic) {
        return Err(ClientError::Validation(format!(
            "queue of topic {} given for a message to topic {}; they must be the same",
            shown(named),
            shown(topic)
        )));
    }
    queues
        .iter()
        .find(|q| q.broker_name == choice.broker_name && q.queue_id == choice.queue_id)
        .ok_or_else(|| {
            ClientError::Validation(format!(
                "queue {}:{} is not a writable queue of topic {} (writable: {})",
                choice.broker_name,
                choice.queue_id,
                shown(topic),
                describe_queues(queues)
            ))
        })
}

/// `broker-a 0..7, broker-b 0..7`: the queues per broker, for error messages.
fn describe_queues(queues: &[MessageQueue]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    while start < queues.len() {
        let broker = &queues[start].broker_name;
        let end = queues[start..]
            .iter()
            .position(|q| &q.broker_name != broker)
            .map_or(queues.len(), |n| start + n);
        parts.push(format!(
            "{broker} {}..{}",
            queues[start].queue_id,
            queues[end - 1].queue_id
        ));
        start = end;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocketmq_remoting::body::TopicRouteData;

    #[test]
    fn the_hash_is_javas_string_hash_code() {
        // Values of "...".hashCode() printed by a JVM.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        // Overflow wraps; a surrogate pair counts as two UTF-16 units.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_string_hash("é"), 233);
    }

    #[test]
    fn the_index_is_the_absolute_remainder() {
        // "polygenelubricants" hashes to i32::MIN, whose abs() Java cannot represent: the
        // remainder is taken first, so the index stays in range.
        assert_eq!(sharding_index("polygenelubricants", 16), 0);
        assert_eq!(sharding_index("polygenelubricants", 7), 2);
        // -1207111310 % 16 = -14 in Java, abs 14.
        assert_eq!(sharding_index("order-1", 16), 14);
        for n in 1..40 {
            for key in ["a", "order-1", "polygenelubricants", "\u{1F600}"] {
                assert!(sharding_index(key, n) < n);
            }
        }
    }

    fn two_brokers() -> Vec<MessageQueue> {
        // Listed b first: the producer sorts by broker name, as Java's publish info does.
        TopicRouteData::decode(
            br#"{"queueDatas":[{"brokerName":"broker-b","readQueueNums":3,"writeQueueNums":3,"perm":6},{"brokerName":"broker-a","readQueueNums":2,"writeQueueNums":2,"perm":6},{"brokerName":"broker-c","readQueueNums":4,"writeQueueNums":4,"perm":4}],
                "brokerDatas":[{"cluster":"c","brokerName":"broker-a","brokerAddrs":{"0":"127.0.0.1:1"}},{"cluster":"c","brokerName":"broker-b","brokerAddrs":{"0":"127.0.0.1:2"}},{"cluster":"c","brokerName":"broker-c","brokerAddrs":{"0":"127.0.0.1:3"}}]}"#,
        )
        .unwrap()
        .producer_queues("T")
    }

    #[test]
    fn keys_pick_from_queues_sorted_by_broker_then_id() {
        let queues = two_brokers();
        let order: Vec<String> = queues
            .iter()
            .map(|q| format!("{}:{}", q.broker_name, q.queue_id))
            .collect();
        // broker-c is read-only: not a queue to send to.
        assert_eq!(
            order,
            [
                "broker-a:0",
                "broker-a:1",
                "broker-b:0",
                "broker-b:1",
                "broker-b:2"
            ]
        );
        // "order-1": -1207111310 % 5 = 0 -> broker-a:0; "a": 97 % 5 = 2 -> broker-b:0.
        assert_eq!(
            queue_for_key(&queues, "order-1").unwrap(),
            &MessageQueue::new("T", "broker-a", 0)
        );
        // "hello": 99162322 % 5 = 2 -> broker-b:0.
        assert_eq!(
            queue_for_key(&queues, "hello").unwrap(),
            &MessageQueue::new("T", "broker-b", 0)
        );
        assert_eq!(queue_for_key(&[], "hello"), None);
    }

    #[test]
    fn sharding_keys_are_checked() {
        assert!(validate_sharding_key("order-1").is_ok());
        assert!(validate_sharding_key(" spaced key ").is_ok());
        for bad in ["", "  ", "a\u{1}b", "tab\there", "line\n"] {
            assert_eq!(
                validate_sharding_key(bad).unwrap_err().code(),
                "ERR_VALIDATION",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_batch_shares_one_key_or_none() {
        assert_eq!(batch_sharding_key([None, None]).unwrap(), None);
        assert_eq!(
            batch_sharding_key([Some("k"), Some("k")]).unwrap(),
            Some("k")
        );
        assert!(batch_sharding_key([Some("k"), Some("j")]).is_err());
        assert!(batch_sharding_key([Some("k"), None]).is_err());
        assert!(batch_sharding_key([None, Some("k")]).is_err());
    }

    #[test]
    fn a_chosen_queue_must_be_writable_and_of_the_topic() {
        let queues = two_brokers();
        let choice = |topic: Option<&str>, broker: &str, id| QueueChoice {
            topic: topic.map(str::to_owned),
            broker_name: broker.into(),
            queue_id: id,
        };
        assert_eq!(
            chosen_queue(&queues, "T", &choice(None, "broker-b", 2)).unwrap(),
            &MessageQueue::new("T", "broker-b", 2)
        );
        assert!(chosen_queue(&queues, "T", &choice(Some("T"), "broker-a", 0)).is_ok());
        let err = chosen_queue(&queues, "T", &choice(None, "broker-b", 3)).unwrap_err();
        assert_eq!(err.code(), "ERR_VALIDATION");
        assert!(
            err.to_string()
                .contains("writable: broker-a 0..1, broker-b 0..2"),
            "{err}"
        );
        assert!(chosen_queue(&queues, "T", &choice(None, "broker-c", 0)).is_err());
        assert!(chosen_queue(&queues, "T", &choice(Some("U"), "broker-a", 0)).is_err());
    }
}
