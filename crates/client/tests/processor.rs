//! The client processor answering what a broker sends to a client: a scripted loopback
//! "broker" that the client connects to sends each request and checks the answers. The
//! script runs in the test itself (no peer task), so a failed check fails the test.

mod common;

use common::{broker_is_4x, cluster_admin, create_topic, started_producer, unique};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{read_frame, write_frame};
use rocketmq_client::consumer::offset_store::RemoteOffsetStore;
use rocketmq_client::instance::{ClientInstance, InstanceConfig};
use rocketmq_client::processor::{ClientProcessor, ConsumerHooks};
use rocketmq_client::OutgoingMessage;
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeMessageDirectlyResult, ConsumeResult, ConsumeType, ConsumerData,
    ConsumerRunningInfo, MessageModel, MessageQueue, ProcessQueueInfo, ResetOffsetBody,
    SubscriptionData,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    ConsumeMessageDirectlyResultRequestHeader, EncodeHeader, GetConsumerRunningInfoRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, ResetOffsetRequestHeader,
};
use rocketmq_remoting::message::{encode_stored, MessageExt, Properties, StoredMessage};
use rocketmq_remoting::{ExtFields, RemotingCommand};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Every wait ends after this long, so a broken client fails the test rather than hanging.
const PATIENCE: Duration = Duration::from_secs(10);

const GROUP: &str = "processor-group";

/// What the fake consumer was asked to do.
#[derive(Debug)]
enum Event {
    Rebalance,
    Reset(String, BTreeMap<MessageQueue, i64>),
    Consumed(Box<MessageExt>),
}

/// A consumer that reports every call and answers from fixed data.
struct FakeConsumer {
    events: mpsc::UnboundedSender<Event>,
    info: ConsumerRunningInfo,
    offsets: BTreeMap<MessageQueue, i64>,
}

impl ConsumerHooks for FakeConsumer {
    fn rebalance_soon(&self) {
        let _ = self.events.send(Event::Rebalance);
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        self.info.clone()
    }

    fn consume_message_directly(&self, message: MessageExt) -> ConsumeMessageDirectlyResult {
        let remark = format!("consumed {}", String::from_utf8_lossy(&message.body));
        let _ = self.events.send(Event::Consumed(Box::new(message)));
        ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result: ConsumeResult::CrLater,
            remark: Some(remark),
            spent_time_mills: 7,
        }
    }

    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        let _ = self.events.send(Event::Reset(topic.to_owned(), offsets));
    }

    fn consumer_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offsets
            .iter()
            .filter(|(q, _)| q.topic == topic)
            .map(|(q, o)| (q.clone(), *o))
            .collect()
    }
}

/// A consumer whose every hook panics.
struct PanickingConsumer;

impl ConsumerHooks for PanickingConsumer {
    fn rebalance_soon(&self) {
        panic!("rebalance hook broke");
    }
    fn running_info(&self) -> ConsumerRunningInfo {
        panic!("running info hook broke");
    }
    fn consume_message_directly(&self, _: MessageExt) -> ConsumeMessageDirectlyResult {
        panic!("consume hook broke");
    }
    fn reset_offset(&self, _: &str, _: BTreeMap<MessageQueue, i64>) {
        panic!("reset hook broke");
    }
}

fn running_info() -> ConsumerRunningInfo {
    let mut info = ConsumerRunningInfo::default();
    info.properties
        .insert("PROP_CONSUME_TYPE".into(), "CONSUME_PASSIVELY".into());
    info.mq_table.insert(
        MessageQueue::new("T", "broker-x", 1),
        ProcessQueueInfo {
            commit_offset: 42,
            ..ProcessQueueInfo::default()
        },
    );
    info
}

/// The "broker" end of a connection the client opened, plus the client side.
struct Broker {
    stream: TcpStream,
    buf: BytesMut,
    next_opaque: i32,
    instance: Arc<ClientInstance>,
    processor: Arc<ClientProcessor>,
    events: mpsc::UnboundedReceiver<Event>,
}

