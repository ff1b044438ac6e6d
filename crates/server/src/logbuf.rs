//! The server's log writer: lines gathered in memory and written to stderr
//! by one thread, many per write.
//!
//! Every call logs a line (the access log). Written one `write` per line,
//! that is a system call on the calling worker thread per RPC, and into a
//! container runtime's pipe a costly one. Here a line is copied into a buffer
//! under a mutex; a flusher thread writes what has gathered every
//! [`FLUSH_EVERY`], or at once past [`HIGH_WATER`] bytes. When stderr cannot
//! keep up, the buffer stops growing at [`CAP`] bytes and the caller writes
//! it out itself: lines are delayed by at most a flush interval, never
//! dropped, and memory stays bounded. [`LogBuffer::flush`] writes everything
//! out; `serve` calls it before it exits.

use std::{
    io::Write,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

/// How long a line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// Past this many bytes waiting, the flusher is woken at once.
pub const HIGH_WATER: usize = 64 * 1024;
/// Past this many bytes waiting, the caller writes them out itself.
pub const CAP: usize = 4 * 1024 * 1024;

struct Shared<W> {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    /// Held while writing, so that batches reach `out` in the order they
    /// were taken from `pending`.
    out: Mutex<W>,
}

impl<W: Write> Shared<W> {
    fn pending(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while holding the lock leaves only bytes: carry on.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes out everything gathered so far.
    fn write_out(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = std::mem::take(&mut *self.pending());
        if !batch.is_empty() {
            // Logging is best-effort: a closed stderr must not stop the server.
            let _ = out.write_all(&batch);
            let _ = out.flush();
        }
    }
}

/// A log writer for `tracing_subscriber::fmt().with_writer(..)`.
pub struct LogBuffer<W: Write + Send + 'static = std::io::Stderr> {
    shared: Arc<Shared<W>>,
}

impl<W: Write + Send + 'static> std::fmt::Debug for LogBuffer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBuffer")
            .field("waiting", &self.shared.pending().len())
            .finish()
    }
}

impl<W: Write + Send + 'static> Clone for LogBuffer<W> {
    fn clone(&self) -> Self {
        LogBuffer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl LogBuffer {
    /// Gathers lines for stderr and starts the flusher thread.
    pub fn stderr() -> std::io::Result<LogBuffer> {
        LogBuffer::new(std::io::stderr())
    }
}

impl<W: Write + Send + 'static> LogBuffer<W> {
    /// Gathers lines for `out` and starts the flusher thread.
    pub fn new(out: W) -> std::io::Result<LogBuffer<W>> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(HIGH_WATER)),
            wake: Condvar::new(),
            out: Mutex::new(out),
        });
        // The thread holds only a weak reference: it ends with the last
        // LogBuffer.
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || {
                while let Some(shared) = weak.upgrade() {
                    {
                        let pending = shared.pending();
                        if pending.len() < HIGH_WATER {
                            let _ = shared.wake.wait_timeout(pending, FLUSH_EVERY);
                        }
                    }
                    shared.write_out();
                }
            })?;
        Ok(LogBuffer { shared })
    }

    /// Writes out every line gathered so far.
    pub fn flush(&self) {
        self.shared.write_out();
    }
}

/// One log line being written.
#[allow(missing_debug_implementations)] // a borrowed handle, nothing to show
pub struct Line<'a, W: Write> {
    shared: &'a Shared<W>,
}

impl<W: Write> Write for Line<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let waiting = {
            let mut pending = self.shared.pending();
            pending.extend_from_slice(bytes);
            pending.len()
        };
        if waiting >= CAP {
            self.shared.write_out();
        } else if waiting >= HIGH_WATER {
            self.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Lines are written out by the flusher; a line's own flush only
        // ends the line.
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer<W> {
    type Writer = Line<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` that records each write it receives.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Recorder {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(r: &Recorder) -> String {
        String::from_utf8(r.0.lock().unwrap().concat()).unwrap()
    }

    #[test]
    fn lines_come_out_in_order_many_per_write() {
        let r = Recorder::default();
        let log = LogBuffer::new(r.clone()).unwrap();
        let want: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        for i in 0..1000 {
            writeln!(
                tracing_subscriber::fmt::MakeWriter::make_writer(&log),
                "line {i}"
            )
            .unwrap();
        }
        log.flush();
        assert_eq!(text(&r), want);
        let writes = r.0.lock().unwrap().len();
        assert!(writes < 1000, "{writes} writes for 1,000 lines");
    }

    #[test]
    fn the_flusher_writes_without_being_asked() {
        let r = Recorder::default();
        let log = LogBuffer::new(r.clone()).unwrap();
        writeln!(
            tracing_subscriber::fmt::MakeWriter::make_writer(&log),
            "one"
        )
        .unwrap();
        // Polled, not slept for a fixed time: done as soon as it is there.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while text(&r).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(text(&r), "one\n");
    }

    #[test]
    fn lines_from_many_threads_stay_whole() {
        let r = Recorder::default();
        let log = LogBuffer::new(r.clone()).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..2000 {
                        let line = format!("{t}:{i}:{}\n", "x".repeat(100));
                        tracing_subscriber::fmt::MakeWriter::make_writer(log)
                            .write_all(line.as_bytes())
                            .unwrap();
                    }
                });
            }
        });
        log.flush();
        let all = text(&r);
        assert_eq!(all.lines().count(), 16_000);
        for t in 0..8 {
            let mine: Vec<usize> = all
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{t}:")))
                .map(|l| l.split(':').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(
                mine,
                (0..2000).collect::<Vec<_>>(),
                "thread {t}'s lines in order"
            );
        }
        assert!(all.lines().all(|l| l.ends_with(&"x".repeat(100))));
    }
}
