//! `NativeConsumer`: the engine's push consumer as a JavaScript class, with the listener in
//! JavaScript.
//!
//! The engine calls its listener once per batch of a queue, up to `consumeThreadNum` at a
//! time. Each call becomes a task queued here; one threadsafe-function call hands
//! JavaScript every task queued by the time it runs (see [`Completions`]), in columns
//! rather than one object per message (each property set through Node-API costs a name
//! lookup). JavaScript runs the listener for each task and hands the verdicts back in bulk
//! through [`NativeConsumer::settle`], which completes the engine's waiting futures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{
    BigInt64Array, Buffer, Float64Array, Function, Int32Array, Uint32Array,
};
use napi::Unknown;
use napi_derive::napi;
use rocketmq_client::consumer::allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateByMachineRoom,
    AllocateConsistentHash, AllocateStrategy,
};
use rocketmq_client::consumer::push::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumeFuture, ConsumeOutcome,
    MessageListenerConcurrently, PushConsumer, PushConsumerConfig,
};
use rocketmq_remoting::body::{ConsumeFromWhere, MessageModel, MessageQueue};
use rocketmq_remoting::message::properties::encode_properties;
use rocketmq_remoting::message::MessageExt;
use tokio::sync::oneshot;

use crate::completions::Completions;
use crate::error::{config_error, IntoNapi};

/// Consumer settings; unset fields take the Java push consumer's defaults. The TypeScript
/// layer has already checked ranges; the engine checks again.
#[napi(object)]
pub struct NativeConsumerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    pub consumer_group: String,
    /// 'CLUSTERING' | 'BROADCASTING'.
    pub message_model: Option<String>,
    /// 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP'.
    pub consume_from_where: Option<String>,
    /// Milliseconds since the epoch, for CONSUME_FROM_TIMESTAMP. Default: half an hour ago.
    pub consume_timestamp_ms: Option<f64>,
    /// 'AVG' | 'AVG_BY_CIRCLE' | 'CONSISTENT_HASH' | 'CONFIG' | 'MACHINE_ROOM'.
    pub allocate_strategy: Option<String>,
    /// CONSISTENT_HASH: virtual nodes per consumer. Default 10.
    pub allocate_virtual_node_count: Option<u32>,
    /// CONFIG: the queues this consumer takes.
    pub allocate_queues: Option<Vec<NativeMessageQueue>>,
    /// MACHINE_ROOM: the rooms whose brokers this consumer shares.
    pub allocate_machine_rooms: Option<Vec<String>>,
    pub pull_batch_size: Option<u32>,
    pub pull_threshold_for_queue: Option<u32>,
    pub pull_threshold_size_for_queue_bytes: Option<f64>,
    pub consume_concurrently_max_span: Option<u32>,
    pub consume_thread_num: Option<u32>,
    pub consume_message_batch_max_size: Option<u32>,
    pub persist_consumer_offset_interval_ms: Option<u32>,
    pub rebalance_interval_ms: Option<u32>,
    pub pull_interval_ms: Option<u32>,
    pub max_reconsume_times: Option<i32>,
    pub instance_name: Option<String>,
    pub unit_name: Option<String>,
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

fn parse_message_model(name: Option<&str>) -> napi::Result<MessageModel> {
    match name.unwrap_or("CLUSTERING") {
        "CLUSTERING" => Ok(MessageModel::Clustering),
        "BROADCASTING" => Ok(MessageModel::Broadcasting),
        other => Err(config_error(format!("unknown messageModel {other:?}"))),
    }
}

fn parse_consume_from_where(name: Option<&str>) -> napi::Result<ConsumeFromWhere> {
    match name.unwrap_or("CONSUME_FROM_LAST_OFFSET") {
        "CONSUME_FROM_LAST_OFFSET" => Ok(ConsumeFromWhere::ConsumeFromLastOffset),
        "CONSUME_FROM_FIRST_OFFSET" => Ok(ConsumeFromWhere::ConsumeFromFirstOffset),
        "CONSUME_FROM_TIMESTAMP" => Ok(ConsumeFromWhere::ConsumeFromTimestamp),
        other => Err(config_error(format!("unknown consumeFromWhere {other:?}"))),
    }
}

