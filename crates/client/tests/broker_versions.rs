//! Answers that differ between broker versions, against the real local cluster (NameServer
//! `$NAMESRV_ADDR`), asserting what the version the cluster runs answers
//! (`common::broker_is_4x`) and what the client makes of it. docs/broker-versions.md lists
//! each difference with the test that shows it.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{broker_is_4x, cluster_admin, create_topic, namesrv, unique};
use rocketmq_client::consumer::pull::{PullRequest, Puller};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, MessageQueue,
    SubscriptionData,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::{ExtFields, RemotingCommand};

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A pull of a queue id the topic does not have: 5.x refuses it as INVALID_PARAMETER (not
/// retriable), 4.x as SYSTEM_ERROR, which the client counts as retriable like any
/// SYSTEM_ERROR. Either way the push consumer only pulls queues of the route, so it meets
/// this only when a topic shrinks, and then its next rebalance drops the queue.
#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_pull_of_a_queue_id_the_topic_lacks_is_refused_by_each_version_in_its_own_way() {
    let name = unique("versions-illegal-queue");
    let admin = cluster_admin(&name);
    let topic = unique("VersionsIllegalQueue");
    let brokers = create_topic(&admin, &topic, 1).await;
    let puller = Puller::for_instance(&admin.instance().await.unwrap());
    let mut request = PullRequest::new(
        unique("VersionsIllegalQueueGroup"),
        MessageQueue::new(topic.clone(), brokers[0].clone(), 99),
        0,
        SubscriptionData::tag(topic.clone(), "*", now_millis()),
    );
    request.flags.subscription = true;
    request.suspend_timeout = Duration::from_millis(500);
    match puller.pull(&request).await {
        Err(err @ ClientError::BrokerResponse { code, .. }) => {
            if broker_is_4x() {
                assert_eq!(code, response::SYSTEM_ERROR, "{err}");
                assert!(err.retriable(), "{err}");
            } else {
                assert_eq!(code, response::INVALID_PARAMETER, "{err}");
                assert!(!err.retriable(), "{err}");
            }
        }
        other => panic!("expected the broker to refuse queue 99: {other:?}"),
    }
    admin.close().await;
}

/// A request code the NameServer does not know: 5.x answers REQUEST_CODE_NOT_SUPPORTED, a 4.x
/// NameServer never answers, so only the request's timeout ends it (a Timeout error, which
/// is retriable). The client sends a NameServer only codes 4.9.x knows.
#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_request_code_the_nameserver_does_not_know() {
    /// No RocketMQ release uses it.
    const UNKNOWN_CODE: i32 = 9_999;
    /// A bound on the wait for an answer that a 4.x NameServer never sends.
    const PATIENCE: Duration = Duration::from_secs(2);
    let client = RemotingClient::new(ConnectionConfig::default());
    let answer = client
        .request(
            &namesrv(),
            RemotingCommand::request(UNKNOWN_CODE, ExtFields::new()),
            PATIENCE,
        )
        .await;
    if broker_is_4x() {
        match answer {
            Err(err @ ClientError::Timeout { .. }) => assert!(err.retriable()),
            other => panic!("expected no answer from a 4.x NameServer: {other:?}"),
        }
    } else {
        let answer = answer.unwrap();
        assert_eq!(
            answer.code,
            response::REQUEST_CODE_NOT_SUPPORTED,
            "{answer:?}"
        );
    }
}

/// The full heartbeat the client sends (no fingerprint): 5.x answers it with the heartbeat-V2
/// fields `IS_SUPPORT_HEART_BEAT_V2` and `IS_SUB_CHANGE`, 4.x with neither. Both accept it, and the
/// client never reads those fields, so it needs no V2 fallback.
#[tokio::test]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_full_heartbeat_is_accepted_and_only_5x_answers_the_v2_fields() {
    let name = unique("versions-heartbeat");
    let admin = cluster_admin(&name);
    let topic = unique("VersionsHeartbeat");
    create_topic(&admin, &topic, 1).await;
    let route = admin.topic_route(&topic).await.unwrap();
    let group = unique("VersionsHeartbeatGroup");
    let data = HeartbeatData {
        client_id: format!("127.0.0.1@{name}"),
        producer_data_set: Vec::new(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: vec![SubscriptionData::tag(topic.clone(), "*", 1)],
            unit_mode: false,
        }],
        heartbeat_fingerprint: None,
        without_sub: None,
    };
    let client = RemotingClient::new(ConnectionConfig::default());
    for broker in &route.broker_datas {
        let command = RemotingCommand::request(request::HEART_BEAT, ExtFields::new())
            .with_body(Bytes::from(data.encode().unwrap()));
        let answer = client
            .request(
                broker.master_addr().unwrap(),
                command,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
        let v2_fields = ["IS_SUPPORT_HEART_BEAT_V2", "IS_SUB_CHANGE"]
            .iter()
            .filter(|key| answer.ext_fields.contains_key(**key))
            .count();
        let expected = if broker_is_4x() { 0 } else { 2 };
        assert_eq!(v2_fields, expected, "{answer:?}");
    }
    admin.close().await;
}
