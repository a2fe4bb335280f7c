//! Rebalance: which queues of a subscribed topic this consumer should hold, Java's
//! `RebalanceImpl.rebalanceByTopic` and `updateProcessQueueTableInRebalance` (5.3.3).
//!
//! Two parts:
//! - I/O: [`consumer_ids`] asks one broker of the topic's route for the client ids of the
//!   group (GET_CONSUMER_LIST_BY_GROUP), the broker chosen as Java's `findBrokerAddrByTopic`
//!   chooses it ([`broker_addr_for_topic`]).
//! - A pure planner, [`plan_rebalance`]: from the topic's readable queues, the group's client
//!   ids, the strategy and what this consumer holds now, the queues to drop and to add. The
//!   caller carries the plan out (stop and persist dropped queues, compute the start offset of
//!   added ones, see [`super::start_offset`]) and sends a heartbeat when something changed.
//!
//! What Java does in the corner cases, and so does the planner:
//! - The strategy fails (no queue, no client id, an empty own id): Java logs and returns from
//!   `rebalanceByTopic` before touching its table, so every held queue stays as it is. The
//!   planner returns that error; the caller changes nothing this round.
//! - This client's id is not (yet) in the broker's list: the strategies answer "nothing", so
//!   Java drops every queue of the topic until its heartbeat reaches the broker. So does the plan.
//! - A held queue not pulled for [`PULL_MAX_IDLE_MILLIS`] is dropped even though it is still
//!   allocated, and — because Java's add loop runs after the removals and finds it missing —
//!   created again in the same round: the plan lists it in both `to_drop` and `to_add`. A
//!   caller that fails to drop a queue must skip adding it (Java's `containsKey` check).
//! - Broadcasting takes every queue without asking for the consumer list or a strategy.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use rocketmq_remoting::body::{ConsumerListBody, MessageModel, MessageQueue, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{EncodeHeader, GetConsumerListByGroupRequestHeader};
use rocketmq_remoting::RemotingCommand;

use super::allocate::{sort_for_allocation, AllocateStrategy};
use super::process_queue::PULL_MAX_IDLE_MILLIS;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::remoting_client::RemotingClient;

/// Prefix of a group's retry topic (Java `MixAll.RETRY_GROUP_TOPIC_PREFIX`).
pub const RETRY_TOPIC_PREFIX: &str = "%RETRY%";

/// The retry topic of `group`, `%RETRY%<group>`: a clustering consumer subscribes to it with
/// `*` besides its own topics, so that messages sent back come to the group again.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_TOPIC_PREFIX}{group}")
}

/// Whether `topic` is `group`'s retry topic; checked per pulled message, so without
/// building the name.
pub fn is_retry_topic_of(topic: &str, group: &str) -> bool {
    topic.strip_prefix(RETRY_TOPIC_PREFIX) == Some(group)
}

/// Whether `topic` is a group's retry topic. Such topics start differently when the group
/// has no stored offset (see [`super::start_offset`]) and may have no route yet.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_TOPIC_PREFIX)
}

/// The broker that answers GET_CONSUMER_LIST_BY_GROUP for a topic, Java's
/// `findBrokerAddrByTopic`: the broker group at `pick % brokers` of the route (Java picks it at
/// random; [`consumer_ids`] passes a random number), its master, else its lowest-id member
/// (Java: a random one). Any broker will do, since every broker gets every heartbeat; a
/// random one spreads the load and gets around a broker that lags.
pub fn broker_addr_for_topic(route: &TopicRouteData, pick: usize) -> Option<&str> {
    if route.broker_datas.is_empty() {
        return None;
    }
    route.broker_datas[pick % route.broker_datas.len()].select_addr()
}

/// GET_CONSUMER_LIST_BY_GROUP to `addr`: the client ids the broker knows live for `group`,
/// as listed (unsorted). SUCCESS without a body is an error, as in Java; so is any other
/// code (a broker that knows no consumer of the group answers SYSTEM_ERROR).
pub async fn query_consumer_ids(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    timeout: Duration,
) -> Result<Vec<String>> {
    let header = GetConsumerListByGroupRequestHeader {
        consumer_group: group.to_owned(),
    };
    let command =
        RemotingCommand::request(request::GET_CONSUMER_LIST_BY_GROUP, header.to_ext_fields());
    let answer = remoting.request(addr, command, timeout).await?;
    if answer.code == response::SUCCESS && !answer.body.is_empty() {
        return Ok(ConsumerListBody::decode(&answer.body)?.consumer_id_list);
    }
    Err(ClientError::BrokerResponse {
        message: format!(
            "consumer list of group {group} from {addr} failed: {}",
            answer.remark.unwrap_or_default()
        ),
        code: answer.code,
    })
}

