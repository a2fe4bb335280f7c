//! RocketMQ "remoting" wire codec. Knows bytes, not consumers.

pub mod body;
pub mod codes;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod header;
pub mod message;
pub mod pop_extra_info;

pub use command::{RemotingCommand, DEFAULT_MAX_FRAME};
pub use error::CodecError;
pub use ext_fields::ExtFields;
