//! Our queue-allocation strategies against the Java client's: every case of
//! `fixtures/allocate_vectors.json` (printed by the Java classes through
//! `java/AllocateVectors.java`) must give, for every client id asked, exactly the queues
//! Java gave, in Java's order, or an error where Java threw. Then properties that hold for
//! any input: every queue owned exactly once where Java's strategy guarantees it.

use std::collections::BTreeMap;

use rocketmq_client::consumer::allocate::{
    sort_for_allocation, AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig,
    AllocateByMachineRoom, AllocateConsistentHash, AllocateStrategy,
};
use rocketmq_remoting::body::MessageQueue;
use serde::Deserialize;

/// A queue as the fixture writes it: `[topic, brokerName, queueId]`.
type Queue = (String, String, i32);

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    strategy: StrategySpec,
    java_name: String,
    sort_first: bool,
    input_queues: Vec<Queue>,
    input_cids: Vec<String>,
    sorted_queues: Option<Vec<Queue>>,
    sorted_cids: Option<Vec<String>>,
    allocations: Vec<Allocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StrategySpec {
    kind: String,
    virtual_nodes: Option<u32>,
    consumer_idcs: Option<Vec<String>>,
    queues: Option<Vec<Queue>>,
}

#[derive(Deserialize)]
struct Allocation {
    cid: String,
    queues: Option<Vec<Queue>>,
    error: Option<String>,
}

fn mq((topic, broker, id): &Queue) -> MessageQueue {
    MessageQueue::new(topic.as_str(), broker.as_str(), *id)
}

fn mqs(queues: &[Queue]) -> Vec<MessageQueue> {
    queues.iter().map(mq).collect()
}

fn build(spec: &StrategySpec) -> Box<dyn AllocateStrategy> {
    match spec.kind.as_str() {
        "averagely" => Box::new(AllocateAveragely),
        "averagelyByCircle" => Box::new(AllocateAveragelyByCircle),
        "consistentHash" => Box::new(
            spec.virtual_nodes
                .map(AllocateConsistentHash::new)
                .unwrap_or_default(),
        ),
        "machineRoom" => Box::new(AllocateByMachineRoom::new(
            spec.consumer_idcs
                .clone()
                .expect("machineRoom case has consumerIdcs"),
        )),
        "config" => Box::new(AllocateByConfig::new(mqs(spec
            .queues
            .as_deref()
            .expect("config case has queues")))),
        other => panic!("fixture names an unknown strategy kind {other}"),
    }
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/allocate_vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read the allocation vectors");
    serde_json::from_str(&text).expect("parse the allocation vectors")
}

