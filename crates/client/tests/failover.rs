//! Failover paths that a healthy local cluster never takes: a dead NameServer in the
//! list, and a broker that refuses connections while another serves the topic.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{refused_addr, route_server, send_broker, serve};
use rocketmq_client::{ClientError, OutgoingMessage, Producer, ProducerConfig, SendStatus};
use rocketmq_remoting::codes::response;
use rocketmq_remoting::RemotingCommand;

/// Route JSON as an old NameServer writes it: `brokerAddrs` keys without quotes.
fn route_json(broker_a: &str, broker_b: &str) -> String {
    format!(
        r#"{{"queueDatas":[{{"brokerName":"a","readQueueNums":2,"writeQueueNums":2,"perm":6,"topicSysFlag":0}},{{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6,"topicSysFlag":0}}],"brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{0:"{broker_a}"}}}},{{"cluster":"c","brokerName":"b","brokerAddrs":{{0:"{broker_b}"}}}}]}}"#
    )
}

fn message() -> OutgoingMessage {
    OutgoingMessage {
        topic: "T".into(),
        body: Bytes::from_static(b"payload"),
        ..Default::default()
    }
}

#[tokio::test]
async fn send_fails_over_to_the_other_broker_and_a_dead_name_server_is_skipped() {
    let dead_broker = refused_addr().await;
    let sends = Arc::new(AtomicUsize::new(0));
    let live_broker = send_broker(response::SUCCESS, sends.clone()).await;
    let queries = Arc::new(AtomicUsize::new(0));
    let namesrv = route_server(route_json(&dead_broker, &live_broker.addr), queries.clone()).await;
    let dead_namesrv = refused_addr().await;

    let producer = Producer::new(ProducerConfig {
        // The first NameServer is down: the client must fail over to the second.
        namesrv_addr: format!("{dead_namesrv};{}", namesrv.addr),
        send_timeout: Duration::from_secs(5),
        group: "failover_producer".into(),
        ..ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();
    // Round-robin starts at broker "a", which refuses; every send must still land on "b".
    for _ in 0..4 {
        let result = producer.send(message()).await.unwrap();
        assert_eq!(result.status, SendStatus::SendOk);
        assert_eq!(result.queue.broker_name, "b");
        assert_eq!(result.queue_offset, 7);
    }
    assert_eq!(sends.load(Ordering::SeqCst), 4);
    assert!(queries.load(Ordering::SeqCst) >= 1);
    producer.shutdown().await;
    namesrv.finish().await;
    live_broker.finish().await;
}

#[tokio::test]
async fn with_every_broker_down_the_send_error_is_a_transport_error() {
    let dead_a = refused_addr().await;
    let dead_b = refused_addr().await;
    let queries = Arc::new(AtomicUsize::new(0));
    let namesrv = route_server(route_json(&dead_a, &dead_b), queries).await;
    let producer = Producer::new(ProducerConfig {
        namesrv_addr: namesrv.addr.clone(),
        retry_times: 2,
        send_timeout: Duration::from_secs(5),
        group: "failover_producer".into(),
        ..ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();
    let err = producer.send(message()).await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    producer.shutdown().await;
    namesrv.finish().await;
}

#[tokio::test]
async fn a_broker_rejection_is_final_and_carries_the_response_code_and_broker() {
    let rejecting =
        serve(|_| RemotingCommand::response(response::MESSAGE_ILLEGAL, Some("bad".into()))).await;
    let queries = Arc::new(AtomicUsize::new(0));
    let namesrv = route_server(route_json(&rejecting.addr, &rejecting.addr), queries).await;
    let producer = Producer::new(ProducerConfig {
        namesrv_addr: namesrv.addr.clone(),
        group: "failover_producer".into(),
        ..ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();
    let err = producer.send(message()).await.unwrap_err();
    match &err {
        ClientError::SendFailed { code, .. } => assert_eq!(*code, Some(response::MESSAGE_ILLEGAL)),
        other => panic!("expected SendFailed, got {other:?}"),
    }
    assert!(err.to_string().ends_with("[responseCode=13]"), "{err}");
    assert_eq!(err.response_code(), Some(response::MESSAGE_ILLEGAL));
    assert_eq!(err.broker_addr(), Some(rejecting.addr.as_str()));
    assert!(!err.retriable());
    producer.shutdown().await;
    namesrv.finish().await;
    rejecting.finish().await;
}
