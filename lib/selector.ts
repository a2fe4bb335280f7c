/**
 * Message selectors: which messages of a topic a subscription receives.
 *
 * @module
 */
import { InvalidSelectorError } from './errors'

/** The kinds of expression a broker filters by. */
export const ExpressionType = {
  /** Tags: `*` (all), `a`, or `a || b || c`. */
  TAG: 'TAG',
  /** SQL92 over message properties, e.g. `amount > 100 AND region = 'eu'` (brokers need `enablePropertyFilter=true`). */
  SQL92: 'SQL92',
} as const

/** One of the {@link ExpressionType} values. */
export type ExpressionType = (typeof ExpressionType)[keyof typeof ExpressionType]

/** Tag expressions are `||`-separated tags; a tag is anything but these characters. */
const TAG_FORBIDDEN = /[|*?\u0001\u0002]/

/**
 * What a subscription selects: a TAG or a SQL92 expression.
 *
 * ```ts
 * MessageSelector.byTag('created || paid')
 * MessageSelector.bySql("amount > 100")
 * ```
 *
 * Tag expressions are exact tags; wildcards such as `order_*` are not RocketMQ tag syntax and are refused with
 * {@link InvalidSelectorError} (use several tags, or SQL92 over a property). A SQL92 expression is checked by
 * the brokers when the consumer starts; a bad one fails `start()` with InvalidSelectorError.
 */
export class MessageSelector {
  /** The expression kind. */
  readonly type: ExpressionType
  /** The expression, normalised (tags trimmed, `*` for all). */
  readonly expression: string

  /**
   * @param type 'TAG' or 'SQL92'
   * @param expression the expression; for TAG, empty or `*` selects every message
   * @throws InvalidSelectorError when the type is unknown or the expression cannot be one
   */
  constructor(type: ExpressionType, expression: string) {
    if (type !== ExpressionType.TAG && type !== ExpressionType.SQL92) {
      throw new InvalidSelectorError(`selector type must be 'TAG' or 'SQL92'; got ${JSON.stringify(type)}`)
    }
    if (typeof expression !== 'string') {
      throw new InvalidSelectorError(`selector expression must be a string; got ${typeof expression}`)
    }
    this.type = type
    this.expression = type === ExpressionType.TAG ? normaliseTags(expression) : normaliseSql(expression)
  }

  /** Every message of the topic. */
  static all(): MessageSelector {
    return new MessageSelector(ExpressionType.TAG, '*')
  }

  /**
   * Messages whose tag is one of those listed.
   *
   * @param expression `*`, `a` or `a || b`
   */
  static byTag(expression: string): MessageSelector {
    return new MessageSelector(ExpressionType.TAG, expression)
  }

  /**
   * Messages whose properties match a SQL92 expression.
   *
   * @param expression e.g. `amount > 100`
   */
  static bySql(expression: string): MessageSelector {
    return new MessageSelector(ExpressionType.SQL92, expression)
  }

  /** `TAG:a || b`, for messages and logs. */
  toString(): string {
    return `${this.type}:${this.expression}`
  }
}

function normaliseTags(expression: string): string {
  const trimmed = expression.trim()
  if (trimmed === '' || trimmed === '*') {
    return '*'
  }
  const tags = trimmed.split('||').map((tag) => tag.trim())
  for (const tag of tags) {
    if (tag === '') {
      throw new InvalidSelectorError(`tag expression ${JSON.stringify(expression)} has an empty tag`)
    }
    if (TAG_FORBIDDEN.test(tag)) {
      throw new InvalidSelectorError(
        `tag ${JSON.stringify(tag)} in ${JSON.stringify(expression)}: tags are matched exactly; wildcards and '|' are not tag syntax`,
      )
    }
  }
  return tags.join(' || ')
}

function normaliseSql(expression: string): string {
  const trimmed = expression.trim()
  if (trimmed === '') {
    throw new InvalidSelectorError('a SQL92 selector needs an expression')
  }
  return trimmed
}
