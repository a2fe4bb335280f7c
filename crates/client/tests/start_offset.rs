//! Where a newly assigned queue starts: every rule against a scripted loopback broker, and the
//! broker's own answers on the real local cluster. Also the consumer list of a group on the
//! real cluster.

mod common;

use common::{broker_is_4x, cluster_admin, create_topic, started_producer, unique};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{serve, Server};
use rocketmq_client::consumer::offset_store::{
    BrokerAddrLookup, LocalOffsetStore, OffsetStore, ReadOffsetType, RemoteOffsetStore,
};
use rocketmq_client::consumer::rebalance::{consumer_ids, query_consumer_ids, retry_topic};
use rocketmq_client::consumer::start_offset::{compute_pull_from_where, QueueOffsets};
use rocketmq_client::{
    Admin, ClientError, ConnectionConfig, OutgoingMessage, RemotingClient, SendStatus,
};
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ConsumerListBody, MessageModel, MessageQueue,
    SubscriptionData,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader,
};
use rocketmq_remoting::RemotingCommand;

const GROUP: &str = "start-offset-group";
const BROKER: &str = "broker-x";
const TOPIC: &str = "StartTopic";

/// Queue 0 has stored offset 42; the others none, except queue 2, whose offset read fails.
/// Queue 3's max-offset and search queries fail.
const STORED_QUEUE: i32 = 0;
const NEW_QUEUE: i32 = 1;
const UNREADABLE_QUEUE: i32 = 2;
const BROKEN_QUEUE: i32 = 3;
const STORED: i64 = 42;
const MAX: i64 = 1000;
const FOUND_BY_TIME: i64 = 500;
const TIMESTAMP: i64 = 1_764_000_000_000;

fn offset_answer(offset: i64) -> RemotingCommand {
    let mut answer = RemotingCommand::response(response::SUCCESS, None);
    answer.ext_fields = OffsetResponseHeader { offset }.to_ext_fields();
    answer
}

/// A broker answering the three offset commands by the rules above, logging each code.
async fn scripted_broker(asked: Arc<Mutex<Vec<i32>>>) -> Server {
    serve(move |req| {
        asked.lock().unwrap().push(req.code);
        match req.code {
            request::QUERY_CONSUMER_OFFSET => {
                let h = QueryConsumerOffsetRequestHeader::from_ext_fields(&req.ext_fields).unwrap();
                match h.queue_id {
                    STORED_QUEUE => offset_answer(STORED),
                    UNREADABLE_QUEUE => {
                        RemotingCommand::response(response::SYSTEM_ERROR, Some("scripted".into()))
                    }
                    _ => RemotingCommand::response(response::QUERY_NOT_FOUND, None),
                }
            }
            request::GET_MAX_OFFSET => {
                let h = GetMaxOffsetRequestHeader::from_ext_fields(&req.ext_fields).unwrap();
                assert_eq!(h.broker_name.as_deref(), Some(BROKER));
                if h.queue_id == BROKEN_QUEUE {
                    RemotingCommand::response(response::SYSTEM_ERROR, Some("scripted".into()))
                } else {
                    offset_answer(MAX)
                }
            }
            request::SEARCH_OFFSET_BY_TIMESTAMP => {
                let h = SearchOffsetRequestHeader::from_ext_fields(&req.ext_fields).unwrap();
                assert_eq!(h.timestamp, TIMESTAMP);
                assert_eq!(h.boundary_type.as_deref(), Some("LOWER"));
                if h.queue_id == BROKEN_QUEUE {
                    RemotingCommand::response(response::SYSTEM_ERROR, Some("scripted".into()))
                } else {
                    offset_answer(FOUND_BY_TIME)
                }
            }
            other => panic!("unexpected request code {other}"),
        }
    })
    .await
}

struct Fixture {
    server: Server,
    asked: Arc<Mutex<Vec<i32>>>,
    store: RemoteOffsetStore,
    offsets: QueueOffsets,
}

impl Fixture {
    async fn new() -> Self {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let server = scripted_broker(asked.clone()).await;
        let addr = server.addr.clone();
        let lookup: Arc<dyn BrokerAddrLookup> =
            Arc::new(move |name: &str| (name == BROKER).then(|| addr.clone()));
        let remoting = RemotingClient::new(ConnectionConfig::default());
        Fixture {
            store: RemoteOffsetStore::new(GROUP, remoting.clone(), lookup.clone()),
            offsets: QueueOffsets::new(remoting, lookup),
            server,
            asked,
        }
    }

