/**
 * Client configuration: types, defaults, environment fallbacks and validation.
 *
 * @module
 */
import type { NativeAdminConfig, NativeProducerConfig } from './binding'
import { ConfigError } from './errors'
import { validateGroup } from './names'

/** Environment variable read when `namesrvAddr` is not given. */
export const NAMESRV_ADDR_ENV = 'NAMESRV_ADDR'

/** Producer settings; names follow the Java client. */
export interface ProducerConfig {
  /** NameServer addresses, `host:port` separated by `;`. Default: the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /** Producer group name (letters, digits, `%|_-`, at most 255 characters). */
  producerGroup: string
  /** Budget of one send in milliseconds: route lookups, every attempt and retry included. Default 3000. */
  sendMsgTimeout?: number
  /** Extra attempts after a failed send, each on another broker when possible. Default 2. */
  retryTimesWhenSendFailed?: number
  /** Bodies of this many bytes or more are zlib-compressed (sent plain when zlib cannot shrink them). Default 4096. */
  compressMsgBodyOverHowmuch?: number
  /** Largest body accepted, in bytes. Default 4194304 (4 MiB). */
  maxMessageSize?: number
  /**
   * Part of the client id (`ip@instanceName[@unitName]`) brokers know this client by. Clients of one process
   * with the same instance name, unit name and NameServer list share one client instance (connections,
   * heartbeat). Default: the process id, so a process's producers and admins share one. Two producers of
   * the same group in one process need different instance names.
   */
  instanceName?: string
  /** Appended to the client id when set (Java's `unitName`). */
  unitName?: string
}

/** Admin settings. */
export interface AdminConfig {
  /** NameServer addresses, `host:port` separated by `;`. Default: the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /** Timeout of one request, in milliseconds. Default: chosen by the engine (3000). */
  timeoutMs?: number
  /** Part of the client id; see {@link ProducerConfig.instanceName}. Default: the process id. */
  instanceName?: string
  /** Appended to the client id when set (Java's `unitName`). */
  unitName?: string
}

/** Defaults of {@link ProducerConfig}. */
export const PRODUCER_DEFAULTS = {
  sendMsgTimeout: 3000,
  retryTimesWhenSendFailed: 2,
  compressMsgBodyOverHowmuch: 4096,
  maxMessageSize: 4 * 1024 * 1024,
} as const

/**
 * Resolves and checks a NameServer address list: the explicit value, else `NAMESRV_ADDR`.
 *
 * @param explicit the configured value, if any
 * @throws ConfigError when neither is set or an entry is not `host:port`
 */
export function resolveNamesrvAddr(explicit: unknown): string {
  const value = explicit ?? process.env[NAMESRV_ADDR_ENV]
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`namesrvAddr is required (pass it in the config or set ${NAMESRV_ADDR_ENV})`)
  }
  const entries = value.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) {
    throw new ConfigError(`namesrvAddr ${JSON.stringify(value)} has no address`)
  }
  for (const entry of entries) {
    const separator = entry.lastIndexOf(':')
    const host = entry.slice(0, separator)
    const port = Number(entry.slice(separator + 1))
    if (separator <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`namesrvAddr entry ${JSON.stringify(entry)} is not host:port`)
    }
  }
  return entries.join(';')
}

/**
 * Checks an optional integer setting.
 *
 * @param name setting name, for the message
 * @param value the configured value
 * @param min smallest allowed value
 * @param max largest allowed value
 * @throws ConfigError when it is not an integer in range
 */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}; got ${String(value)}`)
  }
  return value
}

/** A producer configuration with defaults applied and every value checked. */
export interface ResolvedProducerConfig {
  /** What the native producer receives. */
  native: NativeProducerConfig
  /** Body size limit, kept on the TS side for fast checks. */
  maxMessageSize: number
}

/**
 * Applies defaults to a producer configuration and checks every value.
 *
 * @param config the user's configuration
 * @throws ConfigError naming the first bad value
 */
export function resolveProducerConfig(config: ProducerConfig): ResolvedProducerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('producer config must be an object { producerGroup, namesrvAddr?, ... }')
  }
  const producerGroup = validateGroup(config.producerGroup, ConfigError)
  if (producerGroup === 'DEFAULT_PRODUCER') {
    // The broker keeps this name for its own use, as the Java client enforces.
    throw new ConfigError('producerGroup cannot be DEFAULT_PRODUCER; choose a name of your own')
  }
  const maxMessageSize =
    checkInteger('maxMessageSize', config.maxMessageSize, 1, 0x7fffffff) ?? PRODUCER_DEFAULTS.maxMessageSize
  const native: NativeProducerConfig = {
    namesrvAddr: resolveNamesrvAddr(config.namesrvAddr),
    producerGroup,
    sendMsgTimeoutMs: checkInteger('sendMsgTimeout', config.sendMsgTimeout, 1, 0x7fffffff) ?? PRODUCER_DEFAULTS.sendMsgTimeout,
    retryTimesWhenSendFailed:
      checkInteger('retryTimesWhenSendFailed', config.retryTimesWhenSendFailed, 0, 100) ??
      PRODUCER_DEFAULTS.retryTimesWhenSendFailed,
    compressMsgBodyOverHowmuch:
      checkInteger('compressMsgBodyOverHowmuch', config.compressMsgBodyOverHowmuch, 0, 0x7fffffff) ??
      PRODUCER_DEFAULTS.compressMsgBodyOverHowmuch,
    maxMessageSize,
  }
  Object.assign(native, resolveClientNames(config))
  return { native, maxMessageSize }
}

/**
 * Checks the optional `instanceName` and `unitName` settings shared by every client.
 *
 * @param config the user's configuration
 * @throws ConfigError when one is set but not a non-empty string
 */
function resolveClientNames(config: { instanceName?: unknown; unitName?: unknown }): {
  instanceName?: string
  unitName?: string
} {
  const names: { instanceName?: string; unitName?: string } = {}
  for (const key of ['instanceName', 'unitName'] as const) {
    const value = config[key]
    if (value === undefined) {
      continue
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigError(`${key} must be a non-empty string`)
    }
    names[key] = value
  }
  return names
}

/**
 * Applies defaults to an admin configuration and checks every value.
 *
 * @param config the user's configuration
 * @throws ConfigError naming the first bad value
 */
export function resolveAdminConfig(config: AdminConfig = {}): NativeAdminConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('admin config must be an object { namesrvAddr?, timeoutMs? }')
  }
  const native: NativeAdminConfig = { namesrvAddr: resolveNamesrvAddr(config.namesrvAddr), ...resolveClientNames(config) }
  const timeoutMs = checkInteger('timeoutMs', config.timeoutMs, 1, 0x7fffffff)
  if (timeoutMs !== undefined) {
    native.timeoutMs = timeoutMs
  }
  return native
}
