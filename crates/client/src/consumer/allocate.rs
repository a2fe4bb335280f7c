//! Queue allocation: which of a topic's queues this consumer owns, given every consumer of
//! its group. Pure functions of their inputs (no I/O), one strategy per Java class of
//! `org.apache.rocketmq.client.consumer.rebalance`, each giving exactly Java's assignment:
//! Java and our consumers share one group, so any difference would leave a queue with two
//! owners or none. `tests/allocate_vectors.rs` checks that against vectors printed by the
//! Java classes themselves (`tests/java/AllocateVectors.java`).
//!
//! Ordering: the strategies use their inputs in the order given, as Java's do. Java's
//! `RebalanceImpl` sorts the queues and the client ids before calling a strategy; the caller
//! (our rebalance) must do the same with [`sort_for_allocation`], or two clients seeing the
//! same sets in different orders would disagree.
//!
//! Java's argument checks are kept: an empty current client id, no queues or no client ids
//! is an error (Java throws, and `RebalanceImpl` then leaves that topic's queues as they
//! were); a current client id missing from the list owns nothing and is logged.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use rocketmq_remoting::body::MessageQueue;

use crate::error::{ClientError, Result};

/// One way of sharing a topic's queues among the consumers of a group.
pub trait AllocateStrategy: Send + Sync + std::fmt::Debug {
    /// The name Java's `getName()` returns; `ConsumerRunningInfo` reports it.
    fn name(&self) -> &'static str;

    /// The queues `current_cid` owns among `all_mqs`, shared among `all_cids`. Inputs are
    /// used in the order given: sort them first with [`sort_for_allocation`].
    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Result<Vec<MessageQueue>>;
}

/// Sorts the inputs of a strategy as Java's `RebalanceImpl` does: queues by
/// `MessageQueue.compareTo` (topic, broker name, queue id), client ids by `String.compareTo`.
/// Java compares strings by UTF-16 code units, which differs from Rust's byte order only
/// for characters outside the Basic Multilingual Plane; the comparison here is Java's.
pub fn sort_for_allocation(all_mqs: &mut [MessageQueue], all_cids: &mut [String]) {
    all_mqs.sort_by(|a, b| {
        java_string_cmp(&a.topic, &b.topic)
            .then_with(|| java_string_cmp(&a.broker_name, &b.broker_name))
            .then(a.queue_id.cmp(&b.queue_id))
    });
    all_cids.sort_by(|a, b| java_string_cmp(a, b));
}

fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `AbstractAllocateMessageQueueStrategy.check`, answering also Java's
/// `cidAll.indexOf(currentCID)` (the first occurrence): `None` when the current client is
/// not in the list, which owns nothing then.
fn index_of_current(
    consumer_group: &str,
    current_cid: &str,
    all_mqs: &[MessageQueue],
    all_cids: &[String],
) -> Result<Option<usize>> {
    if current_cid.is_empty() {
        return Err(ClientError::Validation(
            "allocate: the current client id is empty".into(),
        ));
    }
    if all_mqs.is_empty() {
        return Err(ClientError::Validation(
            "allocate: the topic has no queues to allocate".into(),
        ));
    }
    if all_cids.is_empty() {
        return Err(ClientError::Validation(
            "allocate: the group has no client ids".into(),
        ));
    }
    let index = all_cids.iter().position(|cid| cid == current_cid);
    if index.is_none() {
        // The broker's list lags behind our heartbeat: we own nothing until it catches up.
        log::warn!(
            "allocate: consumer group {consumer_group}: client id {current_cid} is not among {all_cids:?}; it gets no queue"
        );
    }
    Ok(index)
}

/// Java's `AllocateMessageQueueAveragely`, the default: consecutive runs of queues, the
/// first `queues % consumers` consumers taking one more.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragely;

