//! `NativeProducer`: the engine's producer as a JavaScript class.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Function, PromiseRaw};
use napi::{Env, Unknown};
use napi_derive::napi;
use rocketmq_client::acl::Credentials;
use rocketmq_client::ordered_send::{QueueChoice, SendTarget};
use rocketmq_client::producer::{
    COMPRESS_OVER_RANGE, MAX_MESSAGE_SIZE_RANGE, RETRY_TIMES_RANGE, SEND_TIMEOUT_MS_RANGE,
};
use rocketmq_client::trace::DEFAULT_TRACE_TOPIC;
use rocketmq_client::validation::{argument_integer, config_integer, JAVA_INT, MAX_DELAY_LEVEL};
use rocketmq_client::{
    ClientError, OutgoingMessage, Producer, ProducerConfig, SendResult, SendStatus,
};

use crate::completions::Completions;
use crate::error::{js_error, Fallible, IntoFallible, NativeErrorFields};

/// How long `shutdown()` waits for sends still in flight to settle before it lets go of
/// the completion callback; the engine fails them quickly once it is shut down.
const SHUTDOWN_SETTLE_WAIT: Duration = Duration::from_secs(10);

/// Producer settings; unset fields take the Java producer's defaults (`producerDefaults()`).
/// Numbers arrive as JavaScript numbers and are checked here, integer and range, so that a
/// fraction or a negative value is refused rather than truncated or wrapped.
#[napi(object)]
pub struct NativeProducerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    pub producer_group: String,
    /// Budget for one send, route lookups and retries included.
    pub send_msg_timeout_ms: Option<f64>,
    /// Extra attempts on another broker after a failure.
    pub retry_times_when_send_failed: Option<f64>,
    /// Bodies of this many bytes or more are zlib-compressed.
    pub compress_msg_body_over_howmuch: Option<f64>,
    /// Largest body accepted.
    pub max_message_size: Option<f64>,
    /// Part of the client id (`ip@instanceName[@unitName]`). Default: the process id, so
    /// that the producers and admins of a process share one client instance.
    pub instance_name: Option<String>,
    /// Appended to the client id when set.
    pub unit_name: Option<String>,
    /// Message traces (Java's `enableMsgTrace`): a `Pub` record per message sent.
    pub enable_message_trace: Option<bool>,
    /// The trace topic; `RMQ_SYS_TRACE_TOPIC` when unset.
    pub customized_trace_topic: Option<String>,
    /// ACL access key; with `secret_key` every request is signed (see `crates/client/src/acl.rs`).
    pub access_key: Option<String>,
    /// ACL secret key. Never logged, never in an error message.
    pub secret_key: Option<String>,
    /// ACL security token (temporary credentials); only with the two keys.
    pub security_token: Option<String>,
    /// TLS for every connection (see `src/tls.rs`); unset for plain TCP.
    pub tls: Option<crate::tls::NativeTls>,
    /// Java's `namespace`: topics and the group are `<namespace>%<name>` on the brokers.
    pub namespace: Option<String>,
}

/// A message to send.
#[napi(object)]
pub struct NativeMessage {
    pub topic: String,
    pub body: Buffer,
    pub tags: Option<String>,
    /// Sent space-joined in the KEYS property.
    pub keys: Option<Vec<String>>,
    pub properties: Option<HashMap<String, String>>,
    /// 0 or unset = deliver now; 1..=18 = the broker's delay levels.
    pub delay_level: Option<f64>,
    /// A 32-bit integer.
    pub flag: Option<f64>,
    /// Messages with the same key go to the same queue.
    pub sharding_key: Option<String>,
    /// Deliver at this time, ms since the epoch (5.x brokers' timer messages).
    pub deliver_time_ms: Option<f64>,
}

/// A queue the caller chose to send to.
#[napi(object)]
pub struct NativeQueueChoice {
    /// When given, it must be the message's topic.
    pub topic: Option<String>,
    pub broker_name: String,
    /// A non-negative 32-bit integer.
    pub queue_id: f64,
}

/// A writable queue of a topic.
#[napi(object)]
pub struct NativeMessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

/// The engine's send target for an optional queue choice; fails when the queue id is not a
/// non-negative 32-bit integer.
fn send_target(queue: Option<NativeQueueChoice>) -> Result<SendTarget, ClientError> {
    let Some(queue) = queue else {
        return Ok(SendTarget::Auto);
    };
    let queue_id = argument_integer("queue queueId", queue.queue_id, 0..=JAVA_INT_MAX)? as i32;
    Ok(SendTarget::Queue(QueueChoice {
        topic: queue.topic,
        broker_name: queue.broker_name,
        queue_id,
    }))
}

