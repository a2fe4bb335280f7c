/**
 * Making and keeping offset stores (the seed's `offset_store_factory`): {@link OffsetStoreFactory} makes a new
 * store, {@link OffsetStoreManager} keeps one per group and message model, and the functions
 * {@link createOffsetStore}, {@link closeOffsetStore}, {@link closeAllOffsetStores}, {@link getOffsetStoreMetrics}
 * work on the process-wide manager ({@link getOffsetStoreManager}). The seed's keyword arguments are one
 * {@link OffsetStoreOptions} object.
 *
 * The rules an options object must meet are checked in the Rust engine (the same code that makes the store);
 * {@link validateOffsetStoreConfig} asks it without making anything.
 *
 * @module
 */
import type { NativeOffsetStore, NativeOffsetStoreOptions } from './binding'
import { resolveNamesrvAddr } from './config'
import type { OffsetStoreMetrics } from './consumer'
import type { MessageModel } from './consumer-config'
import { type CredentialSettings, resolveCredentials } from './credentials'
import { type TlsSettings, resolveTls } from './tls'
import { ConfigError } from './errors'
import { nativeBinding } from './native'
import { callNative, callNativeSync } from './native-errors'
import { LocalOffsetStore, type OffsetStoreState, RemoteOffsetStore, nativeOffsetStoreOf } from './offset-store'

/** What a standalone offset store is made from (the seed's `create_offset_store` arguments). */
export interface OffsetStoreOptions extends CredentialSettings, TlsSettings {
  /** The consumer group whose offsets the store keeps. */
  consumerGroup: string
  /** CLUSTERING: a {@link RemoteOffsetStore} (the brokers); BROADCASTING: a {@link LocalOffsetStore} (a file). */
  messageModel: MessageModel
  /** `host:port;host:port`; default the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /**
   * BROADCASTING only (refused with CLUSTERING): the directory of the offsets files, created if needed and
   * checked writable. Default `~/.rocketmq_offsets`.
   */
  storePath?: string
  /** Milliseconds between two persists of the store's timer, a whole number in [1, 2147483647]. Default 5000. */
  persistInterval?: number
  /**
   * CLUSTERING only (refused with BROADCASTING, which writes one file): how many offset writes of one
   * `persistAll` are in flight at once, a whole number in [1, 1024]. Default: all of them.
   */
  persistBatchSize?: number
  /** Start the store once made (load, timer). Default true, as the seed. */
  autoStart?: boolean
  /**
   * Part of the client id. CLUSTERING: the client instance joined (default the process id, shared with the
   * process's producers and clustering consumers). BROADCASTING: names the file's directory (default `DEFAULT`,
   * as a broadcasting consumer's).
   */
  instanceName?: string
  /** Appended to the client id when set. */
  unitName?: string
  /**
   * Java's `namespace`, as the consumers of the group have it: the group is `<namespace>%<consumerGroup>` on the
   * brokers (and in a local store's path), and the store's queues are given and shown with bare topics. A consumer
   * in a namespace takes a store made with the same namespace. Default: none.
   */
  namespace?: string
}

/** What {@link OffsetStoreManager.getManagedStoresInfo} says of each store. */
export interface ManagedOffsetStoreInfo {
  /** The group (without the namespace). */
  consumerGroup: string
  /** The namespace the store was made in, if any. */
  namespace?: string
  /** The message model. */
  messageModel: MessageModel
  /** `RemoteOffsetStore` or `LocalOffsetStore`. */
  storeType: 'RemoteOffsetStore' | 'LocalOffsetStore'
  /** Whether the store is started and not stopped. */
  isRunning: boolean
  /** The store's state. */
  state: OffsetStoreState
  /** How many queues the store holds offsets of in memory. */
  cachedOffsetsCount: number
  /** The client id the offsets belong to. */
  clientId: string
  /** LocalOffsetStore: the directory of the offsets files. */
  storePath?: string
  /** LocalOffsetStore: the offsets file. */
  filePath?: string
}

/** The store class for a model. */
export type AnyOffsetStore = RemoteOffsetStore | LocalOffsetStore

/**
 * The store class options make, known at compile time when `messageModel` is a literal: a {@link LocalOffsetStore}
 * for BROADCASTING, a {@link RemoteOffsetStore} for CLUSTERING.
 */
export type OffsetStoreFor<O extends OffsetStoreOptions> = O['messageModel'] extends 'BROADCASTING'
  ? LocalOffsetStore
  : O['messageModel'] extends 'CLUSTERING'
    ? RemoteOffsetStore
    : AnyOffsetStore

function optionalString(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'string') {
    throw new ConfigError(`${key} ${JSON.stringify(value) ?? String(value)} must be a string`)
  }
  return value
}

function optionalNumber(options: Record<string, unknown>, key: string): number | undefined {
  const value = options[key]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number') {
    throw new ConfigError(`${key} ${JSON.stringify(value) ?? String(value)} must be a number`)
  }
  return value
}