fn allocate_strategy(config: &NativeConsumerConfig) -> napi::Result<Arc<dyn AllocateStrategy>> {
    Ok(match config.allocate_strategy.as_deref().unwrap_or("AVG") {
        "AVG" => Arc::new(AllocateAveragely),
        "AVG_BY_CIRCLE" => Arc::new(AllocateAveragelyByCircle),
        "CONSISTENT_HASH" => Arc::new(AllocateConsistentHash::new(
            config.allocate_virtual_node_count.unwrap_or(10),
        )),
        "CONFIG" => Arc::new(AllocateByConfig::new(
            config
                .allocate_queues
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(MessageQueue::from)
                .collect(),
        )),
        "MACHINE_ROOM" => Arc::new(AllocateByMachineRoom::new(
            config.allocate_machine_rooms.clone().unwrap_or_default(),
        )),
        other => return Err(config_error(format!("unknown allocateStrategy {other:?}"))),
    })
}

fn millis(ms: Option<u32>, default: Duration) -> Duration {
    ms.map_or(default, |ms| Duration::from_millis(ms.into()))
}

// `..d` although every field is set today: a setting the engine gains takes its default
// until the binding exposes it.
#[allow(clippy::needless_update)]
fn engine_config(config: &NativeConsumerConfig) -> napi::Result<PushConsumerConfig> {
    let d = PushConsumerConfig::default();
    Ok(PushConsumerConfig {
        group: config.consumer_group.clone(),
        namesrv_addr: config.namesrv_addr.clone(),
        instance_name: config.instance_name.clone(),
        unit_name: config.unit_name.clone(),
        message_model: parse_message_model(config.message_model.as_deref())?,
        consume_from_where: parse_consume_from_where(config.consume_from_where.as_deref())?,
        consume_timestamp_ms: config.consume_timestamp_ms.map(|ms| ms as i64),
        allocate_strategy: allocate_strategy(config)?,
        pull_batch_size: config
            .pull_batch_size
            .map_or(d.pull_batch_size, |n| i32::try_from(n).unwrap_or(i32::MAX)),
        pull_threshold_for_queue: config
            .pull_threshold_for_queue
            .map_or(d.pull_threshold_for_queue, u64::from),
        pull_threshold_size_for_queue: config
            .pull_threshold_size_for_queue_bytes
            .map_or(d.pull_threshold_size_for_queue, |n| n as u64),
        consume_concurrently_max_span: config
            .consume_concurrently_max_span
            .map_or(d.consume_concurrently_max_span, i64::from),
        consume_thread_num: config
            .consume_thread_num
            .map_or(d.consume_thread_num, |n| n as usize),
        consume_message_batch_max_size: config
            .consume_message_batch_max_size
            .map_or(d.consume_message_batch_max_size, |n| n as usize),
        persist_consumer_offset_interval: millis(
            config.persist_consumer_offset_interval_ms,
            d.persist_consumer_offset_interval,
        ),
        rebalance_interval: millis(config.rebalance_interval_ms, d.rebalance_interval),
        pull_interval: millis(config.pull_interval_ms, d.pull_interval),
        max_reconsume_times: config.max_reconsume_times.unwrap_or(d.max_reconsume_times),
        ..d
    })
}

/// One listener call waiting for JavaScript.
pub struct ConsumeTask {
    id: u32,
    queue: MessageQueue,
    messages: Vec<Arc<MessageExt>>,
}

/// Listener tasks for JavaScript, column by column. Task `t` owns messages
/// `taskMessageEnds[t-1] .. taskMessageEnds[t]` (from 0 for the first); strings that repeat
/// (topics, broker names, hosts) are indexes into `strings`; message `m`'s body is
/// `bodies[bodyEnds[m-1] .. bodyEnds[m]]`.
#[napi(object)]
pub struct NativeConsumeTasks {
    pub task_ids: Uint32Array,
    pub task_message_ends: Uint32Array,
    /// The queue each task's messages were pulled from: indexes into `strings`, and ids.
    pub task_topics: Uint32Array,
    pub task_broker_names: Uint32Array,
    pub task_queue_ids: Int32Array,
    pub strings: Vec<String>,
    /// Topic shown to the listener (the original topic of a retried message).
    pub topics: Uint32Array,
    pub broker_names: Uint32Array,
    pub queue_ids: Int32Array,
    pub queue_offsets: BigInt64Array,
    pub commit_log_offsets: BigInt64Array,
    pub born_timestamps: Float64Array,
    pub store_timestamps: Float64Array,
    pub reconsume_times: Int32Array,
    pub flags: Int32Array,
    pub born_hosts: Uint32Array,
    pub store_hosts: Uint32Array,
    pub offset_msg_ids: Vec<String>,
    /// Every property in the wire form (`name\u0001value\u0002`...), decoded by JavaScript
    /// only when read.
    pub properties: Vec<String>,
    pub bodies: Buffer,
    pub body_ends: Uint32Array,
}

