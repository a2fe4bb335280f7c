//! The broker offset store against a scripted loopback broker (what each answer code does,
//! what each persist sends), and against the real local cluster (what the broker keeps).

mod common;

use common::{broker_is_4x, cluster_admin, create_topic, unique};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{refused_addr, serve, Server};
use rocketmq_client::consumer::offset_store::{
    BrokerAddrLookup, OffsetStore, ReadOffsetType, RemoteOffsetStore,
};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rocketmq_remoting::RemotingCommand;

const GROUP: &str = "offset-test-group";
const BROKER: &str = "broker-x";

/// Queue 1 has no stored offset; queue 2's broker fails every offset request (as a 5.x broker
/// answers an unknown group); the others store what they are sent.
const NOT_FOUND_QUEUE: i32 = 1;
const FAILING_QUEUE: i32 = 2;

/// A broker keeping offsets in a table, logging every UPDATE_CONSUMER_OFFSET it accepts.
struct ScriptedBroker {
    server: Server,
    stored: Arc<Mutex<BTreeMap<i32, i64>>>,
    updates: Arc<Mutex<Vec<(i32, i64)>>>,
}

async fn scripted_broker(initial: BTreeMap<i32, i64>) -> ScriptedBroker {
    let stored = Arc::new(Mutex::new(initial));
    let updates = Arc::new(Mutex::new(Vec::new()));
    let server = serve({
        let (stored, updates) = (stored.clone(), updates.clone());
        move |req| match req.code {
            request::QUERY_CONSUMER_OFFSET => {
                let header =
                    QueryConsumerOffsetRequestHeader::from_ext_fields(&req.ext_fields).unwrap();
                assert_eq!(header.consumer_group, GROUP);
                assert_eq!(header.broker_name.as_deref(), Some(BROKER));
                match header.queue_id {
                    NOT_FOUND_QUEUE => RemotingCommand::response(
                        response::QUERY_NOT_FOUND,
                        Some("Not found".into()),
                    ),
                    FAILING_QUEUE => RemotingCommand::response(
                        response::SYSTEM_ERROR,
                        Some("scripted failure".into()),
                    ),
                    id => {
                        let offset = stored.lock().unwrap()[&id];
                        let mut answer = RemotingCommand::response(response::SUCCESS, None);
                        answer.ext_fields = OffsetResponseHeader { offset }.to_ext_fields();
                        answer
                    }
                }
            }
            request::UPDATE_CONSUMER_OFFSET => {
                assert!(!req.is_oneway(), "the store waits for the broker's answer");
                let header =
                    UpdateConsumerOffsetRequestHeader::from_ext_fields(&req.ext_fields).unwrap();
                assert_eq!(header.consumer_group, GROUP);
                if header.queue_id == FAILING_QUEUE {
                    return RemotingCommand::response(
                        26,
                        Some("subscription group not exist".into()),
                    );
                }
                stored
                    .lock()
                    .unwrap()
                    .insert(header.queue_id, header.commit_offset);
                updates
                    .lock()
                    .unwrap()
                    .push((header.queue_id, header.commit_offset));
                RemotingCommand::response(response::SUCCESS, None)
            }
            other => panic!("unexpected request code {other}"),
        }
    })
    .await;
    ScriptedBroker {
        server,
        stored,
        updates,
    }
}

impl ScriptedBroker {
    fn store(&self) -> RemoteOffsetStore {
        let addr = self.server.addr.clone();
        let lookup: Arc<dyn BrokerAddrLookup> =
            Arc::new(move |name: &str| (name == BROKER).then(|| addr.clone()));
        RemoteOffsetStore::new(
            GROUP,
            RemotingClient::new(ConnectionConfig::default()),
            lookup,
        )
        .with_timeout(Duration::from_secs(5))
    }

    /// The updates received since the last call, in queue order.
    fn take_updates(&self) -> Vec<(i32, i64)> {
        let mut updates = std::mem::take(&mut *self.updates.lock().unwrap());
        updates.sort();
        updates
    }
}

