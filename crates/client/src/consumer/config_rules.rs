//! The rules of the push consumer's configuration, in one place: the range of every number
//! ([`Range`], the constants in [`ranges`]), the rules between settings, and the settings
//! this engine refuses (with why, and what to use instead). [`validate`] applies them to a
//! [`PushConsumerConfig`]; a binding that receives numbers in a wider type (JavaScript's
//! doubles) checks them with [`Range::integer`] before narrowing them, so a value the
//! engine's field could not even hold (-1 for a count) is reported as the user wrote it.
//!
//! Every message names the setting as the Java client (and the TypeScript API) spells it,
//! the value, and the rule. Java's ranges (`DefaultMQPushConsumerImpl.checkConfig`) where
//! Java has one; the others are said at their constant.

use std::time::Duration;

use super::push::PushConsumerConfig;
use crate::error::{ClientError, Result};
use crate::validation::{validate_client_names, validate_group, validate_topic};

/// How a number of a setting is shown in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain count.
    Count,
    /// Bytes, shown in MiB when a whole number of them (the TypeScript API counts MiB).
    Bytes,
    /// Milliseconds.
    Millis,
    /// Milliseconds, shown in minutes when a whole number of them (Java's `consumeTimeout`
    /// counts minutes).
    MinutesInMillis,
}

const MIB: i64 = 1024 * 1024;

impl Unit {
    fn show(self, value: i64) -> String {
        match self {
            Unit::Count => value.to_string(),
            Unit::Bytes if value != 0 && value % MIB == 0 => format!("{} MiB", value / MIB),
            Unit::Bytes => format!("{value} B"),
            Unit::Millis => format!("{value} ms"),
            Unit::MinutesInMillis if value % 60_000 == 0 => format!("{} min", value / 60_000),
            Unit::MinutesInMillis => format!("{value} ms"),
        }
    }
}

/// The allowed values of one numeric setting: integers in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The setting's name, as Java and the TypeScript API spell it.
    pub field: &'static str,
    pub min: i64,
    pub max: i64,
    pub unit: Unit,
}

impl Range {
    const fn new(field: &'static str, min: i64, max: i64, unit: Unit) -> Range {
        Range {
            field,
            min,
            max,
            unit,
        }
    }

    fn refusal(&self, shown: String) -> ClientError {
        ClientError::Config(format!(
            "{} {shown} is out of range: it must be an integer in [{}, {}]",
            self.field,
            self.unit.show(self.min),
            self.unit.show(self.max)
        ))
    }

    /// `value` when it lies in the range.
    pub fn check(&self, value: i64) -> Result<i64> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(self.refusal(self.unit.show(value)))
        }
    }

    /// [`check`](Self::check) of an unsigned value (a `u64` beyond `i64` is out of range).
    pub fn check_unsigned(&self, value: u64) -> Result<u64> {
        self.check(i64::try_from(value).unwrap_or(i64::MAX))
            .map(|v| v as u64)
    }

    /// [`check`](Self::check) of a duration, in milliseconds.
    pub fn check_duration(&self, value: Duration) -> Result<Duration> {
        let ms = i64::try_from(value.as_millis()).unwrap_or(i64::MAX);
        self.check(ms).map(|_| value)
    }

    /// A number from a binding (a JavaScript double): it must be an integer in the range.
    pub fn integer(&self, value: f64) -> Result<i64> {
        // Beyond 2^53 a double is no exact integer, and beyond every range here.
        if !value.is_finite() || value.fract() != 0.0 || value.abs() > 9_007_199_254_740_992.0 {
            return Err(self.refusal(value.to_string()));
        }
        self.check(value as i64)
    }
}

/// The range of every numeric setting.
pub mod ranges {
    use super::{Range, Unit};

    const INT32_MAX: i64 = i32::MAX as i64;
    const GIB: i64 = 1024 * 1024 * 1024;

