/**
 * Validation of topic and group names, with the rules the RocketMQ broker applies.
 *
 * @module
 */
import { ValidationError } from './errors'

/** Characters RocketMQ allows in topic and group names. */
const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/

/** Longest topic name a broker accepts. */
export const TOPIC_MAX_LENGTH = 127

/** Longest group name a broker accepts. */
export const GROUP_MAX_LENGTH = 255

function checkName(kind: string, value: unknown, maxLength: number, errorClass: new (message: string) => Error): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new errorClass(`${kind} must be a non-empty string; got ${JSON.stringify(value)}`)
  }
  if (value.length > maxLength) {
    throw new errorClass(`${kind} is longer than ${maxLength} characters: ${value.length}`)
  }
  if (!NAME_PATTERN.test(value)) {
    throw new errorClass(`${kind} ${JSON.stringify(value)} may contain only letters, digits, '%', '|', '_' and '-'`)
  }
  return value
}

/**
 * Checks a topic name and returns it.
 *
 * @param topic the name to check
 * @param errorClass the error to throw (defaults to ValidationError)
 */
export function validateTopic(topic: unknown, errorClass: new (message: string) => Error = ValidationError): string {
  return checkName('topic', topic, TOPIC_MAX_LENGTH, errorClass)
}

/**
 * Checks a producer or consumer group name and returns it.
 *
 * @param group the name to check
 * @param errorClass the error to throw (defaults to ValidationError)
 */
export function validateGroup(group: unknown, errorClass: new (message: string) => Error = ValidationError): string {
  return checkName('group', group, GROUP_MAX_LENGTH, errorClass)
}
