/**
 * Client configuration: types, documented defaults and the environment fallback. The rules and the defaults
 * themselves are the native engine's; this module checks only the types of what it hands over.
 *
 * @module
 */
import type { NativeAdminConfig, NativeProducerConfig } from './binding'
import { type CredentialSettings, resolveCredentials } from './credentials'
import { ConfigError } from './errors'
import { nativeBinding } from './native'
import { callNativeSync } from './native-errors'
import { type TlsSettings, resolveTls } from './tls'

/** Environment variable read when `namesrvAddr` is not given. */
export const NAMESRV_ADDR_ENV = 'NAMESRV_ADDR'

/** Producer settings; names follow the Java client. ACL credentials: see {@link CredentialSettings}; TLS: {@link TlsSettings}. */
export interface ProducerConfig extends CredentialSettings, TlsSettings {
  /** NameServer addresses, `host:port` separated by `;`. Default: the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /** Producer group name (letters, digits, `%|_-`, at most 255 characters; not `DEFAULT_PRODUCER`). */
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
  /**
   * Message traces (Java's `enableMsgTrace`): every send the broker answers leaves a `Pub` record in the trace
   * topic, in the Java client's format (the dashboard and `mqadmin queryMsgTraceById` read it). Sent in batches
   * in the background; never slows or fails a send. Default false.
   */
  enableMessageTrace?: boolean
  /** The trace topic (Java's `customizedTraceTopic`). Default `RMQ_SYS_TRACE_TOPIC` (brokers with `traceTopicEnable=true` have it). */
  customizedTraceTopic?: string
  /**
   * Java's `namespace`: the group and every topic are `<namespace>%<name>` on the brokers (retry and dead-letter
   * topics `%RETRY%<namespace>%<group>` / `%DLQ%<namespace>%<group>`), so tenants can share a cluster; this client
   * takes and shows the bare names. Letters, digits, `_` and `-`. Default: none.
   */
  namespace?: string
}

/** Admin settings. ACL credentials: see {@link CredentialSettings}; TLS: {@link TlsSettings}. */
export interface AdminConfig extends CredentialSettings, TlsSettings {
  /** NameServer addresses, `host:port` separated by `;`. Default: the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /** Timeout of one request, in milliseconds. Default: chosen by the engine (3000). */
  timeoutMs?: number
  /**
   * Java's `namespace`, as the Java admin's: the topics and groups it creates and queries are
   * `<namespace>%<name>` on the cluster, and what it returns shows them bare. Default: none.
   */
  namespace?: string
  /** Part of the client id; see {@link ProducerConfig.instanceName}. Default: the process id. */
  instanceName?: string
  /** Appended to the client id when set (Java's `unitName`). */
  unitName?: string
}

/**
 * Defaults of {@link ProducerConfig}, the Java producer's. Kept for documentation: the native engine applies its
 * own defaults to unset settings, and a test checks these equal them (`producerDefaults()` of the binding).
 */
export const PRODUCER_DEFAULTS = {
  sendMsgTimeout: 3000,
  retryTimesWhenSendFailed: 2,
  compressMsgBodyOverHowmuch: 4096,
  maxMessageSize: 4 * 1024 * 1024,
} as const

/**
 * Resolves a NameServer address list: the explicit value, else `NAMESRV_ADDR`, checked by the native engine
 * (every entry `host:port`).
 *
 * @param explicit the configured value, if any
 * @throws ConfigError when neither is set or an entry is not `host:port`
 */
