/**
 * A NameServer that cannot be reached, or never answers, gives typed errors (no timing assertions).
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'

import test from 'ava'

import { Admin, NameServerError, Producer, RocketMQError, TimeoutError } from '../index'
import { uniqueName } from './helpers/cluster'

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

function assertNameServerUnreachable(t: { true: (value: boolean, message?: string) => void; is: (a: unknown, b: unknown) => void }, error: RocketMQError): void {
  t.true(error instanceof NameServerError, `expected NameServerError, got ${error.name} (${error.code}): ${error.message}`)
  t.is(error.code, 'ERR_NAMESERVER')
}

for (const [label, address] of [
  ['port 1', async () => '127.0.0.1:1'],
  ['a released ephemeral port', async () => `127.0.0.1:${await closedPort()}`],
] as const) {
  test(`admin: a NameServer at ${label} gives NameServerError`, async (t) => {
    const admin = new Admin({ namesrvAddr: await address(), timeoutMs: 1000 })
    t.teardown(() => admin.close())
    const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('unreachable')), { instanceOf: RocketMQError })
    assertNameServerUnreachable(t, error)
  })

  test(`producer: sending through a NameServer at ${label} gives NameServerError`, async (t) => {
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
    assertNameServerUnreachable(t, error)
  })
}

test('a NameServer that accepts connections but never answers gives TimeoutError', async (t) => {
  const { server, port, sockets } = await listen()
  t.teardown(() => close(server, sockets))
  const admin = new Admin({ namesrvAddr: `127.0.0.1:${port}`, timeoutMs: 500 })
  t.teardown(() => admin.close())
  const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('silent')), { instanceOf: RocketMQError })
  t.true(error instanceof TimeoutError, `expected TimeoutError, got ${error.name} (${error.code}): ${error.message}`)
  t.is(error.code, 'ERR_TIMEOUT')
})
