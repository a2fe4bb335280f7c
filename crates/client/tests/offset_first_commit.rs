//! The broker offset store sends the first offset of each topic on a broker alone and the
//! others once it is answered: brokers create a group's per-topic offset map on the first
//! commit with a check-then-put, so two first commits handled at once can lose one (seen
//! against 4.9.7; docs/broker-versions.md).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use common::{peer, read_frame, write_frame};
use rocketmq_client::consumer::offset_store::{BrokerAddrLookup, OffsetStore, RemoteOffsetStore};
use rocketmq_client::{ConnectionConfig, RemotingClient};
use rocketmq_remoting::body::MessageQueue;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{DecodeHeader, UpdateConsumerOffsetRequestHeader};
use rocketmq_remoting::RemotingCommand;

const BROKER: &str = "broker-x";

/// How long the scripted broker holds the first commit's answer back while watching for
/// another commit: any commit sent before that answer arrives within it on loopback.
const HOLD_FIRST_ANSWER: Duration = Duration::from_millis(300);

#[tokio::test]
async fn the_first_offset_of_a_topic_is_answered_before_the_others_are_sent() {
    let queues: BTreeSet<MessageQueue> = (0..4)
        .map(|id| MessageQueue::new("T", BROKER, id))
        .collect();
    let broker = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let first = read_frame(&mut stream, &mut buf).await.unwrap();
        assert_eq!(first.code, request::UPDATE_CONSUMER_OFFSET);
        let early =
            tokio::time::timeout(HOLD_FIRST_ANSWER, read_frame(&mut stream, &mut buf)).await;
        assert!(
            early.is_err(),
            "a second commit came before the first was answered: {early:?}"
        );
        write_frame(
            &mut stream,
            &RemotingCommand::response_to(&first, response::SUCCESS, None),
        )
        .await;
        let mut ids = vec![
            UpdateConsumerOffsetRequestHeader::from_ext_fields(&first.ext_fields)
                .unwrap()
                .queue_id,
        ];
        for _ in 0..3 {
            let next = read_frame(&mut stream, &mut buf).await.unwrap();
            ids.push(
                UpdateConsumerOffsetRequestHeader::from_ext_fields(&next.ext_fields)
                    .unwrap()
                    .queue_id,
            );
            write_frame(
                &mut stream,
                &RemotingCommand::response_to(&next, response::SUCCESS, None),
            )
            .await;
        }
        ids.sort();
        assert_eq!(ids, vec![0, 1, 2, 3]);
    })
    .await;
    let addr = broker.addr.clone();
    let lookup: Arc<dyn BrokerAddrLookup> =
        Arc::new(move |name: &str| (name == BROKER).then(|| addr.clone()));
    let store = RemoteOffsetStore::new(
        "g",
        RemotingClient::new(ConnectionConfig::default()),
        lookup,
    );
    for (i, mq) in queues.iter().enumerate() {
        store.update_offset(mq, 10 + i as i64, true);
    }
    assert_eq!(store.persist_all(&queues).await.unwrap(), 4);
    broker.finish().await;
}