fn mq(queue_id: i32) -> MessageQueue {
    MessageQueue::new("T", BROKER, queue_id)
}

fn queues(ids: &[i32]) -> BTreeSet<MessageQueue> {
    ids.iter().copied().map(mq).collect()
}

#[tokio::test]
async fn a_persist_sends_each_changed_offset_once_and_never_a_smaller_one() {
    let broker = scripted_broker(BTreeMap::new()).await;
    let store = broker.store();
    let assigned = queues(&[0, 3]);

    store.update_offset(&mq(0), 10, true);
    store.update_offset(&mq(0), 4, true); // a late commit of an older batch
    store.update_offset(&mq(3), 7, true);
    assert_eq!(store.persist_all(&assigned).await.unwrap(), 2);
    assert_eq!(broker.take_updates(), vec![(0, 10), (3, 7)]);

    // Nothing moved: nothing is sent.
    assert_eq!(store.persist_all(&assigned).await.unwrap(), 0);
    assert!(!store.persist(&mq(3)).await.unwrap());
    assert_eq!(broker.take_updates(), vec![]);

    store.update_offset(&mq(3), 9, true);
    assert_eq!(store.persist_all(&assigned).await.unwrap(), 1);
    assert_eq!(broker.take_updates(), vec![(3, 9)]);

    // A plain update may move back (a reset), and is sent.
    store.update_offset(&mq(0), 2, false);
    assert!(store.persist(&mq(0)).await.unwrap());
    assert_eq!(broker.take_updates(), vec![(0, 2)]);

    // A queue no longer assigned is forgotten, not sent.
    store.update_offset(&mq(3), 20, true);
    assert_eq!(store.persist_all(&queues(&[0])).await.unwrap(), 0);
    assert_eq!(store.clone_offset_table(None), BTreeMap::from([(mq(0), 2)]));
    assert_eq!(broker.take_updates(), vec![]);

    let metrics = store.metrics();
    assert_eq!(
        (metrics.persist_success_count, metrics.persist_failure_count),
        (4, 0)
    );
    assert_eq!(metrics.persist_success_rate(), Some(1.0));
    broker.server.finish().await;
}

#[tokio::test]
async fn reads_take_the_broker_offset_and_query_not_found_is_no_offset() {
    let broker = scripted_broker(BTreeMap::from([(0, 33)])).await;
    let store = broker.store();

    assert_eq!(
        store
            .read_offset(&mq(0), ReadOffsetType::ReadFromMemory)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .read_offset(&mq(0), ReadOffsetType::MemoryFirstThenStore)
            .await
            .unwrap(),
        Some(33)
    );
    // Now held in memory, and known to be what the broker holds: no persist needed.
    assert_eq!(
        store
            .read_offset(&mq(0), ReadOffsetType::MemoryFirstThenStore)
            .await
            .unwrap(),
        Some(33)
    );
    assert_eq!(store.persist_all(&queues(&[0])).await.unwrap(), 0);

    assert_eq!(
        store
            .read_offset(&mq(NOT_FOUND_QUEUE), ReadOffsetType::ReadFromStore)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .read_offset(&mq(NOT_FOUND_QUEUE), ReadOffsetType::ReadFromMemory)
            .await
            .unwrap(),
        None
    );

    match store
        .read_offset(&mq(FAILING_QUEUE), ReadOffsetType::ReadFromStore)
        .await
    {
        Err(ClientError::BrokerResponse { code, .. }) => assert_eq!(code, response::SYSTEM_ERROR),
        other => panic!("a broker error must not read as an offset: {other:?}"),
    }

    // A store read replaces a memory value (Java's READ_FROM_STORE).
    broker.stored.lock().unwrap().insert(0, 50);
    store.update_offset(&mq(0), 40, true);
    assert_eq!(
        store
            .read_offset(&mq(0), ReadOffsetType::ReadFromStore)
            .await
            .unwrap(),
        Some(50)
    );
    assert_eq!(
        store.clone_offset_table(Some("T")),
        BTreeMap::from([(mq(0), 50)])
    );

    let metrics = store.metrics();
    // Memory lookups: miss, miss (then store), hit, miss.
    assert_eq!((metrics.cache_hit_count, metrics.cache_miss_count), (1, 3));
    assert_eq!(
        (metrics.store_read_count, metrics.store_read_failure_count),
        (4, 1)
    );
    broker.server.finish().await;
}

