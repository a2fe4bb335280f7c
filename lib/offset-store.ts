/**
 * Offset stores: where a consumer group's progress (the next offset to consume in each queue) is kept, the seed's
 * `OffsetStore`, `RemoteOffsetStore` and `LocalOffsetStore`. The offsets, the persistence and the persist timer
 * live in the Rust engine; these classes are handles over it. Make a store with `createOffsetStore` or
 * `OffsetStoreFactory.createOffsetStore` (lib/offset-store-factory.ts); a running consumer's own store is seen
 * through `context.offsetStore` in its listener.
 *
 * Offsets are `bigint` (inputs take `bigint | number`); "nothing stored" is `undefined`. Bad arguments throw
 * `ValidationError`; a failed read, write or load throws `OffsetError`, whose `cause` is the typed failure
 * (e.g. a `TimeoutError`, or a `BrokerResponseError` with `responseCode` 26 when the brokers do not know the
 * group), and whose `responseCode`, `brokerAddr` and `retriable` are the cause's.
 *
 * @module
 */
import type { NativeMessageQueue, NativeOffsetStore } from './binding'
import type { OffsetStoreMetrics } from './consumer'
import type { MessageModel, MessageQueue } from './consumer-config'
import { OffsetError, type RocketMQError, ValidationError } from './errors'
import { fromNativeError } from './native-errors'

/** Where {@link OffsetStore.readOffset} looks (the seed's `ReadOffsetType`, with its string values). */
export const ReadOffsetType = {
  /** Memory when it holds the queue, else the backing store (whose answer is then kept in memory). */
  MEMORY_FIRST_THEN_STORE: 'MEMORY_FIRST_THEN_STORE',
  /** Memory only: `undefined` when memory does not hold the queue. */
  READ_FROM_MEMORY: 'READ_FROM_MEMORY',
  /** The backing store only (the brokers, or the file); its answer replaces the memory value. */
  READ_FROM_STORE: 'READ_FROM_STORE',
} as const

/** One of the {@link ReadOffsetType} values. */
export type ReadOffsetType = (typeof ReadOffsetType)[keyof typeof ReadOffsetType]

/** Where a store is in its life: made, started (loaded, timer running), or stopped for good. */
export type OffsetStoreState = 'created' | 'started' | 'stopped'

/** A queue and the offset a store holds for it in memory. */
export interface QueueOffset {
  /** The queue. */
  queue: MessageQueue
  /** The next offset to consume in it. */
  offset: bigint
}

/**
 * A consumer group's offsets (the seed's abstract `OffsetStore`). An offset is the *next* offset to consume in a
 * queue, as in Java: after consuming the message at `queueOffset`, the offset is `queueOffset + 1n`.
 *
 * Updates go to memory; `persist` / `persistAll` write them to the backing store, as does the store's timer every
 * `persistInterval` ms once started, and `stop()`. Only offsets that changed since their last successful write
 * are written; a failed write stays pending and is tried again by the next persist.
 */
export abstract class OffsetStore {
  /** Loads what the backing store holds (the file when broadcasting) and starts the persist timer. */
  abstract start(): Promise<void>
  /** Stops the timer and persists every offset held; a stopped store is not started again. */
  abstract stop(): Promise<void>
  /**
   * Reads the backing store into memory: the file of a local store (its values replace the memory ones); nothing
   * for the brokers, which are read per queue.
   */
  abstract load(): Promise<void>
  /**
   * Sets the memory offset of a queue (written by the next persist).
   *
   * @param queue the queue
   * @param offset the next offset to consume
   * @param increaseOnly when true, a value lower than the one held is ignored (a late commit must not move
   *   progress back); when false (the default, as the seed) the value is taken as is, lower or not
   */
  abstract updateOffset(queue: MessageQueue, offset: bigint | number, increaseOnly?: boolean): void
  /**
   * Writes one queue's offset if it changed since its last write.
   *
   * @returns whether an offset was written
   */
  abstract persist(queue: MessageQueue): Promise<boolean>
  /**
   * Writes every offset held in memory that changed since its last write.
   *
   * @returns how many offsets were written
   */
  abstract persistAll(): Promise<number>
  /**
   * The offset of a queue.
   *
   * @param queue the queue
   * @param type where to look; default {@link ReadOffsetType.MEMORY_FIRST_THEN_STORE}
   * @returns the offset, or `undefined` when nothing is stored for the queue
   */
  abstract readOffset(queue: MessageQueue, type?: ReadOffsetType): Promise<bigint | undefined>
  /** Forgets a queue's memory offset; what was persisted stays. */
  abstract removeOffset(queue: MessageQueue): void
  /** The queues held in memory and their offsets. */
  abstract offsets(): QueueOffset[]
  /** The store's counters now (the seed's `get_metrics()`, keys in camelCase). */
  abstract getMetrics(): OffsetStoreMetrics
}

