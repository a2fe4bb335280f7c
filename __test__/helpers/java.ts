/**
 * Java next to our client in the end-to-end specs: the RocketMQ jars the cluster scripts fetch, the
 * Java helpers of `__test__/fixtures/java/` compiled against them, Java processes that speak a line
 * protocol on stdin/stdout, and mqadmin runs with their output parsed.
 *
 * Every process started here is stopped by its pid (never by name): {@link JavaProcess.stop} for the
 * long-running ones, a kill on timeout for {@link runJava}.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

import { BROKER_IS_4X, BROKER_VERSION } from './broker-version'
import { NAMESRV_ADDR } from './cluster'

/**
 * The jars of the release the cluster runs: Java clients and mqadmin of the same version as the brokers, as a
 * user of that version has them. Same cache as `scripts/rocketmq/env.sh`.
 */
const ROCKETMQ_VERSION = BROKER_VERSION
const ROCKETMQ_CACHE = process.env.ROCKETMQ_CACHE ?? join(homedir(), '.cache', 'rocketmq-napi')

/** The `lib/` folder of the RocketMQ distribution `scripts/rocketmq/fetch-jars.sh` fills. */
export const ROCKETMQ_LIB = join(ROCKETMQ_CACHE, `rocketmq-${ROCKETMQ_VERSION}`, 'lib')

/** Sources of the Java helpers the specs run. */
const FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'java')

const JDK17_HOME = '/usr/lib/jvm/java-17-openjdk-amd64'

/** A JDK tool (`java`, `javac`) chosen as `scripts/rocketmq/env.sh` chooses java. */
function jdkTool(tool: 'java' | 'javac'): string {
  if (tool === 'java' && process.env.ROCKETMQ_JAVA) {
    return process.env.ROCKETMQ_JAVA
  }
  for (const home of [process.env.JAVA_HOME, JDK17_HOME]) {
    if (home && existsSync(join(home, 'bin', tool))) {
      return join(home, 'bin', tool)
    }
  }
  return tool
}

function requireJars(): void {
  if (!existsSync(join(ROCKETMQ_LIB, '.complete'))) {
    throw new Error(`no RocketMQ jars in ${ROCKETMQ_LIB}: run \`npm run rocketmq:start\` (it fetches them) first`)
  }
}

/**
 * A `user.home` for the Java processes of this test process: the client and mqadmin write their logs under
 * it (`logs/rocketmqlogs/`), which keeps them out of the real home. Removed when the process exits.
 */
let scratchHome: string | undefined
function javaScratchHome(): string {
  if (scratchHome === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-java-home-'))
    scratchHome = dir
    if (BROKER_IS_4X) {
      writeToolsLogback(dir)
    }
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return scratchHome
}

/**
 * 4.x's mqadmin configures logback from the file `<rocketmq.home.dir>/conf/logback_tools.xml` and fails without it
 * (5.x reads `rmq.tools.logback.xml` from its jars). Our own minimal one: everything into a file under `home`, so
 * stdout holds only the command's output, which the specs parse.
 */
function writeToolsLogback(home: string): void {
  mkdirSync(join(home, 'conf'), { recursive: true })
  writeFileSync(
    join(home, 'conf', 'logback_tools.xml'),
    [
      '<configuration>',
      '  <appender name="file" class="ch.qos.logback.core.FileAppender">',
      `    <file>${join(home, 'logs', 'rocketmqlogs', 'tools.log')}</file>`,
      '    <encoder><pattern>%d{yyyy-MM-dd HH:mm:ss.SSS,UTC} %-5level %logger{0} - %msg%n</pattern></encoder>',
      '  </appender>',
      '  <root level="INFO"><appender-ref ref="file"/></root>',
      '</configuration>',
      '',
    ].join('\n'),
  )
}

/**
 * JVM flags of every Java process the specs start: a small heap and the C1-only JIT, because these are
 * short-lived helpers on a machine with 2 cores, not benchmarks.
 *
 * @param logback the logback file inside the jars: without one, the classpath search finds the broker's
 *   first and prints its configuration status on stdout
 */
function jvmFlags(logback = 'rmq.client.logback.xml'): string[] {
  const home = javaScratchHome()
  return [
    '-Xms64m',
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Duser.home=${home}`,
    `-Drocketmq.home.dir=${home}`,
    `-Drmq.logback.configurationFile=${logback}`,
  ]
}

let compiled: Promise<string> | undefined

/**
 * Compiles `__test__/fixtures/java/*.java` against the fetched jars, once: the classes go to a temp
 * directory named after a hash of the sources and the jar folder, so later calls (and concurrent spec
 * processes) reuse it and an edited source gets a fresh one.
 *
 * @returns the directory holding the compiled classes, for the classpath
 */
export function compileJavaFixtures(): Promise<string> {
  compiled ??= compile()
  return compiled
}

async function compile(): Promise<string> {
  requireJars()
  const sources = readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.java'))
    .sort()
  const hash = createHash('sha256').update(ROCKETMQ_LIB)
  for (const name of sources) {
    hash.update(name).update(readFileSync(join(FIXTURES_DIR, name)))
  }
  const target = join(tmpdir(), `rocketmq-napi-java-classes-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(join(target, '.complete'))) {
    return target
  }
  // Compile beside the target and rename into place, so a reader never sees half a directory.
  const staging = mkdtempSync(`${target}.staging-`)
  const javac = jdkTool('javac')
  const result = await runProcess(
    javac,
    ['-nowarn', '-encoding', 'UTF-8', '-cp', `${ROCKETMQ_LIB}/*`, '-d', staging, ...sources.map((name) => join(FIXTURES_DIR, name))],
    { timeoutMs: 120_000 },
  ).catch((error: unknown) => {
    rmSync(staging, { recursive: true, force: true })
    throw new Error(`cannot run ${javac} (${String(error)}): the Java interop specs need a JDK 17, not only a JRE`)
  })
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true })
    throw new Error(`javac failed (${describeExit(result)}):\n${result.stderr}${result.stdout}`)
  }
  writeFileSync(join(staging, '.complete'), '')
  try {
    renameSync(staging, target)
  } catch (error) {
    // Another spec process finished the same compilation first; theirs is as good as ours.
    rmSync(staging, { recursive: true, force: true })
    if (!existsSync(join(target, '.complete'))) {
      throw error
    }
  }
  return target
}

/** How a finished process ended, and everything it printed. */
export interface RunResult {
  /** Exit status; null when a signal ended it. */
  status: number | null
  /** Signal that ended it, if one did. */
  signal: NodeJS.Signals | null
  /** Whether it was killed because it ran past its timeout. */
  timedOut: boolean
  /** Everything it printed on stdout. */
  stdout: string
  /** Everything it printed on stderr. */
  stderr: string
}

function describeExit(result: RunResult): string {
  if (result.timedOut) {
    return 'killed after its timeout'
  }
  return result.signal ? `signal ${result.signal}` : `exit status ${String(result.status)}`
}

/** How to run a process to completion. */
export interface RunOptions {
  /** Written to stdin, which is then closed. */
  stdin?: string
  /** The process is killed (SIGKILL, by pid) after this long: a guard against a hang, not a performance bound. */
  timeoutMs: number
}

function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // In the scratch home: some mqadmin commands write files relative to the working directory
    // (consumerStatus -g writes <timestamp>/<clientId>), which must not land in the checkout.
    const child = spawn(command, args, { cwd: javaScratchHome(), stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      killByPid(child)
    }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, timedOut, stdout, stderr })
    })
    child.stdin.on('error', () => {
      // The process may exit without reading its input; that shows in its exit status instead.
    })
    child.stdin.end(options.stdin ?? '')
  })
}