/// The client ids of `group` from one broker of `topic`'s route, Java's
/// `MQClientInstance.findConsumerIdList`: the cached route (fetched when missing), a random
/// broker of it; when that gives no address, the route is fetched again once. An error means
/// "skip this topic this round" to the rebalance.
pub async fn consumer_ids(
    instance: &ClientInstance,
    topic: &str,
    group: &str,
) -> Result<Vec<String>> {
    consumer_ids_within(instance, topic, group, instance.config().request_timeout).await
}

/// [`consumer_ids`] with the request's budget given.
pub async fn consumer_ids_within(
    instance: &ClientInstance,
    topic: &str,
    group: &str,
    timeout: Duration,
) -> Result<Vec<String>> {
    let pick = random_pick();
    let route = instance.routes().get(topic).await?;
    let addr = match broker_addr_for_topic(&route, pick) {
        Some(addr) => addr.to_owned(),
        None => {
            let fresh = instance.routes().refresh(topic).await?;
            broker_addr_for_topic(&fresh, pick)
                .ok_or_else(|| {
                    ClientError::BrokerNotAvailable(format!(
                        "the route of {topic} has no broker address to ask for the consumers of {group}"
                    ))
                })?
                .to_owned()
        }
    };
    query_consumer_ids(instance.remoting(), &addr, group, timeout).await
}

/// A random number without a random-number crate: the standard library seeds each
/// `RandomState` from the OS once per thread and then varies it per instance.
fn random_pick() -> usize {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish() as usize
}

/// What the planner needs to know of a queue this consumer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldQueue {
    /// When it was last pulled, in milliseconds since the epoch.
    pub last_pull_ms: i64,
    /// Whether it was marked dropped (and could not be removed yet).
    pub dropped: bool,
}

/// The inputs of one topic's rebalance.
#[derive(Debug, Clone, Copy)]
pub struct RebalanceInput<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub message_model: MessageModel,
    /// The readable queues of the topic's route, in any order.
    pub queues: &'a [MessageQueue],
    /// The group's client ids from the broker, in any order. Ignored when broadcasting.
    pub cids: &'a [String],
    /// This client's id.
    pub my_cid: &'a str,
    /// Ignored when broadcasting.
    pub strategy: &'a dyn AllocateStrategy,
    /// Now, in milliseconds since the epoch, for the idle check.
    pub now_ms: i64,
}

/// What to do to one topic's queues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebalancePlan {
    /// The queues this consumer should hold.
    pub allocated: BTreeSet<MessageQueue>,
    /// Held queues of the topic to drop: no longer allocated, or not pulled for
    /// [`PULL_MAX_IDLE_MILLIS`].
    pub to_drop: BTreeSet<MessageQueue>,
    /// Allocated queues to start: not held, or dropped above for idleness.
    pub to_add: BTreeSet<MessageQueue>,
    /// Whether the plan changes anything (Java then sets the subscription's version and
    /// sends a heartbeat, once the changes are done).
    pub changed: bool,
    /// Whether every allocated queue will have a live process queue once the plan is carried
    /// out. False when an allocated queue is held but marked dropped: Java 5.x rebalances
    /// again a second later in that case.
    pub balanced: bool,
}