    /// The start offset and the request codes it took.
    async fn start(
        &self,
        topic: &str,
        queue_id: i32,
        from: ConsumeFromWhere,
    ) -> (Result<i64, ClientError>, Vec<i32>) {
        let mq = MessageQueue::new(topic, BROKER, queue_id);
        let result =
            compute_pull_from_where(&self.store, &self.offsets, &mq, from, TIMESTAMP).await;
        (result, std::mem::take(&mut *self.asked.lock().unwrap()))
    }
}

const LAST: ConsumeFromWhere = ConsumeFromWhere::ConsumeFromLastOffset;
const FIRST: ConsumeFromWhere = ConsumeFromWhere::ConsumeFromFirstOffset;
const BY_TIME: ConsumeFromWhere = ConsumeFromWhere::ConsumeFromTimestamp;
const QUERY: i32 = request::QUERY_CONSUMER_OFFSET;
const GET_MAX: i32 = request::GET_MAX_OFFSET;
const SEARCH: i32 = request::SEARCH_OFFSET_BY_TIMESTAMP;

#[tokio::test]
async fn a_stored_offset_wins_over_every_rule() {
    let f = Fixture::new().await;
    for from in [LAST, FIRST, BY_TIME] {
        let (start, asked) = f.start(TOPIC, STORED_QUEUE, from).await;
        assert_eq!(start.unwrap(), STORED, "{from:?}");
        assert_eq!(asked, [QUERY], "{from:?}");
    }
    let retry = retry_topic(GROUP);
    let (start, _) = f.start(&retry, STORED_QUEUE, LAST).await;
    assert_eq!(start.unwrap(), STORED);
    f.server.finish().await;
}

#[tokio::test]
async fn a_new_group_starts_by_the_rule_of_its_setting() {
    let f = Fixture::new().await;
    let (start, asked) = f.start(TOPIC, NEW_QUEUE, LAST).await;
    assert_eq!((start.unwrap(), asked), (MAX, vec![QUERY, GET_MAX]));
    let (start, asked) = f.start(TOPIC, NEW_QUEUE, FIRST).await;
    assert_eq!((start.unwrap(), asked), (0, vec![QUERY]));
    let (start, asked) = f.start(TOPIC, NEW_QUEUE, BY_TIME).await;
    assert_eq!(
        (start.unwrap(), asked),
        (FOUND_BY_TIME, vec![QUERY, SEARCH])
    );
    // Java's deprecated settings behave as LAST.
    for deprecated in [
        ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst,
        ConsumeFromWhere::ConsumeFromMinOffset,
        ConsumeFromWhere::ConsumeFromMaxOffset,
    ] {
        let (start, _) = f.start(TOPIC, NEW_QUEUE, deprecated).await;
        assert_eq!(start.unwrap(), MAX, "{deprecated:?}");
    }
    f.server.finish().await;
}

#[tokio::test]
async fn a_new_group_on_its_retry_topic_starts_at_0_or_at_the_end_by_timestamp() {
    let f = Fixture::new().await;
    let retry = retry_topic(GROUP);
    let (start, asked) = f.start(&retry, NEW_QUEUE, LAST).await;
    assert_eq!((start.unwrap(), asked), (0, vec![QUERY]));
    let (start, asked) = f.start(&retry, NEW_QUEUE, FIRST).await;
    assert_eq!((start.unwrap(), asked), (0, vec![QUERY]));
    let (start, asked) = f.start(&retry, NEW_QUEUE, BY_TIME).await;
    assert_eq!((start.unwrap(), asked), (MAX, vec![QUERY, GET_MAX]));
    f.server.finish().await;
}

