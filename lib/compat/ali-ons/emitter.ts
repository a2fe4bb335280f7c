/**
 * The event emitter of ali-ons' clients (sdk-base's contract): `ready()`, `await(event)`, and an `'error'` event
 * that is written to stderr when nobody listens, rather than thrown.
 *
 * @module
 */
import { EventEmitter, once } from 'node:events'

/** Base of the ali-ons producer and consumer. */
export class AliOnsEmitter extends EventEmitter {
  /**
   * Emits `'error'`; with no listener the error goes to stderr (an ali-ons client never throws from an event).
   *
   * @param error the failure
   */
  protected reportError(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error))
    if (this.listenerCount('error') === 0) {
      process.stderr.write(`[rocketmq-napi/ali-ons] ${failure.stack ?? failure.message}\n`)
    } else {
      this.emit('error', failure)
    }
  }

  /**
   * Resolves with the first argument of the next `event` (sdk-base's `await`); rejects on `'error'` when waiting
   * for another event.
   *
   * @param event the event's name
   */
  async await(event: string): Promise<unknown> {
    const [first] = await once(this, event)
    return first
  }
}
