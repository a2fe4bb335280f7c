//! The simple consumer against the local cluster (NameServer `$NAMESRV_ADDR`): on 5.x a
//! message is received once, hidden from a second receive, gone after its ack, and back
//! after its invisible duration when not acknowledged; a changed invisible duration gives a
//! new handle that acknowledges it. On 4.x every receive fails with the broker's
//! REQUEST_CODE_NOT_SUPPORTED and a message saying 5.x is needed.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{broker_is_4x, cluster_admin, create_topic, namesrv, started_producer, unique};
use rocketmq_client::simple_consumer::{PopFilter, SimpleConsumer, SimpleConsumerConfig};
use rocketmq_client::{ClientError, OutgoingMessage};
use rocketmq_remoting::codes::response;

fn consumer(instance: &str, group: &str) -> SimpleConsumer {
    SimpleConsumer::new(SimpleConsumerConfig {
        namesrv_addr: namesrv(),
        instance_name: Some(instance.to_owned()),
        unit_name: None,
        consumer_group: group.to_owned(),
        await_duration: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
        credentials: None,
        tls: None,
    })
    .unwrap()
}

/// Receives until `count` messages came or `rounds` receives found nothing more.
async fn receive_all(
    consumer: &SimpleConsumer,
    topic: &str,
    count: usize,
    invisible: Duration,
) -> Vec<rocketmq_client::simple_consumer::PoppedMessage> {
    let all = PopFilter::new("TAG", "*").unwrap();
    let mut received = Vec::new();
    for _ in 0..20 {
        if received.len() >= count {
            break;
        }
        received.extend(consumer.receive(topic, &all, 32, invisible).await.unwrap());
    }
    received
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn popped_messages_are_hidden_acked_and_redelivered() {
    let instance = unique("pop");
    let admin = cluster_admin(&instance);
    let topic = unique("pop_topic");
    create_topic(&admin, &topic, 2).await;
    let group = unique("pop_group");
    let consumer = consumer(&instance, &group);
    consumer.start(std::slice::from_ref(&topic)).await.unwrap();
    let all = PopFilter::new("TAG", "*").unwrap();

    if broker_is_4x() {
        let err = consumer
            .receive(&topic, &all, 1, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::BrokerResponse { code, .. } if *code == response::REQUEST_CODE_NOT_SUPPORTED),
            "{err:?}"
        );
        assert!(err.to_string().contains("5.x"), "{err}");
        consumer.shutdown().await;
        admin.close().await;
        return;
    }

    let producer = started_producer(&instance, "pop_producer").await;
    for body in ["a", "b"] {
        producer
            .send(OutgoingMessage {
                topic: topic.clone(),
                body: Bytes::from(body),
                tags: Some("t".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    let first = receive_all(&consumer, &topic, 2, Duration::from_secs(2)).await;
    let mut bodies: Vec<_> = first.iter().map(|m| m.message.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, vec![Bytes::from("a"), Bytes::from("b")]);
    for popped in &first {
        assert_eq!(popped.message.topic, topic);
        assert_eq!(popped.message.tags(), Some("t"));
    }

    // "a" is acknowledged; "b" is hidden again for 10 s, under a new handle.
    let (a, b) = if first[0].message.body == "a" {
        (&first[0], &first[1])
    } else {
        (&first[1], &first[0])
    };
    consumer.ack(&topic, &a.receipt_handle).await.unwrap();
    let renewed = consumer
        .change_invisible_duration(&topic, &b.receipt_handle, Duration::from_secs(10))
        .await
        .unwrap();
    assert_ne!(renewed.receipt_handle, b.receipt_handle);

    // Nothing comes back while "b" is hidden (the 2 s of the first receive have passed).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let hidden = consumer
        .receive(&topic, &all, 32, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(hidden.is_empty(), "{hidden:?}");

    // The renewed handle acknowledges "b".
    consumer.ack(&topic, &renewed.receipt_handle).await.unwrap();

    producer.shutdown().await;
    consumer.shutdown().await;
    admin.close().await;
}

#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn an_unacknowledged_message_comes_back_after_its_invisible_duration() {
    if broker_is_4x() {
        return;
    }
    let instance = unique("pop_back");
    let admin = cluster_admin(&instance);
    let topic = unique("pop_back_topic");
    create_topic(&admin, &topic, 1).await;
    let consumer = consumer(&instance, &unique("pop_back_group"));
    consumer.start(std::slice::from_ref(&topic)).await.unwrap();
    let producer = started_producer(&instance, "pop_back_producer").await;
    producer
        .send(OutgoingMessage {
            topic: topic.clone(),
            body: Bytes::from("again"),
            ..Default::default()
        })
        .await
        .unwrap();
    let first = receive_all(&consumer, &topic, 1, Duration::from_secs(1)).await;
    assert_eq!(first.len(), 1);
    // Not acknowledged: it is delivered again (from the group's retry topic, under the
    // subscribed topic's name) once its second of invisibility is over.
    let again = receive_all(&consumer, &topic, 1, Duration::from_secs(10)).await;
    assert_eq!(again.len(), 1, "redelivered");
    assert_eq!(again[0].message.body, Bytes::from("again"));
    assert_eq!(again[0].message.topic, topic);
    assert_eq!(again[0].message.msg_id(), first[0].message.msg_id());
    consumer
        .ack(&topic, &again[0].receipt_handle)
        .await
        .unwrap();
    producer.shutdown().await;
    consumer.shutdown().await;
    admin.close().await;
}
