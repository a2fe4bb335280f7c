//! The push consumer's orderly mode ([`PushConsumer::new_orderly`]) against the real local cluster:
//! two members of one group, the second joining while the first's calls run, consume every
//! queue in offset order with never two calls of one queue at once, and nothing is lost. Waits
//! are bounded by [`WAIT`], a limit rather than a timing assumption.

mod common;

use common::{cluster_admin, create_topic, namesrv, started_producer, unique};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rocketmq_client::consumer::orderly::{
    ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly,
};
use rocketmq_client::consumer::push::{PushConsumer, PushConsumerConfig};
use rocketmq_client::OutgoingMessage;
use rocketmq_remoting::body::{ConsumeFromWhere, MessageQueue};
use rocketmq_remoting::message::MessageExt;

const WAIT: Duration = Duration::from_secs(90);
const QUEUES_PER_BROKER: i32 = 4;

#[derive(Default)]
struct Ledger {
    /// Per queue, the offsets in the order the listeners got them.
    delivered: BTreeMap<MessageQueue, Vec<i64>>,
    /// The queues a call is running on now, and who runs it.
    running: BTreeMap<MessageQueue, &'static str>,
    overlaps: Vec<String>,
}

fn listener(member: &'static str, ledger: Arc<Mutex<Ledger>>) -> Arc<dyn MessageListenerOrderly> {
    Arc::new(
        move |messages: Vec<Arc<MessageExt>>, context: ConsumeOrderlyContext| {
            let ledger = Arc::clone(&ledger);
            async move {
                {
                    let mut l = ledger.lock().unwrap();
                    if let Some(other) = l.running.insert(context.queue.clone(), member) {
                        let overlap =
                            format!("{member} began {} while {other} ran it", context.queue);
                        l.overlaps.push(overlap);
                    }
                    let offsets = l.delivered.entry(context.queue.clone()).or_default();
                    offsets.extend(messages.iter().map(|m| m.queue_offset));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                ledger.lock().unwrap().running.remove(&context.queue);
                ConsumeOrderlyStatus::Success
            }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local cluster; npm test runs it"]
async fn two_orderly_members_keep_each_queue_in_order_and_never_overlap() {
    const COUNT: usize = 600;
    let topic = unique("OrderlyIT");
    let admin_instance = unique("orderly_admin");
    let admin = cluster_admin(&admin_instance);
    create_topic(&admin, &topic, QUEUES_PER_BROKER).await;
    let producer = started_producer(&admin_instance, "OrderlyITProducer").await;
    for chunk in 0..COUNT / 50 {
        let sends: Vec<_> = (0..50)
            .map(|i| {
                producer.send(OutgoingMessage {
                    topic: topic.clone(),
                    body: Bytes::from(format!("o-{}", chunk * 50 + i)),
                    ..OutgoingMessage::default()
                })
            })
            .collect();
        for send in sends {
            send.await.unwrap();
        }
    }
    let group = unique("OrderlyITGroup");
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let member = |name: &'static str| {
        let config = PushConsumerConfig {
            group: group.clone(),
            namesrv_addr: namesrv(),
            instance_name: Some(unique(name)),
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            consume_message_batch_max_size: 2,
            max_reconsume_times: -1,
            ..PushConsumerConfig::default()
        };
        let consumer =
            PushConsumer::new_orderly(config, listener(name, Arc::clone(&ledger))).unwrap();
        consumer.subscribe(&topic, "*").unwrap();
        consumer
    };
    let first = member("first");
    first.start().await.unwrap();
    let delivered = |l: &Ledger| -> usize {
        l.delivered
            .values()
            .map(|o| o.iter().collect::<BTreeSet<_>>().len())
            .sum()
    };
    let deadline = Instant::now() + WAIT;
    while delivered(&ledger.lock().unwrap()) < COUNT / 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = member("second");
    second.start().await.unwrap();
    while delivered(&ledger.lock().unwrap()) < COUNT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.shutdown().await;
    second.shutdown().await;
    producer.shutdown().await;

    let l = ledger.lock().unwrap();
    assert_eq!(delivered(&l), COUNT, "every message is consumed");
    assert!(l.overlaps.is_empty(), "{:?}", l.overlaps);
    for (mq, offsets) in &l.delivered {
        // A handover may repeat what was not committed yet; it never skips ahead.
        let mut highest = -1;
        for offset in offsets {
            assert!(*offset <= highest + 1, "{mq}: {offset} after {highest}");
            highest = highest.max(*offset);
        }
    }
}
