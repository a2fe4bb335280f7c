//! One consumer benchmark run of the engine's push consumer alone, without Node: the same
//! workload and the same JSON line as `bench/clients/*-consumer.ts`, so `npm run bench` can
//! put it beside the Node clients (client `engine`). The listener is a no-op dispatcher in
//! Rust: it counts each message (and in the JSON variant parses its body with serde_json)
//! and answers success at once. It shows what the Rust core costs and how fast the brokers
//! hand out messages when no JavaScript thread is involved: the ceiling of the design.
//!
//! Configured as the Node binding configures the engine (`listener_limits_calls`: the
//! engine hands over every batch that is ready), with the addon's allocator (mimalloc:
//! glibc's malloc and free were 40 % of this example's profile), on a current-thread
//! runtime: one thread does everything.
//!
//! ```sh
//! cargo run --release -p rocketmq-client --example bench_consumer -- \
//!   --namesrv 127.0.0.1:9876 --topic T --group G --expected 200000 \
//!   [--parse-json 1] [--latency-warmup-ms MS] [--deadline-seconds S] [--stall-seconds S]
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod bench_common;
use bench_common::{parse_args, peak_rss_bytes, usage, Usage};

use rocketmq_client::consumer::push::{
    ConsumeConcurrentlyStatus, ConsumeContext, PushConsumer, PushConsumerConfig,
};
use rocketmq_remoting::body::ConsumeFromWhere;
use rocketmq_remoting::message::MessageExt;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What the window's end saw.
#[derive(Clone, Copy)]
struct End {
    at: Instant,
    usage: Usage,
    peak_rss: u64,
}

/// The listener's bookkeeping: offsets seen per queue (a bitmap each), latencies, the
/// first and last message, and the window's end.
struct Tally {
    topic: String,
    expected: usize,
    parse_json: bool,
    latency_after_ms: i64,
    seen: HashMap<(String, i32), Vec<u8>>,
    received: usize,
    distinct: usize,
    other_topics: usize,
    parse_failures: usize,
    latencies: Vec<u64>,
    latency_count: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    end: Option<End>,
}

