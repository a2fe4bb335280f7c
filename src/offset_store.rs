//! `NativeOffsetStore`: an offset store as a JavaScript object (`lib/offset-store.ts` wraps it).
//!
//! Two kinds of handle, one class: a store of its own ([`StandaloneOffsetStore`], made by
//! [`open_offset_store`], with its persist timer in Rust), or a view over the store a running
//! consumer commits to ([`NativeOffsetStore::of_consumer`]), looked up at each call since each
//! start of the consumer opens its store anew. Offsets cross as BigInt; failures as error
//! objects with fields ([`Fallible`], [`js_error`]).

use std::sync::Arc;

use napi::bindgen_prelude::BigInt;
use napi::Env;
use napi_derive::napi;
use rocketmq_client::consumer::offset_store::standalone::{message_model_name, persist_everything};
use rocketmq_client::consumer::offset_store::{
    OffsetStore, OffsetStoreMetrics, ReadOffsetType, StandaloneOffsetStore, StandaloneStoreSettings,
};
use rocketmq_client::consumer::push::PushConsumer;
use rocketmq_client::{namespace, ClientError};
use rocketmq_remoting::body::MessageQueue;

use crate::consumer::{NativeConsumer, NativeMessageQueue};
use crate::error::{js_error, Fallible, IntoFallible};

/// What a standalone store is made from (`lib/offset-store-factory.ts` resolved the
/// NameServer address; the rules are checked here).
#[napi(object)]
pub struct NativeOffsetStoreOptions {
    pub consumer_group: String,
    /// 'CLUSTERING' | 'BROADCASTING'.
    pub message_model: String,
    pub namesrv_addr: String,
    /// BROADCASTING only: the directory of the offsets files. Default `~/.rocketmq_offsets`.
    pub store_path: Option<String>,
    /// Milliseconds between two timer persists. Default 5000.
    pub persist_interval: Option<f64>,
    /// CLUSTERING only: offset writes of one persist in flight at once. Default all.
    pub persist_batch_size: Option<f64>,
    pub instance_name: Option<String>,
    pub unit_name: Option<String>,
    /// ACL access key; with `secret_key` every request is signed (see `crates/client/src/acl.rs`).
    pub access_key: Option<String>,
    /// ACL secret key. Never logged, never in an error message.
    pub secret_key: Option<String>,
    /// ACL security token (temporary credentials); only with the two keys.
    pub security_token: Option<String>,
    /// Java's `namespace`: the group is `<namespace>%<group>` on the brokers, and queues
    /// are given and shown with bare topics.
    pub namespace: Option<String>,
    /// TLS for every connection (see `src/tls.rs`); unset for plain TCP.
    pub tls: Option<crate::tls::NativeTls>,
}

impl From<NativeOffsetStoreOptions> for StandaloneStoreSettings {
    fn from(o: NativeOffsetStoreOptions) -> Self {
        StandaloneStoreSettings {
            group: o.consumer_group,
            message_model: o.message_model,
            namesrv_addr: o.namesrv_addr,
            instance_name: o.instance_name,
            unit_name: o.unit_name,
            access_key: o.access_key,
            secret_key: o.secret_key,
            security_token: o.security_token,
            tls: o.tls.as_ref().map(Into::into),
            store_dir: o.store_path.map(Into::into),
            persist_interval_ms: o.persist_interval,
            persist_batch_size: o.persist_batch_size,
            namespace: o.namespace,
        }
    }
}

/// A store's counters; counts are f64 so they never wrap (exact up to 2^53).
#[napi(object)]
pub struct NativeOffsetStoreMetrics {
    pub persist_count: f64,
    pub persist_failures: f64,
    pub persist_success_count: f64,
    pub persist_success_rate: f64,
    pub avg_persist_latency_ms: f64,
    pub cache_hits: f64,
    pub cache_misses: f64,
    pub cache_hit_rate: f64,
}