impl Broker {
    /// A client instance named `instance_name` with the processor installed and a fake
    /// consumer of `GROUP`, connected to a loopback listener that plays the broker.
    async fn connect(instance_name: &str) -> Broker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let config = InstanceConfig::new(&addr)
            .unwrap()
            .with_names(Some(instance_name), None);
        let instance = ClientInstance::acquire(config).await.unwrap();
        let processor = ClientProcessor::install(&instance);
        let (events_tx, events) = mpsc::unbounded_channel();
        processor
            .register(
                GROUP,
                Arc::new(FakeConsumer {
                    events: events_tx,
                    info: running_info(),
                    offsets: BTreeMap::from([
                        (MessageQueue::new("T", "broker-x", 0), 5),
                        (MessageQueue::new("Other", "broker-x", 0), 9),
                    ]),
                }),
            )
            .unwrap();
        // Any frame opens the connection; the broker then talks back on it.
        let hello = RemotingCommand::request(request::HEART_BEAT, ExtFields::new());
        instance.remoting().oneway(&addr, hello).await.unwrap();
        let (stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut broker = Broker {
            stream,
            buf: BytesMut::new(),
            next_opaque: 1000,
            instance,
            processor,
            events,
        };
        let first = broker.next_frame().await.expect("the client's first frame");
        assert_eq!(first.code, request::HEART_BEAT);
        broker
    }

    async fn next_frame(&mut self) -> Option<RemotingCommand> {
        tokio::time::timeout(PATIENCE, read_frame(&mut self.stream, &mut self.buf))
            .await
            .expect("the client answers in time")
    }

    /// Sends `command` as a request and returns the client's response to it. Any other
    /// frame before it (a response to a oneway request, say) fails the test.
    async fn ask(&mut self, mut command: RemotingCommand) -> RemotingCommand {
        self.next_opaque += 1;
        command.opaque = self.next_opaque;
        write_frame(&mut self.stream, &command).await;
        let answer = self.next_frame().await.expect("the client hung up");
        assert!(answer.is_response(), "{answer:?}");
        assert_eq!(answer.opaque, command.opaque, "{answer:?}");
        answer
    }

    /// Sends `command` oneway.
    async fn tell(&mut self, mut command: RemotingCommand) {
        self.next_opaque += 1;
        command.opaque = self.next_opaque;
        command.set_oneway();
        write_frame(&mut self.stream, &command).await;
    }

    async fn next_event(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("the consumer is called in time")
            .expect("the consumer is alive")
    }

    /// Proves the connection still serves: a running-info request is answered.
    async fn still_answers(&mut self) {
        let answer = self.ask(running_info_request(GROUP)).await;
        assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    }

    async fn close(self) {
        self.instance.release().await;
    }
}

fn running_info_request(group: &str) -> RemotingCommand {
    let header = GetConsumerRunningInfoRequestHeader {
        consumer_group: group.to_owned(),
        client_id: "127.0.0.1@x".into(),
        jstack_enable: Some(true),
    };
    RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO, header.to_ext_fields())
}

fn consume_directly_request(group: &str, body: Bytes) -> RemotingCommand {
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: group.to_owned(),
        client_id: Some("127.0.0.1@x".into()),
        msg_id: Some("7F00000100002A9F0000000000000000".into()),
        broker_name: Some("broker-x".into()),
        topic: Some("T".into()),
        topic_sys_flag: None,
        group_sys_flag: None,
    };
    RemotingCommand::request(request::CONSUME_MESSAGE_DIRECTLY, header.to_ext_fields())
        .with_body(body)
}

