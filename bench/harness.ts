/**
 * What the benchmark parents (producer.ts, consumer.ts) share: compiling the client scripts, running one
 * client in a fresh process and reading its JSON line, medians, table formatting and the description of
 * the machine that goes into a results file.
 *
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * Where {@link compileClients} puts the compiled client scripts. The runs execute plain JavaScript
 * rather than going through tsx: the tsx loader adds 35 to 55 MB to a process's peak RSS (more for
 * ours, whose lib/ it would transpile at load) and would blur the RSS column.
 */
export const BUILD_DIR = join(__dirname, '.build')

/** The compiled script of a client, e.g. `clientScript('ours-consumer')`. */
export function clientScript(name: string): string {
  return join(BUILD_DIR, 'bench', 'clients', `${name}.js`)
}

/** Compiles the client scripts (and the index.ts/lib they import) with the root's tsc into bench/.build. */
export function compileClients(): void {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', join(__dirname, 'tsconfig.build.json')], { stdio: 'inherit' })
}

/**
 * Runs `program args` in a fresh process and resolves with the last line of its stdout that starts with
 * `{`, parsed. stderr is inherited so that client warnings show up live. Rejects when the process exits
 * non-zero, prints no such line, or runs longer than `timeoutSeconds` (then it is killed). `onLine`, when
 * given, sees every complete stdout line as it arrives (the latency runs wait for `bench:ready`).
 */
export function runJsonChild(program: string, args: readonly string[], timeoutSeconds: number, onLine?: (line: string) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8')
    let seen = 0
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (onLine !== undefined) {
        const end = stdout.lastIndexOf('\n')
        if (end >= seen) {
          for (const line of stdout.slice(seen, end).split('\n')) {
            onLine(line)
          }
          seen = end + 1
        }
      }
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, timeoutSeconds * 1000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(signal === 'SIGKILL' ? `killed after ${timeoutSeconds} s` : `exited with ${code ?? signal}`))
        return
      }
      const line = stdout
        .split('\n')
        .reverse()
        .find((candidate) => candidate.startsWith('{'))
      if (line === undefined) {
        reject(new Error(`printed no result line; stdout: ${JSON.stringify(stdout.slice(-500))}`))
        return
      }
      resolve(JSON.parse(line))
    })
  })
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Thousands separators, no decimals. */
export const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** One table row: the first cell left-aligned, the others right-aligned, to `widths`. */
export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index] as number) : cell.padStart(widths[index] as number))).join('  ')
}

/** A header and rows laid out in aligned columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] as string).length)))
  return [formatRow(header, widths), ...rows.map((row) => formatRow(row, widths))]
}

/** `ours / peer` as `1.23x`, or `n/a` without a peer figure. */
export function ratio(ours: number, peer: number): string {
  return peer > 0 ? `${(ours / peer).toFixed(2)}x` : 'n/a'
}

/** Cores, CPU model, memory, Node, kernel and the load average now: what makes figures comparable. */
export function describeMachine(): Record<string, unknown> {
  const processors = cpus()
  return {
    cores: processors.length,
    cpuModel: processors[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${release()} ${process.arch}`,
    loadAverageAtStart: loadavg(),
  }
}

/** Cumulative CPU time of the whole machine, in clock ticks, from the first line of /proc/stat. */
export interface MachineTicks {
  busy: number
  total: number
}

/** Reads {@link MachineTicks}; undefined where /proc/stat does not exist. */
export function machineTicks(): MachineTicks | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

/**
 * How busy the machine was between two readings: the share of all cores' time spent running anything
 * (0..1), and the busy core-seconds (100 ticks a second, Linux's USER_HZ).
 */
export function machineBusy(before: MachineTicks | undefined, after: MachineTicks | undefined): { share: number; coreSeconds: number } | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) {
    return undefined
  }
  const busy = after.busy - before.busy
  return { share: busy / (after.total - before.total), coreSeconds: busy / 100 }
}

/**
 * Reads an integer command-line value (`_` allowed as a digit separator: `1_000_000`).
 *
 * @param name the flag, for the message
 * @param value what was given
 * @param min the smallest value allowed
 */
export function integerArg(name: string, value: string, min: number): number {
  const parsed = Number(value.replace(/_/g, ''))
  if (!Number.isInteger(parsed) || parsed < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`)
  }
  return parsed
}

/**
 * Splits a comma-separated client list and checks every name is one the benchmark knows.
 *
 * @param list the `--clients` value
 * @param known the benchmark's client table
 */
export function clientsArg(list: string, known: Readonly<Record<string, unknown>>): string[] {
  const clients = list.split(',').map((name) => name.trim())
  for (const client of clients) {
    if (known[client] === undefined) {
      throw new Error(`unknown client ${JSON.stringify(client)}; known: ${Object.keys(known).join(', ')}`)
    }
  }
  return clients
}
