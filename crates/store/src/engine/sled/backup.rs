//! Backup to one file; restore into a missing or empty directory only,
//! built beside it and renamed into place once verified.
//!
//! File layout: `GONGKAI-BACKUP\n`, the store format (u32 BE), then every
//! sled collection as `type`, `name` (length-prefixed) followed by its
//! entries (`1`, then each field length-prefixed) and a `0`; last, the
//! SHA-256 of everything before it. A damaged file is refused before anything
//! is written. A backup never replaces an existing file.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use sha2::{Digest, Sha256};

use super::{SledEngine, StoreOptions};
use crate::{Result, STORE_FORMAT, StoreError};

/// The first bytes of every backup file.
pub const MAGIC: &[u8] = b"GONGKAI-BACKUP\n";

/// What a backup or restore moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupStats {
    /// sled collections (trees).
    pub collections: u64,
    /// Key/value entries.
    pub entries: u64,
    /// Bytes in the file.
    pub bytes: u64,
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, data: &[u8]) -> Result<()> {
        self.hash.update(data);
        self.bytes = self.bytes.saturating_add(data.len() as u64);
        self.inner.write_all(data)?;
        Ok(())
    }
    fn field(&mut self, data: &[u8]) -> Result<()> {
        let len =
            u32::try_from(data.len()).map_err(|_| StoreError::Io("value over 4 GiB".into()))?;
        self.put(&len.to_be_bytes())?;
        self.put(data)
    }
}

/// Writes the whole store (the caller holds the gate exclusively) to `path`, which
/// must not exist: a backup is never overwritten, not even by another
/// backup racing for the same name. The file is written under a temporary
/// name beside it and then linked to `path`, which fails if `path` exists
/// (at that moment, whoever made it); a backup that fails leaves nothing.
pub(crate) fn write(store: &SledEngine, path: &Path) -> Result<BackupStats> {
    // Refuse early, before the whole store is written; the link decides.
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(already_exists(path));
    }
    // Everything written so far, without the writer (the caller holds the gate).
    store.db().flush()?;
    let (tmp, file) = create_tmp(path)?;
    let written = write_to(store, file).and_then(|stats| {
        std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => already_exists(path),
            _ => StoreError::from(e),
        })?;
        Ok(stats)
    });
    // The backup, when written, has its own name now; the temporary one
    // goes either way (failing to remove it leaves a hidden second name of
    // a complete backup, not a reason to call the backup failed).
    let _ = std::fs::remove_file(&tmp);
    let stats = written?;
    // The new name is an entry of the directory: make it survive a crash.
    File::open(dir_of(path))?.sync_all()?;
    Ok(stats)
}

fn already_exists(path: &Path) -> StoreError {
    StoreError::AlreadyExists(format!("backup file {}", path.display()))
}