fn stored_message(body: &str) -> Bytes {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let message = StoredMessage {
        topic: "T".into(),
        flag: 0,
        properties: Properties::default(),
        body: body.as_bytes().to_vec(),
        queue_id: 1,
        queue_offset: 17,
        commit_log_offset: 4096,
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
    out.freeze()
}

fn notify_request(group: &str) -> RemotingCommand {
    let header = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: group.to_owned(),
    };
    RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED, header.to_ext_fields())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_info_is_the_groups_encoded_info_and_an_unknown_group_is_a_system_error() {
    let mut broker = Broker::connect("processor-running-info").await;

    let answer = broker.ask(running_info_request(GROUP)).await;
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    // jstackEnable is ignored: the answer is exactly the consumer's info.
    assert_eq!(&answer.body[..], &running_info().encode().unwrap()[..]);

    let answer = broker.ask(running_info_request("elsewhere")).await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    assert_eq!(
        answer.remark.as_deref(),
        Some("The Consumer Group <elsewhere> not exist in this consumer")
    );

    // Without its required header field the request cannot be served.
    let answer = broker
        .ask(RemotingCommand::request(
            request::GET_CONSUMER_RUNNING_INFO,
            ExtFields::new(),
        ))
        .await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    assert!(
        answer.remark.unwrap_or_default().contains("consumerGroup"),
        "the remark names the missing field"
    );

    // After unregistering, the group is unknown here.
    assert!(broker.processor.unregister(GROUP));
    assert!(!broker.processor.unregister(GROUP));
    let answer = broker.ask(running_info_request(GROUP)).await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    broker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_consumed_directly_reaches_the_consumer_and_its_result_is_answered() {
    let mut broker = Broker::connect("processor-consume-directly").await;

    let answer = broker
        .ask(consume_directly_request(GROUP, stored_message("hello")))
        .await;
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    let result = ConsumeMessageDirectlyResult::decode(&answer.body).unwrap();
    assert_eq!(result.consume_result, ConsumeResult::CrLater);
    assert_eq!(result.remark.as_deref(), Some("consumed hello"));
    assert_eq!(result.spent_time_mills, 7);
    assert!(result.auto_commit && !result.order);
    // The wire form carries Java's field names and enum name.
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(json["consumeResult"], "CR_LATER");
    assert_eq!(json["spentTimeMills"], 7);
    match broker.next_event().await {
        Event::Consumed(message) => {
            assert_eq!(message.topic, "T");
            assert_eq!(&message.body[..], b"hello");
            assert_eq!(message.queue_offset, 17);
            assert_eq!(message.broker_name, "broker-x");
        }
        other => panic!("expected the message, got {other:?}"),
    }

    let answer = broker
        .ask(consume_directly_request("elsewhere", stored_message("x")))
        .await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    assert_eq!(
        answer.remark.as_deref(),
        Some("The Consumer Group <elsewhere> not exist in this consumer")
    );

    // A body that is no stored message: an error answer, and the connection goes on.
    let answer = broker
        .ask(consume_directly_request(
            GROUP,
            Bytes::from_static(b"not a message"),
        ))
        .await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    broker.still_answers().await;
    assert!(broker.events.try_recv().is_err(), "nothing else consumed");
    broker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_notifications_reach_the_group_and_are_not_answered() {
    let mut broker = Broker::connect("processor-oneway").await;

    broker.tell(notify_request(GROUP)).await;
    assert!(matches!(broker.next_event().await, Event::Rebalance));

    // A group not consumed here is only logged.
    broker.tell(notify_request("elsewhere")).await;

    let queue = MessageQueue::new("T", "broker-x", 3);
    let reset = ResetOffsetRequestHeader {
        group: GROUP.into(),
        topic: "T".into(),
        timestamp: 1_700_000_000_000,
        is_force: true,
        queue_id: None,
        offset: None,
    };
    let body = ResetOffsetBody {
        offset_table: BTreeMap::from([(queue.clone(), 99)]),
    };
    broker
        .tell(
            RemotingCommand::request(request::RESET_CONSUMER_CLIENT_OFFSET, reset.to_ext_fields())
                .with_body(Bytes::from(body.encode_fastjson().unwrap())),
        )
        .await;
    match broker.next_event().await {
        Event::Reset(topic, offsets) => {
            assert_eq!(topic, "T");
            assert_eq!(offsets, BTreeMap::from([(queue, 99)]));
        }
        other => panic!("expected the reset, got {other:?}"),
    }

    // No answer went out for any oneway request: the next frame is the answer to this.
    broker.still_answers().await;
    assert!(
        broker.events.try_recv().is_err(),
        "the unknown group reached nobody"
    );
    broker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_consumer_is_answered_system_error_and_the_connection_survives() {
    let mut broker = Broker::connect("processor-panics").await;
    broker
        .processor
        .register("broken", Arc::new(PanickingConsumer))
        .unwrap();

    let answer = broker.ask(running_info_request("broken")).await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    let answer = broker
        .ask(consume_directly_request("broken", stored_message("x")))
        .await;
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    // Oneway requests whose hook panics get no answer either.
    broker.tell(notify_request("broken")).await;

    broker.still_answers().await;
    // A second registration of a group is refused; the first stays.
    assert!(broker
        .processor
        .register("broken", Arc::new(PanickingConsumer))
        .is_err());
    assert_eq!(broker.processor.groups(), vec!["broken", GROUP]);
    broker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_codes_stay_unsupported_and_consumer_status_lists_the_topics_offsets() {
    let mut broker = Broker::connect("processor-unknown").await;

    let answer = broker
        .ask(RemotingCommand::request(
            request::PUSH_REPLY_MESSAGE_TO_CLIENT,
            ExtFields::new(),
        ))
        .await;
    assert_eq!(answer.code, response::REQUEST_CODE_NOT_SUPPORTED);
    // An unknown oneway request is not answered (checked by the next answer's opaque).
    broker
        .tell(RemotingCommand::request(
            request::CHECK_TRANSACTION_STATE,
            ExtFields::new(),
        ))
        .await;

    let status = |group: &str| {
        let mut fields = ExtFields::new();
        fields.insert("topic".into(), "T".into());
        fields.insert("group".into(), group.to_owned());
        RemotingCommand::request(request::GET_CONSUMER_STATUS_FROM_CLIENT, fields)
    };
    let answer = broker.ask(status(GROUP)).await;
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    assert_eq!(
        std::str::from_utf8(&answer.body).unwrap(),
        r#"{"consumerTable":{},"messageQueueTable":{{"topic":"T","brokerName":"broker-x","queueId":0}:5}}"#
    );
    // Java answers an unknown group with an empty table.
    let answer = broker.ask(status("elsewhere")).await;
    assert_eq!(answer.code, response::SUCCESS);
    assert_eq!(
        std::str::from_utf8(&answer.body).unwrap(),
        r#"{"consumerTable":{},"messageQueueTable":{}}"#
    );
    broker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_twice_keeps_one_processor_per_instance() {
    let broker = Broker::connect("processor-install").await;
    let again = ClientProcessor::install(&broker.instance);
    assert!(Arc::ptr_eq(&again, &broker.processor));
    assert_eq!(again.groups(), vec![GROUP]);
    let other = ClientProcessor::new();
    assert!(!Arc::ptr_eq(&other, &again));
    broker.close().await;
}

// ---- against the real cluster ----

/// Java's `RequestCode.INVOKE_BROKER_TO_RESET_OFFSET` (what mqadmin resetOffsetByTime
/// sends to each broker); only this test uses it.
const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;

/// What `mqadmin consumerStatus` and `mqadmin consumeMessage` do: ask a broker about a
/// client of a group; the broker forwards the request to the client over the client's
/// own connection and returns the client's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn a_broker_forwards_admin_requests_to_our_consumer_and_returns_its_answers() {
    let admin = cluster_admin(&unique("processor-it"));
    let topic = unique("ProcessorTopic");
    let group = unique("processor-it-group");
    let brokers = create_topic(&admin, &topic, 1).await;
    let instance = admin.instance().await.unwrap();
    let processor = ClientProcessor::install(&instance);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut info = running_info();
    info.mq_table.insert(
        MessageQueue::new(topic.clone(), brokers[0].clone(), 0),
        ProcessQueueInfo {
            commit_offset: 3,
            ..ProcessQueueInfo::default()
        },
    );
    processor
        .register(
            &group,
            Arc::new(FakeConsumer {
                events: events_tx,
                info: info.clone(),
                offsets: BTreeMap::new(),
            }),
        )
        .unwrap();

    // The heartbeat makes the broker know our client in the group.
    let route = instance.routes().get(&topic).await.unwrap();
    let consumer_data = {
        let group = group.clone();
        let topic = topic.clone();
        move || ConsumerData {
            group_name: group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: vec![SubscriptionData::tag(topic.clone(), "*", 1)],
            unit_mode: false,
        }
    };
    instance
        .register_consumer(&group, Arc::new(consumer_data))
        .unwrap();
    assert!(instance.send_heartbeat_to_all_brokers().await >= brokers.len());
    let master = route.broker_datas[0].broker_addrs[&0].clone();

    let ask_running_info = |client_id: String| {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.clone(),
            client_id,
            jstack_enable: Some(false),
        };
        RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO, header.to_ext_fields())
    };
    let answer = instance
        .remoting()
        .request(
            &master,
            ask_running_info(instance.client_id().to_owned()),
            PATIENCE,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    assert_eq!(&answer.body[..], &info.encode().unwrap()[..]);

    // A client the broker does not know in the group: the broker answers by itself.
    let answer = instance
        .remoting()
        .request(
            &master,
            ask_running_info("10.9.9.9@nobody".into()),
            PATIENCE,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, response::SYSTEM_ERROR, "{answer:?}");
    assert_eq!(
        answer.remark.as_deref(),
        Some(format!("The Consumer <{group}> <10.9.9.9@nobody> not online").as_str())
    );

    // A group the broker knows us in but that has no hooks here: our SYSTEM_ERROR comes
    // back through the broker as we sent it.
    let silent = unique("processor-it-silent");
    let silent_data = {
        let silent = silent.clone();
        move || ConsumerData {
            group_name: silent.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: Vec::new(),
            unit_mode: false,
        }
    };
    instance
        .register_consumer(&silent, Arc::new(silent_data))
        .unwrap();
    assert!(instance.send_heartbeat_to_all_brokers().await >= brokers.len());
    let header = GetConsumerRunningInfoRequestHeader {
        consumer_group: silent.clone(),
        client_id: instance.client_id().to_owned(),
        jstack_enable: None,
    };
    let answer = instance
        .remoting()
        .request(
            &master,
            RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO, header.to_ext_fields()),
            PATIENCE,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, response::SYSTEM_ERROR, "{answer:?}");
    assert_eq!(
        answer.remark.as_deref(),
        Some(format!("The Consumer Group <{silent}> not exist in this consumer").as_str())
    );
    instance.unregister_consumer(&silent).await;

    // mqadmin consumeMessage: the broker reads the message by its offset id and hands it
    // to our consumer.
    let producer = started_producer(&unique("processor-it-producer"), "ProcessorITProducer").await;
    let sent = producer
        .send(OutgoingMessage {
            topic: topic.clone(),
            body: Bytes::from_static(b"direct"),
            ..OutgoingMessage::default()
        })
        .await
        .unwrap();
    producer.shutdown().await;
    let broker_addr = route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == sent.queue.broker_name)
        .unwrap()
        .broker_addrs[&0]
        .clone();
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: group.clone(),
        client_id: Some(instance.client_id().to_owned()),
        msg_id: Some(sent.offset_msg_id.clone()),
        broker_name: None,
        topic: Some(topic.clone()),
        topic_sys_flag: None,
        group_sys_flag: None,
    };
    let answer = instance
        .remoting()
        .request(
            &broker_addr,
            RemotingCommand::request(request::CONSUME_MESSAGE_DIRECTLY, header.to_ext_fields()),
            PATIENCE,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    let result = ConsumeMessageDirectlyResult::decode(&answer.body).unwrap();
    assert_eq!(result.remark.as_deref(), Some("consumed direct"));
    // The broker also told us, oneway, that the group's members changed (our heartbeat
    // joined it); wait for both, in whatever order they came.
    let (mut consumed, mut rebalanced) = (None, false);
    while consumed.is_none() || !rebalanced {
        match tokio::time::timeout(PATIENCE, events.recv()).await.unwrap() {
            Some(Event::Consumed(message)) => consumed = Some(message),
            Some(Event::Rebalance) => rebalanced = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    let message = consumed.unwrap();
    assert_eq!(message.topic, topic);
    assert_eq!(&message.body[..], b"direct");
    assert_eq!(message.offset_msg_id, sent.offset_msg_id);
    // The broker names itself in the forwarded header.
    assert_eq!(message.broker_name, sent.queue.broker_name);

    // mqadmin resetOffsetByTime (INVOKE_BROKER_TO_RESET_OFFSET, queueId -1 = all queues,
    // as mqadmin sends it): a 5.3.3 broker resets the group's offsets itself and answers
    // with the new table; no RESET_CONSUMER_CLIENT_OFFSET is needed from our side. A 4.x
    // broker refuses a queue the group never committed ("THe consumer group <..> not
    // exist"), so the group commits one first there, and it tells each member with
    // RESET_CONSUMER_CLIENT_OFFSET.
    let broker_4x = broker_is_4x();
    let queue = MessageQueue::new(topic.clone(), route.broker_datas[0].broker_name.clone(), 0);
    if broker_4x {
        RemoteOffsetStore::for_instance(&instance, group.clone())
            .update_broker_offset(&queue, 1)
            .await
            .unwrap();
    }
    let reset = ResetOffsetRequestHeader {
        group: group.clone(),
        topic: topic.clone(),
        timestamp: 0,
        is_force: true,
        queue_id: Some(-1),
        offset: None,
    };
    let answer = instance
        .remoting()
        .request(
            &master,
            RemotingCommand::request(INVOKE_BROKER_TO_RESET_OFFSET, reset.to_ext_fields()),
            PATIENCE,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, response::SUCCESS, "{answer:?}");
    let table = ResetOffsetBody::decode(&answer.body).unwrap().offset_table;
    assert_eq!(table, BTreeMap::from([(queue.clone(), 0)]));
    if broker_4x {
        loop {
            match tokio::time::timeout(PATIENCE, events.recv()).await.unwrap() {
                Some(Event::Reset(reset_topic, offsets)) => {
                    assert_eq!(reset_topic, topic);
                    assert_eq!(offsets, BTreeMap::from([(queue.clone(), 0)]));
                    break;
                }
                Some(Event::Rebalance) => {} // another members-changed notice
                other => {
                    panic!("expected the 4.x broker's RESET_CONSUMER_CLIENT_OFFSET: {other:?}")
                }
            }
        }
    }

    instance.unregister_consumer(&group).await;
    processor.unregister(&group);
    admin.close().await;
}
