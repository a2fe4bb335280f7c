/**
 * Batches sends into few wake-ups of the native runtime and settles their promises from batched
 * completions.
 *
 * Each `send()` gets an id and a promise, and its message is staged with the native side at once
 * (which copies the body). Sends made in the same turn of the event loop (for example every
 * continuation woken by one batch of completions) are flushed together at the end of the turn; the
 * native side reports outcomes in batches to {@link SendDispatch.onComplete}.
 * While any send is pending, a timer keeps the event loop alive, as a pending socket request
 * would; it is unreferenced again when the last one settles.
 *
 * @module
 */
import type { NativeMessage, NativeSendCompletion, NativeSendResult } from './binding'
import { type ErrorContext, fromNativeError } from './native-errors'

interface Pending<T> {
  resolve: (value: T) => void
  reject: (reason: unknown) => void
}

/** Ids are unsigned 32-bit on the native side. */
const ID_SPACE = 2 ** 32

/** The longest delay a Node timer accepts; the timer only has to exist, never to fire. */
const KEEP_ALIVE_MS = 2 ** 31 - 1

/**
 * One client's send queue and pending table.
 *
 * @typeParam T what a settled send resolves to
 */
export class SendDispatch<T> {
  readonly #pending = new Map<number, Pending<T>>()
  /** Ids staged since the last flush. */
  #staged: number[] = []
  #nextId = 0
  #keepAlive: NodeJS.Timeout | undefined

  /**
   * @param context the client kind, for error classes
   * @param native the native client: `stage` takes one message under an id, `flush` sends what is staged
   * @param convert turns a native result into what the promise resolves to (may throw)
   */
  constructor(
    private readonly context: ErrorContext,
    private readonly native: () => { stage(message: NativeMessage, id: number): void; flush(): void },
    private readonly convert: (result: NativeSendResult) => T,
  ) {}

  /** Number of sends whose outcome has not arrived yet. */
  get pendingCount(): number {
    return this.#pending.size
  }

  /**
   * Queues `message` for the end of the current turn and returns the promise of its outcome.
   *
   * @param message a message already validated and converted for the native layer
   */
  submit(message: NativeMessage): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.#nextId
      this.#nextId = (id + 1) % ID_SPACE
      try {
        this.native().stage(message, id)
      } catch (error) {
        reject(fromNativeError(error, this.context))
        return
      }
      if (this.#staged.length === 0) {
        queueMicrotask(this.#flush)
      }
      this.#staged.push(id)
      this.#pending.set(id, { resolve, reject })
      if (this.#pending.size === 1) {
        this.#holdEventLoop()
      }
    })
  }

  /** Receives outcomes from the native side; bound so it can be handed over as a callback. */
  readonly onComplete = (completions: NativeSendCompletion[]): void => {
    for (const completion of completions) {
      const pending = this.#pending.get(completion.id)
      if (pending === undefined) {
        continue
      }
      this.#pending.delete(completion.id)
      if (completion.result !== undefined && completion.result !== null) {
        try {
          pending.resolve(this.convert(completion.result))
        } catch (error) {
          pending.reject(error)
        }
      } else {
        pending.reject(fromNativeError(new Error(completion.error ?? 'ERR_PROTOCOL: send outcome missing'), this.context))
      }
    }
    if (this.#pending.size === 0) {
      this.#keepAlive?.unref()
    }
  }

  readonly #flush = (): void => {
    const staged = this.#staged
    this.#staged = []
    try {
      this.native().flush()
    } catch (error) {
      // Nothing of the batch left: settle all of it with the same error.
      const typed = fromNativeError(error, this.context)
      for (const id of staged) {
        this.#pending.get(id)?.reject(typed)
        this.#pending.delete(id)
      }
      if (this.#pending.size === 0) {
        this.#keepAlive?.unref()
      }
    }
  }

  #holdEventLoop(): void {
    if (this.#keepAlive === undefined) {
      this.#keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS)
    }
    this.#keepAlive.ref()
  }

  /** Stops holding the event loop for good; call after the client has shut down. */
  dispose(): void {
    if (this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive)
      this.#keepAlive = undefined
    }
  }
}
