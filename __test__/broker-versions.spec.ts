/**
 * What differs between broker versions as a user of this client sees it, asserted for the version the
 * local cluster runs (helpers/broker-version.ts): run against 5.3.3 by `npm test` and against 4.9.7 by
 * `npm run test:compat`. docs/broker-versions.md lists every difference and the spec or test showing it.
 */
import test from 'ava'

import { Admin, ConsumeFromWhere } from '../index'
import { BROKER_IS_4X, BROKER_VERSION } from './helpers/broker-version'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { recordingConsumer, startedProducer, waitFor } from './helpers/consumer'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

test(`a consumed message has the properties the ${BROKER_VERSION} broker stored: WAIT only on 5.x`, async (t) => {
  const topic = await createTestTopic(admin, 'versions_wait')
  const producer = await startedProducer(t)
  // The producer sends WAIT=true with every message, as Java's does (wait for the store before answering).
  const sent = await producer.send({ topic, body: 'wait?', properties: { mine: 'kept' } })
  const { deliveries } = await recordingConsumer(t, topic, {
    consumerGroup: uniqueName('versions_wait'),
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
  })
  t.true(await waitFor(() => deliveries.length >= 1), 'the message was not delivered')
  const properties = deliveries[0]?.message.properties ?? {}
  t.is(properties.mine, 'kept')
  t.is(properties.UNIQ_KEY, sent.msgId)
  if (BROKER_IS_4X) {
    // 4.x drops WAIT when it stores a message.
    t.false('WAIT' in properties, JSON.stringify(properties))
  } else {
    t.is(properties.WAIT, 'true', JSON.stringify(properties))
  }
  // viewMessage reads the same stored record.
  const viewed = await admin.viewMessage(sent.offsetMsgId)
  t.is<string | undefined, string | undefined>(viewed.properties.WAIT, BROKER_IS_4X ? undefined : 'true')
})
