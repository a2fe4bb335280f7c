//! `offsetStoreRetryTimes`: a failed offset write is tried again at once within the same
//! persist, as many extra times as configured, against a scripted loopback broker that
//! refuses the first writes it gets.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::serve;
use rocketmq_client::consumer::offset_store::{BrokerAddrLookup, OffsetStore, RemoteOffsetStore};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::body::MessageQueue;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::RemotingCommand;

const BROKER: &str = "broker-r";

/// Persists one offset with `retry_times` against a broker refusing the first `refusals`
/// writes; returns the persist's outcome and how many writes the broker got.
async fn persist_against(refusals: usize, retry_times: u32) -> (Result<usize, ClientError>, usize) {
    let writes = Arc::new(AtomicUsize::new(0));
    let server = serve({
        let writes = Arc::clone(&writes);
        move |req| {
            assert_eq!(req.code, request::UPDATE_CONSUMER_OFFSET);
            if writes.fetch_add(1, Ordering::SeqCst) < refusals {
                RemotingCommand::response(response::SYSTEM_BUSY, Some("scripted refusal".into()))
            } else {
                RemotingCommand::response(response::SUCCESS, None)
            }
        }
    })
    .await;
    let addr = server.addr.clone();
    let lookup: Arc<dyn BrokerAddrLookup> =
        Arc::new(move |name: &str| (name == BROKER).then(|| addr.clone()));
    let store = RemoteOffsetStore::new(
        "retry-group",
        RemotingClient::new(ConnectionConfig::default()),
        lookup,
    )
    .with_timeout(Duration::from_secs(5))
    .with_retry_times(retry_times);
    let mq = MessageQueue::new("T", BROKER, 0);
    store.update_offset(&mq, 7, true);
    let outcome = store.persist_all(&BTreeSet::from([mq])).await;
    server.finish().await;
    (outcome, writes.load(Ordering::SeqCst))
}

#[tokio::test]
async fn without_retries_a_refused_write_fails_the_persist() {
    let (outcome, writes) = persist_against(1, 0).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(writes, 1);
}

#[tokio::test]
async fn retries_write_again_at_once_until_the_broker_takes_it() {
    let (outcome, writes) = persist_against(2, 3).await;
    assert_eq!(outcome.unwrap(), 1);
    assert_eq!(writes, 3, "two refusals, then success: no attempt more");
}

#[tokio::test]
async fn a_persist_gives_up_after_its_retries() {
    let (outcome, writes) = persist_against(5, 2).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(writes, 3);
}