    /// Java's range.
    pub const CONSUME_THREAD_NUM: Range = Range::new("consumeThreadNum", 1, 1000, Unit::Count);
    /// Java's range.
    pub const CONSUME_MESSAGE_BATCH_MAX_SIZE: Range =
        Range::new("consumeMessageBatchMaxSize", 1, 1024, Unit::Count);
    /// Java's range.
    pub const PULL_BATCH_SIZE: Range = Range::new("pullBatchSize", 1, 1024, Unit::Count);
    /// Java's range.
    pub const PULL_THRESHOLD_FOR_QUEUE: Range =
        Range::new("pullThresholdForQueue", 1, 65535, Unit::Count);
    /// Java's range (1..=1024 MiB), in bytes.
    pub const PULL_THRESHOLD_SIZE_FOR_QUEUE: Range =
        Range::new("pullThresholdSizeForQueue", 1, GIB, Unit::Bytes);
    /// Java's range.
    pub const PULL_THRESHOLD_FOR_TOPIC: Range =
        Range::new("pullThresholdForTopic", 1, 6_553_500, Unit::Count);
    /// Java's range (1..=102400 MiB), in bytes.
    pub const PULL_THRESHOLD_SIZE_FOR_TOPIC: Range =
        Range::new("pullThresholdSizeForTopic", 1, 100 * GIB, Unit::Bytes);
    /// Not Java's (the seed's setting): the topic-wide range.
    pub const PULL_THRESHOLD_FOR_ALL: Range =
        Range::new("pullThresholdForAll", 1, 6_553_500, Unit::Count);
    /// Not Java's (the seed's setting): the topic-wide range, in bytes.
    pub const PULL_THRESHOLD_SIZE_FOR_ALL: Range =
        Range::new("pullThresholdSizeForAll", 1, 100 * GIB, Unit::Bytes);
    /// Java's range.
    pub const CONSUME_CONCURRENTLY_MAX_SPAN: Range =
        Range::new("consumeConcurrentlyMaxSpan", 1, 65535, Unit::Count);
    /// Java's range.
    pub const PULL_INTERVAL: Range = Range::new("pullInterval", 0, 65535, Unit::Millis);
    /// Any wait Java accepts (it clamps to 10 ms..30 s where used, and so does the engine).
    pub const SUSPEND_CURRENT_QUEUE_TIME_MILLIS: Range = Range::new(
        "suspendCurrentQueueTimeMillis",
        0,
        i32::MAX as i64,
        Unit::Millis,
    );
    /// Java's range; -1 means the default, 16.
    pub const MAX_RECONSUME_TIMES: Range = Range::new("maxReconsumeTimes", -1, 1000, Unit::Count);
    /// Positive (Java: minutes, any positive number); at most a year.
    pub const CONSUME_TIMEOUT: Range = Range::new(
        "consumeTimeout",
        1,
        365 * 24 * 60 * 60_000,
        Unit::MinutesInMillis,
    );
    /// Positive milliseconds.
    pub const PERSIST_CONSUMER_OFFSET_INTERVAL: Range =
        Range::new("persistConsumerOffsetInterval", 1, INT32_MAX, Unit::Millis);
    /// Positive milliseconds.
    pub const REBALANCE_INTERVAL: Range =
        Range::new("rebalanceInterval", 1, INT32_MAX, Unit::Millis);
    /// Positive milliseconds.
    pub const CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND: Range = Range::new(
        "consumerTimeoutMillisWhenSuspend",
        1,
        INT32_MAX,
        Unit::Millis,
    );
    /// Positive milliseconds.
    pub const BROKER_SUSPEND_MAX_TIME_MILLIS: Range =
        Range::new("brokerSuspendMaxTimeMillis", 1, INT32_MAX, Unit::Millis);
    /// Positive milliseconds.
    pub const CONSUMER_TIMEOUT_MILLIS_SEND_MESSAGE: Range = Range::new(
        "consumerTimeoutMillisSendMessage",
        1,
        INT32_MAX,
        Unit::Millis,
    );
    /// Positive milliseconds.
    pub const CONSUMER_TIMEOUT_MILLIS_OF_REQUEST: Range =
        Range::new("consumerTimeoutMillisOfRequest", 1, INT32_MAX, Unit::Millis);
    /// At least 1 ms (0 would re-check a full queue in a busy loop); as `pullInterval` at most.
    pub const FLOW_CONTROL_INTERVAL: Range =
        Range::new("flowControlInterval", 1, 65535, Unit::Millis);
    /// The producer's range.
    pub const COMPRESS_MSG_BODY_OVER_HOWMUCH: Range =
        Range::new("compressMsgBodyOverHowmuch", 0, INT32_MAX, Unit::Count);
    /// The producer's range for its retries.
    pub const RETRY_TIMES_WHEN_SEND_ASYNC_FAILED: Range =
        Range::new("retryTimesWhenSendAsyncFailed", 0, 100, Unit::Count);
    /// Extra immediate attempts; a few are plenty, many would hold a persist for long.
    pub const OFFSET_STORE_RETRY_TIMES: Range =
        Range::new("offsetStoreRetryTimes", 0, 100, Unit::Count);
    /// The allocation strategy's virtual nodes per consumer (CONSISTENT_HASH).
    pub const ALLOCATE_VIRTUAL_NODE_COUNT: Range =
        Range::new("allocateStrategy.virtualNodeCount", 1, 10000, Unit::Count);
    /// A queue id (CONFIG allocation).
    pub const ALLOCATE_QUEUE_ID: Range = Range::new(
        "allocateStrategy.queues[].queueId",
        0,
        INT32_MAX,
        Unit::Count,
    );
    /// Milliseconds since the epoch.
    pub const CONSUME_TIMESTAMP: Range = Range::new("consumeTimestamp", 0, i64::MAX, Unit::Millis);
}

