//! The tokio runtime the engine runs on.
//!
//! napi-rs would build a multi-thread runtime with one worker per core. On small machines
//! (the brokers often share them) that costs a thread wake-up per hop between tasks: a send
//! touches the JS thread, the task that sends, the connection's writer and reader, and each
//! hop may land on another worker. The worker count is therefore ours to choose; see
//! `bench/README.md` for the measurements behind the default.

use std::num::NonZeroUsize;

/// Environment variable that overrides the number of runtime worker threads.
pub const WORKER_THREADS_ENV: &str = "ROCKETMQ_NAPI_WORKER_THREADS";

/// Workers used when the environment does not say otherwise.
const DEFAULT_WORKER_THREADS: usize = 1;

fn worker_threads() -> usize {
    std::env::var(WORKER_THREADS_ENV)
        .ok()
        .and_then(|value| value.trim().parse::<NonZeroUsize>().ok())
        .map_or(DEFAULT_WORKER_THREADS, NonZeroUsize::get)
}

#[napi_derive::module_init]
fn init() {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("rocketmq-napi")
        .enable_all()
        .build()
    {
        Ok(runtime) => napi::bindgen_prelude::create_custom_tokio_runtime(runtime),
        // napi-rs then builds its default runtime; the client works, only slower.
        Err(err) => eprintln!("[rocketmq-napi] cannot build the tokio runtime: {err}"),
    }
}