#[tokio::test]
async fn a_failed_read_or_query_is_an_error_so_the_queue_waits_for_the_next_round() {
    let f = Fixture::new().await;
    for from in [LAST, FIRST, BY_TIME] {
        let (start, asked) = f.start(TOPIC, UNREADABLE_QUEUE, from).await;
        assert!(
            matches!(start, Err(ClientError::BrokerResponse { code: 1, .. })),
            "{from:?}: {start:?}"
        );
        assert_eq!(asked, [QUERY], "{from:?}: nothing else is asked");
    }
    for from in [LAST, BY_TIME] {
        let (start, _) = f.start(TOPIC, BROKEN_QUEUE, from).await;
        assert!(start.is_err(), "{from:?}: {start:?}");
    }
    // FIRST needs no broker query beyond the stored offset.
    assert_eq!(f.start(TOPIC, BROKEN_QUEUE, FIRST).await.0.unwrap(), 0);
    f.server.finish().await;
}

#[tokio::test]
async fn the_consumer_list_is_the_broker_body_and_anything_else_is_an_error() {
    let server = serve(|req| {
        assert_eq!(req.code, request::GET_CONSUMER_LIST_BY_GROUP);
        let group = req.ext_fields.get("consumerGroup").unwrap().as_str();
        match group {
            "listed" => RemotingCommand::response(response::SUCCESS, None).with_body(Bytes::from(
                ConsumerListBody {
                    consumer_id_list: vec!["10.0.0.2@1".into(), "10.0.0.1@9".into()],
                }
                .encode()
                .unwrap(),
            )),
            // Java decodes no body into an exception too.
            "no-body" => RemotingCommand::response(response::SUCCESS, None),
            _ => RemotingCommand::response(
                response::SYSTEM_ERROR,
                Some(format!("no consumer for this group, {group}")),
            ),
        }
    })
    .await;
    let remoting = RemotingClient::new(ConnectionConfig::default());
    let ask = |group: &'static str| {
        let (remoting, addr) = (remoting.clone(), server.addr.clone());
        async move { query_consumer_ids(&remoting, &addr, group, Duration::from_secs(5)).await }
    };
    // As listed: sorting is the planner's job.
    assert_eq!(ask("listed").await.unwrap(), ["10.0.0.2@1", "10.0.0.1@9"]);
    assert!(matches!(
        ask("no-body").await,
        Err(ClientError::BrokerResponse { code: 0, .. })
    ));
    assert!(matches!(
        ask("unknown").await,
        Err(ClientError::BrokerResponse { code: 1, .. })
    ));
    server.finish().await;
}

// ---- against the real cluster ----

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A topic of one queue per master with `messages` sent round-robin (at least one per queue),
/// each queue waited on until its max offset shows them.
struct ClusterTopic {
    admin: Admin,
    topic: String,
    instance_name: String,
    /// Each queue and its max offset, every queue holding at least one message.
    queues: Vec<(MessageQueue, i64)>,
}

