/**
 * The push consumer.
 *
 * @module
 */
import { EventEmitter } from 'node:events'

import { AbortWatch, abortError, checkSignal, firstAborted } from './abort'
import type { NativeConsumer, NativeConsumerEvents } from './binding'
import type { ConsumeTask } from './consumed-message'
import { ConsumeDispatch, type ListenerErrorHandler } from './consume-dispatch'
import {
  type ConsumerConfig,
  type MessageQueue,
  type ResolvedConsumerConfig,
  createConsumerConfig,
  toNativeConsumerConfig,
} from './consumer-config'
import {
  incompleteSubscribe,
  incompleteUnsubscribe,
  pullFailure,
  rebalanceFailure,
  shutdownFailure,
  startFailure,
  subscribeRefusal,
  toMessageQueue,
  unsubscribeRefusal,
} from './consumer-failures'
import {
  ConfigError,
  ConsumerStateError,
  type MessageConsumeError,
  type MessagePullError,
  type RebalanceError,
  type RocketMQError,
} from './errors'
import { type ConcurrentListener, MessageListener, MessageListenerOrderly } from './listener'
import { type ConsumerMetrics, fromNativeHistogram, fromNativeQueueMetrics } from './metrics'
import { nativeBinding } from './native'
import { callNative, callNativeSync } from './native-errors'
import { ConsumerOffsetStore, type OffsetStore, StandaloneOffsetStore, nativeOffsetStoreOf } from './offset-store'
import type { MessageSelector, TagFilter } from './selector'
import {
  type SubscriptionChange,
  SubscriptionManager,
  observeSubscriptions,
  restoreSubscription,
} from './subscription-manager'

/** The offset store's metrics (the seed's `get_metrics()` keys in camelCase). */
export interface OffsetStoreMetrics {
  /** Offset writes attempted. */
  persistCount: number
  /** Offset writes that failed. */
  persistFailures: number
  /** Offset writes that succeeded (`persistCount - persistFailures`). */
  persistSuccessCount: number
  /** Share of writes that succeeded, 0..1 (0 before the first). */
  persistSuccessRate: number
  /** Average time of a write, in milliseconds. */
  avgPersistLatency: number
  /** Offset reads answered from memory. */
  cacheHits: number
  /** Offset reads that had to ask the broker. */
  cacheMisses: number
  /** Share of reads answered from memory, 0..1. */
  cacheHitRate: number
}

/** A consumer's counters; see {@link Consumer.stats}. */
export interface ConsumerStats {
  /** Messages pulled and not yet consumed, over every held queue. */
  messagesHeld: number
  /** Body bytes of those messages. */
  bytesHeld: number
  /** The most messages one queue holds. */
  maxMessagesHeldByAQueue: number
  /** Queues this member holds. */
  queuesHeld: number
  /** Messages the listener consumed. */
  consumedOk: number
  /** Messages the listener failed (RECONSUME_LATER, a throw or rejection, a timeout). */
  consumedFailed: number
  /** Failed messages sent back to the broker for a later delivery. */
  sentBack: number
  /** Failed messages that could not be sent back and are consumed again here. */
  consumedAgainLocally: number
  /**
   * BROADCASTING only: failed messages dropped without another attempt (each logged at `warn`), as the Java
   * client drops them; a broadcasting consumer sends nothing back.
   */
  droppedAfterFailure: number
  /** Malformed records of pull responses skipped (each logged). */
  malformedSkipped: number
  /** Pulls put off because a queue was over a flow-control threshold. */
  flowControlPauses: number
  /** Pulls sent. */
  pulls: number
  /** Pulls that failed (each retried after a pause). */
  pullErrors: number
  /** Listener calls running now in JavaScript. */
  listenerCallsRunning: number
  /** Listener calls handed over and waiting for one of the `consumeThreadNum` slots. */
  listenerCallsQueued: number
  /**
   * Messages acknowledged without a listener call because their tag matched none of their subscription's glob
   * patterns (see `MessageSelector`); the engine counts them in `consumedOk` too.
   */
  messagesFilteredOut: number
  /** The offset store's metrics. */
  offsetStore: OffsetStoreMetrics
}

/**
 * The events a {@link Consumer} emits (it is an `EventEmitter`). They are delivered on the JavaScript thread after the
 * fact; a slow handler delays other JavaScript work, never the Rust engine's pulls, and a handler that throws is
 * reported on stderr and does not stop the others.
 */
