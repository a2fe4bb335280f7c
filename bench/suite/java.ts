/**
 * The Java client's benchmark program (bench/java/BenchClient.java): compiled with javac against the jars of the
 * broker's version that the cluster scripts fetch (`~/.cache/rocketmq-napi/rocketmq-<version>/lib`, override with
 * `ROCKETMQ_LIB`), into bench/.build/java.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { homedir } from 'node:os'
import { join } from 'node:path'

import { BUILD_DIR } from '../harness'

/** The broker version whose client jars the Java runs use. */
export const ROCKETMQ_VERSION = process.env.ROCKETMQ_VERSION ?? '5.3.3'

/** Where the jars are. */
export const ROCKETMQ_LIB = process.env.ROCKETMQ_LIB ?? join(homedir(), '.cache', 'rocketmq-napi', `rocketmq-${ROCKETMQ_VERSION}`, 'lib')

const CLASSES = join(BUILD_DIR, 'java')
const SOURCE = join(__dirname, '..', 'java', 'BenchClient.java')

/** Compiles BenchClient.java (a second or two). */
export function compileJava(): void {
  execFileSync('javac', ['-nowarn', '-d', CLASSES, '-cp', `${ROCKETMQ_LIB}/*`, SOURCE], { stdio: 'inherit' })
}

/** The command of one Java run in `mode`; the run's flags follow. */
export function javaCommand(mode: 'consume' | 'produce'): string[] {
  // The client logs under ~/logs/rocketmqlogs, as it does for any user; a default JVM otherwise.
  return ['java', '-cp', `${ROCKETMQ_LIB}/*:${CLASSES}`, 'BenchClient', mode]
}

/** `java -version`'s first line, e.g. `openjdk version "17.0.15" 2025-04-15`. */
export function javaVersion(): string {
  // It prints to stderr.
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' })
  return `${result.stderr ?? ''}${result.stdout ?? ''}`.split('\n')[0] || 'unknown'
}
