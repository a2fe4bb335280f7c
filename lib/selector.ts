/**
 * Message selectors: which messages of a topic a subscription receives.
 *
 * Tag expressions may hold glob patterns (`order_*`, `v?`). Brokers match tags exactly (by their hash code),
 * so a subscription with a pattern asks the brokers for every message of the topic (`*`) and the consumer
 * filters on the client: a message whose tag matches none of the expression's tags or patterns is
 * acknowledged without reaching the listener (see `Consumer.stats().messagesFilteredOut`). Such a
 * subscription costs the bandwidth of the whole topic; prefer exact tags when they will do.
 *
 * @module
 */
import { InvalidSelectorError } from './errors'

/** The kinds of expression a broker filters by. */
export const ExpressionType = {
  /** Tags: `*` (all), `a`, `a || b || c`, or glob patterns such as `order_*` (filtered on the client). */
  TAG: 'TAG',
  /** SQL92 over message properties, e.g. `amount > 100 AND region = 'eu'` (brokers need `enablePropertyFilter=true`). */
  SQL92: 'SQL92',
} as const

/** One of the {@link ExpressionType} values. */
export type ExpressionType = (typeof ExpressionType)[keyof typeof ExpressionType]

/**
 * What the {@link MessageSelector} constructor accepts as a type: an {@link ExpressionType}, or the seed's
 * lower-case spellings `'tag'` (TAG) and `'sql'` / `'sql92'` (SQL92).
 */
export type SelectorTypeName = ExpressionType | 'tag' | 'sql' | 'sql92'

const TYPE_NAMES: ReadonlyMap<string, ExpressionType> = new Map<string, ExpressionType>([
  ['TAG', ExpressionType.TAG],
  ['tag', ExpressionType.TAG],
  ['SQL92', ExpressionType.SQL92],
  ['sql92', ExpressionType.SQL92],
  ['sql', ExpressionType.SQL92],
])

/** The expression that selects every message. */
export const SUB_ALL = '*'

/** A tag may not hold `|` (the list separator) nor the property separators of the wire format. */
const TAG_FORBIDDEN = /[|\u0001\u0002]/
/** What makes a tag a glob pattern. */
const GLOB_CHARACTERS = /[*?]/
/** Characters with a meaning in a regular expression (u mode) that a literal tag character must escape. */
const REGEXP_SYNTAX = /[\\^$.+()[\]{}|/]/g

/**
 * Java's `String.hashCode()` of a tag: `h = 31 * h + unit` over its UTF-16 code units, wrapping at 32 bits
 * (`'TagA'` → 2598919). This is the code a TAG subscription's `codeSet` carries and brokers filter on; the
 * engine's `tag_hash` computes the same.
 *
 * @param tag the tag
 */
export function tagHash(tag: string): number {
  let hash = 0
  for (let i = 0; i < tag.length; i += 1) {
    // Math.imul multiplies as 32-bit integers; `| 0` wraps the sum.
    hash = (Math.imul(hash, 31) + tag.charCodeAt(i)) | 0
  }
  return hash
}

/** Whether a tag, as written in a selector, is a glob pattern. */
export function isTagPattern(tag: string): boolean {
  return GLOB_CHARACTERS.test(tag)
}

/** A tag glob as a regular expression: `*` any run of characters (none included), `?` one character. */
function globToRegExpSource(pattern: string): string {
  let source = ''
  for (const char of pattern) {
    if (char === '*') {
      source += '.*'
    } else if (char === '?') {
      source += '.'
    } else {
      source += char.replace(REGEXP_SYNTAX, '\\$&')
    }
  }
  return source
}

/** Decides whether a message's tag is selected. */
export type TagFilter = (tag: string | undefined) => boolean

/**
 * What a subscription selects: a TAG or a SQL92 expression.
 *
 * ```ts
 * MessageSelector.byTag('created || paid')
 * MessageSelector.byTag('order_*')             // glob: filtered on the client, see below
 * MessageSelector.bySql("amount > 100")
 * new MessageSelector('tag', 'order_*')        // the seed's spelling
 * ```
 *
 * A tag expression is `*` (every message) or tags separated by `||`. A tag holding `*` (any run of
 * characters) or `?` (one character) is a glob pattern; an expression with a pattern is sent to the brokers as
 * `*` and filtered by the consumer: the messages whose tag matches none of the expression's tags and patterns
 * (messages without a tag included) are acknowledged without calling the listener. `*` alone selects every
 * message and cannot be one of several tags.
 *
 * A SQL92 expression is checked by the brokers when the consumer starts; a bad one fails `start()` with
 * InvalidSelectorError.
 */
