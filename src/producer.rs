//! `NativeProducer`: the engine's producer as a JavaScript class.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Function, PromiseRaw};
use napi::{Env, Unknown};
use napi_derive::napi;
use rocketmq_client::{ClientError, OutgoingMessage, Producer, ProducerConfig, SendResult};

use crate::completions::Completions;
use crate::error::{config_error, to_js_message, IntoNapi};

/// How long `shutdown()` waits for sends still in flight to settle before it lets go of
/// the completion callback; the engine fails them quickly once it is shut down.
const SHUTDOWN_SETTLE_WAIT: Duration = Duration::from_secs(10);

/// Producer settings; unset fields take the Java producer's defaults.
#[napi(object)]
pub struct NativeProducerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    pub producer_group: String,
    /// Budget for one send, route lookups and retries included. Default 3000.
    pub send_msg_timeout_ms: Option<u32>,
    /// Extra attempts on another broker after a failure. Default 2.
    pub retry_times_when_send_failed: Option<u32>,
    /// Bodies of this many bytes or more are zlib-compressed. Default 4096.
    pub compress_msg_body_over_howmuch: Option<u32>,
    /// Largest body accepted. Default 4194304.
    pub max_message_size: Option<u32>,
    /// Part of the client id (`ip@instanceName[@unitName]`). Default: the process id, so
    /// that the producers and admins of a process share one client instance.
    pub instance_name: Option<String>,
    /// Appended to the client id when set.
    pub unit_name: Option<String>,
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
    pub delay_level: Option<i32>,
    pub flag: Option<i32>,
}

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

/// The outcome of one staged message, delivered in batches to the completion callback.
#[napi(object)]
pub struct NativeSendCompletion {
    /// The id JavaScript gave the message when staging it.
    pub id: u32,
    pub result: Option<NativeSendResult>,
    /// `"ERR_CODE: reason"`, as rejected promises carry it.
    pub error: Option<String>,
}

impl NativeSendCompletion {
    fn new(id: u32, outcome: Result<SendResult, ClientError>) -> Self {
        match outcome {
            Ok(result) => NativeSendCompletion {
                id,
                result: Some(result.into()),
                error: None,
            },
            Err(err) => NativeSendCompletion {
                id,
                result: None,
                error: Some(to_js_message(&err)),
            },
        }
    }
}

impl From<NativeMessage> for OutgoingMessage {
    fn from(message: NativeMessage) -> Self {
        let mut properties: Vec<(String, String)> =
            message.properties.unwrap_or_default().into_iter().collect();
        // Stable order makes the encoded properties deterministic.
        properties.sort();
        OutgoingMessage {
            topic: message.topic,
            // A copy made on the JS thread (see `send`): the user may reuse the Buffer.
            body: Bytes::copy_from_slice(&message.body),
            tags: message.tags,
            keys: message.keys.unwrap_or_default(),
            properties,
            delay_level: message.delay_level.unwrap_or(0),
            flag: message.flag.unwrap_or(0),
        }
    }
}

/// Sends messages to RocketMQ brokers.
#[napi]
pub struct NativeProducer {
    inner: Arc<Producer>,
    completions: Arc<Completions<NativeSendCompletion>>,
    /// Messages taken by `stage` and not yet flushed, with their ids.
    staged: Mutex<Vec<(u32, OutgoingMessage)>>,
}

#[napi]
impl NativeProducer {
    /// Validates the configuration; connects only on `start()`. `onComplete` receives the
    /// outcomes of staged messages, many per call.
    #[napi(constructor)]
    pub fn new(
        config: NativeProducerConfig,
        #[napi(ts_arg_type = "(completions: NativeSendCompletion[]) => void")]
        on_complete: Function<'_, Vec<NativeSendCompletion>, Unknown<'static>>,
    ) -> napi::Result<Self> {
        crate::logger::install_default();
        let defaults = ProducerConfig::default();
        if config.send_msg_timeout_ms == Some(0) {
            return Err(config_error("sendMsgTimeout must be positive"));
        }
        let engine_config = ProducerConfig {
            namesrv_addr: config.namesrv_addr,
            group: config.producer_group,
            send_timeout: config
                .send_msg_timeout_ms
                .map_or(defaults.send_timeout, |ms| Duration::from_millis(ms.into())),
            retry_times: config
                .retry_times_when_send_failed
                .unwrap_or(defaults.retry_times),
            compress_over: config
                .compress_msg_body_over_howmuch
                .map_or(defaults.compress_over, |n| n as usize),
            max_message_size: config
                .max_message_size
                .map_or(defaults.max_message_size, |n| n as usize),
            instance_name: config.instance_name,
            unit_name: config.unit_name,
            ..defaults
        };
        Ok(NativeProducer {
            inner: Arc::new(Producer::new(engine_config).into_napi()?),
            completions: Arc::new(Completions::new(on_complete)?),
            staged: Mutex::new(Vec::new()),
        })
    }

    /// Joins the process's client instance and registers the group with the brokers;
    /// sends are possible afterwards.
    #[napi]
    pub async fn start(&self) -> napi::Result<()> {
        self.inner.start().await.into_napi()
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

    /// Takes `message` for the next [`flush`](Self::flush), under `id`: its outcome reaches
    /// `onComplete` with that id. The body is copied here, on the JavaScript thread, so a
    /// caller that reuses its Buffer right after sending cannot change what is sent.
    #[napi]
    pub fn stage(&self, message: NativeMessage, id: u32) {
        let message = OutgoingMessage::from(message);
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, message));
    }

    /// Sends every staged message, each on its own (not as a batch). One flush for all the
    /// sends of a turn of the event loop costs one wake-up of the runtime, not one per message.
    /// Throws (and drops what was staged) once the producer has shut down.
    #[napi]
    pub fn flush(&self) -> napi::Result<()> {
        let staged = std::mem::take(&mut *self.staged.lock().unwrap_or_else(|p| p.into_inner()));
        if self.completions.is_released() {
            return Err(crate::error::to_js_error(ClientError::State(
                "producer has been shut down".into(),
            )));
        }
        if staged.is_empty() {
            return Ok(());
        }
        self.completions.begin(staged.len());
        let producer = Arc::clone(&self.inner);
        let completions = Arc::clone(&self.completions);
        napi::bindgen_prelude::spawn(async move {
            let mut staged = staged.into_iter();
            let Some((first_id, first)) = staged.next() else {
                return;
            };
            for (id, message) in staged {
                let producer = Arc::clone(&producer);
                let completions = Arc::clone(&completions);
                tokio::spawn(async move {
                    let outcome = producer.send(message).await;
                    completions.complete(NativeSendCompletion::new(id, outcome));
                });
            }
            // The first message goes out from this task: no extra hop for a lone send.
            let outcome = producer.send(first).await;
            completions.complete(NativeSendCompletion::new(first_id, outcome));
        });
        Ok(())
    }

    /// Sends messages of one topic as one batch to one queue. Bodies are copied before
    /// the call returns, as for `send()`.
    #[napi(ts_return_type = "Promise<NativeSendResult>")]
    pub fn send_batch<'env>(
        &self,
        env: &'env Env,
        messages: Vec<NativeMessage>,
    ) -> napi::Result<PromiseRaw<'env, NativeSendResult>> {
        let messages: Vec<OutgoingMessage> =
            messages.into_iter().map(OutgoingMessage::from).collect();
        let producer = Arc::clone(&self.inner);
        env.spawn_future(async move {
            producer
                .send_batch(messages)
                .await
                .map(Into::into)
                .into_napi()
        })
    }
}
