//! Where a newly assigned queue starts: Java's `RebalancePushImpl.computePullFromWhereWithException`
//! (5.3.3), and the broker queries it needs (GET_MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP).
//!
//! The rules, for the offset read from the store (`ReadFromStore`: the broker when clustering,
//! the file when broadcasting):
//! - a stored offset wins, whatever `consumeFromWhere` says;
//! - none stored (a new group), by `consumeFromWhere`:
//!
//! | consumeFromWhere | normal topic | `%RETRY%` topic |
//! |---|---|---|
//! | LAST (and the three deprecated ones) | the queue's max offset | 0 |
//! | FIRST | 0 (a queue whose messages were deleted answers OFFSET_ILLEGAL and the pull moves on) | 0 |
//! | TIMESTAMP | the first offset stored at or after `consumeTimestamp` | the max offset |
//!
//! - the store or the broker cannot be asked: an error, and the caller leaves the queue out
//!   of this round (Java 5.x throws; 4.9 returned -1 to the same effect). The next rebalance
//!   tries again.
//!
//! A broker nuance makes a young topic look different: a 5.x broker answers a group it has
//! no offset for with offset 0 rather than "not found" while the queue's first message is
//! still in memory (protocol.md §2.6, `docs/verified-facts.md`), so a new clustering group
//! then starts at 0 whatever `consumeFromWhere` says. The Java client behaves the same; the
//! store does not send `setZeroIfNotFound=false`.

use std::sync::Arc;
use std::time::Duration;

use rocketmq_remoting::body::{ConsumeFromWhere, MessageQueue};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    SearchOffsetRequestHeader,
};
use rocketmq_remoting::{ExtFields, RemotingCommand};

use super::offset_store::{BrokerAddrLookup, OffsetStore, ReadOffsetType};
use super::rebalance::is_retry_topic;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::remoting_client::RemotingClient;

/// Java's `MQAdminImpl` timeout for the max-offset and search-offset queries (6 s).
pub const DEFAULT_QUEUE_OFFSET_TIMEOUT: Duration = Duration::from_secs(6);

/// How far back the default `consumeTimestamp` lies: Java's default is "half an hour before
/// the consumer was created".
pub const DEFAULT_CONSUME_TIMESTAMP_AGE: Duration = Duration::from_secs(30 * 60);

/// The broker's view of a queue's offsets, asked of the queue's broker (its master, else
/// another member: Java asks only the master, but a slave answers these queries the same).
pub struct QueueOffsets {
    remoting: RemotingClient,
    brokers: Arc<dyn BrokerAddrLookup>,
    timeout: Duration,
}

impl std::fmt::Debug for QueueOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueOffsets")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl QueueOffsets {
    /// Queries through `remoting`, to the addresses `brokers` gives.
    pub fn new(remoting: RemotingClient, brokers: Arc<dyn BrokerAddrLookup>) -> Self {
        QueueOffsets {
            remoting,
            brokers,
            timeout: DEFAULT_QUEUE_OFFSET_TIMEOUT,
        }
    }

    /// Queries on the connections and routes of a client instance.
    pub fn for_instance(instance: &Arc<ClientInstance>) -> Self {
        let brokers: Arc<dyn BrokerAddrLookup> = instance.clone();
        Self::new(instance.remoting().clone(), brokers)
    }

    /// Sets the timeout of each query (default 6 s, as Java).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// GET_MAX_OFFSET: one past the last message of `mq`.
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        self.query(
            mq,
            request::GET_MAX_OFFSET,
            header.to_ext_fields(),
            "max offset",
        )
        .await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset of `mq` stored at or after `timestamp_ms`
    /// (boundary LOWER, as Java sends it; a 4.x broker ignores the key and does the same).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp_ms: i64) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp: timestamp_ms,
            boundary_type: Some("LOWER".to_owned()),
            broker_name: Some(mq.broker_name.clone()),
        };
        self.query(
            mq,
            request::SEARCH_OFFSET_BY_TIMESTAMP,
            header.to_ext_fields(),
            "offset by timestamp",
        )
        .await
    }

    async fn query(
        &self,
        mq: &MessageQueue,
        code: i32,
        fields: ExtFields,
        what: &str,
    ) -> Result<i64> {
        let addr = self.brokers.broker_addr(mq).await.ok_or_else(|| {
            ClientError::BrokerNotAvailable(format!(
                "no address known for broker {} of {mq}",
                mq.broker_name
            ))
        })?;
        let answer = self
            .remoting
            .request(&addr, RemotingCommand::request(code, fields), self.timeout)
            .await?;
        if answer.code != response::SUCCESS {
            return Err(ClientError::BrokerResponse {
                message: format!(
                    "{what} of {mq} at {addr} failed: {}",
                    answer.remark.unwrap_or_default()
                ),
                code: answer.code,
            });
        }
        Ok(OffsetResponseHeader::from_ext_fields(&answer.ext_fields)?.offset)
    }
}

