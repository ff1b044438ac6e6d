//! What the sled-only tests add to `store_fixture`: a sled store at a path
//! of the test's choosing, and sled's own view of its bytes (for tests that
//! look at, or damage, what is on disk).
#![allow(dead_code)]

use std::path::Path;

use gongkai_store::Store;

#[allow(unused_imports)]
pub use crate::store_fixture::{Dump, options, raw_sled};

/// Opens the sled store at `path`, waiting for a just-closed handle to let go.
pub fn open(path: &Path) -> Store {
    try_open(path).unwrap()
}

/// Opens the sled store at `path`, waiting for a just-closed handle to let
/// go, and gives any other outcome back.
pub fn try_open(path: &Path) -> gongkai_store::Result<Store> {
    crate::store_fixture::try_open_sled(path)
}

/// Reads every tree of the (closed) store at `path` with sled itself.
pub fn dump(path: &Path) -> Dump {
    let db = raw_sled(path);
    let mut out = Dump::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        let entries = tree
            .iter()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        out.insert(name.to_vec(), entries);
    }
    out
}

/// Opens the (closed) store at `path` with sled itself, runs `f` on `tree`,
/// and flushes.
pub fn with_raw_tree<R>(path: &Path, tree: &str, f: impl FnOnce(&sled::Tree) -> R) -> R {
    let db = raw_sled(path);
    let t = db.open_tree(tree).unwrap();
    let out = f(&t);
    db.flush().unwrap();
    out
}
