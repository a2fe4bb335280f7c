//! RocketMQ client engine. Knows the protocol, not JavaScript.
//!
//! Layers, bottom up: [`transport`] (how bytes reach a peer), [`connection`] (one
//! multiplexed connection), [`remoting_client`] (a connection per address), then the
//! protocol clients built on it.

pub mod connection;
pub mod error;
pub mod remoting_client;
pub mod transport;

pub use error::{ClientError, Result};
pub use remoting_client::{ConnectionConfig, RemotingClient};
