/**
 * ACL credentials shared by every client configuration (producer, consumer, admin, offset stores): the settings,
 * their type checks, and how they travel to the native engine, which checks the rules (both keys or none, not blank,
 * a token only with the keys) and signs every request as the Java client's `AclClientRPCHook` does.
 *
 * The secret key and the security token are never printed: not in error messages (the engine names the setting,
 * not its value), not in logs, and not when a resolved configuration is inspected (they are non-enumerable there).
 *
 * @module
 */
import { ConfigError } from './errors'

/** ACL settings of a client, for brokers with authentication on (RocketMQ 5.3 ACL 2.0, or 4.x plain ACL). */
export interface CredentialSettings {
  /**
   * ACL access key (the ACL 2.0 user name). With {@link CredentialSettings.secretKey}, every request is signed.
   * Default: none, for a cluster without ACL.
   */
  accessKey?: string
  /** ACL secret key (the ACL 2.0 user's password). Required with `accessKey`; never logged or shown in errors. */
  secretKey?: string
  /** Security token of temporary credentials (sent and signed as `SecurityToken`); only with the two keys. */
  securityToken?: string
}

/** The credentials of a resolved configuration: each as configured, or `undefined`. */
export interface ResolvedCredentials {
  /** As configured. */
  readonly accessKey: string | undefined
  /** As configured; non-enumerable. */
  readonly secretKey: string | undefined
  /** As configured; non-enumerable. */
  readonly securityToken: string | undefined
}

/** The names of the {@link CredentialSettings}, in the order they are checked. */
export const CREDENTIAL_SETTINGS = ['accessKey', 'secretKey', 'securityToken'] as const

/**
 * The credential settings of `config`, checked for their types only (the engine checks the rules).
 *
 * @param config a client configuration
 * @throws ConfigError naming the setting (never its value) when one is set but not a string
 */
export function resolveCredentials(config: CredentialSettings): CredentialSettings {
  const raw = config as Record<string, unknown>
  const resolved: CredentialSettings = {}
  for (const key of CREDENTIAL_SETTINGS) {
    const value = raw[key]
    if (value === undefined) {
      continue
    }
    if (typeof value !== 'string') {
      throw new ConfigError(`${key} must be a string; got ${value === null ? 'null' : typeof value}`)
    }
    resolved[key] = value
  }
  return resolved
}

/**
 * Copies the credentials onto `target` with the secret ones non-enumerable, so that printing or serialising a
 * resolved configuration does not show them.
 *
 * @param target the resolved configuration, before it is frozen
 * @param credentials checked credentials
 * @returns `target`
 */
export function attachCredentials<T extends object>(target: T, credentials: CredentialSettings): T & ResolvedCredentials {
  Object.defineProperty(target, 'accessKey', { value: credentials.accessKey, enumerable: true })
  for (const key of ['secretKey', 'securityToken'] as const) {
    Object.defineProperty(target, key, { value: credentials[key], enumerable: false })
  }
  return target as T & ResolvedCredentials
}
