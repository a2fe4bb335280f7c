//! The push consumer's building blocks: what it holds per message queue, how it shares
//! queues with the other members of its group.

pub mod process_queue;
