//! AdminService: operating the running server (admin role). Today one call,
//! BackupStore: the live store is single-writer (sled), so a backup has to
//! be taken by the process that holds it.

use std::path::{Path, PathBuf};

use gongkai_proto::v1::{self as pb, admin_service_server::AdminService};
use gongkai_store::{BACKUP_MAGIC, StoreError};
use tonic::{Request, Response, Status};

use super::Ctx;
use crate::{
    access,
    auth::{Role, Scope},
    error::{ApiError, quoted},
};

/// Where `BackupStore` writes, and how many files it keeps.
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// The backup directory (created if missing).
    pub dir: PathBuf,
    /// Server-named backups (`gongkai-*.backup`) kept after each new one; 0
    /// keeps them all.
    pub keep: usize,
    /// Caller-named backups kept after each new one, the newest by
    /// modification time; 0 keeps them all. Counted apart from the
    /// server-named ones, so that neither kind pushes the other out.
    pub keep_named: usize,
}

/// AdminService over the store.
#[derive(Clone, Debug)]
pub struct AdminApi {
    /// What every service shares.
    pub ctx: Ctx,
    /// None: BackupStore answers FAILED_PRECONDITION.
    pub backup: Option<BackupConfig>,
}

const PREFIX: &str = "gongkai-";
const SUFFIX: &str = ".backup";

/// A caller-chosen file name: one plain path component.
fn checked_name(name: &str) -> Result<&str, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(ApiError::field(
            "file_name",
            format!(
                "{} is not a plain file name (letters, digits, '-', '_', '.'; at most 128 bytes; not starting with '.')",
                quoted(name)
            ),
        ))
    }
}

/// `gongkai-YYYYMMDDTHHMMSSZ.backup` for now (UTC); names sort by time.
fn server_name() -> String {
    format!(
        "{PREFIX}{}{SUFFIX}",
        chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
            .format("%Y%m%dT%H%M%SZ")
    )
}

/// Whether `name` is exactly what [`server_name`] makes: a caller may name a
/// file `gongkai-pre-upgrade.backup`, and pruning must neither count nor
/// remove it.
fn is_server_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|n| n.strip_suffix(SUFFIX))
        .and_then(|stamp| chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok())
        .is_some()
}

/// Whether `path` is a gongkai backup file: what pruning may remove. Only
/// the first bytes are read.
fn is_backup(path: &Path) -> bool {
    let mut head = [0u8; BACKUP_MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| head == BACKUP_MAGIC)
}

/// Removes the oldest caller-named backups beyond `keep` (by modification
/// time, then name): files of a plain name that are not server-named and
/// hold a backup; any other file is left alone. Returns their names.
fn prune_named(dir: &Path, keep: usize) -> Result<Vec<String>, StoreError> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut named = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let meta = entry.metadata()?;
        if !meta.is_file()
            || is_server_name(&name)
            || checked_name(&name).is_err()
            || !is_backup(&entry.path())
        {
            continue;
        }
        named.push((meta.modified()?, name));
    }
    named.sort();
    let excess = named.len().saturating_sub(keep);
    let removed: Vec<String> = named.into_iter().take(excess).map(|(_, n)| n).collect();
    for n in &removed {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(removed)
}

