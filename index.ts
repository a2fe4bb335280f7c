/**
 * rocketmq-napi: an Apache RocketMQ client for Node.js. The protocol engine runs in Rust (tokio) and is
 * loaded through napi-rs; this module is the typed public API.
 *
 * @module rocketmq-napi
 */
export { Admin, Perm } from './lib/admin'
export type { BrokerData, CreateTopicOptions, ProducerConnection, QueueData, TopicRoute } from './lib/admin'
export { NAMESRV_ADDR_ENV, PRODUCER_DEFAULTS } from './lib/config'
export type { AdminConfig, ProducerConfig } from './lib/config'
export type { CredentialSettings, ResolvedCredentials } from './lib/credentials'
export type { Pem, ResolvedTls, TlsOptions, TlsSettings } from './lib/tls'
export * from './lib/errors'
export { LOG_LEVELS, DEFAULT_LOGGER, setLogger } from './lib/logger'
export type { LogLevel, LogRecord, LogSink, Logger } from './lib/logger'
export { MAX_DELAY_LEVEL, SendStatus } from './lib/message'
export type { Message, MessageView, SendResult } from './lib/message'
export { NATIVE_PATH_ENV, detectPlatform, loadNativeBinding, platformTriple } from './lib/native'
export type { LoadNativeOptions, PlatformInfo } from './lib/native'
export { Producer } from './lib/producer'
export type { ProducerStartOptions } from './lib/producer'
export type {
  MessageQueueSelector,
  QueueRef,
  QueueSendOptions,
  SelectorSendOptions,
  SendBatchOptions,
  SendOptions,
} from './lib/ordered-send'
export { Consumer } from './lib/consumer'
export type {
  ConsumerEvents,
  ConsumerOptions,
  ConsumerStats,
  ConsumeTask,
  OffsetStoreMetrics,
  ShutdownOptions,
  StartOptions,
} from './lib/consumer'
export { ConsumedMessage } from './lib/consumed-message'
export { latencyBoundsSeconds } from './lib/metrics'
export type {
  ConsumerMetrics,
  LatencyHistogram,
  MessageOutcomes,
  MetricsSources,
  ProducerMetrics,
  QueueMetrics,
  TraceMetrics,
} from './lib/metrics'
export { registerPrometheusMetrics } from './lib/metrics-prometheus'
export type {
  PrometheusMetric,
  PrometheusRegistration,
  PrometheusRegistry,
  PrometheusSample,
} from './lib/metrics-prometheus'
export { registerOpenTelemetryMetrics } from './lib/metrics-opentelemetry'
export type {
  OpenTelemetryRegistration,
  OtelAttributes,
  OtelBatchObservableResult,
  OtelHistogram,
  OtelInstrumentOptions,
  OtelMeter,
  OtelObservable,
} from './lib/metrics-opentelemetry'
export {
  CLIENT_NAME_ENV,
  CONSUMER_DEFAULTS,
  ConsumeFromWhere,
  MessageModel,
  OFFSET_STORE_DIR_ENV,
  createConsumerConfig,
} from './lib/consumer-config'
export type { AllocateStrategy, ConsumerConfig, MessageQueue, ResolvedConsumerConfig } from './lib/consumer-config'
export type { ListenerErrorHandler } from './lib/consume-dispatch'
export {
  ConsumeResult,
  MessageListener,
  MessageListenerConcurrently,
  MessageListenerOrderly,
  SimpleMessageListener,
} from './lib/listener'
export type {
  ConcurrentListener,
  ConsumeConcurrentlyContext,
  ConsumeFunction,
  ConsumeMessageContext,
  ConsumeOrderlyContext,
  ConsumeVerdict,
  MessageHandler,
} from './lib/listener'
export {
  ConsumerOffsetStore,
  LocalOffsetStore,
  NativeBackedOffsetStore,
  OffsetStore,
  ReadOffsetType,
  RemoteOffsetStore,
  StandaloneOffsetStore,
} from './lib/offset-store'
export type { OffsetStoreState, QueueOffset } from './lib/offset-store'
export {
  OffsetStoreFactory,
  OffsetStoreManager,
  closeAllOffsetStores,
  closeOffsetStore,
  createOffsetStore,
  getOffsetStoreManager,
  getOffsetStoreMetrics,
  validateOffsetStoreConfig,
} from './lib/offset-store-factory'
export type { AnyOffsetStore, ManagedOffsetStoreInfo, OffsetStoreFor, OffsetStoreOptions } from './lib/offset-store-factory'
export { ExpressionType, MessageSelector, SUB_ALL, tagHash } from './lib/selector'
export type { SelectorTypeName, TagFilter } from './lib/selector'
export { DEFAULT_MAX_SUBSCRIPTIONS, SUBSCRIPTIONS_EXPORT_VERSION, SubscriptionManager } from './lib/subscription-manager'
export type {
  ExportedSubscription,
  ImportSubscriptionsOptions,
  Subscription,
  SubscriptionData,
  SubscriptionManagerOptions,
  SubscriptionsExport,
} from './lib/subscription-manager'
