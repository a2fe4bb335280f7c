/**
 * ali-ons' `Producer` over this package's {@link EngineProducer}.
 *
 * @module
 */
import { Producer as EngineProducer } from '../../producer'
import type { SendStatus } from '../../message'
import { AliOnsEmitter } from './emitter'
import { Message, toEngineMessage } from './message'
import { type AliOnsProducerOptions, toProducerConfig } from './options'

/** A queue: one queue of a topic on one broker. */
export interface AliOnsMessageQueue {
  /** The topic. */
  topic: string
  /** The broker holding the queue. */
  brokerName: string
  /** The queue's number on that broker. */
  queueId: number
}

/** What `send()` resolves with (ali-ons' shape). */
export interface AliOnsSendResult {
  /** The broker's verdict; anything but SEND_OK still means the message was stored. */
  sendStatus: SendStatus
  /** The broker's id of the stored message (store host and commit-log offset), as ali-ons'. */
  msgId: string
  /** The queue it went to. */
  messageQueue: AliOnsMessageQueue
  /** Its offset in that queue. */
  queueOffset: number
}

/**
 * ali-ons' producer: starts when made; `ready()` resolves once started; `send(message)`; `close()`.
 *
 * ```ts
 * const producer = new Producer({ nameSrv: ['127.0.0.1:9876'], producerGroup: 'orders_producer' })
 * const result = await producer.send(new Message('orders', 'created', JSON.stringify(order)))
 * ```
 */
export class Producer extends AliOnsEmitter {
  readonly #engine: EngineProducer
  readonly #started: Promise<void>
  #closed: Promise<void> | undefined

  /**
   * @param options ali-ons' producer options
   * @throws ConfigError naming an option that is refused, unknown or invalid
   */
  constructor(options: AliOnsProducerOptions = {}) {
    super()
    this.#engine = new EngineProducer(toProducerConfig(options))
    this.#started = this.#engine.start()
    // A start failure is reported as 'error' (and by ready() and send()), never as an unhandled rejection.
    this.#started.catch((error: unknown) => this.reportError(error))
  }

  /**
   * Resolves once the producer is started; rejects when it could not start.
   *
   * @param callback called with the outcome instead, when given
   */
  ready(callback?: (error?: Error) => void): Promise<void> {
    if (callback !== undefined) {
      this.#started.then(() => callback(), (error: Error) => callback(error))
    }
    return this.#started
  }

  /**
   * Sends a message; resolves once a broker stored it.
   *
   * @param message an ali-ons {@link Message}
   * @throws ValidationError for a message the engine refuses (naming the field), MessageSendError and its kin when
   *   every attempt failed
   */
  async send(message: Message): Promise<AliOnsSendResult> {
    await this.#started
    const result = await this.#engine.send(toEngineMessage(message))
    return {
      sendStatus: result.status,
      msgId: result.offsetMsgId,
      messageQueue: { topic: result.topic, brokerName: result.brokerName, queueId: result.queueId },
      queueOffset: result.queueOffset,
    }
  }

  /** Stops the producer once its sends in flight settled; lets the process exit. Calling it again is harmless. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const started = await this.#started.then(
        () => true,
        () => false,
      )
      if (started) {
        await this.#engine.shutdown()
      }
      this.removeAllListeners()
    })()
    return this.#closed
  }
}
