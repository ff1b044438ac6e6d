//! Group commit: writers wait on one flusher thread, which makes everything
//! written so far stable with sled's `flush()` and then `fdatasync` on sled's
//! data file.
//!
//! sled 0.34.7's `flush()` uses `sync_file_range` on Linux: that survives a
//! killed process but neither commits file metadata nor the disk's write
//! cache, so power loss could undo it; the `sync_data()` that follows does.
//! sled's `flush_async` is not used: it hung with 8 or more waiters.
//!
//! sled writes a log item larger than a quarter of a segment (≈ 128 KiB with
//! the default 512 KiB segments) to a file of its own under `blobs/`, created
//! and closed without a sync, which neither `flush()` nor the log's
//! `fdatasync` covers. The flusher syncs every blob file it has not synced
//! yet, and the directory, before the log: no acknowledged write points at a
//! blob a power loss could take.

use std::{
    collections::HashSet,
    ffi::OsString,
    fs::File,
    io,
    path::PathBuf,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
};

use crate::{Result, StoreError};

/// Called once what was written before it was registered is durable (or
/// with the error that stopped it).
pub(crate) type Completion = Box<dyn FnOnce(Result<()>) + Send>;

#[derive(Default)]
struct State {
    /// Flush requests handed out.
    requested: u64,
    /// Requests made durable.
    done: u64,
    /// A failed flush: every waiter gets the error, and so does every later
    /// writer, since nothing can be promised after a failed fsync.
    failed: Option<String>,
    stop: bool,
    /// Blob files synced so far (see the module's note).
    blobs_synced: u64,
    /// Completions by ticket, in ticket order, run by the flusher.
    waiting: Vec<(u64, Completion)>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("requested", &self.requested)
            .field("done", &self.done)
            .field("failed", &self.failed)
            .field("stop", &self.stop)
            .field("waiting", &self.waiting.len())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Why nothing more can be promised: a failed flush or a stopped store.
    fn refusal(&self) -> Option<StoreError> {
        if let Some(e) = &self.failed {
            return Some(StoreError::Io(format!("an earlier flush failed: {e}")));
        }
        self.stop
            .then(|| StoreError::Io("store is shut down".into()))
    }

    /// A ticket for everything written so far, unless [`State::refusal`].
    fn ticket(&mut self) -> Result<u64> {
        if let Some(e) = self.refusal() {
            return Err(e);
        }
        self.requested = self.requested.saturating_add(1);
        Ok(self.requested)
    }
}

