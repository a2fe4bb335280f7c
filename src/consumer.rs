//! `NativeConsumer`: the engine's push consumer as a JavaScript class, with the listener in
//! JavaScript.
//!
//! The engine calls its listener once per batch of a queue, up to `consumeThreadNum` at a
//! time. Each call becomes a task queued here; one threadsafe-function call hands
//! JavaScript every task queued by the time it runs (see [`Completions`]), packed into one
//! Buffer rather than one object per message (see [`NativeConsumeTasks`]). JavaScript runs the listener for each task and hands the verdicts back in bulk
//! through [`NativeConsumer::settle`], which completes the engine's waiting futures.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, Function, Int32Array, Uint32Array};
use napi::{Env, Unknown};
use napi_derive::napi;
use rocketmq_client::acl::Credentials;
use rocketmq_client::consumer::allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateByMachineRoom,
    AllocateConsistentHash, AllocateStrategy,
};
use rocketmq_client::consumer::config_rules::{self, ranges, Range};
use rocketmq_client::consumer::orderly::{
    ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly, OrderlyFuture,
    OrderlyOutcome,
};
use rocketmq_client::consumer::push::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumeFuture, ConsumeOutcome, ConsumerEvent,
    ConsumerStats, ExpressionType, MessageListenerConcurrently, PushConsumer, PushConsumerConfig,
};
use rocketmq_client::ClientError;
use rocketmq_remoting::body::{ConsumeFromWhere, MessageModel, MessageQueue};
use rocketmq_remoting::message::MessageExt;
use tokio::sync::oneshot;

use crate::completions::Completions;
use crate::error::{js_error, Fallible, IntoFallible, NativeErrorFields};
use crate::metrics::{NativeHistogram, NativeQueueMetrics};
use crate::offset_store::NativeOffsetStore;
use crate::pending_verdicts::PendingVerdicts;
use crate::shared_bytes::SharedBytes;

/// Consumer settings; unset fields take the Java push consumer's defaults. Numbers arrive
/// as JavaScript numbers (f64) and are checked here, against the engine's ranges
/// (`config_rules`), before they are narrowed: the TypeScript layer checks only that each is
/// a number. Sizes are in bytes, times in milliseconds.
#[napi(object)]
pub struct NativeConsumerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    pub consumer_group: String,
    /// 'CLUSTERING' | 'BROADCASTING'.
    pub message_model: Option<String>,
    /// BROADCASTING only: the directory of the offsets files
    /// (`<dir>/<clientId>/<group>/offsets.json`). Default: `~/.rocketmq_offsets`.
    pub offset_store_dir: Option<String>,
    /// 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP'.
    pub consume_from_where: Option<String>,
    /// Milliseconds since the epoch, for CONSUME_FROM_TIMESTAMP. Default: half an hour ago.
    pub consume_timestamp_ms: Option<f64>,
    /// 'AVG' | 'AVG_BY_CIRCLE' | 'CONSISTENT_HASH' | 'CONFIG' | 'MACHINE_ROOM'.
    pub allocate_strategy: Option<String>,
    /// CONSISTENT_HASH: virtual nodes per consumer. Default 10.
    pub allocate_virtual_node_count: Option<f64>,
    /// CONFIG: the queues this consumer takes.
    pub allocate_queues: Option<Vec<NativeMessageQueue>>,
    /// MACHINE_ROOM: the rooms whose brokers this consumer shares.
    pub allocate_machine_rooms: Option<Vec<String>>,
    pub pull_batch_size: Option<f64>,
    pub pull_threshold_for_queue: Option<f64>,
    pub pull_threshold_size_for_queue_bytes: Option<f64>,
    /// Unset: no topic limit.
    pub pull_threshold_for_topic: Option<f64>,
    /// Unset: no topic limit.
    pub pull_threshold_size_for_topic_bytes: Option<f64>,
    /// Unset: no consumer-wide limit.
    pub pull_threshold_for_all: Option<f64>,
    /// Unset: no consumer-wide limit.
    pub pull_threshold_size_for_all_bytes: Option<f64>,
    /// A listener call running longer counts as failed. Default 15 minutes.
    pub consume_timeout_ms: Option<f64>,
    pub consume_concurrently_max_span: Option<f64>,
    pub consume_thread_num: Option<f64>,
    pub consume_message_batch_max_size: Option<f64>,
    pub persist_consumer_offset_interval_ms: Option<f64>,
    pub rebalance_interval_ms: Option<f64>,
    pub pull_interval_ms: Option<f64>,
    /// -1: the default, 16; for an orderly consumer unbounded (Java's Integer.MAX_VALUE).
    pub max_reconsume_times: Option<f64>,
    /// Orderly consumption (the listener is a `MessageListenerOrderly`): one call at a time per
    /// queue, in queue order, queues locked on their brokers when clustering. Default false.
    pub orderly: Option<bool>,
    /// Orderly: how long a suspended queue waits before its messages come again, unless
    /// the call's answer sets its own. Default 1000.
    pub suspend_current_queue_time_millis: Option<f64>,
    pub flow_control_interval_ms: Option<f64>,
    pub consumer_timeout_millis_when_suspend: Option<f64>,
    pub broker_suspend_max_time_millis: Option<f64>,
    pub consumer_timeout_millis_send_message: Option<f64>,
    /// Unset: each request's own budget.
    pub consumer_timeout_millis_of_request: Option<f64>,
    pub enable_auto_commit: Option<bool>,
    pub enable_message_trace: Option<bool>,
    pub customized_trace_topic: Option<String>,
    pub enable_message_compression: Option<bool>,
    pub compress_msg_body_over_howmuch: Option<f64>,
    pub retry_times_when_send_async_failed: Option<f64>,
    pub offset_store_retry_times: Option<f64>,
    pub instance_name: Option<String>,
    pub unit_name: Option<String>,
    /// ACL access key; with `secret_key` every request is signed (see `crates/client/src/acl.rs`).
    pub access_key: Option<String>,
    /// ACL secret key. Never logged, never in an error message.
    pub secret_key: Option<String>,
    /// ACL security token (temporary credentials); only with the two keys.
    pub security_token: Option<String>,
    /// TLS for every connection (see `src/tls.rs`); unset for plain TCP.
    pub tls: Option<crate::tls::NativeTls>,
    /// Java's `namespace`: resources are `<namespace>%<name>` on the brokers, bare here.
    pub namespace: Option<String>,
}