impl AllocateStrategy for AllocateAveragely {
    fn name(&self) -> &'static str {
        "AVG"
    }

    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Result<Vec<MessageQueue>> {
        let Some(index) = index_of_current(consumer_group, current_cid, all_mqs, all_cids)? else {
            return Ok(Vec::new());
        };
        let (queues, consumers) = (all_mqs.len(), all_cids.len());
        let remainder = queues % consumers;
        let takes_one_more = remainder > 0 && index < remainder;
        let average = if queues <= consumers {
            1
        } else if takes_one_more {
            queues / consumers + 1
        } else {
            queues / consumers
        };
        let start = if takes_one_more {
            index * average
        } else {
            index * average + remainder
        };
        // With more consumers than queues, start passes the end for the surplus ones.
        let count = average.min(queues.saturating_sub(start));
        Ok((0..count)
            .map(|i| all_mqs[(start + i) % queues].clone())
            .collect())
    }
}

/// Java's `AllocateMessageQueueAveragelyByCircle`: queues dealt out one at a time in turn.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragelyByCircle;

impl AllocateStrategy for AllocateAveragelyByCircle {
    fn name(&self) -> &'static str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Result<Vec<MessageQueue>> {
        let Some(index) = index_of_current(consumer_group, current_cid, all_mqs, all_cids)? else {
            return Ok(Vec::new());
        };
        Ok(all_mqs
            .iter()
            .skip(index)
            .step_by(all_cids.len())
            .cloned()
            .collect())
    }
}

/// Java's `AllocateMessageQueueConsistentHash`: each client id placed on a hash ring at
/// `virtual_node_count` points; a queue belongs to the first point at or after the hash of
/// its `toString()`, wrapping around.
#[derive(Debug, Clone, Copy)]
pub struct AllocateConsistentHash {
    virtual_node_count: u32,
}

impl AllocateConsistentHash {
    /// Java's default number of points per client id.
    pub const DEFAULT_VIRTUAL_NODE_COUNT: u32 = 10;

    /// A ring with `virtual_node_count` points per client id. Zero is allowed, as in Java,
    /// and then no queue is owned by anyone.
    pub fn new(virtual_node_count: u32) -> Self {
        Self { virtual_node_count }
    }

    /// Points per client id.
    pub fn virtual_node_count(&self) -> u32 {
        self.virtual_node_count
    }
}

impl Default for AllocateConsistentHash {
    fn default() -> Self {
        Self::new(Self::DEFAULT_VIRTUAL_NODE_COUNT)
    }
}

impl AllocateStrategy for AllocateConsistentHash {
    fn name(&self) -> &'static str {
        "CONSISTENT_HASH"
    }

    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Result<Vec<MessageQueue>> {
        if index_of_current(consumer_group, current_cid, all_mqs, all_cids)?.is_none() {
            return Ok(Vec::new());
        }
        let ring = hash_ring(all_cids, self.virtual_node_count);
        Ok(all_mqs
            .iter()
            .filter(|mq| {
                route(&ring, &mq.to_string()).is_some_and(|owner| all_cids[owner] == current_cid)
            })
            .cloned()
            .collect())
    }
}

/// Java's `ConsistentHashRouter` ring: point hash → index of the client id in `all_cids`.
/// Built as Java builds it, so that its quirks match too: a point whose hash collides with
/// an earlier one replaces it (`TreeMap.put`), and a client id listed twice numbers its
/// second set of points after the first (`getExistingReplicas`).
fn hash_ring(all_cids: &[String], virtual_node_count: u32) -> BTreeMap<u32, usize> {
    let mut ring = BTreeMap::new();
    for (owner, cid) in all_cids.iter().enumerate() {
        let existing = ring.values().filter(|&&o| all_cids[o] == *cid).count();
        for replica in 0..virtual_node_count as usize {
            ring.insert(ring_hash(&format!("{cid}-{}", existing + replica)), owner);
        }
    }
    ring
}

/// The owner of `key`: the first point at or after its hash, else the ring's first point.
fn route(ring: &BTreeMap<u32, usize>, key: &str) -> Option<usize> {
    let hash = ring_hash(key);
    ring.range(hash..)
        .next()
        .or_else(|| ring.iter().next())
        .map(|(_, &owner)| owner)
}

