//! One PULL_MESSAGE round trip against scripted loopback brokers: every pull status, the
//! broker id the broker suggests, the client-side tag re-filter and malformed records.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use common::{serve, Server};
use rocketmq_client::consumer::pull::{
    PullFlags, PullRequest, PullStatus, Puller, DEFAULT_PULL_BATCH_SIZE,
};
use rocketmq_client::route_cache::{RouteCache, RouteCacheConfig, RouteFuture, RouteSource};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::body::{BrokerData, MessageQueue, SubscriptionData, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, PullMessageRequestHeader, PullMessageResponseHeader, PullSysFlag,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{encode_stored, Properties, StoredMessage};
use rocketmq_remoting::RemotingCommand;

const TOPIC: &str = "PullTopic";
const BROKER: &str = "broker-x";
const GROUP: &str = "PullGroup";

/// Routes from a table the test controls, counting lookups.
struct FixedRoutes {
    route: Mutex<TopicRouteData>,
    lookups: AtomicUsize,
}

impl RouteSource for FixedRoutes {
    fn topic_route<'a>(&'a self, _topic: &'a str) -> RouteFuture<'a> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let route = self.route.lock().unwrap().clone();
        Box::pin(async move { Ok(route) })
    }
}

/// A route of `TOPIC` whose broker group `BROKER` has the given id → address pairs.
fn routes(addrs: &[(i64, &str)]) -> Arc<FixedRoutes> {
    let broker_addrs: BTreeMap<i64, String> = addrs
        .iter()
        .map(|(id, addr)| (*id, (*addr).to_owned()))
        .collect();
    Arc::new(FixedRoutes {
        route: Mutex::new(TopicRouteData {
            broker_datas: vec![BrokerData {
                cluster: "c".into(),
                broker_name: BROKER.into(),
                broker_addrs,
                zone_name: None,
                enable_acting_master: false,
            }],
            ..TopicRouteData::default()
        }),
        lookups: AtomicUsize::new(0),
    })
}

fn puller(source: Arc<FixedRoutes>) -> Puller {
    Puller::new(
        RemotingClient::new(ConnectionConfig::default()),
        Arc::new(RouteCache::new(source, RouteCacheConfig::default())),
    )
}

fn queue() -> MessageQueue {
    MessageQueue::new(TOPIC, BROKER, 3)
}

fn pull_request(offset: i64, subscription: SubscriptionData) -> PullRequest {
    PullRequest::new(GROUP, queue(), offset, subscription)
}

fn all() -> SubscriptionData {
    SubscriptionData::tag(TOPIC, "*", 42)
}

/// A pull response with `code` and the given offsets and suggestion.
fn pull_response(code: i32, next: i64, min: i64, max: i64, suggest: i64) -> RemotingCommand {
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: next,
        min_offset: min,
        max_offset: max,
        ..Default::default()
    };
    let mut answer = RemotingCommand::response(code, Some("scripted".into()));
    answer.ext_fields = header.to_ext_fields();
    answer
}

/// A stored record at `offset` with `body`, and tag `tag` when given.
fn record(offset: i64, body: &str, tag: Option<&str>) -> BytesMut {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let mut properties = Properties::default();
    if let Some(tag) = tag {
        properties.insert(keys::TAGS, tag);
    }
    let message = StoredMessage {
        topic: TOPIC.into(),
        flag: 0,
        properties,
        body: body.as_bytes().to_vec(),
        queue_id: 3,
        queue_offset: offset,
        commit_log_offset: 1000 + offset,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: host,
        store_timestamp: 2,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        v2_magic: false,
    };
    let mut out = BytesMut::new();
    encode_stored(&message, &mut out).unwrap();
    out
}

fn body(records: &[BytesMut]) -> Bytes {
    let mut out = BytesMut::new();
    for r in records {
        out.extend_from_slice(r);
    }
    out.freeze()
}

fn header_of(req: &RemotingCommand) -> PullMessageRequestHeader {
    assert_eq!(req.code, request::PULL_MESSAGE);
    PullMessageRequestHeader::from_ext_fields(&req.ext_fields).unwrap()
}

/// A broker answering every pull with `answer`, recording each request header.
async fn broker<F>(answer: F) -> (Server, Arc<Mutex<Vec<PullMessageRequestHeader>>>)
where
    F: Fn(&PullMessageRequestHeader) -> RemotingCommand + Send + Sync + Clone + 'static,
{
    let seen: Arc<Mutex<Vec<PullMessageRequestHeader>>> = Arc::default();
    let server = serve({
        let seen = seen.clone();
        move |req| {
            let header = header_of(req);
            seen.lock().unwrap().push(header.clone());
            answer(&header)
        }
    })
    .await;
    (server, seen)
}