/// Plans one topic's rebalance. `held` is every queue this consumer holds (of any topic;
/// only `input.topic`'s count). An `Err` is the strategy's: keep everything as it is.
pub fn plan_rebalance(
    input: &RebalanceInput<'_>,
    held: &BTreeMap<MessageQueue, HeldQueue>,
) -> Result<RebalancePlan> {
    let allocated: BTreeSet<MessageQueue> = match input.message_model {
        MessageModel::Broadcasting => input.queues.iter().cloned().collect(),
        MessageModel::Clustering => {
            // Every member must feed the strategy the same order, or two members holding the
            // same sets would disagree on who owns what.
            let mut all_mqs = input.queues.to_vec();
            let mut all_cids = input.cids.to_vec();
            sort_for_allocation(&mut all_mqs, &mut all_cids);
            input
                .strategy
                .allocate(input.group, input.my_cid, &all_mqs, &all_cids)?
                .into_iter()
                .collect()
        }
    };
    let mine = || held.iter().filter(|(mq, _)| mq.topic == input.topic);
    let to_drop: BTreeSet<MessageQueue> = mine()
        .filter(|(mq, state)| {
            !allocated.contains(*mq) || input.now_ms - state.last_pull_ms > PULL_MAX_IDLE_MILLIS
        })
        .map(|(mq, _)| mq.clone())
        .collect();
    let to_add: BTreeSet<MessageQueue> = allocated
        .iter()
        .filter(|mq| !held.contains_key(*mq) || to_drop.contains(*mq))
        .cloned()
        .collect();
    let balanced =
        mine().all(|(mq, state)| !state.dropped || !allocated.contains(mq) || to_drop.contains(mq));
    Ok(RebalancePlan {
        changed: !to_drop.is_empty() || !to_add.is_empty(),
        allocated,
        to_drop,
        to_add,
        balanced,
    })
}