/// A message queue: topic, broker and queue id.
#[napi(object)]
#[derive(Clone)]
pub struct NativeMessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl From<MessageQueue> for NativeMessageQueue {
    fn from(mq: MessageQueue) -> Self {
        NativeMessageQueue {
            topic: mq.topic,
            broker_name: mq.broker_name,
            queue_id: mq.queue_id,
        }
    }
}

impl From<NativeMessageQueue> for MessageQueue {
    fn from(mq: NativeMessageQueue) -> Self {
        MessageQueue::new(mq.topic, mq.broker_name, mq.queue_id)
    }
}

fn parse_message_model(name: Option<&str>) -> Result<MessageModel, ClientError> {
    match name.unwrap_or("CLUSTERING") {
        "CLUSTERING" => Ok(MessageModel::Clustering),
        "BROADCASTING" => Ok(MessageModel::Broadcasting),
        other => Err(ClientError::Config(format!(
            "unknown messageModel {other:?}"
        ))),
    }
}

fn parse_consume_from_where(name: Option<&str>) -> Result<ConsumeFromWhere, ClientError> {
    match name.unwrap_or("CONSUME_FROM_LAST_OFFSET") {
        "CONSUME_FROM_LAST_OFFSET" => Ok(ConsumeFromWhere::ConsumeFromLastOffset),
        "CONSUME_FROM_FIRST_OFFSET" => Ok(ConsumeFromWhere::ConsumeFromFirstOffset),
        "CONSUME_FROM_TIMESTAMP" => Ok(ConsumeFromWhere::ConsumeFromTimestamp),
        other => Err(ClientError::Config(format!(
            "unknown consumeFromWhere {other:?}"
        ))),
    }
}

fn allocate_strategy(
    config: &NativeConsumerConfig,
) -> Result<Arc<dyn AllocateStrategy>, ClientError> {
    Ok(match config.allocate_strategy.as_deref().unwrap_or("AVG") {
        "AVG" => Arc::new(AllocateAveragely),
        "AVG_BY_CIRCLE" => Arc::new(AllocateAveragelyByCircle),
        "CONSISTENT_HASH" => Arc::new(AllocateConsistentHash::new(
            match config.allocate_virtual_node_count {
                Some(n) => ranges::ALLOCATE_VIRTUAL_NODE_COUNT.integer(n)? as u32,
                None => 10,
            },
        )),
        "CONFIG" => {
            let queues = config.allocate_queues.clone().unwrap_or_default();
            for queue in &queues {
                config_rules::config_topic("allocateStrategy.queues[].topic", &queue.topic)?;
                ranges::ALLOCATE_QUEUE_ID.check(queue.queue_id.into())?;
            }
            // The queues as given (bare topics) as the brokers know them.
            Arc::new(AllocateByConfig::new(
                queues
                    .into_iter()
                    .map(|q| {
                        let mut mq = MessageQueue::from(q);
                        mq.topic = rocketmq_client::namespace::wrap(
                            config.namespace.as_deref(),
                            &mq.topic,
                        );
                        mq
                    })
                    .collect(),
            ))
        }
        "MACHINE_ROOM" => Arc::new(AllocateByMachineRoom::new(
            config.allocate_machine_rooms.clone().unwrap_or_default(),
        )),
        other => {
            return Err(ClientError::Config(format!(
                "unknown allocateStrategy {other:?}"
            )))
        }
    })
}

fn parse_expression_type(name: &str) -> Result<ExpressionType, ClientError> {
    match name {
        "TAG" => Ok(ExpressionType::Tag),
        "SQL92" => Ok(ExpressionType::Sql92),
        other => Err(ClientError::Config(format!(
            "unknown expression type {other:?}"
        ))),
    }
}

/// A whole number in `range`, else `default` when unset.
fn number(value: Option<f64>, range: Range, default: i64) -> Result<i64, ClientError> {
    value.map_or(Ok(default), |v| range.integer(v))
}

/// An optional whole number in `range`.
fn optional(value: Option<f64>, range: Range) -> Result<Option<u64>, ClientError> {
    value
        .map(|v| range.integer(v).map(|n| n as u64))
        .transpose()
}

/// Milliseconds in `range`, else `default` when unset.
fn millis(value: Option<f64>, range: Range, default: Duration) -> Result<Duration, ClientError> {
    let default_ms = i64::try_from(default.as_millis()).unwrap_or(i64::MAX);
    number(value, range, default_ms).map(|ms| Duration::from_millis(ms as u64))
}