/**
 * The options as the native layer takes them. Only the JavaScript types are checked here; the rules (ranges,
 * which model a field applies to, group name) are the engine's.
 */
function toNativeOptions(options: OffsetStoreOptions): NativeOffsetStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('offset store options must be an object { consumerGroup, messageModel, ... }')
  }
  const raw = options as unknown as Record<string, unknown>
  if (raw.autoStart !== undefined && typeof raw.autoStart !== 'boolean') {
    throw new ConfigError(`autoStart ${JSON.stringify(raw.autoStart)} must be a boolean`)
  }
  return {
    consumerGroup: optionalString(raw, 'consumerGroup') ?? '',
    messageModel: optionalString(raw, 'messageModel') ?? '',
    namesrvAddr: resolveNamesrvAddr(raw.namesrvAddr),
    storePath: optionalString(raw, 'storePath'),
    persistInterval: optionalNumber(raw, 'persistInterval'),
    persistBatchSize: optionalNumber(raw, 'persistBatchSize'),
    instanceName: optionalString(raw, 'instanceName'),
    unitName: optionalString(raw, 'unitName'),
    namespace: optionalString(raw, 'namespace'),
    ...resolveCredentials(options),
    ...resolveTls(options),
  }
}

function wrap(native: NativeOffsetStore): AnyOffsetStore {
  return native.messageModel === 'BROADCASTING' ? new LocalOffsetStore(native) : new RemoteOffsetStore(native)
}

/** Makes offset stores (the seed's `OffsetStoreFactory`). */
export class OffsetStoreFactory {
  /**
   * Makes a new store: a {@link RemoteOffsetStore} for CLUSTERING, a {@link LocalOffsetStore} for BROADCASTING,
   * started unless `autoStart` is false. Every call makes another store; {@link OffsetStoreManager} keeps one per
   * group.
   *
   * @param options the store's settings
   * @throws ConfigError naming the field, the value and the rule it breaks
   * @throws OffsetError when starting fails (a local file and its backup both unreadable)
   */
  static async createOffsetStore<O extends OffsetStoreOptions>(options: O): Promise<OffsetStoreFor<O>> {
    const native = toNativeOptions(options)
    const { openOffsetStore } = nativeBinding()
    const store = wrap(await callNative('consumer', () => openOffsetStore(native))) as OffsetStoreFor<O>
    if (options.autoStart !== false) {
      try {
        await store.start()
      } catch (error) {
        await store.stop().catch(() => undefined)
        throw error
      }
    }
    return store
  }
}

/**
 * The manager's key of a store: `<group>:<messageModel>`, as the seed's; in a namespace `<namespace>%<group>:...`,
 * so that one group name in two namespaces gives two stores.
 */
function keyOf(consumerGroup: string, messageModel: string, namespace?: string): string {
  const blank = namespace === undefined || namespace.trim() === ''
  return `${blank ? '' : `${namespace}%`}${consumerGroup}:${messageModel}`
}

/**
 * Keeps one started store per group and message model (the seed's `OffsetStoreManager`), keyed
 * `<group>:<messageModel>`.
 */
export class OffsetStoreManager {
  /** Stores by key; a promise while one is being made, so concurrent callers share it. */
  readonly #stores = new Map<string, Promise<AnyOffsetStore>>()
  /** The stores made, by key. */
  readonly #made = new Map<string, AnyOffsetStore>()

  /**
   * The store of the options' group and model: the one this manager holds, or a new one, started (`autoStart` is
   * ignored: a managed store always starts). The other options apply only when the store is made.
   *
   * @param options the store's settings
   * @throws ConfigError naming the field, the value and the rule it breaks
   */
  async getOrCreateOffsetStore<O extends OffsetStoreOptions>(options: O): Promise<OffsetStoreFor<O>> {
    const native = toNativeOptions(options)
    const { checkOffsetStoreOptions } = nativeBinding()
    callNativeSync('consumer', () => checkOffsetStoreOptions(native))
    const key = keyOf(native.consumerGroup, native.messageModel, native.namespace ?? undefined)
    let pending = this.#stores.get(key)
    if (pending === undefined) {
      pending = OffsetStoreFactory.createOffsetStore({ ...options, autoStart: true })
      this.#stores.set(key, pending)
      pending.then(
        (store) => {
          if (this.#stores.get(key) === pending) {
            this.#made.set(key, store)
          }
        },
        () => {
          if (this.#stores.get(key) === pending) {
            this.#stores.delete(key)
          }
        },
      )
    }
    return pending as Promise<OffsetStoreFor<O>>
  }

  /**
   * The store this manager holds for a group and model, if any.
   *
   * @param consumerGroup the group
   * @param messageModel the model
   * @param namespace the namespace the store was made in, if any
   */
  getOffsetStore(consumerGroup: string, messageModel: MessageModel, namespace?: string): AnyOffsetStore | undefined {
    return this.#made.get(keyOf(consumerGroup, messageModel, namespace))
  }

