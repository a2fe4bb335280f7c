/**
 * Shared helpers of the end-to-end specs: the local cluster's address, unique names, and offset sums.
 */
import { randomBytes } from 'node:crypto'

import { Admin } from '../../index'

/** NameServer of the local cluster started by `npm run rocketmq:start`. */
export const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'

/** The two master brokers of the local cluster. */
export const BROKERS = ['broker-a', 'broker-b'] as const

/** Listen ports of broker-a and broker-b, as `scripts/rocketmq/start.sh` was told (same env vars, same defaults). */
export const BROKER_PORTS = [
  Number(process.env.ROCKETMQ_BROKER_A_PORT ?? 10911),
  Number(process.env.ROCKETMQ_BROKER_B_PORT ?? 10921),
] as const

/** Queues per broker of every topic the specs create. */
export const QUEUES_PER_BROKER = 8

/**
 * A topic or group name no other test (or earlier run) uses.
 *
 * @param prefix what the name is for
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

/** Queue key used in offset maps: `broker-a/3`. */
export function queueKey(brokerName: string, queueId: number): string {
  return `${brokerName}/${queueId}`
}

/**
 * Max offset of every queue of a topic on the local brokers.
 *
 * @param admin admin client
 * @param topic topic name
 */
export async function maxOffsets(admin: Admin, topic: string): Promise<Map<string, number>> {
  const offsets = new Map<string, number>()
  for (const broker of BROKERS) {
    const perQueue = await Promise.all(
      Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => admin.getMaxOffset(topic, broker, queueId)),
    )
    perQueue.forEach((offset, queueId) => offsets.set(queueKey(broker, queueId), offset))
  }
  return offsets
}

/**
 * Sum of the max offsets of one broker's queues.
 *
 * @param offsets result of {@link maxOffsets}
 * @param broker broker name
 */
export function brokerTotal(offsets: ReadonlyMap<string, number>, broker: string): number {
  let total = 0
  for (const [key, offset] of offsets) {
    if (key.startsWith(`${broker}/`)) {
      total += offset
    }
  }
  return total
}

/**
 * Creates a topic with {@link QUEUES_PER_BROKER} queues on every broker.
 *
 * @param admin admin client
 * @param prefix prefix of the unique topic name
 */
export async function createTestTopic(admin: Admin, prefix: string): Promise<string> {
  const topic = uniqueName(prefix)
  await admin.createTopic({ topic, queueNums: QUEUES_PER_BROKER })
  return topic
}

/**
 * Runs `task` for 0..count-1 with at most `concurrency` runs in flight; results keep their index.
 *
 * @param count number of runs
 * @param concurrency most runs in flight at once
 * @param task the work for one index
 */
export async function runPipelined<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next
      next += 1
      results[index] = await task(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return results
}

/**
 * Max offsets once the brokers have indexed `expectedGrowth` new messages since `before`.
 *
 * A broker answers a send once the message is in its commit log; the consume queue that max offsets
 * are read from is written a moment later by a background dispatcher. So poll until the growth is
 * there (or stop after a while and return the last reading, letting the caller's assertion fail).
 *
 * @param admin admin client
 * @param topic topic name
 * @param before offsets read before sending
 * @param expectedGrowth number of messages sent since
 */
export async function maxOffsetsAfter(
  admin: Admin,
  topic: string,
  before: ReadonlyMap<string, number>,
  expectedGrowth: number,
): Promise<Map<string, number>> {
  // A bound on a hang, not a timing assertion: a broker loaded by the rest of the suite has trailed by seconds.
  const deadline = Date.now() + 30_000
  let offsets = await maxOffsets(admin, topic)
  while (totalGrowth(before, offsets) < expectedGrowth && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    offsets = await maxOffsets(admin, topic)
  }
  return offsets
}

/**
 * Sum over all queues of how much each grew from `before` to `after`.
 *
 * @param before earlier offsets
 * @param after later offsets
 */
export function totalGrowth(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  let growth = 0
  for (const [key, offset] of after) {
    growth += offset - (before.get(key) ?? 0)
  }
  return growth
}
