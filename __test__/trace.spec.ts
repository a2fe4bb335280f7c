/**
 * Message traces against the local cluster: a producer and a consumer with `enableMessageTrace` leave Pub,
 * SubBefore and SubAfter records in their trace topic that the Java client's own decoder
 * (`TraceDataEncoder.decoderFromTraceDataString`, from the fetched jars) reads field by field, and that
 * `mqadmin queryMsgTraceById` shows for a message. Each test traces to a topic of its own (what a
 * `customizedTraceTopic` is for), so that runs and specs do not see each other's records.
 */
import test from 'ava'

import { Admin, ConsumeFromWhere, ConsumeResult, Producer, type SendResult } from '../index'
import { BROKERS, BROKER_PORTS, NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { type Delivery, recordingConsumer, waitFor } from './helpers/consumer'
import { hexOf, mqadmin, runJava } from './helpers/java'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

/** One trace record as Java decoded it: field name to value (Java's `String.valueOf`). */
type Decoded = Record<string, string>

/** Decodes trace message bodies with the Java client's decoder (fixtures/java/TraceDecode.java). */
async function decodeWithJava(bodies: readonly Buffer[]): Promise<Decoded[]> {
  const result = await runJava('TraceDecode', [], { stdin: bodies.map((b) => hexOf(b)).join('\n') + '\n', timeoutMs: 60_000 })
  if (result.status !== 0 || !result.stdout.includes('DONE')) {
    throw new Error(`TraceDecode failed (${String(result.status)}): ${result.stderr.slice(-2000)}`)
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('TRACE '))
    .map((line) =>
      Object.fromEntries(
        line
          .slice('TRACE '.length)
          .split(' ')
          .map((field) => {
            const [name = '', hex = ''] = field.split('=')
            return [name, Buffer.from(hex, 'hex').toString('utf8')]
          }),
      ),
    )
}

/** How many records the trace messages delivered so far hold. */
function recordCount(deliveries: readonly Delivery[]): number {
  return deliveries.reduce((n, d) => n + d.message.body.toString('utf8').split('\u0002').length - 1, 0)
}

function storeHostOf(result: SendResult): string {
  return `127.0.0.1:${BROKER_PORTS[BROKERS.indexOf(result.brokerName as (typeof BROKERS)[number])]}`
}

test('a traced send and consume leave Pub, SubBefore and SubAfter records that the Java decoder reads field by field', async (t) => {
  const topic = await createTestTopic(admin, 'trace_msgs')
  const traceTopic = await createTestTopic(admin, 'trace_topic')
  const producerGroup = uniqueName('trace_producer')
  const consumerGroup = uniqueName('trace_consumer')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup, enableMessageTrace: true, customizedTraceTopic: traceTopic })
  await producer.start()
  t.teardown(() => producer.shutdown())

  const before = Date.now()
  const plain = await producer.send({ topic, body: 'plain' })
  const tagged = await producer.send({ topic, body: 'tagged-body', tags: 'tagA', keys: ['k1', 'k2'] })
  const delayed = await producer.send({ topic, body: 'delayed', delayLevel: 1 })
  const sent = [plain, tagged, delayed]

  // 'plain' fails its first delivery and comes again a second later through the retry topic.
  let plainFailed = false
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    {
      consumerGroup,
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      enableMessageTrace: true,
      customizedTraceTopic: traceTopic,
    },
    {
      verdict: (messages, context) => {
        if (messages[0]?.body.toString() === 'plain' && !plainFailed) {
          plainFailed = true
          context.delayLevelWhenNextConsume = 1
          return ConsumeResult.RECONSUME_LATER
        }
        return ConsumeResult.SUCCESS
      },
    },
  )
  t.true(await waitFor(() => deliveries.length >= 4), `delivered ${deliveries.length} of 4`)

  // The trace topic, read by an untraced consumer: 3 Pub, 4 SubBefore, 4 SubAfter records.
  const traces = await recordingConsumer(t, traceTopic, { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET })
  t.true(await waitFor(() => recordCount(traces.deliveries) >= 11), `found ${recordCount(traces.deliveries)} of 11 trace records`)
  const after = Date.now()
  for (const d of traces.deliveries) {
    // Indexed by the traced messages' ids and keys: what queryMsgTraceById looks up.
    t.true(d.message.keys.some((key) => sent.some((s) => s.msgId === key)), `trace message keys ${d.message.keys.join(' ')}`)
  }
  const decoded = await decodeWithJava(traces.deliveries.map((d) => d.message.body))
  t.is(decoded.length, 11)
  const byType = (type: string) => decoded.filter((r) => r.traceType === type)

  const pubs = byType('Pub')
  t.is(pubs.length, 3)
  for (const result of sent) {
    const pub = pubs.find((p) => p.msgId === result.msgId)
    if (!pub) {
      t.fail(`no Pub record for ${result.msgId}`)
      continue
    }
    const timeStamp = Number(pub.timeStamp)
    t.true(timeStamp >= before && timeStamp <= after, `timeStamp ${pub.timeStamp}`)
    t.is(pub.regionId, 'DefaultRegion')
    t.is(pub.groupName, producerGroup)
    t.is(pub.topic, topic)
    t.is(pub.offsetMsgId, result.offsetMsgId)
    t.is(pub.storeHost, storeHostOf(result))
    t.true(Number(pub.costTime) >= 0)
    t.is(pub.success, 'true')
  }
  const pubOf = (r: SendResult) => pubs.find((p) => p.msgId === r.msgId)
  t.like(pubOf(plain), { tags: 'null', keys: 'null', bodyLength: '5', msgType: 'Normal_Msg' })
  t.like(pubOf(tagged), { tags: 'tagA', keys: 'k1 k2', bodyLength: String('tagged-body'.length), msgType: 'Normal_Msg' })
  t.like(pubOf(delayed), { msgType: 'Delay_Msg', bodyLength: '7' })

  const befores = byType('SubBefore')
  const afters = byType('SubAfter')
  t.is(befores.length, 4)
  t.is(afters.length, 4)
  for (const sb of befores) {
    // The SubAfter of a call shares its SubBefore's request id.
    const sa = afters.find((r) => r.requestId === sb.requestId && r.msgId === sb.msgId)
    if (!sa) {
      t.fail(`no SubAfter for the SubBefore of ${sb.msgId ?? ''} (request ${sb.requestId ?? ''})`)
      continue
    }
    const result = sent.find((s) => s.msgId === sb.msgId)
    t.truthy(result, `SubBefore of an unknown message ${sb.msgId ?? ''}`)
    t.is(sb.groupName, consumerGroup)
    t.is(sb.regionId, 'DefaultRegion')
    t.true(Number(sb.timeStamp) >= before && Number(sb.timeStamp) <= after)
    t.regex(sb.requestId ?? '', /^[0-9A-F]{32}$/)
    t.true(Number(sa.costTime) >= 0)
    t.true(Number(sa.timeStamp) >= Number(sb.timeStamp))
    t.is(sb.keys, result === tagged ? 'k1 k2' : 'null')
    t.is(sa.keys, sb.keys)
    // The first delivery of 'plain' failed (FAILED, 4), its retry and the others succeeded (SUCCESS, 0).
    const failedDelivery = result === plain && sb.retryTimes === '0'
    t.is(sa.success, failedDelivery ? 'false' : 'true')
    t.is(sa.contextCode, failedDelivery ? '4' : '0')
  }
  t.deepEqual(
    befores.filter((r) => r.msgId === plain.msgId).map((r) => r.retryTimes).sort(),
    ['0', '1'],
    'the retried delivery of plain says so',
  )
  t.deepEqual(
    befores.filter((r) => r.msgId !== plain.msgId).map((r) => r.retryTimes),
    ['0', '0'],
  )

  const producerTraces = producer.metrics().traces
  t.like(producerTraces, { recorded: 3, dropped: 0, sendFailures: 0 })
  t.like((await consumer.metrics()).traces, { recorded: 8, dropped: 0, sendFailures: 0 })

  // mqadmin finds the trace messages by the message id and shows the send and the consume.
  const shown = await mqadmin('queryMsgTraceById', ['-i', tagged.msgId, '-t', traceTopic])
  t.is(shown.status, 0, shown.stderr.slice(-2000))
  // Columns: type, group, client host, time (date and time), cost, status. Java's SubAfter record has no group.
  t.regex(shown.stdout, new RegExp(`^Pub\\s+${producerGroup}\\s+127\\.0\\.0\\.1\\S*\\s+\\S+ \\S+\\s+\\d+ms\\s+success`, 'm'))
  t.regex(shown.stdout, /^Sub\s+(\S+\s+)?127\.0\.0\.1\S*\s+\S+ \S+\s+\d+ms\s+success/m)
})

test('the trace topic must be a valid topic name', (t) => {
  t.throws(
    () => new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('trace_bad'), enableMessageTrace: true, customizedTraceTopic: 'my traces' }),
    { message: /customizedTraceTopic/ },
  )
})
