//! `NativeSimpleConsumer`: receive / ack / change invisible duration over 5.x brokers' POP
//! commands (the engine's `simple_consumer`), for the rocketmq-client-nodejs compatible
//! `SimpleConsumer`.
//!
//! Namespaces are applied here, at the edge: the engine's POP client knows only the names the
//! brokers use, so the binding wraps the group and every topic it is given
//! (`<namespace>%<name>`) and unwraps the topics of what it returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi::Env;
use napi_derive::napi;
use rocketmq_client::acl::Credentials;
use rocketmq_client::namespace;
use rocketmq_client::simple_consumer::{
    PopFilter, PoppedHandle, PoppedMessage, SimpleConsumer, SimpleConsumerConfig,
    INVISIBLE_MS_RANGE, MAX_MESSAGES_PER_RECEIVE,
};
use rocketmq_client::validation::{argument_integer, config_integer};
use rocketmq_client::ClientError;

use crate::error::{js_error, Fallible, IntoFallible};

/// Settings of a simple consumer.
#[napi(object)]
pub struct NativeSimpleConsumerConfig {
    /// NameServers, `host:port;host:port`.
    pub namesrv_addr: String,
    pub consumer_group: String,
    /// Part of the client id; default the process id.
    pub instance_name: Option<String>,
    pub unit_name: Option<String>,
    /// How long a receive may wait when nothing is there. Default 30000.
    pub await_duration_ms: Option<f64>,
    /// Budget of one request besides that wait. Default 3000.
    pub request_timeout_ms: Option<f64>,
    /// ACL access key; with `secretKey`, every request is signed.
    pub access_key: Option<String>,
    /// ACL secret key; never logged or shown in errors.
    pub secret_key: Option<String>,
    /// ACL security token (temporary credentials); only with the two keys.
    pub security_token: Option<String>,
    /// Java's `namespace`: the group and topics are `<namespace>%<name>` on the brokers.
    pub namespace: Option<String>,
    /// TLS for every connection (see `src/tls.rs`); unset for plain TCP.
    pub tls: Option<crate::tls::NativeTls>,
}

/// A popped message with its receipt handle.
#[napi(object)]
pub struct NativePoppedMessage {
    pub topic: String,
    pub body: Buffer,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    /// Every property, the system ones included.
    pub properties: HashMap<String, String>,
    /// Client id (UNIQ_KEY), else the offsetMsgId.
    pub msg_id: String,
    pub offset_msg_id: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub born_timestamp: i64,
    /// `ip:port` of the producer.
    pub born_host: String,
    pub store_timestamp: i64,
    /// `ip:port` of the broker.
    pub store_host: String,
    /// Deliveries before this one.
    pub reconsume_times: i32,
    pub flag: i32,
    pub receipt_handle: String,
    /// When it becomes visible again unless acknowledged, ms since the epoch.
    pub invisible_until: i64,
}

impl From<PoppedMessage> for NativePoppedMessage {
    fn from(popped: PoppedMessage) -> Self {
        let message = popped.message;
        NativePoppedMessage {
            tags: message.tags().map(str::to_owned),
            keys: message.keys().map(str::to_owned).collect(),
            msg_id: message.msg_id().to_owned(),
            body: Buffer::from(message.body.to_vec()),
            born_host: message.born_host.to_string(),
            store_host: message.store_host.to_string(),
            topic: message.topic,
            properties: message.properties.into_iter().collect(),
            offset_msg_id: message.offset_msg_id,
            broker_name: message.broker_name,
            queue_id: message.queue_id,
            queue_offset: message.queue_offset,
            commit_log_offset: message.commit_log_offset,
            born_timestamp: message.born_timestamp,
            store_timestamp: message.store_timestamp,
            reconsume_times: message.reconsume_times,
            flag: message.flag,
            receipt_handle: popped.receipt_handle,
            invisible_until: popped.invisible_until,
        }
    }
}

/// A renewed receipt handle.
#[napi(object)]
pub struct NativePoppedHandle {
    pub receipt_handle: String,
    pub invisible_until: i64,
}

impl From<PoppedHandle> for NativePoppedHandle {
    fn from(handle: PoppedHandle) -> Self {
        NativePoppedHandle {
            receipt_handle: handle.receipt_handle,
            invisible_until: handle.invisible_until,
        }
    }
}

fn duration_setting(
    field: &str,
    value: Option<f64>,
    default_ms: u64,
) -> Result<Duration, ClientError> {
    match value {
        None => Ok(Duration::from_millis(default_ms)),
        Some(ms) => config_integer(field, ms, 0..=i32::MAX as i64)
            .map(|ms| Duration::from_millis(ms as u64)),
    }
}

fn invisible_argument(value: f64) -> Result<Duration, ClientError> {
    argument_integer("invisibleDuration", value, INVISIBLE_MS_RANGE)
        .map(|ms| Duration::from_millis(ms as u64))
}

