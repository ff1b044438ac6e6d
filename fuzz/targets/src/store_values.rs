//! Target `store_values`: every value type the store keeps, read from
//! arbitrary bytes as the store reads it (through the store's hidden
//! `fuzzing` module), and a backup file restored as `gongkai restore`
//! restores it (into a temporary database) and read back.
//! Input: one byte choosing the tree (or the backup file), then for a tree
//! one byte of key length, the key, and the value; for a backup file its
//! body, to which the target appends the SHA-256 the file ends with (a
//! fuzzer does not find checksums by mutation).

use gongkai_store::fuzzing::{TREES, decode_value, restore_backup};
use sha2::{Digest, Sha256};

/// The body.
pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match TREES.get(usize::from(which) % (TREES.len() + 1)) {
        Some(tree) => {
            let Some((&len, rest)) = rest.split_first() else {
                return;
            };
            let (key, value) = rest.split_at(usize::from(len).min(rest.len()));
            let _ = decode_value(tree, key, value);
        }
        None => {
            let file = [rest, Sha256::digest(rest).as_slice()].concat();
            let _ = restore_backup(&file);
        }
    }
}

/// An input for [`run`] (the seeds are made with it).
pub fn input(tree: &str, key: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let which = u8::try_from(TREES.iter().position(|t| *t == tree)?).ok()?;
    let len = u8::try_from(key.len()).ok()?;
    Some([&[which, len][..], key, value].concat())
}

/// An input for [`run`] that is a backup file (its checksum left off).
pub fn backup_input(file: &[u8]) -> Vec<u8> {
    let which = u8::try_from(TREES.len()).unwrap_or(u8::MAX);
    let body = &file[..file.len().saturating_sub(32)];
    [&[which][..], body].concat()
}