export interface ConsumerEvents {
  /** `start()` succeeded; the argument is the client id. */
  started: [clientId: string]
  /** A rebalance changed the queues this member holds; the argument is the whole new set. */
  rebalanced: [queues: MessageQueue[]]
  /** The periodic persist wrote the offsets of this many queues. */
  offsetsPersisted: [queues: number]
  /** A listener call failed (threw, rejected, timed out, or answered something unusable). */
  listenerError: [error: MessageConsumeError, task: Readonly<ConsumeTask>]
  /**
   * A pull failed (a broker down, a pull the broker refused, ...); `error.queue` is the queue, `error.cause` the typed
   * failure. The consumer pulls that queue again after 3 s by itself, so this is at most one event per queue every
   * 3 s, and not an `'error'`. Nothing is lost: the queue's messages are pulled once it succeeds.
   */
  pullFailed: [error: MessagePullError]
  /**
   * A rebalance round could not share out a topic's queues (no route for it: a TopicNotFoundError `cause`; the
   * group's consumer list unavailable); `error.topic` is the topic. The queues held stay held and later rounds try
   * again by themselves; at most one event per topic every 3 s. Not an `'error'`.
   */
  rebalanceFailed: [error: RebalanceError]
  /**
   * A change of the subscription manager made while running failed in the engine: a SQL92 expression the brokers
   * refused (InvalidSelectorError) or another failure of a subscription (SubscribeError: no route or no NameServer
   * answer for the SQL92 check, ...), after which the manager was put back as it was; a subscription or
   * unsubscription that took effect but not cleanly (SubscribeError / UnsubscribeError: no broker took the heartbeat,
   * offsets of a dropped queue not persisted), after which the manager keeps the change; or a shutdown asked for
   * by the `signal` option failed (ConsumerShutdownError). Unlike a stream's, an `'error'` without a handler does
   * not throw: it is written to stderr.
   */
  error: [error: RocketMQError]
  /** `shutdown()` finished. */
  stopped: []
}

/** What a {@link Consumer} is built from. */
export interface ConsumerOptions {
  /** Settings: the result of {@link createConsumerConfig}, or the same fields as a plain object. */
  config: ResolvedConsumerConfig | ConsumerConfig
  /**
   * The topics to consume and their selectors; read at `start()`, and followed while running: its changes reach
   * the consumer at once (see "Changing subscriptions while running" on {@link Consumer}).
   */
  subscriptionManager: SubscriptionManager
  /**
   * Receives the messages: a {@link MessageListenerConcurrently} or a plain (async) function (concurrent
   * consumption), or a {@link MessageListenerOrderly} (orderly consumption: the listener's class decides the mode,
   * as in Java; see "Orderly consumption" on {@link Consumer}).
   */
  messageListener: ConcurrentListener | MessageListenerOrderly
  /**
   * The store to commit to, made by `createOffsetStore` / `OffsetStoreFactory.createOffsetStore` for the config's
   * `consumerGroup` and `messageModel` (else a ConfigError naming both). The consumer uses that very store: it
   * commits each consumed batch into it, persists it as with its own, and its listener sees it as
   * `context.offsetStore`; `start()` starts it if it is not started yet; `shutdown()` persists the consumer's
   * queues but does not stop the store, which stays its owner's to stop (after the consumer's shutdown). Default:
   * the consumer opens its own store at each start (the brokers' when CLUSTERING, its file when BROADCASTING).
   */
  offsetStore?: OffsetStore
  /**
   * Told of each listener call that threw, rejected or answered something unusable; its messages are consumed
   * again later either way. Default: a warning on stderr, at most one a second.
   */
  onListenerError?: ListenerErrorHandler
  /**
   * Ends the consumer when aborted, as {@link Consumer.shutdown} does: a running consumer shuts down (failures are
   * emitted as `'error'`), a start under way rejects with an `AbortError` once the consumer is shut down again,
   * and a later `start()` rejects with one at once.
   */
  signal?: AbortSignal
}

