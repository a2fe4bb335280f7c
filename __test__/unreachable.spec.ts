/**
 * A NameServer that cannot be reached, or never answers, gives typed errors (no timing assertions).
 * Every address is on 127.0.0.1: port 1, ports just released, and a local server that never replies.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'

import test from 'ava'

import { Admin, NameServerError, NetworkError, Producer, RocketMQError, TimeoutError } from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'

/** Listens on an ephemeral loopback port; `silent` accepts connections and never answers. */
async function listen(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // Swallow what the client sends; never reply.
    socket.on('data', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, sockets }
}

async function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) {
    socket.destroy()
  }
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** A loopback port nothing listens on: bind an ephemeral port, then release it. */
async function closedPort(): Promise<number> {
  const { server, port, sockets } = await listen()
  await close(server, sockets)
  return port
}

type ErrorClass = new (...args: never[]) => RocketMQError

function assertTyped(
  t: { true: (value: boolean, message?: string) => void; is: (a: unknown, b: unknown) => void },
  error: RocketMQError,
  expected: ErrorClass & { CODE: string },
): void {
  t.true(error instanceof expected, `expected ${expected.name}, got ${error.name} (${error.code}): ${error.message}`)
  t.is(error.code, expected.CODE)
}

// One NameServer: the precise transport error comes through. Several: NameServerError sums them up.
const UNREACHABLE: ReadonlyArray<[string, () => Promise<string>, ErrorClass & { CODE: string }]> = [
  ['port 1', async () => '127.0.0.1:1', NetworkError],
  ['a released ephemeral port', async () => `127.0.0.1:${await closedPort()}`, NetworkError],
  ['two closed ports', async () => `127.0.0.1:1;127.0.0.1:${await closedPort()}`, NameServerError],
]

for (const [label, address, expected] of UNREACHABLE) {
  test(`admin: NameServer at ${label} gives ${expected.name}`, async (t) => {
    const admin = new Admin({ namesrvAddr: await address(), timeoutMs: 1000 })
    t.teardown(() => admin.close())
    const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('unreachable')), { instanceOf: RocketMQError })
    assertTyped(t, error, expected)
  })

  test(`producer: sending through a NameServer at ${label} gives ${expected.name}`, async (t) => {
    const producer = new Producer({
      namesrvAddr: await address(),
      producerGroup: uniqueName('unreachable'),
      sendMsgTimeout: 1000,
      retryTimesWhenSendFailed: 0,
    })
    await producer.start()
    t.teardown(() => producer.shutdown())
    const error = await t.throwsAsync(producer.send({ topic: uniqueName('unreachable'), body: 'x' }), {
      instanceOf: RocketMQError,
    })
    assertTyped(t, error, expected)
  })
}

test('a NameServer that accepts connections but never answers gives TimeoutError', async (t) => {
  const { server, port, sockets } = await listen()
  t.teardown(() => close(server, sockets))
  const admin = new Admin({ namesrvAddr: `127.0.0.1:${port}`, timeoutMs: 500 })
  t.teardown(() => admin.close())
  const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('silent')), { instanceOf: RocketMQError })
  assertTyped(t, error, TimeoutError)
})

test('a dead NameServer ahead of a live one in namesrvAddr is skipped: routes and sends work', async (t) => {
  const namesrvAddr = `127.0.0.1:${await closedPort()};${NAMESRV_ADDR}`
  const admin = new Admin({ namesrvAddr })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'failover')
  const route = await admin.getTopicRoute(topic)
  t.is(route.queueDatas.length, 2)
  const producer = new Producer({ namesrvAddr, producerGroup: uniqueName('failover') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const result = await producer.send({ topic, body: 'through the second NameServer' })
  t.is(result.status, 'SEND_OK')
})
