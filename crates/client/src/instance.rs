//! One client instance per client id and NameServer list, shared by every producer, admin
//! client and consumer of the process: Java's `MQClientInstance`.
//!
//! The instance owns what must exist once per client id: the connection pool, the NameServer
//! client, the route cache and the heartbeat loop with the table of registered groups. A
//! broker identifies a client by the id in its heartbeats, so two producers of one process
//! that each had their own connections and heartbeats would look to the broker like one
//! client flapping between sockets; sharing one instance avoids that, and halves the sockets.
//!
//! Lifecycle: [`ClientInstance::acquire`] returns the live instance of a configuration (or
//! starts one) and counts the caller as a member; [`ClientInstance::release`] uncounts it, and
//! the last release stops the instance's tasks and closes its connections. A later acquire
//! starts a fresh instance.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use log::{debug, info, warn};
use rocketmq_remoting::body::{ConsumerData, HeartbeatData, ProducerData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{EncodeHeader, UnregisterClientRequestHeader};
use rocketmq_remoting::{ExtFields, RemotingCommand};
use tokio::sync::{broadcast, watch, Notify, OnceCell};
use tokio::task::JoinHandle;

use crate::acl::{AclSigner, Credentials};
use crate::client_ip::local_ip_toward;
use crate::connection::{InboundHandler, Responder, UnsupportedRequests};
use crate::error::{ClientError, Result};
use crate::namesrv::{parse_namesrv_addrs, NameServerClient};
use crate::remoting_client::{ConnectionConfig, RemotingClient};
use crate::route_cache::{
    RouteCache, RouteCacheConfig, DEFAULT_ROUTE_IDLE_EVICTION, DEFAULT_ROUTE_REFRESH,
};
use crate::tls::{TlsConfig, TlsDialer};
use crate::transport::{Dialer, RequestHook, TcpDialer};

/// Java's `heartbeatBrokerInterval`.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Java's `mqClientApiTimeout`: NameServer queries, heartbeats, unregistering.
pub const DEFAULT_CLIENT_API_TIMEOUT: Duration = Duration::from_secs(3);

/// Broker id of a master.
const MASTER_ID: i64 = 0;

/// What an instance is built from. Members of one process that agree on the NameServer
/// list, instance name and unit name share one instance; the first member's timings win.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// Validated NameServer addresses, in the user's order.
    pub namesrv_addrs: Vec<String>,
    /// Java's `instanceName`; unset means the process id (see [`InstanceConfig::instance_name`]).
    pub instance_name: Option<String>,
    /// Java's `unitName`; appended to the client id when set.
    pub unit_name: Option<String>,
    /// Timeout of NameServer queries, heartbeats and unregistering.
    pub request_timeout: Duration,
    /// How often every broker gets a heartbeat.
    pub heartbeat_interval: Duration,
    /// How often cached routes are refreshed.
    pub route_refresh: Duration,
    /// Unused topics leave the route cache after this long.
    pub route_idle_eviction: Duration,
    /// Connection settings.
    pub connection: ConnectionConfig,
    /// ACL credentials every request is signed with; none for an open cluster. Members
    /// with other credentials get an instance of their own.
    pub credentials: Option<Credentials>,
    /// TLS for every connection (NameServers and brokers); none for plain TCP. Members with
    /// other TLS settings get an instance of their own.
    pub tls: Option<TlsConfig>,
}

impl InstanceConfig {
    /// Defaults for the NameServers in `namesrv_addr` (`host:port;host:port`).
    pub fn new(namesrv_addr: &str) -> Result<Self> {
        Ok(InstanceConfig {
            namesrv_addrs: parse_namesrv_addrs(namesrv_addr)?,
            instance_name: None,
            unit_name: None,
            request_timeout: DEFAULT_CLIENT_API_TIMEOUT,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            route_refresh: DEFAULT_ROUTE_REFRESH,
            route_idle_eviction: DEFAULT_ROUTE_IDLE_EVICTION,
            connection: ConnectionConfig::default(),
            credentials: None,
            tls: None,
        })
    }

    /// Sets the instance and unit names; blank values count as unset.
    pub fn with_names(mut self, instance_name: Option<&str>, unit_name: Option<&str>) -> Self {
        let non_blank = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        self.instance_name = non_blank(instance_name);
        self.unit_name = non_blank(unit_name);
        self
    }

