//! `NativeProducer`: the engine's producer as a JavaScript class.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use rocketmq_client::{OutgoingMessage, Producer, ProducerConfig, SendResult};

use crate::error::{config_error, IntoNapi};

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
}

#[napi]
impl NativeProducer {
    /// Validates the configuration; connects only on `start()`.
    #[napi(constructor)]
    pub fn new(config: NativeProducerConfig) -> napi::Result<Self> {
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
        })
    }

    /// Joins the process's client instance and registers the group with the brokers;
    /// sends are possible afterwards.
    #[napi]
    pub async fn start(&self) -> napi::Result<()> {
        self.inner.start().await.into_napi()
    }

    /// Unregisters the group and leaves the client instance (the last member out closes
    /// the connections).
    #[napi]
    pub async fn shutdown(&self) -> napi::Result<()> {
        self.inner.shutdown().await;
        Ok(())
    }

    /// `ip@instanceName[@unitName]`, once started; null before.
    #[napi(getter)]
    pub fn client_id(&self) -> Option<String> {
        self.inner.client_id()
    }

    /// Sends one message.
    ///
    /// Not an `async fn`: the body is copied here, on the JavaScript thread, before the call
    /// returns, so a caller that reuses its Buffer right after `send()` cannot change what is
    /// sent (an async fn would read it later, from another thread).
    #[napi(ts_return_type = "Promise<NativeSendResult>")]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        message: NativeMessage,
    ) -> napi::Result<PromiseRaw<'env, NativeSendResult>> {
        let message = OutgoingMessage::from(message);
        let producer = Arc::clone(&self.inner);
        env.spawn_future(async move { producer.send(message).await.map(Into::into).into_napi() })
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
