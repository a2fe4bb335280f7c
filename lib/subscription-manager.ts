/**
 * The topics a consumer subscribes to, each with its selector; their Java `SubscriptionData` form; and a
 * versioned export that can be saved as JSON and imported again.
 *
 * @module
 */
import {
  ConfigError,
  InvalidSelectorError,
  InvalidTopicError,
  SubscriptionConflictError,
  SubscriptionDataError,
  SubscriptionLimitExceededError,
  TopicNotSubscribedError,
} from './errors'
import { validateTopic } from './names'
import { ExpressionType, MessageSelector, type SelectorTypeName, tagHash } from './selector'

/**
 * Default of `maxSubscriptions`, as in the seed. Every subscription rides in each heartbeat to every broker (every
 * 30 s, some 150 bytes of JSON each) and costs a route lookup and a rebalance every 20 s; a thousand topics per
 * consumer is far past what a design with tags would need, and low enough to catch a loop that subscribes
 * without end.
 */
export const DEFAULT_MAX_SUBSCRIPTIONS = 1000

/** Prefix of a group's retry topic, which a consumer subscribes by itself. */
const RETRY_TOPIC_PREFIX = '%RETRY%'

/** The format version {@link SubscriptionManager.exportSubscriptions} writes and importing accepts. */
export const SUBSCRIPTIONS_EXPORT_VERSION = 1

/** One subscription: a topic and what of it is selected. */
export interface Subscription {
  /** The topic. */
  readonly topic: string
  /** What is selected. */
  readonly selector: MessageSelector
  /** When it was made or last changed, ms since the epoch (Java's `subVersion`); grows with each change. */
  readonly subVersion: number
}

/**
 * A change of a {@link SubscriptionManager}'s subscriptions, as the consumers it was given to hear of it: a topic
 * subscribed or its selector replaced (`previous` is the replaced subscription), or a topic unsubscribed.
 *
 * @internal
 */
export type SubscriptionChange =
  | { readonly kind: 'subscribe'; readonly subscription: Subscription; readonly previous: Subscription | undefined }
  | { readonly kind: 'unsubscribe'; readonly topic: string; readonly previous: Subscription }

/** @internal Told of each change, synchronously, after the manager changed; must not throw. */
export type SubscriptionObserver = (change: SubscriptionChange) => void

/** The observers of each manager: the consumers started with it. Kept off the class so it is no public API. */
const observers = new WeakMap<SubscriptionManager, Set<SubscriptionObserver>>()

/**
 * Tells `observer` of every later change of `manager`'s subscriptions (a started consumer applies them).
 *
 * @internal
 * @returns the function that stops it
 */
export function observeSubscriptions(manager: SubscriptionManager, observer: SubscriptionObserver): () => void {
  let set = observers.get(manager)
  if (set === undefined) {
    set = new Set()
    observers.set(manager, set)
  }
  const registered = set
  // A wrapper per registration, so that one observer registered twice is removed once per call.
  const entry: SubscriptionObserver = (change) => observer(change)
  registered.add(entry)
  return () => {
    registered.delete(entry)
  }
}

function notify(manager: SubscriptionManager, change: SubscriptionChange): void {
  for (const observer of observers.get(manager) ?? []) {
    observer(change)
  }
}

/** Set by the class's static block: the one way to write a manager's table without telling its observers. */
let restoreEntry: (manager: SubscriptionManager, topic: string, entry: Subscription | undefined) => void

/**
 * Undoes a change a consumer's engine refused: puts `previous` back as the subscription of `topic` (removes it
 * when undefined), provided the manager still holds `applied` for it (a later change wins). No observer is told:
 * the engine never took the change.
 *
 * @internal
 * @returns whether the manager was changed
 */
export function restoreSubscription(
  manager: SubscriptionManager,
  topic: string,
  applied: Subscription | undefined,
  previous: Subscription | undefined,
): boolean {
  if (manager.getSubscription(topic) !== applied) {
    return false
  }
  restoreEntry(manager, topic, previous)
  return true
}

/** Settings of a {@link SubscriptionManager}. */
export interface SubscriptionManagerOptions {
  /** Most topics subscribed at once; default {@link DEFAULT_MAX_SUBSCRIPTIONS}. */
  maxSubscriptions?: number
}

/**
 * A subscription in the JSON shape of Java's `SubscriptionData` (what a heartbeat carries), field names as Java
 * serialises them.
 */
export interface SubscriptionData {
  /** The topic. */
  topic: string
  /** The expression: `*`, `a || b`, or SQL92. */
  subString: string
  /** The tags of a TAG expression (empty for `*` and SQL92). */
  tagsSet: string[]
  /** Java's `String.hashCode()` of each tag, in the same order (see `tagHash`). */
  codeSet: number[]
  /** `TAG` or `SQL92`. */
  expressionType: ExpressionType
  /** When it was made or last changed, ms since the epoch. */
  subVersion: number
  /** Java's filter-class mode; always false (not supported). */
  classFilterMode: boolean
}

