//! Node.js binding: thin `#[napi]` classes over `rocketmq-client`. Converts between
//! JavaScript values and engine types; holds no protocol logic.
#![deny(clippy::all)]
// Under `cargo test` napi-derive registers nothing, so exported items look unused.
#![cfg_attr(test, allow(dead_code))]

mod admin;
mod completions;
mod consumer;
mod error;
mod logger;
mod metrics;
mod offset_store;
mod pending_verdicts;
mod producer;
mod runtime;
mod shared_bytes;
mod simple_consumer;
mod tls;
mod validation;

/// The engine allocates many small, short-lived buffers and strings per message (headers,
/// properties, frames) on two threads; glibc's allocator spent more time on them than the
/// encoding itself (see bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
