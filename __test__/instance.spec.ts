/**
 * One client instance per process against the local cluster: a Producer and an Admin share the client id,
 * the connections and the heartbeat; the broker's producer view follows start and shutdown.
 *
 * Sockets are counted in this process only (ava runs each spec file in its own process): the socket inodes
 * of /proc/self/fd matched against the established connections of /proc/net/tcp{,6}.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

import test from 'ava'

import { Admin, Producer, ProducerStateError, type ProducerConnection } from '../index'
import { BROKERS, BROKER_PORTS, NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'

/** Bound of the wait for the first heartbeat to reach both brokers. */
const HEARTBEAT_PATIENCE_MS = 10_000

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (match?.[1] !== undefined) {
        inodes.add(match[1])
      }
    } catch {
      // The fd closed while we listed it.
    }
  }
  return inodes
}

/** Established TCP connections from this process to `port`. */
function connectionsToPort(port: number): number {
  const own = ownSocketInodes()
  const ESTABLISHED = '01'
  let count = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[]
    try {
      lines = readFileSync(table, 'utf8').trim().split('\n').slice(1)
    } catch {
      continue
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/)
      const remote = fields[2] ?? ''
      const remotePort = Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16)
      if (remotePort === port && fields[3] === ESTABLISHED && own.has(fields[9] ?? '')) {
        count += 1
      }
    }
  }
  return count
}

function brokersListing(connections: readonly ProducerConnection[], clientId: string): string[] {
  return [...new Set(connections.filter((c) => c.clientId === clientId).map((c) => c.brokerName))].sort()
}

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

test.serial('a Producer and an Admin share one client id, one connection per broker and the heartbeat', async (t) => {
  t.is(admin.clientId, undefined, 'no client id before the admin talked to the cluster')
  const topic = await createTestTopic(admin, 'instance_shared')
  const group = uniqueName('instance_group')
  const producer = new Producer({ producerGroup: group, namesrvAddr: NAMESRV_ADDR })
  t.is(producer.clientId, undefined, 'no client id before start()')
  await producer.start()
  try {
    const clientId = producer.clientId
    t.truthy(clientId)
    t.is(admin.clientId, clientId)
    t.regex(clientId ?? '', new RegExp(`^[0-9a-fA-F.:]+@${process.pid}$`))

    // Round-robin over both brokers' queues: enough sends to reach each broker.
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => producer.send({ topic, body: `m${i}` })))
    t.deepEqual([...new Set(results.map((r) => r.brokerName))].sort(), [...BROKERS])
    for (const port of BROKER_PORTS) {
      t.is(connectionsToPort(port), 1, `one connection to the broker on port ${port}`)
    }
    const namesrvPort = Number(NAMESRV_ADDR.split(';')[0]?.split(':').pop())
    t.is(connectionsToPort(namesrvPort), 1, 'one connection to the NameServer')

    // The heartbeat goes out when the route shows the brokers; wait (bounded) until both list us.
    const deadline = Date.now() + HEARTBEAT_PATIENCE_MS
    let listing = brokersListing(await admin.producerConnections(group), clientId ?? '')
    while (listing.length < BROKERS.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      listing = brokersListing(await admin.producerConnections(group), clientId ?? '')
    }
    t.deepEqual(listing, [...BROKERS], 'both brokers know our client in the producer group')
  } finally {
    await producer.shutdown()
  }
  // shutdown() waits for UNREGISTER_CLIENT, so the brokers have forgotten the group now.
  t.deepEqual(await admin.producerConnections(group), [])
  // The admin is still a member: the instance and its connections live on.
  t.is(await admin.getMaxOffset(topic, BROKERS[0], 0) >= 0, true)
})

test.serial('a second producer of one group needs its own instanceName, which gives it its own client id', async (t) => {
  const group = uniqueName('instance_dup')
  const first = new Producer({ producerGroup: group, namesrvAddr: NAMESRV_ADDR })
  await first.start()
  try {
    const same = new Producer({ producerGroup: group, namesrvAddr: NAMESRV_ADDR })
    const error = await t.throwsAsync(same.start(), { instanceOf: ProducerStateError })
    t.is(error.code, 'ERR_STATE')
    t.regex(error.message, /instanceName/)

    const named = new Producer({ producerGroup: group, namesrvAddr: NAMESRV_ADDR, instanceName: 'reports', unitName: 'unit1' })
    await named.start()
    try {
      t.regex(named.clientId ?? '', /@reports@unit1$/)
      t.not(named.clientId, first.clientId)
    } finally {
      await named.shutdown()
    }
  } finally {
    await first.shutdown()
  }
})
