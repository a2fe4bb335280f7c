/**
 * BROADCASTING against the real cluster: every member consumes every message, offsets live in a local file in
 * the Java client's format and path, a member started again resumes from its file, a truncated file falls back
 * to its `.bak`, and a failed message is dropped rather than delivered again. The tests are serial: two
 * consumers of 10,000 messages each are load enough for the 2-core machine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumerConfig,
  DEFAULT_LOGGER,
  type LogRecord,
  MessageModel,
  setLogger,
} from '../index'
import { NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, maxOffsets, queueKey, uniqueName } from './helpers/cluster'
import { type Delivery, deliveryCounts, produce, recordingConsumer, startedProducer, waitFor } from './helpers/consumer'
import { type RunResult, mqadmin, parseTable } from './helpers/java'

const QUEUE_COUNT = 2 * QUEUES_PER_BROKER
/** Bound on each wait for deliveries (a limit, not a timing assertion). */
const WAIT_MS = 240_000

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

// Every warn and error of the engine, kept for the assertions about the log and still shown on stderr.
const logRecords: LogRecord[] = []
setLogger({
  level: 'warn',
  sink: (record) => {
    logRecords.push(record)
    process.stderr.write(`[${record.level}] ${record.target}: ${record.message}\n`)
  },
})
test.after.always(() => setLogger(DEFAULT_LOGGER))

const offsetsRoot = mkdtempSync(join(tmpdir(), 'rocketmq-napi-broadcasting-'))
test.after.always(() => rmSync(offsetsRoot, { recursive: true, force: true }))

/**
 * One entry of the offsets file as the Java client's fastjson pretty printer writes it (see
 * crates/client/tests/fixtures/java-offsets.json, written by a Java client): the queue as an object key, its
 * fields in name order, tabs.
 */
const JAVA_ENTRY = /\{\n\t\t\t"brokerName":"([^"]+)",\n\t\t\t"queueId":(\d+),\n\t\t\t"topic":"([^"]+)"\n\t\t\}:(\d+)/g
const JAVA_FILE = new RegExp(`^\\{\\n\\t"offsetTable":\\{(?:${JAVA_ENTRY.source},?)+\\n\\t\\}\\n\\}$`)
const JAVA_FIXTURE = readFileSync(join(__dirname, '..', 'crates', 'client', 'tests', 'fixtures', 'java-offsets.json'), 'utf8')

/** Java's path of a client's offsets file: `<dir>/<clientId>/<group>/offsets.json`. */
function offsetsFile(dir: string, clientId: string, group: string): string {
  return join(dir, clientId, group, 'offsets.json')
}

/** The offsets of `topic` in a file of Java's shape, by `broker/queueId`; fails the test on any other shape. */
function readOffsets(t: { regex: (s: string, r: RegExp, m?: string) => void }, path: string, topic: string): Map<string, number> {
  const content = readFileSync(path, 'utf8')
  t.regex(content, JAVA_FILE, `${path} is not in the Java client's format:\n${content}`)
  const offsets = new Map<string, number>()
  for (const [, brokerName, queueId, entryTopic, offset] of content.matchAll(JAVA_ENTRY)) {
    if (entryTopic === topic) {
      offsets.set(queueKey(brokerName ?? '', Number(queueId)), Number(offset))
    }
  }
  return offsets
}

/** A map as a plain object with sorted keys, so that two maps compare regardless of insertion order. */
function sorted(map: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([x], [y]) => x.localeCompare(y)))
}

function keyOf(delivery: Delivery): string {
  return queueKey(delivery.message.queue.brokerName, delivery.message.queue.queueId)
}