function killByPid(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs a Java main class to completion, with the compiled fixtures and the fetched jars on the classpath.
 *
 * @param mainClass fully qualified main class
 * @param args its arguments
 * @param options stdin and the hang guard
 */
export async function runJava(mainClass: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const classes = await compileJavaFixtures()
  return runProcess(jdkTool('java'), [...jvmFlags(), '-cp', `${classes}:${ROCKETMQ_LIB}/*`, mainClass, ...args], options)
}

/**
 * Runs `mqadmin <command> -n <NameServer> ...args` (MQAdminStartup from the fetched jars). Each run starts a JVM
 * (seconds): keep the number of runs small.
 *
 * @param command mqadmin sub-command, e.g. `consumerProgress`
 * @param args its options, without `-n`
 * @param timeoutMs hang guard
 */
export async function mqadmin(command: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  requireJars()
  return runProcess(
    jdkTool('java'),
    [
      ...jvmFlags('rmq.tools.logback.xml'),
      '-cp',
      `${ROCKETMQ_LIB}/*`,
      'org.apache.rocketmq.tools.command.MQAdminStartup',
      command,
      '-n',
      NAMESRV_ADDR,
      ...args,
    ],
    { timeoutMs },
  )
}

/**
 * The rows of the table an mqadmin command prints: the first line whose first field starts with `#` is the
 * header; every following line with at least as many whitespace-separated fields as the header is a row, up
 * to the first line that has fewer (mqadmin prints totals and summaries after its tables). Columns are keyed
 * by the header names without their `#`. A header name that holds a space in mqadmin's output (e.g.
 * `#Broker Name`) is given here as it appears with the space, and counts as one column.
 *
 * @param output stdout of an mqadmin run
 * @param header the column names as mqadmin prints them, in order (with spaces where it has them)
 */
export function parseTable(output: string, header: readonly string[]): Record<string, string>[] {
  const lines = output.split('\n')
  const start = lines.findIndex((line) => header.every((name) => line.includes(`#${name}`)))
  if (start < 0) {
    return []
  }
  const rows: Record<string, string>[] = []
  for (const line of lines.slice(start + 1)) {
    const fields = line.trim().split(/\s+/)
    if (line.trim() === '' || fields.length < header.length) {
      break
    }
    const row: Record<string, string> = {}
    header.forEach((name, index) => {
      // The last column takes whatever is left (e.g. a date with a space in it).
      row[name] = index === header.length - 1 ? fields.slice(index).join(' ') : (fields[index] ?? '')
    })
    rows.push(row)
  }
  return rows
}

/** Someone waiting for a line of a {@link JavaProcess}. */
interface Waiter {
  match: (line: string) => boolean
  resolve: (line: string) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/**
 * A long-running Java helper that speaks a line protocol: commands on stdin, answers on stdout, each line
 * starting with a keyword (the Java client's logging may add lines of its own, which never match).
 */
export class JavaProcess {
  /** Every stdout line so far. */
  readonly lines: string[] = []
  #stderr = ''
  #partial = ''
  #waiters: Waiter[] = []
  readonly #child: ChildProcess
  readonly #exited: Promise<void>
  #exitDescription: string | undefined

  private constructor(child: ChildProcess) {
    this.#child = child
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#onData(chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk))
    child.stdin?.on('error', () => {
      // Writing to a process that already exited: its exit is reported through the waiters.
    })
    this.#exited = new Promise((resolve) => {
      const finish = (description: string): void => {
        this.#exitDescription ??= description
        for (const waiter of this.#waiters.splice(0)) {
          clearTimeout(waiter.timer)
          waiter.reject(new Error(`java exited (${description}) before the awaited line; stderr:\n${this.#stderr.slice(-4000)}`))
        }
        resolve()
      }
      child.on('close', (status, signal) => finish(signal ? `signal ${signal}` : `exit status ${String(status)}`))
      child.on('error', (error) => finish(`could not start: ${error.message}`))
    })
  }

  /**
   * Starts a Java main class with the compiled fixtures and the fetched jars on the classpath.
   *
   * @param mainClass main class of `__test__/fixtures/java/`
   * @param args its arguments
   * @param systemProperties extra `-D` settings
   */
  static async start(mainClass: string, args: readonly string[], systemProperties: Readonly<Record<string, string>> = {}): Promise<JavaProcess> {
    const classes = await compileJavaFixtures()
    const defines = Object.entries(systemProperties).map(([name, value]) => `-D${name}=${value}`)
    const child = spawn(jdkTool('java'), [...jvmFlags(), ...defines, '-cp', `${classes}:${ROCKETMQ_LIB}/*`, mainClass, ...args], {
      cwd: javaScratchHome(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    return new JavaProcess(child)
  }

  /** Process id (for the record; {@link stop} kills by it). */
  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The last part of stderr, for assertion messages. */
  get stderrTail(): string {
    return this.#stderr.slice(-4000)
  }

  #onData(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n')
    this.#partial = parts.pop() ?? ''
    for (const line of parts) {
      this.lines.push(line)
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(line)) {
          clearTimeout(waiter.timer)
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  }

  /** Lines starting with `keyword ` (the keyword removed), in the order printed. */
  linesOf(keyword: string): string[] {
    const prefix = `${keyword} `
    return this.lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length))
  }

  /**
   * The first line starting with `keyword ` printed at or after line index `from` (without the keyword):
   * one already printed, or the next one to come.
   *
   * @param keyword first word of the line
   * @param timeoutMs hang guard: rejects after this long
   * @param from index into {@link lines} where to start looking (default: the start)
   */
  line(keyword: string, timeoutMs: number, from = 0): Promise<string> {
    const prefix = `${keyword} `
    const matches = (line: string): boolean => line.startsWith(prefix) || line === keyword
    const strip = (line: string): string => line.slice(prefix.length)
    const earlier = this.lines.slice(from).find(matches)
    if (earlier !== undefined) {
      return Promise.resolve(strip(earlier))
    }
    return new Promise((resolve, reject) => {
      if (this.#exitDescription !== undefined) {
        reject(new Error(`java already exited (${this.#exitDescription}); stderr:\n${this.stderrTail}`))
        return
      }
      const waiter: Waiter = {
        match: matches,
        resolve: (line) => resolve(strip(line)),
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
          reject(new Error(`no "${keyword}" line from java within ${timeoutMs} ms; stderr:\n${this.stderrTail}`))
        }, timeoutMs),
      }
      this.#waiters.push(waiter)
    })
  }

  /**
   * Sends a command line and waits for the answer line starting with `keyword`.
   *
   * @param command the line to send (no newline)
   * @param keyword first word of the answer
   * @param timeoutMs hang guard
   */
  async ask(command: string, keyword: string, timeoutMs = 30_000): Promise<string> {
    const answer = this.line(keyword, timeoutMs, this.lines.length)
    this.#child.stdin?.write(`${command}\n`)
    return answer
  }

  /**
   * Asks the helper to shut down (`shutdown` on stdin) and waits for it to exit; kills it by pid with SIGKILL
   * when it has not exited after `graceMs`. Safe to call more than once.
   *
   * @param graceMs time allowed for a clean shutdown
   */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.#exitDescription === undefined) {
      this.#child.stdin?.end('shutdown\n')
      const timer = setTimeout(() => killByPid(this.#child), graceMs)
      await this.#exited
      clearTimeout(timer)
    }
  }
}

/**
 * `text` as hex of its UTF-8 bytes, the encoding the Java helpers take on stdin.
 *
 * @param text any string
 */
export function hexOf(text: string | Buffer): string {
  return (Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')).toString('hex')
}