    /// The instance name used in the client id: the configured one, else the process id.
    ///
    /// The process id is the 4.x Java rule (`changeInstanceNameToPID`), under which every
    /// client of a process shares one instance. Java 5.x appends `#` and a nanosecond clock,
    /// which gives each client its own instance; this client keeps the 4.x rule because
    /// sharing is the point of the instance.
    pub fn instance_name(&self) -> String {
        self.instance_name
            .clone()
            .unwrap_or_else(|| std::process::id().to_string())
    }

    /// Sets the ACL credentials requests are signed with.
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the TLS settings of every connection (`None`: plain TCP).
    pub fn with_tls(mut self, tls: Option<TlsConfig>) -> Self {
        self.tls = tls;
        self
    }

    /// The registry key. The client IP is left out because it is a function of the first
    /// NameServer address (the local address toward it), which the key already holds.
    fn key(&self) -> InstanceKey {
        (
            self.instance_name(),
            self.unit_name.clone().unwrap_or_default(),
            self.namesrv_addrs.join(";"),
            // Credentials and TLS share the last element so the key's shape stays put.
            format!(
                "{}|{}",
                self.credentials
                    .as_ref()
                    .map(Credentials::fingerprint)
                    .unwrap_or_default(),
                self.tls
                    .as_ref()
                    .map(TlsConfig::fingerprint)
                    .unwrap_or_default()
            ),
        )
    }
}

/// Java's `ClientConfig.buildMQClientId`: `ip@instanceName`, then `@unitName` when set.
pub fn build_client_id(ip: IpAddr, instance_name: &str, unit_name: Option<&str>) -> String {
    match unit_name.filter(|u| !u.trim().is_empty()) {
        Some(unit) => format!("{ip}@{instance_name}@{unit}"),
        None => format!("{ip}@{instance_name}"),
    }
}

/// Describes a consumer group in each heartbeat; the consumer implements it.
pub trait ConsumerDataProvider: Send + Sync + 'static {
    /// The group's subscriptions as of now.
    fn consumer_data(&self) -> ConsumerData;
}

impl<F> ConsumerDataProvider for F
where
    F: Fn() -> ConsumerData + Send + Sync + 'static,
{
    fn consumer_data(&self) -> ConsumerData {
        self()
    }
}

/// Instance name, unit name, NameServer list, credentials and TLS fingerprints.
type InstanceKey = (String, String, String, String);

/// Live instances. A BTreeMap because its constructor is const.
static REGISTRY: Mutex<BTreeMap<InstanceKey, Arc<ClientInstance>>> = Mutex::new(BTreeMap::new());

fn lock_registry() -> std::sync::MutexGuard<'static, BTreeMap<InstanceKey, Arc<ClientInstance>>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forwards broker-initiated requests to a handler that can be replaced while connections
/// are open (the consumer installs its own when it joins).
struct PluggableHandler {
    current: RwLock<Arc<dyn InboundHandler>>,
}

impl InboundHandler for PluggableHandler {
    fn on_request(&self, request: RemotingCommand, reply: Responder) {
        let handler = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        handler.on_request(request, reply);
    }
}

#[derive(Default)]
struct Groups {
    producers: BTreeSet<String>,
    consumers: BTreeMap<String, Arc<dyn ConsumerDataProvider>>,
}

struct Started {
    ip: IpAddr,
    client_id: String,
}

/// The shared client core of one client id. Obtain it with [`ClientInstance::acquire`].
pub struct ClientInstance {
    key: InstanceKey,
    config: InstanceConfig,
    remoting: RemotingClient,
    namesrv: Arc<NameServerClient>,
    routes: Arc<RouteCache>,
    handler: Arc<PluggableHandler>,
    started: OnceCell<Started>,
    /// Changed only under the registry lock, so that the last release and a new acquire
    /// cannot interleave.
    members: AtomicUsize,
    groups: Mutex<Groups>,
    heartbeat_now: Notify,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id())
            .field("namesrv_addrs", &self.config.namesrv_addrs)
            .field("members", &self.members())
            .finish()
    }
}

