/**
 * The offset store API against the real cluster: standalone remote stores (what the brokers keep, what each
 * ReadOffsetType reads, a group the brokers do not know), local stores (the file, its atomic replacement and
 * backup, stop() persisting), exact metrics, the factory's and the manager's functions, the configuration rules,
 * and consumers committing into a given store or the listener using `context.offsetStore`. Each test has its own
 * topic and groups.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test, { type ExecutionContext } from 'ava'

import {
  Admin,
  ConfigError,
  ConsumeFromWhere,
  Consumer,
  type ConsumeConcurrentlyContext,
  ConsumerStateError,
  ConsumerOffsetStore,
  LocalOffsetStore,
  type MessageQueue,
  MessageModel,
  MessageSelector,
  type OffsetStore,
  OffsetError,
  OffsetStoreFactory,
  OffsetStoreManager,
  type OffsetStoreOptions,
  ReadOffsetType,
  RemoteOffsetStore,
  SubscriptionManager,
  ValidationError,
  closeAllOffsetStores,
  closeOffsetStore,
  createOffsetStore,
  getOffsetStoreManager,
  getOffsetStoreMetrics,
  validateOffsetStoreConfig,
} from '../index'
import { committedOffset } from './helpers/broker-offsets'
import { BROKER_IS_4X } from './helpers/broker-version'
import { BROKERS, NAMESRV_ADDR, createTestTopic, maxOffsets, queueKey, uniqueName } from './helpers/cluster'
import { produce, startedProducer, waitFor } from './helpers/consumer'

/** Bound on each wait for deliveries (a limit, not a timing assertion). */
const WAIT_MS = 120_000

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const storesRoot = mkdtempSync(join(tmpdir(), 'rocketmq-napi-offset-store-'))
test.after.always(() => rmSync(storesRoot, { recursive: true, force: true }))

