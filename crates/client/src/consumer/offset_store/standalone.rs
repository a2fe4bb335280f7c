//! An offset store that lives on its own, outside a consumer (the seed's `create_offset_store`):
//! the rules its settings must meet, where it finds its brokers or its file, and the timer
//! that persists it.
//!
//! A consumer given such a store uses it instead of opening its own
//! ([`crate::consumer::push::PushConsumer::use_offset_store`]); the store's owner starts and
//! stops it. Lifecycle: created → started (loaded, timer running) → stopped (persisted, timer
//! ended, client instance left). A stopped store is not started again: its instance is gone.
//!
//! A clustering store joins the shared [`ClientInstance`] of its NameServer list, instance name
//! and unit name (the process id by default, so it shares the connections of the process's
//! producers and clustering consumers). It does not heartbeat its group: a member that takes
//! no queues would still count in the group's rebalance. A broker refuses offsets of a group
//! it does not know (response code 26), so the group must exist on the brokers (any member's
//! heartbeat creates it when `autoCreateSubscriptionGroup` is on, as by default). A
//! broadcasting store joins nothing: it only needs the client id, `ip@instanceName[@unitName]`
//! (instance name `DEFAULT` unless set, as a broadcasting consumer's), for its file's path.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{info, warn};
use rocketmq_remoting::body::{MessageModel, MessageQueue};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::local::{self, LocalOffsetStore};
use super::remote::RemoteOffsetStore;
use super::OffsetStore;
use crate::client_ip::local_ip_toward;
use crate::consumer::push::BROADCASTING_DEFAULT_INSTANCE_NAME;
use crate::error::{ClientError, Result};
use crate::instance::{build_client_id, ClientInstance, InstanceConfig};
use crate::namespace;
use crate::validation::validate_group;

/// The seed's default persist interval, 5 s (Java's `persistConsumerOffsetInterval`).
pub const DEFAULT_PERSIST_INTERVAL_MS: f64 = 5000.0;
/// The longest persist interval, the largest timer delay JavaScript accepts.
pub const MAX_PERSIST_INTERVAL_MS: f64 = 2_147_483_647.0;
/// The largest `persist_batch_size`.
pub const MAX_PERSIST_BATCH_SIZE: f64 = 1024.0;

/// What a standalone store is made from, as the user gave it (numbers as JavaScript has
/// them, so that the rules can say what was wrong with a fraction or a negative value).
#[derive(Debug, Clone, PartialEq)]
pub struct StandaloneStoreSettings {
    /// The consumer group.
    pub group: String,
    /// `"CLUSTERING"` (the brokers keep the offsets) or `"BROADCASTING"` (a local file).
    pub message_model: String,
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    /// Part of the client id.
    pub instance_name: Option<String>,
    /// Appended to the client id when set.
    pub unit_name: Option<String>,
    /// ACL access key (with `secret_key`, and optionally `security_token`); see
    /// [`crate::acl::Credentials::from_settings`] for the rules.
    pub access_key: Option<String>,
    /// ACL secret key.
    pub secret_key: Option<String>,
    /// ACL security token.
    pub security_token: Option<String>,
    /// TLS for every connection; see [`crate::tls::TlsConfig::from_settings`] for the rules.
    pub tls: Option<crate::tls::TlsSettings>,
    /// BROADCASTING only: the directory of the offsets files; default `~/.rocketmq_offsets`.
    pub store_dir: Option<PathBuf>,
    /// Milliseconds between two persists of the timer; default 5000.
    pub persist_interval_ms: Option<f64>,
    /// CLUSTERING only: offset writes of one persist waiting for their answers at once;
    /// default all of them.
    pub persist_batch_size: Option<f64>,
    /// Java's `namespace`: the group is `<namespace>%<group>` on the brokers and in the
    /// file's path, as a consumer of that namespace has it (see [`crate::namespace`]).
    /// None or blank: no namespace.
    pub namespace: Option<String>,
}

/// `"CLUSTERING"` or `"BROADCASTING"` as the engine's model.
pub fn parse_message_model(field: &str, name: &str) -> Result<MessageModel> {
    match name {
        "CLUSTERING" => Ok(MessageModel::Clustering),
        "BROADCASTING" => Ok(MessageModel::Broadcasting),
        other => Err(ClientError::Config(format!(
            "{field} {other:?} must be one of \"CLUSTERING\", \"BROADCASTING\""
        ))),
    }
}

