//! One benchmark run of the engine's producer alone, without Node: the same workload and
//! the same JSON line as `bench/clients/*-producer.ts`, so `npm run bench:producer` can put
//! it beside the Node clients (client `engine`). It shows what the Rust core costs and how
//! fast the broker answers when no JavaScript thread is involved: the ceiling of the design.
//!
//! Runs on a current-thread runtime: one thread does everything, the shape with the fewest
//! thread hand-offs per send.
//!
//! ```sh
//! cargo run --release -p rocketmq-client --example bench_producer -- \
//!   --namesrv 127.0.0.1:9876 --topic T --group G --count 50000 --inflight 1 --body-size 100 --warmup 1000
//! ```

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

mod bench_common;
use bench_common::{parse_args, peak_rss_bytes, usage};

use bytes::Bytes;
use rocketmq_client::{OutgoingMessage, Producer, ProducerConfig, SendStatus};

/// Outcome of a window: sends that failed, sends stored with another status than SEND_OK,
/// and the first error seen.
#[derive(Default)]
struct Window {
    errors: usize,
    not_ok: usize,
    first_error: Option<String>,
}

/// Sends `count` messages keeping `inflight` outstanding; message numbers start at `first`.
async fn run_window(
    producer: Rc<Producer>,
    topic: &str,
    body: Bytes,
    first: usize,
    count: usize,
    inflight: usize,
) -> Window {
    let next = Rc::new(AtomicUsize::new(0));
    let window = Rc::new(std::cell::RefCell::new(Window::default()));
    let topic: Rc<str> = Rc::from(topic);
    let loops = (0..inflight.min(count).max(1)).map(|_| {
        let (producer, next, window, body, topic) = (
            producer.clone(),
            next.clone(),
            window.clone(),
            body.clone(),
            topic.clone(),
        );
        async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let message = OutgoingMessage {
                    topic: topic.to_string(),
                    body: body.clone(),
                    tags: Some("bench".into()),
                    keys: vec![format!("k{}", first + index)],
                    ..OutgoingMessage::default()
                };
                match producer.send(message).await {
                    Ok(result) if result.status == SendStatus::SendOk => {}
                    Ok(_) => window.borrow_mut().not_ok += 1,
                    Err(err) => {
                        let mut window = window.borrow_mut();
                        window.errors += 1;
                        window.first_error.get_or_insert_with(|| err.to_string());
                    }
                }
            }
        }
    });
    let local = tokio::task::LocalSet::new();
    let handles: Vec<_> = loops.map(|f| local.spawn_local(f)).collect();
    local
        .run_until(async {
            for handle in handles {
                let _ = handle.await;
            }
        })
        .await;
    Rc::try_unwrap(window)
        .map(|cell| cell.into_inner())
        .unwrap_or_default()
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let get = |name: &str| {
        args.get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    };
    let number = |name: &str| -> Result<usize, String> {
        get(name)?
            .parse()
            .map_err(|_| format!("--{name} must be a number"))
    };
    let (topic, count, inflight) = (get("topic")?, number("count")?, number("inflight")?);
    let (body_size, warmup) = (number("body-size")?, number("warmup")?);
    let config = ProducerConfig {
        namesrv_addr: get("namesrv")?,
        group: get("group")?,
        ..ProducerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let producer = Rc::new(Producer::new(config).map_err(|err| err.to_string())?);
        producer.start().await.map_err(|err| err.to_string())?;
        let body = Bytes::from(vec![b'x'; body_size]);
        let warm = run_window(producer.clone(), &topic, body.clone(), 0, warmup, inflight).await;
        let before = usage();
        let started = Instant::now();
        let window = run_window(producer.clone(), &topic, body, warmup, count, inflight).await;
        let elapsed = started.elapsed().as_secs_f64();
        let after = usage();
        producer.shutdown().await;
        let ok = count - window.errors - window.not_ok;
        let first_error = window
            .first_error
            .map(|e| format!(",\"firstError\":{:?}", e))
            .unwrap_or_default();
        println!(
            "{{\"client\":\"engine\",\"inflight\":{inflight},\"messages\":{count},\"errors\":{},\"notOk\":{}{first_error},\"elapsedSeconds\":{elapsed},\"msgsPerSecond\":{},\"cpuUserSeconds\":{},\"cpuSystemSeconds\":{},\"voluntaryContextSwitches\":{},\"involuntaryContextSwitches\":{},\"peakRssBytes\":{},\"warmupErrors\":{}}}",
            window.errors,
            window.not_ok,
            (ok + window.not_ok) as f64 / elapsed,
            after.cpu_user - before.cpu_user,
            after.cpu_system - before.cpu_system,
            after.voluntary - before.voluntary,
            after.involuntary - before.involuntary,
            peak_rss_bytes(),
            warm.errors,
        );
        Ok(())
    })
}