/** One entry of an offsets file in Java's format: the queue as an object key, then its offset. */
const FILE_ENTRY = /"brokerName":"([^"]+)",\s*"queueId":(\d+),\s*"topic":"([^"]+)"\s*\}:(\d+)/g

/** The offsets a file holds, keyed `broker/queueId`. */
function fileOffsets(path: string): Map<string, number> {
  const offsets = new Map<string, number>()
  for (const [, broker, queueId, , offset] of readFileSync(path, 'utf8').matchAll(FILE_ENTRY)) {
    offsets.set(queueKey(broker as string, Number(queueId)), Number(offset))
  }
  return offsets
}

function queue(topic: string, brokerName: string, queueId: number): MessageQueue {
  return { topic, brokerName, queueId }
}

/** A store made by the factory, stopped when the test ends. */
async function madeStore(t: ExecutionContext, options: Omit<OffsetStoreOptions, 'namesrvAddr'>): Promise<RemoteOffsetStore | LocalOffsetStore> {
  const store = await OffsetStoreFactory.createOffsetStore({ namesrvAddr: NAMESRV_ADDR, ...options })
  t.teardown(() => store.stop().catch(() => undefined))
  return store
}

/**
 * Makes the brokers know `group` (a 5.x broker refuses offsets of a group it does not know): a consumer of the
 * group joins, which creates it, and leaves.
 */
async function makeGroupKnown(group: string, topic: string): Promise<void> {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const consumer = new Consumer({
    config: { consumerGroup: group, namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: subscriptions,
    messageListener: () => undefined,
  })
  await consumer.start()
  await consumer.shutdown()
}

/** The master address of each broker, from the topic's route. */
async function masterAddrs(topic: string): Promise<Map<string, string>> {
  const route = await admin.getTopicRoute(topic)
  return new Map(route.brokerDatas.map((b) => [b.brokerName, b.brokerAddrs['0'] as string]))
}

test('a remote store persists to the brokers and a fresh store reads it back; a group the brokers do not know keeps its offsets pending', async (t) => {
  const topic = await createTestTopic(admin, 'OffsetStoreRemote')
  const group = uniqueName('offset_store_remote')
  const queues = BROKERS.map((broker, i) => queue(topic, broker, i + 1))
  // One write in flight at a time (the bound itself is checked in crates/client/tests/offset_store.rs).
  const store = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING, persistBatchSize: 1 })
  t.true(store instanceof RemoteOffsetStore)
  t.is(store.state, 'started')
  t.is(store.consumerGroup, group)

  store.updateOffset(queues[0] as MessageQueue, 41n)
  store.updateOffset(queues[1] as MessageQueue, 42)
  if (BROKER_IS_4X) {
    // A 4.x broker stores offsets of a group it does not know (docs/broker-versions.md).
    t.is(await store.persistAll(), 2, 'a 4.x broker keeps offsets of an unknown group')
    t.is(await store.persistAll(), 0, 'nothing changed since')
    t.like(store.getMetrics(), { persistCount: 2, persistFailures: 0, persistSuccessCount: 2, persistSuccessRate: 1 })
  } else {
    // Unknown to the brokers: each broker refuses (26), nothing is lost.
    const refused = await t.throwsAsync(store.persistAll(), { instanceOf: OffsetError })
    t.is(refused?.responseCode, 26)
    t.is((refused?.cause as { responseCode?: number } | undefined)?.responseCode, 26)
    t.like(store.getMetrics(), { persistCount: 2, persistFailures: 2, persistSuccessCount: 0, persistSuccessRate: 0 })

    await makeGroupKnown(group, topic)
    t.is(await store.persistAll(), 2, 'the pending offsets are written once the group exists')
    t.is(await store.persistAll(), 0, 'nothing changed since')
    t.like(store.getMetrics(), { persistCount: 4, persistFailures: 2, persistSuccessCount: 2, persistSuccessRate: 0.5 })
  }

  const fresh = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING })
  t.is(await fresh.readOffset(queues[0] as MessageQueue, ReadOffsetType.READ_FROM_STORE), 41n)
  t.is(await fresh.readOffset(queues[1] as MessageQueue, ReadOffsetType.READ_FROM_STORE), 42n)
  // What the brokers hold, asked over a socket of the test's own.
  const addrs = await masterAddrs(topic)
  t.is(await committedOffset(addrs.get(BROKERS[0]) as string, group, topic, 1), 41)
  t.is(await committedOffset(addrs.get(BROKERS[1]) as string, group, topic, 2), 42)
  // A queue never committed reads as undefined; a 4.x broker answers 0 instead for a queue whose
  // messages (none here) all lie in memory (docs/broker-versions.md).
  t.is(await fresh.readOffset(queue(topic, BROKERS[0], 5), ReadOffsetType.READ_FROM_STORE), BROKER_IS_4X ? 0n : undefined)
})

test('each ReadOffsetType reads where it says, and removeOffset forgets memory only', async (t) => {
  const topic = await createTestTopic(admin, 'OffsetStoreReadTypes')
  const group = uniqueName('offset_store_read')
  await makeGroupKnown(group, topic)
  const q = queue(topic, BROKERS[0], 3)
  const writer = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING })
  writer.updateOffset(q, 100n)
  t.true(await writer.persist(q))
  t.false(await writer.persist(q), 'unchanged: nothing written')

  const reader = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING })
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), undefined, 'memory holds nothing yet')
  t.is(await reader.readOffset(q, ReadOffsetType.MEMORY_FIRST_THEN_STORE), 100n, 'falls back to the broker')
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), 100n, 'the broker value is now in memory')

  reader.updateOffset(q, 150n)
  t.is(await reader.readOffset(q, ReadOffsetType.MEMORY_FIRST_THEN_STORE), 150n, 'memory first')
  t.is(await reader.readOffset(q), 150n, 'MEMORY_FIRST_THEN_STORE is the default')
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_STORE), 100n, 'the broker only')
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), 100n, 'a store read replaces the memory value')

  // increaseOnly: a lower value is ignored; the default takes it.
  reader.updateOffset(q, 90n, true)
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), 100n)
  reader.updateOffset(q, 90n)
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), 90n)

  reader.removeOffset(q)
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_MEMORY), undefined)
  t.deepEqual(reader.offsets(), [])
  t.is(await reader.readOffset(q, ReadOffsetType.READ_FROM_STORE), 100n, 'what was persisted stays')

  t.throws(() => reader.updateOffset(q, -1), { instanceOf: ValidationError })
  t.throws(() => reader.updateOffset(q, 1.5), { instanceOf: ValidationError })
  t.throws(() => reader.updateOffset({ topic, brokerName: BROKERS[0], queueId: -1 }, 1n), { instanceOf: ValidationError })
  await t.throwsAsync(reader.readOffset(q, 'SOMEWHERE' as ReadOffsetType), { instanceOf: ValidationError })
})