  /** What each held store is, by key. */
  getManagedStoresInfo(): Record<string, ManagedOffsetStoreInfo> {
    const info: Record<string, ManagedOffsetStoreInfo> = {}
    for (const [key, store] of this.#made) {
      const entry: ManagedOffsetStoreInfo = {
        consumerGroup: store.consumerGroup,
        ...(store.namespace === undefined ? {} : { namespace: store.namespace }),
        messageModel: store.messageModel,
        storeType: store instanceof LocalOffsetStore ? 'LocalOffsetStore' : 'RemoteOffsetStore',
        isRunning: store.state === 'started',
        state: store.state,
        cachedOffsetsCount: nativeOffsetStoreOf(store)?.offsets().length ?? 0,
        clientId: store.clientId,
      }
      if (store instanceof LocalOffsetStore) {
        entry.storePath = store.storePath
        entry.filePath = store.filePath
      }
      info[key] = entry
    }
    return info
  }

  /** Every held store's metrics, by key. */
  getAllMetrics(): Record<string, OffsetStoreMetrics> {
    const metrics: Record<string, OffsetStoreMetrics> = {}
    for (const [key, store] of this.#made) {
      metrics[key] = store.getMetrics()
    }
    return metrics
  }

  /**
   * Stops (persisting its offsets) and forgets the store of a group and model; nothing when none is held.
   *
   * @param consumerGroup the group
   * @param messageModel the model
   * @param namespace the namespace the store was made in, if any
   * @throws OffsetError when the final persist failed (the store is stopped and forgotten all the same)
   */
  async closeOffsetStore(consumerGroup: string, messageModel: MessageModel, namespace?: string): Promise<void> {
    const key = keyOf(consumerGroup, messageModel, namespace)
    const pending = this.#stores.get(key)
    if (pending === undefined) {
      return
    }
    this.#stores.delete(key)
    this.#made.delete(key)
    const store = await pending.catch(() => undefined)
    await store?.stop()
  }

  /**
   * Stops and forgets every held store; all are stopped even when some fail.
   *
   * @throws OffsetError the first failure, after every store was stopped
   */
  async closeAll(): Promise<void> {
    const pending = [...this.#stores.values()]
    this.#stores.clear()
    this.#made.clear()
    const outcomes = await Promise.allSettled(
      pending.map(async (made) => {
        const store = await made.catch(() => undefined)
        await store?.stop()
      }),
    )
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    if (failed !== undefined) {
      throw failed.reason
    }
  }
}

let processManager: OffsetStoreManager | undefined

/** The process-wide {@link OffsetStoreManager} the functions of this module use. */
export function getOffsetStoreManager(): OffsetStoreManager {
  processManager ??= new OffsetStoreManager()
  return processManager
}

/**
 * The process-wide manager's store of the options' group and model, made and started when it has none (the
 * seed's `create_offset_store`). Two calls for one group and model give the same store.
 *
 * ```ts
 * const store = await createOffsetStore({ consumerGroup: 'orders', messageModel: MessageModel.CLUSTERING })
 * const consumer = new Consumer({ config, offsetStore: store, subscriptionManager, messageListener })
 * ```
 *
 * @param options the store's settings
 * @throws ConfigError naming the field, the value and the rule it breaks
 */
export function createOffsetStore<O extends OffsetStoreOptions>(options: O): Promise<OffsetStoreFor<O>> {
  return getOffsetStoreManager().getOrCreateOffsetStore(options)
}

/**
 * Stops and forgets the process-wide manager's store of a group and model.
 *
 * @param consumerGroup the group
 * @param messageModel the model
 * @param namespace the namespace the store was made in, if any
 */
export function closeOffsetStore(consumerGroup: string, messageModel: MessageModel, namespace?: string): Promise<void> {
  return getOffsetStoreManager().closeOffsetStore(consumerGroup, messageModel, namespace)
}

/** Stops and forgets every store of the process-wide manager. */
export function closeAllOffsetStores(): Promise<void> {
  return getOffsetStoreManager().closeAll()
}

/** The metrics of every store of the process-wide manager, keyed `<group>:<messageModel>`. */
export function getOffsetStoreMetrics(): Record<string, OffsetStoreMetrics> {
  return getOffsetStoreManager().getAllMetrics()
}

/**
 * Whether options would make a store (the seed's `validate_offset_store_config`): the engine's rules, the
 * NameServer address, and for BROADCASTING a store directory this process can create and write. Makes nothing
 * but that directory.
 *
 * @param options the settings to check
 * @returns true when {@link createOffsetStore} would accept them
 */
export function validateOffsetStoreConfig(options: OffsetStoreOptions): boolean {
  try {
    const native = toNativeOptions(options)
    const { checkOffsetStoreOptions } = nativeBinding()
    callNativeSync('consumer', () => checkOffsetStoreOptions(native))
    return true
  } catch (error) {
    if (error instanceof ConfigError) {
      return false
    }
    throw error
  }
}