/// The engine's configuration of `config`. Every number is checked against its range first
/// (so the value named in an error is the one given); `PushConsumerConfig::validate`
/// checks the rest when the consumer is made, or in [`check_consumer_config`].
// `..d` although every field is set today: a setting the engine gains takes its default
// until the binding exposes it.
#[allow(clippy::needless_update)]
fn engine_config(config: &NativeConsumerConfig) -> Result<PushConsumerConfig, ClientError> {
    let d = PushConsumerConfig::default();
    let max_reconsume_times = number(
        config.max_reconsume_times,
        ranges::MAX_RECONSUME_TIMES,
        d.max_reconsume_times.into(),
    )? as i32;
    Ok(PushConsumerConfig {
        group: config.consumer_group.clone(),
        namesrv_addr: config.namesrv_addr.clone(),
        instance_name: config.instance_name.clone(),
        unit_name: config.unit_name.clone(),
        namespace: config.namespace.clone(),
        credentials: Credentials::from_settings(
            config.access_key.as_deref(),
            config.secret_key.as_deref(),
            config.security_token.as_deref(),
        )?,
        tls: crate::tls::tls_config(config.tls.as_ref())?,
        message_model: parse_message_model(config.message_model.as_deref())?,
        offset_store_dir: config.offset_store_dir.as_ref().map(PathBuf::from),
        consume_from_where: parse_consume_from_where(config.consume_from_where.as_deref())?,
        consume_timestamp_ms: config
            .consume_timestamp_ms
            .map(|ms| ranges::CONSUME_TIMESTAMP.integer(ms))
            .transpose()?,
        allocate_strategy: allocate_strategy(config)?,
        pull_batch_size: number(
            config.pull_batch_size,
            ranges::PULL_BATCH_SIZE,
            d.pull_batch_size.into(),
        )? as i32,
        pull_threshold_for_queue: number(
            config.pull_threshold_for_queue,
            ranges::PULL_THRESHOLD_FOR_QUEUE,
            d.pull_threshold_for_queue as i64,
        )? as u64,
        pull_threshold_size_for_queue: number(
            config.pull_threshold_size_for_queue_bytes,
            ranges::PULL_THRESHOLD_SIZE_FOR_QUEUE,
            d.pull_threshold_size_for_queue as i64,
        )? as u64,
        pull_threshold_for_topic: optional(
            config.pull_threshold_for_topic,
            ranges::PULL_THRESHOLD_FOR_TOPIC,
        )?,
        pull_threshold_size_for_topic: optional(
            config.pull_threshold_size_for_topic_bytes,
            ranges::PULL_THRESHOLD_SIZE_FOR_TOPIC,
        )?,
        pull_threshold_for_all: optional(
            config.pull_threshold_for_all,
            ranges::PULL_THRESHOLD_FOR_ALL,
        )?,
        pull_threshold_size_for_all: optional(
            config.pull_threshold_size_for_all_bytes,
            ranges::PULL_THRESHOLD_SIZE_FOR_ALL,
        )?,
        consume_timeout: millis(
            config.consume_timeout_ms,
            ranges::CONSUME_TIMEOUT,
            d.consume_timeout,
        )?,
        consume_concurrently_max_span: number(
            config.consume_concurrently_max_span,
            ranges::CONSUME_CONCURRENTLY_MAX_SPAN,
            d.consume_concurrently_max_span,
        )?,
        consume_thread_num: number(
            config.consume_thread_num,
            ranges::CONSUME_THREAD_NUM,
            d.consume_thread_num as i64,
        )? as usize,
        consume_message_batch_max_size: number(
            config.consume_message_batch_max_size,
            ranges::CONSUME_MESSAGE_BATCH_MAX_SIZE,
            d.consume_message_batch_max_size as i64,
        )? as usize,
        persist_consumer_offset_interval: millis(
            config.persist_consumer_offset_interval_ms,
            ranges::PERSIST_CONSUMER_OFFSET_INTERVAL,
            d.persist_consumer_offset_interval,
        )?,
        rebalance_interval: millis(
            config.rebalance_interval_ms,
            ranges::REBALANCE_INTERVAL,
            d.rebalance_interval,
        )?,
        pull_interval: millis(
            config.pull_interval_ms,
            ranges::PULL_INTERVAL,
            d.pull_interval,
        )?,
        // Java reads -1 as "the default": 16 for concurrent listeners, unbounded for orderly
        // ones (the engine's orderly rules read -1 so).
        max_reconsume_times: if max_reconsume_times == -1 && !config.orderly.unwrap_or(false) {
            d.max_reconsume_times
        } else {
            max_reconsume_times
        },
        flow_control_interval: millis(
            config.flow_control_interval_ms,
            ranges::FLOW_CONTROL_INTERVAL,
            d.flow_control_interval,
        )?,
        consumer_timeout_when_suspend: millis(
            config.consumer_timeout_millis_when_suspend,
            ranges::CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND,
            d.consumer_timeout_when_suspend,
        )?,
        broker_suspend_max_time: millis(
            config.broker_suspend_max_time_millis,
            ranges::BROKER_SUSPEND_MAX_TIME_MILLIS,
            d.broker_suspend_max_time,
        )?,
        consumer_timeout_send_message: millis(
            config.consumer_timeout_millis_send_message,
            ranges::CONSUMER_TIMEOUT_MILLIS_SEND_MESSAGE,
            d.consumer_timeout_send_message,
        )?,
        consumer_timeout_of_request: optional(
            config.consumer_timeout_millis_of_request,
            ranges::CONSUMER_TIMEOUT_MILLIS_OF_REQUEST,
        )?
        .map(Duration::from_millis),
        suspend_current_queue_time: millis(
            config.suspend_current_queue_time_millis,
            ranges::SUSPEND_CURRENT_QUEUE_TIME_MILLIS,
            d.suspend_current_queue_time,
        )?,
        auto_commit: config.enable_auto_commit.unwrap_or(d.auto_commit),
        enable_message_trace: config
            .enable_message_trace
            .unwrap_or(d.enable_message_trace),
        customized_trace_topic: config.customized_trace_topic.clone(),
        enable_message_compression: config
            .enable_message_compression
            .unwrap_or(d.enable_message_compression),
        compress_msg_body_over: number(
            config.compress_msg_body_over_howmuch,
            ranges::COMPRESS_MSG_BODY_OVER_HOWMUCH,
            d.compress_msg_body_over as i64,
        )? as usize,
        send_back_retry_times: number(
            config.retry_times_when_send_async_failed,
            ranges::RETRY_TIMES_WHEN_SEND_ASYNC_FAILED,
            d.send_back_retry_times.into(),
        )? as u32,
        offset_store_retry_times: number(
            config.offset_store_retry_times,
            ranges::OFFSET_STORE_RETRY_TIMES,
            d.offset_store_retry_times.into(),
        )? as u32,
        // JavaScript runs `consumeThreadNum` calls at once and times them out itself
        // (lib/consume-dispatch.ts), so a crossing carries every batch that is ready.
        listener_limits_calls: true,
        ..d
    })
}

/// Checks a consumer configuration as the engine would when the consumer is made: every
/// range and rule (`config_rules`), nothing connected. Throws a ConfigError naming the
/// setting, its value and the rule.
#[napi(ts_return_type = "void")]
pub fn check_consumer_config(config: NativeConsumerConfig) -> Fallible<()> {
    engine_config(&config)
        .and_then(|engine| engine.validate())
        .fallible()
}