test('a local store writes Java\'s file atomically with a backup, stop() persists, a new store loads it, a corrupt file reads the backup', async (t) => {
  const storePath = join(storesRoot, 'local')
  const group = uniqueName('offset_store_local')
  const instanceName = uniqueName('local_instance')
  const options = { consumerGroup: group, messageModel: MessageModel.BROADCASTING, storePath, instanceName }
  const store = await madeStore(t, options)
  t.true(store instanceof LocalOffsetStore)
  const local = store as LocalOffsetStore
  t.is(local.storePath, storePath)
  t.is(local.clientId, `127.0.0.1@${instanceName}`)
  t.is(local.filePath, join(storePath, local.clientId, group, 'offsets.json'))
  const backup = `${local.filePath}.bak`
  const [q0, q1] = [queue('TopicL', 'broker-a', 0), queue('TopicL', 'broker-b', 7)]

  local.updateOffset(q0, 10n)
  local.updateOffset(q1, 11n)
  t.is(await local.persistAll(), 2)
  t.deepEqual(fileOffsets(local.filePath), new Map([['broker-a/0', 10], ['broker-b/7', 11]]))
  t.false(existsSync(backup), 'no previous file, no backup')

  local.updateOffset(q0, 20n)
  t.true(await local.persist(q0))
  t.deepEqual(fileOffsets(local.filePath), new Map([['broker-a/0', 20], ['broker-b/7', 11]]))
  t.deepEqual(fileOffsets(backup), new Map([['broker-a/0', 10], ['broker-b/7', 11]]), 'the previous file is the backup')
  const dir = join(storePath, local.clientId, group)
  t.deepEqual(readdirSync(dir).sort(), ['offsets.json', 'offsets.json.bak'], 'no temporary file left')

  local.updateOffset(q1, 31n)
  await local.stop()
  t.is(local.state, 'stopped')
  t.deepEqual(fileOffsets(local.filePath), new Map([['broker-a/0', 20], ['broker-b/7', 31]]), 'stop() persisted')
  await t.throwsAsync(local.start(), { instanceOf: OffsetError })

  const again = await madeStore(t, options)
  t.is(await again.readOffset(q1, ReadOffsetType.READ_FROM_MEMORY), 31n, 'start() loaded the file')
  await again.stop()

  // A write torn in the middle: the next store reads the backup (20 / 11).
  const content = readFileSync(local.filePath, 'utf8')
  writeFileSync(local.filePath, content.slice(0, content.length / 2))
  const recovered = await madeStore(t, options)
  t.is(await recovered.readOffset(q0, ReadOffsetType.READ_FROM_MEMORY), 20n)
  t.is(await recovered.readOffset(q1, ReadOffsetType.READ_FROM_MEMORY), 11n)
})

