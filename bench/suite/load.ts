/**
 * What the benchmark sends itself, with this project's Producer: fresh topics, the preload of a consumer workload
 * (many sends in flight) and the steady stream of a latency run (a fixed rate).
 *
 * Every body is JSON of exactly the workload's size carrying the message's number (`{"i":<n>,"p":"aaa…"}`), so the JSON variant
 * has something to parse and a client that cannot say a message's queue and offset tells messages apart by it.
 *
 * @module
 */
import { Admin, Producer } from '../../index'
import { integerFormat } from '../harness'

/** The tag every message carries. */
export const BENCH_TAG = 'bench'

/** Creates `topic` with `queues` queues on every master broker; returns the brokers. */
export async function createTopic(namesrv: string, topic: string, queues: number): Promise<string[]> {
  const admin = new Admin({ namesrvAddr: namesrv })
  try {
    return await admin.createTopic({ topic, queueNums: queues })
  } finally {
    await admin.close()
  }
}

/** Messages stored in `topic` (max minus min offset over its queues). */
export async function countStored(namesrv: string, topic: string): Promise<number> {
  const admin = new Admin({ namesrvAddr: namesrv })
  try {
    const route = await admin.getTopicRoute(topic)
    let total = 0
    for (const queueData of route.queueDatas) {
      for (let queueId = 0; queueId < queueData.readQueueNums; queueId += 1) {
        const [max, min] = await Promise.all([
          admin.getMaxOffset(topic, queueData.brokerName, queueId),
          admin.getMinOffset(topic, queueData.brokerName, queueId),
        ])
        total += max - min
      }
    }
    return total
  } finally {
    await admin.close()
  }
}

/** Bodies of one size, the padding built once. */
function bodyMaker(size: number): (index: number) => Buffer {
  const padding = 'a'.repeat(size)
  return (index) => {
    const head = `{"i":${index},"p":"`
    return Buffer.from(`${head}${padding.slice(0, Math.max(0, size - head.length - 2))}"}`, 'utf8')
  }
}

/** What a preload left. */
export interface Preloaded {
  topic: string
  bodySize: number
  /** Messages the brokers hold (what every run must see). */
  stored: number
  seconds: number
  failedSends: number
}

/**
 * Creates a fresh topic and sends `messages` bodies of `bodySize` bytes with `inflight` sends outstanding, then
 * waits until the brokers' consume queues show them all (they follow the commit log by a moment).
 */
export async function preload(namesrv: string, queues: number, bodySize: number, messages: number, inflight: number): Promise<Preloaded> {
  const topic = `BenchConsumer_${bodySize}B_${Date.now()}`
  await createTopic(namesrv, topic, queues)
  const producer = new Producer({ namesrvAddr: namesrv, producerGroup: `bench_preload_${process.pid}` })
  await producer.start()
  const body = bodyMaker(bodySize)
  let next = 0
  let failed = 0
  let firstError: string | undefined
  const step = Math.max(1, Math.floor(messages / 5))
  const start = process.hrtime.bigint()
  const worker = async (): Promise<void> => {
    while (next < messages) {
      const index = next
      next += 1
      if ((index + 1) % step === 0) {
        process.stdout.write(`  preload ${bodySize} B: ${integerFormat.format(index + 1)} of ${integerFormat.format(messages)} sent\n`)
      }
      try {
        const sent = await producer.send({ topic, body: body(index), tags: BENCH_TAG })
        if (sent.status !== 'SEND_OK') {
          failed += 1
        }
      } catch (error) {
        failed += 1
        firstError ??= error instanceof Error ? error.message : String(error)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(inflight, messages) }, worker))
  } finally {
    await producer.shutdown()
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (firstError !== undefined) {
    console.log(`  preload: ${failed} sends failed; first error: ${firstError}`)
  }
  let stored = await countStored(namesrv, topic)
  for (let attempt = 0; attempt < 50 && stored < messages - failed; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    stored = await countStored(namesrv, topic)
  }
  console.log(
    `preloaded ${topic}: ${integerFormat.format(stored)} × ${bodySize} B in ${seconds.toFixed(1)} s ` +
      `(${integerFormat.format(messages / seconds)} msgs/s, ${inflight} in flight)`,
  )
  return { topic, bodySize, stored, seconds, failedSends: failed }
}

/** A running steady sender. */
export interface SteadySender {
  /** Resolves when every send has settled, with how many failed. */
  done: Promise<{ sent: number; failed: number; lateMs: number }>
}

/**
 * Sends `total` bodies of `bodySize` bytes to `topic` at `rate` messages/s with `producer`, ticking every 5 ms and
 * sending what the schedule says is due (so a late tick catches up rather than lowering the rate). `lateMs` is how
 * far behind schedule the last send left, to show whether the sender itself kept the rate.
 */
export function sendSteadily(producer: Producer, topic: string, bodySize: number, rate: number, total: number): SteadySender {
  const body = bodyMaker(bodySize)
  const start = Date.now()
  let sent = 0
  let settled = 0
  let failed = 0
  let lateMs = 0
  const done = new Promise<{ sent: number; failed: number; lateMs: number }>((resolve) => {
    const settle = (): void => {
      settled += 1
      if (settled === total) {
        resolve({ sent, failed, lateMs })
      }
    }
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate))
      while (sent < due) {
        const index = sent
        sent += 1
        producer.send({ topic, body: body(index), tags: BENCH_TAG }).then(
          (result) => {
            if (result.status !== 'SEND_OK') {
              failed += 1
            }
            settle()
          },
          () => {
            failed += 1
            settle()
          },
        )
      }
      if (sent === total) {
        lateMs = Date.now() - start - (total / rate) * 1000
        clearInterval(timer)
      }
    }, 5)
  })
  return { done }
}
