/**
 * Subscriptions: what a consumer asks for, kept in a SubscriptionManager (no broker needed).
 *
 *   npx tsx examples/subscriptions.ts
 *
 * A Consumer reads its manager at start(); changes made to the manager of a running consumer reach the
 * brokers at once (see examples/clustering.ts).
 */
import { MessageSelector, SubscriptionError, SubscriptionManager } from '../index'

function main(): void {
  const subscriptionManager = new SubscriptionManager()

  // Every message of a topic.
  subscriptionManager.subscribe('test_topic')

  // With a selector. `order_*` is a glob: the brokers are asked for the whole topic and the tags are
  // matched here, so only `order_created`, `order_paid`, ... reach the listener.
  const selector = new MessageSelector('tag', 'order_*')
  subscriptionManager.subscribe('order_topic', selector)

  // Replace the selector: SQL92, evaluated by the brokers (they must run with enablePropertyFilter=true).
  const newSelector = new MessageSelector('sql', 'amount > 100')
  subscriptionManager.updateSelector('order_topic', newSelector)

  // Queries.
  const isSubscribed = subscriptionManager.isSubscribed('test_topic')
  const subscription = subscriptionManager.getSubscription('order_topic')
  const allTopics = subscriptionManager.getTopics()
  console.log(`test_topic subscribed: ${isSubscribed}`)
  console.log(`order_topic: ${subscription?.selector.type} ${subscription?.selector.expression} (version ${subscription?.subVersion})`)
  console.log(`topics: ${allTopics.join(', ')}`)

  // Subscribing the same topic again with another selector is a conflict: updateSelector() is the way.
  try {
    subscriptionManager.subscribe('order_topic', MessageSelector.byTag('refund'))
  } catch (error) {
    if (!(error instanceof SubscriptionError)) throw error
    console.log(`refused: ${error.name} (${error.code})`)
  }

  // Unsubscribe.
  subscriptionManager.unsubscribe('test_topic')

  // Export (plain JSON-able data) and import, e.g. to keep subscriptions in a configuration file.
  const exportData = subscriptionManager.exportSubscriptions()
  const json = JSON.stringify(exportData)
  const restored = new SubscriptionManager()
  restored.importSubscriptions(JSON.parse(json))
  console.log(`restored: ${restored.getTopics().join(', ')}`)

  // Java's SubscriptionData shape, as the brokers and the Java tools show it.
  for (const data of restored.toSubscriptionDataList()) {
    console.log(`SubscriptionData ${data.topic}: ${data.expressionType} ${data.subString}`)
  }
}

main()
