//! Routes the engine's `log` records to a sink the user passes in, or to stderr.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, RwLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Status, Unknown};
use napi_derive::napi;

use crate::error::config_error;

/// One log record as the sink receives it.
#[napi(object)]
pub struct NativeLogRecord {
    /// 'error' | 'warn' | 'info' | 'debug' | 'trace'.
    pub level: String,
    /// The Rust module that logged it, e.g. `rocketmq_client::producer`.
    pub target: String,
    pub message: String,
}

/// Weak: a log sink must never keep the process alive on its own.
type Sink =
    ThreadsafeFunction<NativeLogRecord, Unknown<'static>, NativeLogRecord, Status, false, true>;

struct Logger {
    sink: RwLock<Option<Sink>>,
}

static LOGGER: Logger = Logger {
    sink: RwLock::new(None),
};
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = self.sink.read().unwrap_or_else(|p| p.into_inner());
        match sink.as_ref() {
            Some(sink) => {
                let entry = NativeLogRecord {
                    level: level_name(record.level()).to_owned(),
                    target: record.target().to_owned(),
                    message: record.args().to_string(),
                };
                // NonBlocking: a logging call on a tokio worker must never wait for JS.
                sink.call(entry, ThreadsafeFunctionCallMode::NonBlocking);
            }
            None => eprintln!(
                "[rocketmq-napi] {} {}: {}",
                level_name(record.level()).to_uppercase(),
                record.target(),
                record.args()
            ),
        }
    }

    fn flush(&self) {}
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
/// go: to `sink` when given, else to stderr. Default: 'warn' to stderr.
#[napi]
pub fn set_logger(
    level: String,
    sink: Option<
        ThreadsafeFunction<NativeLogRecord, Unknown<'static>, NativeLogRecord, Status, false, true>,
    >,
) -> napi::Result<()> {
    let filter = parse_level(&level).ok_or_else(|| {
        config_error(format!(
            "log level must be one of off, error, warn, info, debug, trace; got {level:?}"
        ))
    })?;
    install_default();
    *LOGGER.sink.write().unwrap_or_else(|p| p.into_inner()) = sink;
    log::set_max_level(filter);
    Ok(())
}
