/**
 * The options every rocketmq-client-nodejs client takes, read for this engine. Each is honoured or refused with a
 * {@link ConfigError} naming it; an option rocketmq-client-nodejs does not know is refused too.
 *
 * `endpoints` names NameServers here (`host:port;host:port`), not a proxy: this client speaks the brokers' own
 * protocol, so no RocketMQ 5 proxy is needed.
 *
 * @module
 */
import { readFileSync } from 'node:fs'

import type { CredentialSettings } from '../../credentials'
import { ConfigError } from '../../errors'
import type { TlsSettings } from '../../tls'
import { FilterExpression } from './filter-expression'

/**
 * rocketmq-client-nodejs' access key pair, for a cluster with ACL on: every request is signed with it (this package's
 * `accessKey` / `secretKey` / `securityToken`; see the README's "Secured clusters"). The secret and the token never
 * appear in logs or error messages.
 */
export interface SessionCredentials {
  /** The access key (the ACL 2.0 user name). */
  accessKey: string
  /** The secret key (the ACL 2.0 user's password). */
  accessSecret: string
  /** The token of temporary credentials, signed with the request. */
  securityToken?: string
}

/** The options of every client. */
export interface BaseClientOptions {
  /**
   * The NameServers, `host:port`, several joined by `;` (`'127.0.0.1:9876;127.0.0.2:9876'`). rocketmq-client-nodejs
   * takes the proxy's address here; this client needs none.
   */
  endpoints: string
  /**
   * Java's namespace: the consumer group and every topic are `<namespace>%<name>` on the brokers (retry and
   * dead-letter topics included); messages and receipts show the bare names. `''` (the default) is none.
   */
  namespace?: string
  /** Signs every request for a cluster with ACL on. Default: none. */
  sessionCredentials?: SessionCredentials
  /** Budget of one request, ms, at least 1000. Default 3000. */
  requestTimeout?: number
  /**
   * TLS to every NameServer and broker. As rocketmq-client-nodejs, the servers' certificates must chain to the public
   * roots, or to the PEM file named by the `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` environment variable when it is set
   * (for a private CA). For client certificates or a server name of its own, use this package's `tls` setting.
   * Default `false`.
   */
  sslEnabled?: boolean
  /** Refused: logs go through `setLogger()` of 'rocketmq-napi' (process-wide). */
  logger?: unknown
  /** Topics whose routes `startup()` loads (and checks exist). */
  topics?: string[]
}

/** The settings of {@link BaseClientOptions} this engine takes. */
export interface BaseSettings {
  /** `host:port;host:port`. */
  namesrvAddr: string
  /** Ms. */
  requestTimeout: number
  /** Topics to check at startup. */
  topics: string[]
  /** The namespace, or `undefined` for none. */
  namespace: string | undefined
  /** The ACL credentials as this package's settings (empty for none). */
  credentials: CredentialSettings
  /** `sslEnabled` as this package's TLS setting (empty for plain TCP). */
  tls: TlsSettings
}

/** Option names of every client. */
export const BASE_OPTIONS: readonly string[] = ['endpoints', 'namespace', 'sessionCredentials', 'requestTimeout', 'sslEnabled', 'logger', 'topics']

type Options = Readonly<Record<string, unknown>>

/**
 * The options as a record, refusing an option outside `known`.
 *
 * @param given what the user passed
 * @param known the option names of the client
 * @param what the client, for messages
 */
export function optionsOf(given: unknown, known: readonly string[], what: string): Options {
  if (typeof given !== 'object' || given === null) {
    throw new ConfigError(`rocketmq-client-nodejs ${what} needs an options object`)
  }
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      throw new ConfigError(`rocketmq-client-nodejs ${what} option ${name} is not an option of rocketmq-client-nodejs' ${what}`)
    }
  }
  return given as Options
}

/** A number option, or `undefined`. */
export function numberOption(options: Options, name: string, min: number): number | undefined {
  const value = options[name]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`rocketmq-client-nodejs option ${name} ${JSON.stringify(value)} must be an integer >= ${min}`)
  }
  return value
}

/** A boolean option accepted only at `expected`. */
export function onlyValue(options: Options, name: string, expected: unknown, why: string): void {
  const value = options[name]
  if (value !== undefined && value !== expected) {
    throw new ConfigError(`rocketmq-client-nodejs option ${name} ${JSON.stringify(value)} is not supported: only ${JSON.stringify(expected)}, ${why}`)
  }
}

/** An option refused whenever it is set. */
export function refused(options: Options, name: string, why: string): void {
  if (options[name] !== undefined && options[name] !== null) {
    throw new ConfigError(`rocketmq-client-nodejs option ${name} is not supported: ${why}`)
  }
}

const HOST_PORT = /^[^\s:;]+:\d{1,5}$/

/**
 * Checks the options of every client and returns the settings they give.
 *
 * @param options the client's options
 */