/// The engine's defaults, in the native form (bytes, milliseconds); unset fields have no
/// default. The TypeScript defaults are tested against these.
#[napi]
pub fn consumer_defaults() -> NativeConsumerConfig {
    let d = PushConsumerConfig::default();
    let ms = |duration: Duration| duration.as_millis() as f64;
    NativeConsumerConfig {
        namesrv_addr: d.namesrv_addr,
        consumer_group: d.group,
        message_model: Some(message_model_name(d.message_model).to_owned()),
        offset_store_dir: None,
        consume_from_where: Some(consume_from_where_name(d.consume_from_where).to_owned()),
        consume_timestamp_ms: None,
        allocate_strategy: Some(d.allocate_strategy.name().to_owned()),
        allocate_virtual_node_count: None,
        allocate_queues: None,
        allocate_machine_rooms: None,
        pull_batch_size: Some(d.pull_batch_size.into()),
        pull_threshold_for_queue: Some(d.pull_threshold_for_queue as f64),
        pull_threshold_size_for_queue_bytes: Some(d.pull_threshold_size_for_queue as f64),
        pull_threshold_for_topic: d.pull_threshold_for_topic.map(|n| n as f64),
        pull_threshold_size_for_topic_bytes: d.pull_threshold_size_for_topic.map(|n| n as f64),
        pull_threshold_for_all: d.pull_threshold_for_all.map(|n| n as f64),
        pull_threshold_size_for_all_bytes: d.pull_threshold_size_for_all.map(|n| n as f64),
        consume_timeout_ms: Some(ms(d.consume_timeout)),
        consume_concurrently_max_span: Some(d.consume_concurrently_max_span as f64),
        consume_thread_num: Some(d.consume_thread_num as f64),
        consume_message_batch_max_size: Some(d.consume_message_batch_max_size as f64),
        persist_consumer_offset_interval_ms: Some(ms(d.persist_consumer_offset_interval)),
        rebalance_interval_ms: Some(ms(d.rebalance_interval)),
        pull_interval_ms: Some(ms(d.pull_interval)),
        // Java's default: "unset", which the engine reads per listener kind.
        max_reconsume_times: Some(-1.0),
        orderly: Some(false),
        suspend_current_queue_time_millis: Some(ms(d.suspend_current_queue_time)),
        flow_control_interval_ms: Some(ms(d.flow_control_interval)),
        consumer_timeout_millis_when_suspend: Some(ms(d.consumer_timeout_when_suspend)),
        broker_suspend_max_time_millis: Some(ms(d.broker_suspend_max_time)),
        consumer_timeout_millis_send_message: Some(ms(d.consumer_timeout_send_message)),
        consumer_timeout_millis_of_request: d.consumer_timeout_of_request.map(ms),
        enable_auto_commit: Some(d.auto_commit),
        enable_message_trace: Some(d.enable_message_trace),
        customized_trace_topic: d.customized_trace_topic,
        enable_message_compression: Some(d.enable_message_compression),
        compress_msg_body_over_howmuch: Some(d.compress_msg_body_over as f64),
        retry_times_when_send_async_failed: Some(d.send_back_retry_times.into()),
        offset_store_retry_times: Some(d.offset_store_retry_times.into()),
        instance_name: d.instance_name,
        unit_name: d.unit_name,
        access_key: None,
        secret_key: None,
        security_token: None,
        tls: None,
        namespace: None,
    }
}

fn message_model_name(model: MessageModel) -> &'static str {
    match model {
        MessageModel::Clustering => "CLUSTERING",
        MessageModel::Broadcasting => "BROADCASTING",
    }
}

fn consume_from_where_name(from: ConsumeFromWhere) -> &'static str {
    match from {
        ConsumeFromWhere::ConsumeFromFirstOffset => "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromWhere::ConsumeFromTimestamp => "CONSUME_FROM_TIMESTAMP",
        _ => "CONSUME_FROM_LAST_OFFSET",
    }
}

/// The engine's counters; counts are f64 so they never wrap (exact up to 2^53).
#[napi(object)]
pub struct NativeConsumerStats {
    pub messages_held: f64,
    pub bytes_held: f64,
    pub max_messages_held_by_a_queue: f64,
    pub queues_held: f64,
    pub consumed_ok: f64,
    pub consumed_failed: f64,
    pub sent_back: f64,
    pub consumed_again_locally: f64,
    pub dropped_after_failure: f64,
    pub malformed_skipped: f64,
    pub flow_control_pauses: f64,
    pub pulls: f64,
    pub pull_errors: f64,
    pub offset_persist_count: f64,
    pub offset_persist_failures: f64,
    pub offset_persist_success_rate: f64,
    pub offset_avg_persist_latency_ms: f64,
    pub offset_cache_hits: f64,
    pub offset_cache_misses: f64,
    pub offset_cache_hit_rate: f64,
    pub pull_latency: NativeHistogram,
    pub listener_latency: NativeHistogram,
}

impl From<ConsumerStats> for NativeConsumerStats {
    fn from(s: ConsumerStats) -> Self {
        let o = s.offset_store;
        NativeConsumerStats {
            messages_held: s.messages_held as f64,
            bytes_held: s.bytes_held as f64,
            max_messages_held_by_a_queue: s.max_messages_held_by_a_queue as f64,
            queues_held: s.queues_held as f64,
            consumed_ok: s.consumed_ok as f64,
            consumed_failed: s.consumed_failed as f64,
            sent_back: s.sent_back as f64,
            consumed_again_locally: s.consumed_again_locally as f64,
            dropped_after_failure: s.dropped_after_failure as f64,
            malformed_skipped: s.malformed_skipped as f64,
            flow_control_pauses: s.flow_control_pauses as f64,
            pulls: s.pulls as f64,
            pull_errors: s.pull_errors as f64,
            offset_persist_count: o.persist_count as f64,
            offset_persist_failures: o.persist_failures as f64,
            offset_persist_success_rate: o.persist_success_rate,
            offset_avg_persist_latency_ms: o.avg_persist_latency_ms,
            offset_cache_hits: o.cache_hits as f64,
            offset_cache_misses: o.cache_misses as f64,
            offset_cache_hit_rate: o.cache_hit_rate,
            pull_latency: s.pull_latency.into(),
            listener_latency: s.listener_latency.into(),
        }
    }
}

/// One event of a running consumer.
#[napi(object)]
pub struct NativeConsumerEvent {
    /// 'rebalanced' | 'offsetsPersisted' | 'pullFailed' | 'rebalanceFailed'.
    pub kind: String,
    /// 'rebalanced': every queue held now.
    pub queues: Option<Vec<NativeMessageQueue>>,
    /// 'offsetsPersisted': how many queues' offsets were written.
    pub count: Option<u32>,
    /// 'pullFailed': the queue whose pull failed.
    pub queue: Option<NativeMessageQueue>,
    /// 'rebalanceFailed': the topic not rebalanced.
    pub topic: Option<String>,
    /// 'pullFailed' | 'rebalanceFailed': why.
    pub error: Option<NativeErrorFields>,
}

