//! Administrative calls used by tests, the demo and the benchmark: create a topic on
//! every master, read queue offsets.

use std::sync::Arc;
use std::time::Duration;

use rocketmq_remoting::body::TopicRouteData;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    CreateTopicRequestHeader, DecodeHeader, EncodeHeader, GetMaxOffsetRequestHeader,
    GetMinOffsetRequestHeader, OffsetResponseHeader, ViewMessageRequestHeader,
};
use rocketmq_remoting::message::{decode_message, decode_offset_msg_id, MessageExt};
use rocketmq_remoting::RemotingCommand;
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::namesrv::NameServerClient;
use crate::remoting_client::RemotingClient;
use crate::validation::validate_topic;

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

/// Admin operations over a NameServer and its brokers.
pub struct Admin {
    remoting: RemotingClient,
    namesrv: Arc<NameServerClient>,
    timeout: Duration,
}

impl Admin {
    /// Admin calls with `timeout` per request.
    pub fn new(
        remoting: RemotingClient,
        namesrv: Arc<NameServerClient>,
        timeout: Duration,
    ) -> Self {
        Admin {
            remoting,
            namesrv,
            timeout,
        }
    }

    /// UPDATE_AND_CREATE_TOPIC on every master the NameServer knows, then waits until the
    /// topic's route shows `queue_nums` queues on each of them. Returns the broker names.
    pub async fn create_topic(&self, options: &CreateTopicOptions) -> Result<Vec<String>> {
        validate_topic(&options.topic)?;
        if !(1..=1024).contains(&options.queue_nums) {
            return Err(ClientError::Validation(format!(
                "queueNums must be 1..1024, got {}",
                options.queue_nums
            )));
        }
        let masters = self.namesrv.cluster_info().await?.masters();
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
                .remoting
                .request(
                    addr,
                    RemotingCommand::request(
                        request::UPDATE_AND_CREATE_TOPIC,
                        header.to_ext_fields(),
                    ),
                    self.timeout,
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
        self.namesrv.topic_route(topic).await
    }

    /// GET_MAX_OFFSET: the offset one past the last message of a queue.
    pub async fn max_offset(&self, topic: &str, broker_name: &str, queue_id: i32) -> Result<i64> {
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
                ClientError::Validation(format!("{offset_msg_id:?} is not an offsetMsgId"))
            })?;
        let header = ViewMessageRequestHeader {
            offset: commit_log_offset,
            topic: None,
        };
        let addr = store_host.to_string();
        let answer = self
            .remoting
            .request(
                &addr,
                RemotingCommand::request(request::VIEW_MESSAGE_BY_ID, header.to_ext_fields()),
                self.timeout,
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

    /// Closes the admin's connections.
    pub fn close(&self) {
        self.remoting.close_all();
    }

    async fn offset_query(
        &self,
        topic: &str,
        broker_name: &str,
        code: i32,
        fields: rocketmq_remoting::ExtFields,
    ) -> Result<i64> {
        let route = self.namesrv.topic_route(topic).await?;
        let addr = route.master_addr(broker_name).ok_or_else(|| {
            ClientError::BrokerNotAvailable(format!(
                "no master address for broker {broker_name} in the route of {topic}"
            ))
        })?;
        let answer = self
            .remoting
            .request(addr, RemotingCommand::request(code, fields), self.timeout)
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
            match self.namesrv.topic_route(topic).await {
                Ok(route) if route_covers(&route, brokers, queue_nums) => return Ok(()),
                Ok(_) | Err(ClientError::TopicNotFound { .. }) => {}
                Err(err) => return Err(err),
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    what: format!("waiting for the route of new topic {topic}"),
                    timeout_ms: self.timeout.max(Duration::from_secs(10)).as_millis() as u64,
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
