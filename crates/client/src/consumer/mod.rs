//! The push consumer's building blocks, one concern per module: how the queues of a topic
//! are shared among the members of a group ([`allocate`]), and what is held per message
//! queue between pulling and consuming ([`process_queue`]).

pub mod allocate;
pub mod config_rules;
pub mod flow_control;
pub mod lock;
pub mod offset_store;
pub mod orderly;
pub mod pause;
pub mod process_queue;
pub mod pull;
pub mod push;
pub mod queue_slot;
pub mod rebalance;
pub mod selector;
pub mod send_back;
pub mod start_offset;
pub mod stats;
pub(crate) mod subscriptions;
