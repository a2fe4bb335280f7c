//! Broadcasting offsets, kept in a file of this client: Java's `LocalFileOffsetStore`.
//!
//! One file per client id and group, `<store dir>/<clientId>/<group>/offsets.json`, in Java's
//! format and written atomically with a backup (see [`super::file`]). The file is read once,
//! by [`OffsetStore::load`] or the first store read, and is known from then on: only this
//! store writes it. Each persist writes the whole table: the offsets the file held, with the
//! changed offsets of the persisted queues put over them (as Java's `persistAll` does), so
//! queues this run never touched keep their offsets. File work runs on tokio's blocking pool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use log::info;
use rocketmq_remoting::body::MessageQueue;
use tokio::time::Instant;

use super::file::{self, Loaded, Table};
use super::table::OffsetTable;
use super::{
    OffsetStore, OffsetStoreCounters, OffsetStoreMetricsSnapshot, ReadOffsetType, StoreFuture,
};
use crate::error::{ClientError, Result};

/// The file name Java uses.
pub const OFFSETS_FILE_NAME: &str = "offsets.json";

/// Java's default store directory, `~/.rocketmq_offsets` (`None` when there is no home
/// directory to put it in).
pub fn default_store_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".rocketmq_offsets"))
}

/// Offsets of one consumer group of one client, kept in a local file.
pub struct LocalOffsetStore {
    group: String,
    path: Arc<PathBuf>,
    table: OffsetTable,
    /// The table the file holds as far as this store knows; `None` until first read.
    on_disk: Mutex<Option<Table>>,
    /// One file write at a time (Java's `string2File` is `synchronized`).
    writing: tokio::sync::Mutex<()>,
    /// Extra immediate attempts of a failed file write within one persist.
    retry_times: u32,
    metrics: OffsetStoreCounters,
}

impl std::fmt::Debug for LocalOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOffsetStore")
            .field("group", &self.group)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalOffsetStore {
    /// The store of `group` for `client_id` under `store_dir`
    /// (`<store_dir>/<client_id>/<group>/offsets.json`).
    pub fn new(store_dir: impl AsRef<Path>, client_id: &str, group: &str) -> Self {
        let path = store_dir
            .as_ref()
            .join(client_id)
            .join(group)
            .join(OFFSETS_FILE_NAME);
        Self::at_path(path, group)
    }

    /// A store on exactly the file `path` (its backup is `path` + `.bak`).
    pub fn at_path(path: impl Into<PathBuf>, group: &str) -> Self {
        LocalOffsetStore {
            group: group.to_owned(),
            path: Arc::new(path.into()),
            table: OffsetTable::default(),
            on_disk: Mutex::new(None),
            writing: tokio::sync::Mutex::new(()),
            retry_times: 0,
            metrics: OffsetStoreCounters::default(),
        }
    }

    /// Sets how many times a failed file write is tried again at once within one persist
    /// (default 0, as Java).
    pub fn with_retry_times(mut self, retry_times: u32) -> Self {
        self.retry_times = retry_times;
        self
    }

    /// The offsets file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    fn lock_on_disk(&self) -> std::sync::MutexGuard<'_, Option<Table>> {
        self.on_disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the file (or its backup) on the blocking pool.
    async fn read_file(&self) -> Result<Loaded> {
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || file::read(&path)).await;
        let loaded = match read {
            Ok(Ok(loaded)) => Ok(loaded),
            Ok(Err(message)) => Err(ClientError::Config(message)),
            Err(join) => Err(ClientError::State(format!(
                "reading {} was interrupted: {join}",
                self.path.display()
            ))),
        };
        self.metrics.record_store_read(loaded.is_ok());
        loaded
    }

    /// The table the file holds, read on first need. When neither the file nor its backup
    /// can be read, it counts as empty here: the write about to happen replaces the file
    /// with a valid one, and offsets only this run knows are better kept than lost.
    async fn known_on_disk(&self) -> Table {
        if let Some(table) = self.lock_on_disk().clone() {
            return table;
        }
        let table = match self.read_file().await {
            Ok(loaded) => loaded.into_table(),
            Err(err) => {
                log::warn!("group {}: {err}; writing a fresh offsets file", self.group);
                Table::new()
            }
        };
        *self.lock_on_disk() = Some(table.clone());
        table
    }

    /// Writes the offsets of `among` that changed; returns how many.
    async fn write_changed(&self, among: &BTreeSet<MessageQueue>) -> Result<usize> {
        let _one_at_a_time = self.writing.lock().await;
        let changed = self.table.changed(among);
        if changed.is_empty() {
            return Ok(0);
        }
        let mut next = self.known_on_disk().await;
        next.extend(changed.iter().cloned());
        let content = file::encode(&next);
        let path = self.path.clone();
        let started = Instant::now();
        let attempts = self.retry_times.saturating_add(1);
        let written = tokio::task::spawn_blocking(move || {
            let mut attempt = 1;
            loop {
                match file::write(&path, &content) {
                    Err(err) if attempt < attempts => {
                        log::debug!(
                            "writing {} failed (attempt {attempt}/{attempts}), trying again: {err}",
                            path.display()
                        );
                        attempt += 1;
                    }
                    other => break other,
                }
            }
        })
        .await;
        let outcome = match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(ClientError::Config(format!(
                "writing offsets file {} failed: {err}",
                self.path.display()
            ))),
            Err(join) => Err(ClientError::State(format!(
                "writing {} was interrupted: {join}",
                self.path.display()
            ))),
        };
        self.metrics
            .record_persist(outcome.is_ok(), started.elapsed());
        outcome?;
        for (mq, offset) in &changed {
            self.table.mark_persisted(mq, *offset);
        }
        *self.lock_on_disk() = Some(next);
        Ok(changed.len())
    }
}

