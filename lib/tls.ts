/**
 * TLS shared by every client configuration (producer, consumer, admin, offset stores): the `tls` setting, its type
 * checks, and the native form it travels in. The native engine checks the rules (PEM that parses, `cert` and `key`
 * together, a valid `serverName`) and connects with rustls to every NameServer and broker when it is set.
 *
 * @module
 */
import type { NativeTls } from './binding'
import { ConfigError } from './errors'

/** PEM text, as a string or the bytes of a `.pem` file (read with `fs.readFileSync`). */
export type Pem = string | Buffer

/**
 * TLS settings: every connection (NameServers and brokers) is TLS, as the Java client's `useTLS`. Every field is
 * optional; `tls: true` is the same as `tls: {}`.
 */
export interface TlsOptions {
  /**
   * PEM certificates of the CAs that signed the servers' certificates. Default: the public web roots (Mozilla's
   * list, built in), which a self-signed or private CA is not in.
   */
  ca?: Pem
  /** PEM certificate chain of this client, for brokers that require client certificates (mutual TLS); with `key`. */
  cert?: Pem
  /** PEM private key of `cert` (PKCS#8, PKCS#1 or SEC1, unencrypted). Never logged or shown in errors. */
  key?: Pem
  /**
   * The name the servers' certificates must carry. Default: the host of each address dialed; an IP address is
   * checked against the certificate's IP addresses (subject alternative names).
   */
  serverName?: string
}

/** The `tls` setting of a client configuration. */
export interface TlsSettings {
  /**
   * TLS for every connection: `true` (public roots, names from the addresses) or {@link TlsOptions}. Default: off
   * (plain TCP). A failed handshake (an untrusted certificate, a server without TLS) is a `TlsError`.
   */
  tls?: boolean | TlsOptions
}

/** The `tls` setting as the engine receives it: `true` is `{}`, Buffers are text. */
export interface ResolvedTls {
  /** PEM of the trusted CAs, as configured; undefined: the public web roots. */
  readonly ca?: string
  /** PEM of the client certificate chain, as configured. */
  readonly cert?: string
  /** PEM of the client key, as configured. */
  readonly key?: string
  /** As configured; undefined: the host of each address. */
  readonly serverName?: string
}

const TLS_FIELDS = ['ca', 'cert', 'key', 'serverName'] as const

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

/**
 * The `tls` setting of `config` in the native form, checked for types only (the engine checks the rules).
 *
 * @param config a client configuration
 * @returns `{ tls }` when TLS is on, else `{}`
 * @throws ConfigError naming the field (never a key's value) when one has the wrong type
 */
export function resolveTls(config: TlsSettings): { tls?: NativeTls } {
  const tls: unknown = (config as Record<string, unknown>).tls
  if (tls === undefined || tls === false) {
    return {}
  }
  if (tls === true) {
    return { tls: {} }
  }
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls) || Buffer.isBuffer(tls)) {
    throw new ConfigError(`tls must be true, false or an object { ca?, cert?, key?, serverName? }; got ${describe(tls)}`)
  }
  const options = tls as Record<string, unknown>
  const native: NativeTls = {}
  for (const field of TLS_FIELDS) {
    const value = options[field]
    if (value === undefined) {
      continue
    }
    if (typeof value === 'string') {
      native[field] = value
    } else if (field !== 'serverName' && Buffer.isBuffer(value)) {
      native[field] = value.toString('utf8')
    } else {
      const expected = field === 'serverName' ? 'a string' : 'a PEM string or Buffer'
      throw new ConfigError(`tls.${field} must be ${expected}; got ${describe(value)}`)
    }
  }
  return { tls: native }
}
