/**
 * A RocketMQ 5 proxy for the gRPC clients (rocketmq-client-nodejs and whatever plugs in with `bench:needs-proxy`),
 * started by the benchmark from the Maven Central jars and stopped by it.
 *
 * The jars: `org.apache.rocketmq:rocketmq-proxy:<version>` with its dependencies (136 jars for 5.3.3), fetched
 * once with Maven (`mvn dependency:copy-dependencies` of a one-dependency pom) into
 * `~/.cache/rocketmq-napi/proxy-<version>/lib` (override with `ROCKETMQ_PROXY_LIB`). The proxy runs in cluster mode
 * against the benchmark's NameServer, its gRPC port on `--proxy-port` (default 32081) and its remoting port on the
 * next one; both bind every interface (5.3.3 has no bind option). Its home (logs) is a temporary directory.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

import { ROCKETMQ_VERSION } from './java'

/** Where the proxy's jars are (fetched by {@link fetchProxyJars}). */
export const PROXY_LIB = process.env.ROCKETMQ_PROXY_LIB ?? join(homedir(), '.cache', 'rocketmq-napi', `proxy-${ROCKETMQ_VERSION}`, 'lib')

/** Fetches the proxy and its dependencies from Maven Central into {@link PROXY_LIB} unless they are there. */
export function fetchProxyJars(): void {
  if (existsSync(join(PROXY_LIB, `rocketmq-proxy-${ROCKETMQ_VERSION}.jar`))) {
    return
  }
  const dir = join(PROXY_LIB, '..')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.bench</groupId><artifactId>proxy-deps</artifactId><version>1</version>
  <dependencies><dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-proxy</artifactId>
  <version>${ROCKETMQ_VERSION}</version></dependency></dependencies></project>\n`,
  )
  console.log(`fetching rocketmq-proxy ${ROCKETMQ_VERSION} and its dependencies from Maven Central into ${PROXY_LIB}`)
  execFileSync('mvn', ['-q', 'dependency:copy-dependencies', `-DoutputDirectory=${PROXY_LIB}`], { cwd: dir, stdio: 'inherit' })
}

/** A running proxy. */
export interface RunningProxy {
  /** `127.0.0.1:<grpc port>`, what the gRPC clients get as `endpoints`. */
  endpoints: string
  pid: number
  /** Its home directory (logs under `logs/`). */
  home: string
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and resolves when it has exited. */
  stop(): Promise<void>
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Starts a proxy on `grpcPort` (and `grpcPort + 1` for remoting) for the cluster of `namesrv` and resolves once
 * its gRPC port accepts connections (about 8 s here); rejects after 90 s or when the JVM exits, saying why.
 */
export async function startProxy(namesrv: string, grpcPort: number, clusterName = 'DefaultCluster'): Promise<RunningProxy> {
  fetchProxyJars()
  if (readdirSync(PROXY_LIB).length === 0) {
    throw new Error(`no jars in ${PROXY_LIB}`)
  }
  if (await portOpen(grpcPort)) {
    throw new Error(`port ${grpcPort} is taken: stop what listens there or pass another --proxy-port`)
  }
  const home = mkdtempSync(join(tmpdir(), 'rocketmq-bench-proxy-'))
  const config = join(home, 'rmq-proxy.json')
  writeFileSync(
    config,
    JSON.stringify({ rocketMQClusterName: clusterName, namesrvAddr: namesrv, proxyMode: 'cluster', grpcServerPort: grpcPort, remotingListenPort: grpcPort + 1 }),
  )
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx512m',
      // JDK 17: the proxy's dependencies reach into these internals (the broker's own flags).
      '--add-opens=java.base/java.lang=ALL-UNNAMED',
      '--add-opens=java.base/java.util=ALL-UNNAMED',
      '--add-opens=java.base/java.nio=ALL-UNNAMED',
      '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
      '--add-exports=java.base/sun.nio.ch=ALL-UNNAMED',
      '-cp',
      `${PROXY_LIB}/*`,
      `-Duser.home=${home}`,
      `-Drocketmq.home.dir=${home}`,
      'org.apache.rocketmq.proxy.ProxyStartup',
      '-pc',
      config,
      '-pm',
      'cluster',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited(child)
      clearTimeout(timer)
    }
  }
  const deadline = Date.now() + 90_000
  while (!(await portOpen(grpcPort))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the proxy exited (${child.exitCode ?? child.signalCode}) before listening; its output: ${output}`)
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the proxy did not listen on ${grpcPort} within 90 s; its output: ${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return { endpoints: `127.0.0.1:${grpcPort}`, pid: child.pid ?? 0, home, stop }
}
