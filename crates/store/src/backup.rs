//! Backup to one file, restore into an empty directory only.
//!
//! File layout: `GONGKAI-BACKUP\n`, the store format (u32 BE), then every
//! sled collection as `type`, `name` (length-prefixed) followed by its
//! entries (`1`, then each field length-prefixed) and a `0`; last, the
//! SHA-256 of everything before it. A damaged file is refused before anything
//! is written, and so is a sealed one that sled's import could not take (a
//! key twice in a tree, an entry that is not a key and a value, a collection
//! that is not a tree). A backup never replaces an existing file.

use std::{
    collections::{HashMap, HashSet},
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use sha2::{Digest, Sha256};

use crate::{Result, STORE_FORMAT, SledStore, StoreError, StoreOptions};

const MAGIC: &[u8] = b"GONGKAI-BACKUP\n";

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

/// Writes the whole store (the caller holds the write lock) to `path`, which
/// must not exist: a backup is never overwritten, not even by another
/// backup racing for the same name. The file is written under a temporary
/// name beside it and then linked to `path`, which fails if `path` exists
/// (at that moment, whoever made it); a backup that fails leaves nothing.
pub(crate) fn write(store: &SledStore, path: &Path) -> Result<BackupStats> {
    // Refuse early, before the whole store is written; the link decides.
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(already_exists(path));
    }
    store.flush_for_backup()?;
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
fn write_to(store: &SledStore, file: File) -> Result<BackupStats> {
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
    let mut out = Vec::new();
    // Keys per tree: sled's import panics on a key it already holds, on an
    // entry that is not a key and a value, and on a collection that is not
    // a tree, so a sealed file with any of them is refused here.
    let mut keys: HashMap<Vec<u8>, HashSet<Vec<u8>>> = HashMap::new();
    while r.byte()? == 1 {
        let kind = r.field()?;
        let name = r.field()?;
        let tree = String::from_utf8_lossy(&name).into_owned();
        if kind != b"tree" {
            return Err(StoreError::BadBackup(format!(
                "collection {tree} is a '{}', not a tree",
                String::from_utf8_lossy(&kind)
            )));
        }
        let seen = keys.entry(name.clone()).or_default();
        let mut entries = Vec::new();
        while r.byte()? == 1 {
            let n = r.u32()?;
            if n != 2 {
                return Err(StoreError::BadBackup(format!(
                    "an entry of tree {tree} has {n} fields, not a key and a value"
                )));
            }
            let key = r.field()?;
            let value = r.field()?;
            if !seen.insert(key.clone()) {
                return Err(StoreError::BadBackup(format!(
                    "tree {tree} holds key {} twice",
                    hex::encode(&key)
                )));
            }
            entries.push(vec![key, value]);
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

/// Restores a backup into `dir`, which must not exist or be empty; the
/// restored store's audit chain is verified before it is returned. On any
/// failure the directory is left as it was found (missing or empty).
pub fn restore(
    backup: &Path,
    dir: &Path,
    options: &StoreOptions,
) -> Result<(SledStore, BackupStats)> {
    let existed = dir.exists();
    if existed && std::fs::read_dir(dir)?.next().is_some() {
        return Err(StoreError::RestoreTarget(format!(
            "{} is not empty",
            dir.display()
        )));
    }
    // Everything that can be refused is refused before the directory is touched.
    let data = std::fs::read(backup)?;
    let collections = parse(&data)?;
    let stats = BackupStats {
        collections: collections.len() as u64,
        entries: collections.iter().map(|c| c.2.len() as u64).sum(),
        bytes: data.len() as u64,
    };
    let result = import_and_verify(dir, options, collections);
    if result.is_err() {
        let _ = clear(dir, existed);
    }
    result.map(|store| (store, stats))
}

fn import_and_verify(
    dir: &Path,
    options: &StoreOptions,
    collections: Vec<Collection>,
) -> Result<SledStore> {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_capacity)
        .open()?;
    import(&db, collections);
    db.flush()?;
    let store = SledStore::with_db(db, dir.to_path_buf())?;
    let v = crate::ReportStore::verify(&store)?;
    if let Some(b) = v.broken {
        return Err(StoreError::BadBackup(format!(
            "restored chain does not verify: event {}: {}",
            b.event, b.detail
        )));
    }
    Ok(store)
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

/// Puts the directory back as it was: removed, or emptied.
fn clear(dir: &Path, existed: bool) -> std::io::Result<()> {
    if !existed {
        return std::fs::remove_dir_all(dir);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(path)?;
        } else {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}
