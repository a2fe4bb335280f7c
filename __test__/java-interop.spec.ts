/**
 * Our consumer next to the Java client: a Java DefaultMQPushConsumer and two of ours in one group share the
 * queues as the Java averaging strategy says and consume every message once; a message the Java producer sent
 * reaches our listener with everything it carried.
 *
 * The Java side runs `__test__/fixtures/java/*.java`, compiled once against the jars the cluster scripts fetch.
 */
import type { ExecutionContext } from 'ava'
import test from 'ava'

import { Admin, ConsumeFromWhere, type MessageQueue } from '../index'
import { BROKERS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, runPipelined, uniqueName } from './helpers/cluster'
import { recordingConsumer, sleep, startedProducer, waitFor } from './helpers/consumer'
import { JavaProcess, hexOf, runJava } from './helpers/java'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const FROM_FIRST = { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET }

/** Bound on a JVM's start (seconds on a busy 2-core machine): a hang guard, not a timing assertion. */
const JAVA_START_LIMIT_MS = 90_000

/** Starts the Java push consumer of `__test__/fixtures/java/InteropConsumer.java`; stopped when the test ends. */
async function startJavaConsumer(t: ExecutionContext, group: string, topic: string): Promise<JavaProcess> {
  const java = await JavaProcess.start('InteropConsumer', [NAMESRV_ADDR, group, topic, uniqueName('java')])
  t.teardown(() => java.stop())
  return java
}

/** `broker-a/3` */
function queueName(queue: Pick<MessageQueue, 'brokerName' | 'queueId'>): string {
  return `${queue.brokerName}/${queue.queueId}`
}

/** The queues of a QUEUES answer of the Java consumer: `<topic> broker-a/0,broker-a/1,...`. */
function parseJavaQueues(answer: string): string[] {
  const list = answer.split(' ')[1] ?? ''
  return list === '' ? [] : list.split(',')
}

/**
 * What Java's `AllocateMessageQueueAveragely` gives each client, after `RebalanceImpl` sorted the queues
 * (topic, broker name, queue id) and the client ids (as strings): contiguous runs, the first
 * `queues % clients` clients taking one more.
 */
function allocateAveragely(queues: readonly string[], clientIds: readonly string[]): Map<string, string[]> {
  const cids = [...clientIds].sort()
  const allocation = new Map<string, string[]>()
  const mod = queues.length % cids.length
  cids.forEach((cid, index) => {
    const size = queues.length <= cids.length ? 1 : Math.floor(queues.length / cids.length) + (index < mod ? 1 : 0)
    const start = mod > 0 && index < mod ? index * size : index * size + mod
    const range = Math.max(0, Math.min(size, queues.length - start))
    allocation.set(
      cid,
      Array.from({ length: range }, (_, i) => queues[(start + i) % queues.length] ?? ''),
    )
  })
  return allocation
}

/** Every queue of a test topic, in the order Java sorts them (broker name, then queue id). */
function allQueues(): string[] {
  return BROKERS.flatMap((brokerName) => Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => queueName({ brokerName, queueId })))
}

test('a Java DefaultMQPushConsumer and two of ours in one group: each queue has one owner, as Java averages, and 3,000 messages are consumed once', async (t) => {
  t.timeout(300_000)
  const topic = await createTestTopic(admin, 'interop_group')
  const group = uniqueName('interop_group')
  const java = await startJavaConsumer(t, group, topic)
  const ours = [
    await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group, instanceName: uniqueName('ours_a') }),
    await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group, instanceName: uniqueName('ours_b') }),
  ]
  const javaClientId = await java.line('READY', JAVA_START_LIMIT_MS)
  const ourClientIds = ours.map(({ consumer }) => consumer.clientId ?? '')
  t.is(new Set([javaClientId, ...ourClientIds]).size, 3, `client ids must differ: ${javaClientId}, ${ourClientIds.join(', ')}`)

  // Members join one after the other; each rebalances when told of the others (or on its timer). Wait until the
  // three agree, then hold them to the averaging strategy's answer.
  const expected = allocateAveragely(allQueues(), [javaClientId, ...ourClientIds])
  const held = async (): Promise<Map<string, string[]>> => {
    const javaQueues = parseJavaQueues(await java.ask('queues', 'QUEUES'))
    const ourQueues = await Promise.all(
      ours.map(async ({ consumer }) => (await consumer.assignedQueues()).filter((q) => q.topic === topic).map(queueName).sort()),
    )
    return new Map([
      [javaClientId, javaQueues],
      ...ourClientIds.map((cid, i): [string, string[]] => [cid, ourQueues[i] ?? []]),
    ])
  }
  let holding = await held()
  const deadline = Date.now() + 120_000
  while (!sameAllocation(holding, expected) && Date.now() < deadline) {
    await sleep(500)
    holding = await held()
  }
  t.deepEqual(Object.fromEntries(holding), Object.fromEntries(expected), 'queues held differ from AllocateMessageQueueAveragely')
  const owners = new Map<string, number>()
  for (const queues of holding.values()) {
    for (const queue of queues) {
      owners.set(queue, (owners.get(queue) ?? 0) + 1)
    }
  }
  t.deepEqual([...owners.keys()].sort(), allQueues().sort(), 'every queue has an owner')
  t.deepEqual([...owners.entries()].filter(([, count]) => count !== 1), [], 'a queue has two owners')

  // Steady state: produce now and count every delivery, by msgId, over the three members.
  const producer = await startedProducer(t)
  const total = 3000
  const sent = await runPipelined(total, 64, (i) => producer.send({ topic, body: `interop-${i}` }))
  const sentIds = new Set(sent.map((result) => result.msgId))
  t.is(sentIds.size, total)
  const javaDeliveries = (): string[][] => java.linesOf('MSG').map((line) => line.split(' '))
  const delivered = (): number => javaDeliveries().length + ours.reduce((sum, { deliveries }) => sum + deliveries.length, 0)
  t.true(await waitFor(() => delivered() >= total, 120_000), `delivered ${delivered()} of ${total}`)
  // Anything delivered twice would most likely come right after the rest.
  await sleep(2000)

  const countById = new Map<string, number>()
  const count = (msgId: string): void => {
    countById.set(msgId, (countById.get(msgId) ?? 0) + 1)
  }
  // A member consumes only from the queues it holds.
  const strays: string[] = []
  for (const [msgId, brokerName, queueId] of javaDeliveries()) {
    count(msgId ?? '')
    if (!expected.get(javaClientId)?.includes(`${brokerName}/${queueId}`)) {
      strays.push(`${javaClientId} consumed from ${brokerName}/${queueId}`)
    }
  }
  ours.forEach(({ deliveries }, i) => {
    const cid = ourClientIds[i] ?? ''
    for (const { message } of deliveries) {
      count(message.msgId)
      if (!expected.get(cid)?.includes(queueName(message.queue))) {
        strays.push(`${cid} consumed from ${queueName(message.queue)}`)
      }
    }
  })
  t.deepEqual(strays, [], 'a member consumed from a queue it does not hold')
  t.deepEqual([...sentIds].filter((id) => !countById.has(id)), [], 'sent but never consumed')
  t.deepEqual([...countById.keys()].filter((id) => !sentIds.has(id)), [], 'consumed but never sent')
  t.deepEqual([...countById.entries()].filter(([, n]) => n !== 1), [], 'a message was consumed twice')
  t.true(javaDeliveries().length > 0 && ours.every(({ deliveries }) => deliveries.length > 0), 'each member consumed some')
})

