//! The push consumer against the real local cluster (NameServer `$NAMESRV_ADDR`, default
//! 127.0.0.1:9876, two masters): every message sent is consumed exactly once and the
//! offsets left on the brokers are the queues' max offsets; two members of one group share
//! the queues; a TAG subscription gets only its tag; a running consumer's subscriptions
//! change without a restart; a batch the listener fails comes again; consumers of one
//! instance shut down right after start return.
//! Each test has its own topic, group and client instance names (tests run on separate
//! runtimes, and an instance's connections live on the runtime that opened them). Waits are
//! bounded by [`WAIT`], a limit rather than a timing assumption.

mod common;

use common::{
    broker_is_4x, cluster_admin, create_topic, namesrv, started_producer, unique, write_frame,
};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rocketmq_client::consumer::offset_store::remote::RemoteOffsetStore;
use rocketmq_client::consumer::push::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumerStats, ExpressionType,
    MessageListenerConcurrently, PushConsumer, PushConsumerConfig,
};
use rocketmq_client::instance::{ClientInstance, InstanceConfig};
use rocketmq_client::{Admin, ClientError, OutgoingMessage, Producer, SendStatus};
use rocketmq_remoting::body::{ConsumeFromWhere, MessageModel, MessageQueue, ResetOffsetBody};
use rocketmq_remoting::codes::request;
use rocketmq_remoting::header::{EncodeHeader, ResetOffsetRequestHeader};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::MessageExt;
use rocketmq_remoting::{ExtFields, RemotingCommand};

/// Longest a test waits for its messages.
const WAIT: Duration = Duration::from_secs(90);
/// Queues per master: 16 queues on the two-master cluster.
const QUEUES_PER_BROKER: i32 = 8;

/// One delivery seen by a listener.
#[derive(Debug, Clone)]
struct Delivery {
    consumer: &'static str,
    queue: MessageQueue,
    offset: i64,
    body: String,
    tag: Option<String>,
    reconsume_times: i32,
}

type Log = Arc<Mutex<Vec<Delivery>>>;

