/**
 * Ordered sending: the options of {@link Producer.send} and {@link Producer.sendBatch} that choose a message's
 * queue, and the checks of what a queue selector returns.
 *
 * Three ways to keep messages in order (each in one queue, which a consumer reads in order):
 * - `shardingKey` on the message: the native engine picks the key's queue (Java's `SelectMessageQueueByHash` given
 *   the key), with no call into JavaScript;
 * - `{ queue }`: a queue named directly (Java's `send(msg, MessageQueue)`);
 * - `{ selector, arg }`: a function choosing among the topic's writable queues (Java's `MessageQueueSelector`).
 *
 * An ordered send is tried once, on its queue: a failure is the send's error, never a retry on another queue.
 *
 * @module
 */
import type { NativeMessageQueue, NativeQueueChoice } from './binding'
import type { MessageQueue } from './consumer-config'
import { ValidationError } from './errors'
import type { Message } from './message'

/**
 * A queue to send to: a broker and a queue id on it. A {@link MessageQueue} (from {@link Producer.writableQueues}
 * or a consumer) is one; `topic`, when given, must be the message's topic.
 */
export interface QueueRef {
  /** The broker (group) name holding the queue, e.g. `broker-a`. */
  brokerName: string
  /** The queue's number on that broker, 0-based. */
  queueId: number
  /** The topic; when given it must be the message's. */
  topic?: string
}

/**
 * Chooses a message's queue, as Java's `MessageQueueSelector.select(mqs, msg, arg)`: called on the JavaScript
 * thread with the topic's writable queues sorted by broker name then queue id (frozen), the message as given to
 * `send`, and the `arg` of the send options. It must return one of `queues` (the object itself, or one with the
 * same topic, brokerName and queueId), synchronously. A throw or any other result fails the send with a
 * {@link ValidationError} and nothing is sent.
 *
 * @typeParam A the type of the `arg` passed along with it
 */
export type MessageQueueSelector<A> = (queues: readonly MessageQueue[], message: Readonly<Message>, arg: A) => MessageQueue

/** Sends to one queue named directly (Java's `send(msg, MessageQueue)`). Tried once. */
export interface QueueSendOptions {
  /** The queue; it must be a writable queue of the message's topic. */
  queue: QueueRef
}

/**
 * Sends to the queue a function chooses (Java's `send(msg, MessageQueueSelector, arg)`). Tried once. `arg` may be
 * left out when the selector's `arg` type admits `undefined`.
 *
 * @typeParam A the type of `arg`
 */
export type SelectorSendOptions<A> = {
  /** Chooses the queue among the topic's writable queues. */
  selector: MessageQueueSelector<A>
} & (undefined extends A
  ? {
      /** Passed to the selector as its third argument (Java's `arg`), e.g. an order id. */
      arg?: A
    }
  : {
      /** Passed to the selector as its third argument (Java's `arg`), e.g. an order id. */
      arg: A
    })

/**
 * How {@link Producer.send} chooses the queue when the message has no `shardingKey`: a queue named directly, or a
 * selector function. Without options the producer goes round-robin (or by the message's `shardingKey`). A message
 * with a `shardingKey` cannot be given either: the key decides its queue (ValidationError).
 *
 * @typeParam A the type of the selector's `arg`
 */
export type SendOptions<A = unknown> = QueueSendOptions | SelectorSendOptions<A>

/** Options of {@link Producer.sendBatch}: the batch goes to this queue (Java's `send(Collection<Message>, MessageQueue)`). */
export type SendBatchOptions = QueueSendOptions

/** What checked send options ask for. */
export type CheckedSendOptions =
  | { kind: 'queue'; queue: NativeQueueChoice }
  | { kind: 'selector'; selector: MessageQueueSelector<unknown>; arg: unknown }

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

/**
 * Checks the types of a queue reference and converts it to the native shape; the native engine checks that the
 * queue is a writable one of the topic.
 *
 * @param queue what the caller passed as `queue`
 */
export function toNativeQueue(queue: unknown): NativeQueueChoice {
  if (typeof queue !== 'object' || queue === null) {
    throw new ValidationError(`send option queue must be an object { brokerName, queueId }; got ${typeName(queue)}`)
  }
  const { brokerName, queueId, topic } = queue as Record<string, unknown>
  if (typeof brokerName !== 'string') {
    throw new ValidationError(`queue brokerName must be a string; got ${typeName(brokerName)}`)
  }
  if (typeof queueId !== 'number') {
    throw new ValidationError(`queue queueId must be a number; got ${typeName(queueId)}`)
  }
  if (topic !== undefined && typeof topic !== 'string') {
    throw new ValidationError(`queue topic must be a string when given; got ${typeName(topic)}`)
  }
  return topic === undefined ? { brokerName, queueId } : { topic, brokerName, queueId }
}

/**
 * Checks the shape of send options: an object with either `queue` or `selector` (a function), not both.
 *
 * @param options the second argument of `send`
 */
export function checkSendOptions(options: unknown): CheckedSendOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(`send options must be an object { queue } or { selector, arg }; got ${typeName(options)}`)
  }
  const { queue, selector, arg } = options as Record<string, unknown>
  if (queue !== undefined && selector !== undefined) {
    throw new ValidationError('send options name a queue and a selector; give one of them')
  }
  if (queue !== undefined) {
    return { kind: 'queue', queue: toNativeQueue(queue) }
  }
  if (typeof selector !== 'function') {
    throw new ValidationError(`send option selector must be a function (queues, message, arg) => queue; got ${typeName(selector)}`)
  }
  return { kind: 'selector', selector: selector as MessageQueueSelector<unknown>, arg }
}

/**
 * The queues a selector chooses from: fresh frozen objects, so that a selector cannot change what another send sees.
 *
 * @param natives the native producer's writable queues of the topic
 */
export function selectorQueues(natives: readonly NativeMessageQueue[]): readonly MessageQueue[] {
  return Object.freeze(natives.map(({ topic, brokerName, queueId }) => Object.freeze({ topic, brokerName, queueId })))
}

function describeQueue(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? typeName(value)
    } catch {
      return typeName(value)
    }
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

/**
 * Calls `selector` and returns the queue it chose, checked to be one of `queues`.
 *
 * @param selector the caller's selector
 * @param queues the topic's writable queues, as given to the selector
 * @param message the message being sent
 * @param arg the selector's `arg`
 * @throws ValidationError when the selector throws (the error is the `cause`) or returns anything but one of `queues`
 */
export function runSelector(
  selector: MessageQueueSelector<unknown>,
  queues: readonly MessageQueue[],
  message: Message,
  arg: unknown,
): MessageQueue {
  let chosen: unknown
  try {
    chosen = selector(queues, message, arg)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ValidationError(`the queue selector threw: ${reason}; nothing was sent`, { cause: error })
  }
  if (chosen instanceof Promise) {
    // Not awaited: a rejection would otherwise go unhandled.
    chosen.catch(() => undefined)
    throw new ValidationError('the queue selector returned a Promise; it must return one of the queues it was given, synchronously')
  }
  const found = queues.find(
    (queue) =>
      queue === chosen ||
      (typeof chosen === 'object' &&
        chosen !== null &&
        (chosen as MessageQueue).topic === queue.topic &&
        (chosen as MessageQueue).brokerName === queue.brokerName &&
        (chosen as MessageQueue).queueId === queue.queueId),
  )
  if (found === undefined) {
    throw new ValidationError(
      `the queue selector returned ${describeQueue(chosen)}, which is not one of the ${queues.length} writable queues it was given; nothing was sent`,
    )
  }
  return found
}