/** Options of {@link Consumer.start}. */
export interface StartOptions {
  /**
   * Aborts the start: already aborted, `start()` rejects at once (nothing started, it may be called again);
   * aborted while starting, the consumer is shut down as soon as the native start ends and `start()` rejects.
   * Either way with an `AbortError` whose `cause` is the signal's reason. It has no effect once `start()`
   * resolved; the consumer's own `signal` option covers its whole life.
   */
  signal?: AbortSignal
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/** Options of {@link Consumer.shutdown}. */
export interface ShutdownOptions {
  /**
   * Milliseconds to wait for listener calls still running before the offsets are committed and the group is left;
   * what such calls were consuming stays uncommitted and is delivered again. Default 10000.
   *
   * There is no `signal` option: this bound already ends the only wait, and a shutdown given up halfway would
   * leave a consumer neither running nor stopped.
   */
  timeout?: number
}

/** What a topic's client-side filter is made from: a selector, or two during a switch. */
interface FilterSource {
  readonly tagFilter: TagFilter | undefined
}

/**
 * Messages selected by `a` or by `b`: without a glob, a selector's messages were filtered by the brokers, so all of
 * them pass.
 */
function anyOf(a: FilterSource, b: FilterSource): FilterSource {
  const fa = a.tagFilter
  const fb = b.tagFilter
  return { tagFilter: fa === undefined || fb === undefined ? undefined : (tag) => fa(tag) || fb(tag) }
}

function toTopicList(topics: unknown): string[] | undefined {
  if (topics === undefined) {
    return undefined
  }
  const list = typeof topics === 'string' ? [topics] : topics
  if (!Array.isArray(list) || list.some((topic) => typeof topic !== 'string' || topic === '')) {
    throw new ConfigError('topics must be a topic name or an array of topic names')
  }
  return [...(list as string[])]
}

/** The default listener-error handler: one stderr line a second at most, with the count of the others. */
function rateLimitedWarning(): ListenerErrorHandler {
  let lastWarned = 0
  let suppressed = 0
  return (error: MessageConsumeError) => {
    const now = Date.now()
    if (now - lastWarned < 1000) {
      suppressed += 1
      return
    }
    const more = suppressed > 0 ? ` (and ${suppressed} more failures since the last warning)` : ''
    lastWarned = now
    suppressed = 0
    process.stderr.write(`[rocketmq-napi] ${error.message}${more}\n`)
  }
}

/**
 * A member of a consumer group that receives the messages of its subscriptions (Java's
 * `DefaultMQPushConsumer`). In CLUSTERING mode the group's members share each topic's queues (rebalanced every
 * `rebalanceInterval` and whenever a member joins or leaves) and commit their progress to the brokers.
 *
 * Delivery is at least once: a message is committed only after the listener said SUCCESS for it; a failed one
 * is sent back to the broker and delivered again later with `reconsumeTimes` + 1 (after `maxReconsumeTimes`
 * failures it goes to `%DLQ%<group>`). Messages of a queue that moves to another member may be delivered there
 * again.
 *
 * ```ts
 * const subscriptions = new SubscriptionManager()
 * subscriptions.subscribe('orders', MessageSelector.byTag('created'))
 * const consumer = new Consumer({
 *   config: createConsumerConfig({ consumerGroup: 'orders-consumer', namesrvAddr: '127.0.0.1:9876' }),
 *   subscriptionManager: subscriptions,
 *   messageListener: async (messages) => {
 *     for (const message of messages) await handle(message.body)
 *     return ConsumeResult.SUCCESS
 *   },
 * })
 * await consumer.start()
 * // ...
 * await consumer.shutdown()
 * ```
 *
 * While started, the consumer keeps the Node process alive; after `shutdown()` it lets it exit.
 *
 * **Changing subscriptions while running.** The consumer follows its {@link SubscriptionManager}: `subscribe`,
 * `updateSelector`, `unsubscribe` and the imports made on it while the consumer runs take effect without a
 * restart, as Java's `subscribe` / `unsubscribe` after `start()`. For each change, in the order made, the consumer
 * checks a SQL92 expression with the brokers (as at start), tells the brokers at once with a heartbeat, and
 * rebalances at once: a new topic's queues are assigned and pulled; an unsubscribed topic's queues are dropped
 * (their offsets committed, as when a rebalance moves a queue) and no longer pulled; a replaced selector holds
 * for every pull made after it (messages pulled before it are still delivered). The group's retry topic stays.
 * The manager's own checks throw synchronously from the manager's call; what only the engine can refuse (a SQL92
 * expression the brokers reject: InvalidSelectorError; any other failure of the change, such as no route for the
 * topic of a SQL92 subscription: SubscribeError / UnsubscribeError with the failure as `cause`; the previous
 * selector staying in force) puts the manager back as it was and is reported as an `'error'` event. A change that
 * took effect but not cleanly (no broker took the heartbeat; an unsubscribed topic's offsets not persisted) keeps
 * the manager as changed and is reported the same way, as a SubscribeError / UnsubscribeError.
 * {@link Consumer.whenSubscriptionsApplied} waits for the changes and rejects with the first such failure. Changes
 * made before `start()` are simply read by it.
 *
 * **Failures it recovers from.** A failed pull and a failed rebalance are retried by the consumer itself; they are
 * reported as `'pullFailed'` (a {@link MessagePullError} with its queue) and `'rebalanceFailed'` (a
 * {@link RebalanceError} with its topic), rate-limited, never as `'error'`.
 *
 * **Orderly consumption.** Given a {@link MessageListenerOrderly}, the consumer works as Java's
 * `ConsumeMessageOrderlyService`: each queue's messages reach the listener one call at a time, in queue order (up
 * to `consumeMessageBatchMaxSize` per call); calls of different queues run at once, up to `consumeThreadNum`. In
 * CLUSTERING mode a queue is locked on its broker before it is consumed (the lock is renewed every 20 s and trusted
 * for 30 s), so two members never consume one queue at once; a queue handed to another member is unlocked after
 * its running call ended and its offset was committed, and `shutdown()` unlocks every queue, so the next owner
 * starts at once. BROADCASTING keeps the per-queue order without locks. Verdicts (Java's `ConsumeOrderlyStatus`):
 * SUCCESS commits the batch; SUSPEND_CURRENT_QUEUE_A_MOMENT, a throw or a rejection delivers the same messages again
 * after `context.suspendCurrentQueueTimeMillis` (else the config's `suspendCurrentQueueTimeMillis`, 1000 ms), with
 * `reconsumeTimes` + 1, before anything after them; a message already delivered `maxReconsumeTimes` + 1 times goes
 * to `%DLQ%<group>` instead and the queue moves on (unbounded by default: see `maxReconsumeTimes`). With
 * `context.autoCommit = false`, SUCCESS commits nothing, COMMIT commits everything taken since the last commit, and
 * ROLLBACK delivers all of that again after the suspend time; with the default `autoCommit = true`, COMMIT and
 * ROLLBACK mean SUCCESS (as Java). Orderly calls have no `consumeTimeout`.
 */
export class Consumer extends EventEmitter<ConsumerEvents> {
  /** The configuration in effect. */
  readonly config: ResolvedConsumerConfig
  readonly #subscriptions: SubscriptionManager
  readonly #native: NativeConsumer
  readonly #dispatch: ConsumeDispatch
  readonly #offsetStore: OffsetStore
  #state: State = 'created'
  #clientId: string | undefined
  #keepAlive: NodeJS.Timeout | undefined
  /** The `signal` option and the listener this consumer put on it. */
  readonly #signal: AbortSignal | undefined
  #stopOnAbort: (() => void) | undefined
  /** Stops following the subscription manager (set while started). */
  #unobserve: (() => void) | undefined
  /** The subscription changes, applied one after another in the order they were made. */
  #changes: Promise<void> = Promise.resolve()
  /** The changes not yet applied (each settles once applied or refused). */
  readonly #pendingChanges = new Set<Promise<void>>()
  /** The selector the engine has for each topic, for the client-side glob filters. */
  readonly #selectors = new Map<string, MessageSelector>()

