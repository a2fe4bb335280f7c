//! Node.js binding: thin #[napi] classes over `rocketmq-client`.
#![deny(clippy::all)]