/// The largest queue id: Java's `int`.
const JAVA_INT_MAX: i64 = i32::MAX as i64;

/// How a message was stored.
#[napi(object)]
pub struct NativeSendResult {
    /// 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE'.
    pub status: String,
    /// Client message id (UNIQ_KEY); for a batch the ids joined by ','.
    pub msg_id: String,
    /// Broker message id (store host + commit-log offset).
    pub offset_msg_id: String,
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
}

impl From<SendResult> for NativeSendResult {
    fn from(result: SendResult) -> Self {
        NativeSendResult {
            status: result.status.as_str().to_owned(),
            msg_id: result.msg_id,
            offset_msg_id: result.offset_msg_id,
            topic: result.queue.topic,
            broker_name: result.queue.broker_name,
            queue_id: result.queue.queue_id,
            queue_offset: result.queue_offset,
        }
    }
}

/// The outcome of one staged message, under the id JavaScript gave it.
pub struct SendOutcome {
    id: u32,
    outcome: Result<SendResult, ClientError>,
}

/// The outcomes of a batch of staged messages, column by column: entry `i` of every array
/// belongs to `ids[i]`. One object per batch rather than one per message: each object built
/// through Node-API looks its property names up again, which showed in profiles.
#[napi(object)]
pub struct NativeSendOutcomes {
    pub ids: Vec<u32>,
    /// Index into `sendStatusNames()`; 0 where the send failed.
    pub statuses: Vec<u32>,
    /// Client message id (UNIQ_KEY); empty where the send failed.
    pub msg_ids: Vec<String>,
    /// Broker message id; empty where the send failed.
    pub offset_msg_ids: Vec<String>,
    pub broker_names: Vec<String>,
    pub queue_ids: Vec<i32>,
    pub queue_offsets: Vec<i64>,
    /// The error's fields where the send failed, null where it succeeded.
    pub errors: Vec<Option<NativeErrorFields>>,
}

impl From<Vec<SendOutcome>> for NativeSendOutcomes {
    fn from(outcomes: Vec<SendOutcome>) -> Self {
        let n = outcomes.len();
        let mut batch = NativeSendOutcomes {
            ids: Vec::with_capacity(n),
            statuses: Vec::with_capacity(n),
            msg_ids: Vec::with_capacity(n),
            offset_msg_ids: Vec::with_capacity(n),
            broker_names: Vec::with_capacity(n),
            queue_ids: Vec::with_capacity(n),
            queue_offsets: Vec::with_capacity(n),
            errors: Vec::with_capacity(n),
        };
        for SendOutcome { id, outcome } in outcomes {
            batch.ids.push(id);
            match outcome {
                Ok(result) => {
                    batch.statuses.push(status_index(result.status));
                    batch.msg_ids.push(result.msg_id);
                    batch.offset_msg_ids.push(result.offset_msg_id);
                    batch.broker_names.push(result.queue.broker_name);
                    batch.queue_ids.push(result.queue.queue_id);
                    batch.queue_offsets.push(result.queue_offset);
                    batch.errors.push(None);
                }
                Err(err) => {
                    batch.statuses.push(0);
                    batch.msg_ids.push(String::new());
                    batch.offset_msg_ids.push(String::new());
                    batch.broker_names.push(String::new());
                    batch.queue_ids.push(0);
                    batch.queue_offsets.push(0);
                    batch.errors.push(Some(NativeErrorFields::from(&err)));
                }
            }
        }
        batch
    }
}

/// Every send status, in the order `NativeSendOutcomes.statuses` indexes them.
const SEND_STATUSES: [SendStatus; 4] = [
    SendStatus::SendOk,
    SendStatus::FlushDiskTimeout,
    SendStatus::FlushSlaveTimeout,
    SendStatus::SlaveNotAvailable,
];

fn status_index(status: SendStatus) -> u32 {
    SEND_STATUSES
        .iter()
        .position(|s| *s == status)
        .unwrap_or_default() as u32
}

/// The names of the send statuses, indexed as `NativeSendOutcomes.statuses` is.
#[napi]
pub fn send_status_names() -> Vec<String> {
    SEND_STATUSES
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect()
}

