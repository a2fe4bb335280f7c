//! The subscriptions of a started push consumer, which may change while it runs (Java's
//! `DefaultMQPushConsumer.subscribe` / `unsubscribe` after `start()`).
//!
//! A subscription is known to two audiences, and a change must reach them in an order that
//! keeps the brokers from refusing pulls:
//! - the brokers, through the heartbeat (the *advertised* table): a broker answers a pull
//!   whose `subVersion` is newer than the one its last heartbeat carried with
//!   SUBSCRIPTION_NOT_LATEST, and a pull of a topic it has no subscription for with
//!   SUBSCRIPTION_NOT_EXIST;
//! - the rebalance and the pull loops (the *active* table): which topics' queues to hold,
//!   and the expression each pull carries.
//!
//! So a new or changed subscription is advertised first, the heartbeat is sent, and only
//! then is it made active; a removed one is made inactive first (its queues are dropped),
//! then withdrawn from the heartbeat. Every change of the active table is announced on a
//! watch channel, so that a pull held by a broker under a replaced expression is abandoned
//! and sent again with the new one (see the push consumer's pull loop).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use rocketmq_remoting::body::SubscriptionData;
use tokio::sync::watch;

/// The advertised and active subscriptions of a running consumer; see the module docs.
#[derive(Debug)]
pub(crate) struct LiveSubscriptions {
    advertised: Mutex<BTreeMap<String, SubscriptionData>>,
    active: Mutex<BTreeMap<String, SubscriptionData>>,
    /// Counts the changes of `active`.
    changes: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveSubscriptions {
    /// The subscriptions a consumer starts with: advertised and active at once (the start
    /// sends its first heartbeat before it pulls anything).
    pub(crate) fn new(initial: BTreeMap<String, SubscriptionData>) -> Self {
        LiveSubscriptions {
            advertised: Mutex::new(initial.clone()),
            active: Mutex::new(initial),
            changes: watch::channel(0).0,
        }
    }

    /// What the heartbeat says now.
    pub(crate) fn advertised(&self) -> Vec<SubscriptionData> {
        lock(&self.advertised).values().cloned().collect()
    }

    /// The advertised subscription of `topic`.
    pub(crate) fn advertised_of(&self, topic: &str) -> Option<SubscriptionData> {
        lock(&self.advertised).get(topic).cloned()
    }

    /// The active subscriptions now: the topics whose queues this consumer holds.
    pub(crate) fn active(&self) -> BTreeMap<String, SubscriptionData> {
        lock(&self.active).clone()
    }

    /// The expression pulls of `topic` carry now; `None` once it is unsubscribed.
    pub(crate) fn active_of(&self, topic: &str) -> Option<SubscriptionData> {
        lock(&self.active).get(topic).cloned()
    }

    /// Whether queues of `topic` are held.
    pub(crate) fn is_active(&self, topic: &str) -> bool {
        lock(&self.active).contains_key(topic)
    }

    /// Whether `subscription` is still the active one of its topic: a pull made with it may
    /// be trusted (its tag re-filter and its next offset).
    pub(crate) fn is_current(&self, subscription: &SubscriptionData) -> bool {
        lock(&self.active)
            .get(&subscription.topic)
            .is_some_and(|now| now.sub_version == subscription.sub_version)
    }

    /// The version of a new subscription of `topic` made at `now_ms`: later than the one
    /// advertised, even within the same millisecond, so the brokers take it as newer.
    pub(crate) fn next_version(&self, topic: &str, now_ms: i64) -> i64 {
        match lock(&self.advertised).get(topic) {
            Some(old) => now_ms.max(old.sub_version + 1),
            None => now_ms,
        }
    }

    /// Puts `subscription` in the heartbeat (step one of a subscribe).
    pub(crate) fn advertise(&self, subscription: SubscriptionData) {
        lock(&self.advertised).insert(subscription.topic.clone(), subscription);
    }

    /// Takes `topic` out of the heartbeat (last step of an unsubscribe).
    pub(crate) fn withdraw(&self, topic: &str) {
        lock(&self.advertised).remove(topic);
    }

    /// Makes `subscription` the one rebalance and pulls use (once the brokers know it).
    pub(crate) fn activate(&self, subscription: SubscriptionData) {
        lock(&self.active).insert(subscription.topic.clone(), subscription);
        self.changes.send_modify(|n| *n += 1);
    }

    /// Stops holding `topic` (step one of an unsubscribe).
    pub(crate) fn deactivate(&self, topic: &str) {
        if lock(&self.active).remove(topic).is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Told of every change of the active table.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(topic: &str, expression: &str, version: i64) -> SubscriptionData {
        SubscriptionData::tag(topic, expression, version)
    }

    fn table() -> LiveSubscriptions {
        LiveSubscriptions::new(BTreeMap::from([("A".to_owned(), tag("A", "x", 100))]))
    }

    #[test]
    fn a_consumer_starts_with_its_subscriptions_advertised_and_active() {
        let subs = table();
        assert_eq!(subs.advertised().len(), 1);
        assert!(subs.is_active("A"));
        assert!(subs.is_current(&tag("A", "x", 100)));
        assert!(!subs.is_current(&tag("A", "x", 99)));
        assert!(!subs.is_current(&tag("B", "x", 100)));
    }

    #[test]
    fn a_new_topic_is_advertised_before_it_is_held() {
        let subs = table();
        let watch = subs.watch();
        subs.advertise(tag("B", "*", 200));
        assert!(subs.advertised_of("B").is_some());
        assert!(
            !subs.is_active("B"),
            "not pulled before the brokers know it"
        );
        assert!(!watch.has_changed().unwrap());
        subs.activate(tag("B", "*", 200));
        assert!(subs.is_active("B"));
        assert!(watch.has_changed().unwrap());
        assert_eq!(
            subs.active().into_keys().collect::<Vec<_>>(),
            ["A".to_owned(), "B".to_owned()]
        );
    }

    #[test]
    fn a_replaced_expression_makes_pulls_made_with_the_old_one_stale() {
        let subs = table();
        let old = subs.active_of("A").unwrap();
        let version = subs.next_version("A", 100);
        assert_eq!(
            version, 101,
            "newer than the advertised one within the same ms"
        );
        assert_eq!(subs.next_version("A", 5_000), 5_000);
        assert_eq!(subs.next_version("Z", 7), 7);
        subs.advertise(tag("A", "y", version));
        assert!(
            subs.is_current(&old),
            "still active until the heartbeat went out"
        );
        subs.activate(tag("A", "y", version));
        assert!(!subs.is_current(&old));
        assert_eq!(subs.active_of("A").unwrap().sub_string, "y");
    }

    #[test]
    fn an_unsubscribed_topic_stops_being_held_before_it_leaves_the_heartbeat() {
        let subs = table();
        let mut watch = subs.watch();
        subs.deactivate("A");
        assert!(watch.has_changed().unwrap());
        watch.borrow_and_update();
        assert!(subs.active_of("A").is_none());
        assert!(subs.advertised_of("A").is_some());
        subs.withdraw("A");
        assert!(subs.advertised().is_empty());
        subs.deactivate("A");
        assert!(
            !watch.has_changed().unwrap(),
            "removing nothing announces nothing"
        );
    }
}
