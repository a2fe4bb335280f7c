/**
 * Offset stores on their own: read and rewind a group's offsets on the brokers (RemoteOffsetStore), keep offsets
 * in a local file (LocalOffsetStore), the factory, the process-wide manager and the convenience functions, and the
 * metrics the stores keep.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/offset-stores.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  Admin,
  ConsumeFromWhere,
  type ConsumedMessage,
  Consumer,
  type MessageQueue,
  MessageModel,
  OffsetStoreFactory,
  type OffsetStoreMetrics,
  Producer,
  ReadOffsetType,
  SubscriptionManager,
  closeAllOffsetStores,
  closeOffsetStore,
  createConsumerConfig,
  createOffsetStore,
  getOffsetStoreManager,
  getOffsetStoreMetrics,
  validateOffsetStoreConfig,
} from '../index'

const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const TOPIC = 'offset_store_example_topic'
const MESSAGES = 10

function printMetrics(name: string, metrics: OffsetStoreMetrics): void {
  console.log(
    `${name}: persist success rate ${(metrics.persistSuccessRate * 100).toFixed(0)}%, ` +
      `cache hit rate ${(metrics.cacheHitRate * 100).toFixed(0)}%, ` +
      `average persist latency ${metrics.avgPersistLatency.toFixed(2)} ms, ${metrics.persistSuccessCount} persisted`,
  )
}

/** Consumes the topic in `group` until `count` messages arrived; returns them. */
async function consume(group: string, count: number): Promise<ConsumedMessage[]> {
  const received: ConsumedMessage[] = []
  const subscriptionManager = new SubscriptionManager()
  subscriptionManager.subscribe(TOPIC)
  const consumer = new Consumer({
    config: createConsumerConfig({ consumerGroup: group, namesrvAddr, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET }),
    subscriptionManager,
    messageListener: (messages) => {
      received.push(...messages)
    },
  })
  await consumer.start()
  while (received.length < count) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await consumer.shutdown()
  return received
}

async function main(): Promise<void> {
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: TOPIC, queueNums: 1 })
  const route = await admin.getTopicRoute(TOPIC)
  await admin.close()
  const producer = new Producer({ namesrvAddr, producerGroup: 'offset_store_example_producer' })
  await producer.start()
  const run = Date.now().toString(36)
  for (let index = 0; index < MESSAGES; index += 1) {
    await producer.send({ topic: TOPIC, body: `${run}-${index}` })
  }
  await producer.shutdown()

  // 1. A group consumes everything; its offsets are now on the brokers.
  const group = `offset_store_example_${run}`
  await consume(group, MESSAGES)

  // 2. A remote store reads them, and rewinds one queue by two messages while no member runs.
  const remoteStore = await createOffsetStore({ consumerGroup: group, namesrvAddr, messageModel: MessageModel.CLUSTERING })
  const brokerNames = route.brokerDatas.map((broker) => broker.brokerName)
  let rewound: MessageQueue | undefined
  for (const brokerName of brokerNames) {
    const queue: MessageQueue = { topic: TOPIC, brokerName, queueId: 0 }
    const offset = await remoteStore.readOffset(queue, ReadOffsetType.READ_FROM_STORE)
    console.log(`committed offset of ${brokerName}:0 is ${offset}`)
    if (rewound === undefined && offset !== undefined && offset >= 2n) {
      remoteStore.updateOffset(queue, offset - 2n)
      rewound = queue
    }
  }
  await remoteStore.persistAll()
  printMetrics('remote store', remoteStore.getMetrics())
  await closeOffsetStore(group, MessageModel.CLUSTERING)

  // 3. The group's next member gets the two rewound messages again.
  if (rewound !== undefined) {
    const again = await consume(group, 2)
    console.log(`consumed again after the rewind: ${again.length} messages`)
  }

  // 4. A local store: offsets in a JSON file of this client, as broadcasting keeps them.
  const storePath = mkdtempSync(join(tmpdir(), 'rocketmq_offsets-'))
  try {
    console.log(`valid local store settings: ${validateOffsetStoreConfig({ consumerGroup: 'broadcast_group', namesrvAddr, messageModel: MessageModel.BROADCASTING, storePath })}`)
    console.log(`storePath with CLUSTERING is valid: ${validateOffsetStoreConfig({ consumerGroup: 'broadcast_group', namesrvAddr, messageModel: MessageModel.CLUSTERING, storePath })}`)
    const localStore = await OffsetStoreFactory.createOffsetStore({
      consumerGroup: 'broadcast_group',
      namesrvAddr,
      messageModel: MessageModel.BROADCASTING,
      storePath,
      persistInterval: 3000,
    })
    const queue: MessageQueue = { topic: TOPIC, brokerName: brokerNames[0] ?? 'broker-a', queueId: 0 }
    localStore.updateOffset(queue, 50)
    await localStore.persistAll()
    console.log(`local offset read from the file: ${await localStore.readOffset(queue, ReadOffsetType.READ_FROM_STORE)}`)
    console.log(`file: ${localStore.filePath.startsWith(storePath) ? 'under storePath' : localStore.filePath}`)
    await localStore.stop()

    // 5. The process-wide manager: one store per group and message model.
    const manager = getOffsetStoreManager()
    const managed = await manager.getOrCreateOffsetStore({ consumerGroup: 'test_group', namesrvAddr, messageModel: MessageModel.BROADCASTING, storePath })
    const same = await createOffsetStore({ consumerGroup: 'test_group', namesrvAddr, messageModel: MessageModel.BROADCASTING, storePath })
    console.log(`manager returns the same store: ${managed === same}`)
    console.log(`managed stores: ${Object.keys(manager.getManagedStoresInfo()).join(', ')}`)
    for (const [key, metrics] of Object.entries(getOffsetStoreMetrics())) {
      printMetrics(key, metrics)
    }
    printMetrics('all (manager)', Object.values(manager.getAllMetrics())[0] as OffsetStoreMetrics)
    await closeAllOffsetStores()
    console.log(`managed stores after closeAllOffsetStores: ${Object.keys(manager.getManagedStoresInfo()).length}`)
  } finally {
    rmSync(storePath, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
