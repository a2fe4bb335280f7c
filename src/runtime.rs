//! The tokio runtime the engine runs on.
//!
//! napi-rs would build a multi-thread runtime with one worker per core. A client needs few:
//! every extra idle worker is another thread tokio wakes to look for work when a task is
//! spawned or woken, and each wake-up is a context switch that costs more CPU than the send
//! it serves. Measured with the producer benchmark on 2 cores (bench/README.md): one worker
//! costs the least CPU per send, with one send in flight or 256; a second one adds about a
//! tenth to the throughput with many in flight, for a fifth more CPU per send. The default
//! is one; `ROCKETMQ_NAPI_WORKER_THREADS` overrides it.

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

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
        Ok(runtime) => {
            runtime.spawn(keep_timer_wake_near());
            napi::bindgen_prelude::create_custom_tokio_runtime(runtime)
        }
        // napi-rs then builds its default runtime; the client works, only slower.
        Err(err) => eprintln!("[rocketmq-napi] cannot build the tokio runtime: {err}"),
    }
}

/// How far ahead the timer driver's next wake-up is kept at most.
const TIMER_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Keeps a timer due within [`TIMER_TICK`], for ever. tokio wakes its sleeping worker
/// whenever a timer is set earlier than the worker's next wake-up, so that it sleeps
/// less; with only a heartbeat's timer half a minute away, every send timeout set from
/// the JavaScript thread ([`start_here`]) would wake the worker for nothing. With this
/// tick pending, a timeout of more than half a second never does. It costs the worker
/// two wake-ups a second.
async fn keep_timer_wake_near() {
    loop {
        tokio::time::sleep(TIMER_TICK).await;
    }
}

/// Starts `future` on this (the JavaScript) thread: its first poll runs here, inside the
/// runtime's context, with any request it makes written to an idle connection by this
/// thread ([`rocketmq_client::connection::caller_writes`]). What is left waits, off every
/// thread, until something it waits for wakes it; that wake (on a worker: the response was
/// read there) spawns it onto the runtime. So a lone send costs no wake-up of a worker
/// before it reaches the socket, and none after: the worker wakes once, for the response.
/// Spawning at once instead woke the worker twice more (the spawn, and the send timeout's
/// timer, earlier than the sleeping worker's), which on 2 cores took CPU from the broker
/// and made one send in flight slower, not faster.
pub fn start_here<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    napi::bindgen_prelude::within_runtime_if_available(move || {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime of ours (it failed to build): napi-rs's own runs everything.
            napi::bindgen_prelude::spawn(future);
            return;
        };
        let handoff = Arc::new(Handoff {
            state: Mutex::new(Stage::Polling),
            runtime,
        });
        let waker = Waker::from(Arc::clone(&handoff));
        let mut future = Box::pin(future);
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rocketmq_client::connection::caller_writes(|| {
                future.as_mut().poll(&mut Context::from_waker(&waker))
            })
        }));
        match first {
            Ok(Poll::Pending) => handoff.park(future),
            Ok(Poll::Ready(())) => handoff.set(Stage::Done),
            // As a spawned task's panic would be: the future is gone, the thread goes on.
            Err(_) => {
                handoff.set(Stage::Done);
                log::warn!("a task panicked in its first poll on the JavaScript thread");
            }
        }
    });
}

type Parked = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a future started by [`start_here`] is.
enum Stage {
    /// In its first poll.
    Polling,
    /// Woken during its first poll: spawn it as soon as that returns.
    WokenWhilePolling,
    /// Waiting for its first wake.
    Parked(Parked),
    /// Spawned, finished, or dropped after a panic; later wakes are stale.
    Done,
}

/// The waker of a future's first poll. The parked future and the wakers it handed out
/// hold each other until its first wake, which every request has: a response, a closed
/// connection, or its timeout.
struct Handoff {
    state: Mutex<Stage>,
    runtime: tokio::runtime::Handle,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stage> {
        // A stage is replaced whole, never left half-updated.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, stage: Stage) {
        *self.lock() = stage;
    }

    fn park(&self, future: Parked) {
        let mut state = self.lock();
        if matches!(*state, Stage::WokenWhilePolling) {
            *state = Stage::Done;
            drop(state);
            self.runtime.spawn(future);
        } else {
            *state = Stage::Parked(future);
        }
    }
}

impl Wake for Handoff {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, Stage::Done) {
            Stage::Polling | Stage::WokenWhilePolling => *state = Stage::WokenWhilePolling,
            Stage::Parked(future) => {
                drop(state);
                // From a worker, the spawned task goes into that worker's own queue.
                self.runtime.spawn(future);
            }
            Stage::Done => {}
        }
    }
}