#[tokio::test]
async fn found_returns_the_messages_with_the_queue_range_and_broker_name() {
    let (server, seen) = broker(|h| {
        pull_response(response::SUCCESS, h.queue_offset + 2, 0, 9, 0).with_body(body(&[
            record(h.queue_offset, "first", Some("A")),
            record(h.queue_offset + 1, "second", None),
        ]))
    })
    .await;
    let puller = puller(routes(&[(0, &server.addr)]));

    let result = puller.pull(&pull_request(5, all())).await.unwrap();

    assert_eq!(result.status, PullStatus::Found);
    assert_eq!(result.next_begin_offset, 7);
    assert_eq!((result.min_offset, result.max_offset), (0, 9));
    let offsets: Vec<i64> = result.messages.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![5, 6]);
    assert_eq!(&result.messages[0].body[..], b"first");
    assert_eq!(result.messages[0].tags(), Some("A"));
    assert_eq!(&result.messages[1].body[..], b"second");
    for message in &result.messages {
        assert_eq!(message.property(keys::MIN_OFFSET), Some("0"));
        assert_eq!(message.property(keys::MAX_OFFSET), Some("9"));
        assert_eq!(message.broker_name, BROKER);
        assert_eq!(message.queue_id, 3);
    }

    // The request as the Java push consumer words it.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let h = &seen[0];
    assert_eq!(h.consumer_group, GROUP);
    assert_eq!((h.topic.as_str(), h.queue_id), (TOPIC, 3));
    assert_eq!(h.queue_offset, 5);
    assert_eq!(h.max_msg_nums, DEFAULT_PULL_BATCH_SIZE);
    assert_eq!(h.sys_flag, PullSysFlag::SUSPEND);
    assert_eq!(h.suspend_timeout_millis, 15_000);
    assert_eq!(h.subscription, None);
    assert_eq!(h.sub_version, 42);
    assert_eq!(h.expression_type.as_deref(), Some("TAG"));
    assert_eq!(h.broker_name.as_deref(), Some(BROKER));
    server.finish().await;
}

#[tokio::test]
async fn every_pull_code_maps_to_its_status() {
    let cases = [
        (response::PULL_NOT_FOUND, PullStatus::NoNewMsg),
        (response::PULL_RETRY_IMMEDIATELY, PullStatus::NoMatchedMsg),
        (response::PULL_OFFSET_MOVED, PullStatus::OffsetIllegal),
    ];
    for (code, status) in cases {
        let (server, _) = broker(move |_| pull_response(code, 17, 2, 30, 0)).await;
        let puller = puller(routes(&[(0, &server.addr)]));
        let result = puller.pull(&pull_request(1000, all())).await.unwrap();
        assert_eq!(result.status, status, "code {code}");
        assert_eq!(result.next_begin_offset, 17);
        assert_eq!((result.min_offset, result.max_offset), (2, 30));
        assert!(result.messages.is_empty());
        server.finish().await;
    }
}

#[tokio::test]
async fn any_other_code_is_a_broker_response_error_with_that_code() {
    let (server, _) = broker(|_| {
        RemotingCommand::response(
            response::SUBSCRIPTION_NOT_LATEST,
            Some("the consumer's subscription not latest".into()),
        )
    })
    .await;
    let puller = puller(routes(&[(0, &server.addr)]));
    let err = puller.pull(&pull_request(0, all())).await.unwrap_err();
    match err {
        ClientError::BrokerResponse { code, message } => {
            assert_eq!(code, response::SUBSCRIPTION_NOT_LATEST);
            assert!(message.contains("subscription not latest"), "{message}");
        }
        other => panic!("expected a broker response error, got {other:?}"),
    }
    server.finish().await;
}

#[tokio::test]
async fn the_suggested_broker_gets_the_next_pull_and_never_the_commit_offset() {
    // The master sends the next pull to slave 1; the slave sends it back to the master.
    let (master, master_seen) =
        broker(|_| pull_response(response::PULL_NOT_FOUND, 0, 0, 0, 1)).await;
    let (slave, slave_seen) = broker(|_| pull_response(response::PULL_NOT_FOUND, 0, 0, 0, 0)).await;
    let puller = puller(routes(&[(0, &master.addr), (1, &slave.addr)]));
    let mut request = pull_request(0, all());
    request.flags.commit_offset = true;
    request.commit_offset = 12;

    assert_eq!(puller.suggested_broker_id(&queue()), 0);
    let first = puller.pull(&request).await.unwrap();
    assert_eq!(first.suggest_which_broker_id, 1);
    assert_eq!(puller.suggested_broker_id(&queue()), 1);
    puller.pull(&request).await.unwrap();
    assert_eq!(puller.suggested_broker_id(&queue()), 0);
    puller.pull(&request).await.unwrap();

    let master_seen = master_seen.lock().unwrap().clone();
    let slave_seen = slave_seen.lock().unwrap().clone();
    assert_eq!((master_seen.len(), slave_seen.len()), (2, 1));
    for h in &master_seen {
        assert_eq!(
            h.sys_flag,
            PullSysFlag::COMMIT_OFFSET | PullSysFlag::SUSPEND
        );
        assert_eq!(h.commit_offset, 12);
    }
    assert_eq!(slave_seen[0].sys_flag, PullSysFlag::SUSPEND);

    // The master's last answer sends the queue to the slave again, until it is forgotten.
    assert_eq!(puller.suggested_broker_id(&queue()), 1);
    puller.forget(&queue());
    assert_eq!(puller.suggested_broker_id(&queue()), 0);
    master.finish().await;
    slave.finish().await;
}