test('metrics count exactly what a known workload did', async (t) => {
  const store = await madeStore(t, {
    consumerGroup: uniqueName('offset_store_metrics'),
    messageModel: MessageModel.BROADCASTING,
    storePath: join(storesRoot, 'metrics'),
    persistInterval: 0x7fffffff, // no timer tick during the test
  })
  const [q0, q1, q2] = [0, 1, 2].map((id) => queue('TopicM', 'broker-a', id)) as [MessageQueue, MessageQueue, MessageQueue]
  t.deepEqual(store.getMetrics(), {
    persistCount: 0,
    persistFailures: 0,
    persistSuccessCount: 0,
    persistSuccessRate: 0,
    avgPersistLatency: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheHitRate: 0,
  })
  store.updateOffset(q0, 1n)
  store.updateOffset(q1, 2n)
  t.is(await store.persistAll(), 2) // one file write
  t.is(await store.persistAll(), 0) // nothing changed: no write
  store.updateOffset(q1, 3n)
  t.true(await store.persist(q1)) // a second file write
  t.is(await store.readOffset(q0, ReadOffsetType.MEMORY_FIRST_THEN_STORE), 1n) // hit
  t.is(await store.readOffset(q0, ReadOffsetType.READ_FROM_MEMORY), 1n) // hit
  t.is(await store.readOffset(q2, ReadOffsetType.READ_FROM_MEMORY), undefined) // miss
  t.is(await store.readOffset(q2, ReadOffsetType.READ_FROM_STORE), undefined) // no memory lookup
  const metrics = store.getMetrics()
  t.like(metrics, {
    persistCount: 2,
    persistFailures: 0,
    persistSuccessCount: 2,
    persistSuccessRate: 1,
    cacheHits: 2,
    cacheMisses: 1,
  })
  t.is(metrics.cacheHitRate, 2 / 3)
  t.true(metrics.avgPersistLatency > 0, 'a file write takes some time')
})

test('the manager gives one store per group and model, and closes them', async (t) => {
  const manager = new OffsetStoreManager()
  t.teardown(() => manager.closeAll())
  const group = uniqueName('offset_store_managed')
  const storePath = join(storesRoot, 'managed')
  const [remote, again, local] = await Promise.all([
    manager.getOrCreateOffsetStore({ consumerGroup: group, messageModel: MessageModel.CLUSTERING, namesrvAddr: NAMESRV_ADDR }),
    manager.getOrCreateOffsetStore({ consumerGroup: group, messageModel: MessageModel.CLUSTERING, namesrvAddr: NAMESRV_ADDR }),
    manager.getOrCreateOffsetStore({ consumerGroup: group, messageModel: MessageModel.BROADCASTING, namesrvAddr: NAMESRV_ADDR, storePath }),
  ])
  t.is(again, remote, 'concurrent calls share one store')
  t.is(await manager.getOrCreateOffsetStore({ consumerGroup: group, messageModel: MessageModel.CLUSTERING, namesrvAddr: NAMESRV_ADDR }), remote)
  t.not(local, remote)
  t.is(manager.getOffsetStore(group, MessageModel.BROADCASTING), local)

  local.updateOffset(queue('TopicG', 'broker-a', 0), 5n)
  const info = manager.getManagedStoresInfo()
  t.deepEqual(Object.keys(info).sort(), [`${group}:BROADCASTING`, `${group}:CLUSTERING`])
  t.like(info[`${group}:CLUSTERING`], { consumerGroup: group, storeType: 'RemoteOffsetStore', isRunning: true, cachedOffsetsCount: 0 })
  t.like(info[`${group}:BROADCASTING`], {
    storeType: 'LocalOffsetStore',
    isRunning: true,
    cachedOffsetsCount: 1,
    storePath,
    filePath: (local as LocalOffsetStore).filePath,
  })
  t.deepEqual(Object.keys(manager.getAllMetrics()).sort(), [`${group}:BROADCASTING`, `${group}:CLUSTERING`])

  await manager.closeOffsetStore(group, MessageModel.BROADCASTING)
  t.is(local.state, 'stopped')
  t.deepEqual(fileOffsets((local as LocalOffsetStore).filePath), new Map([['broker-a/0', 5]]), 'closing persisted it')
  t.is(manager.getOffsetStore(group, MessageModel.BROADCASTING), undefined)
  t.deepEqual(Object.keys(manager.getManagedStoresInfo()), [`${group}:CLUSTERING`])
  const renewed = await manager.getOrCreateOffsetStore({ consumerGroup: group, messageModel: MessageModel.BROADCASTING, namesrvAddr: NAMESRV_ADDR, storePath })
  t.not(renewed, local, 'a closed store is replaced by a new one')

  await manager.closeAll()
  t.is(remote.state, 'stopped')
  t.is(renewed.state, 'stopped')
  t.deepEqual(manager.getManagedStoresInfo(), {})
})