/// Java's `ConsistentHashRouter.MD5Hash`: the first four bytes of the MD5 of the UTF-8
/// key, big-endian. Java builds it in a `long` from bytes masked with 0xff, so it is never
/// negative and orders as this unsigned value.
fn ring_hash(key: &str) -> u32 {
    let digest = md5::digest(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Java's `AllocateMessageQueueByConfig`: the configured queues, whoever asks and whatever
/// the topic's queues are (Java does no check at all here, not even of the client id).
#[derive(Debug, Clone, Default)]
pub struct AllocateByConfig {
    queues: Vec<MessageQueue>,
}

impl AllocateByConfig {
    /// A strategy that always answers `queues`.
    pub fn new(queues: Vec<MessageQueue>) -> Self {
        Self { queues }
    }

    /// The configured queues.
    pub fn queues(&self) -> &[MessageQueue] {
        &self.queues
    }
}

impl AllocateStrategy for AllocateByConfig {
    fn name(&self) -> &'static str {
        "CONFIG"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        _current_cid: &str,
        _all_mqs: &[MessageQueue],
        _all_cids: &[String],
    ) -> Result<Vec<MessageQueue>> {
        Ok(self.queues.clone())
    }
}

/// Java's `AllocateMessageQueueByMachineRoom`: only queues of brokers named
/// `<room>@<name>` whose room is one of `consumer_idcs` are shared, averagely but with the
/// remainder dealt one each to the first consumers.
#[derive(Debug, Clone, Default)]
pub struct AllocateByMachineRoom {
    consumer_idcs: HashSet<String>,
}

impl AllocateByMachineRoom {
    /// A strategy for the rooms (IDCs) in `consumer_idcs`. Java's default is no set at all
    /// (a NullPointerException at the first `room@name` broker); ours is the empty set.
    pub fn new(consumer_idcs: impl IntoIterator<Item = String>) -> Self {
        Self {
            consumer_idcs: consumer_idcs.into_iter().collect(),
        }
    }

    /// The rooms whose queues this strategy shares.
    pub fn consumer_idcs(&self) -> &HashSet<String> {
        &self.consumer_idcs
    }

    fn in_consumer_room(&self, broker_name: &str) -> bool {
        match java_split_at(broker_name).as_slice() {
            [room, _] => self.consumer_idcs.contains(*room),
            _ => false,
        }
    }
}

/// Java's `brokerName.split("@")`: trailing empty parts are dropped, so `room@name@` has two
/// parts (and counts) while `room@` has one (and does not).
fn java_split_at(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split('@').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    // "@" alone splits into nothing at all in Java; either way it is not two parts.
    if parts == [""] && !s.is_empty() {
        parts.clear();
    }
    parts
}

impl AllocateStrategy for AllocateByMachineRoom {
    fn name(&self) -> &'static str {
        "MACHINE_ROOM"
    }

    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Result<Vec<MessageQueue>> {
        let Some(index) = index_of_current(consumer_group, current_cid, all_mqs, all_cids)? else {
            return Ok(Vec::new());
        };
        let in_rooms: Vec<&MessageQueue> = all_mqs
            .iter()
            .filter(|mq| self.in_consumer_room(&mq.broker_name))
            .collect();
        let consumers = all_cids.len();
        let each = in_rooms.len() / consumers;
        let remainder = in_rooms.len() % consumers;
        let mut owned: Vec<MessageQueue> = in_rooms[each * index..each * (index + 1)]
            .iter()
            .map(|&mq| mq.clone())
            .collect();
        if index < remainder {
            owned.push(in_rooms[index + each * consumers].clone());
        }
        Ok(owned)
    }
}

