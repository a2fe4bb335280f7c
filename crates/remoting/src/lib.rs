//! RocketMQ "remoting" wire codec. Knows bytes, not consumers.

pub mod error;
pub mod ext_fields;

pub use error::CodecError;
pub use ext_fields::ExtFields;
