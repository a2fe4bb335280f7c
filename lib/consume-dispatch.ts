/**
 * Runs the user's listener for the tasks the native consumer hands over, and hands the verdicts back in
 * bulk: every verdict reached in one turn of the event loop goes back in one native call.
 *
 * This is the consumer's executor, as Java's consume thread pool is: the engine hands over every batch it
 * pulled (the flow-control thresholds bound them), the tasks wait here in order, and at most
 * `consumeThreadNum` listener calls run at once. A call that has not answered `consumeTimeout` after it
 * began counts as RECONSUME_LATER and its late answer is ignored (Java's expired-message sweep). Handing
 * everything over at once is what makes a crossing carry hundreds of tasks instead of the twenty that
 * would be in flight otherwise.
 *
 * Orderly listeners ({@link MessageListenerOrderly}): the engine hands over one task per queue at a time, the next
 * only after this one's verdict came back, so tasks of one queue arrive in queue order and never run at once here;
 * tasks of different queues share the `consumeThreadNum` slots. Such calls have no timeout (Java's orderly service
 * cancels none either, and running the same messages again while a call still runs would break the order). The
 * verdict carries the context's `autoCommit` and `suspendCurrentQueueTimeMillis`; a throw, a rejection or an
 * unusable answer is SUSPEND_CURRENT_QUEUE_A_MOMENT.
 *
 * Tag globs (see `MessageSelector`) are filtered here, as tasks arrive: a message of a client-filtered topic
 * whose tag does not match is left out of its task; a task left empty is settled SUCCESS at once without a
 * listener call or a slot, and a task left with some messages runs with those, its verdict applying to the
 * whole task (a failed one sends the left-out messages back too; filtered again when they return).
 *
 * @module
 */
import type { NativeConsumer, NativeConsumeTasks } from './binding'
import { type ConsumeTask, tasksFromNative } from './consumed-message'
import { MessageConsumeError } from './errors'
import type { OffsetStore } from './offset-store'
import type { TagFilter } from './selector'
import {
  type ConcurrentListener,
  type ConsumeConcurrentlyContext,
  type ConsumeOrderlyContext,
  ConsumeResult,
  MessageListener,
  MessageListenerOrderly,
} from './listener'

/** Verdict codes of `NativeConsumer.settle`; LATER is SUSPEND_CURRENT_QUEUE_A_MOMENT for an orderly listener. */
const SETTLE_SUCCESS = 0
const SETTLE_LATER = 1
const SETTLE_COMMIT = 2
const SETTLE_ROLLBACK = 3
/** Added to an orderly verdict whose context's autoCommit was false. */
const SETTLE_MANUAL_COMMIT = 0x10

/** The context of a call, per listener kind. */
type CallContext = ConsumeConcurrentlyContext | ConsumeOrderlyContext

/** What the engine reads as an orderly verdict's value: the context's suspend time, -1 for the consumer's. */
function suspendMillis(context: ConsumeOrderlyContext): number {
  const value = context.suspendCurrentQueueTimeMillis
  return Number.isInteger(value) && value >= -1 && value <= 0x7fffffff ? value : -1
}

/** Called when a listener call fails (throws, rejects, times out, or answers something a concurrent listener cannot). */
export type ListenerErrorHandler = (error: MessageConsumeError, task: Readonly<ConsumeTask>) => void

/** Limits of the dispatch. */
export interface DispatchLimits {
  /** Listener calls running at once at most. */
  concurrency: number
  /** Milliseconds a call may run before it counts as failed. */
  timeoutMs: number
}

/** A call that returned a promise and has not settled yet. */
interface PendingCall {
  task: ConsumeTask
  context: CallContext
  startedAt: number
}

