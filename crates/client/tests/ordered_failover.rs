//! Ordered sends and failures: a send to a sharding key's queue or to a chosen queue is
//! tried once, on that queue, as Java's `send(msg, selector, arg)`; it never moves to another
//! broker the way a round-robin send does.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{refused_addr, route_server, send_broker, Server};
use rocketmq_client::ordered_send::{QueueChoice, SendTarget};
use rocketmq_client::{ClientError, OutgoingMessage, Producer, ProducerConfig};
use rocketmq_remoting::codes::response;

/// Brokers "a" and "b" with two write queues each: sorted, the queues are a0 a1 b0 b1.
fn route_json(broker_a: &str, broker_b: &str) -> String {
    format!(
        r#"{{"queueDatas":[{{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6,"topicSysFlag":0}},{{"brokerName":"a","readQueueNums":2,"writeQueueNums":2,"perm":6,"topicSysFlag":0}}],"brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{"0":"{broker_a}"}}}},{{"cluster":"c","brokerName":"b","brokerAddrs":{{"0":"{broker_b}"}}}}]}}"#
    )
}

fn keyed(key: &str) -> OutgoingMessage {
    OutgoingMessage {
        topic: "T".into(),
        body: Bytes::from_static(b"payload"),
        sharding_key: Some(key.into()),
        ..Default::default()
    }
}

async fn started(namesrv: &Server) -> Producer {
    let producer = Producer::new(ProducerConfig {
        namesrv_addr: namesrv.addr.clone(),
        retry_times: 2,
        send_timeout: Duration::from_secs(5),
        group: "ordered_failover_producer".into(),
        ..ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();
    producer
}

#[tokio::test]
async fn a_keyed_or_chosen_queue_on_a_dead_broker_fails_without_trying_the_other() {
    let dead_a = refused_addr().await;
    let sends_b = Arc::new(AtomicUsize::new(0));
    let live_b = send_broker(response::SUCCESS, sends_b.clone()).await;
    let namesrv = route_server(route_json(&dead_a, &live_b.addr), Arc::default()).await;
    let producer = started(&namesrv).await;

    // Java's "a".hashCode() = 97, 97 % 4 = 1: queue a1, on the dead broker.
    let err = producer.send(keyed("a")).await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    let chosen = SendTarget::Queue(QueueChoice {
        topic: None,
        broker_name: "a".into(),
        queue_id: 0,
    });
    let err = producer
        .send_to(
            OutgoingMessage {
                sharding_key: None,
                ..keyed("a")
            },
            chosen,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    assert_eq!(
        sends_b.load(Ordering::SeqCst),
        0,
        "nothing moved to broker b"
    );

    // "order-1".hashCode() % 4 = -2, abs 2: queue b0, which is up.
    let result = producer.send(keyed("order-1")).await.unwrap();
    assert_eq!(
        (result.queue.broker_name.as_str(), result.queue.queue_id),
        ("b", 0)
    );
    assert_eq!(sends_b.load(Ordering::SeqCst), 1);
    producer.shutdown().await;
    namesrv.finish().await;
    live_b.finish().await;
}

#[tokio::test]
async fn a_busy_broker_is_asked_once_for_an_ordered_send() {
    let sends_a = Arc::new(AtomicUsize::new(0));
    let sends_b = Arc::new(AtomicUsize::new(0));
    let busy_a = send_broker(response::SYSTEM_BUSY, sends_a.clone()).await;
    let live_b = send_broker(response::SUCCESS, sends_b.clone()).await;
    let namesrv = route_server(route_json(&busy_a.addr, &live_b.addr), Arc::default()).await;
    let producer = started(&namesrv).await;

    // SYSTEM_BUSY is retried on another broker for a round-robin send; not for a keyed one.
    let err = producer.send(keyed("a")).await.unwrap_err();
    assert_eq!(err.code(), "ERR_SEND_FAILED", "{err:?}");
    assert_eq!(sends_a.load(Ordering::SeqCst), 1, "one attempt");
    assert_eq!(sends_b.load(Ordering::SeqCst), 0, "no other broker");
    producer.shutdown().await;
    namesrv.finish().await;
    busy_a.finish().await;
    live_b.finish().await;
}