impl ClientInstance {
    /// The live instance for `config` (same instance name, unit name and NameServer list),
    /// or a new one, started. The caller becomes a member and must call
    /// [`ClientInstance::release`] once when done.
    pub async fn acquire(config: InstanceConfig) -> Result<Arc<ClientInstance>> {
        if config.namesrv_addrs.is_empty() {
            return Err(ClientError::Config(
                "a client instance needs at least one NameServer address".into(),
            ));
        }
        let instance = {
            let mut registry = lock_registry();
            let instance = registry
                .entry(config.key())
                .or_insert_with(|| Arc::new(ClientInstance::new(config)))
                .clone();
            instance.members.fetch_add(1, Ordering::SeqCst);
            instance
        };
        instance.ensure_started().await;
        Ok(instance)
    }

    /// Leaves the instance. The last member out stops the heartbeat and route refresh and
    /// closes every connection.
    pub async fn release(self: &Arc<Self>) {
        let last = {
            let mut registry = lock_registry();
            let before = self.members.load(Ordering::SeqCst);
            let after = before.saturating_sub(1);
            self.members.store(after, Ordering::SeqCst);
            if after == 0
                && registry
                    .get(&self.key)
                    .is_some_and(|i| Arc::ptr_eq(i, self))
            {
                registry.remove(&self.key);
            }
            before > 0 && after == 0
        };
        if last {
            self.stop().await;
        }
    }

    /// `ip@instanceName[@unitName]`, as brokers see this client.
    pub fn client_id(&self) -> &str {
        self.started
            .get()
            .map_or("", |started| started.client_id.as_str())
    }

    /// The local address toward the first NameServer.
    pub fn local_ip(&self) -> IpAddr {
        self.started
            .get()
            .map_or(IpAddr::from([127, 0, 0, 1]), |started| started.ip)
    }

    /// The configuration the instance was started with.
    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// The shared connection pool.
    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// The NameServer client.
    pub fn namesrv(&self) -> &Arc<NameServerClient> {
        &self.namesrv
    }

    /// The route cache.
    pub fn routes(&self) -> &Arc<RouteCache> {
        &self.routes
    }

    /// Number of members (producers, admins, consumers) holding the instance.
    pub fn members(&self) -> usize {
        self.members.load(Ordering::SeqCst)
    }

    /// Replaces the handler of requests brokers start (consumer notifications, ...). The
    /// default answers REQUEST_CODE_NOT_SUPPORTED. Applies to open connections at once.
    pub fn set_inbound_handler(&self, handler: Arc<dyn InboundHandler>) {
        *self
            .handler
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = handler;
    }

    /// Adds a producer group to the heartbeat. Fails when the group is already registered
    /// here: as in Java, two producers of one group need different instance names.
    pub fn register_producer(&self, group: &str) -> Result<()> {
        if !self.lock_groups().producers.insert(group.to_owned()) {
            return Err(ClientError::State(format!(
                "producer group {group} is already registered by client {}; give the second producer another instanceName",
                self.client_id()
            )));
        }
        self.heartbeat_now.notify_one();
        Ok(())
    }

    /// Removes a producer group and tells every known broker (UNREGISTER_CLIENT).
    pub async fn unregister_producer(&self, group: &str) {
        if self.lock_groups().producers.remove(group) {
            self.unregister_client(Some(group), None).await;
        }
    }

    /// Adds a consumer group to the heartbeat; `provider` describes it each time.
    pub fn register_consumer(
        &self,
        group: &str,
        provider: Arc<dyn ConsumerDataProvider>,
    ) -> Result<()> {
        {
            let mut groups = self.lock_groups();
            if groups.consumers.contains_key(group) {
                return Err(ClientError::State(format!(
                    "consumer group {group} is already registered by client {}; give the second consumer another instanceName",
                    self.client_id()
                )));
            }
            groups.consumers.insert(group.to_owned(), provider);
        }
        self.heartbeat_now.notify_one();
        Ok(())
    }

    /// Removes a consumer group and tells every known broker (UNREGISTER_CLIENT).
    pub async fn unregister_consumer(&self, group: &str) {
        if self.lock_groups().consumers.remove(group).is_some() {
            self.unregister_client(None, Some(group)).await;
        }
    }

    /// Asks the heartbeat loop to send a heartbeat now rather than at the next tick.
    pub fn heartbeat_soon(&self) {
        self.heartbeat_now.notify_one();
    }

