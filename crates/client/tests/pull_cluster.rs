//! PULL_MESSAGE against the real local cluster (NameServer `$NAMESRV_ADDR`, default
//! 127.0.0.1:9876): messages sent by our producer come back from the broker with their
//! bodies, tags and offsets; the end of a queue is NO_NEW_MSG, an offset far past it is
//! OFFSET_ILLEGAL, and a TAG subscription gets only its tag. Each test has its own topic and
//! group. The pulls carry their subscription (the SUBSCRIPTION flag), so no heartbeat is
//! needed: the broker creates the group's subscription from the request.

mod common;

use common::{cluster_admin, create_topic, started_producer, unique};

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rocketmq_client::consumer::pull::{PullRequest, PullResult, PullStatus, Puller};
use rocketmq_client::{Admin, OutgoingMessage, Producer, SendStatus};
use rocketmq_remoting::body::{MessageQueue, SubscriptionData};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::MessageExt;

/// How many pulls a test may spend reading a queue to its end: a bound, not a timing
/// assumption (each pull waits on the broker for what was sent).
const MAX_PULLS: usize = 40;

/// What one sent message should look like when pulled.
#[derive(Debug, Clone)]
struct Sent {
    body: String,
    tag: &'static str,
    offset: i64,
}

/// A fresh topic (one queue per master) holding `count` messages sent by our producer,
/// tagged A, A, B, B, A, A, … so that round-robin sending leaves both tags on every queue.
struct Fixture {
    admin: Admin,
    puller: Puller,
    topic: String,
    group: String,
    instance_name: String,
    /// Per queue, the messages sent to it in offset order.
    sent: BTreeMap<MessageQueue, Vec<Sent>>,
}

impl Fixture {
    async fn new(name: &str, count: usize) -> Fixture {
        let topic = unique(&format!("PullIT_{name}"));
        let group = unique(&format!("PullITGroup_{name}"));
        // One client instance per test: each #[tokio::test] has its own runtime, and an
        // instance's connections live on the runtime that opened them, so tests sharing
        // one would cut each other's connections when the first of them ends.
        let instance_name = unique(name);
        let admin = cluster_admin(&instance_name);
        create_topic(&admin, &topic, 1).await;

        let producer = started_producer(&instance_name, "PullITProducer").await;
        let mut sent: BTreeMap<MessageQueue, Vec<Sent>> = BTreeMap::new();
        for i in 0..count {
            let tag = if (i / 2) % 2 == 0 { "A" } else { "B" };
            let body = format!("{name} message {i}");
            let result = producer
                .send(OutgoingMessage {
                    topic: topic.clone(),
                    body: Bytes::from(body.clone()),
                    tags: Some(tag.into()),
                    ..OutgoingMessage::default()
                })
                .await
                .unwrap();
            assert_eq!(result.status, SendStatus::SendOk);
            sent.entry(result.queue.clone()).or_default().push(Sent {
                body,
                tag,
                offset: result.queue_offset,
            });
        }
        producer.shutdown().await;

        let puller = Puller::for_instance(&admin.instance().await.unwrap());
        Fixture {
            admin,
            puller,
            topic,
            group,
            instance_name,
            sent,
        }
    }

    fn request(&self, queue: &MessageQueue, offset: i64, expression: &str) -> PullRequest {
        let mut request = PullRequest::new(
            self.group.clone(),
            queue.clone(),
            offset,
            SubscriptionData::tag(self.topic.clone(), expression, now_millis()),
        );
        request.flags.subscription = true;
        // Short holds: the tests wait on the broker only where nothing is left.
        request.suspend_timeout = Duration::from_millis(500);
        request.timeout = Duration::from_secs(10);
        request
    }

    /// Pulls `queue` from `from` until `next_begin_offset` reaches `end`, collecting the
    /// messages and every result's status.
    async fn pull_until(
        &self,
        queue: &MessageQueue,
        from: i64,
        end: i64,
        expression: &str,
    ) -> (Vec<MessageExt>, Vec<PullStatus>) {
        let mut offset = from;
        let mut messages = Vec::new();
        let mut statuses = Vec::new();
        for _ in 0..MAX_PULLS {
            if offset >= end {
                return (messages, statuses);
            }
            let result: PullResult = self
                .puller
                .pull(&self.request(queue, offset, expression))
                .await
                .unwrap();
            assert_ne!(result.status, PullStatus::OffsetIllegal, "{result:?}");
            assert_eq!(result.skipped_records, 0);
            statuses.push(result.status);
            offset = result.next_begin_offset;
            messages.extend(result.messages);
        }
        panic!("{queue} did not reach offset {end} within {MAX_PULLS} pulls (at {offset})");
    }

    /// The queue's sent messages and the offset one past the last of them.
    fn queue_with_messages(&self) -> (&MessageQueue, &Vec<Sent>, i64) {
        let (queue, sent) = self.sent.iter().max_by_key(|(_, sent)| sent.len()).unwrap();
        let end = sent.last().unwrap().offset + 1;
        (queue, sent, end)
    }

    async fn producer(&self) -> Producer {
        let producer = started_producer(&self.instance_name, "PullITProducer").await;
        producer
    }