/** One subscription in an export. */
export interface ExportedSubscription {
  /** The topic. */
  topic: string
  /** `TAG` or `SQL92`. */
  type: ExpressionType
  /** The selector's expression. */
  expression: string
  /** When it was made or last changed, ms since the epoch. */
  subVersion: number
}

/** What {@link SubscriptionManager.exportSubscriptions} returns: plain data, `JSON.stringify`-able. */
export interface SubscriptionsExport {
  /** {@link SUBSCRIPTIONS_EXPORT_VERSION}. */
  version: typeof SUBSCRIPTIONS_EXPORT_VERSION
  /** The subscriptions, in the order they were made. */
  subscriptions: ExportedSubscription[]
}

/** Options of {@link SubscriptionManager.importSubscriptions}. */
export interface ImportSubscriptionsOptions {
  /** Replace every current subscription by the imported ones instead of adding them; default false. */
  replace?: boolean
}

/**
 * Holds a consumer's subscriptions. A consumer reads them when it starts; while it runs, every change made here
 * (subscribe, updateSelector, unsubscribe, imports) reaches it too, as Java's `subscribe` / `unsubscribe` after
 * `start()`: the brokers are told at once and the queues are rebalanced at once (see `Consumer`, "Changing
 * subscriptions while running"). The checks of this class throw here, synchronously; what only the brokers can
 * refuse (a SQL92 expression) is refused asynchronously by each consumer, which then puts the manager back as it
 * was and reports the error.
 *
 * ```ts
 * const subscriptions = new SubscriptionManager()
 * subscriptions.subscribe('orders', MessageSelector.byTag('created || paid'))
 * const saved = JSON.stringify(subscriptions.exportSubscriptions())
 * new SubscriptionManager().importSubscriptions(JSON.parse(saved))
 * ```
 */
export class SubscriptionManager {
  /** Most topics subscribed at once. */
  readonly maxSubscriptions: number
  readonly #subscriptions = new Map<string, Subscription>()

  static {
    restoreEntry = (manager, topic, entry) => {
      if (entry === undefined) {
        manager.#subscriptions.delete(topic)
      } else {
        manager.#subscriptions.set(topic, entry)
      }
    }
  }