test('the process-wide functions: createOffsetStore, getOffsetStoreMetrics, closeOffsetStore, closeAllOffsetStores', async (t) => {
  t.teardown(() => closeAllOffsetStores())
  const [first, second] = [uniqueName('offset_store_fn_a'), uniqueName('offset_store_fn_b')]
  const storePath = join(storesRoot, 'functions')
  const a = await createOffsetStore({ consumerGroup: first, messageModel: MessageModel.BROADCASTING, namesrvAddr: NAMESRV_ADDR, storePath })
  const b = await createOffsetStore({ consumerGroup: second, messageModel: MessageModel.BROADCASTING, namesrvAddr: NAMESRV_ADDR, storePath })
  t.is(await createOffsetStore({ consumerGroup: first, messageModel: MessageModel.BROADCASTING, namesrvAddr: NAMESRV_ADDR, storePath }), a)
  t.is(getOffsetStoreManager().getOffsetStore(first, MessageModel.BROADCASTING), a)

  a.updateOffset(queue('TopicF', 'broker-a', 0), 1n)
  await a.persistAll()
  const metrics = getOffsetStoreMetrics()
  t.like(metrics[`${first}:BROADCASTING`], { persistSuccessCount: 1 })
  t.like(metrics[`${second}:BROADCASTING`], { persistSuccessCount: 0 })

  await closeOffsetStore(first, MessageModel.BROADCASTING)
  t.is(a.state, 'stopped')
  t.is(b.state, 'started')
  t.false(`${first}:BROADCASTING` in getOffsetStoreMetrics())
  await closeAllOffsetStores()
  t.is(b.state, 'stopped')
  t.false(`${second}:BROADCASTING` in getOffsetStoreMetrics())
})

test('validateOffsetStoreConfig says whether createOffsetStore would accept the options; createOffsetStore names what is wrong', async (t) => {
  const group = uniqueName('offset_store_config')
  const base = { consumerGroup: group, namesrvAddr: NAMESRV_ADDR }
  t.true(validateOffsetStoreConfig({ ...base, messageModel: MessageModel.CLUSTERING }))
  t.true(validateOffsetStoreConfig({ ...base, messageModel: MessageModel.BROADCASTING, storePath: join(storesRoot, 'valid') }))
  t.true(validateOffsetStoreConfig({ ...base, messageModel: MessageModel.CLUSTERING, persistInterval: 1000, persistBatchSize: 4 }))

  const refused: Array<[OffsetStoreOptions, RegExp]> = [
    [{ ...base, messageModel: MessageModel.CLUSTERING, storePath: '/tmp/offsets' }, /^storePath "\/tmp\/offsets" applies to BROADCASTING stores only/],
    [{ ...base, consumerGroup: '', messageModel: MessageModel.CLUSTERING }, /^consumerGroup "" must not be blank/],
    [{ ...base, messageModel: MessageModel.CLUSTERING, persistInterval: 0 }, /^persistInterval 0 must be a whole number of milliseconds in \[1, 2147483647\]/],
    [{ ...base, messageModel: MessageModel.CLUSTERING, persistInterval: 2.5 }, /^persistInterval 2\.5 must be a whole number/],
    [{ ...base, messageModel: MessageModel.CLUSTERING, persistBatchSize: 0 }, /^persistBatchSize 0 must be a whole number in \[1, 1024\]/],
    [{ ...base, messageModel: MessageModel.BROADCASTING, persistBatchSize: 8 }, /^persistBatchSize 8 applies to CLUSTERING stores only/],
    [{ ...base, messageModel: 'PUBSUB' as MessageModel }, /^messageModel "PUBSUB" must be one of/],
  ]
  for (const [options, message] of refused) {
    t.false(validateOffsetStoreConfig(options), message.source)
    await t.throwsAsync(createOffsetStore(options), { instanceOf: ConfigError, message }, message.source)
    await t.throwsAsync(OffsetStoreFactory.createOffsetStore(options), { instanceOf: ConfigError, message })
  }
  // A store directory that cannot be made: a file is in the way.
  const blocker = join(storesRoot, 'not-a-directory')
  writeFileSync(blocker, 'x')
  const blocked = { ...base, messageModel: MessageModel.BROADCASTING, storePath: join(blocker, 'offsets') }
  t.false(validateOffsetStoreConfig(blocked))
  await t.throwsAsync(createOffsetStore(blocked), { instanceOf: ConfigError, message: /^storePath ".*" must be a directory this process can create and write/ })
  t.deepEqual(getOffsetStoreManager().getManagedStoresInfo()[`${group}:CLUSTERING`], undefined, 'nothing refused is kept')
})

