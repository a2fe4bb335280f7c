//! Administrative calls used by tests, the demo and the benchmark: create a topic on
//! every master, read queue offsets, see which producers a broker knows.
//!
//! The admin is a member of the process's [`ClientInstance`], like producers: with the same
//! NameServer list and instance name it uses the producers' connections.

use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::debug;
use rocketmq_remoting::body::{ClientConnection, ProducerConnection, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    CreateTopicRequestHeader, DecodeHeader, EncodeHeader, GetMaxOffsetRequestHeader,
    GetMinOffsetRequestHeader, GetProducerConnectionListRequestHeader, OffsetResponseHeader,
    ViewMessageRequestHeader,
};
use rocketmq_remoting::message::{decode_message, decode_offset_msg_id, MessageExt};
use rocketmq_remoting::RemotingCommand;
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, InstanceConfig};
use crate::validation::{
    shown, validate_client_names, validate_group_argument, validate_setting, validate_topic,
};

/// Range of `timeoutMs`: a positive Java `int` of milliseconds.
pub const TIMEOUT_MS_RANGE: RangeInclusive<i64> = 1..=i32::MAX as i64;
/// Range of `queueNums` when creating a topic.
pub const QUEUE_NUMS_RANGE: RangeInclusive<i64> = 1..=1024;
/// Range of permission bits: inherit (1), write (2), read (4).
pub const PERM_RANGE: RangeInclusive<i64> = 0..=7;

/// How often a new topic's route is polled until every master shows it.
const ROUTE_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What [`Admin::create_topic`] creates.
#[derive(Debug, Clone)]
pub struct CreateTopicOptions {
    /// Topic name.
    pub topic: String,
    /// Read and write queue count on each master.
    pub queue_nums: i32,
    /// Permission bits; 6 = read + write.
    pub perm: i32,
    /// Whether the topic is an order topic.
    pub order: bool,
}

/// Admin settings.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Java's `instanceName`. Default: the process id, shared with the process's producers.
    pub instance_name: Option<String>,
    /// Java's `unitName`.
    pub unit_name: Option<String>,
    /// ACL credentials requests are signed with (`accessKey` / `secretKey` /
    /// `securityToken`); none for a cluster without ACL.
    pub credentials: Option<crate::acl::Credentials>,
    /// TLS for every connection (`tls` setting); `None` for plain TCP.
    pub tls: Option<crate::tls::TlsConfig>,
}

/// One producer connection a broker lists for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerProducerConnection {
    /// The broker that holds the connection.
    pub broker_name: String,
    /// The connection as the broker describes it.
    pub connection: ClientConnection,
}

/// Admin operations over a NameServer and its brokers.
pub struct Admin {
    instance_config: InstanceConfig,
    timeout: Duration,
    /// Joined on first use, left by `close`.
    instance: Mutex<Option<Arc<ClientInstance>>>,
    /// Serialises joining, so concurrent first calls join once.
    joining: tokio::sync::Mutex<()>,
    /// The runtime of the first call, for an admin dropped without `close`.
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
}

impl Drop for Admin {
    /// An admin dropped without `close()` (a collected JavaScript object) still leaves its
    /// instance, so that the instance can close once unused.
    fn drop(&mut self) {
        let instance = self.lock_instance().take();
        if let (Some(instance), Some(runtime)) = (instance, self.runtime.get()) {
            runtime.spawn(async move { instance.release().await });
        }
    }
}

/// An integer argument `field` of a call, in `range`.
fn argument_in_range(field: &str, value: i32, range: RangeInclusive<i64>) -> Result<()> {
    validate_setting(field, value.into(), range)
        .map_err(|err| ClientError::Validation(err.to_string()))
}

impl Admin {
    /// Validates `config`; connects on first use.
    pub fn new(config: AdminConfig) -> Result<Self> {
        validate_setting(
            "timeoutMs",
            i64::try_from(config.timeout.as_millis()).unwrap_or(i64::MAX),
            TIMEOUT_MS_RANGE,
        )?;
        validate_client_names(config.instance_name.as_deref(), config.unit_name.as_deref())?;
        let instance_config = InstanceConfig::new(&config.namesrv_addr)?
            .with_names(config.instance_name.as_deref(), config.unit_name.as_deref())
            .with_tls(config.tls.clone())
            .with_credentials(config.credentials);
        Ok(Admin {
            instance_config,
            timeout: config.timeout,
            instance: Mutex::new(None),
            joining: tokio::sync::Mutex::new(()),
            runtime: std::sync::OnceLock::new(),
        })
    }

