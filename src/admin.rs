//! `NativeAdmin`: topic creation, routes and queue offsets, for tests, demo and benchmark.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi::Env;
use napi_derive::napi;
use rocketmq_client::acl::Credentials;
use rocketmq_client::{Admin, AdminConfig, BrokerProducerConnection, CreateTopicOptions};
use rocketmq_remoting::body::TopicRouteData;
use rocketmq_remoting::message::MessageExt;

use rocketmq_client::admin::TIMEOUT_MS_RANGE;
use rocketmq_client::validation::{argument_integer, config_integer, JAVA_INT};
use rocketmq_client::{namespace, ClientError};

use crate::error::{js_error, Fallible, IntoFallible};

/// A number argument from JavaScript as the `i32` the engine takes (which checks its range).
fn int_argument(field: &str, value: f64) -> Result<i32, ClientError> {
    argument_integer(field, value, JAVA_INT).map(|n| n as i32)
}

/// Admin settings.
#[napi(object)]
pub struct NativeAdminConfig {
    pub namesrv_addr: String,
    /// Per-request timeout. Default 3000.
    pub timeout_ms: Option<f64>,
    /// Java's `namespace`: topics and groups are `<namespace>%<name>` on the cluster; the
    /// calls take and show bare names.
    pub namespace: Option<String>,
    /// Part of the client id; default the process id (shared with the process's producers).
    pub instance_name: Option<String>,
    /// Appended to the client id when set.
    pub unit_name: Option<String>,
    /// ACL access key; with `secret_key` every request is signed (see `crates/client/src/acl.rs`).
    pub access_key: Option<String>,
    /// ACL secret key. Never logged, never in an error message.
    pub secret_key: Option<String>,
    /// ACL security token (temporary credentials); only with the two keys.
    pub security_token: Option<String>,
    /// TLS for every connection (see `src/tls.rs`); unset for plain TCP.
    pub tls: Option<crate::tls::NativeTls>,
}

/// A producer connection a broker knows.
#[napi(object)]
pub struct NativeProducerConnection {
    /// The broker holding the connection.
    pub broker_name: String,
    /// The producer's client id.
    pub client_id: String,
    /// The producer's address as the broker sees it.
    pub client_addr: String,
    /// The producer's language, e.g. 'JAVA'.
    pub language: String,
    /// The producer's protocol version number.
    pub version: i32,
}

impl From<BrokerProducerConnection> for NativeProducerConnection {
    fn from(listed: BrokerProducerConnection) -> Self {
        NativeProducerConnection {
            broker_name: listed.broker_name,
            client_id: listed.connection.client_id,
            client_addr: listed.connection.client_addr,
            language: listed.connection.language,
            version: listed.connection.version,
        }
    }
}

/// What `createTopic` creates.
#[napi(object)]
pub struct NativeCreateTopicOptions {
    pub topic: String,
    /// Read and write queues on each master.
    pub queue_nums: f64,
    /// Permission bits. Default 6 (read + write).
    pub perm: Option<f64>,
    pub order: Option<bool>,
}

/// One broker's share of a topic.
#[napi(object)]
pub struct NativeQueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

/// A broker group and its addresses.
#[napi(object)]
pub struct NativeBrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// brokerId ("0" = master) → "ip:port".
    pub broker_addrs: HashMap<String, String>,
}

/// A topic's route.
#[napi(object)]
pub struct NativeTopicRoute {
    pub queue_datas: Vec<NativeQueueData>,
    pub broker_datas: Vec<NativeBrokerData>,
    pub order_topic_conf: Option<String>,
}

impl From<TopicRouteData> for NativeTopicRoute {
    fn from(route: TopicRouteData) -> Self {
        NativeTopicRoute {
            queue_datas: route
                .queue_datas
                .into_iter()
                .map(|q| NativeQueueData {
                    broker_name: q.broker_name,
                    read_queue_nums: q.read_queue_nums,
                    write_queue_nums: q.write_queue_nums,
                    perm: q.perm,
                    topic_sys_flag: q.topic_sys_flag,
                })
                .collect(),
            broker_datas: route
                .broker_datas
                .into_iter()
                .map(|b| NativeBrokerData {
                    cluster: b.cluster,
                    broker_name: b.broker_name,
                    broker_addrs: b
                        .broker_addrs
                        .into_iter()
                        .map(|(id, addr)| (id.to_string(), addr))
                        .collect(),
                })
                .collect(),
            order_topic_conf: route.order_topic_conf,
        }
    }
}

/// A stored message as a broker returns it.
#[napi(object)]
pub struct NativeMessageView {
    pub topic: String,
    /// The body as the producer sent it (decompressed).
    pub body: Buffer,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    /// Every property, the system ones (TAGS, KEYS, UNIQ_KEY, ...) included.
    pub properties: HashMap<String, String>,
    /// Client id (UNIQ_KEY), else the offsetMsgId.
    pub msg_id: String,
    pub offset_msg_id: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub reconsume_times: i32,
    pub flag: i32,
}

impl From<MessageExt> for NativeMessageView {
    fn from(message: MessageExt) -> Self {
        NativeMessageView {
            tags: message.tags().map(str::to_owned),
            keys: message.keys().map(str::to_owned).collect(),
            msg_id: message.msg_id().to_owned(),
            body: Buffer::from(message.body.to_vec()),
            topic: message.topic,
            properties: message.properties.into_iter().collect(),
            offset_msg_id: message.offset_msg_id,
            queue_id: message.queue_id,
            queue_offset: message.queue_offset,
            commit_log_offset: message.commit_log_offset,
            born_timestamp: message.born_timestamp,
            store_timestamp: message.store_timestamp,
            reconsume_times: message.reconsume_times,
            flag: message.flag,
        }
    }
}