export class MessageSelector {
  /** The expression kind. */
  readonly type: ExpressionType
  /** The expression, normalised (tags trimmed and joined by ` || `, `*` for all). */
  readonly expression: string
  /** The tags of a TAG expression, patterns included, in order; empty for `*` and SQL92. */
  readonly tags: readonly string[]
  readonly #filter: TagFilter | undefined

  /**
   * @param type 'TAG' or 'SQL92' (or the seed's 'tag', 'sql', 'sql92')
   * @param expression the expression; for TAG, empty or `*` selects every message
   * @throws InvalidSelectorError when the type is unknown or the expression cannot be one
   */
  constructor(type: SelectorTypeName, expression: string) {
    const resolved = typeof type === 'string' ? TYPE_NAMES.get(type) : undefined
    if (resolved === undefined) {
      throw new InvalidSelectorError(
        `selector type must be 'TAG' or 'SQL92' (or 'tag', 'sql', 'sql92'); got ${JSON.stringify(type)}`,
      )
    }
    if (typeof expression !== 'string') {
      throw new InvalidSelectorError(`selector expression must be a string; got ${typeof expression}`)
    }
    this.type = resolved
    if (resolved === ExpressionType.TAG) {
      this.tags = Object.freeze(parseTags(expression))
      this.expression = this.tags.length === 0 ? SUB_ALL : this.tags.join(' || ')
      this.#filter = this.tags.some(isTagPattern) ? compileTagFilter(this.tags) : undefined
    } else {
      this.tags = Object.freeze([])
      this.expression = normaliseSql(expression)
      this.#filter = undefined
    }
  }

  /** Every message of the topic. */
  static all(): MessageSelector {
    return new MessageSelector(ExpressionType.TAG, SUB_ALL)
  }

  /**
   * Messages whose tag is one of those listed or matches one of the patterns.
   *
   * @param expression `*`, `a`, `a || b`, `order_*`
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

  /** Whether the consumer filters this selector's messages itself (a TAG expression with a glob pattern). */
  get clientFiltered(): boolean {
    return this.#filter !== undefined
  }

  /** The expression the brokers are sent: `*` for a client-filtered selector, else {@link expression}. */
  get brokerExpression(): string {
    return this.#filter === undefined ? this.expression : SUB_ALL
  }

  /**
   * Whether a message with this tag is selected, as far as tags decide: always for `*` and SQL92 (the broker
   * evaluated those), else when the tag equals one of the tags or matches one of the patterns.
   *
   * @param tag the message's tag; `undefined` when it has none
   */
  matchesTag(tag: string | undefined): boolean {
    if (this.#filter !== undefined) {
      return this.#filter(tag)
    }
    return this.tags.length === 0 || (tag !== undefined && this.tags.includes(tag))
  }

  /** The client-side filter of a {@link clientFiltered} selector, `undefined` for the others. */
  get tagFilter(): TagFilter | undefined {
    return this.#filter
  }

  /** `TAG:a || b`, for messages and logs. */
  toString(): string {
    return `${this.type}:${this.expression}`
  }
}

function parseTags(expression: string): string[] {
  const trimmed = expression.trim()
  if (trimmed === '' || trimmed === SUB_ALL) {
    return []
  }
  const tags: string[] = []
  for (const part of trimmed.split('||')) {
    const tag = part.trim()
    if (tag === '') {
      throw new InvalidSelectorError(`tag expression ${JSON.stringify(expression)} has an empty tag`)
    }
    if (tag === SUB_ALL) {
      throw new InvalidSelectorError(
        `tag expression ${JSON.stringify(expression)}: '*' alone selects every message; it cannot be one of several tags`,
      )
    }
    if (TAG_FORBIDDEN.test(tag)) {
      throw new InvalidSelectorError(
        `tag ${JSON.stringify(tag)} in ${JSON.stringify(expression)}: '|' and the control characters \\u0001, \\u0002 cannot be in a tag`,
      )
    }
    // Java keeps a set: a repeated tag selects nothing more.
    if (!tags.includes(tag)) {
      tags.push(tag)
    }
  }
  return tags
}

/** One test for the exact tags (a set) and one for the patterns (a single anchored regular expression). */
function compileTagFilter(tags: readonly string[]): TagFilter {
  const exact = new Set(tags.filter((tag) => !isTagPattern(tag)))
  const patterns = tags.filter(isTagPattern).map(globToRegExpSource)
  const matcher = new RegExp(`^(?:${patterns.join('|')})$`, 'su')
  return (tag) => tag !== undefined && (exact.has(tag) || matcher.test(tag))
}

function normaliseSql(expression: string): string {
  const trimmed = expression.trim()
  if (trimmed === '') {
    throw new InvalidSelectorError('a SQL92 selector needs an expression')
  }
  return trimmed
}