    /// The heartbeat as it would be sent now.
    pub fn heartbeat_data(&self) -> HeartbeatData {
        let groups = self.lock_groups();
        HeartbeatData {
            client_id: self.client_id().to_owned(),
            producer_data_set: groups
                .producers
                .iter()
                .map(|group| ProducerData {
                    group_name: group.clone(),
                })
                .collect(),
            consumer_data_set: groups
                .consumers
                .values()
                .map(|provider| provider.consumer_data())
                .collect(),
            heartbeat_fingerprint: None,
            without_sub: None,
        }
    }

    /// Sends one heartbeat with every registered group to every broker of the cached routes:
    /// masters always, the others only when there are consumer groups (they may pull from
    /// slaves), as Java does. Nothing is sent without groups. Returns how many brokers
    /// accepted it.
    pub async fn send_heartbeat_to_all_brokers(&self) -> usize {
        self.heartbeat_outcomes()
            .await
            .iter()
            .filter(|outcome| outcome.is_none())
            .count()
    }

    /// Sends one heartbeat as [`send_heartbeat_to_all_brokers`](Self::send_heartbeat_to_all_brokers)
    /// does, and fails with the first ACL refusal (`Authentication` / `Authorization`) a broker
    /// answered: with ACL on, a consumer whose heartbeat is refused is not in its group, so it
    /// could never be given a queue; its start fails with the broker's reason instead. Other
    /// failures (a broker down) are left to the periodic heartbeat, as before.
    pub async fn heartbeat_checking_access(&self) -> Result<usize> {
        let outcomes = self.heartbeat_outcomes().await;
        if let Some(refused) = outcomes.iter().flatten().find(|err| {
            matches!(
                err,
                ClientError::Authentication { .. } | ClientError::Authorization { .. }
            )
        }) {
            return Err(refused.clone());
        }
        Ok(outcomes.iter().filter(|outcome| outcome.is_none()).count())
    }