/** `3 message(s) of orders@broker-a:5`, for failure messages. */
function describeTask(task: ConsumeTask): string {
  return `${task.messages.length} message(s) of ${task.queue.topic}@${task.queue.brokerName}:${task.queue.queueId}`
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The listener's answers for the tasks of one consumer. */
export class ConsumeDispatch {
  readonly #group: string
  readonly #listener: ConcurrentListener | MessageListenerOrderly
  /** One call per queue at a time, handed over in queue order by the engine; no timeout. */
  readonly #orderly: boolean
  readonly #onError: ListenerErrorHandler
  readonly #limits: DispatchLimits
  #native: NativeConsumer | undefined
  #offsetStore: OffsetStore | undefined
  /** Tasks waiting for a free slot, oldest first, from `#head` on. */
  #queue: ConsumeTask[] = []
  #head = 0
  #running = 0
  /** Async calls in flight by task id; a call missing here when it settles was timed out. */
  readonly #pending = new Map<number, PendingCall>()
  #sweep: NodeJS.Timeout | undefined
  #stopping = false
  #ids: number[] = []
  #statuses: number[] = []
  #delays: number[] = []
  #flushScheduled = false
  /** Client-side tag filters by topic (only the topics subscribed with a glob). */
  #tagFilters: ReadonlyMap<string, TagFilter> = new Map()
  #filteredOut = 0

  /**
   * @param group the consumer group, shown to the listener
   * @param listener the user's listener
   * @param onError told of every failed listener call
   * @param limits concurrency and timeout of listener calls
   */
  constructor(
    group: string,
    listener: ConcurrentListener | MessageListenerOrderly,
    onError: ListenerErrorHandler,
    limits: DispatchLimits,
  ) {
    this.#group = group
    this.#listener = listener
    this.#orderly = listener instanceof MessageListenerOrderly
    this.#onError = onError
    this.#limits = limits
  }

  /** Sets the store listeners see as `context.offsetStore` (the consumer's, built after this dispatch). */
  setOffsetStore(store: OffsetStore): void {
    this.#offsetStore = store
  }

  /** Connects the native consumer the verdicts go to (it is built after this dispatch, which it calls). */
  attach(native: NativeConsumer): void {
    this.#native = native
  }

  /**
   * Sets the client-side tag filters, by topic (a message's own topic: a redelivered message is filtered as
   * its original topic's subscription says). Set before the native consumer starts.
   */
  setTagFilters(filters: ReadonlyMap<string, TagFilter>): void {
    this.#tagFilters = filters
  }

  /** Messages acknowledged without a listener call because their tag matched no glob of their subscription. */
  get filteredOut(): number {
    return this.#filteredOut
  }

  /** Listener calls running now. */
  get running(): number {
    return this.#running
  }

  /** Tasks handed over and not begun yet. */
  get queued(): number {
    return this.#queue.length - this.#head
  }

  /**
   * Begins no more listener calls: the tasks waiting, and those handed over from now on, are answered
   * RECONSUME_LATER without running, which a stopping engine takes as "not consumed" (left uncommitted, for
   * the group's next owner of the queue). Calls already running finish.
   */
  stop(): void {
    this.#stopping = true
    this.#pump()
  }

  /** Stops the timeout sweep; call once the native consumer has shut down. */
  dispose(): void {
    clearInterval(this.#sweep)
    this.#sweep = undefined
  }

  /** The native consumer's task callback. An arrow property so it can be passed as is. */
  readonly onTasks = (batch: NativeConsumeTasks): void => {
    const tasks = this.#tagFilters.size === 0 ? tasksFromNative(batch) : this.#filterTags(tasksFromNative(batch))
    if (this.#head === this.#queue.length) {
      this.#queue = tasks
      this.#head = 0
    } else {
      for (const task of tasks) {
        this.#queue.push(task)
      }
    }
    this.#pump()
  }

  /** Leaves out the messages no tag filter lets through; settles the tasks left empty as consumed. */
  #filterTags(tasks: ConsumeTask[]): ConsumeTask[] {
    const kept: ConsumeTask[] = []
    for (const task of tasks) {
      const matching = task.messages.filter((message) => this.#tagFilters.get(message.topic)?.(message.tags) ?? true)
      this.#filteredOut += task.messages.length - matching.length
      if (matching.length === 0) {
        this.#push(task.id, SETTLE_SUCCESS, 0)
      } else {
        kept.push(matching.length === task.messages.length ? task : { ...task, messages: matching })
      }
    }
    return kept
  }

  /** Begins waiting tasks while slots are free (all of them, unanswered, when stopping). */
  #pump(): void {
    while (this.#head < this.#queue.length && (this.#stopping || this.#running < this.#limits.concurrency)) {
      const task = this.#queue[this.#head] as ConsumeTask
      this.#head += 1
      if (this.#stopping) {
        this.#push(task.id, SETTLE_LATER, 0)
      } else {
        this.#run(task)
      }
    }
    if (this.#head === this.#queue.length && this.#head > 0) {
      this.#queue = []
      this.#head = 0
    }
  }

  #run(task: ConsumeTask): void {
    const context: CallContext = this.#orderly
      ? { messageQueue: task.queue, consumerGroup: this.#group, autoCommit: true, suspendCurrentQueueTimeMillis: -1 }
      : {
          messageQueue: task.queue,
          consumerGroup: this.#group,
          delayLevelWhenNextConsume: 0,
          // Set by the consumer's constructor, before any task can arrive.
          offsetStore: this.#offsetStore as OffsetStore,
        }
    this.#running += 1
    let verdict: unknown
    try {
      const listener = this.#listener
      if (listener instanceof MessageListenerOrderly) {
        verdict = listener.consumeMessage(task.messages, context as ConsumeOrderlyContext)
      } else if (listener instanceof MessageListener) {
        verdict = listener.consumeMessage(task.messages, context as ConsumeConcurrentlyContext)
      } else {
        verdict = listener(task.messages, context as ConsumeConcurrentlyContext)
      }
    } catch (error) {
      this.#fail(task, context, error)
      return
    }
    if (isPromiseLike(verdict)) {
      this.#pending.set(task.id, { task, context, startedAt: Date.now() })
      this.#startSweep()
      verdict.then(
        (value) => {
          if (this.#pending.delete(task.id)) {
            this.#answer(task, context, value)
            this.#pump()
          }
        },
        (error: unknown) => {
          if (this.#pending.delete(task.id)) {
            this.#fail(task, context, error)
            this.#pump()
          }
        },
      )
    } else {
      this.#answer(task, context, verdict)
    }
  }

  #answer(task: ConsumeTask, context: CallContext, verdict: unknown): void {
    if ('autoCommit' in context) {
      this.#answerOrderly(task, context, verdict)
    } else if (verdict === undefined || verdict === ConsumeResult.SUCCESS) {
      this.#settle(task.id, SETTLE_SUCCESS, 0)
    } else if (verdict === ConsumeResult.RECONSUME_LATER) {
      this.#settle(task.id, SETTLE_LATER, context.delayLevelWhenNextConsume)
    } else {
      // Java counts an unusable status as a failure too; the messages are kept, never dropped.
      this.#fail(
        task,
        context,
        new MessageConsumeError(
          `a concurrent listener answers ConsumeResult.SUCCESS or RECONSUME_LATER; got ${JSON.stringify(verdict)}; consuming again later`,
        ),
      )
    }
  }

  /** An orderly verdict: the status with the context's autoCommit and suspend time (see the module doc). */
  #answerOrderly(task: ConsumeTask, context: ConsumeOrderlyContext, verdict: unknown): void {
    const code =
      verdict === undefined || verdict === ConsumeResult.SUCCESS
        ? SETTLE_SUCCESS
        : verdict === ConsumeResult.SUSPEND_CURRENT_QUEUE_A_MOMENT
          ? SETTLE_LATER
          : verdict === ConsumeResult.COMMIT
            ? SETTLE_COMMIT
            : verdict === ConsumeResult.ROLLBACK
              ? SETTLE_ROLLBACK
              : undefined
    if (code === undefined) {
      this.#fail(
        task,
        context,
        new MessageConsumeError(
          `an orderly listener answers ConsumeResult.SUCCESS, COMMIT, ROLLBACK or SUSPEND_CURRENT_QUEUE_A_MOMENT; got ${JSON.stringify(verdict)}; suspending the queue a moment`,
        ),
      )
      return
    }
    this.#settle(task.id, code | (context.autoCommit === false ? SETTLE_MANUAL_COMMIT : 0), suspendMillis(context))
  }

  #fail(task: ConsumeTask, context: CallContext, error: unknown): void {
    if ('autoCommit' in context) {
      this.#settle(task.id, SETTLE_LATER | (context.autoCommit === false ? SETTLE_MANUAL_COMMIT : 0), suspendMillis(context))
    } else {
      this.#settle(task.id, SETTLE_LATER, context.delayLevelWhenNextConsume)
    }
    const failure =
      error instanceof MessageConsumeError
        ? error
        : new MessageConsumeError(
            `listener failed on ${describeTask(task)}; consuming again later: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          )
    try {
      this.#onError(failure, task)
    } catch {
      // A throwing error handler must not lose the verdict, which is already queued.
    }
  }

  /** Checks the async calls in flight for ones past the timeout, a few times per timeout. */
  #startSweep(): void {
    if (this.#sweep !== undefined || this.#orderly) {
      return
    }
    const period = Math.min(60_000, Math.max(50, Math.floor(this.#limits.timeoutMs / 4)))
    this.#sweep = setInterval(() => this.#expire(), period)
    // The consumer keeps the process alive while it runs; this timer must not after it stopped.
    this.#sweep.unref()
  }

  #expire(): void {
    const now = Date.now()
    for (const [id, call] of this.#pending) {
      if (now - call.startedAt >= this.#limits.timeoutMs) {
        this.#pending.delete(id)
        this.#fail(
          call.task,
          call.context,
          new MessageConsumeError(
            `listener call on ${describeTask(call.task)} ran past consumeTimeout (${this.#limits.timeoutMs} ms); its messages are sent back and its late answer ignored`,
          ),
        )
      }
    }
    this.#pump()
  }

  #settle(id: number, status: number, delayLevel: number): void {
    this.#running -= 1
    this.#push(id, status, delayLevel)
  }

  #push(id: number, status: number, delayLevel: number): void {
    this.#ids.push(id)
    this.#statuses.push(status)
    this.#delays.push(Number.isInteger(delayLevel) ? delayLevel : 0)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      // After the current callback and its microtasks: the verdicts of a whole batch of sync listener
      // calls, and of promises settled together, go back in one call.
      setImmediate(this.#flush)
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false
    const ids = Uint32Array.from(this.#ids)
    const statuses = Uint32Array.from(this.#statuses)
    const delays = Int32Array.from(this.#delays)
    this.#ids = []
    this.#statuses = []
    this.#delays = []
    this.#native?.settle(ids, statuses, delays)
  }
}
