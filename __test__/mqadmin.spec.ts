/**
 * RocketMQ's own admin tool against our running consumer: mqadmin (MQAdminStartup from the jars the cluster
 * scripts fetch) sees its connection, its progress per queue and its running info, and a reset of the
 * group's offsets by time makes it consume again from that time.
 *
 * Each mqadmin run starts a JVM (seconds), so the tests make few of them.
 */
import test from 'ava'

import { Admin, ConsumeFromWhere } from '../index'
import { BROKER_IS_4X } from './helpers/broker-version'
import { NAMESRV_ADDR, QUEUES_PER_BROKER, BROKERS, createTestTopic, uniqueName } from './helpers/cluster'
import { type Delivery, produce, recordingConsumer, sleep, startedProducer, waitFor } from './helpers/consumer'
import { type RunResult, mqadmin, parseTable } from './helpers/java'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

/** Offsets are committed this often, so that mqadmin soon sees what was consumed. */
const PERSIST_INTERVAL_MS = 1000

const QUEUE_COUNT = BROKERS.length * QUEUES_PER_BROKER

function describe(result: RunResult): string {
  return `status ${String(result.status)}${result.timedOut ? ' (timed out)' : ''}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-4000)}`
}

/**
 * Columns of `consumerProgress -s true`; 4.x's mqadmin prints no `#Inflight` (the pop consumption 5.x added).
 */
const PROGRESS_COLUMNS = BROKER_IS_4X
  ? ['Topic', 'Broker Name', 'QID', 'Broker Offset', 'Consumer Offset', 'Client IP', 'Diff', 'LastTime']
  : ['Topic', 'Broker Name', 'QID', 'Broker Offset', 'Consumer Offset', 'Client IP', 'Diff', 'Inflight', 'LastTime']

/** `consumerProgress -g <group> -s true`: per queue, broker and consumer offsets and the owner's IP. */
async function consumerProgress(group: string): Promise<{ result: RunResult; rows: Record<string, string>[] }> {
  const result = await mqadmin('consumerProgress', ['-g', group, '-s', 'true'])
  const rows = parseTable(result.stdout, PROGRESS_COLUMNS)
  return { result, rows }
}

test('mqadmin consumerConnection, consumerProgress and consumerStatus show our consumer, its queues and its offsets', async (t) => {
  t.timeout(240_000)
  const topic = await createTestTopic(admin, 'mqadmin_seen')
  const group = uniqueName('mqadmin_seen')
  const producer = await startedProducer(t)
  const total = 200
  await produce(producer, total, (i) => ({ topic, body: `seen-${i}` }))
  const { consumer, deliveries } = await recordingConsumer(t, topic, {
    consumerGroup: group,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    persistConsumerOffsetInterval: PERSIST_INTERVAL_MS,
  })
  const clientId = consumer.clientId ?? ''
  t.not(clientId, '')
  t.true(await waitFor(() => deliveries.length >= total), `delivered ${deliveries.length} of ${total}`)

  const connection = await mqadmin('consumerConnection', ['-g', group])
  t.is(connection.status, 0, describe(connection))
  const clients = parseTable(connection.stdout, ['ClientId', 'ClientAddr', 'Language', 'Version'])
  t.deepEqual(
    clients.map((row) => row.ClientId),
    [clientId],
    describe(connection),
  )
  const subscriptions = parseTable(connection.stdout, ['Topic', 'SubExpression'])
  t.deepEqual(
    subscriptions.map((row) => `${row.Topic ?? ''} ${row.SubExpression ?? ''}`).sort(),
    [`%RETRY%${group} *`, `${topic} *`].sort(),
    describe(connection),
  )
  t.regex(connection.stdout, /^MessageModel: CLUSTERING$/m)
  t.regex(connection.stdout, /^ConsumeType: CONSUME_PASSIVELY$/m)
  t.regex(connection.stdout, /^ConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET$/m)

  // Committed offsets reach the broker on the next persist; read again once if the first reading came early.
  await sleep(3 * PERSIST_INTERVAL_MS)
  let progress = await consumerProgress(group)
  const settled = (rows: Record<string, string>[]): boolean =>
    rows.filter((row) => row.Topic === topic).length === QUEUE_COUNT && rows.every((row) => row.Diff === '0')
  if (!settled(progress.rows)) {
    await sleep(3 * PERSIST_INTERVAL_MS)
    progress = await consumerProgress(group)
  }
  t.is(progress.result.status, 0, describe(progress.result))
  const topicRows = progress.rows.filter((row) => row.Topic === topic)
  t.deepEqual(
    topicRows.map((row) => `${row['Broker Name'] ?? ''}/${row.QID ?? ''}`).sort(),
    BROKERS.flatMap((broker) => Array.from({ length: QUEUES_PER_BROKER }, (_, id) => `${broker}/${id}`)).sort(),
    describe(progress.result),
  )
  // mqadmin shows the IP part of the client id of the member whose running info lists the queue.
  const clientIp = clientId.split('@')[0]
  for (const row of topicRows) {
    t.is(row['Client IP'], clientIp, `owner of ${row['Broker Name'] ?? ''}/${row.QID ?? ''}`)
    t.is(row['Consumer Offset'], row['Broker Offset'])
    t.is(row.Diff, '0')
  }
  t.is(
    topicRows.reduce((sum, row) => sum + Number(row['Broker Offset']), 0),
    total,
  )

  const status = await mqadmin('consumerStatus', ['-g', group, '-i', clientId])
  t.is(status.status, 0, describe(status))
  const subscribed = [...status.stdout.matchAll(/^\d+ Topic: (\S+)\s+ClassFilter: \S+\s+SubExpression: (.*?)\s*$/gm)]
    .map(([, name, expression]) => `${name ?? ''} ${expression ?? ''}`)
    .sort()
  t.deepEqual(subscribed, [`%RETRY%${group} *`, `${topic} *`].sort(), describe(status))
  const held = parseTable(status.stdout, ['Topic', 'Broker Name', 'QID', 'ProcessQueueInfo']).filter((row) => row.Topic === topic)
  t.is(held.length, QUEUE_COUNT, describe(status))
  const offsets = parseTable(status.stdout, ['Topic', 'Broker Name', 'QID', 'Consumer Offset']).filter((row) => row.Topic === topic)
  t.is(
    offsets.reduce((sum, row) => sum + Number(row['Consumer Offset']), 0),
    total,
    describe(status),
  )
})