/// The directory `path` names a file in.
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A new file beside `path` under a name no caller gives (hidden, with the
/// process id and a counter), so that neither `path` nor any other file is
/// truncated: created only if it does not exist.
fn create_tmp(path: &Path) -> Result<(std::path::PathBuf, File)> {
    let name = path
        .file_name()
        .ok_or_else(|| {
            StoreError::InvalidArgument(format!("backup path {} names no file", path.display()))
        })?
        .to_string_lossy();
    let dir = dir_of(path);
    let pid = std::process::id();
    let mut last = None;
    for n in 0..64u32 {
        let tmp = dir.join(format!(".{name}.{pid}.{n}.partial"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Io(format!(
        "no free temporary name beside {}: {}",
        path.display(),
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// The backup's bytes into `file`, synced.
fn write_to(store: &SledEngine, file: File) -> Result<BackupStats> {
    let mut w = HashingWriter {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut stats = BackupStats::default();
    w.put(MAGIC)?;
    w.put(&STORE_FORMAT.to_be_bytes())?;
    for (kind, name, entries) in store.db().export() {
        w.put(&[1])?;
        w.field(&kind)?;
        w.field(&name)?;
        stats.collections = stats.collections.saturating_add(1);
        for entry in entries {
            w.put(&[1])?;
            let n =
                u32::try_from(entry.len()).map_err(|_| StoreError::Io("entry too wide".into()))?;
            w.put(&n.to_be_bytes())?;
            for field in &entry {
                w.field(field)?;
            }
            stats.entries = stats.entries.saturating_add(1);
        }
        w.put(&[0])?;
    }
    w.put(&[0])?;
    let digest = w.hash.clone().finalize();
    w.inner.write_all(&digest)?;
    let file = w
        .inner
        .into_inner()
        .map_err(|e| StoreError::Io(e.to_string()))?;
    file.sync_all()?;
    stats.bytes = w.bytes.saturating_add(32);
    Ok(stats)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| StoreError::BadBackup("truncated".into()))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn field(&mut self) -> Result<Vec<u8>> {
        let n = usize::try_from(self.u32()?).map_err(|_| StoreError::BadBackup("length".into()))?;
        Ok(self.take(n)?.to_vec())
    }
}

pub(crate) type Collection = (Vec<u8>, Vec<u8>, Vec<Vec<Vec<u8>>>);

pub(crate) fn parse(data: &[u8]) -> Result<Vec<Collection>> {
    let body_len = data
        .len()
        .checked_sub(32)
        .ok_or_else(|| StoreError::BadBackup("shorter than its checksum".into()))?;
    let (body, digest) = data.split_at(body_len);
    if Sha256::digest(body).as_slice() != digest {
        return Err(StoreError::BadBackup(
            "checksum does not match: the file is damaged".into(),
        ));
    }
    let mut r = Reader { data: body, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(StoreError::BadBackup("not a gongkai backup".into()));
    }
    let format = r.u32()?;
    if format > STORE_FORMAT {
        return Err(StoreError::NewerFormat {
            found: format,
            supported: STORE_FORMAT,
        });
    }
    let mut out: Vec<Collection> = Vec::new();
    // What sled's import takes without panicking: trees, each named once,
    // of key/value pairs in strictly ascending key order (as exported).
    while r.byte()? == 1 {
        let kind = r.field()?;
        let name = r.field()?;
        let shown = String::from_utf8_lossy(&name).into_owned();
        if kind != b"tree" {
            return Err(StoreError::BadBackup(format!(
                "collection {shown} is a {}, not a tree",
                String::from_utf8_lossy(&kind)
            )));
        }
        if out.iter().any(|(_, n, _)| *n == name) {
            return Err(StoreError::BadBackup(format!(
                "collection {shown} appears twice"
            )));
        }
        let mut entries: Vec<Vec<Vec<u8>>> = Vec::new();
        while r.byte()? == 1 {
            if r.u32()? != 2 {
                return Err(StoreError::BadBackup(format!(
                    "an entry of {shown} is not a key and a value"
                )));
            }
            let entry = vec![r.field()?, r.field()?];
            if entries.last().is_some_and(|last| last[0] >= entry[0]) {
                return Err(StoreError::BadBackup(format!(
                    "the keys of {shown} are out of order or repeated"
                )));
            }
            entries.push(entry);
        }
        out.push((kind, name, entries));
    }
    if r.at != body.len() {
        return Err(StoreError::BadBackup(
            "trailing bytes after the last collection".into(),
        ));
    }
    Ok(out)
}

/// Restores a backup into `dir`, which must not exist or be empty, and
/// says what it moved; open the store at `dir` to use it.
///
/// The store is built beside `dir`, under a hidden name in the same parent
/// (`.{name}.restoring-{pid}-{n}`): imported, verified in full (the chain,
/// every record and everything derived from them), closed, synced, and only
/// then renamed to `dir` (a rename onto a missing or empty directory, one
/// step). So a restore killed at any moment leaves nothing under `dir`: it
/// is absent (or the empty directory it was) until it is a complete,
/// verified store. Restores beside one target take turns (a lock on the
/// parent directory), so the temporary directories one finds are killed
/// restores' leftovers, and it removes them. Everything that can be refused
/// (the target, the file) is refused before anything is written.
///
/// `verified` opens the imported database as a store, verifies it in full
/// and flushes it (the store's rules, which the engine does not know).
pub(crate) fn restore(
    backup: &Path,
    dir: &Path,
    options: &StoreOptions,
    verified: impl FnOnce(sled::Db, &Path) -> Result<()>,
) -> Result<BackupStats> {
    let name = dir
        .file_name()
        .ok_or_else(|| StoreError::RestoreTarget(format!("{} names no directory", dir.display())))?
        .to_string_lossy()
        .into_owned();
    refuse_target(dir)?;
    let data = std::fs::read(backup)?;
    let collections = parse(&data)?;
    let stats = BackupStats {
        collections: collections.len() as u64,
        entries: collections.iter().map(|c| c.2.len() as u64).sum(),
        bytes: data.len() as u64,
    };
    let parent = dir_of(dir);
    let turn = File::open(parent)?;
    rustix::fs::flock(&turn, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| StoreError::Io(format!("locking {}: {e}", parent.display())))?;
    remove_leftovers(parent, &name)?;
    // Another restore may have placed a store meanwhile.
    refuse_target(dir)?;
    let tmp = create_tmp_dir(parent, &name)?;
    let placed = build(&tmp, options, collections, verified).and_then(|()| {
        std::fs::rename(&tmp, dir).map_err(|e| {
            StoreError::RestoreTarget(format!("{}: {e} (it was filled meanwhile)", dir.display()))
        })?;
        // The new name is an entry of the parent: make it survive a crash.
        File::open(parent)?.sync_all()?;
        Ok(())
    });
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    placed?;
    Ok(stats)
}

/// The prefix of a restore's temporary directories beside `name`.
fn tmp_prefix(name: &str) -> String {
    format!(".{name}.restoring-")
}

/// Refuses a target that holds anything, or is not a directory.
fn refuse_target(dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
        Ok(m) if !m.is_dir() => Err(StoreError::RestoreTarget(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Ok(_) if std::fs::read_dir(dir)?.next().is_some() => Err(StoreError::RestoreTarget(
            format!("{} is not empty", dir.display()),
        )),
        Ok(_) => Ok(()),
    }
}

/// Removes the temporary directories of restores into `name` that were
/// killed (the caller holds the parent's lock, so no running restore owns
/// one).
fn remove_leftovers(parent: &Path, name: &str) -> Result<()> {
    let prefix = tmp_prefix(name);
    for entry in std::fs::read_dir(parent)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// A new directory beside the target, under a name no caller gives.
fn create_tmp_dir(parent: &Path, name: &str) -> Result<std::path::PathBuf> {
    let pid = std::process::id();
    for n in 0..64u32 {
        let tmp = parent.join(format!("{}{pid}-{n}", tmp_prefix(name)));
        match std::fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Io(format!(
        "no free temporary name beside {}",
        parent.join(name).display()
    )))
}

/// Puts parsed collections into a new database.
pub(crate) fn import(db: &sled::Db, collections: Vec<Collection>) {
    db.import(
        collections
            .into_iter()
            .map(|(k, n, e)| (k, n, e.into_iter()))
            .collect(),
    );
}

/// Imports the collections into `tmp`, verifies the store in full, closes
/// it (waiting until sled has let go of its files) and syncs every file
/// and directory of it.
fn build(
    tmp: &Path,
    options: &StoreOptions,
    collections: Vec<Collection>,
    verified: impl FnOnce(sled::Db, &Path) -> Result<()>,
) -> Result<()> {
    // No periodic flusher: it is flushed below, and a flusher asleep would
    // hold the files for up to its period after the store is dropped.
    let db = sled::Config::new()
        .path(tmp)
        .cache_capacity(options.cache_capacity)
        .flush_every_ms(None)
        .open()?;
    import(&db, collections);
    db.flush()?;
    verified(db, tmp)?;
    wait_until_closed(&tmp.join("db"))?;
    sync_all_under(tmp)
}

/// Waits until sled has let go of the store's file: it holds an exclusive
/// lock on it until its last thread is done, a moment after the last
/// handle is dropped. Nothing writes to the store after this.
fn wait_until_closed(db_file: &Path) -> Result<()> {
    let file = File::open(db_file)?;
    let start = std::time::Instant::now();
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(e) if start.elapsed() > std::time::Duration::from_secs(60) => {
                return Err(StoreError::Io(format!(
                    "sled did not let go of {} within a minute: {e}",
                    db_file.display()
                )));
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
        }
    }
}

/// fsyncs every file and directory under `dir`, and `dir` itself.
fn sync_all_under(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sync_all_under(&path)?;
        } else {
            File::open(&path)?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()?;
    Ok(())
}
