//! Broker-side queue locks of an orderly clustering consumer (Java's `RebalanceImpl.lock`,
//! `lockAll` and `unlock`, and `MQClientAPIImpl.lockBatchMQ` / `unlockBatchMQ`).
//!
//! Why locks: rebalance alone cannot stop two members from consuming one queue at once. When
//! a queue moves, its old owner may still be in a listener call while the new owner starts.
//! So the group's members ask the queue's broker for a lock first (LOCK_BATCH_MQ, code 41),
//! and only the holder pulls and consumes it. The broker keeps a lock 60 s after the last
//! request; the client renews every held queue every [`RELOCK_INTERVAL`] and trusts its own
//! lock for [`super::process_queue::REBALANCE_LOCK_MAX_LIVE_MILLIS`] (30 s) after the last
//! renewal, so a member cut off from its broker stops before the broker gives the queue away.
//! A queue given up is unlocked (UNLOCK_BATCH_MQ, code 42) after its in-flight call ended
//! and its offset was persisted, so the next owner need not wait for the broker's expiry.
//!
//! Two parts: the requests ([`lock_batch`], [`unlock_batch`]), each to the master of one
//! broker, and the bookkeeping of an answer ([`apply_lock_answer`]), kept pure for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rocketmq_remoting::body::{LockBatchRequestBody, LockBatchResponseBody, MessageQueue};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::RemotingCommand;

use super::process_queue::ProcessQueue;
use super::pull::MASTER_ID;
use crate::error::{ClientError, Result};
use crate::remoting_client::RemotingClient;

/// How often every held queue's lock is renewed (Java's `lockMQPeriodically`, 20 s).
pub const RELOCK_INTERVAL: Duration = Duration::from_secs(20);
/// Budget of one LOCK_BATCH_MQ or synchronous UNLOCK_BATCH_MQ (Java's 1000 ms).
pub const LOCK_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// The queues of `queues` grouped by broker name, each group sorted.
pub fn by_broker<'a>(
    queues: impl IntoIterator<Item = &'a MessageQueue>,
) -> BTreeMap<String, Vec<MessageQueue>> {
    let mut grouped: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
    for mq in queues {
        grouped
            .entry(mq.broker_name.clone())
            .or_default()
            .push(mq.clone());
    }
    for queues in grouped.values_mut() {
        queues.sort();
        queues.dedup();
    }
    grouped
}

/// The master address of `broker_name` among the brokers the route cache knows (name → id →
/// address). Locks live on the master only (Java's `findBrokerAddressInSubscribe(name,
/// MASTER_ID, true)`).
pub fn master_addr(
    brokers: &BTreeMap<String, BTreeMap<i64, String>>,
    broker_name: &str,
) -> Option<String> {
    brokers.get(broker_name)?.get(&MASTER_ID).cloned()
}

fn body(group: &str, client_id: &str, queues: &[MessageQueue]) -> Result<Vec<u8>> {
    Ok(LockBatchRequestBody {
        consumer_group: group.to_owned(),
        client_id: client_id.to_owned(),
        only_this_broker: false,
        mq_set: queues.to_vec(),
    }
    .encode()?)
}

/// LOCK_BATCH_MQ of `queues` (all of one broker) at `addr`: the queues this client holds
/// now, which may be fewer than asked for (another member holds the rest).
pub async fn lock_batch(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    client_id: &str,
    queues: &[MessageQueue],
    timeout: Duration,
) -> Result<BTreeSet<MessageQueue>> {
    let command = RemotingCommand::request(request::LOCK_BATCH_MQ, Default::default())
        .with_body(body(group, client_id, queues)?);
    let answer = remoting.request(addr, command, timeout).await?;
    if answer.code != response::SUCCESS {
        return Err(ClientError::BrokerResponse {
            message: format!(
                "locking {} queue(s) of group {group} at {addr} failed: {}",
                queues.len(),
                answer.remark.unwrap_or_default()
            ),
            code: answer.code,
        });
    }
    if answer.body.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(LockBatchResponseBody::decode(&answer.body)?
        .lock_ok_mq_set
        .into_iter()
        .collect())
}

