//! Routes the engine's `log` records to a sink the user passes in, or to stderr.
//!
//! With a sink, records never cross to JavaScript one by one: they go into a bounded [`LogBuffer`]
//! ([`LOG_BUFFER_CAPACITY`] records; beyond that they are dropped and counted), and one threadsafe call
//! per batch wakes the JS thread, which takes everything buffered at that moment as one array. However
//! fast the engine logs (debug logging of every send), the JS thread sees one call per wake-up, and
//! the logging thread never waits. Dropped records are reported by a `warn` record at the end of the
//! next batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use log::{Level, LevelFilter, Log, Metadata, Record};
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Unknown};
use napi_derive::napi;
use rocketmq_client::log_buffer::{Drained, LogBuffer};

use crate::error::js_config_error;

/// Records held for the sink before new ones are dropped: enough for bursts, bounded for floods.
const LOG_BUFFER_CAPACITY: usize = 10_000;

/// One log record as the sink receives it.
#[napi(object)]
pub struct NativeLogRecord {
    /// 'error' | 'warn' | 'info' | 'debug' | 'trace'.
    pub level: String,
    /// The Rust module that logged it, e.g. `rocketmq_client::producer`.
    pub target: String,
    pub message: String,
}

/// Wakes the JS thread to take a batch. The value passed is the generation of the sink the wake-up was
/// scheduled for. Weak: a log sink must never keep the process alive on its own.
type Sink = ThreadsafeFunction<u64, Unknown<'static>, Vec<NativeLogRecord>, Status, false, true>;

struct State {
    sink: Option<Sink>,
    buffer: LogBuffer<NativeLogRecord>,
    /// Bumped whenever the sink changes, so that a wake-up scheduled for a replaced sink delivers
    /// nothing and leaves the new sink's batch alone.
    generation: u64,
}

struct Logger {
    state: Mutex<State>,
}

static LOGGER: Logger = Logger {
    state: Mutex::new(State {
        sink: None,
        buffer: LogBuffer::new(LOG_BUFFER_CAPACITY),
        generation: 0,
    }),
};
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

impl Logger {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs on the JS thread when a wake-up arrives: everything buffered, as one batch.
    fn take_batch(&self, generation: u64) -> Vec<NativeLogRecord> {
        let mut state = self.lock();
        if state.generation != generation {
            return Vec::new();
        }
        into_records(state.buffer.take())
    }
}

/// The records of a drained buffer, followed by a report of the dropped ones, if any.
fn into_records(drained: Drained<NativeLogRecord>) -> Vec<NativeLogRecord> {
    let mut records = drained.records;
    if drained.dropped > 0 {
        records.push(NativeLogRecord {
            level: level_name(Level::Warn).to_owned(),
            target: module_path!().to_owned(),
            message: format!(
                "{} log records dropped: the log sink fell behind",
                drained.dropped
            ),
        });
    }
    records
}

/// Schedules a wake-up of the JS thread for the buffered records. NonBlocking: a logging call on a
/// tokio worker must never wait for JS.
fn wake(state: &mut State) {
    let scheduled = state
        .sink
        .as_ref()
        .map(|sink| sink.call(state.generation, ThreadsafeFunctionCallMode::NonBlocking));
    if scheduled != Some(Status::Ok) {
        state.buffer.wake_failed();
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Formatted before taking the lock: a Display impl that logs must not deadlock on it.
        let entry = NativeLogRecord {
            level: level_name(record.level()).to_owned(),
            target: record.target().to_owned(),
            message: record.args().to_string(),
        };
        let mut state = self.lock();
        if state.sink.is_none() {
            drop(state);
            print_to_stderr(&entry.level, &entry.target, &entry.message);
            return;
        }
        if state.buffer.push(entry) {
            wake(&mut state);
        }
    }

    fn flush(&self) {}
}

fn print_to_stderr(level: &str, target: &str, message: &str) {
    eprintln!(
        "[rocketmq-napi] {} {target}: {message}",
        level.to_uppercase()
    );
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

fn parse_level(level: &str) -> Option<LevelFilter> {
    Some(match level {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}

/// Installs the logger with its default: warnings and errors to stderr.
pub fn install_default() {
    INSTALL.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            INSTALLED.store(true, Ordering::Release);
            log::set_max_level(LevelFilter::Warn);
        }
    });
}

/// Sets the level ('off' | 'error' | 'warn' | 'info' | 'debug' | 'trace') and where records
/// go: to `sink` when given, in batches (an array of records per call, oldest first), else to
/// stderr. Default: 'warn' to stderr. Records still buffered for a previous sink go to the new
/// destination.
#[napi]
pub fn set_logger(
    env: &Env,
    level: String,
    sink: Option<Function<'_, Vec<NativeLogRecord>, Unknown<'static>>>,
) -> napi::Result<()> {
    let filter = parse_level(&level).ok_or_else(|| {
        js_config_error(
            env,
            format!("log level must be one of off, error, warn, info, debug, trace; got {level:?}"),
        )
    })?;
    let sink: Option<Sink> = sink
        .map(|sink| {
            sink.build_threadsafe_function::<u64>()
                .weak::<true>()
                .callee_handled::<false>()
                .build_callback(|context| Ok(LOGGER.take_batch(context.value)))
        })
        .transpose()?;
    install_default();
    let leftovers = {
        let mut state = LOGGER.lock();
        state.generation = state.generation.wrapping_add(1);
        state.sink = sink;
        // A wake-up pending for the old sink now delivers nothing: the new one needs its own.
        state.buffer.wake_failed();
        if state.sink.is_none() {
            into_records(state.buffer.take())
        } else {
            if state.buffer.request_wake() {
                wake(&mut state);
            }
            Vec::new()
        }
    };
    for record in leftovers {
        print_to_stderr(&record.level, &record.target, &record.message);
    }
    log::set_max_level(filter);
    Ok(())
}