/// Checks the options of a standalone store without making one; throws the `ERR_CONFIG`
/// error naming the field, the value and the rule.
#[napi(ts_return_type = "void")]
pub fn check_offset_store_options(options: NativeOffsetStoreOptions) -> Fallible<()> {
    StandaloneStoreSettings::from(options).check().fallible()
}

/// Checks the options and makes the store, not started (a CLUSTERING store joins its client
/// instance; a BROADCASTING one works out its file's path).
#[napi(ts_return_type = "Promise<NativeOffsetStore>")]
pub async fn open_offset_store(options: NativeOffsetStoreOptions) -> Fallible<NativeOffsetStore> {
    crate::logger::install_default();
    StandaloneOffsetStore::open(&options.into())
        .await
        .map(|store| NativeOffsetStore {
            source: Source::Standalone(Arc::new(store)),
        })
        .fallible()
}

enum Source {
    Standalone(Arc<StandaloneOffsetStore>),
    Consumer(Arc<PushConsumer>),
}

/// An offset store: a standalone one, or a view over a consumer's.
#[napi]
pub struct NativeOffsetStore {
    source: Source,
}

fn parse_read_type(kind: &str) -> Result<ReadOffsetType, ClientError> {
    match kind {
        "MEMORY_FIRST_THEN_STORE" => Ok(ReadOffsetType::MemoryFirstThenStore),
        "READ_FROM_MEMORY" => Ok(ReadOffsetType::ReadFromMemory),
        "READ_FROM_STORE" => Ok(ReadOffsetType::ReadFromStore),
        other => Err(ClientError::Validation(format!(
            "readOffset type {other:?} must be one of \"MEMORY_FIRST_THEN_STORE\", \"READ_FROM_MEMORY\", \"READ_FROM_STORE\""
        ))),
    }
}

fn offset_of(offset: &BigInt) -> Result<i64, ClientError> {
    let (value, lossless) = offset.get_i64();
    if !lossless || value < 0 {
        return Err(ClientError::Validation(format!(
            "offset {}{value} must be a whole number in [0, 2^63 - 1]",
            if offset.sign_bit && value >= 0 {
                "-"
            } else {
                ""
            }
        )));
    }
    Ok(value)
}

#[napi]
impl NativeOffsetStore {
    /// A view over the store `consumer` commits to while running; calls fail with
    /// `ERR_STATE` while it is not.
    #[napi(factory)]
    pub fn of_consumer(consumer: &NativeConsumer) -> Self {
        NativeOffsetStore {
            source: Source::Consumer(consumer.engine()),
        }
    }

    fn store(&self) -> Result<Arc<dyn OffsetStore>, ClientError> {
        match &self.source {
            Source::Standalone(standalone) => Ok(standalone.store()),
            Source::Consumer(consumer) => consumer.offset_store().ok_or_else(|| {
                ClientError::State(
                    "the consumer is not running: its offset store exists from start() to shutdown()"
                        .into(),
                )
            }),
        }
    }

    fn standalone(&self, what: &str) -> Result<&Arc<StandaloneOffsetStore>, ClientError> {
        match &self.source {
            Source::Standalone(standalone) => Ok(standalone),
            Source::Consumer(_) => Err(ClientError::State(format!(
                "{what}: the consumer's own offset store starts and stops with the consumer"
            ))),
        }
    }

    /// `err` naming topics and the group as the user gave them (without the namespace).
    fn shown_error(&self, err: ClientError) -> ClientError {
        namespace::shown_error(self.namespace(), err)
    }

    /// The namespace the queues' topics are in on the brokers: the standalone store's, or
    /// the consumer's.
    fn namespace(&self) -> Option<&str> {
        match &self.source {
            Source::Standalone(standalone) => standalone.namespace(),
            Source::Consumer(consumer) => consumer.namespace(),
        }
    }