/// The model's name as the settings spell it.
pub fn message_model_name(model: MessageModel) -> &'static str {
    match model {
        MessageModel::Clustering => "CLUSTERING",
        MessageModel::Broadcasting => "BROADCASTING",
    }
}

/// `value` as a whole number in `[min, max]`, or the error naming `field`, the value and the
/// rule.
fn whole_number(field: &str, value: f64, min: f64, max: f64, unit: &str) -> Result<u64> {
    if value.fract() == 0.0 && (min..=max).contains(&value) {
        Ok(value as u64)
    } else {
        Err(ClientError::Config(format!(
            "{field} {value} must be a whole number{unit} in [{min}, {max}]"
        )))
    }
}

impl StandaloneStoreSettings {
    /// Checks every rule; the first broken one is the error, naming the field, the value and
    /// the rule.
    pub fn check(&self) -> Result<()> {
        self.resolve().map(|_| ())
    }

    fn resolve(&self) -> Result<Resolved> {
        validate_group("consumerGroup", &self.group)?;
        if let Some(ns) = namespace::effective(self.namespace.as_deref()) {
            namespace::validate_namespace(ns)?;
        }
        let model = parse_message_model("messageModel", &self.message_model)?;
        let broadcasting = model == MessageModel::Broadcasting;
        match &self.store_dir {
            Some(dir) if !broadcasting => {
                return Err(ClientError::Config(format!(
                    "storePath {:?} applies to BROADCASTING stores only; a CLUSTERING group's offsets live on the brokers",
                    dir.display().to_string()
                )))
            }
            Some(dir) if dir.as_os_str().is_empty() => {
                return Err(ClientError::Config(
                    "storePath \"\" must be a non-empty directory path".into(),
                ))
            }
            _ => {}
        }
        let persist_interval = Duration::from_millis(whole_number(
            "persistInterval",
            self.persist_interval_ms
                .unwrap_or(DEFAULT_PERSIST_INTERVAL_MS),
            1.0,
            MAX_PERSIST_INTERVAL_MS,
            " of milliseconds",
        )?);
        let persist_batch_size = match self.persist_batch_size {
            Some(size) if broadcasting => {
                return Err(ClientError::Config(format!(
                    "persistBatchSize {size} applies to CLUSTERING stores only; a BROADCASTING store writes all its offsets in one file write"
                )))
            }
            Some(size) => Some(whole_number(
                "persistBatchSize",
                size,
                1.0,
                MAX_PERSIST_BATCH_SIZE,
                "",
            )? as usize),
            None => None,
        };
        let instance_name = match self.instance_name.as_deref() {
            Some(name) if !name.trim().is_empty() => Some(name),
            _ if broadcasting => Some(BROADCASTING_DEFAULT_INSTANCE_NAME),
            _ => None,
        };
        let instance = InstanceConfig::new(&self.namesrv_addr)
            .map_err(|err| ClientError::Config(format!("namesrvAddr: {err}")))?
            .with_names(instance_name, self.unit_name.as_deref())
            .with_credentials(crate::acl::Credentials::from_settings(
                self.access_key.as_deref(),
                self.secret_key.as_deref(),
                self.security_token.as_deref(),
            )?)
            .with_tls(
                self.tls
                    .as_ref()
                    .map(crate::tls::TlsConfig::from_settings)
                    .transpose()?,
            );
        let store_dir = if broadcasting {
            let dir = match &self.store_dir {
                Some(dir) => dir.clone(),
                None => local::default_store_dir().ok_or_else(|| {
                    ClientError::Config(
                        "storePath: no home directory for the default ~/.rocketmq_offsets; set storePath".into(),
                    )
                })?,
            };
            check_writable(&dir)?;
            Some(dir)
        } else {
            None
        };
        Ok(Resolved {
            store_dir,
            model,
            persist_interval,
            persist_batch_size,
            instance,
        })
    }
}

/// Creates `dir` if needed and writes and removes a probe file in it, as the seed's check
/// does: a store that could never write its file is refused when made, not at its first
/// persist.
fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".rocketmq_write_probe");
    let outcome = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe));
    outcome.map_err(|err| {
        ClientError::Config(format!(
            "storePath {:?} must be a directory this process can create and write: {err}",
            dir.display().to_string()
        ))
    })
}

struct Resolved {
    /// BROADCASTING: the directory of the offsets files, checked writable.
    store_dir: Option<PathBuf>,
    model: MessageModel,
    persist_interval: Duration,
    persist_batch_size: Option<usize>,
    instance: InstanceConfig,
}

