//! Topic routes fetched from the NameServer, cached, refreshed in the background, and
//! forgotten when nobody has used them for a while.
//!
//! - Single-flight: concurrent first uses of one topic share one NameServer request. The
//!   request runs as its own task, so a caller that gives up (its send budget ran out) does
//!   not cancel it for the others.
//! - Change notification: [`RouteCache::subscribe`] reports every route that was loaded or
//!   changed; the client instance learns of new brokers this way, and rebalance will too.
//! - Eviction: a topic unused for [`RouteCacheConfig::idle_eviction`] is dropped at the next
//!   refresh round, unless a subscriber (a consumer) pinned it with [`RouteCache::pin`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use log::{debug, info, warn};
use rocketmq_remoting::body::TopicRouteData;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::namesrv::NameServerClient;

/// Java's `pollNameServerInterval`.
pub const DEFAULT_ROUTE_REFRESH: Duration = Duration::from_secs(30);

/// How long an unused topic stays cached.
pub const DEFAULT_ROUTE_IDLE_EVICTION: Duration = Duration::from_secs(10 * 60);

/// Route changes a slow subscriber may fall behind by before it is told it lagged.
const CHANGE_BACKLOG: usize = 256;

/// A boxed future returned by [`RouteSource::topic_route`].
pub type RouteFuture<'a> = Pin<Box<dyn Future<Output = Result<TopicRouteData>> + Send + 'a>>;

/// Where routes come from: the NameServer, or a fake in tests.
pub trait RouteSource: Send + Sync + 'static {
    /// The current route of `topic`.
    fn topic_route<'a>(&'a self, topic: &'a str) -> RouteFuture<'a>;
}

impl RouteSource for NameServerClient {
    fn topic_route<'a>(&'a self, topic: &'a str) -> RouteFuture<'a> {
        Box::pin(NameServerClient::topic_route(self, topic))
    }
}

/// Cache settings.
#[derive(Debug, Clone)]
pub struct RouteCacheConfig {
    /// An unpinned topic not used for this long is dropped at the next refresh round.
    pub idle_eviction: Duration,
}

impl Default for RouteCacheConfig {
    fn default() -> Self {
        RouteCacheConfig {
            idle_eviction: DEFAULT_ROUTE_IDLE_EVICTION,
        }
    }
}

/// A route that was loaded for the first time or differs from the cached one.
#[derive(Debug, Clone)]
pub struct RouteChange {
    pub topic: String,
    pub route: Arc<TopicRouteData>,
}

type LookupResult = Option<Result<Arc<TopicRouteData>>>;

struct Entry {
    route: Arc<TopicRouteData>,
    /// Milliseconds since the cache's epoch; atomic so that a hit needs only a read lock.
    last_used_ms: AtomicU64,
}

#[derive(Default)]
struct Bookkeeping {
    /// Lookups in flight; later callers wait on the same result.
    inflight: HashMap<String, watch::Receiver<LookupResult>>,
    /// Pin counts; a pinned topic is never evicted.
    pins: HashMap<String, usize>,
}

/// Routes of the topics this client uses. Shared as `Arc<RouteCache>`.
pub struct RouteCache {
    source: Arc<dyn RouteSource>,
    config: RouteCacheConfig,
    epoch: Instant,
    routes: RwLock<HashMap<String, Entry>>,
    bookkeeping: Mutex<Bookkeeping>,
    changes: broadcast::Sender<RouteChange>,
}

impl RouteCache {
    /// An empty cache over `source`.
    pub fn new(source: Arc<dyn RouteSource>, config: RouteCacheConfig) -> Self {
        RouteCache {
            source,
            config,
            epoch: Instant::now(),
            routes: RwLock::new(HashMap::new()),
            bookkeeping: Mutex::new(Bookkeeping::default()),
            changes: broadcast::channel(CHANGE_BACKLOG).0,
        }
    }

