/**
 * A RocketMQ cluster of a spec's own, on ports apart from the shared one, for faults the shared cluster must
 * not see (a broker stopped while other specs use it): started and stopped with the scripts of
 * `scripts/rocketmq/`, one broker stopped and started with `broker.sh`.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'

const SCRIPTS = join(__dirname, '..', '..', 'scripts', 'rocketmq')

/** Ports of a cluster; broker ports also use port-2 and port+1. */
export interface ClusterPorts {
  namesrv: number
  brokerA: number
  brokerB: number
}

/** A cluster run by the scripts on the given ports. */
export class OwnCluster {
  readonly ports: ClusterPorts

  constructor(ports: ClusterPorts) {
    this.ports = ports
  }

  /** The NameServer address. */
  get namesrvAddr(): string {
    return `127.0.0.1:${this.ports.namesrv}`
  }

  /** The environment the scripts read: these ports and the state directory that belongs to them. */
  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ROCKETMQ_NAMESRV_PORT: String(this.ports.namesrv),
      ROCKETMQ_BROKER_A_PORT: String(this.ports.brokerA),
      ROCKETMQ_BROKER_B_PORT: String(this.ports.brokerB),
      // Never a directory inherited for the shared cluster.
      ROCKETMQ_STATE_DIR: `/dev/shm/rocketmq-napi-${this.ports.namesrv}`,
    }
  }

  /**
   * Runs one of the scripts and resolves with its output; rejects with the output when it fails or outlives
   * `limitMs` (a guard; the JVMs it started run in their own sessions and are stopped by stop.sh).
   */
  run(script: string, args: readonly string[] = [], extraEnv: NodeJS.ProcessEnv = {}, limitMs = 150_000): Promise<string> {
    const env = { ...this.env, ...extraEnv }
    return new Promise((resolve, reject) => {
      execFile('bash', [join(SCRIPTS, script), ...args], { env, timeout: limitMs }, (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`
        if (error) {
          reject(new Error(`${script} ${args.join(' ')} failed: ${error.message}\n${output}`))
        } else {
          resolve(output)
        }
      })
    })
  }

  /** Starts the cluster (stopping first what an aborted earlier run may have left on these ports). */
  async start(): Promise<void> {
    await this.stop()
    await this.run('start.sh')
  }

  /**
   * Stops every process of the cluster and deletes its state. Without the brokers' graceful shutdown (about
   * 20 s): SIGKILL after 2 s, since the stores are deleted anyway.
   */
  async stop(): Promise<void> {
    await this.run('stop.sh', [], { ROCKETMQ_STOP_TIMEOUT: '2' })
  }

  /** Stops one broker (SIGTERM: it flushes its store and unregisters); its store is kept. */
  async stopBroker(name: 'broker-a' | 'broker-b'): Promise<void> {
    await this.run('broker.sh', ['stop', name])
  }

  /** Starts one broker again on its kept store; resolves once the NameServer routes to it. */
  async startBroker(name: 'broker-a' | 'broker-b'): Promise<void> {
    await this.run('broker.sh', ['start', name])
  }
}