/// Administrative calls against a NameServer and its brokers.
#[napi]
pub struct NativeAdmin {
    inner: Arc<Admin>,
    /// The namespace setting, checked (None: none); see [`NativeAdminConfig::namespace`].
    namespace: Option<String>,
}

#[napi]
impl NativeAdmin {
    /// Validates the configuration; connects on first use.
    #[napi(constructor)]
    pub fn new(env: &Env, config: NativeAdminConfig) -> napi::Result<Self> {
        crate::logger::install_default();
        let namespace = namespace::effective(config.namespace.as_deref()).map(str::to_owned);
        if let Some(ns) = &namespace {
            namespace::validate_namespace(ns).map_err(|err| js_error(env, err))?;
        }
        let timeout = match config.timeout_ms {
            Some(ms) => Duration::from_millis(
                config_integer("timeoutMs", ms, TIMEOUT_MS_RANGE)
                    .map_err(|err| js_error(env, err))? as u64,
            ),
            None => Duration::from_secs(3),
        };
        let credentials = Credentials::from_settings(
            config.access_key.as_deref(),
            config.secret_key.as_deref(),
            config.security_token.as_deref(),
        )
        .map_err(|err| js_error(env, err))?;
        let tls = crate::tls::tls_config(config.tls.as_ref()).map_err(|err| js_error(env, err))?;
        let admin = Admin::new(AdminConfig {
            namesrv_addr: config.namesrv_addr,
            timeout,
            instance_name: config.instance_name,
            unit_name: config.unit_name,
            credentials,
            tls,
        })
        .map_err(|err| js_error(env, err))?;
        Ok(NativeAdmin {
            inner: Arc::new(admin),
            namespace,
        })
    }

    /// `err` naming topics and groups as the user gave them (without the namespace).
    fn shown_error(&self, err: ClientError) -> ClientError {
        namespace::shown_error(self.namespace.as_deref(), err)
    }

    /// `name` (a topic or group as given) as the cluster knows it.
    fn on_wire(&self, name: &str) -> String {
        namespace::wrap(self.namespace.as_deref(), name)
    }

    /// `ip@instanceName[@unitName]` of the client instance, once a call joined it; null
    /// before.
    #[napi(getter)]
    pub fn client_id(&self) -> Option<String> {
        self.inner.client_id()
    }

    /// The producers of `group` every master broker knows (GET_PRODUCER_CONNECTION_LIST).
    #[napi(ts_return_type = "Promise<Array<NativeProducerConnection>>")]
    pub async fn producer_connections(
        &self,
        group: String,
    ) -> Fallible<Vec<NativeProducerConnection>> {
        self.inner
            .producer_connections(&self.on_wire(&group))
            .await
            .map(|listed| listed.into_iter().map(Into::into).collect())
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Creates the topic on every master the NameServer knows and waits until the route
    /// shows it on all of them. Returns the broker names.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub async fn create_topic(&self, options: NativeCreateTopicOptions) -> Fallible<Vec<String>> {
        let numbers = int_argument("queueNums", options.queue_nums).and_then(|queue_nums| {
            Ok((
                queue_nums,
                options
                    .perm
                    .map_or(Ok(6), |perm| int_argument("perm", perm))?,
            ))
        });
        let (queue_nums, perm) = match numbers {
            Ok(numbers) => numbers,
            Err(err) => return Err(err).fallible(),
        };
        let options = CreateTopicOptions {
            topic: self.on_wire(&options.topic),
            queue_nums,
            perm,
            order: options.order.unwrap_or(false),
        };
        self.inner
            .create_topic(&options)
            .await
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// The topic's route as the NameServer has it now.
    #[napi(ts_return_type = "Promise<NativeTopicRoute>")]
    pub async fn get_topic_route(&self, topic: String) -> Fallible<NativeTopicRoute> {
        self.inner
            .topic_route(&self.on_wire(&topic))
            .await
            .map(Into::into)
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// The offset one past the last message of a queue.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn get_max_offset(
        &self,
        topic: String,
        broker_name: String,
        queue_id: f64,
    ) -> Fallible<i64> {
        let queue_id = match int_argument("queueId", queue_id) {
            Ok(queue_id) => queue_id,
            Err(err) => return Err(err).fallible(),
        };
        self.inner
            .max_offset(&self.on_wire(&topic), &broker_name, queue_id)
            .await
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// The smallest offset still stored in a queue.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn get_min_offset(
        &self,
        topic: String,
        broker_name: String,
        queue_id: f64,
    ) -> Fallible<i64> {
        let queue_id = match int_argument("queueId", queue_id) {
            Ok(queue_id) => queue_id,
            Err(err) => return Err(err).fallible(),
        };
        self.inner
            .min_offset(&self.on_wire(&topic), &broker_name, queue_id)
            .await
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Reads one stored message back by its offsetMsgId (`SendResult.offsetMsgId`).
    #[napi(ts_return_type = "Promise<NativeMessageView>")]
    pub async fn view_message(&self, offset_msg_id: String) -> Fallible<NativeMessageView> {
        self.inner
            .view_message(&offset_msg_id)
            .await
            .map(|mut message| {
                // Shown as a consumer in the namespace would show it.
                message.topic = namespace::unwrap(self.namespace.as_deref(), &message.topic);
                NativeMessageView::from(message)
            })
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Leaves the client instance; the last member out closes the connections.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.inner.close().await;
        Ok(())
    }
}