/// The offset the first pull of a newly assigned `mq` starts at. See the module doc for the
/// rules. `consume_timestamp_ms` is used only by [`ConsumeFromWhere::ConsumeFromTimestamp`].
pub async fn compute_pull_from_where(
    store: &dyn OffsetStore,
    broker: &QueueOffsets,
    mq: &MessageQueue,
    from: ConsumeFromWhere,
    consume_timestamp_ms: i64,
) -> Result<i64> {
    // Java's store answers -1 for "none"; a broker answering SUCCESS with -1 means the same.
    match store.read_offset(mq, ReadOffsetType::ReadFromStore).await? {
        Some(stored) if stored >= 0 => return Ok(stored),
        Some(-1) | None => {}
        Some(other) => {
            return Err(ClientError::State(format!(
                "the offset store answered {other} for {mq}"
            )))
        }
    }
    let retry = is_retry_topic(&mq.topic);
    let start = match from {
        ConsumeFromWhere::ConsumeFromLastOffset
        | ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst
        | ConsumeFromWhere::ConsumeFromMinOffset
        | ConsumeFromWhere::ConsumeFromMaxOffset => {
            if retry {
                0
            } else {
                broker.max_offset(mq).await?
            }
        }
        ConsumeFromWhere::ConsumeFromFirstOffset => 0,
        ConsumeFromWhere::ConsumeFromTimestamp => {
            if retry {
                broker.max_offset(mq).await?
            } else {
                broker.search_offset(mq, consume_timestamp_ms).await?
            }
        }
    };
    if start < 0 {
        return Err(ClientError::BrokerResponse {
            message: format!("the broker answered start offset {start} for {mq}"),
            code: response::SYSTEM_ERROR,
        });
    }
    Ok(start)
}

/// Java's default `consumeTimestamp`: 30 minutes before `now_ms`, to the whole second (Java
/// keeps it as a `yyyyMMddHHmmss` string).
pub fn default_consume_timestamp_ms(now_ms: i64) -> i64 {
    let ms = now_ms - DEFAULT_CONSUME_TIMESTAMP_AGE.as_millis() as i64;
    ms - ms.rem_euclid(1000)
}

/// Parses Java's `consumeTimestamp` format `yyyyMMddHHmmss` into milliseconds since the
/// epoch, reading it as a wall-clock time `utc_offset_secs` east of UTC. Java reads it in the
/// JVM's time zone; the binding passes the offset the JavaScript `Date` gives for that time,
/// which knows the local zone and its daylight-saving rules (this crate has no zone database).
/// Stricter than Java's lenient `SimpleDateFormat`: exactly 14 digits, every field in range.
pub fn parse_consume_timestamp(text: &str, utc_offset_secs: i32) -> Result<i64> {
    let invalid = || {
        ClientError::Validation(format!(
            "consumeTimestamp {text:?} is invalid: the format is yyyyMMddHHmmss"
        ))
    };
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let field = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap_or(-1) };
    let (year, month, day) = (field(0..4), field(4..6), field(6..8));
    let (hour, minute, second) = (field(8..10), field(10..12), field(12..14));
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(invalid());
    }
    let days = days_from_civil(year, month, day);
    let local_secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok((local_secs - i64::from(utc_offset_secs)) * 1000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_timestamps_parse_as_wall_clock_times_at_the_given_offset() {
        assert_eq!(parse_consume_timestamp("19700101000000", 0).unwrap(), 0);
        // 2026-11-26T05:40:07Z
        assert_eq!(
            parse_consume_timestamp("20261126054007", 0).unwrap(),
            1_795_671_607_000
        );
        // The same wall-clock time in UTC+8 is eight hours earlier.
        assert_eq!(
            parse_consume_timestamp("20261126054007", 8 * 3600).unwrap(),
            1_795_671_607_000 - 8 * 3_600_000
        );
        assert_eq!(
            parse_consume_timestamp("20240229235959", 0).unwrap(),
            1_709_251_199_000
        );
    }

    #[test]
    fn malformed_consume_timestamps_are_refused() {
        for bad in [
            "",
            "2026112605400",
            "202611260540071",
            "2026-11-26 05:4",
            "20261326054007",
            "20230229000000",
            "20261100054007",
            "20261126244007",
            "20261126056007",
            "20261126054060",
        ] {
            assert!(
                matches!(
                    parse_consume_timestamp(bad, 0),
                    Err(ClientError::Validation(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_default_timestamp_is_half_an_hour_back_to_the_second() {
        assert_eq!(
            default_consume_timestamp_ms(1_795_671_607_999),
            1_795_671_607_000 - 1_800_000
        );
    }
}
