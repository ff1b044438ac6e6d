//! Group commit: writers wait on one flusher thread, which makes everything
//! written so far stable with sled's `flush()` and then `fdatasync` on sled's
//! data file.
//!
//! sled 0.34.7's `flush()` uses `sync_file_range` on Linux: that survives a
//! killed process but neither commits file metadata nor the disk's write
//! cache, so power loss could undo it; the `sync_data()` that follows does.
//! sled's `flush_async` is not used: it hung with 8 or more waiters.

use std::{
    fs::File,
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread::JoinHandle,
};

use crate::{Result, StoreError};

#[derive(Debug, Default)]
struct State {
    /// Flush requests handed out.
    requested: u64,
    /// Requests made durable.
    done: u64,
    /// A failed flush: every waiter gets the error, and so does every later
    /// writer, since nothing can be promised after a failed fsync.
    failed: Option<String>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

/// The flusher thread and its queue. Public so the benchmark can run its
/// baseline through the very same group commit.
#[derive(Debug)]
pub struct GroupCommit {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the flusher for `db`, syncing `data_file` after each flush.
    pub fn start(db: sled::Db, data_file: File) -> Result<GroupCommit> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("gongkai-flusher".into())
            .spawn(move || flusher(&worker, &db, &data_file))?;
        Ok(GroupCommit {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Blocks until everything written before this call is durable.
    pub fn wait_durable(&self) -> Result<()> {
        let mut st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = &st.failed {
            return Err(StoreError::Io(format!("an earlier flush failed: {e}")));
        }
        if st.stop {
            return Err(StoreError::Io("store is shut down".into()));
        }
        st.requested = st.requested.saturating_add(1);
        let ticket = st.requested;
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

    /// Flushes what is pending and stops the thread.
    pub fn stop(&self) {
        {
            let mut st = self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
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

fn flusher(shared: &Shared, db: &sled::Db, data_file: &File) {
    loop {
        let target = {
            let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while st.requested == st.done && !st.stop {
                st = shared.work.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
            if st.requested == st.done && st.stop {
                return;
            }
            st.requested
        };
        // Everything committed before `target` was handed out is in sled's
        // log now; one flush and one fdatasync cover the whole batch.
        let result = db
            .flush()
            .map_err(|e| e.to_string())
            .and_then(|_| data_file.sync_data().map_err(|e| e.to_string()));
        let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(()) => st.done = target,
            Err(e) => st.failed = Some(e),
        }
        shared.done.notify_all();
        if st.failed.is_some() {
            return;
        }
    }
}