impl ClusterTopic {
    async fn new(name: &str, messages: usize) -> Self {
        let instance_name = unique(name);
        let admin = cluster_admin(&instance_name);
        let topic = unique("StartOffsetTopic");
        let brokers = create_topic(&admin, &topic, 1).await;
        let producer = started_producer(&instance_name, "StartOffsetProducer").await;
        // The end each queue reaches once the broker has indexed every send (4.x indexes them
        // a moment after answering, later still on a loaded broker).
        let mut sent: BTreeMap<MessageQueue, i64> = BTreeMap::new();
        for i in 0..messages {
            let result = producer
                .send(OutgoingMessage {
                    topic: topic.clone(),
                    body: Bytes::from(format!("start offset {i}")),
                    ..OutgoingMessage::default()
                })
                .await
                .unwrap();
            assert_eq!(result.status, SendStatus::SendOk);
            let end = sent.entry(result.queue.clone()).or_default();
            *end = (*end).max(result.queue_offset + 1);
        }
        producer.shutdown().await;
        let mut queues = Vec::new();
        for broker in brokers {
            let mq = MessageQueue::new(topic.clone(), broker, 0);
            let end = *sent
                .get(&mq)
                .unwrap_or_else(|| panic!("every queue got a message: {mq}"));
            // Bounded: the consume queue catches up with the sends within moments.
            let mut max = 0;
            for _ in 0..50 {
                max = admin.max_offset(&topic, &mq.broker_name, 0).await.unwrap();
                if max >= end {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(max >= end, "{mq} shows its {end} messages, not {max}");
            queues.push((mq, max));
        }
        ClusterTopic {
            admin,
            topic,
            instance_name,
            queues,
        }
    }
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_group_without_offsets_starts_where_its_setting_says_on_the_real_broker() {
    let cluster = ClusterTopic::new("start-offset-local", 6).await;
    let instance = cluster.admin.instance().await.unwrap();
    let offsets = QueueOffsets::for_instance(&instance);
    // Broadcasting keeps offsets in a local file: a fresh file has none, so every rule
    // reaches the broker query it stands for.
    let dir = std::env::temp_dir().join(unique("start-offset-store"));
    let store = LocalOffsetStore::new(&dir, "127.0.0.1@start", "start-offset-broadcast");
    store.load().await.unwrap();
    let (past, future) = (now_ms() - 3_600_000, now_ms() + 3_600_000);
    for (mq, max) in &cluster.queues {
        let start = |from, ts| compute_pull_from_where(&store, &offsets, mq, from, ts);
        assert_eq!(start(FIRST, 0).await.unwrap(), 0, "{mq}");
        assert_eq!(start(LAST, 0).await.unwrap(), *max, "{mq}");
        assert_eq!(start(BY_TIME, past).await.unwrap(), 0, "{mq}");
        let by_future = start(BY_TIME, future).await.unwrap();
        eprintln!("{mq}: max {max}, by a future timestamp {by_future}");
        // SEARCH_OFFSET_BY_TIMESTAMP past the last message: 5.x answers the end of the queue,
        // 4.x the message nearest in time, the last one; the start offset is what it answers.
        let expected = if broker_is_4x() { *max - 1 } else { *max };
        assert_eq!(by_future, expected, "{mq}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    cluster.admin.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_new_clustering_group_on_a_young_topic_is_told_offset_0() {
    let cluster = ClusterTopic::new("start-offset-remote", 6).await;
    let instance = cluster.admin.instance().await.unwrap();
    let offsets = QueueOffsets::for_instance(&instance);
    let store = RemoteOffsetStore::for_instance(&instance, unique("start-offset-new-group"));
    // The broker answers "offset 0" rather than "not found" while message 0 is in memory,
    // so LAST and a future TIMESTAMP start at 0 too, as they do for a Java consumer.
    for (mq, max) in &cluster.queues {
        assert!(*max > 0);
        let stored = store.read_offset(mq, ReadOffsetType::ReadFromStore).await;
        assert_eq!(
            stored.unwrap(),
            Some(0),
            "{mq}: the broker's answer for an unknown group"
        );
        for from in [LAST, FIRST, BY_TIME] {
            let start = compute_pull_from_where(&store, &offsets, mq, from, now_ms() + 3_600_000)
                .await
                .unwrap();
            assert_eq!(start, 0, "{mq} {from:?}");
        }
    }
    cluster.admin.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn the_consumer_list_of_a_group_names_this_client_after_its_heartbeat() {
    let cluster = ClusterTopic::new("consumer-ids", 4).await;
    let instance = cluster.admin.instance().await.unwrap();
    let group = unique("consumer-ids-group");
    let topic = cluster.topic.clone();
    let consumer_data = {
        let (group, topic) = (group.clone(), topic.clone());
        move || ConsumerData {
            group_name: group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: vec![SubscriptionData::tag(topic.clone(), "*", now_ms())],
            unit_mode: false,
        }
    };
    // Before any heartbeat names the group, the broker lists nobody.
    match consumer_ids(&instance, &topic, &group).await {
        Err(ClientError::BrokerResponse { code, message }) => {
            eprintln!("before the heartbeat: {code} {message}")
        }
        other => panic!("expected an error answer before the heartbeat: {other:?}"),
    }
    instance
        .register_consumer(&group, Arc::new(consumer_data))
        .unwrap();
    assert_eq!(
        instance.send_heartbeat_to_all_brokers().await,
        cluster.queues.len()
    );
    // Whichever broker is asked, it lists exactly this client.
    for _ in 0..4 {
        let ids = consumer_ids(&instance, &topic, &group).await.unwrap();
        assert_eq!(ids, vec![instance.client_id().to_owned()]);
    }
    assert!(instance.client_id().ends_with(&cluster.instance_name));
    instance.unregister_consumer(&group).await;
    cluster.admin.close().await;
}
