/**
 * Consumer configuration: a basic configuration, the settings a production deployment tunes, and what happens to
 * a setting this engine cannot honour. No broker needed.
 *
 *   npx tsx examples/consumer-config.ts
 *
 * Every setting has the Java client's default; `createConsumerConfig` checks them all at once and returns a frozen
 * configuration. A value out of range, or a setting the engine does not honour, is a ConfigError naming the
 * setting, the value and the rule.
 */
import { ConfigError, type ConsumerConfig, MessageModel, createConsumerConfig } from '../index'

function main(): void {
  // Basic: the group, the NameServer list (default: the NAMESRV_ADDR environment variable) and the model.
  const base: ConsumerConfig = {
    consumerGroup: 'test_group',
    namesrvAddr: '127.0.0.1:9876',
    messageModel: MessageModel.CLUSTERING,
  }
  const config = createConsumerConfig({
    ...base,
    consumeThreadNum: 20,
    consumeMessageBatchMaxSize: 1,
    pullBatchSize: 32,
    autoCommitInterval: 5000, // the seed's name of persistConsumerOffsetInterval
  })
  console.log(`basic: ${config.consumerGroup} ${config.messageModel}, ${config.consumeThreadNum} listener calls at once`)

  // Production tuning.
  const production = createConsumerConfig({
    consumerGroup: 'prod_consumer_group',
    namesrvAddr: '10.0.0.1:9876;10.0.0.2:9876',
    messageModel: MessageModel.CLUSTERING,
    // Performance.
    consumeThreadNum: 50,
    consumeMessageBatchMaxSize: 5,
    pullBatchSize: 64,
    // Memory: messages (and MiB of bodies) held before pulls pause, for the whole consumer and per topic.
    pullThresholdForAll: 50000,
    pullThresholdSizeForAll: 100,
    pullThresholdForTopic: 5000,
    pullThresholdSizeForTopic: 100,
    // Network: a long-polling pull's timeout must exceed how long the broker holds it.
    brokerSuspendMaxTimeMillis: 15000,
    consumerTimeoutMillisWhenSuspend: 30000,
    consumerTimeoutMillisSendMessage: 3000,
    consumerTimeoutMillisOfRequest: 20000,
    // Flow control: the offset span a queue may hold, and the pause before a held-back queue looks again.
    consumeConcurrentlyMaxSpan: 2000,
    flowControlInterval: 20,
    // Offsets: written to the brokers every second, a failed write tried three more times at once.
    persistConsumerOffsetInterval: 1000,
    offsetStoreRetryTimes: 3,
    // What the consumer sends itself (a failed message it cannot hand back goes to the retry topic).
    enableMessageCompression: true,
    compressMsgBodyOverHowmuch: 4096,
    retryTimesWhenSendAsyncFailed: 2,
    // Observability: SubBefore / SubAfter trace records in the Java client's format (default topic RMQ_SYS_TRACE_TOPIC).
    enableMessageTrace: true,
  })
  console.log(
    `production: ${production.consumeThreadNum} calls, batches of ${production.consumeMessageBatchMaxSize}, ` +
      `pulls of ${production.pullBatchSize}, at most ${production.pullThresholdForAll} messages held`,
  )

  // Settings refused by name: a trace topic that is no topic name, a pull timeout shorter than the broker's hold, and
  // two aliases that contradict each other.
  const refused: Array<[string, Partial<ConsumerConfig>]> = [
    ['customizedTraceTopic', { enableMessageTrace: true, customizedTraceTopic: 'my traces' }],
    ['consumerTimeoutMillisWhenSuspend', { consumerTimeoutMillisWhenSuspend: 1000 }],
    ['flowControlMaxDiff', { consumeConcurrentlyMaxSpan: 2000, flowControlMaxDiff: 10000 }],
    ['consumeThreadNum', { consumeThreadNum: 0 }],
  ]
  for (const [name, settings] of refused) {
    try {
      createConsumerConfig({ ...base, ...settings })
      console.log(`${name}: accepted`)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      console.log(`${name}: refused (${error.code}): ${error.message}`)
    }
  }
}

main()
