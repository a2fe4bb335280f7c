//! The shared client instance against scripted loopback peers: who shares an instance, what
//! its heartbeat carries, UNREGISTER_CLIENT on leaving, and the send budget against a
//! NameServer that never answers.
//!
//! The peers here only record and answer; every assertion runs in the test itself, fed by
//! the events the peers report, so a failed check cannot hide inside a peer's task.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocketmq_client::instance::{ClientInstance, InstanceConfig};
use rocketmq_client::{OutgoingMessage, Producer, ProducerConfig};
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::{ExtFields, RemotingCommand, DEFAULT_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Every wait in these tests ends after this long, so a broken client fails the test
/// rather than hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a scripted peer saw.
#[derive(Debug)]
enum Seen {
    Accepted,
    Request(RemotingCommand),
    Closed,
}

async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Ok(Some(cmd)) = RemotingCommand::try_decode_frame(buf, DEFAULT_MAX_FRAME) {
            return Some(cmd);
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// A peer on a fresh loopback port: reports what it sees on the returned channel and
/// answers each request with `answer` (no answer when it returns None).
async fn peer<F>(answer: F) -> (String, mpsc::UnboundedReceiver<Seen>)
where
    F: Fn(&RemotingCommand) -> Option<RemotingCommand> + Send + Sync + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (seen, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = seen.send(Seen::Accepted);
            let answer = answer.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                while let Some(request) = read_frame(&mut stream, &mut buf).await {
                    let response = answer(&request);
                    let _ = seen.send(Seen::Request(request.clone()));
                    if let Some(mut response) = response {
                        response.opaque = request.opaque;
                        let frame = response.to_bytes().unwrap();
                        if stream.write_all(&frame).await.is_err() {
                            break;
                        }
                    }
                }
                let _ = seen.send(Seen::Closed);
            });
        }
    });
    (addr, events)
}

/// A broker that accepts heartbeats, unregistrations and messages.
async fn broker() -> (String, mpsc::UnboundedReceiver<Seen>) {
    peer(|req| {
        let mut answer = RemotingCommand::response(response::SUCCESS, None);
        if req.code == request::SEND_MESSAGE_V2 {
            let mut fields = ExtFields::new();
            fields.insert("msgId".into(), "7F00000100002A9F0000000000000000".into());
            fields.insert("queueId".into(), "0".into());
            fields.insert("queueOffset".into(), "0".into());
            answer.ext_fields = fields;
        }
        Some(answer)
    })
    .await
}

/// A NameServer that routes topic "T" to `broker`.
async fn name_server(broker: &str) -> String {
    let route = format!(
        r#"{{"queueDatas":[{{"brokerName":"a","readQueueNums":1,"writeQueueNums":1,"perm":6,"topicSysFlag":0}}],"brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{"0":"{broker}"}}}}]}}"#
    );
    let (addr, _) = peer(move |_| {
        Some(
            RemotingCommand::response(response::SUCCESS, None)
                .with_body(Bytes::from(route.clone())),
        )
    })
    .await;
    addr
}

fn producer(namesrv: &str, group: &str, send_timeout: Duration) -> Producer {
    Producer::new(ProducerConfig {
        namesrv_addr: namesrv.to_owned(),
        group: group.to_owned(),
        send_timeout,
        ..ProducerConfig::default()
    })
    .unwrap()
}

fn message() -> OutgoingMessage {
    OutgoingMessage {
        topic: "T".into(),
        body: Bytes::from_static(b"payload"),
        ..Default::default()
    }
}

/// The next request the peer saw with `code`, skipping other events.
async fn next_request(events: &mut mpsc::UnboundedReceiver<Seen>, code: i32) -> RemotingCommand {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Some(Seen::Request(req)) if req.code == code => return req,
                Some(_) => {}
                None => panic!("the peer stopped before a request with code {code}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no request with code {code} within {PATIENCE:?}"))
}

#[tokio::test]
async fn a_stalled_name_server_fails_the_send_when_its_budget_runs_out() {
    // Accepts and reads, never answers: the route lookup can only end by a timeout.
    let (namesrv, _seen) = peer(|_| None).await;
    let budget = Duration::from_millis(300);
    let producer = producer(&namesrv, "stalled_ns_group", budget);
    producer.start().await.unwrap();
    // The instance's own NameServer timeout is 3 s; the send must not wait for it.
    let limit = budget + Duration::from_millis(1500);
    let outcome = tokio::time::timeout(limit, producer.send(message())).await;
    let err = outcome
        .expect("the send outlived its budget")
        .expect_err("nothing could have stored the message");
    assert_eq!(err.code(), "ERR_TIMEOUT", "{err}");
    producer.shutdown().await;
}

