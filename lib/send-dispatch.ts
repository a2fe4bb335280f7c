/**
 * Batches sends into few wake-ups of the native runtime and settles their promises from batched
 * outcomes.
 *
 * Each `send()` gets an id and a promise, and its message is staged with the native side at once
 * (which copies the body). Sends made in the same turn of the event loop (for example every
 * continuation woken by one batch of outcomes) are flushed together at the end of the turn; the
 * native side reports outcomes in batches to {@link SendDispatch.onComplete}. While any send is
 * pending, a timer keeps the event loop alive, as a pending socket request would; it is
 * unreferenced again when the last one settles.
 *
 * @module
 */
import type { NativeMessage, NativeQueueChoice, NativeSendOutcomes } from './binding'
import { ProtocolError } from './errors'
import type { SendResult, SendStatus } from './message'
import { nativeBinding } from './native'
import { fromNativeError, fromNativeFields } from './native-errors'

/** The calls of a native producer the dispatch uses. */
export interface NativeSendTarget {
  /** Takes one message under `id` (positional fields: no property lookups on the native side). */
  stage(
    id: number,
    topic: string,
    body: Buffer,
    tags?: string | null,
    keys?: string[] | null,
    properties?: Record<string, string> | null,
    delayLevel?: number | null,
    flag?: number | null,
    shardingKey?: string | null,
    queue?: NativeQueueChoice | null,
    deliverTimeMs?: number | null,
  ): void
  /** Sends everything staged; throws once the producer has shut down. */
  flush(): void
}

interface Pending {
  resolve: (value: SendResult) => void
  reject: (reason: unknown) => void
  /** The message's topic, which the result repeats (the native side does not send it back). */
  topic: string
}

/** Ids are unsigned 32-bit on the native side. */
const ID_SPACE = 2 ** 32

/** The longest delay a Node timer accepts; the timer only has to exist, never to fire. */
const KEEP_ALIVE_MS = 2 ** 31 - 1

let statusNames: readonly string[] | undefined

/** The native side's send statuses, indexed as `NativeSendOutcomes.statuses` is. */
function sendStatusNames(): readonly string[] {
  statusNames ??= nativeBinding().sendStatusNames()
  return statusNames
}

/** One producer's staged sends and pending table. */
export class SendDispatch {
  readonly #pending = new Map<number, Pending>()
  /** Ids staged since the last flush. */
  #staged: number[] = []
  #nextId = 0
  #keepAlive: NodeJS.Timeout | undefined

  /**
   * @param native the native producer (read when first needed: it is created after the dispatch,
   *   taking {@link SendDispatch.onComplete} as its callback)
   */
  constructor(private readonly native: () => NativeSendTarget) {}

  /** Number of sends whose outcome has not arrived yet. */
  get pendingCount(): number {
    return this.#pending.size
  }

  /**
   * Stages `message`, flushes at the end of the current turn, and returns the promise of its outcome.
   *
   * @param message a message already validated and converted for the native layer
   * @param queue the queue it must go to, tried once; absent: its sharding key's, else round-robin
   */
  submit(message: NativeMessage, queue?: NativeQueueChoice): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const id = this.#nextId
      this.#nextId = (id + 1) % ID_SPACE
      try {
        this.native().stage(
          id,
          message.topic,
          message.body,
          message.tags,
          message.keys,
          message.properties,
          message.delayLevel,
          message.flag,
          message.shardingKey,
          queue,
          message.deliverTimeMs,
        )
      } catch (error) {
        reject(fromNativeError(error, 'producer'))
        return
      }
      if (this.#staged.length === 0) {
        queueMicrotask(this.#flush)
      }
      this.#staged.push(id)
      this.#pending.set(id, { resolve, reject, topic: message.topic })
      if (this.#pending.size === 1) {
        this.#holdEventLoop()
      }
    })
  }

  /** Receives outcomes from the native side; bound so it can be handed over as a callback. */
  readonly onComplete = (outcomes: NativeSendOutcomes): void => {
    const names = sendStatusNames()
    const { ids, errors } = outcomes
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index] as number
      const pending = this.#pending.get(id)
      if (pending === undefined) {
        continue
      }
      this.#pending.delete(id)
      const error = errors[index]
      if (error !== undefined && error !== null) {
        pending.reject(fromNativeFields(error, 'producer'))
        continue
      }
      const status = names[outcomes.statuses[index] as number]
      if (status === undefined) {
        pending.reject(new ProtocolError(`unknown send status index ${String(outcomes.statuses[index])}`))
        continue
      }
      pending.resolve({
        status: status as SendStatus,
        msgId: outcomes.msgIds[index] as string,
        offsetMsgId: outcomes.offsetMsgIds[index] as string,
        topic: pending.topic,
        brokerName: outcomes.brokerNames[index] as string,
        queueId: outcomes.queueIds[index] as number,
        queueOffset: outcomes.queueOffsets[index] as number,
      })
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
      const typed = fromNativeError(error, 'producer')
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

  /** Stops holding the event loop for good; call after the producer has shut down. */
  dispose(): void {
    if (this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive)
      this.#keepAlive = undefined
    }
  }
}