/// The POP client of one consumer group.
#[napi]
pub struct NativeSimpleConsumer {
    inner: Arc<SimpleConsumer>,
    /// The effective namespace (a blank setting is none).
    namespace: Option<String>,
}

impl NativeSimpleConsumer {
    /// `topic` as the brokers know it.
    fn wrapped(&self, topic: &str) -> String {
        namespace::wrap(self.namespace.as_deref(), topic)
    }

    /// A popped message as JavaScript sees it: its topic without the namespace.
    fn shown(&self, popped: PoppedMessage) -> NativePoppedMessage {
        let mut shown = NativePoppedMessage::from(popped);
        shown.topic = namespace::unwrap(self.namespace.as_deref(), &shown.topic);
        shown
    }
}

#[napi]
impl NativeSimpleConsumer {
    /// Validates the configuration; connects at `start()`.
    #[napi(constructor)]
    pub fn new(env: &Env, config: NativeSimpleConsumerConfig) -> napi::Result<Self> {
        crate::logger::install_default();
        let engine = (|| {
            let ns = namespace::effective(config.namespace.as_deref()).map(str::to_owned);
            if let Some(ns) = &ns {
                namespace::validate_namespace(ns)?;
            }
            let credentials = Credentials::from_settings(
                config.access_key.as_deref(),
                config.secret_key.as_deref(),
                config.security_token.as_deref(),
            )?;
            let await_duration =
                duration_setting("awaitDuration", config.await_duration_ms, 30_000)?;
            let request_timeout =
                duration_setting("requestTimeout", config.request_timeout_ms, 3_000)?;
            let consumer = SimpleConsumer::new(SimpleConsumerConfig {
                namesrv_addr: config.namesrv_addr,
                instance_name: config.instance_name,
                unit_name: config.unit_name,
                consumer_group: namespace::wrap(ns.as_deref(), &config.consumer_group),
                await_duration,
                request_timeout,
                credentials,
                tls: crate::tls::tls_config(config.tls.as_ref())?,
            })?;
            Ok::<_, ClientError>((consumer, ns))
        })()
        .map_err(|err| js_error(env, err))?;
        let (engine, effective_namespace) = engine;
        Ok(NativeSimpleConsumer {
            inner: Arc::new(engine),
            namespace: effective_namespace,
        })
    }

    /// Joins the client instance and loads the routes of `topics` (TopicNotFound for one the
    /// NameServers do not know).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self, topics: Vec<String>) -> Fallible<()> {
        let topics: Vec<String> = topics.iter().map(|t| self.wrapped(t)).collect();
        self.inner.start(&topics).await.fallible()
    }

    /// Pops up to `max` (1..=32) messages of `topic` matching the expression (`TAG` or
    /// `SQL92`), hidden from the group for `invisibleMs`. Empty when nothing came within the
    /// await duration.
    #[napi(ts_return_type = "Promise<Array<NativePoppedMessage>>")]
    pub async fn receive(
        &self,
        topic: String,
        expression_type: String,
        expression: String,
        max: f64,
        invisible_ms: f64,
    ) -> Fallible<Vec<NativePoppedMessage>> {
        let arguments = (|| {
            let max =
                argument_integer("maxMessageNum", max, 1..=MAX_MESSAGES_PER_RECEIVE.into())? as i32;
            Ok::<_, ClientError>((
                PopFilter::new(&expression_type, &expression)?,
                max,
                invisible_argument(invisible_ms)?,
            ))
        })();
        let (filter, max, invisible) = match arguments {
            Ok(arguments) => arguments,
            Err(err) => return Err(err).fallible(),
        };
        self.inner
            .receive(&self.wrapped(&topic), &filter, max, invisible)
            .await
            .map(|popped| popped.into_iter().map(|p| self.shown(p)).collect())
            .fallible()
    }

    /// Acknowledges a message of `topic` by its receipt handle.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn ack(&self, topic: String, receipt_handle: String) -> Fallible<()> {
        self.inner
            .ack(&self.wrapped(&topic), &receipt_handle)
            .await
            .fallible()
    }

    /// Hides a message again for `invisibleMs` from now; returns its new receipt handle.
    #[napi(ts_return_type = "Promise<NativePoppedHandle>")]
    pub async fn change_invisible_duration(
        &self,
        topic: String,
        receipt_handle: String,
        invisible_ms: f64,
    ) -> Fallible<NativePoppedHandle> {
        let invisible = match invisible_argument(invisible_ms) {
            Ok(invisible) => invisible,
            Err(err) => return Err(err).fallible(),
        };
        self.inner
            .change_invisible_duration(&self.wrapped(&topic), &receipt_handle, invisible)
            .await
            .map(Into::into)
            .fallible()
    }

    /// Leaves the client instance; received and unacknowledged messages come back to the
    /// group after their invisible duration.
    #[napi]
    pub async fn shutdown(&self) -> napi::Result<()> {
        self.inner.shutdown().await;
        Ok(())
    }
}