    /// The client id of the instance the admin uses, once a call joined it.
    pub fn client_id(&self) -> Option<String> {
        self.lock_instance()
            .as_ref()
            .map(|instance| instance.client_id().to_owned())
    }

    /// The instance, joined on first use (again after `close`).
    pub async fn instance(&self) -> Result<Arc<ClientInstance>> {
        if let Some(instance) = self.lock_instance().clone() {
            return Ok(instance);
        }
        let _joining = self.joining.lock().await;
        if let Some(instance) = self.lock_instance().clone() {
            return Ok(instance);
        }
        let instance = ClientInstance::acquire(self.instance_config.clone()).await?;
        let _ = self.runtime.set(tokio::runtime::Handle::current());
        *self.lock_instance() = Some(instance.clone());
        Ok(instance)
    }

    fn lock_instance(&self) -> std::sync::MutexGuard<'_, Option<Arc<ClientInstance>>> {
        self.instance.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn request(&self, addr: &str, command: RemotingCommand) -> Result<RemotingCommand> {
        self.instance()
            .await?
            .remoting()
            .request(addr, command, self.timeout)
            .await
    }

    /// UPDATE_AND_CREATE_TOPIC on every master the NameServer knows, then waits until the
    /// topic's route shows `queue_nums` queues on each of them. Returns the broker names.
    pub async fn create_topic(&self, options: &CreateTopicOptions) -> Result<Vec<String>> {
        validate_topic(&options.topic)?;
        argument_in_range("queueNums", options.queue_nums, QUEUE_NUMS_RANGE)?;
        argument_in_range("perm", options.perm, PERM_RANGE)?;
        let masters = self.masters().await?;
        if masters.is_empty() {
            return Err(ClientError::BrokerNotAvailable(
                "the NameServer knows no master broker".into(),
            ));
        }
        let mut header = CreateTopicRequestHeader::normal(&options.topic, options.queue_nums);
        header.perm = options.perm;
        header.order = options.order;
        for (broker_name, addr) in &masters {
            let answer = self
                .request(
                    addr,
                    RemotingCommand::request(
                        request::UPDATE_AND_CREATE_TOPIC,
                        header.to_ext_fields(),
                    ),
                )
                .await?;
            if answer.code != response::SUCCESS {
                return Err(ClientError::BrokerResponse {
                    message: format!(
                        "creating topic {} on {broker_name} failed: {}",
                        options.topic,
                        answer.remark.unwrap_or_default()
                    ),
                    code: answer.code,
                });
            }
        }
        let names: Vec<String> = masters.into_iter().map(|(name, _)| name).collect();
        self.wait_for_route(&options.topic, &names, options.queue_nums)
            .await?;
        Ok(names)
    }

