/**
 * The topics a consumer subscribes to, each with its selector.
 *
 * @module
 */
import { InvalidTopicError, SubscriptionConflictError, TopicNotSubscribedError } from './errors'
import { validateTopic } from './names'
import { MessageSelector } from './selector'

/** One subscription: a topic and what of it is selected. */
export interface Subscription {
  /** The topic. */
  readonly topic: string
  /** What is selected. */
  readonly selector: MessageSelector
}

/**
 * Holds a consumer's subscriptions. A consumer reads them when it starts; changes after that take effect at
 * the next start.
 *
 * ```ts
 * const subscriptions = new SubscriptionManager()
 * subscriptions.subscribe('orders', MessageSelector.byTag('created || paid'))
 * ```
 */
export class SubscriptionManager {
  readonly #subscriptions = new Map<string, Subscription>()

  /**
   * Subscribes to a topic. Subscribing again to the same topic with the same selector does nothing.
   *
   * @param topic the topic
   * @param selector what to receive; default every message
   * @throws InvalidTopicError for a bad topic name
   * @throws SubscriptionConflictError when the topic is subscribed with another selector (use {@link updateSelector})
   */
  subscribe(topic: string, selector: MessageSelector = MessageSelector.all()): Subscription {
    const name = validateTopic(topic, InvalidTopicError)
    if (!(selector instanceof MessageSelector)) {
      throw new SubscriptionConflictError(`selector for ${name} must be a MessageSelector`)
    }
    const existing = this.#subscriptions.get(name)
    if (existing !== undefined) {
      if (existing.selector.type === selector.type && existing.selector.expression === selector.expression) {
        return existing
      }
      throw new SubscriptionConflictError(
        `${name} is already subscribed with ${existing.selector.toString()}; call updateSelector to change it to ${selector.toString()}`,
      )
    }
    const subscription = Object.freeze({ topic: name, selector })
    this.#subscriptions.set(name, subscription)
    return subscription
  }

  /**
   * Replaces the selector of a subscribed topic.
   *
   * @param topic a subscribed topic
   * @param selector the new selector
   * @throws TopicNotSubscribedError when the topic is not subscribed
   */
  updateSelector(topic: string, selector: MessageSelector): Subscription {
    if (!this.#subscriptions.has(topic)) {
      throw new TopicNotSubscribedError(`${topic} is not subscribed`)
    }
    this.#subscriptions.delete(topic)
    return this.subscribe(topic, selector)
  }

  /**
   * Removes a subscription.
   *
   * @param topic a subscribed topic
   * @throws TopicNotSubscribedError when the topic is not subscribed
   */
  unsubscribe(topic: string): void {
    if (!this.#subscriptions.delete(topic)) {
      throw new TopicNotSubscribedError(`${topic} is not subscribed`)
    }
  }

  /** The subscription of a topic, if any. */
  getSubscription(topic: string): Subscription | undefined {
    return this.#subscriptions.get(topic)
  }

  /** Whether the topic is subscribed. */
  isSubscribed(topic: string): boolean {
    return this.#subscriptions.has(topic)
  }

  /** The subscribed topics, in the order they were subscribed. */
  getTopics(): string[] {
    return [...this.#subscriptions.keys()]
  }

  /** Every subscription, in the order they were subscribed. */
  getSubscriptions(): Subscription[] {
    return [...this.#subscriptions.values()]
  }
}
