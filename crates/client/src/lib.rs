//! RocketMQ client engine. Knows the protocol, not JavaScript.