export function resolveNamesrvAddr(explicit: unknown): string {
  const value: unknown = explicit ?? process.env[NAMESRV_ADDR_ENV]
  if (value === undefined) {
    throw new ConfigError(`namesrvAddr is required (pass it in the config or set ${NAMESRV_ADDR_ENV})`)
  }
  if (typeof value !== 'string') {
    throw new ConfigError(`namesrvAddr must be a string; got ${value === null ? 'null' : typeof value} ${String(value)}`)
  }
  return callNativeSync('producer', () => nativeBinding().checkNamesrvAddr(value))
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

/**
 * An optional number setting, checked for its type only: the native engine checks that it is an integer in
 * its range.
 *
 * @param name setting name, for the message
 * @param value the configured value
 * @throws ConfigError when it is set but not a number
 */
function numberSetting(name: string, value: unknown): number | undefined {
  if (value !== undefined && typeof value !== 'number') {
    throw new ConfigError(`${name} must be a number; got ${value === null ? 'null' : typeof value} ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * Converts a producer configuration to the native shape, checking the types of its values. The native
 * producer checks the rules (group name, ranges) and applies the defaults.
 *
 * @param config the user's configuration
 * @throws ConfigError naming the first value of the wrong type
 */
export function resolveProducerConfig(config: ProducerConfig): NativeProducerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`producer config must be an object { producerGroup, namesrvAddr?, ... }; got ${String(config)}`)
  }
  const producerGroup: unknown = config.producerGroup
  if (typeof producerGroup !== 'string') {
    throw new ConfigError(`producerGroup must be a string; got ${producerGroup === null ? 'null' : typeof producerGroup}`)
  }
  const native: NativeProducerConfig = { namesrvAddr: resolveNamesrvAddr(config.namesrvAddr), producerGroup }
  const numbers = {
    sendMsgTimeoutMs: numberSetting('sendMsgTimeout', config.sendMsgTimeout),
    retryTimesWhenSendFailed: numberSetting('retryTimesWhenSendFailed', config.retryTimesWhenSendFailed),
    compressMsgBodyOverHowmuch: numberSetting('compressMsgBodyOverHowmuch', config.compressMsgBodyOverHowmuch),
    maxMessageSize: numberSetting('maxMessageSize', config.maxMessageSize),
  }
  for (const [key, value] of Object.entries(numbers)) {
    if (value !== undefined) {
      native[key as keyof typeof numbers] = value
    }
  }
  const { enableMessageTrace, customizedTraceTopic } = config as { enableMessageTrace?: unknown; customizedTraceTopic?: unknown }
  if (enableMessageTrace !== undefined) {
    if (typeof enableMessageTrace !== 'boolean') {
      throw new ConfigError(`enableMessageTrace must be a boolean; got ${enableMessageTrace === null ? 'null' : typeof enableMessageTrace}`)
    }
    native.enableMessageTrace = enableMessageTrace
  }
  if (customizedTraceTopic !== undefined) {
    if (typeof customizedTraceTopic !== 'string') {
      throw new ConfigError(
        `customizedTraceTopic must be a string; got ${customizedTraceTopic === null ? 'null' : typeof customizedTraceTopic}`,
      )
    }
    native.customizedTraceTopic = customizedTraceTopic
  }
  const namespace: unknown = config.namespace
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') {
      throw new ConfigError(`namespace must be a string; got ${namespace === null ? 'null' : typeof namespace}`)
    }
    native.namespace = namespace
  }
  return Object.assign(native, resolveClientNames(config), resolveCredentials(config), resolveTls(config))
}

/**
 * Checks the types of the optional `instanceName` and `unitName` settings shared by every client (the native
 * engine refuses blank ones).
 *
 * @param config the user's configuration
 * @throws ConfigError when one is set but not a string
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
    if (typeof value !== 'string') {
      throw new ConfigError(`${key} must be a string; got ${value === null ? 'null' : typeof value}`)
    }
    names[key] = value
  }
  return names
}

/**
 * Converts an admin configuration to the native shape, checking the types of its values (the native admin
 * checks the rules).
 *
 * @param config the user's configuration
 * @throws ConfigError naming the first value of the wrong type
 */
export function resolveAdminConfig(config: AdminConfig = {}): NativeAdminConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`admin config must be an object { namesrvAddr?, timeoutMs? }; got ${String(config)}`)
  }
  const native: NativeAdminConfig = {
    namesrvAddr: resolveNamesrvAddr(config.namesrvAddr),
    ...resolveClientNames(config),
    ...resolveCredentials(config),
    ...resolveTls(config),
  }
  const timeoutMs = numberSetting('timeoutMs', config.timeoutMs)
  if (timeoutMs !== undefined) {
    native.timeoutMs = timeoutMs
  }
  const namespace: unknown = config.namespace
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') {
      throw new ConfigError(`namespace must be a string; got ${namespace === null ? 'null' : typeof namespace}`)
    }
    native.namespace = namespace
  }
  return native
}