  /**
   * @param options the subscription limit
   * @throws ConfigError when `maxSubscriptions` is not a positive integer
   */
  constructor(options: SubscriptionManagerOptions = {}) {
    const max = options.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
      throw new ConfigError(`maxSubscriptions must be a positive integer; got ${String(max)}`)
    }
    this.maxSubscriptions = max
  }

  /**
   * Subscribes to a topic. Subscribing again to the same topic with the same selector does nothing.
   *
   * @param topic the topic
   * @param selector what to receive; default every message
   * @throws InvalidTopicError for a bad topic name
   * @throws InvalidSelectorError when the selector is not a MessageSelector
   * @throws SubscriptionConflictError when the topic is subscribed with another selector (use {@link updateSelector})
   * @throws SubscriptionLimitExceededError when `maxSubscriptions` topics are subscribed already
   */
  subscribe(topic: string, selector: MessageSelector = MessageSelector.all()): Subscription {
    const name = validateTopic(topic, InvalidTopicError)
    checkSelector(name, selector)
    const existing = this.#subscriptions.get(name)
    if (existing !== undefined) {
      checkNoConflict(existing, selector)
      return existing
    }
    this.#checkLimit(1)
    const subscription = makeSubscription(name, selector, Date.now())
    this.#subscriptions.set(name, subscription)
    notify(this, { kind: 'subscribe', subscription, previous: undefined })
    return subscription
  }

  /**
   * Replaces the selector of a subscribed topic (its `subVersion` grows).
   *
   * @param topic a subscribed topic
   * @param selector the new selector
   * @throws TopicNotSubscribedError when the topic is not subscribed
   * @throws InvalidSelectorError when the selector is not a MessageSelector
   */
  updateSelector(topic: string, selector: MessageSelector): Subscription {
    const existing = this.#subscriptions.get(topic)
    if (existing === undefined) {
      throw new TopicNotSubscribedError(`${topic} is not subscribed`)
    }
    checkSelector(topic, selector)
    // Greater than the last one even within the same millisecond, so a broker sees the change as newer.
    const subscription = makeSubscription(topic, selector, Math.max(Date.now(), existing.subVersion + 1))
    this.#subscriptions.set(topic, subscription)
    notify(this, { kind: 'subscribe', subscription, previous: existing })
    return subscription
  }

  /**
   * Removes a subscription.
   *
   * @param topic a subscribed topic
   * @throws TopicNotSubscribedError when the topic is not subscribed
   */
  unsubscribe(topic: string): void {
    const previous = this.#subscriptions.get(topic)
    if (previous === undefined) {
      throw new TopicNotSubscribedError(`${topic} is not subscribed`)
    }
    this.#subscriptions.delete(topic)
    notify(this, { kind: 'unsubscribe', topic, previous })
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

  /**
   * The subscriptions as Java's `SubscriptionData`. A glob selector (see `MessageSelector`) appears as written,
   * its patterns in `tagsSet`; the brokers themselves are sent `*` for it and the consumer filters.
   */
  toSubscriptionDataList(): SubscriptionData[] {
    return this.getSubscriptions().map(({ topic, selector, subVersion }) => ({
      topic,
      subString: selector.expression,
      tagsSet: [...selector.tags],
      codeSet: selector.tags.map(tagHash),
      expressionType: selector.type,
      subVersion,
      classFilterMode: false,
    }))
  }

  /**
   * Adds the subscriptions of a `SubscriptionData` list (as {@link toSubscriptionDataList} writes, or a Java
   * client's), all or none. The selector is rebuilt from `subString` and `expressionType` (TAG when absent);
   * `tagsSet` and `codeSet` are derived from it and not read. A topic subscribed already with the same selector
   * stays as it is. Retry topics (`%RETRY%<group>`, which a Java heartbeat lists) are skipped: a consumer subscribes
   * its group's own.
   *
   * @param list the subscriptions
   * @returns the subscriptions of the list's topics
   * @throws SubscriptionDataError for a malformed entry (bad topic, bad expression, a topic listed twice, filter classes)
   * @throws SubscriptionConflictError when a listed topic is subscribed here with another selector
   * @throws SubscriptionLimitExceededError when the new topics would pass `maxSubscriptions`
   */
  fromSubscriptionDataList(list: readonly SubscriptionData[]): Subscription[] {
    if (!Array.isArray(list)) {
      throw new SubscriptionDataError(`a SubscriptionData list must be an array; got ${describe(list)}`)
    }
    const entries = list.map((entry, index) => parseSubscriptionData(entry, index))
    const before = new Map(this.#subscriptions)
    const added = this.#addAll(entries.filter(({ topic }) => !topic.startsWith(RETRY_TOPIC_PREFIX)))
    this.#notifyChangesSince(before)
    return added
  }

  /** The subscriptions as plain, versioned data to save (for example as JSON) and {@link importSubscriptions} later. */
  exportSubscriptions(): SubscriptionsExport {
    return {
      version: SUBSCRIPTIONS_EXPORT_VERSION,
      subscriptions: this.getSubscriptions().map(({ topic, selector, subVersion }) => ({
        topic,
        type: selector.type,
        expression: selector.expression,
        subVersion,
      })),
    }
  }

  /**
   * Imports what {@link exportSubscriptions} wrote, all or none: the whole input is checked before anything
   * changes. By default the subscriptions are added (a topic subscribed already with the same selector stays as
   * it is); with `replace: true` they replace every current one.
   *
   * @param data an export (parsed back from JSON, for example)
   * @param options whether to replace the current subscriptions
   * @returns the imported subscriptions
   * @throws SubscriptionDataError when the data is not an export of a known version or an entry is malformed
   * @throws SubscriptionConflictError when adding, and a topic is subscribed here with another selector
   * @throws SubscriptionLimitExceededError when the result would pass `maxSubscriptions`
   */
  importSubscriptions(data: SubscriptionsExport, options: ImportSubscriptionsOptions = {}): Subscription[] {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new SubscriptionDataError(`subscriptions to import must be an object { version, subscriptions }; got ${describe(data)}`)
    }
    if (data.version !== SUBSCRIPTIONS_EXPORT_VERSION) {
      throw new SubscriptionDataError(
        `subscriptions export version ${describe(data.version)} is not one this version reads (${SUBSCRIPTIONS_EXPORT_VERSION})`,
      )
    }
    if (!Array.isArray(data.subscriptions)) {
      throw new SubscriptionDataError(`subscriptions export: 'subscriptions' must be an array; got ${describe(data.subscriptions)}`)
    }
    const entries = data.subscriptions.map((entry, index) => parseExported(entry, index))
    const before = new Map(this.#subscriptions)
    if (options.replace === true) {
      checkNoDuplicates(entries)
      if (entries.length > this.maxSubscriptions) {
        throw new SubscriptionLimitExceededError(
          `importing ${entries.length} subscriptions passes maxSubscriptions ${this.maxSubscriptions}`,
        )
      }
      this.#subscriptions.clear()
    }
    const imported = this.#addAll(entries)
    this.#notifyChangesSince(before)
    return imported
  }

  /** Tells the observers what differs from `before`: topics gone, topics new, selectors changed. */
  #notifyChangesSince(before: ReadonlyMap<string, Subscription>): void {
    if (!observers.has(this)) {
      return
    }
    for (const [topic, previous] of before) {
      if (!this.#subscriptions.has(topic)) {
        notify(this, { kind: 'unsubscribe', topic, previous })
      }
    }
    for (const [topic, subscription] of this.#subscriptions) {
      const previous = before.get(topic)
      const same =
        previous !== undefined &&
        previous.selector.type === subscription.selector.type &&
        previous.selector.expression === subscription.selector.expression
      if (!same) {
        notify(this, { kind: 'subscribe', subscription, previous })
      }
    }
  }

  /** Adds checked entries, all or none. */
  #addAll(entries: readonly Subscription[]): Subscription[] {
    checkNoDuplicates(entries)
    let added = 0
    for (const entry of entries) {
      const existing = this.#subscriptions.get(entry.topic)
      if (existing === undefined) {
        added += 1
      } else {
        checkNoConflict(existing, entry.selector)
      }
    }
    this.#checkLimit(added)
    return entries.map((entry) => {
      const existing = this.#subscriptions.get(entry.topic)
      if (existing !== undefined) {
        return existing
      }
      this.#subscriptions.set(entry.topic, entry)
      return entry
    })
  }

  #checkLimit(adding: number): void {
    if (this.#subscriptions.size + adding > this.maxSubscriptions) {
      throw new SubscriptionLimitExceededError(
        `${this.#subscriptions.size} topics are subscribed; ${adding} more would pass maxSubscriptions ${this.maxSubscriptions}`,
      )
    }
  }
}