/** Sends `count` messages to `topic` and returns the max offset of every queue after. */
async function sent(t: ExecutionContext, topic: string, count: number): Promise<Map<string, number>> {
  const producer = await startedProducer(t)
  await produce(producer, count, (index) => ({ topic, body: `offset-store-${index}` }))
  // A broker indexes a message a moment after answering its send (4.x later still when loaded): bounded wait
  // until the queues' ends add up to what was sent.
  let offsets = await maxOffsets(admin, topic)
  for (let attempt = 0; attempt < 100 && total(offsets) < count; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    offsets = await maxOffsets(admin, topic)
  }
  t.is(total(offsets), count, 'every message sent is indexed')
  return offsets
}

function total(offsets: ReadonlyMap<string, number>): number {
  return [...offsets.values()].reduce((sum, offset) => sum + offset, 0)
}

/**
 * The offsets `store` holds in memory for the queues of `expected` (0 for none), once they equal `expected` or the
 * bound passed: a consumer commits after each verdict, so the last commits may trail the last listener call.
 */
async function memoryOffsets(store: OffsetStore, topic: string, expected: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const read = async (): Promise<Map<string, number>> => {
    const offsets = new Map<string, number>()
    for (const key of expected.keys()) {
      const [brokerName, id] = key.split('/') as [string, string]
      const offset = await store.readOffset(queue(topic, brokerName, Number(id)), ReadOffsetType.READ_FROM_MEMORY)
      offsets.set(key, Number(offset ?? 0n))
    }
    return offsets
  }
  const same = (offsets: ReadonlyMap<string, number>): boolean => [...expected].every(([key, offset]) => offsets.get(key) === offset)
  let offsets = await read()
  for (const deadline = Date.now() + WAIT_MS; !same(offsets) && Date.now() < deadline; offsets = await read()) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return offsets
}

