/**
 * The consumer offsets a broker has committed for a group, read straight from the broker with
 * QUERY_CONSUMER_OFFSET (code 14) over a socket of its own, independently of the client under test: the
 * fault specs compare what a restarted or new member does with what the broker held at a chosen moment.
 */
import net from 'node:net'

import type { Admin } from '../../index'
import { QUEUES_PER_BROKER, queueKey } from './cluster'

const QUERY_CONSUMER_OFFSET = 14
const SUCCESS = 0
const QUERY_NOT_FOUND = 22
const SERIALIZE_JSON = 0
const SERIALIZE_ROCKETMQ = 1
const CLIENT_VERSION = 407
const REQUEST_TIMEOUT_MS = 3000

interface Response {
  code: number
  remark: string | null
  extFields: Record<string, string>
}

function encodeRequest(code: number, opaque: number, extFields: Record<string, string>): Buffer {
  const header = Buffer.from(JSON.stringify({ code, language: 'JAVA', version: CLIENT_VERSION, opaque, flag: 0, extFields }))
  const frame = Buffer.alloc(8 + header.length)
  frame.writeInt32BE(4 + header.length, 0)
  frame.writeInt32BE((SERIALIZE_JSON << 24) | header.length, 4)
  header.copy(frame, 8)
  return frame
}

/** The binary (ROCKETMQ) header: code, language, version, opaque, flag, remark, then the ext fields. */
function decodeBinaryHeader(buf: Buffer): Response {
  const code = buf.readInt16BE(0)
  const remarkLength = buf.readInt32BE(13)
  let at = 17
  const remark = remarkLength > 0 ? buf.subarray(at, at + remarkLength).toString('utf8') : null
  at += Math.max(remarkLength, 0)
  const extFields: Record<string, string> = {}
  const extLength = buf.readInt32BE(at)
  at += 4
  const end = at + extLength
  while (at < end) {
    const keyLength = buf.readInt16BE(at)
    const key = buf.subarray(at + 2, at + 2 + keyLength).toString('utf8')
    at += 2 + keyLength
    const valueLength = buf.readInt32BE(at)
    extFields[key] = buf.subarray(at + 4, at + 4 + valueLength).toString('utf8')
    at += 4 + valueLength
  }
  return { code, remark, extFields }
}

function decodeResponse(frame: Buffer): Response {
  const headerWord = frame.readInt32BE(0)
  const serializeType = (headerWord >>> 24) & 0xff
  const headerBytes = frame.subarray(4, 4 + (headerWord & 0xffffff))
  if (serializeType === SERIALIZE_ROCKETMQ) {
    return decodeBinaryHeader(headerBytes)
  }
  const header = JSON.parse(headerBytes.toString('utf8')) as { code: number; remark?: string; extFields?: Record<string, string> }
  return { code: header.code, remark: header.remark ?? null, extFields: header.extFields ?? {} }
}

/** One request and its response on a connection of its own. */
function request(address: string, code: number, extFields: Record<string, string>): Promise<Response> {
  const [host, port] = address.split(':')
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) })
    let received = Buffer.alloc(0)
    const fail = (error: Error): void => {
      socket.destroy()
      reject(error)
    }
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => fail(new Error(`${address}: no answer within ${REQUEST_TIMEOUT_MS} ms`)))
    socket.on('error', fail)
    socket.on('connect', () => socket.write(encodeRequest(code, 1, extFields)))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) {
        return
      }
      socket.destroy()
      try {
        resolve(decodeResponse(received.subarray(4, 4 + received.readInt32BE(0))))
      } catch (error) {
        reject(error as Error)
      }
    })
    socket.on('end', () => fail(new Error(`${address}: closed before a full response`)))
  })
}

/**
 * The offset `group` has committed on `topic`'s queue, as the broker at `address` holds it; -1 when it holds
 * none.
 */
export async function committedOffset(address: string, group: string, topic: string, queueId: number): Promise<number> {
  const response = await request(address, QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queueId) })
  if (response.code === QUERY_NOT_FOUND) {
    return -1
  }
  if (response.code !== SUCCESS) {
    throw new Error(`QUERY_CONSUMER_OFFSET ${group}/${topic}/${queueId} on ${address}: code ${response.code} ${response.remark ?? ''}`)
  }
  return Number(response.extFields.offset)
}

/**
 * Committed offsets of every queue of `topic` ({@link QUEUES_PER_BROKER} per broker), keyed `broker/queueId`,
 * from the master address the NameServer routes to for each broker.
 *
 * @param admin admin client of the cluster
 * @param group consumer group
 * @param topic topic
 * @param brokers the broker names to ask (a stopped broker is left out by the caller)
 */
export async function committedOffsets(admin: Admin, group: string, topic: string, brokers: readonly string[]): Promise<Map<string, number>> {
  const route = await admin.getTopicRoute(topic)
  const offsets = new Map<string, number>()
  for (const brokerName of brokers) {
    const address = route.brokerDatas.find((b) => b.brokerName === brokerName)?.brokerAddrs['0']
    if (address === undefined) {
      throw new Error(`no master of ${brokerName} in the route of ${topic}`)
    }
    const perQueue = await Promise.all(
      Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => committedOffset(address, group, topic, queueId)),
    )
    perQueue.forEach((offset, queueId) => offsets.set(queueKey(brokerName, queueId), offset))
  }
  return offsets
}
