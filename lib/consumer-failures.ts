/**
 * The consumer's own failures built over the typed engine failure that caused them: `ConsumerStartError`,
 * `SubscribeError`, `UnsubscribeError`, `ConsumerShutdownError`, `MessagePullError` and `RebalanceError`. Each keeps
 * the engine failure as `cause` and carries its `retriable`, `responseCode` and `brokerAddr` over, so a handler can
 * decide on the outer error alone. Kept apart from `consumer.ts`, which only says when each happens.
 *
 * @module
 */
import type { NativeErrorFields, NativeMessageQueue } from './binding'
import type { MessageQueue } from './consumer-config'
import {
  ConfigError,
  ConsumerShutdownError,
  ConsumerStartError,
  ConsumerStateError,
  InvalidSelectorError,
  MessagePullError,
  RebalanceError,
  RocketMQError,
  type RocketMQErrorOptions,
  SubscribeError,
  UnsubscribeError,
} from './errors'
import { fromNativeError, fromNativeFields } from './native-errors'

/** What an outer error takes over from its cause. */
function carriedOver(cause: RocketMQError): RocketMQErrorOptions {
  return {
    cause,
    retriable: cause.retriable,
    responseCode: cause.responseCode,
    brokerAddr: cause.brokerAddr,
    brokerReason: cause.brokerReason,
  }
}

function typed(error: unknown): RocketMQError {
  return fromNativeError(error, 'consumer')
}

/**
 * A failure of `start()` as the user meets it: a wrong state, a bad setting and a refused selector stay what they
 * are; anything else is a {@link ConsumerStartError} caused by it.
 */
export function startFailure(error: unknown): RocketMQError {
  const cause = typed(error)
  if (cause instanceof ConsumerStateError || cause instanceof ConfigError || cause instanceof InvalidSelectorError) {
    return cause
  }
  return new ConsumerStartError(`the consumer could not start: ${cause.message}`, carriedOver(cause))
}

/**
 * A subscription change the engine refused: a refused expression stays an {@link InvalidSelectorError}; anything
 * else is a {@link SubscribeError} caused by it.
 */
export function subscribeRefusal(topic: string, error: unknown): RocketMQError {
  const cause = typed(error)
  if (cause instanceof InvalidSelectorError) {
    return cause
  }
  return new SubscribeError(`subscribing ${topic} failed; the subscription stays as it was: ${cause.message}`, carriedOver(cause))
}

/** An unsubscription the engine refused, as an {@link UnsubscribeError} caused by the refusal. */
export function unsubscribeRefusal(topic: string, error: unknown): UnsubscribeError {
  const cause = typed(error)
  return new UnsubscribeError(`unsubscribing ${topic} failed; the subscription stays as it was: ${cause.message}`, carriedOver(cause))
}

/** A subscription change that took effect although part of it failed (`fields`: the engine's failure). */
export function incompleteSubscribe(topic: string, fields: NativeErrorFields): SubscribeError {
  const cause = fromNativeFields(fields, 'consumer')
  return new SubscribeError(`subscribed ${topic}, but the brokers may not know it yet: ${cause.message}`, carriedOver(cause))
}

/** An unsubscription that took effect although part of it failed (`fields`: the engine's failure). */
export function incompleteUnsubscribe(topic: string, fields: NativeErrorFields): UnsubscribeError {
  const cause = fromNativeFields(fields, 'consumer')
  return new UnsubscribeError(
    `unsubscribed ${topic}, but not cleanly (messages after the last persisted offsets of its queues will be delivered again to the group if those were not persisted): ${cause.message}`,
    carriedOver(cause),
  )
}

/** The failure of a shutdown that completed without persisting the offsets. */
export function shutdownFailure(error: unknown): ConsumerShutdownError {
  const cause = typed(error)
  return new ConsumerShutdownError(
    `the consumer shut down, but the offsets of the queues it held could not be persisted; messages after the last persisted offsets will be delivered again: ${cause.message}`,
    carriedOver(cause),
  )
}

/** A copy of a native queue. */
export function toMessageQueue(q: NativeMessageQueue): MessageQueue {
  return { topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }
}

/** A failed pull of `queue` reported by the engine. */
export function pullFailure(queue: MessageQueue, fields: NativeErrorFields): MessagePullError {
  const cause = fromNativeFields(fields, 'consumer')
  return new MessagePullError(
    `pulling ${queue.topic} queue ${queue.queueId} of ${queue.brokerName} failed, pulled again in 3 s: ${cause.message}`,
    { ...carriedOver(cause), queue },
  )
}

/** A failed rebalance of `topic` reported by the engine. */
export function rebalanceFailure(topic: string, fields: NativeErrorFields): RebalanceError {
  const cause = fromNativeFields(fields, 'consumer')
  return new RebalanceError(`rebalancing ${topic} failed, tried again at the next round: ${cause.message}`, {
    ...carriedOver(cause),
    topic,
  })
}