  /**
   * @param options configuration, subscriptions and listener
   * @throws ConfigError for a bad setting, a missing subscription manager or listener, or a `signal` that is not an
   *   AbortSignal
   */
  constructor(options: ConsumerOptions) {
    super()
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError('Consumer needs { config, subscriptionManager, messageListener }')
    }
    this.config = createConsumerConfig(options.config)
    if (!(options.subscriptionManager instanceof SubscriptionManager)) {
      throw new ConfigError('subscriptionManager must be a SubscriptionManager')
    }
    const listener = options.messageListener
    if (!(listener instanceof MessageListener) && typeof listener !== 'function') {
      throw new ConfigError(
        'messageListener must be a MessageListenerConcurrently, a MessageListenerOrderly or a function (messages, context) => result',
      )
    }
    if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
      throw new ConfigError('onListenerError must be a function')
    }
    this.#signal = checkSignal(options.signal, 'signal', 'config')
    this.#subscriptions = options.subscriptionManager
    const warn = rateLimitedWarning()
    const onError = options.onListenerError
    const onListenerError: ListenerErrorHandler = (error, task) => {
      if (onError !== undefined) {
        onError(error, task)
      } else if (this.listenerCount('listenerError') === 0) {
        warn(error, task)
      }
      this.#emitSafely('listenerError', error, task)
    }
    this.#dispatch = new ConsumeDispatch(this.config.consumerGroup, listener, onListenerError, {
      concurrency: this.config.consumeThreadNum,
      timeoutMs: Math.round(this.config.consumeTimeout * 60_000),
    })
    const { NativeConsumer: NativeConsumerClass } = nativeBinding()
    const native = { ...toNativeConsumerConfig(this.config), orderly: listener instanceof MessageListenerOrderly }
    this.#native = callNativeSync(
      'consumer',
      () => new NativeConsumerClass(native, this.#dispatch.onTasks, (batch: NativeConsumerEvents) => this.#onNativeEvents(batch)),
    )
    this.#dispatch.attach(this.#native)
    this.#offsetStore = this.#bindOffsetStore(options.offsetStore)
    this.#dispatch.setOffsetStore(this.#offsetStore)
    if (this.#signal !== undefined && !this.#signal.aborted) {
      const stop = (): void => {
        if (this.#state === 'created') {
          this.#state = 'stopped'
        } else if (this.#state === 'running') {
          this.shutdown().catch((error: unknown) => this.#reportError(error))
        }
        // 'starting': start() sees the abort once the native start ends, and shuts down.
      }
      this.#signal.addEventListener('abort', stop, { once: true })
      this.#stopOnAbort = stop
    }
  }

  /** The given store, bound to the native consumer, or a view over the consumer's own. */
  #bindOffsetStore(given: unknown): OffsetStore {
    const { NativeOffsetStore: NativeOffsetStoreClass } = nativeBinding()
    if (given === undefined) {
      return new ConsumerOffsetStore(NativeOffsetStoreClass.ofConsumer(this.#native))
    }
    const native = nativeOffsetStoreOf(given)
    if (native === undefined) {
      throw new ConfigError('offsetStore must be a store made by createOffsetStore or OffsetStoreFactory.createOffsetStore')
    }
    callNativeSync('consumer', () => this.#native.useOffsetStore(native))
    return given as OffsetStore
  }

  /**
   * The store this consumer commits to: the one it was given, or a view over its own (usable while it runs). The
   * consumer commits after every consumed batch with `increaseOnly` semantics (a commit never moves progress
   * back); a manual `updateOffset(queue, offset)` (default `increaseOnly = false`) sets the value as given, so a
   * lower one moves the queue's progress back until the consumer's next commit of that queue, which then moves it
   * forward again to the consumer's own position. To record progress ahead of the consumer, pass a higher value
   * (with `increaseOnly = true` it is never a step back). What is in memory is persisted by the next timer tick,
   * `persist` / `persistAll`, or the consumer's shutdown.
   */
  get offsetStore(): OffsetStore {
    return this.#offsetStore
  }

  /**
   * Joins the group and starts consuming the subscribed topics (as they are in the subscription manager now; later
   * changes of the manager follow, see the class documentation).
   *
   * @param options an `AbortSignal` that aborts the start
   * @throws ValidationError when `signal` is not an AbortSignal
   * @throws ConsumerStateError when already started or shut down, nothing is subscribed, or the given offset store
   *   is stopped
   * @throws InvalidSelectorError when a broker refuses a SQL92 expression
   * @throws ConfigError for a setting the engine refuses
   * @throws ConsumerStartError when the engine could not start for another reason; `cause` is the typed failure:
   *   an OffsetError when a broadcasting consumer's offsets file and its backup are both unreadable or a given
   *   offset store not started yet cannot start, a TopicNotFoundError or NameServerError when a SQL92
   *   subscription's topic has no route or no NameServer answers, ... Nothing was consumed; the consumer may be
   *   started again or shut down.
   * @throws AbortError when the start signal or the consumer's `signal` aborted before or during the start (the
   *   consumer is then shut down)
   */
  async start(options: StartOptions = {}): Promise<void> {
    const signal = checkSignal(options.signal, 'start signal', 'argument')
    const abortedBefore = firstAborted([this.#signal, signal])
    if (abortedBefore !== undefined) {
      throw abortError(abortedBefore, 'the consumer start')
    }
    if (this.#state !== 'created') {
      throw new ConsumerStateError(`start() can be called once, on a new consumer; this one is ${this.#state}`)
    }
    this.#state = 'starting'
    const watch = new AbortWatch([this.#signal, signal])
    // Changes of the manager made while starting wait behind this gate, opened once the outcome is known.
    let openGate: () => void = () => undefined
    this.#changes = new Promise<void>((resolve) => {
      openGate = resolve
    })
    try {
      await this.#subscribeEngine()
      try {
        await this.#startEngine()
      } catch (error) {
        throw startFailure(error)
      }
      this.#clientId = (await this.#native.clientId()) ?? undefined
    } catch (error) {
      this.#unobserve?.()
      this.#unobserve = undefined
      this.#state = 'created'
      openGate()
      throw error
    } finally {
      watch.dispose()
    }
    // The native side holds the JavaScript callback weakly; this timer is what keeps the process alive.
    this.#keepAlive = setInterval(() => undefined, 1 << 30)
    this.#state = 'running'
    openGate()
    if (watch.aborted !== undefined) {
      // The abort is what start() reports; offsets not persisted by this shutdown are reported as 'error'.
      await this.shutdown().catch((error: unknown) => this.#reportError(error))
      throw abortError(watch.aborted, 'the consumer start')
    }
    this.#emitSafely('started', this.#clientId ?? '')
  }

  /**
   * Hands the engine the manager's subscriptions as they are now, and observes the manager from then on: reading
   * and observing happen in one synchronous stretch, so no change falls between them.
   */
  async #subscribeEngine(): Promise<void> {
    // A start that failed before left its topics in the engine; those unsubscribed since go first.
    for (const topic of this.#selectors.keys()) {
      if (!this.#subscriptions.isSubscribed(topic)) {
        await callNative('consumer', () => this.#native.unsubscribe(topic))
      }
    }
    this.#selectors.clear()
    const subscriptions = this.#subscriptions.getSubscriptions()
    if (subscriptions.length === 0) {
      throw new ConsumerStateError('subscribe to at least one topic before start()')
    }
    for (const { topic, selector } of subscriptions) {
      // A glob selector asks the brokers for every message; the dispatch filters them.
      callNativeSync('consumer', () => this.#native.subscribe(topic, selector.type, selector.brokerExpression))
      this.#selectors.set(topic, selector)
    }
    this.#applyTagFilters()
    // From here on every change of the manager is queued; the queue waits for the start.
    this.#unobserve = observeSubscriptions(this.#subscriptions, (change) => this.#queueChange(change))
  }

  /** Starts a given standalone offset store if need be, then the engine. */
  async #startEngine(): Promise<void> {
    if (this.#offsetStore instanceof StandaloneOffsetStore) {
      if (this.#offsetStore.state === 'stopped') {
        throw new ConsumerStateError('the offsetStore given to this consumer is stopped; give it a store not stopped')
      }
      // Loads a local store's file before the engine reads it (as the consumer's own store is loaded).
      await this.#offsetStore.start()
    }
    await callNative('consumer', () => this.#native.start())
  }

  /**
   * Waits until every change of the subscription manager made so far has reached the running engine (the brokers
   * told, the queues rebalanced). Resolves at once when none is under way or the consumer is not running.
   *
   * @throws the first refusal among those changes (InvalidSelectorError for a SQL92 expression the brokers
   *   refused, ...); the manager was put back as it was, and the refusal was also emitted as `'error'`
   */
  async whenSubscriptionsApplied(): Promise<void> {
    await Promise.all([...this.#pendingChanges])
  }

  /** Queues a change of the subscription manager; applied after the ones before it. */
  #queueChange(change: SubscriptionChange): void {
    const applied = this.#changes.then(() => this.#applyChange(change))
    this.#changes = applied.then(
      () => undefined,
      () => undefined,
    )
    this.#pendingChanges.add(applied)
    applied.then(
      () => this.#pendingChanges.delete(applied),
      (error: unknown) => {
        this.#pendingChanges.delete(applied)
        this.#reportError(error)
      },
    )
  }

  /** Applies one change to the engine; on a refusal, puts the manager back and rethrows. */
  async #applyChange(change: SubscriptionChange): Promise<void> {
    // Not running (a failed start, or stopping): the next start, if any, reads the manager.
    if (this.#state !== 'running') {
      return
    }
    if (change.kind === 'subscribe') {
      const { topic, selector } = change.subscription
      const before = this.#selectors.get(topic)
      // While the engine switches, a message pulled under either selector is one the consumer asked for.
      this.#applyTagFilters(topic, before === undefined ? selector : anyOf(before, selector))
      let incomplete
      try {
        incomplete = await this.#native.subscribeLive(topic, selector.type, selector.brokerExpression)
      } catch (error) {
        this.#applyTagFilters()
        restoreSubscription(this.#subscriptions, topic, change.subscription, change.previous)
        throw subscribeRefusal(topic, error)
      }
      this.#selectors.set(topic, selector)
      this.#applyTagFilters()
      if (incomplete != null) {
        throw incompleteSubscribe(topic, incomplete)
      }
    } else {
      let incomplete
      try {
        incomplete = await this.#native.unsubscribe(change.topic)
      } catch (error) {
        restoreSubscription(this.#subscriptions, change.topic, undefined, change.previous)
        throw unsubscribeRefusal(change.topic, error)
      }
      this.#selectors.delete(change.topic)
      this.#applyTagFilters()
      if (incomplete != null) {
        throw incompleteUnsubscribe(change.topic, incomplete)
      }
    }
  }

  /** Hands the dispatch the glob filters of the engine's selectors (with `topic` filtered by `selector` instead). */
  #applyTagFilters(topic?: string, selector?: FilterSource): void {
    const filters = new Map<string, TagFilter>()
    for (const [name, current] of this.#selectors) {
      const source: FilterSource = name === topic && selector !== undefined ? selector : current
      if (source.tagFilter !== undefined) {
        filters.set(name, source.tagFilter)
      }
    }
    if (topic !== undefined && !this.#selectors.has(topic) && selector?.tagFilter !== undefined) {
      filters.set(topic, selector.tagFilter)
    }
    this.#dispatch.setTagFilters(filters)
  }

  /** An error nobody awaits: emitted as `'error'`, or written to stderr when nobody listens. */
  #reportError(error: unknown): void {
    const typed = error as RocketMQError
    if (this.listenerCount('error') === 0) {
      process.stderr.write(`[rocketmq-napi] consumer ${this.config.consumerGroup}: ${typed?.message ?? String(error)}\n`)
      return
    }
    this.#emitSafely('error', typed)
  }

  /**
   * Leaves the group: stops pulling and beginning listener calls, waits (up to 10 s) for the calls running, commits the offsets
   * of what was consumed, unregisters from the brokers. Messages not yet consumed are delivered again, to this
   * group's next member. Does nothing when not started.
   *
   * The shutdown always completes (the consumer is stopped and `'stopped'` emitted). When the offsets could not be
   * persisted at the end (a broker down, the offsets file not writable), it rejects afterwards with a
   * ConsumerShutdownError whose `cause` is the failure: messages after the last persisted offsets will be delivered
   * again (to the group, or to this member's next start when BROADCASTING).
   *
   * @throws ConfigError for a bad `timeout`
   * @throws ConsumerShutdownError when the consumer stopped but its offsets could not be persisted
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const timeout = options.timeout
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > 0x7fffffff)) {
      throw new ConfigError(`shutdown timeout must be a whole number of milliseconds; got ${String(timeout)}`)
    }
    if (this.#state !== 'running') {
      if (this.#state === 'created') {
        this.#state = 'stopped'
      }
      return
    }
    this.#state = 'stopping'
    this.#unobserve?.()
    this.#unobserve = undefined
    try {
      // Pulls and new calls stop at once; the tasks JavaScript has not begun are answered unconsumed (left
      // uncommitted for the group), the calls running finish while the engine waits for them.
      this.#native.beginShutdown()
      this.#dispatch.stop()
      await this.#native.shutdown(timeout)
    } catch (error) {
      throw shutdownFailure(error)
    } finally {
      this.#dispatch.dispose()
      clearInterval(this.#keepAlive)
      this.#keepAlive = undefined
      if (this.#stopOnAbort !== undefined) {
        this.#signal?.removeEventListener('abort', this.#stopOnAbort)
        this.#stopOnAbort = undefined
      }
      this.#state = 'stopped'
      this.#emitSafely('stopped')
    }
  }

  #onNativeEvents(batch: NativeConsumerEvents): void {
    for (const event of batch.events) {
      if (event.kind === 'rebalanced') {
        const queues = (event.queues ?? []).map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }))
        this.#emitSafely('rebalanced', queues)
      } else if (event.kind === 'offsetsPersisted') {
        this.#emitSafely('offsetsPersisted', event.count ?? 0)
      } else if (event.kind === 'pullFailed' && event.queue != null && event.error != null) {
        this.#emitSafely('pullFailed', pullFailure(toMessageQueue(event.queue), event.error))
      } else if (event.kind === 'rebalanceFailed' && event.topic != null && event.error != null) {
        this.#emitSafely('rebalanceFailed', rebalanceFailure(event.topic, event.error))
      }
    }
  }

  /** Emits to every handler even when one throws (reported on stderr): handlers must not stop the consumer's work. */
  #emitSafely<K extends keyof ConsumerEvents>(event: K, ...args: ConsumerEvents[K]): void {
    for (const handler of this.listeners(event) as Array<(...a: ConsumerEvents[K]) => void>) {
      try {
        handler.apply(this, args)
      } catch (error) {
        process.stderr.write(`[rocketmq-napi] a '${String(event)}' handler threw: ${error instanceof Error ? error.message : String(error)}\n`)
      }
    }
  }

  /** The id brokers know this client by, `ip@instanceName[@unitName]`; `undefined` until started. */
  get clientId(): string | undefined {
    return this.#clientId
  }

  /**
   * Stops pulling the given topics, or every topic (the group's retry topic included) when none are given, until
   * {@link resume} (Java's `suspend()`). Messages already pulled are still delivered and committed. Pausing a topic
   * by name does not pause the retry topic, which carries the failed messages of every topic. Works before
   * `start()` too.
   *
   * @param topics one topic or several; all when omitted
   */
  pause(topics?: string | readonly string[]): void {
    this.#native.pause(toTopicList(topics))
  }

  /**
   * Pulls the given topics again, or everything paused when none are given.
   *
   * @param topics one topic or several; all when omitted
   */
  resume(topics?: string | readonly string[]): void {
    this.#native.resume(toTopicList(topics))
  }

  /**
   * Whether pulls of a topic are paused now (by name, or because the whole consumer is).
   *
   * @param topic a topic
   */
  isPaused(topic: string): boolean {
    return this.#native.isPaused(topic)
  }

  /** Whether the consumer is started and not shut down. */
  get running(): boolean {
    return this.#state === 'running'
  }

  /** The queues this member holds now (empty when not started). */
  async assignedQueues(): Promise<MessageQueue[]> {
    const queues = await callNative('consumer', () => this.#native.assignedQueues())
    return queues.map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }))
  }

  /**
   * The consumer's counters now: what it holds in memory (bounded by the flow-control thresholds), what the
   * listener answered, pulls, and the offset store's metrics. Counts keep growing across the consumer's life;
   * zeros before `start()`.
   */
  stats(): ConsumerStats {
    const s = this.#native.stats()
    return {
      messagesHeld: s.messagesHeld,
      bytesHeld: s.bytesHeld,
      maxMessagesHeldByAQueue: s.maxMessagesHeldByAQueue,
      queuesHeld: s.queuesHeld,
      consumedOk: s.consumedOk,
      consumedFailed: s.consumedFailed,
      sentBack: s.sentBack,
      consumedAgainLocally: s.consumedAgainLocally,
      droppedAfterFailure: s.droppedAfterFailure,
      malformedSkipped: s.malformedSkipped,
      flowControlPauses: s.flowControlPauses,
      pulls: s.pulls,
      pullErrors: s.pullErrors,
      listenerCallsRunning: this.#dispatch.running,
      listenerCallsQueued: this.#dispatch.queued,
      messagesFilteredOut: this.#dispatch.filteredOut,
      offsetStore: {
        persistCount: s.offsetPersistCount,
        persistFailures: s.offsetPersistFailures,
        persistSuccessCount: s.offsetPersistCount - s.offsetPersistFailures,
        persistSuccessRate: s.offsetPersistSuccessRate,
        avgPersistLatency: s.offsetAvgPersistLatencyMs,
        cacheHits: s.offsetCacheHits,
        cacheMisses: s.offsetCacheMisses,
        cacheHitRate: s.offsetCacheHitRate,
      },
    }
  }

  /**
   * The consumer's metrics now: messages consumed, failed and retried, pull and listener latency histograms,
   * what the process queues hold, and the lag of every held queue (the broker's max offset minus the offset
   * this member committed). Asks each held queue's broker for its max offset (all at once, each bounded by the
   * consumer's request timeout); a broker that does not answer leaves that queue's `maxOffset` and `lag`
   * undefined. Counts keep growing over the consumer's life; no queues before `start()`. See the README's
   * "Observability" for the Prometheus and OpenTelemetry exporters that read it.
   */
  async metrics(): Promise<ConsumerMetrics> {
    // Sorted by topic, broker, queue id by the engine.
    const queues = (await this.#native.queueMetrics()).map(fromNativeQueueMetrics)
    // Read after the queues: counts taken later are never behind the offsets shown.
    const s = this.#native.stats()
    return {
      group: this.config.consumerGroup,
      consumed: { ok: s.consumedOk, failed: s.consumedFailed, retried: s.sentBack + s.consumedAgainLocally },
      pullLatency: fromNativeHistogram(s.pullLatency),
      listenerLatency: fromNativeHistogram(s.listenerLatency),
      pulls: { sent: s.pulls, failed: s.pullErrors },
      processQueue: { messages: s.messagesHeld, bytes: s.bytesHeld },
      lag: queues.reduce((sum, q) => sum + (q.lag ?? 0), 0),
      queues,
      traces: this.#native.traceMetrics() ?? undefined,
    }
  }

  /** Listener calls running now in JavaScript. */
  get listenerCallsRunning(): number {
    return this.#dispatch.running
  }
}

export type { ConsumeTask }