function describe(result: RunResult): string {
  return `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}

/** Settings of one broadcasting member: its own instance name and offsets directory, persisting often. */
function member(group: string, instanceName: string, offsetStoreDir: string): Partial<ConsumerConfig> {
  return {
    consumerGroup: group,
    messageModel: MessageModel.BROADCASTING,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    instanceName,
    offsetStoreDir,
    persistConsumerOffsetInterval: 500,
  }
}

test.serial('two broadcasting members each get all 10,000 messages; one started again resumes from its file', async (t) => {
  t.timeout(600_000)
  t.regex(JAVA_FIXTURE, JAVA_FILE, 'the pattern must accept the file a Java client wrote')
  const topic = await createTestTopic(admin, 'bcast_all')
  const group = uniqueName('bcast_all')
  const producer = await startedProducer(t)
  const total = 10_000
  await produce(producer, total, (i) => ({ topic, body: `first-${i}` }))

  const [dirA, dirB] = [join(offsetsRoot, 'a'), join(offsetsRoot, 'b')]
  const [nameA, nameB] = [uniqueName('bcast_a'), uniqueName('bcast_b')]
  const a = await recordingConsumer(t, topic, member(group, nameA, dirA))
  const b = await recordingConsumer(t, topic, member(group, nameB, dirB))
  const distinct = (deliveries: readonly Delivery[]): number => deliveryCounts(deliveries).size
  t.true(
    await waitFor(() => distinct(a.deliveries) >= total && distinct(b.deliveries) >= total, WAIT_MS),
    `a got ${distinct(a.deliveries)}, b ${distinct(b.deliveries)} of ${total}`,
  )
  for (const { consumer } of [a, b]) {
    const held = (await consumer.assignedQueues()).filter((q) => q.topic === topic)
    t.is(held.length, QUEUE_COUNT, 'each member holds every queue')
  }

  // The brokers see a broadcasting group subscribed to the topic alone: no %RETRY% topic.
  const connection = await mqadmin('consumerConnection', ['-g', group])
  t.is(connection.status, 0, describe(connection))
  t.regex(connection.stdout, /^MessageModel: BROADCASTING$/m, describe(connection))
  t.deepEqual(
    parseTable(connection.stdout, ['Topic', 'SubExpression']).map((row) => `${row.Topic ?? ''} ${row.SubExpression ?? ''}`),
    [`${topic} *`],
    describe(connection),
  )
  t.deepEqual(
    parseTable(connection.stdout, ['ClientId', 'ClientAddr', 'Language', 'Version'])
      .map((row) => row.ClientId)
      .sort(),
    [a.consumer.clientId, b.consumer.clientId].sort(),
  )

  // Its running info (what `mqadmin consumerStatus` shows) says the model and lists every queue.
  const status = await mqadmin('consumerStatus', ['-g', group, '-i', a.consumer.clientId ?? ''])
  t.is(status.status, 0, describe(status))
  t.regex(status.stdout, /^messageModel\s*: BROADCASTING$/m, describe(status))
  t.is(
    parseTable(status.stdout, ['Topic', 'Broker Name', 'QID', 'ProcessQueueInfo']).filter((row) => row.Topic === topic).length,
    QUEUE_COUNT,
    describe(status),
  )

  // b stops: a clean shutdown commits everything it consumed into b's own file, at Java's path.
  const clientIdB = b.consumer.clientId ?? ''
  t.true(clientIdB.endsWith(`@${nameB}`))
  await b.consumer.shutdown()
  const fileB = offsetsFile(dirB, clientIdB, group)
  const committed = readOffsets(t, fileB, topic)
  t.deepEqual(sorted(committed), sorted(await maxOffsets(admin, topic)), 'a clean shutdown persists every queue at its end')

  // Meanwhile 1,000 more; a gets them, and b, started again on the same directory, resumes from its file.
  const more = 1_000
  await produce(producer, more, (i) => ({ topic, body: `meanwhile-${i}` }))
  t.true(await waitFor(() => distinct(a.deliveries) >= total + more, WAIT_MS), `a got ${distinct(a.deliveries)}`)
  const again = await recordingConsumer(t, topic, member(group, nameB, dirB))
  t.is(again.consumer.clientId, clientIdB)
  t.true(
    await waitFor(() => again.deliveries.filter((d) => d.body.startsWith('meanwhile-')).length >= more, WAIT_MS),
    `b got ${again.deliveries.length} after starting again`,
  )
  await again.consumer.shutdown()

  // Only what lies at or past the file's offset of its queue can come again (the uncommitted tail, empty after
  // a clean shutdown); each message once per member.
  for (const delivery of again.deliveries) {
    const from = committed.get(keyOf(delivery)) ?? 0
    t.true(delivery.message.queueOffset >= BigInt(from), `${delivery.body} came again from before the file's offset ${from}`)
  }
  t.deepEqual(
    [...deliveryCounts(again.deliveries).keys()].sort(),
    Array.from({ length: more }, (_, i) => `meanwhile-${i}`).sort(),
  )
  for (const [name, deliveries, expected] of [
    ['a', a.deliveries, total + more],
    ['b', b.deliveries, total],
    ['b again', again.deliveries, more],
  ] as const) {
    const counts = deliveryCounts(deliveries)
    t.is(counts.size, expected, name)
    t.true([...counts.values()].every((n) => n === 1), `${name} got a message twice`)
  }
  t.deepEqual(sorted(readOffsets(t, fileB, topic)), sorted(await maxOffsets(admin, topic)))
})

