//! Topic routes fetched from the NameServer, cached and refreshed in the background.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use log::{debug, info, warn};
use rocketmq_remoting::body::TopicRouteData;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::namesrv::NameServerClient;

/// Java's `pollNameServerInterval`.
pub const DEFAULT_ROUTE_REFRESH: Duration = Duration::from_secs(30);

/// Routes of the topics this client uses.
pub struct RouteCache {
    namesrv: Arc<NameServerClient>,
    routes: RwLock<HashMap<String, Arc<TopicRouteData>>>,
}

impl RouteCache {
    /// An empty cache over `namesrv`.
    pub fn new(namesrv: Arc<NameServerClient>) -> Self {
        RouteCache {
            namesrv,
            routes: RwLock::new(HashMap::new()),
        }
    }

    /// The cached route of `topic`, fetching it on first use.
    pub async fn get(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        if let Some(route) = self.cached(topic) {
            return Ok(route);
        }
        self.refresh(topic).await
    }

    /// The cached route, if any, without asking the NameServer.
    pub fn cached(&self, topic: &str) -> Option<Arc<TopicRouteData>> {
        self.read().get(topic).cloned()
    }

    /// Fetches the route of `topic` now and caches it.
    pub async fn refresh(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        let fresh = Arc::new(self.namesrv.topic_route(topic).await?);
        if fresh.topic_queue_mapping_by_broker.is_some() {
            warn!("topic {topic} is a static (logical-queue) topic; its queue mapping is ignored");
        }
        let previous = self
            .routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_owned(), fresh.clone());
        match previous {
            Some(old) if *old != *fresh => info!("route of topic {topic} changed"),
            None => debug!("route of topic {topic} loaded"),
            _ => {}
        }
        Ok(fresh)
    }

    /// Refreshes every cached topic; a failed refresh keeps the old route.
    pub async fn refresh_all(&self) {
        let topics: Vec<String> = self.read().keys().cloned().collect();
        for topic in topics {
            if let Err(err) = self.refresh(&topic).await {
                warn!("refreshing route of topic {topic} failed, keeping the old one: {err}");
            }
        }
    }

    /// Every broker address in any cached route, without duplicates.
    pub fn broker_addrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = self
            .read()
            .values()
            .flat_map(|r| r.all_addrs().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<TopicRouteData>>> {
        self.routes.read().unwrap_or_else(|p| p.into_inner())
    }
}
