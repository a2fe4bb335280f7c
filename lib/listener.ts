/**
 * Message listeners: what the consumer calls with the messages it pulled, and what they answer.
 *
 * @module
 */
import type { ConsumedMessage } from './consumed-message'
import type { MessageQueue } from './consumer-config'

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
}

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

/** Base class of listeners (the seed's `MessageListener`). */
export abstract class MessageListener {
  /**
   * Consumes a batch of messages of one queue.
   *
   * @param messages up to `consumeMessageBatchMaxSize` messages, in queue order
   * @param context the queue and the per-mode controls
   * @returns the verdict, or a Promise of it; a throw or rejection means RECONSUME_LATER
   */
  abstract consumeMessage(
    messages: ConsumedMessage[],
    context: ConsumeConcurrentlyContext,
  ): ConsumeVerdict | Promise<ConsumeVerdict>
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
export abstract class MessageListenerConcurrently extends MessageListener {}

/** What the consumer accepts as its listener. */
export type ConcurrentListener = MessageListenerConcurrently | ConsumeFunction