#[test]
fn every_strategy_allocates_exactly_as_java_does() {
    let fixture = fixture();
    let mut failures = Vec::new();
    let mut checked_per_kind: BTreeMap<String, usize> = BTreeMap::new();
    for case in &fixture.cases {
        let strategy = build(&case.strategy);
        if strategy.name() != case.java_name {
            failures.push(format!(
                "{}: name {} but Java's getName() is {}",
                case.name,
                strategy.name(),
                case.java_name
            ));
        }
        let mut queues = mqs(&case.input_queues);
        let mut cids = case.input_cids.clone();
        if case.sort_first {
            sort_for_allocation(&mut queues, &mut cids);
            let java_queues = mqs(case
                .sorted_queues
                .as_deref()
                .expect("sorted case has sortedQueues"));
            if queues != java_queues {
                failures.push(format!(
                    "{}: queues sorted as {queues:?}, Java {java_queues:?}",
                    case.name
                ));
            }
            if Some(&cids) != case.sorted_cids.as_ref() {
                failures.push(format!(
                    "{}: cids sorted as {cids:?}, Java {:?}",
                    case.name, case.sorted_cids
                ));
            }
        }
        for expected in &case.allocations {
            let ours = strategy.allocate("vector-group", &expected.cid, &queues, &cids);
            match (&ours, &expected.queues, &expected.error) {
                (Ok(got), Some(java), None) if *got == mqs(java) => {}
                (Err(_), None, Some(_)) => {}
                _ => failures.push(format!(
                    "{} (cid {:?}): ours {ours:?}, Java {:?} / error {:?}",
                    case.name, expected.cid, expected.queues, expected.error
                )),
            }
            *checked_per_kind
                .entry(case.strategy.kind.clone())
                .or_default() += 1;
        }
    }
    // A fixture that lost a strategy's cases must not pass quietly.
    for kind in [
        "averagely",
        "averagelyByCircle",
        "consistentHash",
        "machineRoom",
        "config",
    ] {
        assert!(
            checked_per_kind.get(kind).copied().unwrap_or(0) >= 5,
            "too few {kind} vectors: {checked_per_kind:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of the allocations differ from Java's; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn topic_queues(per_broker: &[usize]) -> Vec<MessageQueue> {
    let mut queues = Vec::new();
    for (b, &count) in per_broker.iter().enumerate() {
        for id in 0..count {
            queues.push(MessageQueue::new(
                "PropTopic",
                format!("broker-{b}"),
                id as i32,
            ));
        }
    }
    queues
}

fn client_ids(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("10.1.{}.{}@{}", i % 3, i, 7000 + i))
        .collect()
}

/// How many of `cids` own each queue, every cid allocating over the same sorted inputs.
fn owners_per_queue(
    strategy: &dyn AllocateStrategy,
    queues: &[MessageQueue],
    cids: &[String],
) -> BTreeMap<MessageQueue, usize> {
    let mut queues = queues.to_vec();
    let mut cids = cids.to_vec();
    sort_for_allocation(&mut queues, &mut cids);
    let mut owners: BTreeMap<MessageQueue, usize> = queues.iter().map(|q| (q.clone(), 0)).collect();
    for cid in &cids {
        for owned in strategy
            .allocate("prop-group", cid, &queues, &cids)
            .expect("valid inputs")
        {
            *owners
                .get_mut(&owned)
                .expect("an owned queue is one of the inputs") += 1;
        }
    }
    owners
}

const LAYOUTS: &[&[usize]] = &[
    &[1],
    &[3],
    &[8, 8],
    &[4, 3, 1],
    &[16],
    &[5, 0, 7],
    &[2, 2, 2, 2],
];

#[test]
fn averagely_circle_and_hash_give_every_queue_exactly_one_owner() {
    let strategies: [Box<dyn AllocateStrategy>; 5] = [
        Box::new(AllocateAveragely),
        Box::new(AllocateAveragelyByCircle),
        Box::new(AllocateConsistentHash::default()),
        Box::new(AllocateConsistentHash::new(1)),
        Box::new(AllocateConsistentHash::new(64)),
    ];
    for strategy in &strategies {
        for layout in LAYOUTS {
            for consumers in 1..=20 {
                let owners = owners_per_queue(
                    strategy.as_ref(),
                    &topic_queues(layout),
                    &client_ids(consumers),
                );
                for (queue, count) in owners {
                    assert_eq!(
                        count,
                        1,
                        "{}: {queue} has {count} owners among {consumers} consumers ({layout:?})",
                        strategy.name()
                    );
                }
            }
        }
    }
}

#[test]
fn averagely_shares_are_even_and_consecutive() {
    for layout in LAYOUTS {
        let mut queues = topic_queues(layout);
        for consumers in 1..=20 {
            let mut cids = client_ids(consumers);
            sort_for_allocation(&mut queues, &mut cids);
            let shares: Vec<Vec<MessageQueue>> = cids
                .iter()
                .map(|cid| {
                    AllocateAveragely
                        .allocate("g", cid, &queues, &cids)
                        .unwrap()
                })
                .collect();
            let sizes: Vec<usize> = shares.iter().map(Vec::len).collect();
            let (min, max) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
            assert!(
                max - min <= 1,
                "uneven shares {sizes:?} ({layout:?}, {consumers})"
            );
            // Concatenated in client order, the shares are the sorted queue list itself.
            assert_eq!(shares.concat(), queues, "{layout:?}, {consumers} consumers");
        }
    }
}

#[test]
fn machine_room_shares_exactly_the_queues_of_its_rooms() {
    let mut queues = Vec::new();
    for (broker, count) in [
        ("hz@a", 5),
        ("sh@b", 3),
        ("bj@c", 4),
        ("plain", 2),
        ("hz@d@e", 2),
    ] {
        queues.extend((0..count).map(|id| MessageQueue::new("RoomTopic", broker, id)));
    }
    let strategy = AllocateByMachineRoom::new(["hz".to_string(), "sh".to_string()]);
    for consumers in 1..=12 {
        let owners = owners_per_queue(&strategy, &queues, &client_ids(consumers));
        for (queue, count) in owners {
            let expected = usize::from(queue.broker_name == "hz@a" || queue.broker_name == "sh@b");
            assert_eq!(count, expected, "{queue} with {consumers} consumers");
        }
    }
}

#[test]
fn consistent_hash_without_virtual_nodes_assigns_nothing_as_in_java() {
    let owners = owners_per_queue(
        &AllocateConsistentHash::new(0),
        &topic_queues(&[4]),
        &client_ids(2),
    );
    assert!(owners.values().all(|&n| n == 0), "{owners:?}");
}

#[test]
fn a_client_missing_from_the_list_owns_nothing_and_bad_arguments_are_errors() {
    let queues = topic_queues(&[4]);
    let cids = client_ids(2);
    let strategies: [Box<dyn AllocateStrategy>; 4] = [
        Box::new(AllocateAveragely),
        Box::new(AllocateAveragelyByCircle),
        Box::new(AllocateConsistentHash::default()),
        Box::new(AllocateByMachineRoom::new(["hz".to_string()])),
    ];
    for strategy in &strategies {
        let name = strategy.name();
        assert_eq!(
            strategy
                .allocate("g", "stranger@1", &queues, &cids)
                .unwrap(),
            [],
            "{name}"
        );
        assert!(
            strategy.allocate("g", "", &queues, &cids).is_err(),
            "{name}: empty cid"
        );
        assert!(
            strategy.allocate("g", &cids[0], &[], &cids).is_err(),
            "{name}: no queues"
        );
        assert!(
            strategy.allocate("g", &cids[0], &queues, &[]).is_err(),
            "{name}: no cids"
        );
    }
}
