/**
 * `rocketmq-napi/client-nodejs`: the API of the official rocketmq-client-nodejs (`Producer`, `PushConsumer`,
 * `SimpleConsumer`, `MessageView`, `FilterExpression`, `ConsumeResult`, its exceptions) over this package's Rust
 * engine, speaking the brokers' own protocol: no RocketMQ 5 proxy is needed, and `endpoints` names the NameServers.
 * Change `from 'rocketmq-client-nodejs'` to `from 'rocketmq-napi/client-nodejs'`; options this engine cannot honour
 * are refused with a ConfigError naming them. See "Migrating from ali-ons / rocketmq-client-nodejs" in the README.
 *
 * @module rocketmq-napi/client-nodejs
 */
export { ConsumeResult, ConsumeResultSuspend } from './consume-result'
export {
  BadRequestException,
  ClientException,
  Code,
  ForbiddenException,
  InternalErrorException,
  NotFoundException,
  PayloadTooLargeException,
  PaymentRequiredException,
  ProxyTimeoutException,
  RequestHeaderFieldsTooLargeException,
  TooManyRequestsException,
  UnauthorizedException,
  UnsupportedException,
} from './errors'
export { FilterExpression, FilterType } from './filter-expression'
export { MessageView } from './message-view'
export type { MessageEndpoints } from './message-view'
export type { BaseClientOptions, SessionCredentials } from './options'
export { Producer, SendReceipt } from './producer'
export type { MessageOptions, ProducerOptions, ReceiptMessageQueue, RecallReceipt } from './producer'
export { PushConsumer } from './push-consumer'
export type { MessageListener, PushConsumerOptions } from './push-consumer'
export { SimpleConsumer } from './simple-consumer'
export type { SimpleConsumerOptions } from './simple-consumer'