#[tokio::test]
async fn a_refused_write_stays_pending_and_is_sent_again() {
    let broker = scripted_broker(BTreeMap::new()).await;
    let store = broker.store();
    store.update_offset(&mq(0), 5, true);
    store.update_offset(&mq(FAILING_QUEUE), 8, true);

    match store.persist_all(&queues(&[0, FAILING_QUEUE])).await {
        Err(ClientError::BrokerResponse { code: 26, .. }) => {}
        other => panic!("expected the broker's refusal, got {other:?}"),
    }
    // The other queue was still written.
    assert_eq!(broker.take_updates(), vec![(0, 5)]);
    let metrics = store.metrics();
    assert_eq!(
        (metrics.persist_success_count, metrics.persist_failure_count),
        (1, 1)
    );
    assert_eq!(metrics.persist_success_rate(), Some(0.5));

    // Only the refused one is tried again.
    assert!(store
        .persist_all(&queues(&[0, FAILING_QUEUE]))
        .await
        .is_err());
    assert_eq!(store.metrics().persist_failure_count, 2);
    assert_eq!(store.metrics().persist_success_count, 1);
    broker.server.finish().await;
}

#[tokio::test]
async fn an_unknown_or_unreachable_broker_fails_the_persist_without_losing_the_offset() {
    let addr = refused_addr().await;
    let lookup: Arc<dyn BrokerAddrLookup> =
        Arc::new(move |name: &str| (name == BROKER).then(|| addr.clone()));
    let store = RemoteOffsetStore::new(
        GROUP,
        RemotingClient::new(ConnectionConfig::default()),
        lookup,
    );
    let elsewhere = MessageQueue::new("T", "broker-unknown", 0);
    store.update_offset(&elsewhere, 3, true);
    store.update_offset(&mq(0), 4, true);

    let err = store.persist(&elsewhere).await.unwrap_err();
    assert!(matches!(err, ClientError::BrokerNotAvailable(_)), "{err:?}");
    let err = store.persist(&mq(0)).await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    assert_eq!(store.metrics().persist_failure_count, 2);
    assert_eq!(
        store
            .read_offset(&mq(0), ReadOffsetType::ReadFromMemory)
            .await
            .unwrap(),
        Some(4)
    );
}

/// A lookup that counts the lookups under way at once; each stays under way for a few turns
/// of the (single-threaded) test runtime, so every write task that may run meanwhile does.
struct CountingLookup {
    addr: String,
    under_way: AtomicUsize,
    most_at_once: AtomicUsize,
}

impl BrokerAddrLookup for CountingLookup {
    fn broker_addr<'a>(
        &'a self,
        _mq: &'a MessageQueue,
    ) -> rocketmq_client::consumer::offset_store::StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let now = self.under_way.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            for _ in 0..16 {
                tokio::task::yield_now().await;
            }
            self.under_way.fetch_sub(1, Ordering::SeqCst);
            Some(self.addr.clone())
        })
    }
}

