//! Sending a failed message back: the request a scripted loopback broker receives, field by
//! field, and the fallback copy when the broker refuses; then the real local cluster
//! (NameServer `$NAMESRV_ADDR`, default 127.0.0.1:9876): a message sent back arrives in
//! `%RETRY%<group>` with its count raised and, once restored, its first topic and body; past
//! `maxReconsumeTimes` it lands in `%DLQ%<group>`; a send-back the broker refuses still
//! reaches the retry topic through the fallback copy.

mod common;

use common::{cluster_admin, create_topic, started_producer, unique};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{refused_addr, serve, Server};
use rocketmq_client::consumer::pull::{PullRequest, PullStatus, Puller};
use rocketmq_client::consumer::rebalance::retry_topic;
use rocketmq_client::consumer::send_back::{
    dlq_topic, restore_retry_message, send_back, send_back_via, SendBackPath, INNER_PRODUCER_GROUP,
};
use rocketmq_client::{
    Admin, ClientError, ClientInstance, ConnectionConfig, OutgoingMessage, RemotingClient,
    SendStatus,
};
use rocketmq_remoting::body::{MessageQueue, SubscriptionData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    ConsumerSendMsgBackRequestHeader, DecodeHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{decode_properties, MessageExt};
use rocketmq_remoting::RemotingCommand;

const GROUP: &str = "send-back-group";
const BROKER: &str = "broker-x";

fn pulled(store_host: &str) -> MessageExt {
    let host: SocketAddr = store_host.parse().unwrap();
    MessageExt {
        topic: "Orders".into(),
        flag: 3,
        properties: [
            (keys::UNIQ_KEY.to_owned(), "UNIQ-1".to_owned()),
            (keys::TAGS.to_owned(), "paid".to_owned()),
        ]
        .into_iter()
        .collect(),
        body: Bytes::from_static(b"order 1"),
        store_size: 0,
        body_crc: 0,
        queue_id: 1,
        queue_offset: 9,
        commit_log_offset: 123_456,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 4,
        prepared_transaction_offset: 0,
        offset_msg_id: "7F00000100002A9F000000000001E240".into(),
        broker_name: BROKER.into(),
    }
}

/// A broker logging every request and answering CONSUMER_SEND_MSG_BACK with `back_code`
/// and SEND_MESSAGE_V2 with `send_code`.
async fn scripted_broker(
    seen: Arc<Mutex<Vec<RemotingCommand>>>,
    back_code: i32,
    send_code: i32,
) -> Server {
    serve(move |req| {
        seen.lock().unwrap().push(req.clone());
        match req.code {
            request::CONSUMER_SEND_MSG_BACK => {
                RemotingCommand::response(back_code, Some("scripted".into()))
            }
            request::SEND_MESSAGE_V2 => {
                RemotingCommand::response(send_code, Some("scripted".into()))
            }
            other => panic!("unexpected request code {other}"),
        }
    })
    .await
}

async fn run(server: &Server, msg: &MessageExt) -> Result<SendBackPath, ClientError> {
    let addr = server.addr.clone();
    let lookup = move |name: &str| (name == BROKER).then(|| addr.clone());
    let remoting = RemotingClient::new(ConnectionConfig::default());
    let result = send_back_via(
        &remoting,
        &lookup,
        GROUP,
        msg,
        2,
        16,
        Duration::from_secs(5),
    )
    .await;
    remoting.close_all();
    result
}

#[tokio::test]
async fn the_broker_is_asked_with_every_field_java_sends() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = scripted_broker(seen.clone(), response::SUCCESS, response::SUCCESS).await;
    // The store host is a dead address: the broker name's master must be used instead.
    let msg = pulled(&refused_addr().await);
    assert_eq!(run(&server, &msg).await.unwrap(), SendBackPath::Broker);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].code, request::CONSUMER_SEND_MSG_BACK);
    assert!(seen[0].body.is_empty());
    let h = ConsumerSendMsgBackRequestHeader::from_ext_fields(&seen[0].ext_fields).unwrap();
    assert_eq!(
        h.offset, 123_456,
        "the commit-log offset, not the queue offset"
    );
    assert_eq!(h.group, GROUP);
    assert_eq!(h.delay_level, 2);
    assert_eq!(h.origin_msg_id.as_deref(), Some("UNIQ-1"));
    assert_eq!(h.origin_topic.as_deref(), Some("Orders"));
    assert_eq!(h.unit_mode, Some(false));
    assert_eq!(h.max_reconsume_times, Some(16));
    assert_eq!(h.broker_name.as_deref(), Some(BROKER));
    server.finish().await;
}