    /// The cached route of `topic`, fetching it on first use. Marks the topic as used.
    pub async fn get(self: &Arc<Self>, topic: &str) -> Result<Arc<TopicRouteData>> {
        if let Some(route) = self.cached(topic) {
            return Ok(route);
        }
        let route = self.refresh(topic).await?;
        self.touch(topic);
        Ok(route)
    }

    /// The cached route, if any, without asking the NameServer. Marks the topic as used.
    pub fn cached(&self, topic: &str) -> Option<Arc<TopicRouteData>> {
        let routes = self.read();
        let entry = routes.get(topic)?;
        entry.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        Some(entry.route.clone())
    }

    /// Fetches the route of `topic` now (joining a lookup already in flight) and caches it.
    pub async fn refresh(self: &Arc<Self>, topic: &str) -> Result<Arc<TopicRouteData>> {
        let mut result = self.lookup(topic);
        let answer = match result.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            // The lookup task ended without an answer: the runtime is shutting down.
            Err(_) => {
                return Err(ClientError::State(format!(
                    "the route lookup of {topic} was abandoned"
                )))
            }
        };
        answer.unwrap_or_else(|| unreachable_lookup(topic))
    }

    /// Refreshes every cached topic after dropping idle ones; a failed refresh keeps the
    /// old route.
    pub async fn refresh_all(self: &Arc<Self>) {
        self.evict_idle();
        let topics: Vec<String> = self.read().keys().cloned().collect();
        for topic in topics {
            if let Err(err) = self.refresh(&topic).await {
                warn!("refreshing route of topic {topic} failed, keeping the old one: {err}");
            }
        }
    }

    /// Drops topics unused for longer than the idle limit that nobody pinned. Returns them.
    pub fn evict_idle(&self) -> Vec<String> {
        let now = self.now_ms();
        let idle_ms = self.config.idle_eviction.as_millis() as u64;
        let bookkeeping = self.lock_bookkeeping();
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let idle: Vec<String> = routes
            .iter()
            .filter(|(topic, entry)| {
                !bookkeeping.pins.contains_key(*topic)
                    && now.saturating_sub(entry.last_used_ms.load(Ordering::Relaxed)) >= idle_ms
            })
            .map(|(topic, _)| topic.clone())
            .collect();
        for topic in &idle {
            routes.remove(topic);
            debug!("route of topic {topic} evicted after {idle_ms} ms unused");
        }
        idle
    }

    /// Keeps `topic` cached however long it goes unused, until as many [`RouteCache::unpin`]
    /// calls. A consumer pins the topics it subscribes to.
    pub fn pin(&self, topic: &str) {
        *self
            .lock_bookkeeping()
            .pins
            .entry(topic.to_owned())
            .or_default() += 1;
    }

    /// Undoes one [`RouteCache::pin`].
    pub fn unpin(&self, topic: &str) {
        let mut bookkeeping = self.lock_bookkeeping();
        if let Some(count) = bookkeeping.pins.get_mut(topic) {
            *count -= 1;
            if *count == 0 {
                bookkeeping.pins.remove(topic);
            }
        }
    }

    /// Learns of every route loaded for the first time or changed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RouteChange> {
        self.changes.subscribe()
    }

    /// Topics in the cache.
    pub fn topics(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Every broker address in any cached route, without duplicates.
    pub fn broker_addrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = self
            .read()
            .values()
            .flat_map(|e| e.route.all_addrs().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    /// Every broker of any cached route: broker name → (broker id → address), the table
    /// Java's client instance keeps as `brokerAddrTable`.
    pub fn brokers(&self) -> BTreeMap<String, BTreeMap<i64, String>> {
        let mut brokers: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
        for entry in self.read().values() {
            for broker in &entry.route.broker_datas {
                brokers
                    .entry(broker.broker_name.clone())
                    .or_default()
                    .extend(broker.broker_addrs.clone());
            }
        }
        brokers
    }

    /// Refreshes every `interval` until `stop` turns true.
    pub fn spawn_refresh(
        self: &Arc<Self>,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => cache.refresh_all().await,
                    _ = stop.changed() => break,
                }
                if *stop.borrow() {
                    break;
                }
            }
        })
    }

    /// The running lookup of `topic`, or a new one.
    fn lookup(self: &Arc<Self>, topic: &str) -> watch::Receiver<LookupResult> {
        let mut bookkeeping = self.lock_bookkeeping();
        if let Some(running) = bookkeeping.inflight.get(topic) {
            // A sender that is gone means its task died without answering; start anew.
            if running.has_changed().is_ok() {
                return running.clone();
            }
        }
        let (answer, result) = watch::channel(None);
        bookkeeping
            .inflight
            .insert(topic.to_owned(), result.clone());
        drop(bookkeeping);
        let cache = Arc::clone(self);
        let topic = topic.to_owned();
        tokio::spawn(async move {
            let fetched = cache.source.topic_route(&topic).await.map(Arc::new);
            if let Ok(route) = &fetched {
                cache.store(&topic, route.clone());
            }
            cache.lock_bookkeeping().inflight.remove(&topic);
            let _ = answer.send(Some(fetched));
        });
        result
    }

    fn store(&self, topic: &str, fresh: Arc<TopicRouteData>) {
        if fresh.topic_queue_mapping_by_broker.is_some() {
            warn!("topic {topic} is a static (logical-queue) topic; its queue mapping is ignored");
        }
        let changed = {
            let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
            match routes.get_mut(topic) {
                Some(entry) if *entry.route == *fresh => false,
                Some(entry) => {
                    info!("route of topic {topic} changed");
                    entry.route = fresh.clone();
                    true
                }
                None => {
                    debug!("route of topic {topic} loaded");
                    routes.insert(
                        topic.to_owned(),
                        Entry {
                            route: fresh.clone(),
                            last_used_ms: AtomicU64::new(self.now_ms()),
                        },
                    );
                    true
                }
            }
        };
        if changed {
            // No subscriber is not an error.
            let _ = self.changes.send(RouteChange {
                topic: topic.to_owned(),
                route: fresh,
            });
        }
    }

    fn touch(&self, topic: &str) {
        if let Some(entry) = self.read().get(topic) {
            entry.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    fn now_ms(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.epoch)
            .as_millis() as u64
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.routes.read().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_bookkeeping(&self) -> std::sync::MutexGuard<'_, Bookkeeping> {
        self.bookkeeping.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `wait_for(Option::is_some)` only returns once a result is there.
fn unreachable_lookup(topic: &str) -> Result<Arc<TopicRouteData>> {
    Err(ClientError::State(format!(
        "the route lookup of {topic} finished without a result"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Semaphore;

    /// Answers a one-broker route whose queue count is the number of lookups so far, so
    /// every lookup changes the route; lookups wait for a permit of `gate`.
    struct CountingSource {
        lookups: AtomicUsize,
        gate: Semaphore,
    }

    impl CountingSource {
        fn open() -> Arc<Self> {
            Arc::new(CountingSource {
                lookups: AtomicUsize::new(0),
                gate: Semaphore::new(Semaphore::MAX_PERMITS),
            })
        }
        fn closed() -> Arc<Self> {
            Arc::new(CountingSource {
                lookups: AtomicUsize::new(0),
                gate: Semaphore::new(0),
            })
        }
    }

    impl RouteSource for CountingSource {
        fn topic_route<'a>(&'a self, topic: &'a str) -> RouteFuture<'a> {
            Box::pin(async move {
                let n = self.lookups.fetch_add(1, Ordering::SeqCst) + 1;
                let _permit = self.gate.acquire().await.unwrap();
                if topic == "missing" {
                    return Err(ClientError::TopicNotFound {
                        topic: topic.to_owned(),
                        code: Some(17),
                    });
                }
                Ok(TopicRouteData::decode(
                    format!(
                        r#"{{"queueDatas":[{{"brokerName":"a","readQueueNums":{n},"writeQueueNums":{n},"perm":6}}],
                           "brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{"0":"127.0.0.1:1","1":"127.0.0.1:2"}}}}]}}"#
                    )
                    .as_bytes(),
                )
                .unwrap())
            })
        }
    }

    fn cache(source: Arc<CountingSource>, idle: Duration) -> Arc<RouteCache> {
        Arc::new(RouteCache::new(
            source,
            RouteCacheConfig {
                idle_eviction: idle,
            },
        ))
    }

    #[tokio::test]
    async fn concurrent_first_uses_make_one_lookup() {
        let source = CountingSource::closed();
        let routes = cache(source.clone(), DEFAULT_ROUTE_IDLE_EVICTION);
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let routes = routes.clone();
                tokio::spawn(async move { routes.get("T").await })
            })
            .collect();
        // Every waiter is parked on the one lookup, which cannot finish before the gate opens.
        while source.lookups.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        source.gate.add_permits(Semaphore::MAX_PERMITS / 2);
        for waiter in waiters {
            assert_eq!(
                waiter.await.unwrap().unwrap().queue_datas[0].read_queue_nums,
                1
            );
        }
        assert_eq!(source.lookups.load(Ordering::SeqCst), 1);
        routes.get("T").await.unwrap();
        assert_eq!(source.lookups.load(Ordering::SeqCst), 1, "cached");
    }

    #[tokio::test]
    async fn a_caller_giving_up_does_not_cancel_the_lookup() {
        let source = CountingSource::closed();
        let routes = cache(source.clone(), DEFAULT_ROUTE_IDLE_EVICTION);
        let gave_up = tokio::time::timeout(Duration::from_millis(1), routes.get("T")).await;
        assert!(gave_up.is_err());
        source.gate.add_permits(Semaphore::MAX_PERMITS / 2);
        routes.get("T").await.unwrap();
        assert_eq!(source.lookups.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_shared_and_not_cached() {
        let source = CountingSource::open();
        let routes = cache(source.clone(), DEFAULT_ROUTE_IDLE_EVICTION);
        assert_eq!(
            routes.get("missing").await.unwrap_err().code(),
            "ERR_TOPIC_NOT_FOUND"
        );
        assert!(routes.cached("missing").is_none());
        routes.get("missing").await.unwrap_err();
        assert_eq!(source.lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn subscribers_hear_of_new_and_changed_routes_only() {
        let source = CountingSource::open();
        let routes = cache(source.clone(), DEFAULT_ROUTE_IDLE_EVICTION);
        let mut changes = routes.subscribe();
        routes.get("T").await.unwrap();
        let loaded = changes.recv().await.unwrap();
        assert_eq!(loaded.topic, "T");
        routes.get("T").await.unwrap();
        assert!(changes.try_recv().is_err(), "a cache hit is no change");
        // Each lookup of the counting source yields a different queue count.
        routes.refresh("T").await.unwrap();
        let changed = changes.recv().await.unwrap();
        assert_eq!(changed.route.queue_datas[0].read_queue_nums, 2);
    }

    #[tokio::test]
    async fn idle_topics_are_evicted_unless_pinned() {
        let source = CountingSource::open();
        let routes = cache(source.clone(), Duration::ZERO);
        routes.get("kept").await.unwrap();
        routes.get("dropped").await.unwrap();
        routes.pin("kept");
        assert_eq!(routes.evict_idle(), ["dropped"]);
        assert_eq!(routes.topics(), ["kept"]);
        routes.unpin("kept");
        assert_eq!(routes.evict_idle(), ["kept"]);
        assert!(routes.topics().is_empty());

        let long_idle = cache(source, Duration::from_secs(3600));
        long_idle.get("used").await.unwrap();
        assert!(long_idle.evict_idle().is_empty());
    }

    #[tokio::test]
    async fn brokers_list_every_address_by_name() {
        let routes = cache(CountingSource::open(), DEFAULT_ROUTE_IDLE_EVICTION);
        routes.get("T").await.unwrap();
        let brokers = routes.brokers();
        assert_eq!(brokers["a"][&0], "127.0.0.1:1");
        assert_eq!(brokers["a"][&1], "127.0.0.1:2");
        assert_eq!(routes.broker_addrs(), ["127.0.0.1:1", "127.0.0.1:2"]);
    }
}