#[tokio::test]
async fn a_persist_runs_at_most_the_bounded_number_of_writes_at_once() {
    let broker = scripted_broker(BTreeMap::new()).await;
    let assigned = queues(&[0, 3, 4, 5, 6]);
    // Unbounded, all but one at once: the first offset of a topic on a broker goes alone
    // (offset_first_commit.rs), the other four together after it.
    for (bound, expected) in [(Some(2), 2), (None, assigned.len() - 1)] {
        let lookup = Arc::new(CountingLookup {
            addr: broker.server.addr.clone(),
            under_way: AtomicUsize::new(0),
            most_at_once: AtomicUsize::new(0),
        });
        let mut store = RemoteOffsetStore::new(
            GROUP,
            RemotingClient::new(ConnectionConfig::default()),
            lookup.clone(),
        );
        if let Some(bound) = bound {
            store = store.with_max_writes_in_flight(bound);
        }
        for (i, q) in assigned.iter().enumerate() {
            store.update_offset(q, 10 + i as i64, true);
        }
        assert_eq!(store.persist_all(&assigned).await.unwrap(), assigned.len());
        assert_eq!(
            lookup.most_at_once.load(Ordering::SeqCst),
            expected,
            "bound {bound:?}"
        );
        assert_eq!(broker.take_updates().len(), assigned.len());
    }
    broker.server.finish().await;
}

// ---- against the real cluster ----

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn the_broker_keeps_a_persisted_offset_for_a_fresh_store() {
    let admin = cluster_admin(&unique("offsets-admin"));
    let topic = unique("OffsetStoreTopic");
    let group = unique("offset-store-group");
    let brokers = create_topic(&admin, &topic, 2).await;
    let instance = admin.instance().await.unwrap();
    let assigned: BTreeSet<MessageQueue> = brokers
        .iter()
        .flat_map(|b| (0..2).map(|id| MessageQueue::new(topic.clone(), b.clone(), id)))
        .collect();

    let store = RemoteOffsetStore::for_instance(&instance, group.clone());
    let first = assigned.iter().next().unwrap().clone();
    // A new group on a queue with no message: whatever the broker answers, it is not an error.
    let before = store
        .read_offset(&first, ReadOffsetType::ReadFromStore)
        .await
        .unwrap();
    eprintln!("BEFORE={before:?}");
    assert!(matches!(before, None | Some(0)), "{before:?}");

    for (i, q) in assigned.iter().enumerate() {
        store.update_offset(q, 100 + i as i64, true);
    }
    // A 5.x broker refuses offsets of a group it does not know (26); nothing is lost. A 4.x
    // broker stores them without asking.
    let stored_before_heartbeat = broker_is_4x();
    match store.persist_all(&assigned).await {
        Ok(n) if stored_before_heartbeat => assert_eq!(n, assigned.len()),
        Err(ClientError::BrokerResponse { code: 26, .. }) if !stored_before_heartbeat => {}
        other => panic!(
            "before the heartbeat, expected {}: {other:?}",
            if stored_before_heartbeat {
                "every offset stored (4.x)"
            } else {
                "SUBSCRIPTION_GROUP_NOT_EXIST (5.x)"
            }
        ),
    }
    // The group's heartbeat creates it (autoCreateSubscriptionGroup), as a consumer's would.
    instance.routes().get(&topic).await.unwrap();
    let consumer_data = {
        let group = group.clone();
        move || ConsumerData {
            group_name: group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: Vec::new(),
            unit_mode: false,
        }
    };
    instance
        .register_consumer(&group, Arc::new(consumer_data))
        .unwrap();
    assert_eq!(
        instance.send_heartbeat_to_all_brokers().await,
        brokers.len()
    );
    if !stored_before_heartbeat {
        assert_eq!(store.persist_all(&assigned).await.unwrap(), assigned.len());
    }
    assert_eq!(store.persist_all(&assigned).await.unwrap(), 0);

    let fresh = RemoteOffsetStore::for_instance(&instance, group.clone());
    for (i, q) in assigned.iter().enumerate() {
        let read = fresh
            .read_offset(q, ReadOffsetType::MemoryFirstThenStore)
            .await
            .unwrap();
        assert_eq!(read, Some(100 + i as i64), "{q}");
    }
    instance.unregister_consumer(&group).await;
    admin.close().await;
}