    /// `queue` as the user gave it (bare topic) as the brokers know it.
    fn on_wire(&self, queue: NativeMessageQueue) -> MessageQueue {
        let mut mq = MessageQueue::from(queue);
        if let Some(ns) = self.namespace() {
            mq.topic = namespace::wrap(Some(ns), &mq.topic);
        }
        mq
    }

    /// `queue` of the store as the user sees it (bare topic).
    fn shown(&self, mut queue: MessageQueue) -> NativeMessageQueue {
        if let Some(ns) = self.namespace() {
            queue.topic = namespace::unwrap(Some(ns), &queue.topic);
        }
        queue.into()
    }

    /// The standalone store behind this handle (for a consumer given it).
    pub(crate) fn standalone_store(&self) -> Option<Arc<StandaloneOffsetStore>> {
        match &self.source {
            Source::Standalone(standalone) => Some(Arc::clone(standalone)),
            Source::Consumer(_) => None,
        }
    }

    /// Standalone: the group as given (without the namespace). A consumer view: null.
    #[napi(getter)]
    pub fn consumer_group(&self) -> Option<String> {
        self.standalone_store()
            .map(|s| namespace::unwrap(s.namespace(), s.group()))
    }

    /// The namespace of the queues' topics (and of a standalone store's group); null: none.
    #[napi(getter, js_name = "namespace")]
    pub fn namespace_setting(&self) -> Option<String> {
        self.namespace().map(str::to_owned)
    }

    /// Standalone: 'CLUSTERING' | 'BROADCASTING'. A consumer view: null.
    #[napi(getter)]
    pub fn message_model(&self) -> Option<String> {
        self.standalone_store()
            .map(|s| message_model_name(s.message_model()).to_owned())
    }

    /// Standalone: the client id the offsets belong to. A consumer view: null.
    #[napi(getter)]
    pub fn client_id(&self) -> Option<String> {
        self.standalone_store().map(|s| s.client_id().to_owned())
    }

    /// Standalone BROADCASTING: the directory of the offsets files.
    #[napi(getter)]
    pub fn store_path(&self) -> Option<String> {
        self.standalone_store()
            .and_then(|s| s.store_dir().map(|p| p.display().to_string()))
    }

    /// Standalone BROADCASTING: the offsets file.
    #[napi(getter)]
    pub fn file_path(&self) -> Option<String> {
        self.standalone_store()
            .and_then(|s| s.file_path().map(|p| p.display().to_string()))
    }

    /// Standalone: 'created' | 'started' | 'stopped'. A consumer view: 'started' while the
    /// consumer runs, else 'stopped'.
    #[napi(getter)]
    pub fn state(&self) -> String {
        match &self.source {
            Source::Standalone(s) => s.state().to_owned(),
            Source::Consumer(c) if c.offset_store().is_some() => "started".to_owned(),
            Source::Consumer(_) => "stopped".to_owned(),
        }
    }

    /// Standalone: loads (BROADCASTING) and starts the persist timer.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self) -> Fallible<()> {
        match self.standalone("start()") {
            Ok(standalone) => standalone.start().await,
            Err(err) => Err(err),
        }
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// Standalone: stops the timer, persists everything, leaves the client instance.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn stop(&self) -> Fallible<()> {
        match self.standalone("stop()") {
            Ok(standalone) => standalone.stop().await,
            Err(err) => Err(err),
        }
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// Reads the backing store into memory (the local file; nothing for the brokers).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn load(&self) -> Fallible<()> {
        match self.store() {
            Ok(store) => store.load().await,
            Err(err) => Err(err),
        }
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// Sets the memory offset of a queue (see `OffsetStore::update_offset`).
    #[napi(ts_return_type = "void")]
    pub fn update_offset(
        &self,
        queue: NativeMessageQueue,
        offset: BigInt,
        increase_only: bool,
    ) -> Fallible<()> {
        (|| {
            let offset = offset_of(&offset)?;
            self.store()?
                .update_offset(&self.on_wire(queue), offset, increase_only);
            Ok(())
        })()
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// Persists one queue's offset if it changed; whether one was written.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub async fn persist(&self, queue: NativeMessageQueue) -> Fallible<bool> {
        let mq = self.on_wire(queue);
        match self.store() {
            Ok(store) => store.persist(&mq).await,
            Err(err) => Err(err),
        }
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// Persists every queue held in memory that changed; how many were written.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn persist_all(&self) -> Fallible<u32> {
        match self.store() {
            Ok(store) => persist_everything(store.as_ref())
                .await
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            Err(err) => Err(err),
        }
        .map_err(|err| self.shown_error(err))
        .fallible()
    }

