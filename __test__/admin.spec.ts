/**
 * Admin against the local cluster: topic creation on both brokers, routes, queue offsets.
 */
import test from 'ava'

import { Admin, BrokerNotAvailableError, Perm, TopicNotFoundError, ValidationError } from '../index'
import { BROKERS, BROKER_PORTS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, uniqueName } from './helpers/cluster'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

test('createTopic puts 8 read/write queues on both brokers and the route shows them', async (t) => {
  const topic = uniqueName('admin_route')
  const brokers = await admin.createTopic({ topic, queueNums: QUEUES_PER_BROKER })
  t.deepEqual([...brokers].sort(), [...BROKERS])

  const route = await admin.getTopicRoute(topic)
  const queueDatas = [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName))
  t.deepEqual(
    queueDatas.map(({ brokerName, readQueueNums, writeQueueNums, perm }) => ({ brokerName, readQueueNums, writeQueueNums, perm })),
    BROKERS.map((brokerName) => ({
      brokerName,
      readQueueNums: QUEUES_PER_BROKER,
      writeQueueNums: QUEUES_PER_BROKER,
      perm: Perm.READ_WRITE,
    })),
  )
  const brokerDatas = [...route.brokerDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName))
  t.deepEqual(
    brokerDatas.map((broker) => broker.brokerName),
    [...BROKERS],
  )
  // Master addresses (broker id 0) of the local cluster.
  t.is(brokerDatas[0]?.brokerAddrs['0'], `127.0.0.1:${BROKER_PORTS[0]}`)
  t.is(brokerDatas[1]?.brokerAddrs['0'], `127.0.0.1:${BROKER_PORTS[1]}`)
  for (const broker of brokerDatas) {
    t.is(typeof broker.cluster, 'string')
    t.not(broker.cluster, '')
  }
})

test('a new topic starts with every queue at offset 0', async (t) => {
  const topic = await createTestTopic(admin, 'admin_offsets')
  for (const broker of BROKERS) {
    for (let queueId = 0; queueId < QUEUES_PER_BROKER; queueId += 1) {
      t.is(await admin.getMaxOffset(topic, broker, queueId), 0)
      t.is(await admin.getMinOffset(topic, broker, queueId), 0)
    }
  }
})

test('the route of an unknown topic is TopicNotFoundError with the NameServer response code', async (t) => {
  const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('admin_missing')), { instanceOf: TopicNotFoundError })
  t.is(error.code, 'ERR_TOPIC_NOT_FOUND')
  // TOPIC_NOT_EXIST
  t.is(error.responseCode, 17)
})

test('offsets of a broker the NameServer does not know give BrokerNotAvailableError', async (t) => {
  const topic = await createTestTopic(admin, 'admin_nobroker')
  const error = await t.throwsAsync(admin.getMaxOffset(topic, 'broker-does-not-exist', 0), {
    instanceOf: BrokerNotAvailableError,
  })
  t.is(error.code, 'ERR_BROKER_NOT_AVAILABLE')
})

test('viewMessage rejects what is not an offsetMsgId with ValidationError', async (t) => {
  for (const bad of ['', 'not-hex', '7F000001', 'Z'.repeat(32)]) {
    const error = await t.throwsAsync(admin.viewMessage(bad), { instanceOf: ValidationError })
    t.is(error.code, 'ERR_VALIDATION')
  }
})