/// Gives each distinct string one index.
#[derive(Default)]
struct StringTable {
    index: HashMap<String, u32>,
    strings: Vec<String>,
}

impl StringTable {
    fn intern(&mut self, value: &str) -> u32 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.index.insert(value.to_owned(), i);
        self.strings.push(value.to_owned());
        i
    }
}

impl From<Vec<ConsumeTask>> for NativeConsumeTasks {
    fn from(tasks: Vec<ConsumeTask>) -> Self {
        let n: usize = tasks.iter().map(|t| t.messages.len()).sum();
        let body_bytes: usize = tasks
            .iter()
            .flat_map(|t| t.messages.iter())
            .map(|m| m.body.len())
            .sum();
        let mut strings = StringTable::default();
        let mut task_ids = Vec::with_capacity(tasks.len());
        let mut task_message_ends = Vec::with_capacity(tasks.len());
        let mut task_topics = Vec::with_capacity(tasks.len());
        let mut task_broker_names = Vec::with_capacity(tasks.len());
        let mut task_queue_ids = Vec::with_capacity(tasks.len());
        let mut topics = Vec::with_capacity(n);
        let mut broker_names = Vec::with_capacity(n);
        let mut queue_ids = Vec::with_capacity(n);
        let mut queue_offsets = Vec::with_capacity(n);
        let mut commit_log_offsets = Vec::with_capacity(n);
        let mut born_timestamps = Vec::with_capacity(n);
        let mut store_timestamps = Vec::with_capacity(n);
        let mut reconsume_times = Vec::with_capacity(n);
        let mut flags = Vec::with_capacity(n);
        let mut born_hosts = Vec::with_capacity(n);
        let mut store_hosts = Vec::with_capacity(n);
        let mut offset_msg_ids = Vec::with_capacity(n);
        let mut properties = Vec::with_capacity(n);
        let mut bodies = Vec::with_capacity(body_bytes);
        let mut body_ends = Vec::with_capacity(n);
        let mut host = String::new();
        for task in tasks {
            task_ids.push(task.id);
            task_topics.push(strings.intern(&task.queue.topic));
            task_broker_names.push(strings.intern(&task.queue.broker_name));
            task_queue_ids.push(task.queue.queue_id);
            for m in &task.messages {
                topics.push(strings.intern(&m.topic));
                broker_names.push(strings.intern(&m.broker_name));
                queue_ids.push(m.queue_id);
                queue_offsets.push(m.queue_offset);
                commit_log_offsets.push(m.commit_log_offset);
                born_timestamps.push(m.born_timestamp as f64);
                store_timestamps.push(m.store_timestamp as f64);
                reconsume_times.push(m.reconsume_times);
                flags.push(m.flag);
                host.clear();
                use std::fmt::Write;
                let _ = write!(host, "{}", m.born_host);
                born_hosts.push(strings.intern(&host));
                host.clear();
                let _ = write!(host, "{}", m.store_host);
                store_hosts.push(strings.intern(&host));
                offset_msg_ids.push(m.offset_msg_id.clone());
                properties.push(encode_properties(&m.properties));
                bodies.extend_from_slice(&m.body);
                body_ends.push(bodies.len() as u32);
            }
            task_message_ends.push(topics.len() as u32);
        }
        NativeConsumeTasks {
            task_ids: task_ids.into(),
            task_message_ends: task_message_ends.into(),
            task_topics: task_topics.into(),
            task_broker_names: task_broker_names.into(),
            task_queue_ids: task_queue_ids.into(),
            strings: strings.strings,
            topics: topics.into(),
            broker_names: broker_names.into(),
            queue_ids: queue_ids.into(),
            queue_offsets: queue_offsets.into(),
            commit_log_offsets: commit_log_offsets.into(),
            born_timestamps: born_timestamps.into(),
            store_timestamps: store_timestamps.into(),
            reconsume_times: reconsume_times.into(),
            flags: flags.into(),
            born_hosts: born_hosts.into(),
            store_hosts: store_hosts.into(),
            offset_msg_ids,
            properties,
            bodies: bodies.into(),
            body_ends: body_ends.into(),
        }
    }
}

/// The engine's listener: queues each call as a task for JavaScript and waits for its
/// verdict from [`NativeConsumer::settle`].
struct JsListener {
    tasks: Completions<ConsumeTask, NativeConsumeTasks>,
    waiting: Mutex<HashMap<u32, oneshot::Sender<ConsumeOutcome>>>,
    next_id: AtomicU32,
}