    /// The offset of a queue as `kind` reads it; null when nothing is stored.
    #[napi(ts_return_type = "Promise<bigint | null>")]
    pub async fn read_offset(
        &self,
        queue: NativeMessageQueue,
        kind: String,
    ) -> Fallible<Option<BigInt>> {
        let mq = self.on_wire(queue);
        let read = async {
            let kind = parse_read_type(&kind)?;
            let store = self.store()?;
            store.read_offset(&mq, kind).await
        };
        read.await
            .map(|o| o.map(BigInt::from))
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// Forgets the memory offset of a queue (what is persisted stays).
    #[napi(ts_return_type = "void")]
    pub fn remove_offset(&self, queue: NativeMessageQueue) -> Fallible<()> {
        self.store()
            .map(|store| store.remove_offset(&self.on_wire(queue)))
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// The queues held in memory and their offsets.
    #[napi(ts_return_type = "Array<NativeQueueOffset>")]
    pub fn offsets(&self) -> Fallible<Vec<NativeQueueOffset>> {
        self.store()
            .map(|store| {
                store
                    .clone_offset_table(None)
                    .into_iter()
                    .map(|(mq, offset)| NativeQueueOffset {
                        queue: self.shown(mq),
                        offset: BigInt::from(offset),
                    })
                    .collect()
            })
            .map_err(|err| self.shown_error(err))
            .fallible()
    }

    /// The store's counters now.
    #[napi(ts_return_type = "NativeOffsetStoreMetrics")]
    pub fn metrics(&self) -> Fallible<NativeOffsetStoreMetrics> {
        self.store()
            .map(|store| {
                let snapshot = store.metrics();
                let m = OffsetStoreMetrics::from(snapshot);
                NativeOffsetStoreMetrics {
                    persist_count: m.persist_count as f64,
                    persist_failures: m.persist_failures as f64,
                    persist_success_count: snapshot.persist_success_count as f64,
                    persist_success_rate: m.persist_success_rate,
                    avg_persist_latency_ms: m.avg_persist_latency_ms,
                    cache_hits: m.cache_hits as f64,
                    cache_misses: m.cache_misses as f64,
                    cache_hit_rate: m.cache_hit_rate,
                }
            })
            .map_err(|err| self.shown_error(err))
            .fallible()
    }
}

/// One queue's offset in memory.
#[napi(object)]
pub struct NativeQueueOffset {
    pub queue: NativeMessageQueue,
    pub offset: BigInt,
}

/// Makes `consumer` commit into the standalone `store` (group and model must match); before
/// `start()`.
pub(crate) fn give_store_to(
    env: &Env,
    consumer: &PushConsumer,
    store: &NativeOffsetStore,
) -> napi::Result<()> {
    let standalone = store
        .standalone_store()
        .ok_or_else(|| {
            ClientError::Config(
                "offsetStore: a consumer's own store cannot be given to another consumer".into(),
            )
        })
        .map_err(|err| js_error(env, err))?;
    consumer
        .use_offset_store(
            standalone.store(),
            standalone.group(),
            standalone.namespace(),
            standalone.message_model(),
        )
        .map_err(|err| js_error(env, err))
}