test('a consumer given a store commits into that very store; a mismatched group or model is refused', async (t) => {
  const topic = await createTestTopic(admin, 'OffsetStoreGiven')
  const group = uniqueName('offset_store_given')
  const count = 200
  const expected = await sent(t, topic, count)
  t.is(total(expected), count)

  const store = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING, autoStart: false })
  t.is(store.state, 'created')
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const config = { consumerGroup: group, namesrvAddr: NAMESRV_ADDR, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET }
  t.throws(
    () => new Consumer({ config: { ...config, consumerGroup: `${group}_other` }, offsetStore: store, subscriptionManager: subscriptions, messageListener: () => undefined }),
    { instanceOf: ConfigError, message: new RegExp(`group "${group}" \\(CLUSTERING\\) but the consumer's consumerGroup is "${group}_other" \\(CLUSTERING\\)`) },
  )
  t.throws(
    () =>
      new Consumer({
        config: { ...config, messageModel: MessageModel.BROADCASTING },
        offsetStore: store,
        subscriptionManager: subscriptions,
        messageListener: () => undefined,
      }),
    { instanceOf: ConfigError, message: /\(CLUSTERING\) but the consumer's consumerGroup is .* \(BROADCASTING\)/ },
  )

  let consumed = 0
  const seen: OffsetStore[] = []
  const consumer = new Consumer({
    config,
    offsetStore: store,
    subscriptionManager: subscriptions,
    messageListener: (messages, context) => {
      consumed += messages.length
      seen.push(context.offsetStore)
      return undefined
    },
  })
  t.is(consumer.offsetStore, store)
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  t.is(store.state, 'started', 'start() started the given store')
  t.true(await waitFor(() => consumed >= count, WAIT_MS), `consumed ${consumed} of ${count}`)
  t.true(seen.every((s) => s === store), 'the listener sees the given store')
  const inMemory = await memoryOffsets(store, topic, expected)
  t.deepEqual(inMemory, expected, 'the store holds the consumer\'s commits')

  await consumer.shutdown()
  t.is(store.state, 'started', 'the consumer does not stop a store it was given')
  const fresh = await madeStore(t, { consumerGroup: group, messageModel: MessageModel.CLUSTERING })
  for (const [key, offset] of expected) {
    const [brokerName, id] = key.split('/') as [string, string]
    t.is(await fresh.readOffset(queue(topic, brokerName, Number(id)), ReadOffsetType.READ_FROM_STORE), BigInt(offset), key)
  }

  await store.stop()
  const late = new Consumer({ config, offsetStore: store, subscriptionManager: subscriptions, messageListener: () => undefined })
  await t.throwsAsync(late.start(), { instanceOf: ConsumerStateError, message: /offsetStore given to this consumer is stopped/ })
})

test('a listener records progress through context.offsetStore, the consumer\'s own store', async (t) => {
  const topic = await createTestTopic(admin, 'OffsetStoreContext')
  const group = uniqueName('offset_store_context')
  const count = 100
  const expected = await sent(t, topic, count)
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  let consumed = 0
  const contexts: ConsumeConcurrentlyContext[] = []
  const consumer = new Consumer({
    config: { consumerGroup: group, namesrvAddr: NAMESRV_ADDR, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET },
    subscriptionManager: subscriptions,
    messageListener: (messages, context) => {
      for (const message of messages) {
        // The seed's pattern.
        context.offsetStore.updateOffset(context.messageQueue, message.queueOffset + 1n)
      }
      contexts.push(context)
      consumed += messages.length
      return undefined
    },
  })
  t.true(consumer.offsetStore instanceof ConsumerOffsetStore)
  await t.throwsAsync(consumer.offsetStore.readOffset(queue(topic, BROKERS[0], 0)), { instanceOf: OffsetError }, 'no store before start()')
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  t.true(await waitFor(() => consumed >= count, WAIT_MS), `consumed ${consumed} of ${count}`)
  t.true(contexts.every((c) => c.offsetStore === consumer.offsetStore))

  const store = consumer.offsetStore
  t.deepEqual(await memoryOffsets(store, topic, expected), expected)
  await t.throwsAsync(store.stop(), { instanceOf: OffsetError }, 'the consumer owns its store\'s life')
  await consumer.shutdown()
  // Shutdown persisted the consumer's store: the brokers hold every queue's progress.
  const addrs = await masterAddrs(topic)
  for (const [key, offset] of expected) {
    if (offset === 0) {
      continue
    }
    const [brokerName, id] = key.split('/') as [string, string]
    t.is(await committedOffset(addrs.get(brokerName) as string, group, topic, Number(id)), offset, key)
  }
  t.throws(() => store.updateOffset(queue(topic, BROKERS[0], 0), 1n), { instanceOf: OffsetError }, 'no store after shutdown()')
})