/// UNLOCK_BATCH_MQ of `queues` (all of one broker) at `addr`: waited for when `oneway` is
/// false (shutdown, as Java), sent without an answer otherwise (a rebalance drop).
pub async fn unlock_batch(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    client_id: &str,
    queues: &[MessageQueue],
    oneway: bool,
) -> Result<()> {
    let mut command = RemotingCommand::request(request::UNLOCK_BATCH_MQ, Default::default())
        .with_body(body(group, client_id, queues)?);
    if oneway {
        command.set_oneway();
        return remoting.oneway(addr, command).await;
    }
    let answer = remoting
        .request(addr, command, LOCK_REQUEST_TIMEOUT)
        .await?;
    if answer.code != response::SUCCESS {
        return Err(ClientError::BrokerResponse {
            message: format!(
                "unlocking {} queue(s) of group {group} at {addr} failed: {}",
                queues.len(),
                answer.remark.unwrap_or_default()
            ),
            code: answer.code,
        });
    }
    Ok(())
}

/// Records a lock answer on the process queues that were asked for: those in `locked` are
/// locked as of `now_ms`, the others are not (another member holds them, Java's
/// `lockAll`: "the message queue locked Failed"). A queue asked for but not held here
/// (`held` has no process queue for it) is ignored.
pub fn apply_lock_answer<'a>(
    asked: &[MessageQueue],
    locked: &BTreeSet<MessageQueue>,
    held: impl Fn(&MessageQueue) -> Option<&'a ProcessQueue>,
    now_ms: i64,
) {
    for mq in asked {
        if let Some(pq) = held(mq) {
            pq.set_locked(locked.contains(mq), now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::process_queue::REBALANCE_LOCK_MAX_LIVE_MILLIS;

    fn mq(broker: &str, id: i32) -> MessageQueue {
        MessageQueue::new("T", broker, id)
    }

    #[test]
    fn queues_are_grouped_per_broker_sorted_once() {
        let queues = [mq("b", 1), mq("a", 2), mq("a", 0), mq("b", 1)];
        let grouped = by_broker(&queues);
        assert_eq!(grouped["a"], vec![mq("a", 0), mq("a", 2)]);
        assert_eq!(grouped["b"], vec![mq("b", 1)]);
    }

    #[test]
    fn locks_live_on_the_master_only() {
        let brokers = BTreeMap::from([
            (
                "a".to_owned(),
                BTreeMap::from([(0, "m:1".to_owned()), (1, "s:1".to_owned())]),
            ),
            ("b".to_owned(), BTreeMap::from([(1, "s:2".to_owned())])),
        ]);
        assert_eq!(master_addr(&brokers, "a").as_deref(), Some("m:1"));
        assert_eq!(master_addr(&brokers, "b"), None);
        assert_eq!(master_addr(&brokers, "c"), None);
    }

    #[test]
    fn an_answer_locks_what_it_names_and_unlocks_the_rest_it_was_asked_for() {
        let (q0, q1, q2) = (
            ProcessQueue::new(0),
            ProcessQueue::new(0),
            ProcessQueue::new(0),
        );
        q1.set_locked(true, 0);
        q2.set_locked(true, 0);
        let asked = [mq("a", 0), mq("a", 1)];
        let locked = BTreeSet::from([mq("a", 0)]);
        let lookup = |m: &MessageQueue| match m.queue_id {
            0 => Some(&q0),
            1 => Some(&q1),
            _ => Some(&q2),
        };
        apply_lock_answer(&asked, &locked, lookup, 1_000);
        assert!(q0.is_locked(1_000));
        assert!(!q1.is_locked(1_000), "held by another member now");
        assert!(q2.is_locked(1_000), "not asked for: unchanged");
    }

    #[test]
    fn a_lock_not_renewed_expires_after_its_local_lifetime() {
        let pq = ProcessQueue::new(0);
        apply_lock_answer(
            &[mq("a", 0)],
            &BTreeSet::from([mq("a", 0)]),
            |_| Some(&pq),
            5_000,
        );
        assert!(pq.is_locked(5_000 + REBALANCE_LOCK_MAX_LIVE_MILLIS));
        assert!(!pq.is_locked(5_000 + REBALANCE_LOCK_MAX_LIVE_MILLIS + 1));
        // A renewal moves the expiry on.
        apply_lock_answer(
            &[mq("a", 0)],
            &BTreeSet::from([mq("a", 0)]),
            |_| Some(&pq),
            20_000,
        );
        assert!(pq.is_locked(20_000 + REBALANCE_LOCK_MAX_LIVE_MILLIS));
    }
}