    async fn close(self) {
        self.admin.close().await;
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn pulls_back_what_the_producer_sent() {
    let fixture = Fixture::new("found", 12).await;
    for (queue, sent) in &fixture.sent {
        let end = sent.last().unwrap().offset + 1;
        assert_eq!(sent[0].offset, 0, "a fresh queue starts at 0");
        let (messages, statuses) = fixture.pull_until(queue, 0, end, "*").await;
        assert!(statuses.contains(&PullStatus::Found));
        let got: Vec<(i64, String, Option<String>)> = messages
            .iter()
            .map(|m| {
                (
                    m.queue_offset,
                    String::from_utf8(m.body.to_vec()).unwrap(),
                    m.tags().map(str::to_owned),
                )
            })
            .collect();
        let want: Vec<(i64, String, Option<String>)> = sent
            .iter()
            .map(|s| (s.offset, s.body.clone(), Some(s.tag.to_owned())))
            .collect();
        assert_eq!(got, want, "{queue}");
        for message in &messages {
            assert_eq!(message.topic, fixture.topic);
            assert_eq!(message.queue_id, queue.queue_id);
            assert_eq!(message.broker_name, queue.broker_name);
            let min: i64 = message.property(keys::MIN_OFFSET).unwrap().parse().unwrap();
            let max: i64 = message.property(keys::MAX_OFFSET).unwrap().parse().unwrap();
            assert_eq!(min, 0);
            assert!(max > message.queue_offset && max <= end, "max offset {max}");
        }
    }
    fixture.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn the_end_of_a_queue_is_no_new_msg() {
    let fixture = Fixture::new("end", 4).await;
    let (queue, _, end) = fixture.queue_with_messages();
    // Read to the end first: the consume queue may lag the send acknowledgement.
    fixture.pull_until(queue, 0, end, "*").await;

    let result = fixture
        .puller
        .pull(&fixture.request(queue, end, "*"))
        .await
        .unwrap();
    assert_eq!(result.status, PullStatus::NoNewMsg, "{result:?}");
    assert_eq!(result.next_begin_offset, end);
    assert_eq!(result.max_offset, end);
    assert!(result.messages.is_empty());
    fixture.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_held_pull_returns_a_message_sent_while_it_waits() {
    let fixture = Fixture::new("held", 1).await;
    let (queue, _, end) = fixture.queue_with_messages();
    fixture.pull_until(queue, 0, end, "*").await;
    let producer = fixture.producer().await;

    // The Java push consumer's hold: up to 15 s within a 30 s budget.
    let mut held = fixture.request(queue, end, "*");
    held.suspend_timeout = Duration::from_secs(15);
    held.timeout = Duration::from_secs(30);
    let send_later = async {
        // Give the pull time to reach the broker and be held. If the send wins the race
        // anyway, the pull still finds the message: the test cannot fail for it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Sends spread over the queues; send until one lands on the held one.
        for i in 0..16 {
            let result = producer
                .send(OutgoingMessage {
                    topic: fixture.topic.clone(),
                    body: Bytes::from(format!("late {i}")),
                    tags: Some("A".into()),
                    ..OutgoingMessage::default()
                })
                .await
                .unwrap();
            if &result.queue == queue {
                return format!("late {i}");
            }
        }
        panic!("no send reached {queue}");
    };
    let (result, late_body) = tokio::join!(fixture.puller.pull(&held), send_later);
    let result = result.unwrap();
    assert_eq!(result.status, PullStatus::Found, "{result:?}");
    assert_eq!(result.messages[0].queue_offset, end);
    assert_eq!(&result.messages[0].body[..], late_body.as_bytes());
    producer.shutdown().await;
    fixture.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn an_offset_far_past_the_end_is_offset_illegal() {
    let fixture = Fixture::new("illegal", 4).await;
    let (queue, _, end) = fixture.queue_with_messages();
    fixture.pull_until(queue, 0, end, "*").await;

    let result = fixture
        .puller
        .pull(&fixture.request(queue, end + 1000, "*"))
        .await
        .unwrap();
    assert_eq!(result.status, PullStatus::OffsetIllegal, "{result:?}");
    assert_eq!(result.max_offset, end);
    // The broker points back into the queue: the pull loop corrects the offset to this.
    assert_eq!(result.next_begin_offset, end, "{result:?}");
    assert!(result.messages.is_empty());
    fixture.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_tag_subscription_gets_only_its_tag() {
    let fixture = Fixture::new("tags", 12).await;
    let mut checked_a_queue_with_both_tags = false;
    for (queue, sent) in &fixture.sent {
        let end = sent.last().unwrap().offset + 1;
        let (messages, _) = fixture.pull_until(queue, 0, end, "A").await;
        let got: Vec<(i64, String)> = messages
            .iter()
            .map(|m| {
                assert_eq!(m.tags(), Some("A"));
                (m.queue_offset, String::from_utf8(m.body.to_vec()).unwrap())
            })
            .collect();
        let want: Vec<(i64, String)> = sent
            .iter()
            .filter(|s| s.tag == "A")
            .map(|s| (s.offset, s.body.clone()))
            .collect();
        assert_eq!(got, want, "{queue}");
        checked_a_queue_with_both_tags |= sent.iter().any(|s| s.tag == "B") && !want.is_empty();
    }
    assert!(
        checked_a_queue_with_both_tags,
        "no queue held both tags: {:?}",
        fixture.sent
    );
    fixture.close().await;
}