/// The held queues of topics no longer subscribed (Java's `truncateMessageQueueNotMyTopic`):
/// an unsubscribe takes the topic out of the rebalance, and these are dropped like any
/// queue a rebalance gives up, their offsets persisted first.
pub fn queues_of_unsubscribed_topics<'a>(
    held: impl IntoIterator<Item = &'a MessageQueue>,
    is_subscribed: impl Fn(&str) -> bool,
) -> BTreeSet<MessageQueue> {
    held.into_iter()
        .filter(|mq| !is_subscribed(&mq.topic))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::allocate::{AllocateAveragely, AllocateAveragelyByCircle};
    use rocketmq_remoting::body::{BrokerData, QueueData};

    const NOW: i64 = 1_764_000_000_000;

    fn mq(broker: &str, id: i32) -> MessageQueue {
        MessageQueue::new("T", broker, id)
    }

    /// Eight queues, four on each of two brokers, in an order no member would sort them in.
    fn queues() -> Vec<MessageQueue> {
        let mut queues: Vec<MessageQueue> = (0..4)
            .rev()
            .flat_map(|id| [mq("broker-b", id), mq("broker-a", id)])
            .collect();
        queues.swap(1, 6);
        queues
    }

    fn cids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn input<'a>(
        queues: &'a [MessageQueue],
        cids: &'a [String],
        my_cid: &'a str,
        model: MessageModel,
    ) -> RebalanceInput<'a> {
        RebalanceInput {
            group: "G",
            topic: "T",
            message_model: model,
            queues,
            cids,
            my_cid,
            strategy: &AllocateAveragely,
            now_ms: NOW,
        }
    }

    fn held(entries: &[(MessageQueue, i64, bool)]) -> BTreeMap<MessageQueue, HeldQueue> {
        entries
            .iter()
            .map(|(mq, last_pull_ms, dropped)| {
                (
                    mq.clone(),
                    HeldQueue {
                        last_pull_ms: *last_pull_ms,
                        dropped: *dropped,
                    },
                )
            })
            .collect()
    }

    fn set(mqs: &[MessageQueue]) -> BTreeSet<MessageQueue> {
        mqs.iter().cloned().collect()
    }

    #[test]
    fn retry_topics_are_named_and_recognised() {
        assert_eq!(retry_topic("orders"), "%RETRY%orders");
        assert!(is_retry_topic(&retry_topic("orders")));
        assert!(!is_retry_topic("orders"));
        assert!(!is_retry_topic("%DLQ%orders"));
    }

    #[test]
    fn members_given_the_inputs_in_different_orders_share_every_queue_once() {
        let queues = queues();
        let mut reversed = queues.clone();
        reversed.reverse();
        let members = cids(&["10.0.0.2@1", "10.0.0.1@9", "10.0.0.1@10"]);
        let mut members_reversed = members.clone();
        members_reversed.reverse();
        let a = plan_rebalance(
            &input(&queues, &members, "10.0.0.1@9", MessageModel::Clustering),
            &BTreeMap::new(),
        )
        .unwrap();
        let b = plan_rebalance(
            &input(
                &reversed,
                &members_reversed,
                "10.0.0.1@10",
                MessageModel::Clustering,
            ),
            &BTreeMap::new(),
        )
        .unwrap();
        let c = plan_rebalance(
            &input(
                &queues,
                &members_reversed,
                "10.0.0.2@1",
                MessageModel::Clustering,
            ),
            &BTreeMap::new(),
        )
        .unwrap();
        // Sorted: "10.0.0.1@10" < "10.0.0.1@9" < "10.0.0.2@1"; 8 queues → 3, 3, 2 in
        // (broker, id) order.
        assert_eq!(
            b.allocated,
            set(&[mq("broker-a", 0), mq("broker-a", 1), mq("broker-a", 2)])
        );
        assert_eq!(
            a.allocated,
            set(&[mq("broker-a", 3), mq("broker-b", 0), mq("broker-b", 1)])
        );
        assert_eq!(c.allocated, set(&[mq("broker-b", 2), mq("broker-b", 3)]));
        // A fresh consumer adds what it is given and changes something.
        assert_eq!(a.to_add, a.allocated);
        assert!(a.to_drop.is_empty() && a.changed && a.balanced);
    }

    #[test]
    fn queues_no_longer_allocated_are_dropped_and_new_ones_added() {
        let queues = queues();
        let members = cids(&["A", "B"]);
        // Alone before, A held all eight (and a queue of another topic); B joined.
        let mut before: Vec<(MessageQueue, i64, bool)> =
            queues.iter().map(|q| (q.clone(), NOW, false)).collect();
        before.push((MessageQueue::new("Other", "broker-a", 0), NOW, false));
        let plan = plan_rebalance(
            &input(&queues, &members, "A", MessageModel::Clustering),
            &held(&before),
        )
        .unwrap();
        assert_eq!(
            plan.allocated,
            set(&(0..4).map(|i| mq("broker-a", i)).collect::<Vec<_>>())
        );
        assert_eq!(
            plan.to_drop,
            set(&(0..4).map(|i| mq("broker-b", i)).collect::<Vec<_>>())
        );
        assert!(plan.to_add.is_empty());
        assert!(plan.changed && plan.balanced);

        // B held nothing; it adds broker-b's four and drops nothing.
        let plan = plan_rebalance(
            &input(&queues, &members, "B", MessageModel::Clustering),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            plan.to_add,
            set(&(0..4).map(|i| mq("broker-b", i)).collect::<Vec<_>>())
        );
        assert!(plan.to_drop.is_empty());

        // Nothing to do once A holds its share.
        let share: Vec<_> = (0..4).map(|i| (mq("broker-a", i), NOW, false)).collect();
        let plan = plan_rebalance(
            &input(&queues, &members, "A", MessageModel::Clustering),
            &held(&share),
        )
        .unwrap();
        assert!(plan.to_drop.is_empty() && plan.to_add.is_empty());
        assert!(!plan.changed && plan.balanced);
    }

    #[test]
    fn a_queue_idle_past_the_limit_is_dropped_and_started_again() {
        let queues = queues();
        let members = cids(&["A"]);
        let mut entries: Vec<_> = queues.iter().map(|q| (q.clone(), NOW, false)).collect();
        // Exactly at the limit is not idle yet (Java compares with >).
        entries[0].1 = NOW - PULL_MAX_IDLE_MILLIS;
        entries[1].1 = NOW - PULL_MAX_IDLE_MILLIS - 1;
        let plan = plan_rebalance(
            &input(&queues, &members, "A", MessageModel::Clustering),
            &held(&entries),
        )
        .unwrap();
        assert_eq!(plan.to_drop, set(&[queues[1].clone()]));
        assert_eq!(plan.to_add, set(&[queues[1].clone()]));
        assert!(plan.changed);
    }

    #[test]
    fn broadcasting_takes_every_queue_without_the_consumer_list() {
        let queues = queues();
        let plan = plan_rebalance(
            &input(&queues, &[], "A", MessageModel::Broadcasting),
            &held(&[(MessageQueue::new("T", "gone", 0), NOW, false)]),
        )
        .unwrap();
        assert_eq!(plan.allocated, set(&queues));
        assert_eq!(plan.to_add, set(&queues));
        assert_eq!(plan.to_drop, set(&[MessageQueue::new("T", "gone", 0)]));
    }

    #[test]
    fn my_id_missing_from_the_list_drops_every_queue_of_the_topic() {
        let queues = queues();
        let members = cids(&["B", "C"]);
        let entries: Vec<_> = queues[..3]
            .iter()
            .map(|q| (q.clone(), NOW, false))
            .collect();
        let plan = plan_rebalance(
            &input(&queues, &members, "A", MessageModel::Clustering),
            &held(&entries),
        )
        .unwrap();
        assert!(plan.allocated.is_empty() && plan.to_add.is_empty());
        assert_eq!(plan.to_drop, set(&queues[..3]));
        assert!(plan.changed);
    }

    #[test]
    fn a_strategy_error_is_returned_so_nothing_changes() {
        let entries = [(mq("broker-a", 0), NOW, false)];
        // No readable queue: Java's strategies refuse an empty queue list.
        assert!(plan_rebalance(
            &input(&[], &cids(&["A"]), "A", MessageModel::Clustering),
            &held(&entries),
        )
        .is_err());
        // An empty consumer list, likewise.
        assert!(plan_rebalance(
            &input(&queues(), &[], "A", MessageModel::Clustering),
            &held(&entries),
        )
        .is_err());
    }

    #[test]
    fn a_held_queue_marked_dropped_is_not_balanced_until_it_goes() {
        let queues = queues();
        let members = cids(&["A"]);
        let mut entries: Vec<_> = queues.iter().map(|q| (q.clone(), NOW, false)).collect();
        entries[0].2 = true;
        let plan = plan_rebalance(
            &input(&queues, &members, "A", MessageModel::Clustering),
            &held(&entries),
        )
        .unwrap();
        // Java neither drops (still allocated, not idle) nor re-adds it (still in the table).
        assert!(!plan.changed && !plan.balanced);
    }

    #[test]
    fn the_strategy_given_is_the_one_used() {
        let queues = queues();
        let members = cids(&["A", "B"]);
        let mut by_circle = input(&queues, &members, "A", MessageModel::Clustering);
        by_circle.strategy = &AllocateAveragelyByCircle;
        let plan = plan_rebalance(&by_circle, &BTreeMap::new()).unwrap();
        assert_eq!(
            plan.allocated,
            set(&[
                mq("broker-a", 0),
                mq("broker-a", 2),
                mq("broker-b", 0),
                mq("broker-b", 2)
            ])
        );
    }

    #[test]
    fn the_consumer_list_is_asked_of_a_broker_of_the_route_master_first() {
        let broker = |name: &str, addrs: &[(i64, &str)]| BrokerData {
            cluster: "c".into(),
            broker_name: name.into(),
            broker_addrs: addrs.iter().map(|(id, a)| (*id, a.to_string())).collect(),
            zone_name: None,
            enable_acting_master: false,
        };
        let route = TopicRouteData {
            queue_datas: vec![QueueData {
                broker_name: "a".into(),
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![
                broker("a", &[(0, "a0"), (1, "a1")]),
                broker("b", &[(2, "b2"), (1, "b1")]),
            ],
            ..TopicRouteData::default()
        };
        assert_eq!(broker_addr_for_topic(&route, 0), Some("a0"));
        assert_eq!(broker_addr_for_topic(&route, 1), Some("b1"));
        assert_eq!(broker_addr_for_topic(&route, 2), Some("a0"));
        assert_eq!(broker_addr_for_topic(&TopicRouteData::default(), 3), None);
    }

    #[test]
    fn queues_of_topics_no_longer_subscribed_are_found_for_dropping() {
        let held = [
            MessageQueue::new("Kept", "broker-a", 0),
            MessageQueue::new("Gone", "broker-a", 0),
            MessageQueue::new("Gone", "broker-b", 3),
            MessageQueue::new("%RETRY%G", "broker-a", 0),
        ];
        let subscribed = |topic: &str| topic == "Kept" || topic == "%RETRY%G";
        assert_eq!(
            queues_of_unsubscribed_topics(&held, subscribed),
            set(&[
                MessageQueue::new("Gone", "broker-a", 0),
                MessageQueue::new("Gone", "broker-b", 3)
            ])
        );
        assert!(queues_of_unsubscribed_topics(&held, |_| true).is_empty());
    }
}