test.serial('a truncated offsets file falls back to its backup, and the log says so', async (t) => {
  t.timeout(300_000)
  const topic = await createTestTopic(admin, 'bcast_bak')
  const group = uniqueName('bcast_bak')
  const dir = join(offsetsRoot, 'bak')
  const name = uniqueName('bcast_bak')
  const producer = await startedProducer(t)
  const each = 300

  // Two runs, so that the second one's writes leave the first one's file as the backup.
  const where = new Map<string, { key: string; offset: bigint }>()
  let clientId = ''
  for (const round of ['one', 'two']) {
    await produce(producer, each, (i) => ({ topic, body: `${round}-${i}` }))
    const run = await recordingConsumer(t, topic, member(group, name, dir))
    clientId = run.consumer.clientId ?? ''
    t.true(await waitFor(() => run.deliveries.filter((d) => d.body.startsWith(`${round}-`)).length >= each, WAIT_MS))
    await run.consumer.shutdown()
    for (const delivery of run.deliveries) {
      where.set(delivery.body, { key: keyOf(delivery), offset: delivery.message.queueOffset })
    }
  }
  t.is(where.size, 2 * each)
  const file = offsetsFile(dir, clientId, group)
  const backup = `${file}.bak`
  const backupContent = readFileSync(backup, 'utf8')
  const fromBackup = readOffsets(t, backup, topic)
  t.deepEqual(sorted(readOffsets(t, file, topic)), sorted(await maxOffsets(admin, topic)))

  // A write torn in the middle: the start must read the backup and deliver exactly what lies past it.
  const content = readFileSync(file, 'utf8')
  writeFileSync(file, content.slice(0, Math.floor(content.length / 2)))
  const expected = [...where]
    .filter(([, at]) => at.offset >= BigInt(fromBackup.get(at.key) ?? 0))
    .map(([body]) => body)
    .sort()
  t.true(expected.length > 0, 'the backup is older than the file it backs up')
  const recovered = await recordingConsumer(t, topic, member(group, name, dir))
  t.true(await waitFor(() => recovered.deliveries.length >= expected.length, WAIT_MS))
  // Log records reach JavaScript in batches, after the fact: wait for it (bounded). One warning, not one per queue.
  const fellBack = (): LogRecord[] =>
    logRecords.filter((r) => r.level === 'warn' && r.message.includes(file) && r.message.includes(`using its backup ${backup}`))
  t.true(await waitFor(() => fellBack().length > 0, 10_000), 'a warning names the unreadable file and its backup')
  await recovered.consumer.shutdown()
  t.deepEqual(recovered.deliveries.map((d) => d.body).sort(), expected)
  // The corrupt file was replaced by a valid one; the good backup was not overwritten by it.
  t.deepEqual(sorted(readOffsets(t, file, topic)), sorted(await maxOffsets(admin, topic)))
  t.is(readFileSync(backup, 'utf8'), backupContent)
  t.is(fellBack().length, 1)
})

test.serial('a message a broadcasting listener fails is dropped, counted and committed, never sent back', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'bcast_fail')
  const group = uniqueName('bcast_fail')
  const dir = join(offsetsRoot, 'fail')
  const producer = await startedProducer(t)
  const total = 200
  await produce(producer, total, (i) => ({ topic, body: `fail-${i}` }))
  const failing = (body: string): boolean => Number(body.split('-')[1]) % 10 === 0
  const { consumer, deliveries } = await recordingConsumer(t, topic, member(group, uniqueName('bcast_fail'), dir), {
    verdict: (messages) => (messages.some((m) => failing(m.body.toString())) ? ConsumeResult.RECONSUME_LATER : ConsumeResult.SUCCESS),
  })
  const clientId = consumer.clientId ?? ''
  const failures = total / 10
  t.true(await waitFor(() => deliveries.length >= total && consumer.stats().droppedAfterFailure >= failures, WAIT_MS))
  await consumer.shutdown()
  const stats = consumer.stats()
  t.is(stats.droppedAfterFailure, failures)
  t.is(stats.sentBack, 0)
  t.is(stats.consumedAgainLocally, 0)
  t.true([...deliveryCounts(deliveries).values()].every((n) => n === 1), 'a failed message came again')
  t.deepEqual(sorted(readOffsets(t, offsetsFile(dir, clientId, group), topic)), sorted(await maxOffsets(admin, topic)))
  t.true(
    await waitFor(
      () => logRecords.some((r) => r.level === 'warn' && r.message.includes(group) && r.message.includes('BROADCASTING, the message consume failed, drop it')),
      10_000,
    ),
  )
})