/// Where the store's offsets live.
enum Backing {
    /// The brokers, through this instance until the store stops.
    Remote(Mutex<Option<Arc<ClientInstance>>>),
    /// A file under `dir`.
    Local { dir: PathBuf, file: PathBuf },
}

enum Lifecycle {
    Created,
    Started {
        stop: watch::Sender<bool>,
        timer: JoinHandle<()>,
    },
    Stopped,
}

/// An offset store of its own, with its persist timer. See the module docs.
pub struct StandaloneOffsetStore {
    /// As the brokers know it (with the namespace).
    group: String,
    namespace: Option<String>,
    model: MessageModel,
    client_id: String,
    persist_interval: Duration,
    store: Arc<dyn OffsetStore>,
    backing: Backing,
    lifecycle: Mutex<Lifecycle>,
    /// Serialises start and stop, which await between their steps.
    transitions: tokio::sync::Mutex<()>,
    /// The runtime the store was opened on, for a store dropped without `stop`.
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for StandaloneOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneOffsetStore")
            .field("group", &self.group)
            .field("model", &self.model)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl StandaloneOffsetStore {
    /// Checks `settings` and makes the store, not started: a clustering store joins its
    /// client instance, a broadcasting one works out its file's path. Must run on a tokio
    /// runtime.
    pub async fn open(settings: &StandaloneStoreSettings) -> Result<Self> {
        let resolved = settings.resolve()?;
        let namespace = namespace::effective(settings.namespace.as_deref()).map(str::to_owned);
        let group = namespace::wrap(namespace.as_deref(), &settings.group);
        let (store, backing, client_id): (Arc<dyn OffsetStore>, Backing, String) =
            match resolved.model {
                MessageModel::Clustering => {
                    let instance = ClientInstance::acquire(resolved.instance).await?;
                    let mut store = RemoteOffsetStore::for_instance(&instance, group.clone());
                    if let Some(max) = resolved.persist_batch_size {
                        store = store.with_max_writes_in_flight(max);
                    }
                    let client_id = instance.client_id().to_owned();
                    (
                        Arc::new(store),
                        Backing::Remote(Mutex::new(Some(instance))),
                        client_id,
                    )
                }
                MessageModel::Broadcasting => {
                    let config = &resolved.instance;
                    // The address the instance of these names would find, so that the path is
                    // the one a broadcasting consumer of the same settings uses.
                    let ip = local_ip_toward(&config.namesrv_addrs[0])
                        .await
                        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
                    let client_id =
                        build_client_id(ip, &config.instance_name(), config.unit_name.as_deref());
                    let dir = resolved.store_dir.clone().unwrap_or_default();
                    let store = LocalOffsetStore::new(&dir, &client_id, &group);
                    let file = store.path().to_path_buf();
                    (Arc::new(store), Backing::Local { dir, file }, client_id)
                }
            };
        Ok(StandaloneOffsetStore {
            group,
            namespace,
            model: resolved.model,
            client_id,
            persist_interval: resolved.persist_interval,
            store,
            backing,
            lifecycle: Mutex::new(Lifecycle::Created),
            transitions: tokio::sync::Mutex::new(()),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// The store itself, for a consumer or for direct calls.
    pub fn store(&self) -> Arc<dyn OffsetStore> {
        Arc::clone(&self.store)
    }

    /// The consumer group as the brokers know it: `<namespace>%<group>` in a namespace.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The namespace the store was made in (None: none).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// CLUSTERING (brokers) or BROADCASTING (file).
    pub fn message_model(&self) -> MessageModel {
        self.model
    }

    /// The client id the store's offsets belong to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The timer's period.
    pub fn persist_interval(&self) -> Duration {
        self.persist_interval
    }

    /// BROADCASTING: the directory of the offsets files (`None` when clustering).
    pub fn store_dir(&self) -> Option<&Path> {
        match &self.backing {
            Backing::Local { dir, .. } => Some(dir),
            Backing::Remote(_) => None,
        }
    }

    /// BROADCASTING: the offsets file, `<storeDir>/<clientId>/<group>/offsets.json`.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.backing {
            Backing::Local { file, .. } => Some(file),
            Backing::Remote(_) => None,
        }
    }

    /// `"created"`, `"started"` or `"stopped"`.
    pub fn state(&self) -> &'static str {
        match &*lock(&self.lifecycle) {
            Lifecycle::Created => "created",
            Lifecycle::Started { .. } => "started",
            Lifecycle::Stopped => "stopped",
        }
    }

    /// Loads the file (broadcasting) and starts the persist timer. Does nothing when started;
    /// fails when stopped, or when the file and its backup are both unreadable.
    pub async fn start(self: &Arc<Self>) -> Result<()> {
        let _one_at_a_time = self.transitions.lock().await;
        match &*lock(&self.lifecycle) {
            Lifecycle::Started { .. } => return Ok(()),
            Lifecycle::Stopped => {
                return Err(ClientError::State(format!(
                    "the offset store of group {} is stopped; create a new one",
                    self.group
                )))
            }
            Lifecycle::Created => {}
        }
        if self.model == MessageModel::Broadcasting {
            self.store.load().await?;
        }
        let (stop, stopped) = watch::channel(false);
        let timer = tokio::spawn(persist_loop(
            Arc::downgrade(self),
            self.persist_interval,
            stopped,
        ));
        *lock(&self.lifecycle) = Lifecycle::Started { stop, timer };
        info!(
            "offset store of group {} ({}) started, persisting every {:?}",
            self.group,
            message_model_name(self.model),
            self.persist_interval
        );
        Ok(())
    }

    /// Stops the timer, persists every offset held, and leaves the client instance. Does
    /// nothing when already stopped. A failed persist is the error, after everything else
    /// was done.
    pub async fn stop(&self) -> Result<()> {
        let _one_at_a_time = self.transitions.lock().await;
        let previous = std::mem::replace(&mut *lock(&self.lifecycle), Lifecycle::Stopped);
        match previous {
            Lifecycle::Stopped => return Ok(()),
            Lifecycle::Started { stop, timer } => {
                let _ = stop.send(true);
                let _ = timer.await;
            }
            Lifecycle::Created => {}
        }
        let persisted = persist_everything(self.store.as_ref()).await;
        if let Backing::Remote(instance) = &self.backing {
            let instance = lock(instance).take();
            if let Some(instance) = instance {
                instance.release().await;
            }
        }
        info!("offset store of group {} stopped", self.group);
        persisted.map(|_| ())
    }
}

impl Drop for StandaloneOffsetStore {
    /// A store dropped without `stop` (a collected JavaScript object) ends its timer and
    /// leaves its instance, so that the instance can close once unused.
    fn drop(&mut self) {
        if let Lifecycle::Started { stop, timer } =
            std::mem::replace(&mut *lock(&self.lifecycle), Lifecycle::Stopped)
        {
            let _ = stop.send(true);
            timer.abort();
        }
        if let Backing::Remote(instance) = &self.backing {
            if let Some(instance) = lock(instance).take() {
                self.runtime.spawn(async move { instance.release().await });
            }
        }
    }
}

/// Persists every queue `store` holds in memory (what a store without a consumer's queue set
/// knows); how many offsets were written.
pub async fn persist_everything(store: &dyn OffsetStore) -> Result<usize> {
    let held: BTreeSet<MessageQueue> = store.clone_offset_table(None).into_keys().collect();
    store.persist_all(&held).await
}

/// The timer: every `interval` a persist of everything, until told to stop or the store is
/// gone. Holds the store weakly so that a dropped store ends it.
async fn persist_loop(
    store: std::sync::Weak<StandaloneOffsetStore>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; nothing changed yet
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let Some(store) = store.upgrade() else {
            return;
        };
        if let Err(err) = persist_everything(store.store.as_ref()).await {
            warn!(
                "offset store of group {}: periodic persist failed: {err}",
                store.group
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::offset_store::ReadOffsetType;

    fn settings(model: &str) -> StandaloneStoreSettings {
        StandaloneStoreSettings {
            group: "g".into(),
            message_model: model.into(),
            namesrv_addr: "127.0.0.1:9876".into(),
            instance_name: None,
            unit_name: None,
            access_key: None,
            secret_key: None,
            security_token: None,
            tls: None,
            store_dir: None,
            persist_interval_ms: None,
            persist_batch_size: None,
            namespace: None,
        }
    }

    fn config_error(settings: StandaloneStoreSettings) -> String {
        match settings.check() {
            Err(ClientError::Config(message)) => message,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn every_rule_names_the_field_the_value_and_the_rule() {
        settings("CLUSTERING").check().unwrap();
        settings("BROADCASTING").check().unwrap();

        let message = config_error(StandaloneStoreSettings {
            store_dir: Some("/tmp/offsets".into()),
            ..settings("CLUSTERING")
        });
        assert!(
            message.contains("storePath")
                && message.contains("/tmp/offsets")
                && message.contains("BROADCASTING stores only"),
            "{message}"
        );
        let message = config_error(StandaloneStoreSettings {
            store_dir: Some(PathBuf::new()),
            ..settings("BROADCASTING")
        });
        assert!(message.contains("storePath \"\""), "{message}");

        let message = config_error(StandaloneStoreSettings {
            group: "".into(),
            ..settings("CLUSTERING")
        });
        assert!(
            message.contains("consumerGroup \"\"") && message.contains("must not be blank"),
            "{message}"
        );

        let message = config_error(settings("PUB_SUB"));
        assert!(
            message.contains("messageModel \"PUB_SUB\"") && message.contains("one of"),
            "{message}"
        );

        for bad in [0.0, -5.0, 1.5, 3e9] {
            let message = config_error(StandaloneStoreSettings {
                persist_interval_ms: Some(bad),
                ..settings("CLUSTERING")
            });
            assert!(
                message.starts_with(&format!(
                    "persistInterval {bad} must be a whole number of milliseconds in [1, "
                )),
                "{message}"
            );
        }
        let message = config_error(StandaloneStoreSettings {
            persist_batch_size: Some(0.0),
            ..settings("CLUSTERING")
        });
        assert!(
            message.contains("persistBatchSize 0 must be a whole number in [1, 1024]"),
            "{message}"
        );
        let message = config_error(StandaloneStoreSettings {
            persist_batch_size: Some(10.0),
            ..settings("BROADCASTING")
        });
        assert!(message.contains("CLUSTERING stores only"), "{message}");

        let file =
            std::env::temp_dir().join(format!("standalone-not-a-dir-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let message = config_error(StandaloneStoreSettings {
            store_dir: Some(file.clone()),
            ..settings("BROADCASTING")
        });
        let _ = std::fs::remove_file(&file);
        assert!(message.contains("can create and write"), "{message}");

        let message = config_error(StandaloneStoreSettings {
            namesrv_addr: "nowhere".into(),
            ..settings("CLUSTERING")
        });
        assert!(message.starts_with("namesrvAddr"), "{message}");
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "standalone-store-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn a_broadcasting_store_lives_at_the_consumers_path_loads_at_start_and_persists_at_stop()
    {
        let dir = TempDir::new();
        let broadcasting = StandaloneStoreSettings {
            store_dir: Some(dir.0.clone()),
            instance_name: Some("edge".into()),
            ..settings("BROADCASTING")
        };
        let q = MessageQueue::new("T", "b", 3);

        let first = Arc::new(StandaloneOffsetStore::open(&broadcasting).await.unwrap());
        assert_eq!(first.client_id(), "127.0.0.1@edge");
        assert_eq!(
            first.file_path().unwrap(),
            dir.0.join("127.0.0.1@edge").join("g").join("offsets.json")
        );
        assert_eq!(first.state(), "created");
        first.start().await.unwrap();
        first.start().await.unwrap(); // a second start does nothing
        first.store().update_offset(&q, 17, false);
        first.stop().await.unwrap();
        assert_eq!(first.state(), "stopped");
        assert!(first.file_path().unwrap().exists());
        let restart = first.start().await.unwrap_err();
        assert_eq!(restart.code(), "ERR_STATE");

        let second = Arc::new(StandaloneOffsetStore::open(&broadcasting).await.unwrap());
        second.start().await.unwrap();
        assert_eq!(
            second
                .store()
                .read_offset(&q, ReadOffsetType::ReadFromMemory)
                .await
                .unwrap(),
            Some(17),
            "start loads the file"
        );
        second.stop().await.unwrap();
    }

    #[tokio::test]
    async fn a_broadcasting_store_without_an_instance_name_takes_javas_default() {
        let dir = TempDir::new();
        let store = StandaloneOffsetStore::open(&StandaloneStoreSettings {
            store_dir: Some(dir.0.clone()),
            ..settings("BROADCASTING")
        })
        .await
        .unwrap();
        assert_eq!(store.client_id(), "127.0.0.1@DEFAULT");
        assert_eq!(store.store_dir(), Some(dir.0.as_path()));
    }

    #[tokio::test]
    async fn the_timer_persists_without_being_asked() {
        let dir = TempDir::new();
        let store = Arc::new(
            StandaloneOffsetStore::open(&StandaloneStoreSettings {
                store_dir: Some(dir.0.clone()),
                persist_interval_ms: Some(20.0),
                ..settings("BROADCASTING")
            })
            .await
            .unwrap(),
        );
        store.start().await.unwrap();
        let q = MessageQueue::new("T", "b", 0);
        store.store().update_offset(&q, 5, false);
        // A bound, not a timing assertion: the timer writes within a few periods.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.store().metrics().persist_success_count == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the timer never persisted"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let on_disk = super::super::file::read(store.file_path().unwrap()).unwrap();
        assert_eq!(on_disk.into_table().get(&q), Some(&5));
        store.stop().await.unwrap();
        assert_eq!(
            store.store().metrics().persist_success_count,
            1,
            "nothing changed since: stop writes nothing"
        );
    }

    #[tokio::test]
    async fn a_consumer_takes_only_a_store_of_its_own_group_and_model() {
        use crate::consumer::push::{
            ConsumeConcurrentlyStatus, ConsumeContext, PushConsumer, PushConsumerConfig,
        };
        use rocketmq_remoting::message::MessageExt;

        let dir = TempDir::new();
        let store = StandaloneOffsetStore::open(&StandaloneStoreSettings {
            store_dir: Some(dir.0.clone()),
            ..settings("BROADCASTING")
        })
        .await
        .unwrap();
        let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let consumer = |group: &str, model| {
            PushConsumer::new(
                PushConsumerConfig {
                    group: group.into(),
                    namesrv_addr: "127.0.0.1:9876".into(),
                    message_model: model,
                    ..PushConsumerConfig::default()
                },
                listener.clone(),
            )
            .unwrap()
        };
        let give = |c: &PushConsumer| {
            c.use_offset_store(
                store.store(),
                store.group(),
                store.namespace(),
                store.message_model(),
            )
        };

        give(&consumer("g", MessageModel::Broadcasting)).unwrap();
        for (group, model, named) in [
            (
                "other",
                MessageModel::Broadcasting,
                "\"other\" (BROADCASTING)",
            ),
            ("g", MessageModel::Clustering, "\"g\" (CLUSTERING)"),
        ] {
            match give(&consumer(group, model)) {
                Err(ClientError::Config(message)) => assert!(
                    message.contains("group \"g\" (BROADCASTING)") && message.contains(named),
                    "{message}"
                ),
                other => panic!("expected a configuration error, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_namespaced_store_keeps_the_wrapped_group_and_suits_a_consumer_of_that_namespace() {
        use crate::consumer::push::{
            ConsumeConcurrentlyStatus, ConsumeContext, PushConsumer, PushConsumerConfig,
        };
        use rocketmq_remoting::message::MessageExt;

        let dir = TempDir::new();
        let store = StandaloneOffsetStore::open(&StandaloneStoreSettings {
            store_dir: Some(dir.0.clone()),
            namespace: Some("ns1".into()),
            ..settings("BROADCASTING")
        })
        .await
        .unwrap();
        assert_eq!(store.group(), "ns1%g");
        assert_eq!(store.namespace(), Some("ns1"));
        assert!(store.file_path().unwrap().ends_with("ns1%g/offsets.json"));
        let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let consumer = |namespace: Option<&str>| {
            PushConsumer::new(
                PushConsumerConfig {
                    group: "g".into(),
                    namesrv_addr: "127.0.0.1:9876".into(),
                    message_model: MessageModel::Broadcasting,
                    namespace: namespace.map(str::to_owned),
                    ..PushConsumerConfig::default()
                },
                listener.clone(),
            )
            .unwrap()
        };
        let give = |c: &PushConsumer| {
            c.use_offset_store(
                store.store(),
                store.group(),
                store.namespace(),
                store.message_model(),
            )
        };
        give(&consumer(Some("ns1"))).unwrap();
        match give(&consumer(None)) {
            Err(ClientError::Config(message)) => assert!(
                message.contains("group \"g\" in namespace \"ns1\" (BROADCASTING)")
                    && message.contains("consumerGroup is \"g\" (BROADCASTING)"),
                "{message}"
            ),
            other => panic!("expected a configuration error, got {other:?}"),
        }
        let bad = StandaloneStoreSettings {
            namespace: Some("a%b".into()),
            ..settings("CLUSTERING")
        };
        assert!(config_error(bad).starts_with("namespace"));
    }
}