impl OffsetStore for LocalOffsetStore {
    fn load(&self) -> StoreFuture<'_, Result<()>> {
        Box::pin(async move {
            let loaded = self.read_file().await?;
            if let Loaded::Backup(_) = loaded {
                info!(
                    "group {}: offsets restored from the backup file",
                    self.group
                );
            }
            let table = loaded.into_table();
            for (mq, offset) in &table {
                self.table.set_from_store(mq, *offset);
                info!("group {}: loaded offset {offset} of {mq}", self.group);
            }
            *self.lock_on_disk() = Some(table);
            Ok(())
        })
    }

    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table.update(mq, offset, increase_only);
    }

    fn read_offset<'a>(
        &'a self,
        mq: &'a MessageQueue,
        kind: ReadOffsetType,
    ) -> StoreFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            if let Some(answer) = self.table.read_memory_first(mq, kind, &self.metrics) {
                return Ok(answer);
            }
            // Only this store writes the file, so once read (or written) its content is known:
            // a consumer adding its queues asks for each, and rereading a file that needs its
            // backup would warn once per queue.
            let known = self.lock_on_disk().clone();
            let table = match known {
                Some(table) => table,
                None => {
                    let table = self.read_file().await?.into_table();
                    *self.lock_on_disk() = Some(table.clone());
                    table
                }
            };
            let stored = table.get(mq).copied();
            if let Some(offset) = stored {
                self.table.set_from_store(mq, offset);
            }
            Ok(stored)
        })
    }

    fn persist_all<'a>(
        &'a self,
        mqs: &'a BTreeSet<MessageQueue>,
    ) -> StoreFuture<'a, Result<usize>> {
        Box::pin(async move {
            if mqs.is_empty() {
                return Ok(0);
            }
            self.table.retain(mqs);
            self.write_changed(mqs).await
        })
    }

    fn persist<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Result<bool>> {
        Box::pin(async move {
            let only = BTreeSet::from([mq.clone()]);
            Ok(self.write_changed(&only).await? > 0)
        })
    }

    fn remove_offset(&self, mq: &MessageQueue) {
        // Memory only: the file keeps the queue's offset for the next start, as in Java.
        self.table.remove(mq);
    }

    fn clone_offset_table(&self, topic: Option<&str>) -> BTreeMap<MessageQueue, i64> {
        self.table.snapshot(topic)
    }

    fn metrics(&self) -> OffsetStoreMetricsSnapshot {
        self.metrics.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "rocketmq-offsets-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mq(topic: &str, broker: &str, id: i32) -> MessageQueue {
        MessageQueue::new(topic, broker, id)
    }

    const JAVA_FILE: &str = include_str!("../../../tests/fixtures/java-offsets.json");
    const JAVA_BACKUP: &str = include_str!("../../../tests/fixtures/java-offsets.json.bak");

    /// What OffsetFileVectors.java stored: `first` in its first persist (now the backup),
    /// `first` + 3 times 1000 in its second (now the main file).
    fn java_table(first: [i64; 3]) -> Table {
        Table::from([
            (mq("TopicTest", "broker-b", 3), first[0]),
            (mq("%RETRY%java-group", "broker-a", 0), first[1]),
            (mq("TopicTest", "broker-a", 0), first[2]),
        ])
    }
    const JAVA_BACKUP_OFFSETS: [i64; 3] = [100, 101, 102];
    const JAVA_MAIN_OFFSETS: [i64; 3] = [103_000, 104_000, 105_000];

    #[tokio::test]
    async fn offsets_survive_a_restart_under_the_java_path() {
        let dir = TempDir::new();
        let store = LocalOffsetStore::new(&dir.0, "10.0.0.1@4242", "g1");
        assert_eq!(
            store.path(),
            dir.0.join("10.0.0.1@4242").join("g1").join("offsets.json")
        );
        store.load().await.unwrap();
        let queues: BTreeSet<_> = (0..3).map(|i| mq("T", "broker-a", i)).collect();
        for (i, q) in queues.iter().enumerate() {
            store.update_offset(q, 10 * i as i64 + 5, true);
        }
        assert_eq!(store.persist_all(&queues).await.unwrap(), 3);

        let again = LocalOffsetStore::new(&dir.0, "10.0.0.1@4242", "g1");
        again.load().await.unwrap();
        assert_eq!(
            again.clone_offset_table(None),
            store.clone_offset_table(None)
        );
        let q1 = mq("T", "broker-a", 1);
        assert_eq!(
            again
                .read_offset(&q1, ReadOffsetType::ReadFromMemory)
                .await
                .unwrap(),
            Some(15)
        );
        assert_eq!(
            again
                .read_offset(
                    &mq("T", "broker-a", 9),
                    ReadOffsetType::MemoryFirstThenStore
                )
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn each_write_replaces_the_file_and_keeps_the_previous_one_as_backup() {
        let dir = TempDir::new();
        let store = LocalOffsetStore::at_path(dir.0.join("offsets.json"), "g");
        let q = mq("T", "b", 0);
        let all = BTreeSet::from([q.clone()]);
        store.update_offset(&q, 1, true);
        store.persist_all(&all).await.unwrap();
        assert!(
            !file::backup_path(store.path()).exists(),
            "no previous file, no backup"
        );
        store.update_offset(&q, 2, true);
        store.persist_all(&all).await.unwrap();

        let main = file::decode(&fs::read(store.path()).unwrap()).unwrap();
        let backup = file::decode(&fs::read(file::backup_path(store.path())).unwrap()).unwrap();
        assert_eq!(main.get(&q), Some(&2));
        assert_eq!(backup.get(&q), Some(&1));
        let leftovers: Vec<_> = fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

        // Nothing changed: nothing is written, the backup still holds the older table.
        assert_eq!(store.persist_all(&all).await.unwrap(), 0);
        assert_eq!(store.metrics().persist_success_count, 2);
        let backup = file::decode(&fs::read(file::backup_path(store.path())).unwrap()).unwrap();
        assert_eq!(backup.get(&q), Some(&1));
    }

    #[tokio::test]
    async fn a_corrupt_file_falls_back_to_the_backup_and_never_overwrites_it() {
        let dir = TempDir::new();
        let path = dir.0.join("offsets.json");
        let q = mq("T", "b", 0);
        let good = file::encode(&Table::from([(q.clone(), 42)]));
        fs::write(file::backup_path(&path), &good).unwrap();
        // A write torn in the middle.
        fs::write(&path, &good[..good.len() / 2]).unwrap();

        let store = LocalOffsetStore::at_path(&path, "g");
        store.load().await.unwrap();
        assert_eq!(
            store.clone_offset_table(None),
            Table::from([(q.clone(), 42)])
        );
        assert_eq!(
            store
                .read_offset(&q, ReadOffsetType::ReadFromStore)
                .await
                .unwrap(),
            Some(42)
        );

        // The next write replaces the corrupt file; the good backup stays as it was.
        store.update_offset(&q, 43, true);
        store.persist(&q).await.unwrap();
        assert_eq!(fs::read_to_string(file::backup_path(&path)).unwrap(), good);
        assert_eq!(
            file::decode(&fs::read(&path).unwrap()).unwrap(),
            Table::from([(q.clone(), 43)])
        );
    }

    #[tokio::test]
    async fn store_reads_after_load_use_the_known_table_instead_of_rereading_the_file() {
        let dir = TempDir::new();
        let path = dir.0.join("offsets.json");
        let queues: Vec<_> = (0..4).map(|i| mq("T", "b", i)).collect();
        let table: Table = queues.iter().map(|q| (q.clone(), 10)).collect();
        fs::write(file::backup_path(&path), file::encode(&table)).unwrap();
        fs::write(&path, "{\"offsetTable\":{{").unwrap();
        let store = LocalOffsetStore::at_path(&path, "g");
        store.load().await.unwrap();
        // As a consumer adding its queues does: forget the memory value, ask the store.
        for q in &queues {
            store.remove_offset(q);
            assert_eq!(
                store
                    .read_offset(q, ReadOffsetType::ReadFromStore)
                    .await
                    .unwrap(),
                Some(10)
            );
        }
        assert_eq!(
            store.metrics().store_read_count,
            1,
            "the file was read again"
        );
    }

    #[tokio::test]
    async fn a_missing_or_empty_file_reads_the_backup_and_two_bad_files_are_an_error() {
        let dir = TempDir::new();
        let path = dir.0.join("offsets.json");
        let q = mq("T", "b", 1);
        fs::write(
            file::backup_path(&path),
            file::encode(&Table::from([(q.clone(), 7)])),
        )
        .unwrap();
        let store = LocalOffsetStore::at_path(&path, "g");
        assert_eq!(
            store
                .read_offset(&q, ReadOffsetType::MemoryFirstThenStore)
                .await
                .unwrap(),
            Some(7)
        );
        fs::write(&path, "").unwrap();
        assert_eq!(
            LocalOffsetStore::at_path(&path, "g")
                .read_offset(&q, ReadOffsetType::ReadFromStore)
                .await
                .unwrap(),
            Some(7)
        );

        fs::write(&path, "{\"offsetTable\":{{").unwrap();
        fs::write(file::backup_path(&path), "not json").unwrap();
        let broken = LocalOffsetStore::at_path(&path, "g");
        let err = broken.load().await.unwrap_err();
        assert_eq!(err.code(), "ERR_CONFIG");
        assert!(err.to_string().contains("backup"), "{err}");
        assert_eq!(broken.metrics().store_read_failure_count, 1);
        // Nothing at all: a first start.
        let fresh = LocalOffsetStore::at_path(dir.0.join("none").join("offsets.json"), "g");
        fresh.load().await.unwrap();
        assert_eq!(
            fresh
                .read_offset(&q, ReadOffsetType::ReadFromStore)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn the_file_java_writes_is_read_and_ours_has_the_same_bytes() {
        let dir = TempDir::new();
        let path = dir
            .0
            .join("java-client@1")
            .join("java-group")
            .join("offsets.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, JAVA_FILE).unwrap();
        fs::write(file::backup_path(&path), JAVA_BACKUP).unwrap();

        let store = LocalOffsetStore::new(&dir.0, "java-client@1", "java-group");
        store.load().await.unwrap();
        assert_eq!(
            store.clone_offset_table(None),
            java_table(JAVA_MAIN_OFFSETS)
        );
        assert_eq!(store.clone_offset_table(Some("TopicTest")).len(), 2);
        assert_eq!(
            file::decode(JAVA_BACKUP.as_bytes()).unwrap(),
            java_table(JAVA_BACKUP_OFFSETS)
        );
        // Java's entries in our order: fastjson writes keys and fields the same way.
        let ours = file::encode(&java_table(JAVA_MAIN_OFFSETS));
        assert_eq!(
            file::decode(ours.as_bytes()).unwrap(),
            java_table(JAVA_MAIN_OFFSETS)
        );
        assert!(ours.starts_with(
            "{\n\t\"offsetTable\":{{\n\t\t\t\"brokerName\":\"broker-a\",\n\t\t\t\"queueId\":0,"
        ));
        let java_entry = "{\n\t\t\t\"brokerName\":\"broker-b\",\n\t\t\t\"queueId\":3,\n\t\t\t\"topic\":\"TopicTest\"\n\t\t}:103000";
        assert!(JAVA_FILE.contains(java_entry) && ours.contains(java_entry));
        assert_eq!(ours.len(), JAVA_FILE.len());
    }

    #[tokio::test]
    async fn a_persist_keeps_the_offsets_of_queues_it_did_not_touch() {
        let dir = TempDir::new();
        let path = dir.0.join("offsets.json");
        let (a, b) = (mq("T", "b", 0), mq("T", "b", 1));
        fs::write(
            &path,
            file::encode(&Table::from([(a.clone(), 5), (b.clone(), 6)])),
        )
        .unwrap();
        let store = LocalOffsetStore::at_path(&path, "g");
        store.update_offset(&a, 9, true);
        assert!(store.persist(&a).await.unwrap());
        assert_eq!(
            file::decode(&fs::read(&path).unwrap()).unwrap(),
            Table::from([(a, 9), (b, 6)])
        );
    }
}
