/**
 * Consumers in child processes (`fixtures/consumer-worker.ts`), for the specs that need several members of
 * one group, a SIGKILL, or a process that must exit by itself: spawning, reading the worker's report lines,
 * a ledger of every message any worker consumed, and bounded waiting that fails early when a worker dies.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import type { ExecutionContext } from 'ava'

import { NAMESRV_ADDR } from './cluster'

const WORKER = join(__dirname, '..', 'fixtures', 'consumer-worker.ts')

/** One message a worker reported consumed (its listener returned SUCCESS right after). */
export interface Consumption {
  /** Name of the worker that consumed it. */
  worker: string
  /** Its queue, `broker/queueId`. */
  queue: string
  /** Its queue offset. */
  offset: number
  /** Its msgId (UNIQ_KEY). */
  msgId: string
  /** When the worker's listener reported it, ms since the epoch (the worker's clock). */
  at: number
  /** When the listener call that got it began, ms since the epoch. */
  begunAt: number
  /** Its body as text. */
  body: string
}

/** Every message consumed by any worker of a spec, in the order the lines arrived. */
export class Ledger {
  readonly entries: Consumption[] = []
  readonly #counts = new Map<string, number>()

  /** Records one consumption. */
  add(entry: Consumption): void {
    this.entries.push(entry)
    this.#counts.set(entry.msgId, (this.#counts.get(entry.msgId) ?? 0) + 1)
  }

  /** How many distinct messages were consumed. */
  get distinct(): number {
    return this.#counts.size
  }

  /** Whether `msgId` was consumed. */
  has(msgId: string): boolean {
    return this.#counts.has(msgId)
  }

  /**
   * Listener calls of one queue in different workers that overlapped in time (the workers share the machine's
   * clock), as readable lines; an orderly group must give none: the next owner begins after the previous ended.
   */
  crossWorkerOverlaps(): string[] {
    const calls = new Map<string, Array<{ worker: string; begun: number; ended: number }>>()
    for (const e of this.entries) {
      const list = calls.get(e.queue) ?? []
      if (!list.some((c) => c.worker === e.worker && c.begun === e.begunAt && c.ended === e.at)) {
        list.push({ worker: e.worker, begun: e.begunAt, ended: e.at })
      }
      calls.set(e.queue, list)
    }
    const overlaps: string[] = []
    for (const [queue, list] of calls) {
      for (const a of list) {
        for (const b of list) {
          if (a.worker < b.worker && a.begun < b.ended && b.begun < a.ended) {
            overlaps.push(`${queue}: ${a.worker} [${a.begun}, ${a.ended}] and ${b.worker} [${b.begun}, ${b.ended}]`)
          }
        }
      }
    }
    return overlaps
  }

