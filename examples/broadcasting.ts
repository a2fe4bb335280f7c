/**
 * Broadcasting consumption: every member of the group gets every message, and keeps its offsets in a local file.
 * Two members (two screens showing notifications) each receive all the notifications sent.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/broadcasting.ts
 *
 * The listener is orderly, as the seed writes it: each screen shows a queue's notifications in the order they were
 * stored, one call at a time per queue (broadcasting needs no broker locks for that). A notification that cannot be
 * shown is shown again after a moment, before anything after it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  MessageListenerOrderly,
  MessageModel,
  type OffsetStore,
  Producer,
  SubscriptionManager,
  closeOffsetStore,
  createConsumerConfig,
  createOffsetStore,
} from '../index'

const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const TOPIC = 'notification_topic'
const GROUP = 'notification_consumer'
const NOTIFICATIONS = 5

interface Notification {
  run: string
  title: string
}

class NotificationListener extends MessageListenerOrderly {
  readonly titles = new Set<string>()

  constructor(
    readonly screen: string,
    private readonly run: string,
  ) {
    super()
  }

  override consumeMessage(messages: ConsumedMessage[]): ConsumeResult {
    for (const message of messages) {
      try {
        const notification = JSON.parse(message.body.toString()) as Notification
        if (notification.run === this.run) {
          console.log(`${this.screen} shows: ${notification.title}`)
          this.titles.add(notification.title)
        }
      } catch (error) {
        console.log(`${this.screen} could not show a notification: ${String(error)}`)
        return ConsumeResult.SUSPEND_CURRENT_QUEUE_A_MOMENT
      }
    }
    return ConsumeResult.SUCCESS
  }
}

function screen(name: string, run: string, storePath: string, offsetStore?: OffsetStore): { consumer: Consumer; listener: NotificationListener } {
  const config = createConsumerConfig({
    consumerGroup: GROUP,
    namesrvAddr,
    messageModel: MessageModel.BROADCASTING,
    storePath,
    // Members of one group on one host need their own instance name: it names their offsets file.
    instanceName: name,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET,
  })
  const subscriptionManager = new SubscriptionManager()
  subscriptionManager.subscribe(TOPIC)
  const listener = new NotificationListener(name, run)
  const consumer = new Consumer({ config, subscriptionManager, messageListener: listener, ...(offsetStore ? { offsetStore } : {}) })
  return { consumer, listener }
}

async function main(): Promise<void> {
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: TOPIC, queueNums: 2 })
  await admin.close()

  const storePath = mkdtempSync(join(tmpdir(), 'notification_offsets-'))
  const run = Date.now().toString(36)
  try {
    // The first screen is given its local offset store; the second makes its own from the same settings.
    const offsetStore = await createOffsetStore({
      consumerGroup: GROUP,
      namesrvAddr,
      messageModel: MessageModel.BROADCASTING,
      storePath,
      instanceName: 'screen-a',
    })
    const screens = [screen('screen-a', run, storePath, offsetStore), screen('screen-b', run, storePath)]
    for (const { consumer } of screens) {
      await consumer.start()
    }
    // Each member starts at the end of every queue; wait until it holds them all before sending.
    for (const { consumer } of screens) {
      while ((await consumer.assignedQueues()).filter((queue) => queue.topic === TOPIC).length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }

    const producer = new Producer({ namesrvAddr, producerGroup: 'notification_producer' })
    await producer.start()
    for (let index = 0; index < NOTIFICATIONS; index += 1) {
      const notification: Notification = { run, title: `notification ${index}` }
      await producer.send({ topic: TOPIC, body: JSON.stringify(notification) })
    }
    await producer.shutdown()

    while (screens.some(({ listener }) => listener.titles.size < NOTIFICATIONS)) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    for (const { consumer, listener } of screens) {
      await consumer.shutdown()
      console.log(`${listener.screen} received ${listener.titles.size} of ${NOTIFICATIONS} notifications`)
    }
    console.log(`screen-a's offsets: ${offsetStore.filePath.startsWith(storePath) ? 'a file under storePath' : offsetStore.filePath}`)
    await closeOffsetStore(GROUP, MessageModel.BROADCASTING)
  } finally {
    rmSync(storePath, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
