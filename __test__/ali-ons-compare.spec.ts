/**
 * The original ali-ons package and `rocketmq-napi/ali-ons`, side by side on one topic: 20 messages sent by each
 * one's producer are consumed by each one's consumer (two groups, from the first offset), and both handlers see
 * the same 40 messages with the same fields. ali-ons runs in a process of its own
 * (fixtures/ali-ons/original-client.ts); it is the benchmark's dependency (`bench/package.json`, installed into
 * bench/node_modules with `npm install --prefix bench`), never the package's.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

import test from 'ava'

import { Admin } from '../index'
import { Consumer, Message, Producer } from '../lib/compat/ali-ons'
import { handlerFields } from './fixtures/ali-ons/compare-fields'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'

const root = join(__dirname, '..')
const ORIGINAL_CLIENT = join(__dirname, 'fixtures', 'ali-ons', 'original-client.ts')

/** Runs the original ali-ons client and parses the JSON line it prints. */
async function original(args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', ORIGINAL_CLIENT, ...args], { cwd: root, timeout: 120_000 })
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null')
}

test('ali-ons and rocketmq-napi/ali-ons deliver the same messages with the same fields', async (t) => {
  t.true(existsSync(join(root, 'bench', 'node_modules', 'ali-ons')), 'ali-ons is not installed under bench/node_modules: run npm install --prefix bench')
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'alions_compare')

  const theirIds = (await original(['send', NAMESRV_ADDR, topic, '20', uniqueName('alions_theirs')])) as string[]
  const producer = new Producer({ httpclient: {}, nameSrv: [NAMESRV_ADDR], producerGroup: uniqueName('alions_ours_p') })
  t.teardown(() => producer.close())
  const ourIds: string[] = []
  for (let i = 0; i < 20; i += 1) {
    const message = new Message(topic, i % 2 === 0 ? 'TagA' : 'TagB', `ours-${i}`)
    message.keys = [`k-${i}`, 'both']
    message.properties.origin = 'rocketmq-napi'
    ourIds.push((await producer.send(message)).msgId)
  }

  const consumer = new Consumer({
    httpclient: {},
    nameSrv: [NAMESRV_ADDR],
    consumerGroup: uniqueName('alions_ours_c'),
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  })
  t.teardown(() => consumer.close())
  const ours = new Map<string, Record<string, unknown>>()
  consumer.subscribe(topic, '*', async (message, queue) => {
    ours.set(message.body.toString(), handlerFields(message, queue))
  })
  const theirs = (await original(['consume', NAMESRV_ADDR, topic, '40', uniqueName('alions_theirs_c')])) as Record<string, Record<string, unknown>>
  t.true(await waitFor(() => ours.size === 40), `ours received ${ours.size} of 40`)

  t.deepEqual([...ours.keys()].sort(), Object.keys(theirs).sort())
  for (const [body, theirFields] of Object.entries(theirs)) {
    t.deepEqual(ours.get(body), theirFields, body)
  }
  // Both producers' send results name a message as both consumers do.
  t.deepEqual([...ours.values()].map((fields) => String(fields.msgId)).sort(), [...theirIds, ...ourIds].sort())
})
