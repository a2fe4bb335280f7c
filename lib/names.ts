/**
 * Topic and group names. The rules (the broker's: 1..127 or 1..255 characters of `[%|a-zA-Z0-9_-]`) are the
 * native engine's; these functions check the type and ask it, synchronously, so that callers can report a bad
 * name before anything else happens.
 *
 * @module
 */
import { ValidationError } from './errors'
import { nativeBinding } from './native'
import { fromNativeError } from './native-errors'

/** Longest topic name a broker accepts. Kept for documentation; a test checks it equals the engine's. */
export const TOPIC_MAX_LENGTH = 127

/** Longest group name a broker accepts. Kept for documentation; a test checks it equals the engine's. */
export const GROUP_MAX_LENGTH = 255

type ErrorClass = new (message: string) => Error

function checkName(field: string, value: unknown, check: (name: string) => void, errorClass: ErrorClass): string {
  if (typeof value !== 'string') {
    throw new errorClass(`${field} must be a string; got ${value === null ? 'null' : typeof value} ${String(value)}`)
  }
  try {
    check(value)
  } catch (error) {
    // The native error names the field, the value and the rule; callers choose the class it is raised as.
    const typed = fromNativeError(error, 'producer')
    throw errorClass === ValidationError ? typed : new errorClass(typed.message)
  }
  return value
}

/**
 * Checks a topic name and returns it.
 *
 * @param topic the name to check
 * @param errorClass the error to throw (defaults to ValidationError)
 */
export function validateTopic(topic: unknown, errorClass: ErrorClass = ValidationError): string {
  return checkName('topic', topic, (name) => nativeBinding().checkTopic(name), errorClass)
}

/**
 * Checks a producer or consumer group name and returns it.
 *
 * @param group the name to check
 * @param errorClass the error to throw (defaults to ValidationError)
 */
export function validateGroup(group: unknown, errorClass: ErrorClass = ValidationError): string {
  return checkName('group', group, (name) => nativeBinding().checkGroup('group', name), errorClass)
}