  /** Messages consumed more than once, with their consumptions. */
  duplicates(): Map<string, Consumption[]> {
    const twice = new Set([...this.#counts].filter(([, n]) => n > 1).map(([id]) => id))
    const result = new Map<string, Consumption[]>()
    for (const entry of this.entries) {
      if (twice.has(entry.msgId)) {
        result.set(entry.msgId, [...(result.get(entry.msgId) ?? []), entry])
      }
    }
    return result
  }
}

/** Settings of one worker. */
export interface WorkerOptions {
  /** Topic to subscribe. */
  topic: string
  /** Consumer group. */
  group: string
  /** NameServer; default the shared cluster's. */
  namesrvAddr?: string
  /** Fixed instance name (the client id's second half); default the process id. */
  instanceName?: string
  /** persistConsumerOffsetInterval in ms. */
  persistIntervalMs?: number
  /** How long each listener call takes, ms; 0 for a synchronous listener. */
  listenerDelayMs?: number
  /** consumeThreadNum. */
  consumeThreads?: number
  /** A MessageListenerOrderly instead of a concurrent listener. */
  orderly?: boolean
}

/** What a worker reports after `shutdown()` resolved. */
export interface StoppedReport {
  /** Listener calls still running in JavaScript (must be 0). */
  running: number
  /** Listener calls begun over the worker's life. */
  begun: number
  /** Listener calls that returned. */
  finished: number
}

/** A consumer in a child process; see the module doc. */
export class ConsumerProcess {
  readonly name: string
  readonly child: ChildProcess
  /** The consumer's client id once started. */
  clientId: string | undefined
  /** The queues of the topic it holds now, sorted `broker/queueId`. */
  queues: string[] = []
  /** Every queue of the topic it has held at some point (reported held, or consumed from). */
  readonly everHeld = new Set<string>()
  /** What it consumed. */
  readonly consumed: Consumption[] = []
  /** Listener calls in flight when it got SIGTERM. */
  runningAtStop: number | undefined
  /** Its report after shutdown() resolved. */
  stopped: StoppedReport | undefined
  /** How it ended, once it did. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** Resolves when the process has ended. */
  readonly exited: Promise<void>
  #stderr = ''

  /**
   * Spawns a worker; it is SIGKILLed when the test ends if still alive.
   *
   * @param t the test
   * @param name a name for messages
   * @param options the worker's settings
   * @param ledger where its consumptions are recorded besides {@link consumed}
   */
  constructor(t: ExecutionContext, name: string, options: WorkerOptions, ledger: Ledger) {
    this.name = name
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NAMESRV_ADDR: options.namesrvAddr ?? NAMESRV_ADDR,
      TOPIC: options.topic,
      GROUP: options.group,
      PERSIST_INTERVAL_MS: String(options.persistIntervalMs ?? 5000),
      LISTENER_DELAY_MS: String(options.listenerDelayMs ?? 0),
      CONSUME_THREADS: String(options.consumeThreads ?? 20),
      ORDERLY: options.orderly === true ? '1' : '',
    }
    if (options.instanceName !== undefined) {
      env.INSTANCE_NAME = options.instanceName
    }
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        resolve()
      })
    })
    t.teardown(() => this.kill())
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000)
    })
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => this.#onLine(line, ledger))
  }

  #onLine(line: string, ledger: Ledger): void {
    let event: Record<string, unknown>
    try {
      event = JSON.parse(line) as Record<string, unknown>
    } catch {
      this.#stderr += `\n(stdout) ${line}`
      return
    }
    switch (event.e) {
      case 'started':
        this.clientId = event.clientId as string
        break
      case 'queues':
        this.queues = event.queues as string[]
        for (const queue of this.queues) {
          this.everHeld.add(queue)
        }
        break
      case 'consumed':
        for (const [brokerName, queueId, offset, msgId, body] of event.m as Array<[string, number, number, string, string]>) {
          const entry = {
            worker: this.name,
            queue: `${brokerName}/${queueId}`,
            offset,
            msgId,
            at: event.t as number,
            begunAt: event.b as number,
            body,
          }
          this.consumed.push(entry)
          this.everHeld.add(entry.queue)
          ledger.add(entry)
        }
        break
      case 'stopping':
        this.runningAtStop = event.running as number
        break
      case 'stopped':
        this.stopped = { running: event.running as number, begun: event.begun as number, finished: event.finished as number }
        break
      default:
        this.#stderr += `\n(stdout) ${line}`
    }
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exit === undefined
  }

  /** The end of its stderr, for failure messages. */
  get stderrTail(): string {
    return this.#stderr.slice(-2000)
  }

  /** Asks for a graceful stop: SIGTERM makes the worker call `shutdown()` and return from main. */
  terminate(): void {
    if (this.alive) {
      this.child.kill('SIGTERM')
    }
  }

  /** SIGKILL, if still running; resolves once it ended. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGKILL')
    }
    await this.exited
  }
}

/**
 * Waits until `condition` holds, checking every 50 ms, for at most `limitMs` (a guard so that a broken
 * consumer fails the test instead of hanging it, not a timing assertion). Fails at once, with its stderr,
 * when a worker of `watched` ends.
 *
 * @param what what is awaited, for the error message
 * @param condition the condition
 * @param watched workers that must stay alive meanwhile
 * @param limitMs the guard
 */
export async function waitUntil(what: string, condition: () => boolean, watched: readonly ConsumerProcess[], limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    const dead = watched.find((w) => !w.alive)
    if (dead !== undefined) {
      throw new Error(`waiting for ${what}: worker ${dead.name} ended (${JSON.stringify(dead.exit)}); stderr:\n${dead.stderrTail}`)
    }
    if (Date.now() > deadline) {
      const tails = watched.map((w) => `--- ${w.name} stderr:\n${w.stderrTail}`).join('\n')
      throw new Error(`gave up waiting for ${what} after ${limitMs} ms\n${tails}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Starts workers and waits until each has started (reported its client id). */
export async function startWorkers(workers: readonly ConsumerProcess[]): Promise<void> {
  await waitUntil('the workers to start', () => workers.every((w) => w.clientId !== undefined), workers)
}
