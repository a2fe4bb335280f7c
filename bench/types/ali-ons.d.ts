/**
 * The slice of ali-ons' API the benchmark uses (the package ships no types). Checked against
 * ali-ons 3.12.0: lib/producer/mq_producer.js, lib/consumer/mq_push_consumer.js, lib/message/message.js
 * and lib/message/message_decoder.js.
 */
declare module 'ali-ons' {
  /** Producer options; `httpclient` is asserted by the constructor even when `nameSrv` is given. */
  export interface ProducerOptions {
    httpclient: object
    nameSrv: string[]
    producerGroup: string
    sendMsgTimeout?: number
    retryTimesWhenSendFailed?: number
  }

  /** What `send` resolves with. */
  export interface SendResult {
    sendStatus: 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE'
    msgId: string
    messageQueue: { topic: string; brokerName: string; queueId: number }
    queueOffset: number
  }

  /** A message; `keys` is set from an array and stored space-joined. */
  export class Message {
    constructor(topic: string, tags: string, body: Buffer | string)
    topic: string
    tags: string
    set keys(value: string[])
    get keys(): string
    body: Buffer
  }

  /** The producer; `ready()` resolves once it is started. */
  export class Producer {
    constructor(options: ProducerOptions)
    ready(): Promise<void>
    send(message: Message): Promise<SendResult>
    close(): Promise<void>
  }

  /**
   * Consumer options. A new group starts where `consumeFromWhere` says: with
   * `CONSUME_FROM_FIRST_OFFSET` a queue for which the broker has no committed offset (QUERY_NOT_FOUND,
   * reported as an `error` event) starts at offset 0; the default, `CONSUME_FROM_LAST_OFFSET`, starts
   * at the queue's max offset and would skip a preloaded backlog.
   */
  export interface ConsumerOptions {
    httpclient: object
    nameSrv: string[]
    consumerGroup: string
    consumeFromWhere?: 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP'
    pullBatchSize?: number
    parallelConsumeLimit?: number
    pullThresholdForQueue?: number
    persistConsumerOffsetInterval?: number
  }

  /** The queue a consumed message came from (the handler's second argument). */
  export interface MessageQueue {
    topic: string
    brokerName: string
    queueId: number
  }

  /** A consumed message as ali-ons decodes it; offsets are plain numbers. */
  export interface MessageExt {
    topic: string
    tags: string
    body: Buffer
    msgId: string
    queueId: number
    queueOffset: number
    reconsumeTimes: number
    /** When the producer sent it, ms since the epoch. */
    bornTimestamp: number
  }

  /**
   * The push consumer. The constructor starts it; `ready()` resolves once it is started. A handler
   * must be an `async function` (asserted); for messages of the group's retry topic it is called
   * without the queue.
   */
  export class Consumer {
    constructor(options: ConsumerOptions)
    ready(): Promise<void>
    subscribe(topic: string, subExpression: string, handler: (message: MessageExt, queue?: MessageQueue) => Promise<unknown>): void
    on(event: 'error', listener: (error: Error) => void): this
    close(): Promise<void>
  }
}