impl TryFrom<NativeMessage> for OutgoingMessage {
    type Error = ClientError;

    fn try_from(message: NativeMessage) -> Result<Self, ClientError> {
        outgoing(
            message.topic,
            &message.body,
            message.tags,
            message.keys,
            message.properties,
            message.delay_level,
            message.flag,
            message.sharding_key,
            message.deliver_time_ms,
        )
    }
}

/// A message number from JavaScript as the `i32` the engine takes, checked against `range`
/// (the engine's), so that a fraction is refused rather than truncated.
fn message_int(
    field: &str,
    value: Option<f64>,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i32, ClientError> {
    value.map_or(Ok(0), |v| {
        argument_integer(field, v, range).map(|n| n as i32)
    })
}

/// The engine's message from the JavaScript fields; fails when a number is not an integer
/// of its range. The engine's `send` checks every other rule.
#[allow(clippy::too_many_arguments)]
fn outgoing(
    topic: String,
    body: &[u8],
    tags: Option<String>,
    keys: Option<Vec<String>>,
    properties: Option<HashMap<String, String>>,
    delay_level: Option<f64>,
    flag: Option<f64>,
    sharding_key: Option<String>,
    deliver_time_ms: Option<f64>,
) -> Result<OutgoingMessage, ClientError> {
    let delay_level = message_int(
        "message delayLevel",
        delay_level,
        0..=MAX_DELAY_LEVEL.into(),
    )?;
    let flag = message_int("message flag", flag, JAVA_INT)?;
    let deliver_time_ms = deliver_time_ms
        .map(|at| argument_integer("message deliverTimeMs", at, 1..=i64::MAX))
        .transpose()?;
    let mut properties: Vec<(String, String)> =
        properties.unwrap_or_default().into_iter().collect();
    // Stable order makes the encoded properties deterministic.
    properties.sort();
    Ok(OutgoingMessage {
        topic,
        // A copy made on the JS thread: the user may reuse the Buffer.
        body: Bytes::copy_from_slice(body),
        tags,
        keys: keys.unwrap_or_default(),
        properties,
        delay_level,
        flag,
        sharding_key,
        deliver_time_ms,
    })
}

/// A numeric setting from JavaScript, checked against its range, or `default`.
fn setting(
    field: &str,
    value: Option<f64>,
    range: std::ops::RangeInclusive<i64>,
    default: u64,
) -> Result<u64, ClientError> {
    // Ranges of producer settings start at 0 or 1, so the checked value fits a u64.
    value.map_or(Ok(default), |v| {
        config_integer(field, v, range).map(|n| n as u64)
    })
}

/// The engine's configuration from the JavaScript one, numbers checked.
fn engine_config(config: NativeProducerConfig) -> Result<ProducerConfig, ClientError> {
    let defaults = ProducerConfig::default();
    Ok(ProducerConfig {
        namesrv_addr: config.namesrv_addr,
        group: config.producer_group,
        send_timeout: Duration::from_millis(setting(
            "sendMsgTimeout",
            config.send_msg_timeout_ms,
            SEND_TIMEOUT_MS_RANGE,
            defaults.send_timeout.as_millis() as u64,
        )?),
        retry_times: setting(
            "retryTimesWhenSendFailed",
            config.retry_times_when_send_failed,
            RETRY_TIMES_RANGE,
            defaults.retry_times.into(),
        )? as u32,
        compress_over: setting(
            "compressMsgBodyOverHowmuch",
            config.compress_msg_body_over_howmuch,
            COMPRESS_OVER_RANGE,
            defaults.compress_over as u64,
        )? as usize,
        max_message_size: setting(
            "maxMessageSize",
            config.max_message_size,
            MAX_MESSAGE_SIZE_RANGE,
            defaults.max_message_size as u64,
        )? as usize,
        credentials: Credentials::from_settings(
            config.access_key.as_deref(),
            config.secret_key.as_deref(),
            config.security_token.as_deref(),
        )?,
        tls: crate::tls::tls_config(config.tls.as_ref())?,
        instance_name: config.instance_name,
        unit_name: config.unit_name,
        namespace: config.namespace,
        ..defaults
    })
}

/// The Java producer's defaults the engine applies to unset settings, under the names of
/// the TypeScript `ProducerConfig`.
#[napi(object)]
pub struct NativeProducerDefaults {
    pub send_msg_timeout: u32,
    pub retry_times_when_send_failed: u32,
    pub compress_msg_body_over_howmuch: u32,
    pub max_message_size: u32,
}

/// The defaults of unset producer settings, read from the engine's `ProducerConfig`.
#[napi]
pub fn producer_defaults() -> NativeProducerDefaults {
    let defaults = ProducerConfig::default();
    NativeProducerDefaults {
        send_msg_timeout: defaults.send_timeout.as_millis() as u32,
        retry_times_when_send_failed: defaults.retry_times,
        compress_msg_body_over_howmuch: defaults.compress_over as u32,
        max_message_size: defaults.max_message_size as u32,
    }
}

/// Sends messages to RocketMQ brokers.
#[napi]
pub struct NativeProducer {
    inner: Arc<Producer>,
    completions: Arc<Completions<SendOutcome, NativeSendOutcomes>>,
    /// Messages taken by `stage` and not yet flushed, with their ids and targets.
    staged: Mutex<Vec<(u32, OutgoingMessage, SendTarget)>>,
}

#[napi]
impl NativeProducer {
    /// Validates the configuration; connects only on `start()`. `onComplete` receives the
    /// outcomes of staged messages, many per call.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        config: NativeProducerConfig,
        #[napi(ts_arg_type = "(outcomes: NativeSendOutcomes) => void")] on_complete: Function<
            '_,
            NativeSendOutcomes,
            Unknown<'static>,
        >,
    ) -> napi::Result<Self> {
        crate::logger::install_default();
        let trace_topic = config.enable_message_trace.unwrap_or(false).then(|| {
            config
                .customized_trace_topic
                .clone()
                .unwrap_or_else(|| DEFAULT_TRACE_TOPIC.to_owned())
        });
        let engine_config = engine_config(config).map_err(|err| js_error(env, err))?;
        let producer = Producer::new(engine_config).map_err(|err| js_error(env, err))?;
        if let Some(topic) = trace_topic {
            producer
                .trace_to(&topic)
                .map_err(|err| js_error(env, as_config_error("customizedTraceTopic", err)))?;
        }
        Ok(NativeProducer {
            inner: Arc::new(producer),
            completions: Arc::new(Completions::new(on_complete)?),
            staged: Mutex::new(Vec::new()),
        })
    }

    /// Joins the process's client instance and registers the group with the brokers;
    /// sends are possible afterwards.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self) -> Fallible<()> {
        self.inner.start().await.fallible()
    }

    /// Unregisters the group and leaves the client instance (the last member out closes
    /// the connections), lets the sends in flight settle, then lets go of the completion
    /// callback. `flush` throws afterwards.
    #[napi]
    pub async fn shutdown(&self) -> napi::Result<()> {
        self.inner.shutdown().await;
        let deadline = tokio::time::Instant::now() + SHUTDOWN_SETTLE_WAIT;
        while self.completions.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.completions.in_flight() == 0 {
            self.completions.release();
        }
        Ok(())
    }

    /// `ip@instanceName[@unitName]`, once started; null before.
    #[napi(getter)]
    pub fn client_id(&self) -> Option<String> {
        self.inner.client_id()
    }

    /// Sends, failures, retries and send latencies since the producer was created.
    #[napi]
    pub fn metrics(&self) -> crate::metrics::NativeProducerMetrics {
        let mut metrics: crate::metrics::NativeProducerMetrics = self.inner.metrics().into();
        metrics.traces = self.inner.trace_metrics().map(Into::into);
        metrics
    }

    /// Takes a message for the next [`flush`](Self::flush), under `id`: its outcome reaches
    /// `onComplete` with that id. The body is copied here, on the JavaScript thread, so a
    /// caller that reuses its Buffer right after sending cannot change what is sent. The
    /// fields come as arguments rather than as an object: reading an object's properties
    /// through Node-API costs a name lookup each. `queue` sends to that queue, once (Java's
    /// `send(msg, MessageQueue)`); `shardingKey` to the key's queue. Throws, staging nothing,
    /// when a number is not a 32-bit integer; the message's other rules are checked by the
    /// send, off this thread, and fail its outcome.
    #[napi(ts_return_type = "void")]
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &self,
        id: u32,
        topic: String,
        body: &[u8],
        tags: Option<String>,
        keys: Option<Vec<String>>,
        properties: Option<HashMap<String, String>>,
        delay_level: Option<f64>,
        flag: Option<f64>,
        sharding_key: Option<String>,
        queue: Option<NativeQueueChoice>,
        deliver_time_ms: Option<f64>,
    ) -> Fallible<()> {
        let staged = outgoing(
            topic,
            body,
            tags,
            keys,
            properties,
            delay_level,
            flag,
            sharding_key,
            deliver_time_ms,
        )
        .and_then(|message| Ok((message, send_target(queue)?)));
        let (message, target) = match staged {
            Ok(staged) => staged,
            Err(err) => return Err(err).fallible(),
        };
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, message, target));
        Ok(()).fallible()
    }

    /// Sends every staged message, each on its own (not as a batch). One flush for all the
    /// sends of a turn of the event loop costs one wake-up of the runtime, not one per message.
    /// Throws (and drops what was staged) once the producer has shut down.
    #[napi(ts_return_type = "void")]
    pub fn flush(&self) -> Fallible<()> {
        let staged = std::mem::take(&mut *self.staged.lock().unwrap_or_else(|p| p.into_inner()));
        if self.completions.is_released() {
            return Err(ClientError::State("producer has been shut down".into())).fallible();
        }
        if staged.is_empty() {
            return Ok(()).fallible();
        }
        self.completions.begin(staged.len());
        let producer = Arc::clone(&self.inner);
        let completions = Arc::clone(&self.completions);
        let staged = match <[_; 1]>::try_from(staged) {
            Ok([(id, message, target)]) => {
                // A lone send (one in flight): written from this thread, no worker wake first.
                crate::runtime::start_here(async move {
                    let outcome = producer.send_to(message, target).await;
                    completions.complete(SendOutcome { id, outcome });
                });
                return Ok(()).fallible();
            }
            Err(staged) => staged,
        };
        napi::bindgen_prelude::spawn(async move {
            let mut staged = staged.into_iter();
            let Some((first_id, first, first_target)) = staged.next() else {
                return;
            };
            for (id, message, target) in staged {
                let producer = Arc::clone(&producer);
                let completions = Arc::clone(&completions);
                tokio::spawn(async move {
                    let outcome = producer.send_to(message, target).await;
                    completions.complete(SendOutcome { id, outcome });
                });
            }
            // The first message goes out from this task: no extra hop for it.
            let outcome = producer.send_to(first, first_target).await;
            completions.complete(SendOutcome {
                id: first_id,
                outcome,
            });
        });
        Ok(()).fallible()
    }

    /// Sends messages of one topic as one batch to one queue: `queue` when given, else the
    /// messages' shared sharding key's, else the next round-robin one. Bodies are copied
    /// before the call returns, as for `send()`.
    #[napi(ts_return_type = "Promise<NativeSendResult>")]
    pub fn send_batch<'env>(
        &self,
        env: &'env Env,
        messages: Vec<NativeMessage>,
        queue: Option<NativeQueueChoice>,
    ) -> napi::Result<PromiseRaw<'env, Fallible<NativeSendResult>>> {
        let messages = messages
            .into_iter()
            .map(OutgoingMessage::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| js_error(env, err))?;
        let target = send_target(queue).map_err(|err| js_error(env, err))?;
        let producer = Arc::clone(&self.inner);
        // The outcome resolves the future either way; converting it on the JS thread
        // rejects the promise with the error object when the batch failed.
        env.spawn_future(async move {
            Ok(producer
                .send_batch_to(messages, target)
                .await
                .map(Into::into)
                .fallible())
        })
    }

    /// The writable queues of `topic`, sorted by broker name then queue id: the list a queue
    /// selector chooses from, as the next send would see it.
    #[napi(ts_return_type = "Promise<NativeMessageQueue[]>")]
    pub async fn writable_queues(&self, topic: String) -> Fallible<Vec<NativeMessageQueue>> {
        self.inner
            .writable_queues(&topic)
            .await
            .map(|queues| {
                queues
                    .iter()
                    .map(|queue| NativeMessageQueue {
                        topic: queue.topic.clone(),
                        broker_name: queue.broker_name.clone(),
                        queue_id: queue.queue_id,
                    })
                    .collect()
            })
            .fallible()
    }
}

/// A topic problem of the trace topic is a problem of the configuration, named by its field.
fn as_config_error(field: &str, err: ClientError) -> ClientError {
    match err {
        ClientError::Validation(message) => ClientError::Config(format!("{field}: {message}")),
        other => other,
    }
}
