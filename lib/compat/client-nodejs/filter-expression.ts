/**
 * rocketmq-client-nodejs' `FilterExpression` and `FilterType`: which messages of a topic a consumer takes.
 *
 * @module
 */
import { MessageSelector } from '../../selector'

/** How a {@link FilterExpression} is read (rocketmq-client-nodejs' protobuf enum, numbers included). */
export const FilterType = {
  /** Unset; read as TAG. */
  FILTER_TYPE_UNSPECIFIED: 0,
  /** A tag expression: `*`, `a`, `a || b`. */
  TAG: 1,
  /** A SQL92 expression over the message's properties (brokers need `enablePropertyFilter=true`). */
  SQL: 2,
  /** Another name of {@link FilterType.SQL}, as rocketmq-client-nodejs' examples spell it. */
  SQL92: 2,
} as const

/** One of the {@link FilterType} values. */
export type FilterType = (typeof FilterType)[keyof typeof FilterType]

const SUB_ALL_EXPRESSION = '*'

/** A consumer's filter for one topic: an expression and its type (TAG by default). */
export class FilterExpression {
  /** Every message of the topic. */
  static readonly SUB_ALL: FilterExpression = new FilterExpression(SUB_ALL_EXPRESSION)

  /** The expression. */
  readonly expression: string
  /** How it is read. */
  readonly filterType: FilterType

  /**
   * @param expression a tag expression (`'*'`, `'a || b'`) or, with {@link FilterType.SQL}, a SQL92 expression
   * @param filterType default TAG
   */
  constructor(expression: string, filterType: FilterType = FilterType.TAG) {
    this.expression = expression
    this.filterType = filterType
  }

  /**
   * Whether `other` has the same expression and type.
   *
   * @param other another filter
   */
  equals(other: FilterExpression): boolean {
    return other !== undefined && other !== null && this.expression === other.expression && this.filterType === other.filterType
  }

  /** `FilterExpression(<type number>,<expression>)`, as rocketmq-client-nodejs prints it. */
  toString(): string {
    return `FilterExpression(${this.filterType},${this.expression})`
  }

  /** `'TAG'` or `'SQL92'`, the expression type the brokers take. */
  get expressionType(): 'TAG' | 'SQL92' {
    return this.filterType === FilterType.SQL ? 'SQL92' : 'TAG'
  }

  /** The selector of this package's consumer for this filter. */
  toSelector(): MessageSelector {
    return this.filterType === FilterType.SQL ? MessageSelector.bySql(this.expression) : MessageSelector.byTag(this.expression)
  }
}