/** The native handle of each store made by this library (a user's own subclass has none). */
const NATIVE_HANDLES = new WeakMap<OffsetStore, NativeOffsetStore>()

/**
 * The native store behind `store`, or `undefined` when it is not one made by this library.
 *
 * @internal
 */
export function nativeOffsetStoreOf(store: unknown): NativeOffsetStore | undefined {
  return store instanceof OffsetStore ? NATIVE_HANDLES.get(store) : undefined
}

/** A failure of a store operation as an {@link OffsetError} (bad arguments stay `ValidationError`s). */
function offsetFailure(error: unknown, what: string): RocketMQError {
  const typed = fromNativeError(error, 'consumer')
  if (typed instanceof ValidationError || typed instanceof OffsetError) {
    return typed
  }
  return new OffsetError(`${what}: ${typed.message}`, {
    cause: typed,
    responseCode: typed.responseCode,
    brokerAddr: typed.brokerAddr,
    retriable: typed.retriable,
  })
}

function checkQueue(queue: unknown): NativeMessageQueue {
  const q = queue as Partial<MessageQueue> | null
  if (
    typeof q !== 'object' ||
    q === null ||
    typeof q.topic !== 'string' ||
    q.topic === '' ||
    typeof q.brokerName !== 'string' ||
    q.brokerName === '' ||
    typeof q.queueId !== 'number' ||
    !Number.isInteger(q.queueId) ||
    q.queueId < 0 ||
    q.queueId > 0x7fffffff
  ) {
    throw new ValidationError(`queue must be { topic, brokerName, queueId } with a whole queueId >= 0; got ${describe(queue)}`)
  }
  return { topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') {
    return `${value}n`
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function checkOffset(offset: unknown): bigint {
  if (typeof offset === 'bigint' && offset >= 0n && offset <= 0x7fffffffffffffffn) {
    return offset
  }
  if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) {
    return BigInt(offset)
  }
  throw new ValidationError(`offset ${describe(offset)} must be a whole number >= 0 (a bigint, or a safe integer number)`)
}

function checkReadType(type: unknown): ReadOffsetType {
  if (type === undefined) {
    return ReadOffsetType.MEMORY_FIRST_THEN_STORE
  }
  if (!Object.values(ReadOffsetType).includes(type as ReadOffsetType)) {
    throw new ValidationError(`readOffset type ${describe(type)} must be one of ${Object.values(ReadOffsetType).join(', ')}`)
  }
  return type as ReadOffsetType
}

function toQueue(queue: NativeMessageQueue): MessageQueue {
  return { topic: queue.topic, brokerName: queue.brokerName, queueId: queue.queueId }
}

/** What every store of this library shares: the calls, over its native handle. Not constructed directly. */
export abstract class NativeBackedOffsetStore extends OffsetStore {
  readonly #native: NativeOffsetStore

  protected constructor(native: NativeOffsetStore) {
    super()
    this.#native = native
    NATIVE_HANDLES.set(this, native)
  }

  /** `created`, `started` (loaded, timer running) or `stopped`. */
  get state(): OffsetStoreState {
    return this.#native.state as OffsetStoreState
  }

  /** @inheritDoc */
  async start(): Promise<void> {
    try {
      await this.#native.start()
    } catch (error) {
      throw offsetFailure(error, 'start()')
    }
  }

  /** @inheritDoc */
  async stop(): Promise<void> {
    try {
      await this.#native.stop()
    } catch (error) {
      throw offsetFailure(error, 'stop()')
    }
  }

  /** @inheritDoc */
  async load(): Promise<void> {
    try {
      await this.#native.load()
    } catch (error) {
      throw offsetFailure(error, 'load()')
    }
  }

  /** @inheritDoc */
  updateOffset(queue: MessageQueue, offset: bigint | number, increaseOnly = false): void {
    const q = checkQueue(queue)
    const value = checkOffset(offset)
    if (typeof increaseOnly !== 'boolean') {
      throw new ValidationError(`increaseOnly must be a boolean; got ${describe(increaseOnly)}`)
    }
    try {
      this.#native.updateOffset(q, value, increaseOnly)
    } catch (error) {
      throw offsetFailure(error, 'updateOffset()')
    }
  }

  /** @inheritDoc */
  async persist(queue: MessageQueue): Promise<boolean> {
    const q = checkQueue(queue)
    try {
      return await this.#native.persist(q)
    } catch (error) {
      throw offsetFailure(error, 'persist()')
    }
  }

  /** @inheritDoc */
  async persistAll(): Promise<number> {
    try {
      return await this.#native.persistAll()
    } catch (error) {
      throw offsetFailure(error, 'persistAll()')
    }
  }

  /** @inheritDoc */
  async readOffset(queue: MessageQueue, type?: ReadOffsetType): Promise<bigint | undefined> {
    const q = checkQueue(queue)
    const kind = checkReadType(type)
    try {
      return (await this.#native.readOffset(q, kind)) ?? undefined
    } catch (error) {
      throw offsetFailure(error, 'readOffset()')
    }
  }

  /** @inheritDoc */
  removeOffset(queue: MessageQueue): void {
    const q = checkQueue(queue)
    try {
      this.#native.removeOffset(q)
    } catch (error) {
      throw offsetFailure(error, 'removeOffset()')
    }
  }

  /** @inheritDoc */
  offsets(): QueueOffset[] {
    try {
      return this.#native.offsets().map((entry) => ({ queue: toQueue(entry.queue), offset: entry.offset }))
    } catch (error) {
      throw offsetFailure(error, 'offsets()')
    }
  }

  /** @inheritDoc */
  getMetrics(): OffsetStoreMetrics {
    let m
    try {
      m = this.#native.metrics()
    } catch (error) {
      throw offsetFailure(error, 'getMetrics()')
    }
    return {
      persistCount: m.persistCount,
      persistFailures: m.persistFailures,
      persistSuccessCount: m.persistSuccessCount,
      persistSuccessRate: m.persistSuccessRate,
      avgPersistLatency: m.avgPersistLatencyMs,
      cacheHits: m.cacheHits,
      cacheMisses: m.cacheMisses,
      cacheHitRate: m.cacheHitRate,
    }
  }
}

/** A store of its own (not a consumer's): what it knows about itself. Not constructed directly. */
export abstract class StandaloneOffsetStore extends NativeBackedOffsetStore {
  /** The consumer group, as given (without the namespace). */
  readonly consumerGroup: string
  /**
   * The namespace the store was made in (its group is `<namespace>%<consumerGroup>` on the brokers; queues are
   * given and shown with bare topics); `undefined`: none.
   */
  readonly namespace: string | undefined
  /** CLUSTERING (a {@link RemoteOffsetStore}) or BROADCASTING (a {@link LocalOffsetStore}). */
  readonly messageModel: MessageModel
  /** The client id (`ip@instanceName[@unitName]`) the offsets belong to. */
  readonly clientId: string

  protected constructor(native: NativeOffsetStore) {
    super(native)
    this.consumerGroup = native.consumerGroup ?? ''
    this.namespace = native.namespace ?? undefined
    this.messageModel = (native.messageModel ?? 'CLUSTERING') as MessageModel
    this.clientId = native.clientId ?? ''
  }
}

/**
 * A CLUSTERING group's offsets, kept by the brokers (QUERY / UPDATE_CONSUMER_OFFSET; the seed's
 * `RemoteOffsetStore`). Reads ask the broker of the queue; `persistAll` writes the changed offsets with at most
 * `persistBatchSize` writes in flight at once. The group must exist on the brokers (any member's heartbeat creates
 * it); a broker refuses offsets of a group it does not know (`OffsetError` caused by a `BrokerResponseError` with
 * `responseCode` 26), and the offsets stay pending. The store does not heartbeat the group itself: a member that
 * consumes nothing would still be given queues by the group's rebalance.
 *
 * Made by `createOffsetStore` / `OffsetStoreFactory.createOffsetStore`, not constructed directly.
 */
export class RemoteOffsetStore extends StandaloneOffsetStore {
  /**
   * @param native the native store
   * @internal
   */
  constructor(native: NativeOffsetStore) {
    super(native)
  }
}

/**
 * A BROADCASTING group's offsets, kept in a file of this client (the seed's `LocalOffsetStore`, Java's format):
 * `<storePath>/<clientId>/<group>/offsets.json`, the path a broadcasting consumer of the same NameServer, instance
 * name and unit name uses. Each write replaces the file atomically (temporary file, fsync, rename) and keeps the
 * previous content as `offsets.json.bak`; a truncated or corrupt file is read from the backup (said in the log).
 *
 * Made by `createOffsetStore` / `OffsetStoreFactory.createOffsetStore`, not constructed directly.
 */
export class LocalOffsetStore extends StandaloneOffsetStore {
  /**
   * @param native the native store
   * @internal
   */
  constructor(native: NativeOffsetStore) {
    super(native)
  }

  /** The directory of the offsets files (default `~/.rocketmq_offsets`). */
  get storePath(): string {
    return this.#nativeString('storePath')
  }

  /** The offsets file, `<storePath>/<clientId>/<group>/offsets.json`. */
  get filePath(): string {
    return this.#nativeString('filePath')
  }

  #nativeString(key: 'storePath' | 'filePath'): string {
    return nativeOffsetStoreOf(this)?.[key] ?? ''
  }
}

/**
 * The store a running consumer commits to when it was given none (its own, opened at each `start()`), as its
 * listener sees it in `context.offsetStore`. It starts and stops with the consumer: `start()` and `stop()` throw
 * `OffsetError`, and so does every call while the consumer is not running.
 */
export class ConsumerOffsetStore extends NativeBackedOffsetStore {
  /**
   * @param native the native view over the consumer's store
   * @internal
   */
  constructor(native: NativeOffsetStore) {
    super(native)
  }
}