impl JsListener {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u32, oneshot::Sender<ConsumeOutcome>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MessageListenerConcurrently for JsListener {
    fn consume(&self, messages: Vec<Arc<MessageExt>>, context: ConsumeContext) -> ConsumeFuture {
        let (tx, rx) = oneshot::channel();
        if self.tasks.is_released() {
            // Shut down: nobody in JavaScript will answer.
            return Box::pin(async { ConsumeConcurrentlyStatus::ReconsumeLater.into() });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.waiting().insert(id, tx);
        self.tasks.begin(1);
        self.tasks.complete(ConsumeTask {
            id,
            queue: context.queue,
            messages,
        });
        // A dropped sender (the consumer let go of JavaScript) means nobody consumed them.
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| ConsumeConcurrentlyStatus::ReconsumeLater.into())
        })
    }
}

/// Verdict codes of [`NativeConsumer::settle`].
const SETTLE_SUCCESS: u32 = 0;

/// Consumes messages from RocketMQ brokers as a member of a consumer group.
#[napi]
pub struct NativeConsumer {
    inner: Arc<PushConsumer>,
    listener: Arc<JsListener>,
}

#[napi]
impl NativeConsumer {
    /// Validates the configuration; connects only on `start()`. `onTasks` receives the
    /// listener tasks, many per call; each must be answered through `settle`.
    #[napi(constructor)]
    pub fn new(
        config: NativeConsumerConfig,
        #[napi(ts_arg_type = "(tasks: NativeConsumeTasks) => void")] on_tasks: Function<
            '_,
            NativeConsumeTasks,
            Unknown<'static>,
        >,
    ) -> napi::Result<Self> {
        crate::logger::install_default();
        let engine_config = engine_config(&config)?;
        let listener = Arc::new(JsListener {
            tasks: Completions::new(on_tasks)?,
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
        });
        let engine_listener: Arc<dyn MessageListenerConcurrently> = listener.clone();
        Ok(NativeConsumer {
            inner: Arc::new(PushConsumer::new(engine_config, engine_listener).into_napi()?),
            listener,
        })
    }

    /// Subscribes to `topic` with a TAG expression; before `start()` only.
    #[napi]
    pub fn subscribe(&self, topic: String, expression: String) -> napi::Result<()> {
        self.inner.subscribe(&topic, &expression).into_napi()
    }

    /// Joins the group and starts pulling.
    #[napi]
    pub async fn start(&self) -> napi::Result<()> {
        self.inner.start().await.into_napi()
    }

    /// Leaves the group: stops pulling, waits for the listener calls in flight (whose
    /// verdicts JavaScript keeps settling meanwhile), persists the offsets, unregisters;
    /// then lets go of the task callback.
    #[napi]
    pub async fn shutdown(&self) -> napi::Result<()> {
        self.inner.shutdown().await;
        self.listener.tasks.release();
        // Tasks JavaScript never answered: their messages were not committed.
        self.listener.waiting().clear();
        Ok(())
    }

    /// `ip@instanceName[@unitName]`, once started; null before.
    #[napi]
    pub async fn client_id(&self) -> Option<String> {
        self.inner.client_id().await
    }

    /// The queues this member holds now.
    #[napi]
    pub async fn assigned_queues(&self) -> Vec<NativeMessageQueue> {
        self.inner
            .assigned_queues()
            .await
            .into_iter()
            .map(NativeMessageQueue::from)
            .collect()
    }

    /// Answers listener tasks: entry `i` of each array belongs to `taskIds[i]`. A status of
    /// 0 is success, anything else consume-later with `delayLevels[i]` (0: the broker
    /// chooses). Unknown ids (already answered, or from before a shutdown) are ignored.
    #[napi]
    pub fn settle(&self, task_ids: Uint32Array, statuses: Uint32Array, delay_levels: Int32Array) {
        let mut waiting = self.listener.waiting();
        for (i, id) in task_ids.iter().enumerate() {
            let Some(tx) = waiting.remove(id) else {
                continue;
            };
            let status = if statuses.get(i).copied() == Some(SETTLE_SUCCESS) {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            } else {
                ConsumeConcurrentlyStatus::ReconsumeLater
            };
            let delay_level = delay_levels.get(i).copied().unwrap_or(0);
            let _ = tx.send(ConsumeOutcome {
                status,
                delay_level,
            });
        }
    }
}