/// The flusher thread and its queue. Public so the benchmark can run its
/// baseline through the very same group commit.
#[derive(Debug)]
pub struct GroupCommit {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the flusher for `db`, syncing `data_file` after each flush
    /// and, first, any new file in `blobs` (sled's `blobs/` directory).
    pub fn start(db: sled::Db, data_file: File, blobs: Option<PathBuf>) -> Result<GroupCommit> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let mut blobs = blobs.map(|dir| Blobs {
            dir,
            synced: HashSet::new(),
        });
        let thread = std::thread::Builder::new()
            .name("gongkai-flusher".into())
            .spawn(move || flusher(&worker, &db, &data_file, blobs.as_mut()))?;
        Ok(GroupCommit {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Blocks until everything written before this call is durable.
    pub fn wait_durable(&self) -> Result<()> {
        let mut st = self.shared.state();
        let ticket = st.ticket()?;
        self.shared.work.notify_one();
        while st.done < ticket {
            if let Some(e) = &st.failed {
                return Err(StoreError::Io(format!("flush failed: {e}")));
            }
            st = self
                .shared
                .done
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Ok(())
    }

    /// Runs `then` on the flusher thread once everything written before this
    /// call is durable, without a thread waiting for it meanwhile.
    pub(crate) fn on_durable(&self, then: Completion) {
        let mut st = self.shared.state();
        match st.ticket() {
            Ok(ticket) => {
                st.waiting.push((ticket, then));
                self.shared.work.notify_one();
            }
            Err(e) => {
                drop(st);
                then(Err(e));
            }
        }
    }

    /// How many of sled's blob files the flusher has synced.
    pub fn blobs_synced(&self) -> u64 {
        self.shared.state().blobs_synced
    }

    /// Why a write must be refused before it is applied: after a failed
    /// flush nothing can be promised, and a stopped store flushes no more.
    pub(crate) fn refusal(&self) -> Option<StoreError> {
        self.shared.state().refusal()
    }

    /// Marks the flusher failed, as a failed `fdatasync` would (tests only:
    /// a real one needs a failing disk).
    #[cfg(test)]
    pub(crate) fn fail_for_test(&self, reason: &str) {
        let mut st = self.shared.state();
        st.failed = Some(reason.to_owned());
    }

    /// Waits (at most `max`) until no flush is pending or running. The
    /// writer calls it before each transaction: a write arriving during a
    /// flush cannot be in that flush anyway, so holding it back costs no
    /// latency, and everything that arrived meanwhile goes into one
    /// transaction (sled seals and syncs log buffers per transaction).
    pub(crate) fn wait_idle(&self, max: std::time::Duration) {
        let now = std::time::Instant::now();
        let deadline = now.checked_add(max).unwrap_or(now);
        let mut st = self.shared.state();
        while st.requested > st.done && st.failed.is_none() && !st.stop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            st = self
                .shared
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Flushes what is pending and stops the thread.
    pub fn stop(&self) {
        {
            let mut st = self.shared.state();
            st.stop = true;
            self.shared.work.notify_one();
        }
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.stop();
    }
}

/// sled's blob directory and the files in it already synced.
struct Blobs {
    dir: PathBuf,
    synced: HashSet<OsString>,
}

impl Blobs {
    /// Syncs every file not synced before, then the directory if any was
    /// new; forgets files sled has removed. Returns how many it synced.
    fn sync_new(&mut self) -> io::Result<u64> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut present = HashSet::with_capacity(self.synced.len());
        let mut new = 0u64;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !self.synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_all()?,
                    // Removed by sled meanwhile: nothing left to sync.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = new.saturating_add(1);
            }
            present.insert(name);
        }
        if new > 0 {
            File::open(&self.dir)?.sync_all()?;
        }
        self.synced = present;
        Ok(new)
    }
}

fn flusher(shared: &Shared, db: &sled::Db, data_file: &File, mut blobs: Option<&mut Blobs>) {
    loop {
        let target = {
            let mut st = shared.state();
            while st.requested == st.done && !st.stop {
                st = shared.work.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
            if st.requested == st.done && st.stop {
                return;
            }
            st.requested
        };
        // Everything committed before `target` was handed out is in sled's
        // log (or, when large, in its blob files) now; the blobs' syncs, one
        // flush and one fdatasync cover the whole batch.
        let mut synced = 0;
        let result = blobs
            .as_deref_mut()
            .map_or(Ok(0), Blobs::sync_new)
            .map(|n| synced = n)
            .map_err(|e| format!("syncing sled's blob files: {e}"))
            .and_then(|()| db.flush().map_err(|e| e.to_string()))
            .and_then(|_| data_file.sync_data().map_err(|e| e.to_string()));
        let mut st = shared.state();
        st.blobs_synced = st.blobs_synced.saturating_add(synced);
        let failed = match result {
            Ok(()) => {
                st.done = target;
                None
            }
            Err(e) => {
                st.failed = Some(e.clone());
                Some(e)
            }
        };
        // Tickets are pushed in order, so the durable ones are a prefix;
        // after a failure none will ever be.
        let covered = match failed {
            None => st.waiting.partition_point(|(t, _)| *t <= target),
            Some(_) => st.waiting.len(),
        };
        let ready: Vec<(u64, Completion)> = st.waiting.drain(..covered).collect();
        shared.done.notify_all();
        drop(st);
        for (_, then) in ready {
            then(match &failed {
                None => Ok(()),
                Some(e) => Err(StoreError::Io(format!("flush failed: {e}"))),
            });
        }
        if failed.is_some() {
            return;
        }
    }
}