impl Tally {
    fn record(&mut self, queue_topic: &str, broker: &str, queue_id: i32, message: &MessageExt) {
        if self.latency_after_ms > 0 && message.born_timestamp >= self.latency_after_ms {
            let latency = (now_ms() - message.born_timestamp).clamp(0, 60_000) as usize;
            self.latencies[latency] += 1;
            self.latency_count += 1;
        }
        if queue_topic != self.topic {
            self.other_topics += 1;
            return;
        }
        if self.parse_json && serde_json::from_slice::<serde_json::Value>(&message.body).is_err() {
            self.parse_failures += 1;
        }
        self.received += 1;
        let now = Instant::now();
        self.first_at.get_or_insert(now);
        let bits = match self.seen.get_mut(&(broker.to_owned(), queue_id)) {
            Some(bits) => bits,
            None => self.seen.entry((broker.to_owned(), queue_id)).or_default(),
        };
        let offset = message.queue_offset.max(0) as usize;
        if bits.len() <= offset / 8 {
            bits.resize((offset / 8 + 1).next_power_of_two(), 0);
        }
        let bit = 1u8 << (offset % 8);
        if bits[offset / 8] & bit != 0 || self.end.is_some() {
            return;
        }
        bits[offset / 8] |= bit;
        self.distinct += 1;
        self.last_at = Some(now);
        if self.distinct == self.expected {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if self.end.is_none() {
            self.end = Some(End {
                at: Instant::now(),
                usage: usage(),
                peak_rss: peak_rss_bytes(),
            });
        }
    }

    fn percentile(&self, share: f64) -> usize {
        let rank = (share * self.latency_count as f64).ceil() as u64;
        let mut seen = 0;
        for (ms, count) in self.latencies.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return ms;
            }
        }
        self.latencies.len() - 1
    }
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let get = |name: &str| {
        args.get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    };
    let number = |name: &str, default: &str| -> Result<f64, String> {
        args.get(name)
            .map_or(default, String::as_str)
            .parse()
            .map_err(|_| format!("--{name} must be a number"))
    };
    let topic = get("topic")?;
    let expected = number("expected", "0")? as usize;
    let deadline = number("deadline-seconds", "0")?;
    let stall = number("stall-seconds", "60")?;
    let latency_warmup_ms = number("latency-warmup-ms", "0")? as i64;
    let tally = Arc::new(Mutex::new(Tally {
        topic: topic.clone(),
        expected,
        parse_json: args.get("parse-json").is_some_and(|v| v == "1"),
        latency_after_ms: 0,
        seen: HashMap::new(),
        received: 0,
        distinct: 0,
        other_topics: 0,
        parse_failures: 0,
        latencies: vec![0; 60_001],
        latency_count: 0,
        first_at: None,
        last_at: None,
        end: None,
    }));
    let config = PushConsumerConfig {
        group: get("group")?,
        namesrv_addr: get("namesrv")?,
        consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
        listener_limits_calls: true,
        ..PushConsumerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let before = usage();
        let start = Instant::now();
        let listener_tally = tally.clone();
        let calls = Arc::new(AtomicUsize::new(0));
        let listener_calls = calls.clone();
        let consumer = PushConsumer::new(
            config,
            Arc::new(move |messages: Vec<Arc<MessageExt>>, context: ConsumeContext| {
                listener_calls.fetch_add(1, Ordering::Relaxed);
                let mut tally = listener_tally.lock().unwrap_or_else(|p| p.into_inner());
                for message in &messages {
                    tally.record(
                        &context.queue.topic,
                        &context.queue.broker_name,
                        context.queue.queue_id,
                        message,
                    );
                }
                std::future::ready(ConsumeConcurrentlyStatus::ConsumeSuccess)
            }),
        )
        .map_err(|err| err.to_string())?;
        consumer.subscribe(&topic, "*").map_err(|err| err.to_string())?;
        consumer.start().await.map_err(|err| err.to_string())?;
        let start_seconds = start.elapsed().as_secs_f64();
        if latency_warmup_ms > 0 {
            // The parent starts sending on this line; messages born after the warm-up count.
            tally.lock().unwrap_or_else(|p| p.into_inner()).latency_after_ms =
                now_ms() + latency_warmup_ms;
            println!("bench:ready");
        }
        let mut last_distinct = 0;
        let mut last_progress = Instant::now();
        let mut partial = false;
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
            if t.end.is_some() {
                break;
            }
            if deadline > 0.0 && start.elapsed().as_secs_f64() > deadline {
                t.finish();
                partial = true;
                break;
            }
            if t.distinct != last_distinct {
                last_distinct = t.distinct;
                last_progress = Instant::now();
            } else if last_progress.elapsed().as_secs_f64() > stall {
                return Err(format!(
                    "engine: no progress for {stall} s: {} of {expected} distinct",
                    t.distinct
                ));
            }
        }
        let shutdown_start = Instant::now();
        consumer.shutdown().await;
        let shutdown_seconds = shutdown_start.elapsed().as_secs_f64();
        let t = tally.lock().unwrap_or_else(|p| p.into_inner());
        let end = t.end.expect("the loop ends with an end");
        let elapsed = end.at.duration_since(start).as_secs_f64();
        let first_to_last = match (t.first_at, t.last_at) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        let first_message = t
            .first_at
            .map_or(elapsed, |first| first.duration_since(start).as_secs_f64());
        let latency = if t.latency_count > 0 {
            format!(
                ",\"latency\":{{\"count\":{},\"p50Ms\":{},\"p99Ms\":{},\"maxMs\":{}}}",
                t.latency_count,
                t.percentile(0.5),
                t.percentile(0.99),
                t.percentile(1.0)
            )
        } else {
            String::new()
        };
        let errors = if t.parse_failures > 0 {
            format!(
                ",\"firstClientError\":\"{} bodies were not JSON\"",
                t.parse_failures
            )
        } else {
            String::new()
        };
        println!(
            "{{\"client\":\"engine\",\"expected\":{expected},\"received\":{},\"distinct\":{},\"duplicates\":{},\"otherTopics\":{},\"startSeconds\":{start_seconds},\"firstMessageSeconds\":{first_message},\"elapsedSeconds\":{elapsed},\"msgsPerSecond\":{},\"cpuUserSeconds\":{},\"cpuSystemSeconds\":{},\"voluntaryContextSwitches\":{},\"involuntaryContextSwitches\":{},\"peakRssBytes\":{},\"clientErrors\":{},\"shutdownSeconds\":{shutdown_seconds},\"firstToLastSeconds\":{first_to_last},\"firstToLastMsgsPerSecond\":{},\"partial\":{partial},\"parsedJson\":{},\"listenerCalls\":{}{latency}{errors}}}",
            t.received,
            t.distinct,
            t.received - t.distinct,
            t.other_topics,
            t.distinct as f64 / elapsed,
            end.usage.cpu_user - before.cpu_user,
            end.usage.cpu_system - before.cpu_system,
            end.usage.voluntary - before.voluntary,
            end.usage.involuntary - before.involuntary,
            end.peak_rss,
            t.parse_failures,
            if first_to_last > 0.0 { (t.distinct.saturating_sub(1)) as f64 / first_to_last } else { 0.0 },
            t.parse_json,
            calls.load(Ordering::Relaxed),
        );
        Ok(())
    })
}
