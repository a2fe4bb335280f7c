/**
 * The slice of ali-ons' API the benchmark uses (the package ships no types). Checked against
 * ali-ons 3.12.0: lib/producer/mq_producer.js and lib/message/message.js.
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
}
