/**
 * `AbortSignal` support shared by the clients: checking the option, the error an abort becomes, and noticing an
 * abort while a start is under way (a native start cannot be cut short, so the caller undoes it once it ends).
 *
 * @module
 */
import { AbortError, ConfigError, ValidationError } from './errors'

/**
 * A `signal` option, checked as Node checks one: an object with `aborted` and `addEventListener` (an AbortSignal,
 * possibly of another realm or polyfill).
 *
 * @param signal what the caller passed
 * @param field the option's name, for the error
 * @param kind `config` for a constructor option (ConfigError), `argument` for a call's (ValidationError)
 * @throws ConfigError or ValidationError when it is neither undefined nor an AbortSignal
 */
export function checkSignal(signal: unknown, field: string, kind: 'config' | 'argument'): AbortSignal | undefined {
  if (signal === undefined) {
    return undefined
  }
  const candidate = signal as { aborted?: unknown; addEventListener?: unknown } | null
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.aborted !== 'boolean' || typeof candidate.addEventListener !== 'function') {
    const ErrorClass = kind === 'config' ? ConfigError : ValidationError
    throw new ErrorClass(`${field} must be an AbortSignal; got ${candidate === null ? 'null' : typeof signal}`)
  }
  return signal as AbortSignal
}

/** The error a call ended by `signal` rejects with: an {@link AbortError} whose `cause` is the signal's reason. */
export function abortError(signal: AbortSignal, what: string): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason })
}

/** The first of `signals` that is aborted, if any. */
export function firstAborted(signals: ReadonlyArray<AbortSignal | undefined>): AbortSignal | undefined {
  return signals.find((signal) => signal?.aborted === true)
}

/**
 * Remembers the first of `signals` to abort from now on, until {@link AbortWatch.dispose}.
 */
export class AbortWatch {
  #aborted: AbortSignal | undefined
  readonly #disposers: Array<() => void> = []

  /** @param signals the signals to watch (undefined entries are skipped) */
  constructor(signals: ReadonlyArray<AbortSignal | undefined>) {
    for (const signal of signals) {
      if (signal === undefined) {
        continue
      }
      const onAbort = (): void => {
        this.#aborted ??= signal
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#disposers.push(() => signal.removeEventListener('abort', onAbort))
    }
  }

  /** The signal that aborted first, if one did. */
  get aborted(): AbortSignal | undefined {
    return this.#aborted
  }

  /** Stops listening. */
  dispose(): void {
    for (const dispose of this.#disposers.splice(0)) {
      dispose()
    }
  }
}