#[tokio::test]
async fn a_retried_message_is_sent_back_under_its_first_topic() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = scripted_broker(seen.clone(), response::SUCCESS, response::SUCCESS).await;
    let mut msg = pulled(&server.addr);
    msg.topic = retry_topic(GROUP);
    msg.properties.insert(keys::RETRY_TOPIC, "Orders");
    run(&server, &msg).await.unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let h = ConsumerSendMsgBackRequestHeader::from_ext_fields(&seen[0].ext_fields).unwrap();
    assert_eq!(h.origin_topic.as_deref(), Some("Orders"));
    server.finish().await;
}

#[tokio::test]
async fn a_refused_send_back_becomes_a_copy_for_the_retry_topic() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = scripted_broker(seen.clone(), response::SYSTEM_ERROR, response::SUCCESS).await;
    let mut msg = pulled(&server.addr);
    msg.properties.insert(keys::TRAN_MSG, "true");
    assert_eq!(run(&server, &msg).await.unwrap(), SendBackPath::RetryTopic);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let codes: Vec<i32> = seen.iter().map(|c| c.code).collect();
    assert_eq!(
        codes,
        [request::CONSUMER_SEND_MSG_BACK, request::SEND_MESSAGE_V2]
    );
    let copy = &seen[1];
    assert_eq!(&copy.body[..], b"order 1");
    let h: SendMessageRequestHeader = SendMessageRequestHeaderV2::from_ext_fields(&copy.ext_fields)
        .unwrap()
        .into();
    assert_eq!(h.topic, retry_topic(GROUP));
    assert_eq!(h.producer_group, INNER_PRODUCER_GROUP);
    assert_eq!(h.flag, 3);
    assert_eq!(h.reconsume_times, Some(5));
    assert_eq!(h.max_reconsume_times, Some(16));
    let props = decode_properties(h.properties.as_deref().unwrap());
    assert_eq!(props.get(keys::RETRY_TOPIC), Some("Orders"));
    assert_eq!(props.get(keys::ORIGIN_MESSAGE_ID), Some("UNIQ-1"));
    assert_eq!(props.get(keys::DELAY), Some("7"));
    assert_eq!(props.get(keys::TAGS), Some("paid"));
    assert!(!props.contains_key(keys::TRAN_MSG));
    server.finish().await;
}

#[tokio::test]
async fn when_both_ways_fail_the_caller_gets_the_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server =
        scripted_broker(seen.clone(), response::SYSTEM_ERROR, response::SYSTEM_ERROR).await;
    let msg = pulled(&server.addr);
    match run(&server, &msg).await {
        Err(ClientError::BrokerResponse { code, .. }) => assert_eq!(code, response::SYSTEM_ERROR),
        other => panic!("expected the fallback's refusal, got {other:?}"),
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
    server.finish().await;
}

// ---- the real local cluster ----

/// Bound on pulls of a retry topic or DLQ while the broker's delay runs out: each pull is
/// held by the broker, so this bounds the test, it does not time the broker.
const MAX_WAITS: usize = 30;

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A fresh topic holding one message, pulled by a fresh group.
struct Fixture {
    admin: Admin,
    instance: Arc<ClientInstance>,
    puller: Puller,
    topic: String,
    group: String,
    body: String,
    msg: MessageExt,
}