impl NativeConsumerEvent {
    fn of_kind(kind: &str) -> Self {
        NativeConsumerEvent {
            kind: kind.to_owned(),
            queues: None,
            count: None,
            queue: None,
            topic: None,
            error: None,
        }
    }
}

/// Events handed to JavaScript together.
#[napi(object)]
pub struct NativeConsumerEvents {
    pub events: Vec<NativeConsumerEvent>,
}

impl From<Vec<ConsumerEvent>> for NativeConsumerEvents {
    fn from(events: Vec<ConsumerEvent>) -> Self {
        let events = events
            .into_iter()
            .map(|event| match event {
                ConsumerEvent::Rebalanced { queues } => NativeConsumerEvent {
                    queues: Some(queues.into_iter().map(NativeMessageQueue::from).collect()),
                    ..NativeConsumerEvent::of_kind("rebalanced")
                },
                ConsumerEvent::OffsetsPersisted { queues } => NativeConsumerEvent {
                    count: Some(u32::try_from(queues).unwrap_or(u32::MAX)),
                    ..NativeConsumerEvent::of_kind("offsetsPersisted")
                },
                ConsumerEvent::PullFailed { queue, error } => NativeConsumerEvent {
                    queue: Some(queue.into()),
                    error: Some((&error).into()),
                    ..NativeConsumerEvent::of_kind("pullFailed")
                },
                ConsumerEvent::RebalanceFailed { topic, error } => NativeConsumerEvent {
                    topic: Some(topic),
                    error: Some((&error).into()),
                    ..NativeConsumerEvent::of_kind("rebalanceFailed")
                },
            })
            .collect();
        NativeConsumerEvents { events }
    }
}

/// One listener call waiting for JavaScript.
pub struct ConsumeTask {
    id: u32,
    queue: MessageQueue,
    messages: Vec<Arc<MessageExt>>,
    /// The consumer's namespace: the messages' topics are shown without it.
    namespace: Option<String>,
}

/// `queue` as JavaScript sees it: its topic without the consumer's namespace.
fn shown_queue(namespace: Option<&str>, mut queue: MessageQueue) -> MessageQueue {
    // Without a namespace the queue is shown as it is, with no copy of its topic (this
    // runs for every listener call).
    if rocketmq_client::namespace::effective(namespace).is_some() {
        queue.topic = rocketmq_client::namespace::unwrap(namespace, &queue.topic);
    }
    queue
}

/// `event` as JavaScript sees it: every topic without the consumer's namespace.
fn shown_event(namespace: Option<&str>, event: ConsumerEvent) -> ConsumerEvent {
    match event {
        ConsumerEvent::Rebalanced { queues } => ConsumerEvent::Rebalanced {
            queues: queues
                .into_iter()
                .map(|q| shown_queue(namespace, q))
                .collect(),
        },
        ConsumerEvent::PullFailed { queue, error } => ConsumerEvent::PullFailed {
            queue: shown_queue(namespace, queue),
            error: rocketmq_client::namespace::shown_error(namespace, error),
        },
        ConsumerEvent::RebalanceFailed { topic, error } => ConsumerEvent::RebalanceFailed {
            topic: rocketmq_client::namespace::unwrap(namespace, &topic),
            error: rocketmq_client::namespace::shown_error(namespace, error),
        },
        other => other,
    }
}

/// Bytes of the batch header: task count, message count (u32 each).
const HEADER_BYTES: usize = 8;
/// Bytes per task: id, message count, topic and broker name (string indexes), queue id.
const TASK_BYTES: usize = 20;
/// Bytes per message record; the field offsets are in `lib/consumed-message.ts`.
const RECORD_BYTES: usize = 80;

/// What one crossing into JavaScript carries at most: about 4 MiB of messages (the first
/// task past it included); the tasks after it cross next. Unbounded, a crossing carried every
/// task ready, and with large bodies one buffer of tens of MB was allocated afresh each time:
/// the kernel zeroing those fresh pages cost more than everything else the consumer did
/// (bench/findings.md).
const CROSSING_BUDGET: crate::completions::Budget<ConsumeTask> = crate::completions::Budget {
    weigh: ConsumeTask::crossing_bytes,
    max: 4 << 20,
};

/// Bodies of at least this size cross as Buffers over the engine's own memory instead of
/// being copied into the crossing: for large bodies the copy, and the fresh pages it wrote
/// to, cost more than the Buffer (bench/findings.md); for small ones the other way round.
const SHARED_BODY_MIN: usize = 8 << 10;

/// Whether `body` crosses as a Buffer of its own (see [`SHARED_BODY_MIN`]).
fn crosses_shared(body: &[u8]) -> bool {
    body.len() >= SHARED_BODY_MIN
}

/// The bytes of `body` copied into a crossing's data: none when it crosses on its own.
fn copied_body_len(body: &[u8]) -> usize {
    if crosses_shared(body) {
        0
    } else {
        body.len()
    }
}

impl ConsumeTask {
    /// About the bytes this task adds to a crossing: its copied bodies, and a record and
    /// some properties per message.
    fn crossing_bytes(&self) -> usize {
        self.messages
            .iter()
            .map(|m| copied_body_len(&m.body) + RECORD_BYTES + 128)
            .sum()
    }
}

/// Listener tasks for JavaScript, packed into one Buffer so that a crossing costs a handful
/// of Node-API calls whatever its size (each typed array or string made through Node-API
/// is a call, and an external buffer a finalizer). Little-endian layout:
///
/// - header: task count u32, message count u32;
/// - per task (`TASK_BYTES`): id u32, message count u32, topic u32, broker name u32,
///   queue id i32 — the queue its messages were pulled from;
/// - per message (`RECORD_BYTES`): topic u32 (the original topic of a retried message),
///   broker name u32, queue id i32, reconsume times i32, flag i32, born host u32, store
///   host u32, data start u32, body length u32, properties length u32, offset-msg-id
///   length u32, shared body u32, queue offset i64, commit-log offset i64, born timestamp
///   f64, store timestamp f64;
/// - data: per message its body (unless shared), its properties in the wire form
///   (`name\u0001value\u0002`) and its offset msg id, back to back.
///
/// Strings that repeat (topics, broker names, hosts) are indexes into `strings`. A body of
/// [`SHARED_BODY_MIN`] bytes or more is not in the data: "shared body" is its index in
/// `bodies` plus one (0 for a body in the data).
#[napi(object, object_from_js = false)]
pub struct NativeConsumeTasks {
    pub packed: Buffer,
    pub strings: Vec<String>,
    #[napi(ts_type = "Buffer[]")]
    pub bodies: Vec<SharedBytes>,
}

