//! The tokio runtime the engine runs on.
//!
//! napi-rs would build a multi-thread runtime with one worker per core. A client needs few:
//! every extra idle worker is another thread tokio wakes to look for work when a task is
//! spawned or woken, and each wake-up is a context switch that costs more CPU than the send
//! it serves. Measured with the producer benchmark on 2 cores (bench/README.md): one worker
//! costs the least CPU per send, with one send in flight or 256; a second one adds about a
//! tenth to the throughput with many in flight, for a fifth more CPU per send. The default
//! is one; `ROCKETMQ_NAPI_WORKER_THREADS` overrides it.

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

/// The addon registers once per Node environment (worker threads each load it), but napi-rs
/// keeps the first runtime it is given; build only that one.
static BUILD_ONCE: std::sync::Once = std::sync::Once::new();

#[napi_derive::module_init]
fn init() {
    BUILD_ONCE.call_once(build_runtime);
}

fn build_runtime() {
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