impl Fixture {
    async fn new(name: &str) -> Fixture {
        let topic = unique(&format!("SendBackIT_{name}"));
        let group = unique(&format!("SendBackITGroup_{name}"));
        let instance_name = unique(name);
        let admin = cluster_admin(&instance_name);
        create_topic(&admin, &topic, 1).await;
        let producer = started_producer(&instance_name, "SendBackITProducer").await;
        let body = format!("{name} body");
        let sent = producer
            .send(OutgoingMessage {
                topic: topic.clone(),
                body: Bytes::from(body.clone()),
                tags: Some("T".into()),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        assert_eq!(sent.status, SendStatus::SendOk);
        producer.shutdown().await;

        let instance = admin.instance().await.unwrap();
        let puller = Puller::for_instance(&instance);
        let mut fixture = Fixture {
            admin,
            instance,
            puller,
            topic: topic.clone(),
            group,
            body,
            msg: pulled("127.0.0.1:1"),
        };
        // The pull carries the subscription, which also creates the group on the broker
        // (autoCreateSubscriptionGroup): CONSUMER_SEND_MSG_BACK needs the group to exist.
        let mut messages = fixture.pull_once(&sent.queue, 0).await;
        assert_eq!(messages.len(), 1);
        fixture.msg = messages.remove(0);
        assert_eq!(fixture.msg.reconsume_times, 0);
        fixture
    }

    /// One pull of `queue` from `offset`: its messages, or none.
    async fn pull_once(&self, queue: &MessageQueue, offset: i64) -> Vec<MessageExt> {
        let mut request = PullRequest::new(
            self.group.clone(),
            queue.clone(),
            offset,
            SubscriptionData::tag(queue.topic.clone(), "*", now_millis()),
        );
        request.flags.subscription = true;
        request.suspend_timeout = Duration::from_millis(1000);
        request.timeout = Duration::from_secs(10);
        let result = self.puller.pull(&request).await.unwrap();
        if result.status == PullStatus::Found {
            result.messages
        } else {
            Vec::new()
        }
    }

    /// The first message of the group's retry topic on the message's broker, waiting for
    /// the topic's route and for the delay to pass, within [`MAX_WAITS`] rounds.
    async fn first_retried(&self) -> MessageExt {
        let retry = retry_topic(&self.group);
        let queue = MessageQueue::new(&retry, self.msg.broker_name.clone(), 0);
        for _ in 0..MAX_WAITS {
            if self.instance.routes().refresh(&retry).await.is_err() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            if let Some(found) = self.pull_once(&queue, 0).await.into_iter().next() {
                return found;
            }
        }
        panic!("nothing reached {retry} within {MAX_WAITS} rounds");
    }

    /// Whether the group's DLQ on the message's broker holds a message, within
    /// [`MAX_WAITS`] rounds.
    async fn dlq_max_offset(&self) -> i64 {
        let dlq = dlq_topic(&self.group);
        let mut last = None;
        for _ in 0..MAX_WAITS {
            match self.admin.max_offset(&dlq, &self.msg.broker_name, 0).await {
                Ok(offset) if offset > 0 => return offset,
                other => last = Some(other),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{dlq} stayed empty: last answer {last:?}");
    }

    /// `origin`: the ORIGIN_MESSAGE_ID the copy should carry.
    fn check_retried(&self, mut retried: MessageExt, origin: &str) {
        assert_eq!(retried.topic, retry_topic(&self.group));
        assert_eq!(retried.reconsume_times, 1);
        assert_eq!(
            retried.property(keys::RETRY_TOPIC),
            Some(self.topic.as_str())
        );
        assert_eq!(retried.property(keys::ORIGIN_MESSAGE_ID), Some(origin));
        restore_retry_message(&mut retried, &self.group);
        assert_eq!(retried.topic, self.topic);
        assert_eq!(retried.body, Bytes::from(self.body.clone()));
        assert_eq!(retried.tags(), Some("T"));
        assert_eq!(
            retried.msg_id(),
            self.msg.msg_id(),
            "the user's msgId survives"
        );
    }
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_message_sent_back_with_level_1_comes_again_from_the_retry_topic() {
    let f = Fixture::new("level1").await;
    let path = send_back(&f.instance, &f.group, &f.msg, 1, 16)
        .await
        .unwrap();
    assert_eq!(path, SendBackPath::Broker);
    let retried = f.first_retried().await;
    // The broker names the stored copy it read (its offsetMsgId), not the client's id.
    f.check_retried(retried, &f.msg.offset_msg_id);
    f.admin.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn past_max_reconsume_times_the_broker_moves_it_to_the_dlq() {
    let f = Fixture::new("dlq").await;
    let path = send_back(&f.instance, &f.group, &f.msg, 1, 0)
        .await
        .unwrap();
    assert_eq!(path, SendBackPath::Broker);
    assert_eq!(f.dlq_max_offset().await, 1);
    // The DLQ is readable: the dead letter keeps the body and names its first topic.
    let dlq = MessageQueue::new(dlq_topic(&f.group), f.msg.broker_name.clone(), 0);
    let dead = f.pull_once(&dlq, 0).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, Bytes::from(f.body.clone()));
    assert_eq!(dead[0].property(keys::RETRY_TOPIC), Some(f.topic.as_str()));
    assert_eq!(dead[0].reconsume_times, 1);
    f.admin.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_send_back_the_broker_refuses_reaches_the_retry_topic_as_a_copy() {
    let f = Fixture::new("fallback").await;
    let mut unknown = f.msg.clone();
    // No message starts there, so the broker refuses CONSUMER_SEND_MSG_BACK.
    unknown.commit_log_offset = i64::MAX / 2;
    let path = send_back(&f.instance, &f.group, &unknown, 1, 16)
        .await
        .unwrap();
    assert_eq!(path, SendBackPath::RetryTopic);
    let retried = f.first_retried().await;
    // Java's fallback names the message by the id its user saw.
    f.check_retried(retried, f.msg.msg_id());
    f.admin.close().await;
}
