//! The ConsumerRunningInfo body against the Java class. `tests/fixtures/running_info.body` is
//! this encoder's output for [`sample`]; `tests/fixtures/running_info.java.txt` is what
//! `tests/java/RunningInfoCheck.java` printed after decoding that body with
//! `ConsumerRunningInfo.decode` (fastjson 1, RocketMQ 5.3.3 jars). The test fails when the
//! encoding changes (rerun the Java check: see the comment at the top of the .java file) or
//! when what Java read differs from what we meant to say.

use std::fmt::Write as _;

use rocketmq_remoting::body::running_info::props;
use rocketmq_remoting::body::{
    ConsumeStatus, ConsumerRunningInfo, MessageQueue, PopProcessQueueInfo, ProcessQueueInfo,
    SubscriptionData,
};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Values chosen to catch mix-ups: every number differs, offsets beyond 32 bits, a
/// negative (unset) offset, text that needs escaping, a rate that is NaN.
fn sample() -> ConsumerRunningInfo {
    let mut info = ConsumerRunningInfo::default();
    for (k, v) in [
        (props::NAMESERVER_ADDR, "127.0.0.1:9876;"),
        (props::THREADPOOL_CORE_SIZE, "20"),
        (props::CONSUME_ORDERLY, "false"),
        (props::CONSUME_TYPE, "CONSUME_PASSIVELY"),
        (props::CLIENT_VERSION, "rocketmq-napi 0.1.0"),
        (props::CONSUMER_START_TIMESTAMP, "1764000000000"),
        ("consumerGroup", "group-\"quoted\" ü"),
        ("messageModel", "CLUSTERING"),
    ] {
        info.properties.insert(k.to_owned(), v.to_owned());
    }
    info.subscription_set.push(SubscriptionData::tag(
        "TopicA",
        "tagA || tagB",
        1_764_000_000_001,
    ));
    info.subscription_set.push(SubscriptionData::tag(
        "%RETRY%group",
        "*",
        1_764_000_000_002,
    ));
    info.mq_table.insert(
        MessageQueue::new("TopicA", "broker-a", 0),
        ProcessQueueInfo {
            commit_offset: 5_000_000_000,
            cached_msg_min_offset: 5_000_000_001,
            cached_msg_max_offset: 5_000_000_031,
            cached_msg_count: 31,
            cached_msg_size_in_mib: 2,
            transaction_msg_min_offset: 3,
            transaction_msg_max_offset: 4,
            transaction_msg_count: 5,
            locked: true,
            try_unlock_times: 6,
            last_lock_timestamp: 1_764_000_000_100,
            dropped: false,
            last_pull_timestamp: 1_764_000_000_200,
            last_consume_timestamp: 1_764_000_000_300,
        },
    );
    info.mq_table.insert(
        MessageQueue::new("TopicA", "broker-b", 7),
        ProcessQueueInfo {
            commit_offset: -1,
            dropped: true,
            last_pull_timestamp: 1_764_000_000_400,
            last_consume_timestamp: 1_764_000_000_500,
            ..ProcessQueueInfo::default()
        },
    );
    info.mq_pop_table.insert(
        MessageQueue::new("TopicP", "broker-a", 1),
        PopProcessQueueInfo {
            wait_ack_count: 9,
            dropped: true,
            last_pop_timestamp: 1_764_000_000_600,
        },
    );
    info.status_table.insert(
        "TopicA".to_owned(),
        ConsumeStatus {
            pull_rt: 12.5,
            pull_tps: 1024.25,
            consume_rt: 0.75,
            consume_ok_tps: 998.5,
            consume_failed_tps: f64::NAN,
            consume_failed_msgs: 42,
        },
    );
    info.user_consumer_info
        .insert("listener".to_owned(), "js async".to_owned());
    info
}

