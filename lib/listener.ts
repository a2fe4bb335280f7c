/**
 * Message listeners: what the consumer calls with the messages it pulled, and what they answer.
 *
 * @module
 */
import type { ConsumedMessage } from './consumed-message'
import type { MessageQueue } from './consumer-config'
import type { OffsetStore } from './offset-store'

/** A listener's verdict on a batch (the seed's `ConsumeResult`, with its string values). */
export const ConsumeResult = {
  /** Consumed: the messages are done and their offsets may be committed. */
  SUCCESS: 'CONSUME_SUCCESS',
  /** Not consumed: deliver them again later (after a delay, with `reconsumeTimes` + 1). */
  RECONSUME_LATER: 'RECONSUME_LATER',
  /** Orderly listeners: consumed, commit now. */
  COMMIT: 'COMMIT',
  /** Orderly listeners: roll back to the last commit and consume again. */
  ROLLBACK: 'ROLLBACK',
  /** Orderly listeners: pause the queue a moment and consume the same messages again. */
  SUSPEND_CURRENT_QUEUE_A_MOMENT: 'SUSPEND_CURRENT_QUEUE_A_MOMENT',
} as const

/** One of the {@link ConsumeResult} values. */
export type ConsumeResult = (typeof ConsumeResult)[keyof typeof ConsumeResult]

/** What a concurrent listener learns besides the messages, and what it may set (Java's `ConsumeConcurrentlyContext`). */
export interface ConsumeConcurrentlyContext {
  /** The queue the messages were pulled from. */
  readonly messageQueue: MessageQueue
  /** The consumer group. */
  readonly consumerGroup: string
  /**
   * For RECONSUME_LATER: the delay level of the next delivery (1..18 = 1s 5s 10s 30s 1m ... 2h). 0, the
   * default, lets the broker choose (3 + reconsumeTimes); -1 sends the messages straight to `%DLQ%<group>`.
   */
  delayLevelWhenNextConsume: number
  /**
   * The store the consumer commits to (the one given as `offsetStore`, or the consumer's own), so a listener may
   * record progress itself, as in the seed:
   * `context.offsetStore.updateOffset(context.messageQueue, message.queueOffset + 1n)`.
   *
   * The consumer commits anyway after every batch it consumed (SUCCESS), with `increaseOnly` semantics: its
   * commit never moves a queue back. A manual `updateOffset` with the default `increaseOnly = false` takes the
   * value as given: a lower one moves the queue's progress back until the consumer's next commit of that queue
   * (which moves it forward again); a higher one (ahead of what the consumer consumed) stands, and the consumer's
   * later commits below it are ignored, so messages before it count as consumed even if a batch of them fails.
   */
  readonly offsetStore: OffsetStore
}

/**
 * What a listener learns besides the messages (the seed's name). For the concurrent listeners of this version it is
 * the {@link ConsumeConcurrentlyContext}.
 */
export type ConsumeMessageContext = ConsumeConcurrentlyContext

/**
 * A verdict, or nothing: a listener that returns (or resolves) without a value consumed the messages; a throw or a
 * rejection means RECONSUME_LATER.
 */
export type ConsumeVerdict = ConsumeResult | void | undefined

/** A listener written as a plain (sync or async) function. */
export type ConsumeFunction = (
  messages: ConsumedMessage[],
  context: ConsumeConcurrentlyContext,
) => ConsumeVerdict | Promise<ConsumeVerdict>

/**
 * What an orderly listener learns besides the messages, and what it may set (Java's `ConsumeOrderlyContext`). A
 * fresh context per call: what a call sets applies to that call's verdict only.
 */
export interface ConsumeOrderlyContext {
  /** The queue the messages were pulled from; one call at a time per queue, in queue order. */
  readonly messageQueue: MessageQueue
  /** The consumer group. */
  readonly consumerGroup: string
  /**
   * Whether the offsets of a SUCCESS batch are committed at once (Java's default, true). Set to false for this call,
   * SUCCESS commits nothing (the batch stays taken), COMMIT commits everything taken since the last commit, and
   * ROLLBACK delivers all of that again after the suspend time. With true, COMMIT and ROLLBACK mean SUCCESS.
   */
  autoCommit: boolean
  /**
   * For SUSPEND_CURRENT_QUEUE_A_MOMENT (and a throw, a rejection, ROLLBACK): how long the queue waits before the
   * same messages are consumed again, in milliseconds, used clamped to 10..30000; -1 (the default) keeps the
   * consumer's `suspendCurrentQueueTimeMillis` (1000).
   */
  suspendCurrentQueueTimeMillis: number
}

/**
 * Base class of listeners (the seed's `MessageListener`).
 *
 * @typeParam Context what each call learns besides the messages: the concurrent context unless a subclass says
 *   otherwise
 */