    /// One heartbeat to every broker: per broker, `None` when it accepted, else why not.
    async fn heartbeat_outcomes(&self) -> Vec<Option<ClientError>> {
        let data = self.heartbeat_data();
        if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
            return Vec::new();
        }
        let body = match data.encode() {
            Ok(body) => Bytes::from(body),
            Err(err) => {
                warn!("cannot encode the heartbeat: {err}");
                return Vec::new();
            }
        };
        let with_slaves = !data.consumer_data_set.is_empty();
        let targets: Vec<String> = self
            .routes
            .brokers()
            .into_values()
            .flat_map(|addrs| addrs.into_iter())
            .filter(|(id, _)| with_slaves || *id == MASTER_ID)
            .map(|(_, addr)| addr)
            .collect();
        let command =
            RemotingCommand::request(request::HEART_BEAT, ExtFields::new()).with_body(body);
        self.to_each(targets, command, "heartbeat").await
    }

    fn new(config: InstanceConfig) -> ClientInstance {
        let handler = Arc::new(PluggableHandler {
            current: RwLock::new(Arc::new(UnsupportedRequests)),
        });
        let hooks: Vec<Arc<dyn RequestHook>> = match &config.credentials {
            Some(credentials) => vec![Arc::new(AclSigner::new(credentials.clone()))],
            None => Vec::new(),
        };
        let remoting = RemotingClient::with_parts(
            config.connection.clone(),
            match &config.tls {
                Some(tls) => Arc::new(TlsDialer::new(tls.clone())) as Arc<dyn Dialer>,
                None => Arc::new(TcpDialer),
            },
            hooks,
            handler.clone(),
        );
        let namesrv = Arc::new(NameServerClient::new(
            remoting.clone(),
            config.namesrv_addrs.clone(),
            config.request_timeout,
        ));
        let routes = Arc::new(RouteCache::new(
            namesrv.clone(),
            RouteCacheConfig {
                idle_eviction: config.route_idle_eviction,
            },
        ));
        ClientInstance {
            key: config.key(),
            config,
            remoting,
            namesrv,
            routes,
            handler,
            started: OnceCell::new(),
            members: AtomicUsize::new(0),
            groups: Mutex::new(Groups::default()),
            heartbeat_now: Notify::new(),
            stop: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Finds the client IP (async: no blocking socket call on the caller's thread), forms
    /// the client id and starts the background tasks, once.
    async fn ensure_started(self: &Arc<Self>) {
        self.started
            .get_or_init(|| async {
                let ip = local_ip_toward(&self.config.namesrv_addrs[0])
                    .await
                    .unwrap_or(IpAddr::from([127, 0, 0, 1]));
                let client_id = build_client_id(
                    ip,
                    &self.config.instance_name(),
                    self.config.unit_name.as_deref(),
                );
                info!("client instance {client_id} started");
                let refresh = self
                    .routes
                    .spawn_refresh(self.config.route_refresh, self.stop.subscribe());
                let heartbeat =
                    tokio::spawn(Arc::clone(self).heartbeat_loop(self.stop.subscribe()));
                self.lock_tasks().extend([refresh, heartbeat]);
                Started { ip, client_id }
            })
            .await;
    }

    /// Heartbeats every interval, when the group table changes, and when a route shows a
    /// broker address not seen before (so a new broker knows the client before its first
    /// message, and before the next tick).
    async fn heartbeat_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut route_changes = self.routes.subscribe();
        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut ticker = tokio::time::interval(self.config.heartbeat_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = self.heartbeat_now.notified() => {}
                change = route_changes.recv() => match change {
                    Ok(change) => {
                        if change.route.all_addrs().all(|addr| known.contains(addr)) {
                            continue;
                        }
                    }
                    // Missed some changes: check all brokers.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            known = self.routes.broker_addrs().into_iter().collect();
            // A broker that does not answer must not hold up stopping.
            tokio::select! {
                _ = self.send_heartbeat_to_all_brokers() => {}
                _ = stop.changed() => break,
            }
        }
        debug!("heartbeat loop of {} stopped", self.client_id());
    }

    async fn unregister_client(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id().to_owned(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        let command = RemotingCommand::request(request::UNREGISTER_CLIENT, header.to_ext_fields());
        self.to_each(self.routes.broker_addrs(), command, "unregister")
            .await;
    }

    /// Sends `command` to every address at once; per address, `None` when it answered
    /// SUCCESS, else the failure (logged here).
    async fn to_each(
        &self,
        addrs: Vec<String>,
        command: RemotingCommand,
        what: &str,
    ) -> Vec<Option<ClientError>> {
        let sends: Vec<(String, JoinHandle<Result<RemotingCommand>>)> = addrs
            .into_iter()
            .map(|addr| {
                let remoting = self.remoting.clone();
                let command = command.clone();
                let timeout = self.config.request_timeout;
                let target = addr.clone();
                (
                    addr,
                    tokio::spawn(async move { remoting.request(&target, command, timeout).await }),
                )
            })
            .collect();
        let mut results = Vec::with_capacity(sends.len());
        for (addr, send) in sends {
            let outcome = match send.await {
                Ok(Ok(answer)) if answer.code == response::SUCCESS => None,
                Ok(Ok(answer)) => {
                    let remark = answer.remark.unwrap_or_default();
                    warn!(
                        "{what} to {addr} refused [responseCode={}]: {remark}",
                        answer.code
                    );
                    Some(ClientError::BrokerResponse {
                        message: format!("{what} to {addr} refused: {remark}"),
                        code: answer.code,
                    })
                }
                Ok(Err(err)) => {
                    warn!("{what} to {addr} failed: {err}");
                    Some(err)
                }
                Err(err) => {
                    warn!("{what} to {addr} ended abnormally: {err}");
                    Some(ClientError::State(format!(
                        "{what} to {addr} ended abnormally"
                    )))
                }
            };
            results.push(outcome);
        }
        results
    }

    async fn stop(&self) {
        // `send_replace`: a `send` with no receiver at that moment would not store the stop.
        self.stop.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = self.lock_tasks().drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
        self.remoting.close_all();
        info!("client instance {} stopped", self.client_id());
    }

    fn lock_groups(&self) -> std::sync::MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_formed_as_java_forms_them() {
        let ip = IpAddr::from([10, 0, 0, 7]);
        assert_eq!(build_client_id(ip, "4242", None), "10.0.0.7@4242");
        assert_eq!(
            build_client_id(ip, "app", Some("unitA")),
            "10.0.0.7@app@unitA"
        );
        assert_eq!(build_client_id(ip, "app", Some(" ")), "10.0.0.7@app");
    }

    #[test]
    fn the_default_instance_name_is_the_process_id() {
        let config = InstanceConfig::new("127.0.0.1:9876").unwrap();
        assert_eq!(config.instance_name(), std::process::id().to_string());
        let named = config.with_names(Some("orders"), Some(""));
        assert_eq!(named.instance_name(), "orders");
        assert_eq!(named.unit_name, None);
    }
}