/// Removes the oldest server-named backups beyond `keep`; returns their names.
fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, StoreError> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|n| is_server_name(n))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    let removed: Vec<String> = names.into_iter().take(excess).collect();
    for n in &removed {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(removed)
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn backup_store(
        &self,
        request: Request<pb::BackupStoreRequest>,
    ) -> Result<Response<pb::BackupStoreResponse>, Status> {
        let ctx = self.ctx.clone();
        let backup = self.backup.clone();
        self.ctx
            .run("BackupStore", request, |p, req| async move {
                access::require(&p, Role::Admin)?;
                // The file holds every agency's data: only an admin of the
                // whole store may have it written.
                if p.scope != Scope::Everything {
                    return Err(ApiError::PermissionDenied(format!(
                        "{} administers part of the store only; a backup holds all of it (agency \"*\" needed)",
                        p.name
                    )));
                }
                let config = backup.ok_or_else(|| {
                    ApiError::NotConfigured(
                        "no backup directory: start gongkai serve with --backup-dir DIR".into(),
                    )
                })?;
                let server_named = req.file_name.is_empty();
                let name = if server_named {
                    server_name()
                } else {
                    checked_name(&req.file_name)?.to_owned()
                };
                let dir = config.dir.clone();
                super::off_workers(move || Ok(std::fs::create_dir_all(dir).map_err(StoreError::from)?))
                    .await?;
                let path = config.dir.join(&name);
                // The store refuses an existing file (AlreadyExists),
                // atomically: two backups to one name cannot both win.
                let stats = ctx.store.backup(&path).await?;
                let removed = super::off_workers(move || {
                    Ok(if server_named {
                        prune(&config.dir, config.keep)?
                    } else {
                        prune_named(&config.dir, config.keep_named)?
                    })
                })
                .await?;
                tracing::info!(path = %path.display(), entries = stats.entries, bytes = stats.bytes, removed = removed.len(), "backup written");
                Ok(pb::BackupStoreResponse {
                    path: path.display().to_string(),
                    collections: stats.collections,
                    entries: stats.entries,
                    bytes: stats.bytes,
                    removed,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_one_plain_component() {
        for good in ["nightly.backup", "gongkai-20261125T030000Z.backup", "a_b-1"] {
            assert!(checked_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", "x\0", &"x".repeat(129)] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prune_keeps_the_newest_server_named_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "gongkai-20261101T030000Z.backup",
            "gongkai-20261102T030000Z.backup",
            "gongkai-20261103T030000Z.backup",
            "before-upgrade.backup",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(removed, ["gongkai-20261101T030000Z.backup"]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "before-upgrade.backup",
                "gongkai-20261102T030000Z.backup",
                "gongkai-20261103T030000Z.backup"
            ]
        );
        assert!(prune(dir.path(), 0).unwrap().is_empty(), "0 keeps all");
    }

    #[test]
    fn pruning_leaves_caller_named_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "gongkai-pre-upgrade.backup",
            "gongkai-0.backup",
            "gongkai-20261124T030000Z.backup",
            "gongkai-20261125T030000Z.backup",
        ] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let removed = prune(dir.path(), 1).unwrap();
        assert_eq!(removed, ["gongkai-20261124T030000Z.backup"]);
        for kept in [
            "gongkai-pre-upgrade.backup",
            "gongkai-0.backup",
            "gongkai-20261125T030000Z.backup",
        ] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
    }

    #[test]
    fn pruning_named_files_keeps_the_newest_backups_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let backup = |name: &str| {
            let mut bytes = BACKUP_MAGIC.to_vec();
            bytes.extend_from_slice(b"rest");
            std::fs::write(dir.path().join(name), bytes).unwrap();
        };
        // Oldest first; equal modification times fall back to the name.
        for n in ["a-first.backup", "b-second.backup", "c-third.backup"] {
            backup(n);
        }
        backup("gongkai-20261101T030000Z.backup");
        std::fs::write(dir.path().join("notes.txt"), b"not a backup").unwrap();
        std::fs::write(dir.path().join(".hidden"), BACKUP_MAGIC).unwrap();
        let removed = prune_named(dir.path(), 2).unwrap();
        assert_eq!(removed, ["a-first.backup"]);
        for kept in [
            "b-second.backup",
            "c-third.backup",
            "gongkai-20261101T030000Z.backup",
            "notes.txt",
            ".hidden",
        ] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
        assert!(
            prune_named(dir.path(), 0).unwrap().is_empty(),
            "0 keeps all"
        );
    }

    #[test]
    fn server_names_sort_by_time() {
        let n = server_name();
        assert!(n.starts_with(PREFIX) && n.ends_with(SUFFIX), "{n}");
        assert_eq!(n.len(), PREFIX.len() + 16 + SUFFIX.len(), "{n}");
    }
}