function makeSubscription(topic: string, selector: MessageSelector, subVersion: number): Subscription {
  return Object.freeze({ topic, selector, subVersion })
}

function checkSelector(topic: string, selector: unknown): void {
  if (!(selector instanceof MessageSelector)) {
    throw new InvalidSelectorError(`selector for ${topic} must be a MessageSelector; got ${describe(selector)}`)
  }
}

function checkNoConflict(existing: Subscription, selector: MessageSelector): void {
  if (existing.selector.type !== selector.type || existing.selector.expression !== selector.expression) {
    throw new SubscriptionConflictError(
      `${existing.topic} is already subscribed with ${existing.selector.toString()}; call updateSelector to change it to ${selector.toString()}`,
    )
  }
}

function checkNoDuplicates(entries: readonly Subscription[]): void {
  const seen = new Set<string>()
  for (const { topic } of entries) {
    if (seen.has(topic)) {
      throw new SubscriptionDataError(`topic ${topic} is listed twice`)
    }
    seen.add(topic)
  }
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'undefined'
  }
  if (typeof value === 'object' && value !== null) {
    return Array.isArray(value) ? 'an array' : 'an object'
  }
  return JSON.stringify(value) ?? typeof value
}

/** Builds a subscription from untrusted fields; every failure is a SubscriptionDataError naming the entry. */
function parseEntry(where: string, topic: unknown, type: unknown, expression: unknown, subVersion: unknown): Subscription {
  let name: string
  let selector: MessageSelector
  try {
    name = validateTopic(topic, InvalidTopicError)
    if (typeof expression !== 'string') {
      throw new InvalidSelectorError(`the expression must be a string; got ${describe(expression)}`)
    }
    selector = new MessageSelector(type as SelectorTypeName, expression)
  } catch (error) {
    throw new SubscriptionDataError(`${where}: ${(error as Error).message}`, { cause: error })
  }
  let version = Date.now()
  if (subVersion !== undefined) {
    if (typeof subVersion !== 'number' || !Number.isSafeInteger(subVersion) || subVersion < 0) {
      throw new SubscriptionDataError(`${where}: subVersion must be a non-negative integer; got ${describe(subVersion)}`)
    }
    version = subVersion
  }
  return makeSubscription(name, selector, version)
}

function asRecord(where: string, entry: unknown): Record<string, unknown> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new SubscriptionDataError(`${where} must be an object; got ${describe(entry)}`)
  }
  return entry as Record<string, unknown>
}

function parseSubscriptionData(entry: unknown, index: number): Subscription {
  const where = `SubscriptionData #${index}`
  const data = asRecord(where, entry)
  if (data.classFilterMode !== undefined && data.classFilterMode !== false) {
    throw new SubscriptionDataError(`${where}: classFilterMode (filter classes) is not supported`)
  }
  return parseEntry(where, data.topic, data.expressionType ?? ExpressionType.TAG, data.subString, data.subVersion)
}

function parseExported(entry: unknown, index: number): Subscription {
  const where = `subscription #${index}`
  const data = asRecord(where, entry)
  return parseEntry(where, data.topic, data.type, data.expression, data.subVersion)
}
