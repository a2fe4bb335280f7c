/**
 * rocketmq-client-nodejs' `ConsumeResult`: what a push consumer's listener answers for a message.
 *
 * @module
 */
import { ValidationError } from '../../errors'

/** A listener's verdict: {@link ConsumeResult.SUCCESS}, {@link ConsumeResult.FAILURE}, or a {@link ConsumeResultSuspend}. */
export class ConsumeResult {
  /** Consumed. */
  static readonly SUCCESS: ConsumeResult = new ConsumeResult('SUCCESS')
  /** Not consumed: delivered again later, with `deliveryAttempt` one higher. */
  static readonly FAILURE: ConsumeResult = new ConsumeResult('FAILURE')

  /** `SUCCESS`, `FAILURE` or `SUSPEND`. */
  readonly name: string

  /** @param name the verdict's name */
  protected constructor(name: string) {
    this.name = name
  }

  /** The name. */
  toString(): string {
    return this.name
  }
}

/** Shortest suspension accepted, ms (as rocketmq-client-nodejs). */
const MIN_SUSPEND_TIME_MS = 50

/**
 * Not consumed: deliver it again after about `suspendTimeMs`. Redelivery goes through the brokers' delay levels
 * (1s 5s 10s 30s 1m 2m ... 2h): the message comes back after the shortest level that is at least the suspension
 * (at most 2 h).
 */
export class ConsumeResultSuspend extends ConsumeResult {
  /** How long to wait before the next delivery, ms. */
  readonly suspendTimeMs: number

  private constructor(suspendTimeMs: number) {
    super('SUSPEND')
    if (!(suspendTimeMs >= MIN_SUSPEND_TIME_MS)) {
      throw new ValidationError(`suspend time cannot be less than ${MIN_SUSPEND_TIME_MS}ms, got ${suspendTimeMs}ms`)
    }
    this.suspendTimeMs = suspendTimeMs
  }

  /**
   * A suspension of `suspendTimeMs`.
   *
   * @param suspendTimeMs at least 50
   * @throws ValidationError below 50 ms
   */
  static of(suspendTimeMs: number): ConsumeResultSuspend {
    return new ConsumeResultSuspend(suspendTimeMs)
  }

  /** `SUSPEND(<ms>ms)`. */
  override toString(): string {
    return `SUSPEND(${this.suspendTimeMs}ms)`
  }
}

/** The brokers' delay levels 1..18, ms. */
const DELAY_LEVEL_MS = [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((s) => s * 1000)

/**
 * The delay level that waits at least `ms` (the longest, 18, when none does).
 *
 * @param ms the wished delay
 */
export function delayLevelFor(ms: number): number {
  const index = DELAY_LEVEL_MS.findIndex((delay) => delay >= ms)
  return index === -1 ? DELAY_LEVEL_MS.length : index + 1
}
