/**
 * What both benchmark clients measure of their own process, and how peak memory is read.
 *
 * @module
 */
import { readFileSync } from 'node:fs'

/** CPU, context switches and memory of the whole client process over a run's window. */
export interface ProcessUsage {
  /** User CPU seconds of the whole process over the window. */
  cpuUserSeconds: number
  /** System CPU seconds of the whole process over the window. */
  cpuSystemSeconds: number
  /** Voluntary context switches of the whole process over the window. */
  voluntaryContextSwitches: number
  /** Involuntary context switches of the whole process over the window. */
  involuntaryContextSwitches: number
  /** Peak resident set of the process's whole life up to the end of the window (VmHWM), in bytes. */
  peakRssBytes: number
}

/** Peak resident set in bytes: VmHWM where /proc exists, else getrusage's maxRSS (KiB). */
export function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (match?.[1] !== undefined) {
      return Number(match[1]) * 1024
    }
  } catch {
    // Not Linux: fall through to getrusage.
  }
  return process.resourceUsage().maxRSS * 1024
}