test('mqadmin consumerStatus of the whole group reads and compares our running info without error', async (t) => {
  // Without -i, mqadmin fetches every member's running info and compares them (subscriptions, start time,
  // process queues): what an operator runs first. It reports a failure on stderr and still exits 0.
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'mqadmin_group_status')
  const { consumer } = await recordingConsumer(t, topic, { consumerGroup: uniqueName('mqadmin_group_status') })
  const clientId = consumer.clientId ?? ''
  const status = await mqadmin('consumerStatus', ['-g', consumer.config.consumerGroup])
  t.deepEqual(
    parseTable(status.stdout, ['Index', 'ClientId', 'Version', 'ConsumerRunningInfoFile']).map((row) => row.ClientId),
    [clientId],
    describe(status),
  )
  t.notRegex(status.stderr, /command failed|Exception/, describe(status))
  t.regex(status.stdout, /Same subscription in the same group of consumer/, describe(status))
  t.regex(status.stdout, /Rebalance OK/, describe(status))
})

/** How often each body was delivered. */
function countsOf(deliveries: readonly Delivery[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const { body } of deliveries) {
    counts.set(body, (counts.get(body) ?? 0) + 1)
  }
  return counts
}

test('mqadmin resetOffsetByTime while our consumer runs makes it consume again what was stored from that time on', async (t) => {
  t.timeout(240_000)
  const topic = await createTestTopic(admin, 'mqadmin_reset')
  const group = uniqueName('mqadmin_reset')
  const producer = await startedProducer(t)
  const { deliveries } = await recordingConsumer(t, topic, {
    consumerGroup: group,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    persistConsumerOffsetInterval: PERSIST_INTERVAL_MS,
  })
  const perBatch = 100
  await produce(producer, perBatch, (i) => ({ topic, body: `before-${i}` }))
  t.true(await waitFor(() => deliveries.length >= perBatch), `delivered ${deliveries.length} of ${perBatch}`)
  // The reset point: just after the last "before" message was stored (broker clock, read from the messages).
  const resetTime = Math.max(...deliveries.map(({ message }) => message.storeTimestamp)) + 1
  while (Date.now() <= resetTime) {
    await sleep(5)
  }
  await produce(producer, perBatch, (i) => ({ topic, body: `after-${i}` }))
  t.true(await waitFor(() => deliveries.length >= 2 * perBatch), `delivered ${deliveries.length} of ${2 * perBatch}`)
  t.true(
    deliveries.filter(({ body }) => body.startsWith('after-')).every(({ message }) => message.storeTimestamp >= resetTime),
    'an "after" message was stored before the reset time',
  )

  const reset = await mqadmin('resetOffsetByTime', ['-g', group, '-t', topic, '-s', String(resetTime)])
  t.is(reset.status, 0, describe(reset))
  t.is(parseTable(reset.stdout, ['brokerName', 'queueId', 'offset']).length, QUEUE_COUNT, describe(reset))

  const afterRedelivered = (): boolean => {
    const counts = countsOf(deliveries)
    return Array.from({ length: perBatch }, (_, i) => counts.get(`after-${i}`) ?? 0).every((n) => n >= 2)
  }
  t.true(await waitFor(afterRedelivered, 90_000), 'not every message stored after the reset time came again')
  // Give anything delivered beyond the reset a moment to show up.
  await sleep(2000)
  const counts = countsOf(deliveries)
  t.deepEqual(
    Array.from({ length: perBatch }, (_, i) => counts.get(`after-${i}`) ?? 0).filter((n) => n !== 2),
    [],
    'each message stored after the reset time is delivered once more, not more',
  )
  if (!BROKER_IS_4X) {
    t.deepEqual(
      Array.from({ length: perBatch }, (_, i) => counts.get(`before-${i}`) ?? 0).filter((n) => n !== 1),
      [],
      'a message stored before the reset time came again',
    )
    return
  }
  // A 4.x broker resets each queue to the message NEAREST the time, which may be the last one stored before it
  // (5.x: the first stored at or after it). The consumer follows what the broker answered, so at most the last
  // "before" message of each queue comes again, and nothing earlier.
  const lastBeforeOfQueue = new Map<string, Delivery>()
  for (const delivery of deliveries.filter(({ body }) => body.startsWith('before-'))) {
    const key = `${delivery.message.queue.brokerName}/${delivery.message.queue.queueId}`
    const known = lastBeforeOfQueue.get(key)
    if (known === undefined || delivery.message.queueOffset > known.message.queueOffset) {
      lastBeforeOfQueue.set(key, delivery)
    }
  }
  const lastBodies = new Set([...lastBeforeOfQueue.values()].map(({ body }) => body))
  t.deepEqual(
    Array.from({ length: perBatch }, (_, i) => `before-${i}`).filter((body) => {
      const n = counts.get(body) ?? 0
      return !(n === 1 || (n === 2 && lastBodies.has(body)))
    }),
    [],
    'a message stored before the reset time came again though it was not the last of its queue before that time',
  )
})