export function baseSettings(options: Options): BaseSettings {
  const endpoints = options.endpoints
  if (typeof endpoints !== 'string' || endpoints.trim() === '') {
    throw new ConfigError('rocketmq-client-nodejs option endpoints is required: the NameServer addresses, "host:port;host:port"')
  }
  const addrs = endpoints.split(';').map((addr) => addr.trim()).filter((addr) => addr !== '')
  for (const addr of addrs) {
    if (!HOST_PORT.test(addr)) {
      throw new ConfigError(`rocketmq-client-nodejs option endpoints ${JSON.stringify(endpoints)}: ${JSON.stringify(addr)} is not a NameServer "host:port" (endpoints names NameServers here, not a proxy)`)
    }
  }
  refused(options, 'logger', "logs go through setLogger() of 'rocketmq-napi' (process-wide)")
  const topics = options.topics
  if (topics !== undefined && (!Array.isArray(topics) || topics.some((topic) => typeof topic !== 'string'))) {
    throw new ConfigError(`rocketmq-client-nodejs option topics ${JSON.stringify(topics)} must be an array of topic names`)
  }
  return {
    namesrvAddr: addrs.join(';'),
    requestTimeout: numberOption(options, 'requestTimeout', 1000) ?? 3000,
    topics: ((topics ?? []) as string[]).filter((topic) => topic.trim() !== ''),
    namespace: namespaceOption(options),
    credentials: credentialsOption(options),
    tls: tlsOption(options),
  }
}

/** The environment variable gRPC's clients read their trusted roots from; honoured here the same way. */
export const ROOTS_FILE_VARIABLE = 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'

/** The `sslEnabled` option: no TLS, or TLS trusting the public roots or the roots file gRPC's clients read. */
function tlsOption(options: Options): TlsSettings {
  const enabled = options.sslEnabled
  if (enabled === undefined || enabled === null || enabled === false) {
    return {}
  }
  if (enabled !== true) {
    throw new ConfigError(`rocketmq-client-nodejs option sslEnabled ${JSON.stringify(enabled)} must be true or false`)
  }
  const rootsFile = process.env[ROOTS_FILE_VARIABLE]
  if (rootsFile === undefined || rootsFile === '') {
    return { tls: true }
  }
  try {
    return { tls: { ca: readFileSync(rootsFile) } }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(`rocketmq-client-nodejs option sslEnabled: the roots file ${ROOTS_FILE_VARIABLE}=${rootsFile} cannot be read: ${reason}`)
  }
}

/** The `namespace` option: `undefined` for none (absent or `''`); the engine checks its characters. */
function namespaceOption(options: Options): string | undefined {
  const namespace = options.namespace
  if (namespace === undefined || namespace === null || namespace === '') {
    return undefined
  }
  if (typeof namespace !== 'string') {
    throw new ConfigError(`rocketmq-client-nodejs option namespace ${JSON.stringify(namespace)} must be a string`)
  }
  return namespace
}

/**
 * The `sessionCredentials` option as this package's credential settings. Messages name the field, never a secret's
 * value; the engine checks the rest (blank or over-long keys).
 */
function credentialsOption(options: Options): CredentialSettings {
  const given = options.sessionCredentials
  if (given === undefined || given === null) {
    return {}
  }
  if (typeof given !== 'object') {
    throw new ConfigError('rocketmq-client-nodejs option sessionCredentials must be an object { accessKey, accessSecret, securityToken? }')
  }
  const fields = given as Record<string, unknown>
  for (const name of Object.keys(fields)) {
    if (!['accessKey', 'accessSecret', 'securityToken'].includes(name)) {
      throw new ConfigError(`rocketmq-client-nodejs option sessionCredentials.${name} is not a field of SessionCredentials (accessKey, accessSecret, securityToken)`)
    }
  }
  for (const name of ['accessKey', 'accessSecret']) {
    if (typeof fields[name] !== 'string' || fields[name] === '') {
      throw new ConfigError(`rocketmq-client-nodejs option sessionCredentials.${name} is required: a non-empty string`)
    }
  }
  const credentials: CredentialSettings = { accessKey: fields.accessKey as string, secretKey: fields.accessSecret as string }
  const token = fields.securityToken
  if (token !== undefined && token !== null && token !== '') {
    if (typeof token !== 'string') {
      throw new ConfigError('rocketmq-client-nodejs option sessionCredentials.securityToken must be a string')
    }
    credentials.securityToken = token
  }
  return credentials
}

/**
 * The `subscriptions` option: a Map of topic to a {@link FilterExpression} or a tag expression string.
 *
 * @param options the consumer's options
 */
export function subscriptionsOption(options: Options): Map<string, FilterExpression> {
  const given = options.subscriptions
  if (!(given instanceof Map) || given.size === 0) {
    throw new ConfigError('rocketmq-client-nodejs option subscriptions is required: a Map of topic to a FilterExpression or a tag expression')
  }
  const subscriptions = new Map<string, FilterExpression>()
  for (const [topic, filter] of given as Map<unknown, unknown>) {
    if (typeof topic !== 'string' || topic === '') {
      throw new ConfigError(`rocketmq-client-nodejs option subscriptions has a key ${JSON.stringify(topic)} that is not a topic name`)
    }
    if (typeof filter === 'string') {
      subscriptions.set(topic, new FilterExpression(filter))
    } else if (filter instanceof FilterExpression) {
      subscriptions.set(topic, filter)
    } else {
      throw new ConfigError(`rocketmq-client-nodejs option subscriptions: topic ${topic} needs a FilterExpression or a tag expression string`)
    }
  }
  return subscriptions
}

/**
 * The `consumerGroup` option (required).
 *
 * @param options the consumer's options
 */
export function consumerGroupOption(options: Options): string {
  const group = options.consumerGroup
  if (typeof group !== 'string' || group === '') {
    throw new ConfigError('rocketmq-client-nodejs option consumerGroup is required')
  }
  return group
}