#[tokio::test]
async fn a_suggested_slave_that_left_the_route_falls_back_to_the_group() {
    // Slave 1 is suggested but only the master is listed: the pull still goes out.
    let (master, seen) = broker(|_| pull_response(response::PULL_NOT_FOUND, 0, 0, 0, 1)).await;
    let puller = puller(routes(&[(0, &master.addr)]));
    puller.pull(&pull_request(0, all())).await.unwrap();
    assert_eq!(puller.suggested_broker_id(&queue()), 1);
    puller.pull(&pull_request(0, all())).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    master.finish().await;
}

#[tokio::test]
async fn a_broker_missing_from_the_route_is_looked_up_again_then_reported() {
    let source = routes(&[]);
    let puller = puller(source.clone());
    let err = puller.pull(&pull_request(0, all())).await.unwrap_err();
    assert!(matches!(err, ClientError::BrokerNotAvailable(_)), "{err:?}");
    assert_eq!(source.lookups.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tag_subscriptions_are_filtered_again_on_the_client() {
    // The broker filters on hash codes, which collide; the client checks the strings.
    let (server, seen) = broker(|h| {
        pull_response(response::SUCCESS, h.queue_offset + 4, 0, 4, 0).with_body(body(&[
            record(0, "a", Some("A")),
            record(1, "b", Some("B")),
            record(2, "none", None),
            record(3, "a again", Some("A")),
        ]))
    })
    .await;
    let puller = puller(routes(&[(0, &server.addr)]));

    let mut request = pull_request(0, SubscriptionData::tag(TOPIC, "A", 7));
    request.flags.subscription = true;
    let only_a = puller.pull(&request).await.unwrap();
    let bodies: Vec<&[u8]> = only_a.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, vec![&b"a"[..], &b"a again"[..]]);
    assert_eq!(only_a.filtered_out, 2);
    assert_eq!(only_a.next_begin_offset, 4);

    let a_or_b = puller
        .pull(&pull_request(0, SubscriptionData::tag(TOPIC, "A || B", 7)))
        .await
        .unwrap();
    assert_eq!(a_or_b.messages.len(), 3);

    // SQL92 and `*` are not re-filtered: the broker's answer stands.
    let sql = puller
        .pull(&pull_request(0, SubscriptionData::sql92(TOPIC, "a > 1", 7)))
        .await
        .unwrap();
    assert_eq!(sql.messages.len(), 4);
    assert_eq!(
        puller
            .pull(&pull_request(0, all()))
            .await
            .unwrap()
            .messages
            .len(),
        4
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].subscription.as_deref(), Some("A"));
    assert_eq!(
        seen[0].sys_flag,
        PullSysFlag::SUSPEND | PullSysFlag::SUBSCRIPTION
    );
    assert_eq!(seen[2].expression_type.as_deref(), Some("SQL92"));
    assert_eq!(seen[2].subscription, None);
    server.finish().await;
}

#[tokio::test]
async fn a_malformed_record_is_skipped_and_counted_and_the_batch_kept() {
    let (server, _) = broker(|_| {
        let mut bad = record(1, "bad", Some("A"));
        // Break the magic code; totalSize still frames the record.
        bad[4..8].copy_from_slice(&0x0BAD_0BAD_u32.to_be_bytes());
        pull_response(response::SUCCESS, 3, 0, 3, 0).with_body(body(&[
            record(0, "good 0", Some("A")),
            bad,
            record(2, "good 2", Some("A")),
        ]))
    })
    .await;
    let puller = puller(routes(&[(0, &server.addr)]));
    let result = puller.pull(&pull_request(0, all())).await.unwrap();
    let offsets: Vec<i64> = result.messages.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![0, 2]);
    assert_eq!(result.skipped_records, 1);
    assert_eq!(result.next_begin_offset, 3);
    puller.pull(&pull_request(3, all())).await.unwrap();
    assert_eq!(puller.skipped_records(), 2);
    server.finish().await;
}

#[tokio::test]
async fn class_filter_mode_is_refused_before_anything_is_sent() {
    let (server, seen) = broker(|_| pull_response(response::PULL_NOT_FOUND, 0, 0, 0, 0)).await;
    let puller = puller(routes(&[(0, &server.addr)]));
    let mut request = pull_request(0, all());
    request.flags = PullFlags {
        class_filter: true,
        ..PullFlags::default()
    };
    let err = puller.pull(&request).await.unwrap_err();
    assert!(matches!(err, ClientError::Validation(_)), "{err:?}");
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(server.accepted(), 0);
    server.finish().await;
}