/// A setting the name of which a user expects, refused with why and what to use instead.
fn refused(message: String) -> Result<()> {
    Err(ClientError::Config(message))
}

/// Checks every setting of `config`: Java's `checkConfig` ranges, the rules between
/// settings, and what this engine refuses.
pub fn validate(config: &PushConsumerConfig) -> Result<()> {
    use ranges::*;
    validate_group("consumerGroup", &config.group)?;
    validate_client_names(config.instance_name.as_deref(), config.unit_name.as_deref())?;
    let broadcasting = config.message_model == rocketmq_remoting::body::MessageModel::Broadcasting;
    match &config.offset_store_dir {
        Some(dir) if !broadcasting => {
            return refused(format!(
                "offsetStoreDir {} applies to BROADCASTING consumers only; a CLUSTERING group's offsets live on the brokers",
                dir.display()
            ))
        }
        Some(dir) if dir.as_os_str().is_empty() => {
            return refused("offsetStoreDir \"\" must not be empty".into())
        }
        _ => {}
    }
    PULL_BATCH_SIZE.check(config.pull_batch_size.into())?;
    CONSUME_MESSAGE_BATCH_MAX_SIZE.check_unsigned(config.consume_message_batch_max_size as u64)?;
    CONSUME_THREAD_NUM.check_unsigned(config.consume_thread_num as u64)?;
    PULL_THRESHOLD_FOR_QUEUE.check_unsigned(config.pull_threshold_for_queue)?;
    PULL_THRESHOLD_SIZE_FOR_QUEUE.check_unsigned(config.pull_threshold_size_for_queue)?;
    for (range, value) in [
        (PULL_THRESHOLD_FOR_TOPIC, config.pull_threshold_for_topic),
        (
            PULL_THRESHOLD_SIZE_FOR_TOPIC,
            config.pull_threshold_size_for_topic,
        ),
        (PULL_THRESHOLD_FOR_ALL, config.pull_threshold_for_all),
        (
            PULL_THRESHOLD_SIZE_FOR_ALL,
            config.pull_threshold_size_for_all,
        ),
    ] {
        if let Some(value) = value {
            range.check_unsigned(value)?;
        }
    }
    CONSUME_CONCURRENTLY_MAX_SPAN.check(config.consume_concurrently_max_span)?;
    MAX_RECONSUME_TIMES.check(config.max_reconsume_times.into())?;
    for (range, value) in [
        (PULL_INTERVAL, config.pull_interval),
        (CONSUME_TIMEOUT, config.consume_timeout),
        (
            PERSIST_CONSUMER_OFFSET_INTERVAL,
            config.persist_consumer_offset_interval,
        ),
        (REBALANCE_INTERVAL, config.rebalance_interval),
        (
            CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND,
            config.consumer_timeout_when_suspend,
        ),
        (
            BROKER_SUSPEND_MAX_TIME_MILLIS,
            config.broker_suspend_max_time,
        ),
        (
            CONSUMER_TIMEOUT_MILLIS_SEND_MESSAGE,
            config.consumer_timeout_send_message,
        ),
        (FLOW_CONTROL_INTERVAL, config.flow_control_interval),
    ] {
        range.check_duration(value)?;
    }
    if let Some(timeout) = config.consumer_timeout_of_request {
        CONSUMER_TIMEOUT_MILLIS_OF_REQUEST.check_duration(timeout)?;
    }
    COMPRESS_MSG_BODY_OVER_HOWMUCH.check_unsigned(config.compress_msg_body_over as u64)?;
    RETRY_TIMES_WHEN_SEND_ASYNC_FAILED.check_unsigned(config.send_back_retry_times.into())?;
    OFFSET_STORE_RETRY_TIMES.check_unsigned(config.offset_store_retry_times.into())?;
    if config.consumer_timeout_when_suspend <= config.broker_suspend_max_time {
        return refused(format!(
            "consumerTimeoutMillisWhenSuspend {} must be greater than brokerSuspendMaxTimeMillis {}: the client must wait longer than the broker may hold a pull",
            config.consumer_timeout_when_suspend.as_millis(),
            config.broker_suspend_max_time.as_millis()
        ));
    }
    if !config.auto_commit {
        return refused(
            "enableAutoCommit false is not supported yet: a concurrent listener's offsets are committed as its batches succeed; manual commits (COMMIT/ROLLBACK) come with orderly listeners. Leave enableAutoCommit unset (true)".into(),
        );
    }
    if let Some(topic) = &config.customized_trace_topic {
        config_topic("customizedTraceTopic", topic)?;
    }
    Ok(())
}

