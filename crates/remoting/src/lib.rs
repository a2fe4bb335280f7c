//! RocketMQ "remoting" wire codec. Knows bytes, not consumers.
