/**
 * The queue assignment a consumer group should reach, worked out independently of the consumer: Java's
 * `AllocateMessageQueueAveragely` over the inputs sorted as Java's `RebalanceImpl` sorts them (queues by
 * topic, broker name, queue id; client ids by `String.compareTo`). Mirrors
 * `crates/client/src/consumer/allocate.rs` so that a spec can say which member must hold which queue.
 */

/** A queue of one topic, as the specs name them. */
export interface QueueRef {
  /** Broker name. */
  brokerName: string
  /** Queue id on that broker. */
  queueId: number
}

/** Java's `String.compareTo`: by UTF-16 code units, which is what JavaScript's `<` compares. */
function javaCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Sorts queues of one topic as Java's `MessageQueue.compareTo` does (broker name, then queue id). */
export function sortQueues(queues: readonly QueueRef[]): QueueRef[] {
  return [...queues].sort((a, b) => javaCompare(a.brokerName, b.brokerName) || a.queueId - b.queueId)
}

/**
 * Each client id's queues under AVG: consecutive runs of the sorted queues, the first `queues % clients`
 * clients (in sorted order) taking one more.
 *
 * @param queues every queue of the topic
 * @param clientIds every member's client id
 * @returns client id to the queue keys (`broker/queueId`) it must hold
 */
export function allocateAveragely(queues: readonly QueueRef[], clientIds: readonly string[]): Map<string, string[]> {
  const sortedQueues = sortQueues(queues)
  const sortedIds = [...clientIds].sort(javaCompare)
  const result = new Map<string, string[]>()
  const total = sortedQueues.length
  const members = sortedIds.length
  sortedIds.forEach((clientId, index) => {
    const remainder = total % members
    const takesOneMore = remainder > 0 && index < remainder
    const average = total <= members ? 1 : takesOneMore ? Math.floor(total / members) + 1 : Math.floor(total / members)
    const start = takesOneMore ? index * average : index * average + remainder
    const count = Math.min(average, Math.max(0, total - start))
    result.set(
      clientId,
      Array.from({ length: count }, (_, i) => sortedQueues[(start + i) % total]).map((q) => `${q?.brokerName}/${q?.queueId}`),
    )
  })
  return result
}