/// Gives each distinct string one index.
#[derive(Default)]
struct StringTable {
    index: HashMap<String, u32>,
    strings: Vec<String>,
    /// Hosts seen in this batch: a message's hosts are mostly those of the one before, and
    /// comparing addresses is cheaper than formatting and hashing them.
    hosts: Vec<(std::net::SocketAddr, u32)>,
}

/// Up to this many distinct strings a crossing looks them up by comparing, not hashing: a
/// crossing mostly holds one or two topics, a broker name or two and a few hosts, and
/// hashing a topic and a broker name per message cost more than comparing them.
const STRINGS_COMPARED: usize = 8;

impl StringTable {
    fn intern(&mut self, value: &str) -> u32 {
        if self.strings.len() <= STRINGS_COMPARED {
            if let Some(i) = self.strings.iter().position(|s| s == value) {
                return i as u32;
            }
        } else if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.index.insert(value.to_owned(), i);
        self.strings.push(value.to_owned());
        i
    }

    fn host(&mut self, addr: std::net::SocketAddr) -> u32 {
        if let Some(&(_, i)) = self.hosts.iter().find(|(a, _)| *a == addr) {
            return i;
        }
        let i = self.intern(&addr.to_string());
        self.hosts.push((addr, i));
        i
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Lengths stay far below 4 GiB (a message is at most a few MiB); saturate rather than wrap.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl From<Vec<ConsumeTask>> for NativeConsumeTasks {
    fn from(tasks: Vec<ConsumeTask>) -> Self {
        let messages = || tasks.iter().flat_map(|t| t.messages.iter());
        let n = messages().count();
        let data_bytes: usize = messages()
            .map(|m| copied_body_len(&m.body) + m.offset_msg_id.len() + m.properties.wire_len())
            .sum();
        let fixed = HEADER_BYTES + TASK_BYTES * tasks.len() + RECORD_BYTES * n;
        // One allocation for the whole crossing: the fixed part is written into `packed`
        // (small), the bodies and properties straight into `data`, which already holds room
        // for the fixed part at its front. Building `data` apart and appending it copied every
        // body twice into fresh memory, and with large bodies the kernel's zeroing of those
        // fresh pages was most of the consumer's CPU (bench/findings.md).
        let mut packed = Vec::with_capacity(fixed);
        let mut data = Vec::with_capacity(fixed + data_bytes);
        data.resize(fixed, 0);
        let mut strings = StringTable::default();
        let mut bodies = Vec::new();

        put_u32(&mut packed, len_u32(tasks.len()));
        put_u32(&mut packed, len_u32(n));
        for task in &tasks {
            put_u32(&mut packed, task.id);
            put_u32(&mut packed, len_u32(task.messages.len()));
            put_u32(&mut packed, strings.intern(&task.queue.topic));
            put_u32(&mut packed, strings.intern(&task.queue.broker_name));
            put_i32(&mut packed, task.queue.queue_id);
        }
        let namespace = tasks
            .first()
            .and_then(|t| rocketmq_client::namespace::effective(t.namespace.as_deref()));
        for m in messages() {
            let start = data.len();
            let shared = if crosses_shared(&m.body) {
                bodies.push(SharedBytes(m.body.clone()));
                len_u32(bodies.len())
            } else {
                data.extend_from_slice(&m.body);
                0
            };
            // Unsorted, unlike the wire encoder: JavaScript reads them into an object.
            let properties_len = m.properties.write_wire(&mut data);
            data.extend_from_slice(m.offset_msg_id.as_bytes());

            // No allocation per message without a namespace (the common case).
            let shown_topic;
            let topic = match namespace {
                Some(ns) => {
                    shown_topic = rocketmq_client::namespace::unwrap(Some(ns), &m.topic);
                    &shown_topic
                }
                None => &m.topic,
            };
            put_u32(&mut packed, strings.intern(topic));
            put_u32(&mut packed, strings.intern(&m.broker_name));
            put_i32(&mut packed, m.queue_id);
            put_i32(&mut packed, m.reconsume_times);
            put_i32(&mut packed, m.flag);
            put_u32(&mut packed, strings.host(m.born_host));
            put_u32(&mut packed, strings.host(m.store_host));
            put_u32(&mut packed, len_u32(start));
            put_u32(&mut packed, len_u32(m.body.len()));
            put_u32(&mut packed, len_u32(properties_len));
            put_u32(&mut packed, len_u32(m.offset_msg_id.len()));
            put_u32(&mut packed, shared);
            put_i64(&mut packed, m.queue_offset);
            put_i64(&mut packed, m.commit_log_offset);
            // Milliseconds since the epoch are exact in an f64 (below 2^53).
            put_f64(&mut packed, m.born_timestamp as f64);
            put_f64(&mut packed, m.store_timestamp as f64);
        }
        debug_assert_eq!(packed.len(), fixed);
        data[..fixed].copy_from_slice(&packed);
        NativeConsumeTasks {
            packed: data.into(),
            strings: strings.strings,
            bodies,
        }
    }
}

/// The engine's listener: queues each call as a task for JavaScript and waits for its
/// verdict from [`NativeConsumer::settle`].
struct JsListener {
    /// The consumer's namespace, removed from the topics JavaScript sees.
    namespace: Option<String>,
    tasks: Completions<ConsumeTask, NativeConsumeTasks>,
    waiting: Mutex<PendingVerdicts<oneshot::Sender<JsVerdict>>>,
}

/// A verdict as JavaScript settles it (see [`NativeConsumer::settle`]); each listener kind
/// reads it its own way.
#[derive(Debug, Clone, Copy)]
struct JsVerdict {
    status: u32,
    value: i32,
}

impl JsVerdict {
    /// What a concurrent listener said: success, else consume later with `value` as the
    /// delay level.
    fn concurrent(self) -> ConsumeOutcome {
        ConsumeOutcome {
            status: if self.status == SETTLE_SUCCESS {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            } else {
                ConsumeConcurrentlyStatus::ReconsumeLater
            },
            delay_level: self.value,
        }
    }

    /// What an orderly listener said: the status in the low bits, [`SETTLE_MANUAL_COMMIT`]
    /// when its context's autoCommit was false, `value` the context's suspend time.
    fn orderly(self) -> OrderlyOutcome {
        let status = match self.status & !SETTLE_MANUAL_COMMIT {
            SETTLE_SUCCESS => ConsumeOrderlyStatus::Success,
            SETTLE_COMMIT => ConsumeOrderlyStatus::Commit,
            SETTLE_ROLLBACK => ConsumeOrderlyStatus::Rollback,
            _ => ConsumeOrderlyStatus::SuspendCurrentQueueAMoment,
        };
        OrderlyOutcome {
            status,
            suspend_millis: self.value.into(),
            auto_commit: self.status & SETTLE_MANUAL_COMMIT == 0,
        }
    }
}

impl JsListener {
    fn waiting(&self) -> std::sync::MutexGuard<'_, PendingVerdicts<oneshot::Sender<JsVerdict>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a task for JavaScript; `None` once shut down (nobody will answer).
    fn hand_over(
        &self,
        queue: MessageQueue,
        messages: Vec<Arc<MessageExt>>,
    ) -> Option<oneshot::Receiver<JsVerdict>> {
        if self.tasks.is_released() {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let id = self.waiting().add(tx);
        self.tasks.push(ConsumeTask {
            id,
            queue: shown_queue(self.namespace.as_deref(), queue),
            messages,
            namespace: self.namespace.clone(),
        });
        Some(rx)
    }
}

impl MessageListenerOrderly for JsListener {
    fn consume(
        &self,
        messages: Vec<Arc<MessageExt>>,
        context: ConsumeOrderlyContext,
    ) -> OrderlyFuture {
        let rx = self.hand_over(context.queue, messages);
        // Unanswered (shut down, or JavaScript let go): not consumed, kept in order.
        Box::pin(async move {
            match rx {
                Some(rx) => rx
                    .await
                    .map(JsVerdict::orderly)
                    .unwrap_or_else(|_| ConsumeOrderlyStatus::SuspendCurrentQueueAMoment.into()),
                None => ConsumeOrderlyStatus::SuspendCurrentQueueAMoment.into(),
            }
        })
    }
}

impl MessageListenerConcurrently for JsListener {
    fn consume(&self, messages: Vec<Arc<MessageExt>>, context: ConsumeContext) -> ConsumeFuture {
        // Shut down: nobody in JavaScript will answer.
        let Some(rx) = self.hand_over(context.queue, messages) else {
            return Box::pin(async { ConsumeConcurrentlyStatus::ReconsumeLater.into() });
        };
        // A dropped sender (the consumer let go of JavaScript) means nobody consumed them.
        Box::pin(async move {
            rx.await
                .map(JsVerdict::concurrent)
                .unwrap_or_else(|_| ConsumeConcurrentlyStatus::ReconsumeLater.into())
        })
    }
}

/// Verdict codes of [`NativeConsumer::settle`]: success; later (concurrent) or suspend
/// (orderly); orderly COMMIT and ROLLBACK; a flag for an orderly call whose context's
/// autoCommit was false.
const SETTLE_SUCCESS: u32 = 0;
const SETTLE_COMMIT: u32 = 2;
const SETTLE_ROLLBACK: u32 = 3;
const SETTLE_MANUAL_COMMIT: u32 = 0x10;

/// Consumes messages from RocketMQ brokers as a member of a consumer group.
#[napi]
pub struct NativeConsumer {
    inner: Arc<PushConsumer>,
    listener: Arc<JsListener>,
    events: Arc<Completions<ConsumerEvent, NativeConsumerEvents>>,
}

#[napi]
impl NativeConsumer {
    /// Validates the configuration; connects only on `start()`. `onTasks` receives the
    /// listener tasks, many per call; each must be answered through `settle`. `onEvents`
    /// receives the consumer's events (rebalances, offset persists), many per call.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        config: NativeConsumerConfig,
        #[napi(ts_arg_type = "(tasks: NativeConsumeTasks) => void")] on_tasks: Function<
            '_,
            NativeConsumeTasks,
            Unknown<'static>,
        >,
        #[napi(ts_arg_type = "(events: NativeConsumerEvents) => void")] on_events: Function<
            '_,
            NativeConsumerEvents,
            Unknown<'static>,
        >,
    ) -> napi::Result<Self> {
        crate::logger::install_default();
        let engine_config = engine_config(&config).map_err(|err| js_error(env, err))?;
        let listener = Arc::new(JsListener {
            namespace: config.namespace.clone(),
            tasks: Completions::with_budget(on_tasks, Some(CROSSING_BUDGET))?,
            waiting: Mutex::new(PendingVerdicts::new(1)),
        });
        let inner = if config.orderly.unwrap_or(false) {
            let engine_listener: Arc<dyn MessageListenerOrderly> = listener.clone();
            PushConsumer::new_orderly(engine_config, engine_listener)
        } else {
            let engine_listener: Arc<dyn MessageListenerConcurrently> = listener.clone();
            PushConsumer::new(engine_config, engine_listener)
        }
        .map_err(|err| js_error(env, err))?;
        let events = Arc::new(Completions::new(on_events)?);
        let sink = Arc::clone(&events);
        let namespace = config.namespace.clone();
        inner.on_event(Arc::new(move |event| {
            sink.push(shown_event(namespace.as_deref(), event))
        }));
        Ok(NativeConsumer {
            inner: Arc::new(inner),
            listener,
            events,
        })
    }

    /// `err` naming the topics and the group as the user gave them (without the namespace).
    fn shown_error(&self, err: ClientError) -> ClientError {
        rocketmq_client::namespace::shown_error(self.inner.namespace(), err)
    }

    /// The engine, for the offset store view over it (`src/offset_store.rs`).
    pub(crate) fn engine(&self) -> Arc<PushConsumer> {
        Arc::clone(&self.inner)
    }

    /// Commits into `store`, a standalone store of the consumer's group and message model,
    /// instead of opening the consumer's own at `start()`. Throws `ERR_CONFIG` naming both
    /// when they differ.
    #[napi]
    pub fn use_offset_store(&self, env: &Env, store: &NativeOffsetStore) -> napi::Result<()> {
        crate::offset_store::give_store_to(env, &self.inner, store)
    }

    /// Subscribes to `topic` with a 'TAG' or 'SQL92' expression; before `start()` only.
    #[napi(ts_return_type = "void")]
    pub fn subscribe(
        &self,
        topic: String,
        expression_type: String,
        expression: String,
    ) -> Fallible<()> {
        parse_expression_type(&expression_type)
            .and_then(|kind| self.inner.subscribe_with(&topic, kind, &expression))
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Subscribes to `topic` or replaces its expression, on a running consumer too: SQL92
    /// checked by the brokers, heartbeat and rebalance at once, all before it resolves.
    /// Rejects when refused (nothing changed); resolves with the fields of a failure when
    /// the change took effect but no broker took the heartbeat, else with null.
    #[napi(ts_return_type = "Promise<NativeErrorFields | null>")]
    pub async fn subscribe_live(
        &self,
        topic: String,
        expression_type: String,
        expression: String,
    ) -> Fallible<Option<NativeErrorFields>> {
        let result = match parse_expression_type(&expression_type) {
            Ok(kind) => self.inner.subscribe_live(&topic, kind, &expression).await,
            Err(err) => Err(err),
        };
        result
            .map(|incomplete| incomplete.map(|err| NativeErrorFields::from(&self.shown_error(err))))
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Removes the subscription of `topic`; a running consumer drops its queues (offsets
    /// persisted) and tells the brokers at once. Rejects when refused (nothing changed);
    /// resolves with the fields of a failure when the topic was unsubscribed but an offset
    /// could not be persisted or no broker took the heartbeat, else with null.
    #[napi(ts_return_type = "Promise<NativeErrorFields | null>")]
    pub async fn unsubscribe(&self, topic: String) -> Fallible<Option<NativeErrorFields>> {
        self.inner
            .unsubscribe(&topic)
            .await
            .map(|incomplete| incomplete.map(|err| NativeErrorFields::from(&self.shown_error(err))))
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Stops pulling `topics` (everything, the retry topic included, when absent); what was
    /// pulled is still consumed.
    #[napi]
    pub fn pause(&self, topics: Option<Vec<String>>) {
        self.inner.pause(topics.as_deref());
    }

    /// Pulls `topics` again (everything paused, when absent).
    #[napi]
    pub fn resume(&self, topics: Option<Vec<String>>) {
        self.inner.resume(topics.as_deref());
    }

    /// Whether pulls of `topic` are paused now.
    #[napi]
    pub fn is_paused(&self, topic: String) -> bool {
        self.inner.is_paused(&topic)
    }

    /// The engine's counters now (see `ConsumerStats` in `lib/consumer.ts`).
    #[napi]
    pub fn stats(&self) -> NativeConsumerStats {
        self.inner.stats().into()
    }

    /// Joins the group and starts pulling.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self) -> Fallible<()> {
        self.inner
            .start()
            .await
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Stops pulls and new listener calls at once; verdicts of failure from now on leave
    /// their messages uncommitted (the calls JavaScript never began are answered so).
    #[napi]
    pub fn begin_shutdown(&self) {
        self.inner.begin_shutdown();
    }

    /// Leaves the group: stops pulling, waits for the listener calls in flight (whose
    /// verdicts JavaScript keeps settling meanwhile), persists the offsets, unregisters;
    /// then lets go of the task callback. Always completes; then rejects with the failure
    /// when the offsets could not be persisted.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn shutdown(&self, wait_ms: Option<u32>) -> Fallible<()> {
        match wait_ms {
            Some(ms) => {
                self.inner
                    .shutdown_within(Duration::from_millis(ms.into()))
                    .await
            }
            None => self.inner.shutdown().await,
        }
        self.listener.tasks.release();
        self.events.release();
        // Tasks JavaScript never answered: their messages were not committed.
        self.listener.waiting().clear();
        match self.inner.take_shutdown_failure() {
            Some(err) => Err(self.shown_error(err)),
            None => Ok(()),
        }
        .fallible()
    }

    /// `ip@instanceName[@unitName]`, once started; null before.
    #[napi]
    pub async fn client_id(&self) -> Option<String> {
        self.inner.client_id().await
    }

    /// Per queue held now: what it holds, the committed offset and the broker's max offset
    /// (asked of the brokers; absent when one did not answer).
    #[napi]
    pub async fn queue_metrics(&self) -> Vec<NativeQueueMetrics> {
        self.inner
            .queue_metrics()
            .await
            .into_iter()
            .map(|mut q| {
                q.queue = shown_queue(self.inner.namespace(), q.queue);
                NativeQueueMetrics::from(q)
            })
            .collect()
    }

    /// The message trace dispatcher's counters, once started with traces on.
    #[napi]
    pub fn trace_metrics(&self) -> Option<crate::metrics::NativeTraceMetrics> {
        self.inner.trace_metrics().map(Into::into)
    }

    /// The queues this member holds now.
    #[napi]
    pub async fn assigned_queues(&self) -> Vec<NativeMessageQueue> {
        self.inner
            .assigned_queues()
            .await
            .into_iter()
            .map(|q| NativeMessageQueue::from(shown_queue(self.inner.namespace(), q)))
            .collect()
    }

    /// Answers listener tasks: entry `i` of each array belongs to `taskIds[i]`. Concurrent
    /// listeners: a status of 0 is success, anything else consume-later with
    /// `delayLevels[i]` (0: the broker chooses). Orderly listeners: 0 SUCCESS, 1 SUSPEND, 2
    /// COMMIT, 3 ROLLBACK, plus 16 when the context's autoCommit was false, with
    /// `delayLevels[i]` the context's suspend time in ms (-1: the consumer's). Unknown ids
    /// (already answered, or from before a shutdown) are ignored.
    #[napi]
    pub fn settle(&self, task_ids: Uint32Array, statuses: Uint32Array, delay_levels: Int32Array) {
        let mut waiting = self.listener.waiting();
        for (i, id) in task_ids.iter().enumerate() {
            let Some(tx) = waiting.take(*id) else {
                continue;
            };
            let _ = tx.send(JsVerdict {
                // A missing status is a failure, never a success.
                status: statuses.get(i).copied().unwrap_or(1),
                value: delay_levels.get(i).copied().unwrap_or(0),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_keeps_its_index_below_and_above_the_compared_few() {
        let mut table = StringTable::default();
        let names: Vec<String> = (0..20).map(|n| format!("topic-{n}")).collect();
        for (n, name) in names.iter().enumerate() {
            assert_eq!(table.intern(name), n as u32);
        }
        for (n, name) in names.iter().enumerate().rev() {
            assert_eq!(table.intern(name), n as u32);
        }
        assert_eq!(table.strings, names);
    }
}
