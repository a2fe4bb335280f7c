//! RocketMQ client engine. Knows the protocol, not JavaScript.
//!
//! Layers, bottom up: [`transport`] (how bytes reach a peer), [`connection`] (one
//! multiplexed connection), [`remoting_client`] (a connection per address), then the
//! protocol clients built on it: [`namesrv`] and [`route_cache`], then [`instance`] (the
//! per-client-id core they share: connections, routes, heartbeats), [`admin`], [`producer`],
//! the push consumer's building blocks in [`consumer`], and [`processor`] (the requests
//! brokers send to clients, routed to the consumer group they name).
//! [`simple_consumer`] pops, acknowledges and hides messages with 5.x brokers' POP commands.
//! Beside them, [`log_buffer`] bounds the log records waiting for a batched consumer, and
//! [`metrics`] holds the counters and latency histograms of the `metrics()` snapshots, and
//! [`trace`] sends message traces in the Java client's format.

pub mod acl;
pub mod admin;
pub mod client_ip;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod instance;
pub mod log_buffer;
pub mod metrics;
pub mod namespace;
pub mod namesrv;
pub mod ordered_send;
pub mod processor;
pub mod producer;
pub mod remoting_client;
pub mod route_cache;
pub mod simple_consumer;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod validation;

pub use admin::{Admin, AdminConfig, BrokerProducerConnection, CreateTopicOptions};
pub use error::{ClientError, Result};
pub use instance::{ClientInstance, ConsumerDataProvider, InstanceConfig};
pub use producer::{OutgoingMessage, Producer, ProducerConfig, SendResult, SendStatus};
pub use remoting_client::{ConnectionConfig, RemotingClient};