/// A message to send: body, tag and user properties.
type Outgoing = (String, &'static str, Vec<(String, String)>);

/// A listener that records every delivery and answers what `verdict` says of it.
fn recording_listener(
    consumer: &'static str,
    log: Log,
    verdict: impl Fn(&Delivery) -> ConsumeConcurrentlyStatus + Send + Sync + 'static,
) -> Arc<dyn MessageListenerConcurrently> {
    Arc::new(
        move |messages: Vec<Arc<MessageExt>>, context: ConsumeContext| {
            let mut status = ConsumeConcurrentlyStatus::ConsumeSuccess;
            for m in &messages {
                assert_eq!(context.queue.queue_id, m.queue_id);
                let delivery = Delivery {
                    consumer,
                    queue: context.queue.clone(),
                    offset: m.queue_offset,
                    body: String::from_utf8_lossy(&m.body).into_owned(),
                    tag: m.property(keys::TAGS).map(str::to_owned),
                    reconsume_times: m.reconsume_times,
                };
                if verdict(&delivery) == ConsumeConcurrentlyStatus::ReconsumeLater {
                    status = ConsumeConcurrentlyStatus::ReconsumeLater;
                }
                log.lock().unwrap().push(delivery);
            }
            async move { status }
        },
    )
}

/// A recording listener ("c", every message a success) whose calls wait until the test adds
/// permits to the returned gate: the way to hold messages in the process queues on purpose.
fn gated_listener() -> (
    Arc<tokio::sync::Semaphore>,
    Log,
    Arc<dyn MessageListenerConcurrently>,
) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let log: Log = Arc::default();
    let recorder = recording_listener("c", Arc::clone(&log), |_| {
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    let waiting = Arc::clone(&gate);
    let listener = move |messages: Vec<Arc<MessageExt>>, context: ConsumeContext| {
        let gate = Arc::clone(&waiting);
        let inner = recorder.consume(messages, context);
        async move {
            drop(gate.acquire().await.unwrap());
            inner.await
        }
    };
    (gate, log, Arc::new(listener))
}

/// Flow control held `held` within the shares of `limit` over `queues` queues: a queue pulls
/// while it holds no more than its share, and one pull adds at most a batch.
fn assert_held_within_shares(held: &ConsumerStats, queues: u64, limit: u64, batch: u64) {
    let per_queue = (limit / queues).max(1);
    assert!(held.queues_held >= queues, "{held:?}");
    assert!(
        held.max_messages_held_by_a_queue <= per_queue + batch,
        "{held:?}"
    );
    assert!(
        held.messages_held <= queues * (per_queue + batch),
        "{held:?}"
    );
}

struct Fixture {
    admin: Admin,
    producer: Arc<Producer>,
    topic: String,
    group: String,
    name: String,
}

impl Fixture {
    async fn new(name: &str) -> Fixture {
        let topic = unique(&format!("PushIT_{name}"));
        let instance = unique(&format!("{name}_admin"));
        let admin = cluster_admin(&instance);
        create_topic(&admin, &topic, QUEUES_PER_BROKER).await;
        let producer = started_producer(&instance, "PushITProducer").await;
        Fixture {
            admin,
            producer: Arc::new(producer),
            topic,
            group: unique(&format!("PushITGroup_{name}")),
            name: name.to_owned(),
        }
    }

    /// Sends `bodies` with their tags, a few at a time, and waits for every answer.
    async fn send(&self, messages: Vec<(String, &'static str)>) {
        let messages = messages
            .into_iter()
            .map(|(body, tag)| (body, tag, Vec::new()))
            .collect();
        self.send_with_properties(messages).await;
    }

    /// Sends bodies with their tags and user properties, a few at a time, and waits for
    /// every answer.
    async fn send_with_properties(&self, messages: Vec<Outgoing>) {
        for chunk in messages.chunks(32) {
            let sends: Vec<_> = chunk
                .iter()
                .map(|(body, tag, properties)| {
                    let producer = Arc::clone(&self.producer);
                    let message = OutgoingMessage {
                        topic: self.topic.clone(),
                        body: Bytes::from(body.clone()),
                        tags: Some((*tag).to_owned()),
                        properties: properties.clone(),
                        ..OutgoingMessage::default()
                    };
                    tokio::spawn(async move { producer.send(message).await })
                })
                .collect();
            for send in sends {
                assert_eq!(send.await.unwrap().unwrap().status, SendStatus::SendOk);
            }
        }
    }

    /// The configuration of a member of the test's group on its own client instance.
    fn config(&self, instance: &str, from: ConsumeFromWhere) -> PushConsumerConfig {
        PushConsumerConfig {
            group: self.group.clone(),
            namesrv_addr: namesrv(),
            instance_name: Some(unique(&format!("{}_{instance}", self.name))),
            consume_from_where: from,
            ..PushConsumerConfig::default()
        }
    }

    fn consumer(
        &self,
        instance: &str,
        from: ConsumeFromWhere,
        listener: Arc<dyn MessageListenerConcurrently>,
    ) -> PushConsumer {
        PushConsumer::new(self.config(instance, from), listener).unwrap()
    }

    /// Members `a` and `b`, from the first offset, recording every delivery into `log` and
    /// answering success, subscribed to the whole topic and started.
    async fn started_pair(&self, log: &Log) -> (PushConsumer, PushConsumer) {
        let ok = |_: &Delivery| ConsumeConcurrentlyStatus::ConsumeSuccess;
        let a = self.consumer(
            "a",
            ConsumeFromWhere::ConsumeFromFirstOffset,
            recording_listener("a", Arc::clone(log), ok),
        );
        let b = self.consumer(
            "b",
            ConsumeFromWhere::ConsumeFromFirstOffset,
            recording_listener("b", Arc::clone(log), ok),
        );
        for c in [&a, &b] {
            c.subscribe(&self.topic, "*").unwrap();
            c.start().await.unwrap();
        }
        (a, b)
    }

    async fn all_queues(&self) -> BTreeSet<MessageQueue> {
        self.admin
            .topic_route(&self.topic)
            .await
            .unwrap()
            .consumer_queues(&self.topic)
            .into_iter()
            .collect()
    }

    /// Per queue: (the group's offset on the broker, the queue's max offset).
    async fn offsets(&self) -> BTreeMap<MessageQueue, (Option<i64>, i64)> {
        let store =
            RemoteOffsetStore::for_instance(&self.admin.instance().await.unwrap(), &self.group);
        let mut out = BTreeMap::new();
        for mq in self.all_queues().await {
            let committed = store.query_broker_offset(&mq).await.unwrap();
            let max = self
                .admin
                .max_offset(&self.topic, &mq.broker_name, mq.queue_id)
                .await
                .unwrap();
            out.insert(mq, (committed, max));
        }
        out
    }

    async fn close(self) {
        self.producer.shutdown().await;
        self.admin.close().await;
    }
}

/// Waits until `done` holds, at most [`WAIT`]; says whether it did.
async fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

fn distinct(log: &Log, pred: impl Fn(&Delivery) -> bool) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|d| pred(d))
        .map(|d| (d.queue.clone(), d.offset))
        .collect::<BTreeSet<_>>()
        .len()
}

fn bodies(prefix: &str, count: usize, tag: &'static str) -> Vec<(String, &'static str)> {
    (0..count).map(|i| (format!("{prefix}-{i}"), tag)).collect()
}

/// Each (queue, offset) of `log` with how many times it was delivered.
fn delivery_counts(log: &Log) -> BTreeMap<(MessageQueue, i64), usize> {
    let mut counts = BTreeMap::new();
    for d in log.lock().unwrap().iter() {
        *counts.entry((d.queue.clone(), d.offset)).or_insert(0) += 1;
    }
    counts
}

/// Waits until `a` and `b` hold disjoint, non-empty shares of `all` that cover it, at most
/// [`WAIT`]; returns their shares as last seen.
async fn wait_for_split(
    a: &PushConsumer,
    b: &PushConsumer,
    all: &BTreeSet<MessageQueue>,
) -> (BTreeSet<MessageQueue>, BTreeSet<MessageQueue>) {
    let deadline = Instant::now() + WAIT;
    let of_topic = |q: BTreeSet<MessageQueue>| -> BTreeSet<MessageQueue> {
        q.into_iter().filter(|mq| all.contains(mq)).collect()
    };
    loop {
        let qa = of_topic(a.assigned_queues().await);
        let qb = of_topic(b.assigned_queues().await);
        let split = !qa.is_empty()
            && !qb.is_empty()
            && qa.is_disjoint(&qb)
            && qa.union(&qb).cloned().collect::<BTreeSet<_>>() == *all;
        if split || Instant::now() > deadline {
            return (qa, qb);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn every_message_is_consumed_once_and_offsets_reach_the_max() {
    const COUNT: usize = 2000;
    let fx = Fixture::new("once").await;
    fx.send(bodies("once", COUNT, "A")).await;

    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    let all = wait_until(|| distinct(&log, |_| true) >= COUNT).await;
    consumer.shutdown().await;
    assert!(all, "consumed {} of {COUNT}", distinct(&log, |_| true));

    let counts = delivery_counts(&log);
    assert_eq!(counts.len(), COUNT);
    assert!(counts.values().all(|n| *n == 1), "a message came twice");
    let sent: BTreeSet<String> = bodies("once", COUNT, "A")
        .into_iter()
        .map(|b| b.0)
        .collect();
    let got: BTreeSet<String> = log.lock().unwrap().iter().map(|d| d.body.clone()).collect();
    assert_eq!(sent, got);

    let offsets = fx.offsets().await;
    assert_eq!(offsets.len(), 2 * QUEUES_PER_BROKER as usize);
    for (mq, (committed, max)) in offsets {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn two_members_share_the_queues_and_each_message_is_consumed_once() {
    const COUNT: usize = 400;
    let fx = Fixture::new("share").await;
    let all_queues = fx.all_queues().await;
    assert_eq!(all_queues.len(), 16);
    let log: Log = Arc::default();
    // Both hold a disjoint share covering the topic once the broker told `a` of `b`;
    // sending only then keeps a queue from being pulled by both while they settle.
    let (a, b) = fx.started_pair(&log).await;
    let (qa, qb) = wait_for_split(&a, &b, &all_queues).await;
    assert!(!qa.is_empty() && !qb.is_empty(), "a: {qa:?}, b: {qb:?}");
    assert!(qa.is_disjoint(&qb));
    assert_eq!(qa.union(&qb).cloned().collect::<BTreeSet<_>>(), all_queues);

    fx.send(bodies("share", COUNT, "A")).await;
    let all = wait_until(|| distinct(&log, |_| true) >= COUNT).await;
    a.shutdown().await;
    b.shutdown().await;
    assert!(all, "consumed {} of {COUNT}", distinct(&log, |_| true));
    let counts = delivery_counts(&log);
    assert_eq!(counts.len(), COUNT);
    assert!(counts.values().all(|n| *n == 1), "a message came twice");
    let log: Vec<Delivery> = log.lock().unwrap().clone();
    for (name, held) in [("a", &qa), ("b", &qb)] {
        let mine: Vec<&Delivery> = log.iter().filter(|d| d.consumer == name).collect();
        assert!(!mine.is_empty(), "{name} consumed nothing");
        assert!(mine.iter().all(|d| held.contains(&d.queue)));
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_tag_subscription_gets_only_its_tag() {
    const EACH: usize = 64;
    let fx = Fixture::new("tag").await;
    // Every B is stored before every A of its queue, so getting all the A's means the
    // consumer went past all the B's.
    fx.send(bodies("tag-b", EACH, "B")).await;
    fx.send(bodies("tag-a", EACH, "A")).await;
    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer.subscribe(&fx.topic, "A || C").unwrap();
    consumer.start().await.unwrap();
    let all = wait_until(|| distinct(&log, |_| true) >= EACH).await;
    consumer.shutdown().await;
    assert!(all, "consumed {} of {EACH}", distinct(&log, |_| true));
    let log: Vec<Delivery> = log.lock().unwrap().clone();
    assert!(log.iter().all(|d| d.tag.as_deref() == Some("A")));
    let got: BTreeSet<&str> = log.iter().map(|d| d.body.as_str()).collect();
    assert_eq!(got.len(), EACH);
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_running_consumer_changes_its_subscriptions_without_a_restart() {
    const EACH: usize = 20;
    let fx = Fixture::new("live").await;
    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer.subscribe(&fx.topic, "A").unwrap();
    consumer.start().await.unwrap();
    fx.send(bodies("before-a", EACH, "A")).await;
    let starts_with = |prefix: &'static str| move |d: &Delivery| d.body.starts_with(prefix);
    assert!(wait_until(|| distinct(&log, starts_with("before-a")) >= EACH).await);

    // The group's retry topic stays; an expression the brokers refuse changes nothing.
    let retry = format!("%RETRY%{}", fx.group);
    let kept = consumer.unsubscribe(&retry).await.unwrap_err();
    assert!(matches!(kept, ClientError::Validation(_)), "{kept}");
    let refused = consumer
        .subscribe_live(&fx.topic, ExpressionType::Sql92, "a >")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "ERR_INVALID_SELECTOR", "{refused}");

    // From A to B: every A is stored before every B of its queue, so all the B's arriving
    // means the consumer went past the A's, which it must not have delivered.
    consumer
        .subscribe_live(&fx.topic, ExpressionType::Tag, "B")
        .await
        .unwrap();
    fx.send(bodies("after-a", EACH, "A")).await;
    fx.send(bodies("after-b", EACH, "B")).await;
    assert!(wait_until(|| distinct(&log, starts_with("after-b")) >= EACH).await);
    assert_eq!(distinct(&log, starts_with("after-a")), 0);

    // Unsubscribed: the topic's queues are dropped before the call returns; subscribed
    // again: held again.
    consumer.unsubscribe(&fx.topic).await.unwrap();
    let held = consumer.assigned_queues().await;
    assert!(held.iter().all(|mq| mq.topic != fx.topic), "{held:?}");
    consumer
        .subscribe_live(&fx.topic, ExpressionType::Tag, "*")
        .await
        .unwrap();
    let held = consumer.assigned_queues().await;
    assert_eq!(
        held.iter().filter(|mq| mq.topic == fx.topic).count(),
        fx.all_queues().await.len()
    );
    consumer.shutdown().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_batch_the_listener_fails_comes_again_and_nothing_is_lost() {
    const COUNT: usize = 40;
    let fx = Fixture::new("later").await;
    fx.send(bodies("later", COUNT, "A")).await;
    let log: Log = Arc::default();
    // Every third message fails its first delivery.
    let fails_first = |d: &Delivery| {
        let index: usize = d.body.rsplit('-').next().unwrap().parse().unwrap();
        index.is_multiple_of(3)
    };
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), move |d| {
            if fails_first(d) && d.reconsume_times == 0 {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        }),
    );
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    let retried = (0..COUNT).filter(|i| i.is_multiple_of(3)).count();
    let all =
        wait_until(|| distinct(&log, |d| !fails_first(d) || d.reconsume_times > 0) >= COUNT).await;
    consumer.shutdown().await;
    assert!(all, "{} of {COUNT} succeeded", distinct(&log, |_| true));

    let log: Vec<Delivery> = log.lock().unwrap().clone();
    let again: Vec<&Delivery> = log.iter().filter(|d| d.reconsume_times > 0).collect();
    assert_eq!(again.len(), retried, "{again:?}");
    assert!(again.iter().all(|d| fails_first(d)));
    // Sent back to the broker, they came again through the group's retry topic.
    assert!(
        again.iter().all(|d| d.queue.topic.starts_with("%RETRY%")),
        "{again:?}"
    );
    let got: BTreeSet<&str> = log.iter().map(|d| d.body.as_str()).collect();
    assert_eq!(got.len(), COUNT);
    // Nothing skipped: every queue's commit reached its end.
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_listener_that_panics_gets_the_message_again() {
    const COUNT: usize = 20;
    let fx = Fixture::new("panic").await;
    fx.send(bodies("panic", COUNT, "A")).await;
    let log: Log = Arc::default();
    let recorded = Arc::clone(&log);
    let listener = move |messages: Vec<Arc<MessageExt>>, context: ConsumeContext| {
        for m in &messages {
            let body = String::from_utf8_lossy(&m.body).into_owned();
            let index: usize = body.rsplit('-').next().unwrap().parse().unwrap();
            recorded.lock().unwrap().push(Delivery {
                consumer: "c",
                queue: context.queue.clone(),
                offset: m.queue_offset,
                body,
                tag: None,
                reconsume_times: m.reconsume_times,
            });
            if index.is_multiple_of(4) && m.reconsume_times == 0 {
                panic!("the listener fails on its first sight of message {index}");
            }
        }
        async { ConsumeConcurrentlyStatus::ConsumeSuccess }
    };
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        Arc::new(listener),
    );
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    let panicked = (0..COUNT).filter(|i| i.is_multiple_of(4)).count();
    let done = |log: &Log| {
        let log = log.lock().unwrap();
        log.iter()
            .filter(|d| d.reconsume_times > 0)
            .map(|d| (d.queue.clone(), d.offset))
            .collect::<BTreeSet<_>>()
            .len()
            >= panicked
            && log
                .iter()
                .map(|d| d.body.clone())
                .collect::<BTreeSet<_>>()
                .len()
                == COUNT
    };
    let all = wait_until(|| done(&log)).await;
    consumer.shutdown().await;
    assert!(all, "{:?}", log.lock().unwrap());
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

/// Waits until `consumer` holds exactly `expected` of `topic`'s queues, at most [`WAIT`].
async fn wait_for_queues(
    consumer: &PushConsumer,
    topic: &str,
    expected: &BTreeSet<MessageQueue>,
) -> BTreeSet<MessageQueue> {
    let deadline = Instant::now() + WAIT;
    loop {
        let held: BTreeSet<MessageQueue> = consumer
            .assigned_queues()
            .await
            .into_iter()
            .filter(|mq| mq.topic == topic)
            .collect();
        if &held == expected || Instant::now() > deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_member_leaving_hands_its_queues_over_at_its_committed_offsets() {
    const EACH: usize = 200;
    let fx = Fixture::new("handover").await;
    let all_queues = fx.all_queues().await;
    let log: Log = Arc::default();
    let (a, b) = fx.started_pair(&log).await;
    let (qa, qb) = wait_for_split(&a, &b, &all_queues).await;
    assert!(!qa.is_empty() && !qb.is_empty(), "a: {qa:?}, b: {qb:?}");
    fx.send(bodies("first", EACH, "A")).await;
    assert!(wait_until(|| distinct(&log, |_| true) >= EACH).await);
    let a_consumed = distinct(&log, |d| d.consumer == "a");

    // `a` leaves: it commits what it consumed, the broker tells `b`, and `b` takes every
    // queue from where `a` stopped.
    a.shutdown().await;
    let held = wait_for_queues(&b, &fx.topic, &all_queues).await;
    assert_eq!(held, all_queues);
    fx.send(bodies("second", EACH, "A")).await;
    let all = wait_until(|| distinct(&log, |_| true) >= 2 * EACH).await;
    b.shutdown().await;
    assert!(all, "consumed {} of {}", distinct(&log, |_| true), 2 * EACH);
    assert!(a_consumed > 0, "a consumed nothing before leaving");
    let counts = delivery_counts(&log);
    assert_eq!(counts.len(), 2 * EACH);
    assert!(
        counts.values().all(|n| *n == 1),
        "a message consumed by the leaver came again"
    );
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_sql92_subscription_gets_exactly_the_matching_messages() {
    const COUNT: usize = 60;
    let fx = Fixture::new("sql").await;
    // Property `a` runs 0..9 over and over; `a > 5` matches 6, 7, 8 and 9.
    let messages = (0..COUNT)
        .map(|i| {
            let a = (i % 10).to_string();
            (format!("sql-{i}"), "A", vec![("a".to_owned(), a)])
        })
        .collect();
    fx.send_with_properties(messages).await;
    let matching: BTreeSet<String> = (0..COUNT)
        .filter(|i| i % 10 > 5)
        .map(|i| format!("sql-{i}"))
        .collect();
    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer
        .subscribe_with(&fx.topic, ExpressionType::Sql92, "a > 5")
        .unwrap();
    consumer.start().await.unwrap();
    let all = wait_until(|| distinct(&log, |_| true) >= matching.len()).await;
    // Every queue's offset reaching its max (persisted every 5 s) proves the consumer went
    // past every non-matching message rather than not reaching them yet.
    let mut passed_all = false;
    let deadline = Instant::now() + WAIT;
    while all && !passed_all && Instant::now() < deadline {
        passed_all = fx
            .offsets()
            .await
            .values()
            .all(|(committed, max)| *committed == Some(*max));
        if !passed_all {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    consumer.shutdown().await;
    assert!(
        all,
        "consumed {} of {}",
        distinct(&log, |_| true),
        matching.len()
    );
    assert!(passed_all, "{:?}", fx.offsets().await);
    let got: BTreeSet<String> = log.lock().unwrap().iter().map(|d| d.body.clone()).collect();
    assert_eq!(got, matching);
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_sql92_expression_the_brokers_cannot_compile_fails_start() {
    let fx = Fixture::new("badsql").await;
    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer
        .subscribe_with(&fx.topic, ExpressionType::Sql92, "a >")
        .unwrap();
    let err = consumer.start().await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidSelector(_)), "{err:?}");
    assert_eq!(err.code(), "ERR_INVALID_SELECTOR");
    assert!(err.to_string().contains("a >"), "{err}");
    // Not started: nothing to shut down, and no client id.
    assert_eq!(consumer.client_id().await, None);
    fx.close().await;
}

/// Records, when dropped, that a listener call was cancelled.
struct Cancelled(Arc<Mutex<usize>>);

impl Drop for Cancelled {
    fn drop(&mut self) {
        *self.0.lock().unwrap() += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_listener_call_past_consume_timeout_is_cancelled_and_its_messages_come_again() {
    // At least one per queue: an empty queue's offset stays unset while its first pull
    // is held by the broker.
    const COUNT: usize = 18;
    let fx = Fixture::new("timeout").await;
    fx.send(bodies("timeout", COUNT, "A")).await;
    let log: Log = Arc::default();
    let cancelled: Arc<Mutex<usize>> = Arc::default();
    let (recorded, cancels) = (Arc::clone(&log), Arc::clone(&cancelled));
    // Every third message hangs on its first delivery: its call never ends by itself.
    let listener = move |messages: Vec<Arc<MessageExt>>, context: ConsumeContext| {
        let mut hang = false;
        for m in &messages {
            let body = String::from_utf8_lossy(&m.body).into_owned();
            let index: usize = body.rsplit('-').next().unwrap().parse().unwrap();
            hang |= index.is_multiple_of(3) && m.reconsume_times == 0;
            recorded.lock().unwrap().push(Delivery {
                consumer: "c",
                queue: context.queue.clone(),
                offset: m.queue_offset,
                body,
                tag: None,
                reconsume_times: m.reconsume_times,
            });
        }
        let guard = hang.then(|| Cancelled(Arc::clone(&cancels)));
        async move {
            if guard.is_some() {
                std::future::pending::<()>().await;
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }
    };
    let config = PushConsumerConfig {
        consume_timeout: Duration::from_secs(2),
        ..fx.config("c", ConsumeFromWhere::ConsumeFromFirstOffset)
    };
    let consumer = PushConsumer::new(config, Arc::new(listener)).unwrap();
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    let hung = (0..COUNT).filter(|i| i.is_multiple_of(3)).count();
    let done = || {
        let log = log.lock().unwrap();
        let bodies: BTreeSet<&str> = log.iter().map(|d| d.body.as_str()).collect();
        let again = log.iter().filter(|d| d.reconsume_times > 0).count();
        bodies.len() == COUNT && again >= hung
    };
    let all = wait_until(done).await;
    consumer.shutdown().await;
    assert!(all, "{:?}", log.lock().unwrap());
    // Each hung call was cancelled, so its late verdict can never count...
    assert_eq!(*cancelled.lock().unwrap(), hung);
    // ...and its messages came again, once, through the retry topic, with their count up.
    let log: Vec<Delivery> = log.lock().unwrap().clone();
    let again: Vec<&Delivery> = log.iter().filter(|d| d.reconsume_times > 0).collect();
    assert_eq!(again.len(), hung, "{again:?}");
    assert!(again.iter().all(|d| d.queue.topic.starts_with("%RETRY%")));
    let stats = consumer.stats();
    assert_eq!(stats.consumed_failed, hung as u64);
    assert_eq!(stats.sent_back, hung as u64);
    assert_eq!(stats.consumed_ok, COUNT as u64);
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn topic_thresholds_bound_what_a_stuck_listener_holds_and_the_counters_show_it() {
    const COUNT: usize = 400;
    const BATCH: u64 = 4;
    const TOPIC_LIMIT: u64 = 32;
    let fx = Fixture::new("flow").await;
    fx.send(bodies("flow", COUNT, "A")).await;
    let queues = fx.all_queues().await.len() as u64;
    // The listener waits until the test opens the gate.
    let (gate, log, listener) = gated_listener();
    let config = PushConsumerConfig {
        pull_batch_size: BATCH as i32,
        pull_threshold_for_topic: Some(TOPIC_LIMIT),
        ..fx.config("c", ConsumeFromWhere::ConsumeFromFirstOffset)
    };
    let consumer = PushConsumer::new(config, listener).unwrap();
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    // Flow control has started pausing pulls once every queue filled up to its share.
    let paused = wait_until(|| consumer.stats().flow_control_pauses >= queues).await;
    let held = consumer.stats();
    assert!(paused, "{held:?}");
    // Per queue: its share of TOPIC_LIMIT, plus a batch.
    assert_held_within_shares(&held, queues, TOPIC_LIMIT, BATCH);
    assert!(held.messages_held < COUNT as u64, "{held:?}");
    assert!(held.bytes_held >= held.messages_held, "{held:?}");
    assert!(held.pulls > 0, "{held:?}");

    gate.add_permits(1 << 20);
    let all = wait_until(|| distinct(&log, |_| true) >= COUNT).await;
    consumer.shutdown().await;
    assert!(all, "consumed {} of {COUNT}", distinct(&log, |_| true));
    let stats = consumer.stats();
    assert_eq!(stats.consumed_ok, COUNT as u64, "{stats:?}");
    assert_eq!(stats.consumed_failed, 0);
    assert_eq!((stats.messages_held, stats.queues_held), (0, 0));
    assert_eq!(stats.malformed_skipped, 0);
    // Every queue's offset was written, by the persist task or at shutdown.
    let store = stats.offset_store;
    assert!(store.persist_count >= queues, "{store:?}");
    assert_eq!(store.persist_failures, 0, "{store:?}");
    assert_eq!(store.persist_success_rate, 1.0, "{store:?}");
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_consumer_wide_threshold_bounds_what_a_stuck_listener_holds_over_two_topics() {
    const COUNT: usize = 400;
    const BATCH: u64 = 4;
    const ALL_LIMIT: u64 = 64;
    let fx = Fixture::new("all").await;
    let other = Fixture::new("all_b").await;
    fx.send(bodies("all_a", COUNT, "A")).await;
    other.send(bodies("all_b", COUNT, "B")).await;
    let queues = (fx.all_queues().await.len() + other.all_queues().await.len()) as u64;
    // The listener waits until the test opens the gate.
    let (gate, log, listener) = gated_listener();
    // Per queue (1000) and per topic (none), each queue could take all its messages.
    let config = PushConsumerConfig {
        pull_batch_size: BATCH as i32,
        pull_threshold_for_all: Some(ALL_LIMIT),
        ..fx.config("c", ConsumeFromWhere::ConsumeFromFirstOffset)
    };
    let consumer = PushConsumer::new(config, listener).unwrap();
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.subscribe(&other.topic, "*").unwrap();
    consumer.start().await.unwrap();
    let paused = wait_until(|| consumer.stats().flow_control_pauses >= queues).await;
    let held = consumer.stats();
    assert!(paused, "{held:?}");
    // Per queue: its share of the consumer-wide ALL_LIMIT over both topics' queues, plus a batch.
    assert_held_within_shares(&held, queues, ALL_LIMIT, BATCH);
    assert!(held.messages_held < 2 * COUNT as u64, "{held:?}");

    gate.add_permits(1 << 20);
    let all = wait_until(|| distinct(&log, |_| true) >= 2 * COUNT).await;
    consumer.shutdown().await;
    assert!(
        all,
        "consumed {} of {}",
        distinct(&log, |_| true),
        2 * COUNT
    );
    let stats = consumer.stats();
    assert_eq!(stats.consumed_ok, 2 * COUNT as u64, "{stats:?}");
    fx.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_reset_offset_from_a_broker_moves_consumption_back() {
    const COUNT: usize = 80;
    let fx = Fixture::new("reset").await;
    fx.send(bodies("reset", COUNT, "A")).await;
    let log: Log = Arc::default();
    let config = fx.config("c", ConsumeFromWhere::ConsumeFromFirstOffset);
    let instance_name = config.instance_name.clone().unwrap();
    let consumer = PushConsumer::new(
        config,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    )
    .unwrap();
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    assert!(wait_until(|| distinct(&log, |_| true) >= COUNT).await);

    // A 5.3.3 broker resets on its side, so a loopback "4.x broker" sends the request on
    // a connection of the consumer's client instance, as a real one would.
    let instance = ClientInstance::acquire(
        InstanceConfig::new(&namesrv())
            .unwrap()
            .with_names(Some(&instance_name), None),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hello = RemotingCommand::request(request::HEART_BEAT, ExtFields::new());
    instance.remoting().oneway(&addr, hello).await.unwrap();
    let (mut stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let header = ResetOffsetRequestHeader {
        group: fx.group.clone(),
        topic: fx.topic.clone(),
        timestamp: 0,
        is_force: true,
        queue_id: None,
        offset: None,
    };
    let body = ResetOffsetBody {
        offset_table: fx
            .all_queues()
            .await
            .into_iter()
            .map(|mq| (mq, 0))
            .collect(),
    };
    let mut reset = RemotingCommand::request(
        request::RESET_CONSUMER_CLIENT_OFFSET,
        header.to_ext_fields(),
    )
    .with_body(Bytes::from(body.encode_fastjson().unwrap()));
    reset.set_oneway();
    write_frame(&mut stream, &reset).await;

    // Every message comes a second time, from the reset offsets.
    let twice = wait_until(|| delivery_counts(&log).values().all(|n| *n >= 2)).await;
    consumer.shutdown().await;
    instance.release().await;
    let counts = delivery_counts(&log);
    assert!(twice, "{counts:?}");
    assert_eq!(counts.len(), COUNT);
    assert!(counts.values().all(|n| *n == 2), "{counts:?}");
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_server_side_reset_by_time_moves_consumption_back() {
    const COUNT: usize = 80;
    let fx = Fixture::new("srvreset").await;
    fx.send(bodies("srvreset", COUNT, "A")).await;
    let log: Log = Arc::default();
    let consumer = fx.consumer(
        "c",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        recording_listener("c", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    );
    consumer.subscribe(&fx.topic, "*").unwrap();
    consumer.start().await.unwrap();
    assert!(wait_until(|| distinct(&log, |_| true) >= COUNT).await);

    // A 4.x broker refuses to reset a queue the group has not committed yet: wait for the
    // consumer's commits (every queue at its max).
    if broker_is_4x() {
        let deadline = Instant::now() + WAIT;
        while !fx.offsets().await.values().all(|(c, max)| *c == Some(*max)) {
            assert!(
                Instant::now() < deadline,
                "offsets not committed: {:?}",
                fx.offsets().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // What `mqadmin resetOffsetByTime` sends: a 5.3.3 broker keeps the reset on its side
    // and answers the consumer's next pull of each queue with OFFSET_MOVED; a 4.x broker
    // sends the consumer RESET_CONSUMER_CLIENT_OFFSET.
    let admin_instance = fx.admin.instance().await.unwrap();
    let route = fx.admin.topic_route(&fx.topic).await.unwrap();
    for broker in &route.broker_datas {
        let header = ResetOffsetRequestHeader {
            group: fx.group.clone(),
            topic: fx.topic.clone(),
            timestamp: 0,
            is_force: true,
            queue_id: Some(-1),
            offset: None,
        };
        let command = RemotingCommand::request(
            request::INVOKE_BROKER_TO_RESET_OFFSET,
            header.to_ext_fields(),
        );
        let answer = admin_instance
            .remoting()
            .request(
                broker.master_addr().unwrap(),
                command,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(answer.code, 0, "{answer:?}");
    }

    let twice = wait_until(|| delivery_counts(&log).values().all(|n| *n >= 2)).await;
    consumer.shutdown().await;
    let counts = delivery_counts(&log);
    assert!(twice, "{counts:?}");
    assert_eq!(counts.len(), COUNT);
    assert!(counts.values().all(|n| *n == 2), "{counts:?}");
    for (mq, (committed, max)) in fx.offsets().await {
        assert_eq!(committed, Some(max), "offset of {mq}");
    }
    fx.close().await;
}

/// A fresh directory for offsets files, removed when dropped.
struct OffsetsDir(std::path::PathBuf);

impl OffsetsDir {
    fn new(name: &str) -> OffsetsDir {
        let dir = std::env::temp_dir().join(unique(&format!("push_it_offsets_{name}")));
        std::fs::create_dir_all(&dir).unwrap();
        OffsetsDir(dir)
    }

    /// The offsets file Java's layout gives `client_id` and `group` under this directory,
    /// decoded.
    fn table(&self, client_id: &str, group: &str) -> BTreeMap<MessageQueue, i64> {
        let path = self.0.join(client_id).join(group).join("offsets.json");
        let content =
            std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        ResetOffsetBody::decode(&content).unwrap().offset_table
    }
}

impl Drop for OffsetsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Fixture {
    /// A broadcasting member with its offsets under `dir`.
    fn broadcasting_config(&self, instance: &str, dir: &OffsetsDir) -> PushConsumerConfig {
        PushConsumerConfig {
            message_model: MessageModel::Broadcasting,
            offset_store_dir: Some(dir.0.clone()),
            persist_consumer_offset_interval: Duration::from_millis(500),
            ..self.config(instance, ConsumeFromWhere::ConsumeFromFirstOffset)
        }
    }

    async fn max_offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.offsets()
            .await
            .into_iter()
            .map(|(mq, (_, max))| (mq, max))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn broadcasting_members_each_consume_every_message_and_failures_are_dropped() {
    const COUNT: usize = 400;
    let fx = Fixture::new("bcast").await;
    let all_queues = fx.all_queues().await;
    fx.send(bodies("bcast", COUNT, "A")).await;
    let (dir_a, dir_b) = (OffsetsDir::new("a"), OffsetsDir::new("b"));
    let log: Log = Arc::default();
    // `b` fails every tenth message: broadcasting drops it instead of sending it back.
    let fails = |d: &Delivery| d.body.rsplit('-').next().unwrap().ends_with('0');
    let a = PushConsumer::new(
        fx.broadcasting_config("a", &dir_a),
        recording_listener("a", Arc::clone(&log), |_| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }),
    )
    .unwrap();
    let b = PushConsumer::new(
        fx.broadcasting_config("b", &dir_b),
        recording_listener("b", Arc::clone(&log), move |d| {
            if fails(d) {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        }),
    )
    .unwrap();
    for c in [&a, &b] {
        c.subscribe(&fx.topic, "*").unwrap();
        c.start().await.unwrap();
    }
    let all = wait_until(|| {
        distinct(&log, |d| d.consumer == "a") >= COUNT
            && distinct(&log, |d| d.consumer == "b") >= COUNT
    })
    .await;
    // Every member holds every queue of the topic, and nothing else: no retry topic.
    let (held_a, held_b) = (a.assigned_queues().await, b.assigned_queues().await);
    let (id_a, id_b) = (a.client_id().await.unwrap(), b.client_id().await.unwrap());
    a.shutdown().await;
    b.shutdown().await;
    assert!(
        all,
        "a consumed {}, b {} of {COUNT}",
        distinct(&log, |d| d.consumer == "a"),
        distinct(&log, |d| d.consumer == "b")
    );
    assert_eq!(held_a, all_queues);
    assert_eq!(held_b, all_queues);

    let log: Vec<Delivery> = log.lock().unwrap().clone();
    for name in ["a", "b"] {
        let mut seen = BTreeMap::new();
        for d in log.iter().filter(|d| d.consumer == name) {
            *seen.entry(d.body.clone()).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), COUNT, "{name}");
        assert!(seen.values().all(|n| *n == 1), "{name} got a message twice");
    }
    let failed = (0..COUNT).filter(|i| i % 10 == 0).count() as u64;
    let stats = b.stats();
    assert_eq!(stats.dropped_after_failure, failed);
    assert_eq!((stats.sent_back, stats.consumed_again_locally), (0, 0));
    assert_eq!(a.stats().dropped_after_failure, 0);

    // Each member's file holds every queue at its end, the dropped messages included.
    let max = fx.max_offsets().await;
    assert_eq!(dir_a.table(&id_a, &fx.group), max);
    assert_eq!(dir_b.table(&id_b, &fx.group), max);
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_broadcasting_member_started_again_resumes_from_its_file() {
    const EACH: usize = 200;
    let fx = Fixture::new("bresume").await;
    fx.send(bodies("first", EACH, "A")).await;
    let dir = OffsetsDir::new("resume");
    let config = fx.broadcasting_config("c", &dir);
    let log: Log = Arc::default();
    let run = |name: &'static str| {
        let consumer = PushConsumer::new(
            config.clone(),
            recording_listener(name, Arc::clone(&log), |_| {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }),
        )
        .unwrap();
        consumer.subscribe(&fx.topic, "*").unwrap();
        consumer
    };
    let first = run("first");
    first.start().await.unwrap();
    let id = first.client_id().await.unwrap();
    assert!(wait_until(|| distinct(&log, |_| true) >= EACH).await);
    first.shutdown().await;
    let max = fx.max_offsets().await;
    assert_eq!(
        dir.table(&id, &fx.group),
        max,
        "a clean shutdown commits all"
    );

    fx.send(bodies("second", EACH, "A")).await;
    let again = run("again");
    again.start().await.unwrap();
    assert_eq!(again.client_id().await.unwrap(), id);
    let all = wait_until(|| distinct(&log, |d| d.consumer == "again") >= EACH).await;
    again.shutdown().await;
    assert!(
        all,
        "{} of {EACH}",
        distinct(&log, |d| d.consumer == "again")
    );
    let log: Vec<Delivery> = log.lock().unwrap().clone();
    let second: BTreeSet<&str> = log
        .iter()
        .filter(|d| d.consumer == "again")
        .map(|d| d.body.as_str())
        .collect();
    assert_eq!(second.len(), EACH);
    assert!(
        second.iter().all(|b| b.starts_with("second-")),
        "the second run got a message the first had committed"
    );
    assert_eq!(dir.table(&id, &fx.group), fx.max_offsets().await);
    fx.close().await;
}

/// Consumers of one process share one client instance. Several of them, each of its own
/// group, start together and shut down as soon as they started, round after round: every
/// shutdown returns, and the last one out stops the instance. On this current-thread
/// runtime a consumer's tasks cannot run between its start and its shutdown, so every
/// shutdown signals the stop before those tasks first look at it, the moment when a lost
/// stop left the rebalance loop running and the shutdown waiting for it forever.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the local cluster; npm test runs it"]
async fn consumers_of_one_instance_shut_down_right_after_start_round_after_round() {
    const ROUNDS: usize = 5;
    const MEMBERS: usize = 4;
    let fx = Fixture::new("quick").await;
    let instance_name = unique("quick_members");
    for round in 0..ROUNDS {
        let mut cycles = tokio::task::JoinSet::new();
        for member in 0..MEMBERS {
            let config = PushConsumerConfig {
                group: unique(&format!("PushITGroup_quick_{round}_{member}")),
                instance_name: Some(instance_name.clone()),
                ..fx.config("unused", ConsumeFromWhere::ConsumeFromLastOffset)
            };
            let topic = fx.topic.clone();
            cycles.spawn(async move {
                let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                });
                let consumer = PushConsumer::new(config, listener).unwrap();
                consumer.subscribe(&topic, "*").unwrap();
                consumer.start().await.unwrap();
                consumer.shutdown().await;
            });
        }
        // A bound on a hang, not a timing assumption: a round takes well under a second.
        let all_returned = tokio::time::timeout(WAIT, async {
            while let Some(cycle) = cycles.join_next().await {
                cycle.unwrap();
            }
        })
        .await;
        assert!(
            all_returned.is_ok(),
            "round {round}: a shutdown never returned"
        );
    }
    // Every member left: the instance of their name was stopped, and a new member gets a
    // fresh one of its own.
    let config = InstanceConfig::new(&namesrv())
        .unwrap()
        .with_names(Some(&instance_name), None);
    let fresh = ClientInstance::acquire(config).await.unwrap();
    assert_eq!(fresh.members(), 1, "a member of the rounds never left");
    fresh.release().await;
    fx.close().await;
}