/// MD5 (RFC 1321), only for the ring's point hashes: four bytes of it per point, a few
/// hundred points per rebalance, so a small local implementation rather than a dependency.
mod md5 {
    /// Left-rotation amounts of each of the 64 steps, by round.
    const SHIFTS: [[u32; 4]; 4] = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];

    /// The 128-bit digest of `input`.
    pub fn digest(input: &[u8]) -> [u8; 16] {
        // RFC 1321's table T: the integer part of 2^32 * |sin(i + 1)|, exact in f64.
        let constants: [u32; 64] =
            std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32);
        let mut message = input.to_vec();
        message.push(0x80);
        while message.len() % 64 != 56 {
            message.push(0);
        }
        message.extend_from_slice(&((input.len() as u64).wrapping_mul(8)).to_le_bytes());

        let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
        for block in message.chunks_exact(64) {
            let words: [u32; 16] = std::array::from_fn(|j| {
                u32::from_le_bytes([
                    block[4 * j],
                    block[4 * j + 1],
                    block[4 * j + 2],
                    block[4 * j + 3],
                ])
            });
            let [mut a, mut b, mut c, mut d] = state;
            for step in 0..64 {
                let (mixed, word) = match step / 16 {
                    0 => ((b & c) | (!b & d), step),
                    1 => ((d & b) | (!d & c), (5 * step + 1) % 16),
                    2 => (b ^ c ^ d, (3 * step + 5) % 16),
                    _ => (c ^ (b | !d), (7 * step) % 16),
                };
                let sum = mixed
                    .wrapping_add(a)
                    .wrapping_add(constants[step])
                    .wrapping_add(words[word]);
                a = d;
                d = c;
                c = b;
                b = b.wrapping_add(sum.rotate_left(SHIFTS[step / 16][step % 4]));
            }
            for (s, v) in state.iter_mut().zip([a, b, c, d]) {
                *s = s.wrapping_add(v);
            }
        }
        let mut out = [0u8; 16];
        for (chunk, s) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&s.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc_1321_test_suite() {
        let suite = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in suite {
            assert_eq!(
                hex(&md5::digest(input.as_bytes())),
                expected,
                "md5({input:?})"
            );
        }
    }

    #[test]
    fn ring_hash_is_javas_md5_hash() {
        // Printed by Java's ConsistentHashRouter.MD5Hash through tests/java/AllocateVectors.java,
        // with keys whose first digest byte is >= 0x80 (sign) and non-ASCII keys (UTF-8).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/allocate_vectors.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let vectors = fixture["md5Hashes"].as_array().unwrap();
        assert!(vectors.len() >= 5);
        assert!(vectors
            .iter()
            .any(|v| v["hash"].as_u64().unwrap() >= 1 << 31));
        for vector in vectors {
            let key = vector["key"].as_str().unwrap();
            assert_eq!(
                u64::from(ring_hash(key)),
                vector["hash"].as_u64().unwrap(),
                "{key:?}"
            );
        }
    }

    #[test]
    fn java_split_keeps_only_two_part_names() {
        assert_eq!(java_split_at("hz@broker-a"), ["hz", "broker-a"]);
        assert_eq!(java_split_at("hz@broker-a@"), ["hz", "broker-a"]);
        assert_eq!(java_split_at("@anon"), ["", "anon"]);
        assert_eq!(java_split_at("hz@"), ["hz"]);
        assert_eq!(java_split_at("x@y@z"), ["x", "y", "z"]);
        assert_eq!(java_split_at("broker-d"), ["broker-d"]);
        assert!(java_split_at("@").is_empty());
        assert!(java_split_at("@@").is_empty());
        assert_eq!(java_split_at(""), [""]);
    }

    #[test]
    fn names_are_javas() {
        assert_eq!(AllocateAveragely.name(), "AVG");
        assert_eq!(AllocateAveragelyByCircle.name(), "AVG_BY_CIRCLE");
        assert_eq!(AllocateConsistentHash::default().name(), "CONSISTENT_HASH");
        assert_eq!(AllocateByConfig::default().name(), "CONFIG");
        assert_eq!(AllocateByMachineRoom::default().name(), "MACHINE_ROOM");
    }

    #[test]
    fn java_order_puts_supplementary_characters_before_late_bmp_ones() {
        // U+1F600 is a surrogate pair (0xD83D...) in UTF-16, below U+FF01; in UTF-8 it is above.
        let mut cids = vec!["\u{ff01}".to_string(), "\u{1f600}".to_string()];
        sort_for_allocation(&mut [], &mut cids);
        assert_eq!(cids, ["\u{1f600}", "\u{ff01}"]);
    }
}