    /// The topic's route as the NameServer has it now.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        validate_topic(topic)?;
        self.instance().await?.namesrv().topic_route(topic).await
    }

    /// GET_PRODUCER_CONNECTION_LIST on every master: the producers of `group` each broker
    /// knows (from their heartbeats). A broker that does not know the group contributes
    /// nothing.
    pub async fn producer_connections(&self, group: &str) -> Result<Vec<BrokerProducerConnection>> {
        validate_group_argument("producerGroup", group)?;
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_owned(),
        };
        let mut connections = Vec::new();
        for (broker_name, addr) in self.masters().await? {
            let answer = self
                .request(
                    &addr,
                    RemotingCommand::request(
                        request::GET_PRODUCER_CONNECTION_LIST,
                        header.to_ext_fields(),
                    ),
                )
                .await?;
            match answer.code {
                response::SUCCESS => {
                    let listed = ProducerConnection::decode(&answer.body)?;
                    connections.extend(listed.connection_set.into_iter().map(|connection| {
                        BrokerProducerConnection {
                            broker_name: broker_name.clone(),
                            connection,
                        }
                    }));
                }
                // The broker's answer for a group without connections ("... not exist").
                response::SYSTEM_ERROR => debug!(
                    "{broker_name} lists no producer of {group}: {}",
                    answer.remark.unwrap_or_default()
                ),
                code => {
                    return Err(ClientError::BrokerResponse {
                        message: format!(
                            "listing producers of {group} on {broker_name} failed: {}",
                            answer.remark.unwrap_or_default()
                        ),
                        code,
                    })
                }
            }
        }
        Ok(connections)
    }

    /// Every master the NameServer knows: (broker name, address).
    async fn masters(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .instance()
            .await?
            .namesrv()
            .cluster_info()
            .await?
            .masters())
    }

    /// GET_MAX_OFFSET: the offset one past the last message of a queue.
    pub async fn max_offset(&self, topic: &str, broker_name: &str, queue_id: i32) -> Result<i64> {
        argument_in_range("queueId", queue_id, 0..=i32::MAX as i64)?;
        let header = GetMaxOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            ..Default::default()
        };
        self.offset_query(
            topic,
            broker_name,
            request::GET_MAX_OFFSET,
            header.to_ext_fields(),
        )
        .await
    }

    /// GET_MIN_OFFSET: the smallest offset still stored in a queue.
    pub async fn min_offset(&self, topic: &str, broker_name: &str, queue_id: i32) -> Result<i64> {
        argument_in_range("queueId", queue_id, 0..=i32::MAX as i64)?;
        let header = GetMinOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            ..Default::default()
        };
        self.offset_query(
            topic,
            broker_name,
            request::GET_MIN_OFFSET,
            header.to_ext_fields(),
        )
        .await
    }

    /// Reads one stored message back by its offsetMsgId (VIEW_MESSAGE_BY_ID), from the
    /// broker whose address the id carries. Bodies come back decompressed.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (store_host, commit_log_offset) =
            decode_offset_msg_id(offset_msg_id).map_err(|_| {
                ClientError::Validation(format!(
                    "offsetMsgId {} is not an offsetMsgId: 32 (IPv4) or 56 (IPv6) hex digits",
                    shown(offset_msg_id)
                ))
            })?;
        let header = ViewMessageRequestHeader {
            offset: commit_log_offset,
            topic: None,
        };
        let addr = store_host.to_string();
        let answer = self
            .request(
                &addr,
                RemotingCommand::request(request::VIEW_MESSAGE_BY_ID, header.to_ext_fields()),
            )
            .await?;
        if answer.code != response::SUCCESS {
            return Err(ClientError::BrokerResponse {
                message: format!(
                    "reading message {offset_msg_id} from {addr} failed: {}",
                    answer.remark.unwrap_or_default()
                ),
                code: answer.code,
            });
        }
        Ok(decode_message(&answer.body)?)
    }

    /// Leaves the client instance; the last member out closes the connections. A later
    /// call joins again.
    pub async fn close(&self) {
        let _joining = self.joining.lock().await;
        let instance = self.lock_instance().take();
        if let Some(instance) = instance {
            instance.release().await;
        }
    }

    async fn offset_query(
        &self,
        topic: &str,
        broker_name: &str,
        code: i32,
        fields: rocketmq_remoting::ExtFields,
    ) -> Result<i64> {
        if broker_name.is_empty() {
            return Err(ClientError::Validation(
                "brokerName \"\" must not be empty".into(),
            ));
        }
        let route = self.topic_route(topic).await?;
        let addr = route.master_addr(broker_name).ok_or_else(|| {
            ClientError::BrokerNotAvailable(format!(
                "no master address for broker {broker_name} in the route of {topic}"
            ))
        })?;
        let answer = self
            .request(addr, RemotingCommand::request(code, fields))
            .await?;
        if answer.code != response::SUCCESS {
            return Err(ClientError::BrokerResponse {
                message: format!(
                    "offset query for {topic}@{broker_name} failed: {}",
                    answer.remark.unwrap_or_default()
                ),
                code: answer.code,
            });
        }
        Ok(OffsetResponseHeader::from_ext_fields(&answer.ext_fields)?.offset)
    }

    async fn wait_for_route(&self, topic: &str, brokers: &[String], queue_nums: i32) -> Result<()> {
        // The broker registers the new topic with the NameServer right after creating it;
        // the route shows it within a moment. Poll rather than sleep a fixed time.
        let deadline = Instant::now() + self.timeout.max(Duration::from_secs(10));
        loop {
            match self.topic_route(topic).await {
                Ok(route) if route_covers(&route, brokers, queue_nums) => return Ok(()),
                Ok(_) | Err(ClientError::TopicNotFound { .. }) => {}
                Err(err) => return Err(err),
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    what: format!("waiting for the route of new topic {topic}"),
                    timeout_ms: self.timeout.max(Duration::from_secs(10)).as_millis() as u64,
                    addr: None,
                });
            }
            tokio::time::sleep(ROUTE_POLL_INTERVAL).await;
        }
    }
}

fn route_covers(route: &TopicRouteData, brokers: &[String], queue_nums: i32) -> bool {
    brokers.iter().all(|name| {
        route.queue_datas.iter().any(|qd| {
            &qd.broker_name == name
                && qd.read_queue_nums == queue_nums
                && qd.write_queue_nums == queue_nums
        }) && route.master_addr(name).is_some()
    })
}