export abstract class MessageListener<Context = ConsumeMessageContext> {
  /**
   * Consumes a batch of messages of one queue.
   *
   * @param messages up to `consumeMessageBatchMaxSize` messages, in queue order
   * @param context the queue and the per-mode controls
   * @returns the verdict, or a Promise of it; a throw or rejection means RECONSUME_LATER
   */
  abstract consumeMessage(messages: ConsumedMessage[], context: Context): ConsumeVerdict | Promise<ConsumeVerdict>
}

/**
 * A listener whose calls run concurrently: up to `consumeThreadNum` batches at once, from any queues, in no
 * particular order. Answer SUCCESS or RECONSUME_LATER.
 *
 * ```ts
 * class Orders extends MessageListenerConcurrently {
 *   async consumeMessage(messages: ConsumedMessage[]) {
 *     for (const message of messages) await save(message.body)
 *     return ConsumeResult.SUCCESS
 *   }
 * }
 * ```
 */
export abstract class MessageListenerConcurrently extends MessageListener<ConsumeConcurrentlyContext> {}

/**
 * A listener for orderly consumption (the seed's `MessageListenerOrderly`, Java's): one call at a time per queue, in
 * queue order, answering SUCCESS / COMMIT, ROLLBACK or SUSPEND_CURRENT_QUEUE_A_MOMENT, with the queue locked on the
 * brokers for this member.
 *
 * A consumer given one consumes orderly (see "Orderly consumption" on `Consumer`): queue locks on the brokers when
 * clustering, one call per queue at a time, SUSPEND_CURRENT_QUEUE_A_MOMENT (or a throw or rejection) retrying the
 * same messages in place after a pause. Returning nothing means SUCCESS.
 *
 * ```ts
 * class Ledger extends MessageListenerOrderly {
 *   async consumeMessage(messages: ConsumedMessage[], context: ConsumeOrderlyContext) {
 *     for (const message of messages) await apply(message)
 *     return ConsumeResult.SUCCESS
 *   }
 * }
 * ```
 */
export abstract class MessageListenerOrderly extends MessageListener<ConsumeOrderlyContext> {}

/** What {@link SimpleMessageListener} wraps: a (sync or async) function of one message. */
export type MessageHandler = (
  message: ConsumedMessage,
  context: ConsumeMessageContext,
) => ConsumeVerdict | Promise<ConsumeVerdict>

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** Whether a message's answer lets the batch go on to the next message. */
function consumed(verdict: unknown): boolean {
  return verdict === undefined || verdict === ConsumeResult.SUCCESS
}

/**
 * A concurrent listener made of a function called once per message (the seed's `SimpleMessageListener`).
 *
 * The verdict of a batch: the messages are handled one after another, in queue order, each after the previous
 * one's answer (awaited when it is a promise). When every message answered SUCCESS (or nothing), the batch is
 * SUCCESS. The first message that answers anything else, throws or rejects ends the batch: the messages after it
 * are not handled, and that answer (or the failure) is the batch's, so with RECONSUME_LATER the whole batch,
 * handled messages included, is delivered again (at least once; handlers should be idempotent). With the default
 * `consumeMessageBatchMaxSize` of 1 a batch is one message and none of this matters.
 *
 * A handler that never returns a promise is called synchronously, and the batch answers without a promise.
 *
 * ```ts
 * const listener = new SimpleMessageListener(async (message) => {
 *   await save(JSON.parse(message.body.toString()))
 * })
 * ```
 */
export class SimpleMessageListener extends MessageListenerConcurrently {
  readonly #handler: MessageHandler

  /**
   * @param handler called with each message and the batch's context
   * @throws TypeError when the handler is not a function
   */
  constructor(handler: MessageHandler) {
    super()
    if (typeof handler !== 'function') {
      throw new TypeError('SimpleMessageListener wraps a function (message, context) => result')
    }
    this.#handler = handler
  }

  /**
   * Handles the messages one by one; see the class documentation for the batch's verdict.
   *
   * @param messages the batch
   * @param context the queue and the per-mode controls, shared by the batch's calls
   */
  consumeMessage(messages: ConsumedMessage[], context: ConsumeMessageContext): ConsumeVerdict | Promise<ConsumeVerdict> {
    for (let index = 0; index < messages.length; index += 1) {
      const verdict = this.#handler(messages[index] as ConsumedMessage, context)
      if (isPromiseLike(verdict)) {
        return this.#finish(verdict, messages, index, context)
      }
      if (!consumed(verdict)) {
        return verdict
      }
    }
    return ConsumeResult.SUCCESS
  }

  /** The rest of a batch once a handler went async. */
  async #finish(
    pending: PromiseLike<ConsumeVerdict>,
    messages: ConsumedMessage[],
    index: number,
    context: ConsumeMessageContext,
  ): Promise<ConsumeVerdict> {
    let verdict = await pending
    for (let next = index + 1; consumed(verdict) && next < messages.length; next += 1) {
      verdict = await this.#handler(messages[next] as ConsumedMessage, context)
    }
    return consumed(verdict) ? ConsumeResult.SUCCESS : verdict
  }
}

/** What the consumer accepts as its listener. */
export type ConcurrentListener = MessageListenerConcurrently | ConsumeFunction
