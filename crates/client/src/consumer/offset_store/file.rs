//! The offsets file of the local store: Java's format, written so a crash or a torn write
//! never leaves the store without a readable copy.
//!
//! Format: what fastjson's pretty printer writes for Java's `OffsetSerializeWrapper`,
//! `{"offsetTable":{<MessageQueue>:offset,...}}` with each key a JSON *object* (not standard
//! JSON; read with the object-key reader of [`ResetOffsetBody`], whose body has the same
//! shape). Writing the same bytes keeps the file readable by a Java client of the same
//! client id and group, and the reverse (`tests/java/OffsetFileVectors.java` checks both).
//!
//! Safety: Java's `MixAll.string2File` copies the old file to `<file>.bak`, then overwrites
//! the file in place. Here both steps write a temporary file, fsync it and rename it over the
//! target, so each of the two files is at every moment either its old or its new content.
//! The old file is copied to `.bak` only when it parses: a corrupt file must never replace a
//! good backup.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use log::warn;
use rocketmq_remoting::body::{MessageQueue, ResetOffsetBody};
use rocketmq_remoting::CodecError;

pub(crate) type Table = BTreeMap<MessageQueue, i64>;

/// Where a table was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// The main file.
    Main(Table),
    /// The backup, because the main file was missing, empty or unreadable.
    Backup(Table),
    /// Neither file holds offsets (a first start).
    Nothing,
}

impl Loaded {
    pub(crate) fn into_table(self) -> Table {
        match self {
            Loaded::Main(table) | Loaded::Backup(table) => table,
            Loaded::Nothing => Table::new(),
        }
    }
}

/// `<file>.bak`, Java's backup name.
pub(crate) fn backup_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The file content for `table`, byte for byte what fastjson's pretty printer writes for
/// Java's wrapper (tabs, object keys with fields in name order, no final newline).
pub(crate) fn encode(table: &Table) -> String {
    if table.is_empty() {
        return "{\n\t\"offsetTable\":{}\n}".to_owned();
    }
    let entries: Vec<String> = table
        .iter()
        .map(|(mq, offset)| {
            format!(
                "{{\n\t\t\t\"brokerName\":{},\n\t\t\t\"queueId\":{},\n\t\t\t\"topic\":{}\n\t\t}}:{offset}",
                json_string(&mq.broker_name),
                mq.queue_id,
                json_string(&mq.topic)
            )
        })
        .collect();
    format!("{{\n\t\"offsetTable\":{{{}\n\t}}\n}}", entries.join(","))
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Parses a file in Java's form (object keys) or with the keys as JSON strings.
pub(crate) fn decode(content: &[u8]) -> Result<Table, CodecError> {
    Ok(ResetOffsetBody::decode(content)?.offset_table)
}

/// Why a file yielded no table.
#[derive(Debug)]
enum Unreadable {
    Io(io::Error),
    Corrupt(CodecError),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Io(err) => write!(f, "{err}"),
            Unreadable::Corrupt(err) => write!(f, "not an offsets file ({err})"),
        }
    }
}

/// `Ok(None)` for a missing or empty file.
fn read_one(path: &Path) -> Result<Option<Table>, Unreadable> {
    let content = match fs::read(path) {
        Ok(content) => content,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Unreadable::Io(err)),
    };
    if content.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    decode(&content).map(Some).map_err(Unreadable::Corrupt)
}

/// Reads the offsets at `path`, falling back to the backup when the main file is missing,
/// empty or unreadable (Java's `readLocalOffset`). Fails only when the backup is needed and
/// unreadable too, as Java does: starting over from the consumer's "where to start" rule
/// would silently re-consume or skip messages.
pub(crate) fn read(path: &Path) -> Result<Loaded, String> {
    let main_problem = match read_one(path) {
        Ok(Some(table)) => return Ok(Loaded::Main(table)),
        Ok(None) => None,
        Err(problem) => Some(problem),
    };
    let backup = backup_path(path);
    match (read_one(&backup), &main_problem) {
        (Ok(Some(table)), problem) => {
            warn!(
                "offsets file {} {}; using its backup {}",
                path.display(),
                problem
                    .as_ref()
                    .map_or("is missing or empty".to_owned(), |p| format!(
                        "is unreadable: {p}"
                    )),
                backup.display()
            );
            Ok(Loaded::Backup(table))
        }
        (Ok(None), None) => Ok(Loaded::Nothing),
        (Ok(None), Some(problem)) => {
            warn!(
                "offsets file {} is unreadable ({problem}) and has no backup; starting without offsets",
                path.display()
            );
            Ok(Loaded::Nothing)
        }
        (Err(backup_problem), problem) => Err(format!(
            "offsets file {} {} and its backup {} is unreadable: {backup_problem}",
            path.display(),
            problem
                .as_ref()
                .map_or("is missing".to_owned(), |p| format!("is unreadable ({p})")),
            backup.display()
        )),
    }
}

/// Replaces the file at `path` with `content`, first moving a readable previous version to
/// the backup. Creates the directory.
pub(crate) fn write(path: &Path, content: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    match fs::read(path) {
        Ok(previous) if decode(&previous).is_ok() => replace(&backup_path(path), &previous)?,
        Ok(previous) if previous.iter().all(u8::is_ascii_whitespace) => {}
        Ok(_) => warn!(
            "offsets file {} is corrupt; replacing it and keeping the backup as it is",
            path.display()
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    replace(path, content.as_bytes())
}

/// Writes `bytes` to a temporary sibling, syncs it, renames it over `target` and syncs the
/// directory so the rename itself survives a crash.
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = with_suffix(target, ".tmp");
    let mut file = File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, target)?;
    sync_dir(target)
}

#[cfg(unix)]
fn sync_dir(target: &Path) -> io::Result<()> {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn sync_dir(_target: &Path) -> io::Result<()> {
    // Windows cannot open a directory as a file; its rename is durable once it returns.
    Ok(())
}
