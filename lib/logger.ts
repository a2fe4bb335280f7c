/**
 * Routes the native engine's log records to a user-supplied sink.
 *
 * @module
 */
import type { NativeLogRecord } from './binding'
import { ConfigError } from './errors'
import { nativeBinding } from './native'
import { callNativeSync } from './native-errors'

/** Log levels, from silent to most verbose. */
export const LOG_LEVELS = ['off', 'error', 'warn', 'info', 'debug', 'trace'] as const

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** A log record emitted by the native engine. */
export interface LogRecord {
  /** Severity: `error`, `warn`, `info`, `debug` or `trace`. */
  level: Exclude<LogLevel, 'off'>
  /** The Rust module that logged it, e.g. `rocketmq_client::producer`. */
  target: string
  /** The formatted message. */
  message: string
}

/**
 * Receives log records, one per call, in the order the engine logged them; called on the JavaScript
 * thread. The engine buffers at most 10,000 records for the sink: when it falls further behind, newer
 * records are dropped and a `warn` record "N log records dropped" reports them.
 */
export type LogSink = (record: LogRecord) => void

/** Logger settings. */
export interface Logger {
  /** Records below this level are dropped before they leave the native engine. */
  level: LogLevel
  /** Where records go; without a sink, records are written to stderr by the native engine. */
  sink?: LogSink
}

/** The logger in effect when {@link setLogger} was never called. */
export const DEFAULT_LOGGER: Readonly<Logger> = { level: 'warn' }

function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)
}

/** A throwing sink must not take the process down from a native callback; report it as a warning instead. */
function guardSink(sink: LogSink): LogSink {
  return (record) => {
    try {
      sink(record)
    } catch (error) {
      process.emitWarning(`rocketmq-napi: the log sink threw: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/**
 * Sets the level and destination of the native engine's logs. Applies to every client in the process.
 * The default is `warn` and above to stderr.
 *
 * @param logger level and optional sink
 * @throws ConfigError when the level is unknown or the sink is not a function
 */
export function setLogger(logger: Logger): void {
  if (typeof logger !== 'object' || logger === null) {
    throw new ConfigError('setLogger expects an object { level, sink? }')
  }
  const { level, sink } = logger
  if (!isLogLevel(level)) {
    throw new ConfigError(`logger level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`)
  }
  if (sink !== undefined && typeof sink !== 'function') {
    throw new ConfigError('logger sink must be a function (record) => void')
  }
  const native = nativeBinding()
  if (sink === undefined) {
    callNativeSync('logger', () => native.setLogger(level))
  } else {
    const guarded = guardSink(sink)
    // The engine hands over records in batches (one call per wake-up of this thread, however many
    // records it logged meanwhile); the user's sink still sees one record per call, in order.
    const deliver = (batch: NativeLogRecord[]): void => {
      for (const record of batch) {
        guarded(record as LogRecord)
      }
    }
    callNativeSync('logger', () => native.setLogger(level, deliver))
  }
}
