/**
 * Producing many messages fast for the consumer fault specs: chunks of sends all in flight at once
 * (Promise.all over a chunk), and a background flow that keeps producing until told to stop.
 */
import type { Producer, SendResult } from '../../index'

/** What a bulk send stored, and how many sends failed for good (after the producer's own retries). */
export interface Sent {
  /** Results of the stored messages. */
  results: SendResult[]
  /** Sends that failed. */
  failed: number
  /** The first failure, for logs. */
  firstError?: unknown
}

/**
 * Sends `count` messages to `topic` with bodies `<prefix>-<index>`, `chunk` sends in flight at a time.
 * A send that fails is counted, not thrown: a spec that stops a broker expects some.
 */
export async function sendInChunks(producer: Producer, topic: string, count: number, prefix: string, chunk = 1000): Promise<Sent> {
  const sent: Sent = { results: [], failed: 0 }
  for (let start = 0; start < count; start += chunk) {
    const size = Math.min(chunk, count - start)
    const settled = await Promise.allSettled(
      Array.from({ length: size }, (_, i) => producer.send({ topic, body: `${prefix}-${start + i}` })),
    )
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') {
        sent.results.push(outcome.value)
      } else {
        sent.failed += 1
        sent.firstError ??= outcome.reason
      }
    }
  }
  return sent
}

/** A producer flow running in the background: a chunk, a short pause, again, until stopped. */
export class BackgroundFlow {
  readonly sent: Sent = { results: [], failed: 0 }
  #stopped = false
  readonly #done: Promise<void>

  /**
   * @param producer a started producer
   * @param topic where to send
   * @param prefix body prefix
   * @param chunk sends in flight at a time
   * @param pauseMs pause between chunks, so the flow lasts through the events a spec stages meanwhile
   */
  constructor(producer: Producer, topic: string, prefix: string, chunk = 500, pauseMs = 100) {
    this.#done = (async () => {
      for (let round = 0; !this.#stopped; round += 1) {
        const part = await sendInChunks(producer, topic, chunk, `${prefix}-${round}`, chunk)
        this.sent.results.push(...part.results)
        this.sent.failed += part.failed
        this.sent.firstError ??= part.firstError
        await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    })()
  }

  /** How many messages were stored so far. */
  get stored(): number {
    return this.sent.results.length
  }

  /** Stops after the chunk in flight; resolves with everything sent. */
  async stop(): Promise<Sent> {
    this.#stopped = true
    await this.#done
    return this.sent
  }
}
