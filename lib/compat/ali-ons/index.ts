/**
 * `rocketmq-napi/ali-ons`: the API of the pure-JavaScript client ali-ons (`Producer`, `Consumer`, `Message`) over
 * this package's Rust engine. Change `require('ali-ons')` to `require('rocketmq-napi/ali-ons')`; options this
 * engine cannot honour are refused with a ConfigError naming them. See "Migrating from ali-ons" in the README.
 *
 * @module rocketmq-napi/ali-ons
 */
export { Consumer } from './consumer'
export type { AliOnsHandler, AliOnsSubscriptionExpression } from './consumer'
export { Message } from './message'
export { Producer } from './producer'
export type { AliOnsMessageQueue, AliOnsSendResult } from './producer'
export type { AliOnsClientOptions, AliOnsConsumeFromWhere, AliOnsConsumerOptions, AliOnsProducerOptions } from './options'
