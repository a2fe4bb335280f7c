/**
 * Runs the user's listener for the tasks the native consumer hands over, and hands the verdicts back in
 * bulk: every verdict reached in one turn of the event loop goes back in one native call.
 *
 * @module
 */
import type { NativeConsumer, NativeConsumeTasks } from './binding'
import { type ConsumeTask, tasksFromNative } from './consumed-message'
import { MessageConsumeError } from './errors'
import {
  type ConcurrentListener,
  type ConsumeConcurrentlyContext,
  ConsumeResult,
  MessageListener,
} from './listener'

/** Verdict codes of `NativeConsumer.settle`. */
const SETTLE_SUCCESS = 0
const SETTLE_LATER = 1

/** Called when a listener call fails (throws, rejects, or answers something a concurrent listener cannot). */
export type ListenerErrorHandler = (error: MessageConsumeError, task: Readonly<ConsumeTask>) => void

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The listener's answers for the tasks of one consumer. */
export class ConsumeDispatch {
  readonly #group: string
  readonly #listener: ConcurrentListener
  readonly #onError: ListenerErrorHandler
  #native: NativeConsumer | undefined
  #ids: number[] = []
  #statuses: number[] = []
  #delays: number[] = []
  #flushScheduled = false
  #running = 0

  /**
   * @param group the consumer group, shown to the listener
   * @param listener the user's listener
   * @param onError told of every failed listener call
   */
  constructor(group: string, listener: ConcurrentListener, onError: ListenerErrorHandler) {
    this.#group = group
    this.#listener = listener
    this.#onError = onError
  }

  /** Connects the native consumer the verdicts go to (it is built after this dispatch, which it calls). */
  attach(native: NativeConsumer): void {
    this.#native = native
  }

  /** Listener calls started and not yet answered. */
  get running(): number {
    return this.#running
  }

  /** The native consumer's task callback. An arrow property so it can be passed as is. */
  readonly onTasks = (batch: NativeConsumeTasks): void => {
    for (const task of tasksFromNative(batch)) {
      this.#run(task)
    }
  }

  #run(task: ConsumeTask): void {
    const context: ConsumeConcurrentlyContext = {
      messageQueue: task.queue,
      consumerGroup: this.#group,
      delayLevelWhenNextConsume: 0,
    }
    this.#running += 1
    let verdict: unknown
    try {
      verdict =
        this.#listener instanceof MessageListener
          ? this.#listener.consumeMessage(task.messages, context)
          : this.#listener(task.messages, context)
    } catch (error) {
      this.#fail(task, context, error)
      return
    }
    if (isPromiseLike(verdict)) {
      verdict.then(
        (value) => this.#answer(task, context, value),
        (error: unknown) => this.#fail(task, context, error),
      )
    } else {
      this.#answer(task, context, verdict)
    }
  }

  #answer(task: ConsumeTask, context: ConsumeConcurrentlyContext, verdict: unknown): void {
    if (verdict === undefined || verdict === ConsumeResult.SUCCESS) {
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

  #fail(task: ConsumeTask, context: ConsumeConcurrentlyContext, error: unknown): void {
    this.#settle(task.id, SETTLE_LATER, context.delayLevelWhenNextConsume)
    const failure =
      error instanceof MessageConsumeError
        ? error
        : new MessageConsumeError(
            `listener failed on ${task.messages.length} message(s) of ${task.queue.topic}@${task.queue.brokerName}:${task.queue.queueId}; consuming again later: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          )
    try {
      this.#onError(failure, task)
    } catch {
      // A throwing error handler must not lose the verdict, which is already queued.
    }
  }

  #settle(id: number, status: number, delayLevel: number): void {
    this.#running -= 1
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