function sameAllocation(a: ReadonlyMap<string, string[]>, b: ReadonlyMap<string, string[]>): boolean {
  return a.size === b.size && [...a].every(([cid, queues]) => JSON.stringify(queues) === JSON.stringify(b.get(cid)))
}

/** A message for the Java producer, as `InteropProducer` reads it from stdin. */
interface JavaMessage {
  body: Buffer
  tags?: string
  keys?: string[]
  properties?: Record<string, string>
  flag?: number
}

function javaMessageLine(message: JavaMessage): string {
  const fields = [`body=${hexOf(message.body)}`]
  if (message.tags !== undefined) {
    fields.push(`tags=${hexOf(message.tags)}`)
  }
  for (const key of message.keys ?? []) {
    fields.push(`key=${hexOf(key)}`)
  }
  for (const [name, value] of Object.entries(message.properties ?? {})) {
    fields.push(`prop=${hexOf(name)}:${hexOf(value)}`)
  }
  if (message.flag !== undefined) {
    fields.push(`flag=${message.flag}`)
  }
  return fields.join(' ')
}

test('messages the Java producer sent reach our listener with the same body, tags, keys, properties, flag and ids', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'interop_fields')
  const messages: JavaMessage[] = [
    {
      body: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      tags: 'TagA',
      keys: ['order-1', 'ключ-2'],
      properties: { color: 'red', note: 'ü ✓ with spaces' },
      flag: 7,
    },
    // Over the Java producer's 4 KiB threshold: stored zlib-compressed, to be inflated by our consumer.
    { body: Buffer.from('compressible '.repeat(5000)), tags: 'big', properties: { size: String(13 * 5000) } },
    { body: Buffer.from('plain') },
  ]
  const sent = await runJava('InteropProducer', [NAMESRV_ADDR, uniqueName('interop_java_producer'), topic], {
    stdin: `${messages.map(javaMessageLine).join('\n')}\n`,
    timeoutMs: 120_000,
  })
  t.is(sent.status, 0, `Java producer failed:\n${sent.stderr.slice(-4000)}`)
  const results = sent.stdout
    .split('\n')
    .filter((line) => line.startsWith('SENT '))
    .map((line) => {
      const [, msgId, offsetMsgId, brokerName, queueId, queueOffset] = line.split(' ')
      return { msgId, offsetMsgId, brokerName, queueId: Number(queueId), queueOffset: BigInt(queueOffset ?? -1) }
    })
  t.is(results.length, messages.length, sent.stdout)

  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST)
  t.true(await waitFor(() => deliveries.length >= messages.length), `delivered ${deliveries.length} of ${messages.length}`)
  await sleep(500)
  t.is(deliveries.length, messages.length)

  messages.forEach((expected, i) => {
    const result = results[i]
    const delivery = deliveries.find(({ message }) => message.msgId === result?.msgId)
    if (result === undefined || delivery === undefined) {
      t.fail(`message ${i} (msgId ${String(result?.msgId)}) was not delivered`)
      return
    }
    const { message } = delivery
    t.true(message.body.equals(expected.body), `body of message ${i}`)
    t.is(message.topic, topic)
    t.is(message.tags, expected.tags)
    t.deepEqual(message.keys, expected.keys ?? [])
    for (const [name, value] of Object.entries(expected.properties ?? {})) {
      t.is(message.properties[name], value, `property ${name} of message ${i}`)
    }
    t.is(message.offsetMsgId, result.offsetMsgId)
    t.deepEqual(message.queue, { topic, brokerName: result.brokerName, queueId: result.queueId })
    t.is(message.queueOffset, result.queueOffset)
    t.is(message.flag, expected.flag ?? 0)
    t.is(message.reconsumeTimes, 0)
  })
})