#[tokio::test]
async fn producers_of_a_process_share_one_instance_one_connection_and_one_heartbeat() {
    let (broker, mut seen) = broker().await;
    let namesrv = name_server(&broker).await;
    let orders = producer(&namesrv, "orders_group", Duration::from_secs(5));
    let billing = producer(&namesrv, "billing_group", Duration::from_secs(5));
    orders.start().await.unwrap();
    billing.start().await.unwrap();
    assert_eq!(orders.client_id(), billing.client_id());
    let client_id = orders.client_id().unwrap();
    assert_eq!(client_id, format!("127.0.0.1@{}", std::process::id()));

    orders.send(message()).await.unwrap();
    billing.send(message()).await.unwrap();

    // The first heartbeat goes out when the route shows the broker, and carries both groups.
    let heartbeat = next_request(&mut seen, request::HEART_BEAT).await;
    let data = HeartbeatData::decode(&heartbeat.body).unwrap();
    assert_eq!(data.client_id, client_id);
    let mut groups: Vec<&str> = data
        .producer_data_set
        .iter()
        .map(|p| p.group_name.as_str())
        .collect();
    groups.sort();
    assert_eq!(groups, ["billing_group", "orders_group"]);
    assert!(data.consumer_data_set.is_empty());

    // One group leaves: the broker hears of that group only, and the connection stays.
    orders.shutdown().await;
    let unregister = next_request(&mut seen, request::UNREGISTER_CLIENT).await;
    assert_eq!(unregister.ext_fields["clientID"], client_id);
    assert_eq!(unregister.ext_fields["producerGroup"], "orders_group");
    billing.send(message()).await.unwrap();

    // The last member leaves: UNREGISTER_CLIENT for its group, then the connection closes.
    billing.shutdown().await;
    let unregister = next_request(&mut seen, request::UNREGISTER_CLIENT).await;
    assert_eq!(unregister.ext_fields["producerGroup"], "billing_group");
    let mut accepted = 1; // the connection whose requests were seen above
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match seen.recv().await {
                Some(Seen::Closed) => return,
                Some(Seen::Accepted) => accepted += 1,
                Some(Seen::Request(_)) => {}
                None => panic!("the peer stopped"),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the last leave must close the broker connection"
    );
    assert_eq!(
        accepted, 1,
        "both producers used one connection to the broker"
    );
}

#[tokio::test]
async fn instances_are_shared_by_name_and_cluster_and_renewed_after_the_last_leave() {
    let (namesrv, _) = peer(|_| None).await;
    let (other_cluster, _) = peer(|_| None).await;
    let config = InstanceConfig::new(&namesrv).unwrap();

    let first = ClientInstance::acquire(config.clone()).await.unwrap();
    let second = ClientInstance::acquire(config.clone()).await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(first.members(), 2);

    let elsewhere = ClientInstance::acquire(InstanceConfig::new(&other_cluster).unwrap())
        .await
        .unwrap();
    assert!(
        !Arc::ptr_eq(&first, &elsewhere),
        "another cluster, another instance"
    );
    assert_eq!(first.client_id(), elsewhere.client_id());

    let named = ClientInstance::acquire(config.clone().with_names(Some("reports"), Some("unit1")))
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&first, &named));
    assert_eq!(named.client_id(), "127.0.0.1@reports@unit1");

    // One group per instance, as in Java.
    first.register_producer("dup_group").unwrap();
    assert_eq!(
        second.register_producer("dup_group").unwrap_err().code(),
        "ERR_STATE"
    );
    first.unregister_producer("dup_group").await;

    first.release().await;
    assert_eq!(second.members(), 1);
    second.release().await;
    let renewed = ClientInstance::acquire(config).await.unwrap();
    assert!(
        !Arc::ptr_eq(&first, &renewed),
        "a stopped instance is not reused"
    );
    for instance in [renewed, elsewhere, named] {
        instance.release().await;
    }
}

#[tokio::test]
async fn slaves_get_heartbeats_only_when_a_consumer_group_is_registered() {
    let (master, _master_seen) = broker().await;
    let (slave, mut slave_seen) = broker().await;
    let route = format!(
        r#"{{"queueDatas":[{{"brokerName":"a","readQueueNums":1,"writeQueueNums":1,"perm":6,"topicSysFlag":0}}],"brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{"0":"{master}","1":"{slave}"}}}}]}}"#
    );
    let (namesrv, _) = peer(move |_| {
        Some(
            RemotingCommand::response(response::SUCCESS, None)
                .with_body(Bytes::from(route.clone())),
        )
    })
    .await;
    let instance = ClientInstance::acquire(InstanceConfig::new(&namesrv).unwrap())
        .await
        .unwrap();
    instance.routes().get("T").await.unwrap();

    assert_eq!(
        instance.send_heartbeat_to_all_brokers().await,
        0,
        "no group, no heartbeat"
    );
    instance.register_producer("slave_test_producer").unwrap();
    assert_eq!(
        instance.send_heartbeat_to_all_brokers().await,
        1,
        "the master only"
    );

    let consumer = ConsumerData {
        group_name: "slave_test_consumer".into(),
        consume_type: ConsumeType::ConsumePassively,
        message_model: MessageModel::Clustering,
        consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
        subscription_data_set: vec![SubscriptionData::tag("T", "*", 1)],
        unit_mode: false,
    };
    let described = consumer.clone();
    instance
        .register_consumer("slave_test_consumer", Arc::new(move || described.clone()))
        .unwrap();
    assert_eq!(
        instance.send_heartbeat_to_all_brokers().await,
        2,
        "master and slave"
    );
    let heartbeat = next_request(&mut slave_seen, request::HEART_BEAT).await;
    let data = HeartbeatData::decode(&heartbeat.body).unwrap();
    assert_eq!(data.consumer_data_set, [consumer]);
    assert_eq!(data.producer_data_set.len(), 1);

    instance.unregister_consumer("slave_test_consumer").await;
    let unregister = next_request(&mut slave_seen, request::UNREGISTER_CLIENT).await;
    assert_eq!(
        unregister.ext_fields["consumerGroup"],
        "slave_test_consumer"
    );
    instance.unregister_producer("slave_test_producer").await;
    instance.release().await;
}