/// [`validate_topic`] for a topic named in the configuration: a [`ClientError::Config`].
pub fn config_topic(field: &str, topic: &str) -> Result<()> {
    validate_topic(topic).map_err(|err| ClientError::Config(format!("{field}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PushConsumerConfig {
        PushConsumerConfig {
            group: "RulesGroup".into(),
            namesrv_addr: "127.0.0.1:9876".into(),
            ..PushConsumerConfig::default()
        }
    }

    fn refusal(config: PushConsumerConfig) -> String {
        match validate(&config) {
            Err(ClientError::Config(message)) => message,
            other => panic!("expected a ConfigError, got {other:?}"),
        }
    }

    #[test]
    fn the_defaults_pass_and_are_javas_where_java_has_one() {
        let c = config();
        validate(&c).unwrap();
        assert_eq!(c.flow_control_interval, Duration::from_millis(50));
        assert_eq!(c.consumer_timeout_when_suspend, Duration::from_secs(30));
        assert_eq!(c.broker_suspend_max_time, Duration::from_secs(15));
        assert_eq!(c.consumer_timeout_send_message, Duration::from_secs(5));
        assert_eq!(c.consumer_timeout_of_request, None);
        assert_eq!(
            (c.pull_threshold_for_all, c.pull_threshold_size_for_all),
            (None, None)
        );
        assert!(c.auto_commit && !c.enable_message_trace && c.enable_message_compression);
        assert_eq!(c.customized_trace_topic, None);
        assert_eq!(c.compress_msg_body_over, 4096);
        assert_eq!(c.send_back_retry_times, 2);
        assert_eq!(c.offset_store_retry_times, 0);
    }

    #[test]
    fn a_range_message_names_the_setting_the_value_and_the_range() {
        let m = refusal(PushConsumerConfig {
            pull_batch_size: 0,
            ..config()
        });
        assert_eq!(
            m,
            "pullBatchSize 0 is out of range: it must be an integer in [1, 1024]"
        );
        let m = refusal(PushConsumerConfig {
            pull_threshold_size_for_queue: 2048 * 1024 * 1024,
            ..config()
        });
        assert_eq!(
            m,
            "pullThresholdSizeForQueue 2048 MiB is out of range: it must be an integer in [1 B, 1024 MiB]"
        );
        let m = refusal(PushConsumerConfig {
            flow_control_interval: Duration::ZERO,
            ..config()
        });
        assert_eq!(
            m,
            "flowControlInterval 0 ms is out of range: it must be an integer in [1 ms, 65535 ms]"
        );
        let m = refusal(PushConsumerConfig {
            consume_timeout: Duration::ZERO,
            ..config()
        });
        assert!(m.starts_with("consumeTimeout 0 min is out of range"), "{m}");
    }

    #[test]
    fn a_number_from_a_binding_must_be_a_whole_number_in_range() {
        let r = ranges::PULL_BATCH_SIZE;
        assert_eq!(r.integer(32.0).unwrap(), 32);
        for bad in [1.5, -1.0, 0.0, 1025.0, f64::NAN, f64::INFINITY, 1e300] {
            let err = r.integer(bad).unwrap_err().to_string();
            assert!(err.starts_with("pullBatchSize "), "{err}");
            assert!(err.contains("[1, 1024]"), "{err}");
        }
        assert!(r.integer(-1.0).unwrap_err().to_string().contains(" -1 "));
        assert!(r
            .integer(1e300)
            .unwrap_err()
            .to_string()
            .contains(" 1000000"));
        assert_eq!(ranges::MAX_RECONSUME_TIMES.integer(-1.0).unwrap(), -1);
    }

    #[test]
    fn every_new_range_is_enforced() {
        let bad = [
            PushConsumerConfig {
                pull_threshold_for_all: Some(0),
                ..config()
            },
            PushConsumerConfig {
                pull_threshold_size_for_all: Some(101 * 1024 * 1024 * 1024),
                ..config()
            },
            PushConsumerConfig {
                consumer_timeout_of_request: Some(Duration::ZERO),
                ..config()
            },
            PushConsumerConfig {
                consumer_timeout_send_message: Duration::ZERO,
                ..config()
            },
            PushConsumerConfig {
                send_back_retry_times: 101,
                ..config()
            },
            PushConsumerConfig {
                offset_store_retry_times: 101,
                ..config()
            },
            PushConsumerConfig {
                max_reconsume_times: -2,
                ..config()
            },
        ];
        let fields = [
            "pullThresholdForAll",
            "pullThresholdSizeForAll",
            "consumerTimeoutMillisOfRequest",
            "consumerTimeoutMillisSendMessage",
            "retryTimesWhenSendAsyncFailed",
            "offsetStoreRetryTimes",
            "maxReconsumeTimes",
        ];
        for (config, field) in bad.into_iter().zip(fields) {
            let m = refusal(config);
            assert!(m.starts_with(field), "{m}");
        }
    }

    #[test]
    fn the_client_must_wait_longer_than_the_broker_holds_a_pull() {
        let m = refusal(PushConsumerConfig {
            consumer_timeout_when_suspend: Duration::from_millis(1000),
            ..config()
        });
        assert!(
            m.contains("consumerTimeoutMillisWhenSuspend 1000")
                && m.contains("brokerSuspendMaxTimeMillis 15000"),
            "{m}"
        );
        let equal = PushConsumerConfig {
            consumer_timeout_when_suspend: Duration::from_secs(15),
            ..config()
        };
        assert!(validate(&equal).is_err());
        let shorter_hold = PushConsumerConfig {
            consumer_timeout_when_suspend: Duration::from_millis(1000),
            broker_suspend_max_time: Duration::from_millis(500),
            ..config()
        };
        validate(&shorter_hold).unwrap();
    }

    #[test]
    fn what_is_not_built_is_refused_by_name() {
        let m = refusal(PushConsumerConfig {
            auto_commit: false,
            ..config()
        });
        assert!(m.starts_with("enableAutoCommit false"), "{m}");
    }

    #[test]
    fn traces_are_accepted_with_a_valid_trace_topic() {
        assert!(validate(&PushConsumerConfig {
            enable_message_trace: true,
            customized_trace_topic: Some("Traces".into()),
            ..config()
        })
        .is_ok());
        let m = refusal(PushConsumerConfig {
            customized_trace_topic: Some("bad topic".into()),
            ..config()
        });
        assert!(m.contains("customizedTraceTopic"), "{m}");
    }

    #[test]
    fn a_bad_group_is_a_config_error_naming_consumer_group() {
        let m = refusal(PushConsumerConfig {
            group: String::new(),
            ..config()
        });
        assert!(m.starts_with("consumerGroup"), "{m}");
    }
}