/// What the Java check prints for `info`, line for line, assuming Java read every value we
/// wrote (NaN rates as 0.0, as the encoder writes them).
fn expected_java_printout(info: &ConsumerRunningInfo) -> String {
    let mut out = String::new();
    for (k, v) in &info.properties {
        writeln!(out, "properties.{k}={v}").unwrap();
    }
    // Java's TreeSet orders subscriptions by "topic@subString".
    let mut subs: Vec<&SubscriptionData> = info.subscription_set.iter().collect();
    subs.sort_by_key(|s| format!("{}@{}", s.topic, s.sub_string));
    for (i, s) in subs.iter().enumerate() {
        let p = format!("subscriptionSet[{i}].");
        let mut tags = s.tags_set.clone();
        tags.sort();
        let mut codes = s.code_set.clone();
        codes.sort();
        writeln!(out, "{p}topic={}", s.topic).unwrap();
        writeln!(out, "{p}subString={}", s.sub_string).unwrap();
        writeln!(out, "{p}tagsSet=[{}]", tags.join(", ")).unwrap();
        let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
        writeln!(out, "{p}codeSet=[{}]", codes.join(", ")).unwrap();
        writeln!(out, "{p}subVersion={}", s.sub_version).unwrap();
        writeln!(out, "{p}expressionType={}", s.expression_type).unwrap();
        writeln!(out, "{p}classFilterMode={}", s.class_filter_mode).unwrap();
    }
    let key = |q: &MessageQueue| format!("{}/{}/{}", q.topic, q.broker_name, q.queue_id);
    for (q, i) in &info.mq_table {
        let p = format!("mqTable[{}].", key(q));
        for (name, value) in [
            ("commitOffset", i.commit_offset.to_string()),
            ("cachedMsgMinOffset", i.cached_msg_min_offset.to_string()),
            ("cachedMsgMaxOffset", i.cached_msg_max_offset.to_string()),
            ("cachedMsgCount", i.cached_msg_count.to_string()),
            ("cachedMsgSizeInMiB", i.cached_msg_size_in_mib.to_string()),
            (
                "transactionMsgMinOffset",
                i.transaction_msg_min_offset.to_string(),
            ),
            (
                "transactionMsgMaxOffset",
                i.transaction_msg_max_offset.to_string(),
            ),
            ("transactionMsgCount", i.transaction_msg_count.to_string()),
            ("locked", i.locked.to_string()),
            ("tryUnlockTimes", i.try_unlock_times.to_string()),
            ("lastLockTimestamp", i.last_lock_timestamp.to_string()),
            ("droped", i.dropped.to_string()),
            ("lastPullTimestamp", i.last_pull_timestamp.to_string()),
            ("lastConsumeTimestamp", i.last_consume_timestamp.to_string()),
        ] {
            writeln!(out, "{p}{name}={value}").unwrap();
        }
    }
    for (q, i) in &info.mq_pop_table {
        let p = format!("mqPopTable[{}].", key(q));
        writeln!(out, "{p}waitAckCount={}", i.wait_ack_count).unwrap();
        writeln!(out, "{p}droped={}", i.dropped).unwrap();
        writeln!(out, "{p}lastPopTimestamp={}", i.last_pop_timestamp).unwrap();
    }
    let java_double = |v: f64| format!("{:?}", if v.is_finite() { v } else { 0.0 });
    for (topic, s) in &info.status_table {
        let p = format!("statusTable[{topic}].");
        writeln!(out, "{p}pullRT={}", java_double(s.pull_rt)).unwrap();
        writeln!(out, "{p}pullTPS={}", java_double(s.pull_tps)).unwrap();
        writeln!(out, "{p}consumeRT={}", java_double(s.consume_rt)).unwrap();
        writeln!(out, "{p}consumeOKTPS={}", java_double(s.consume_ok_tps)).unwrap();
        writeln!(
            out,
            "{p}consumeFailedTPS={}",
            java_double(s.consume_failed_tps)
        )
        .unwrap();
        writeln!(out, "{p}consumeFailedMsgs={}", s.consume_failed_msgs).unwrap();
    }
    for (k, v) in &info.user_consumer_info {
        writeln!(out, "userConsumerInfo.{k}={v}").unwrap();
    }
    writeln!(out, "jstack={}", info.jstack.as_deref().unwrap_or("null")).unwrap();
    // mqadmin's own checks on the answer, run by the Java program on two copies of it.
    writeln!(out, "isPushType=true").unwrap();
    writeln!(out, "analyzeSubscription=true").unwrap();
    out
}

#[test]
fn encoding_is_the_one_java_decoded() {
    let body = sample().encode().unwrap();
    if std::env::var_os("RUNNING_INFO_WRITE_FIXTURE").is_some() {
        std::fs::write(fixture("running_info.body"), &body).unwrap();
    }
    let checked = std::fs::read(fixture("running_info.body")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&checked),
        "the encoding changed: rerun tests/java/RunningInfoCheck.java on the new body"
    );
}

#[test]
fn java_read_back_every_field_we_wrote() {
    let printed = std::fs::read_to_string(fixture("running_info.java.txt")).unwrap();
    assert_eq!(printed, expected_java_printout(&sample()));
}

#[test]
fn queue_keyed_tables_use_fastjson_object_keys() {
    let mut info = ConsumerRunningInfo::default();
    info.mq_table
        .insert(MessageQueue::new("T", "b", 3), ProcessQueueInfo::default());
    let text = String::from_utf8(info.encode().unwrap()).unwrap();
    assert!(
        text.contains(r#""mqTable":{{"topic":"T","brokerName":"b","queueId":3}:{"commitOffset":0"#),
        "{text}"
    );
    assert!(text.contains(r#""mqPopTable":{}"#), "{text}");
    assert!(!text.contains("jstack"), "{text}");
}

#[test]
fn empty_info_is_plain_json_objects() {
    let text = String::from_utf8(ConsumerRunningInfo::default().encode().unwrap()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let expected: serde_json::Value = serde_json::json!({
        "mqPopTable": {}, "mqTable": {}, "properties": {}, "statusTable": {},
        "subscriptionSet": [], "userConsumerInfo": {}
    });
    assert_eq!(value, expected);
}
