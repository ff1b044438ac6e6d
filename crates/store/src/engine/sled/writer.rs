//! The sled writer: one thread that applies writes in batches, many writes
//! to one sled transaction.
//!
//! Why: sled 0.34.7 rolls and seals its IO buffer twice for every
//! transaction (`pin_log`), and each sealed buffer is written with `pwrite`
//! plus a waiting `sync_file_range` on sled's IO threads. With one
//! transaction per write that was a third of a submission's CPU. Callers
//! queue their write; the thread waits for a running flush to end (what
//! arrives meanwhile could not be in that flush anyway), takes everything
//! queued (up to [`MAX_BATCH`]), plans each in turn inside one transaction
//! (so each sees the ones before it, and the audit chain stays a sequence)
//! and applies its plan, and hands the answers to the group commit, whose
//! flusher gives each caller its answer once the batch is durable. No
//! caller's thread waits meanwhile: an async caller awaits a
//! [`crate::Pending`].
//!
//! A write is judged while it is planned, never when it is queued: a review
//! queued right behind the write that creates the revision it expects finds
//! that revision, applied in an earlier batch or just before in this one.
//!
//! A write refused while planning is answered with its error and writes
//! nothing (its plan is applied only after it was planned whole). A
//! failure to apply aborts the whole transaction and every write in it gets
//! the error. A write that must scan (sled cannot scan inside a
//! transaction) runs alone: planned over the committed trees, which no one
//! else writes (this thread is sled's only writer), then applied.

use std::{
    sync::{
        Arc, RwLock,
        mpsc::{self, Receiver, Sender},
    },
    thread::JoinHandle,
};

use super::{Trees, TxView, apply, durability::GroupCommit, shared};
use crate::{Result, StoreError, engine::Plan};

/// Most writes in one transaction: bounds the time one batch holds sled's
/// lock and the memory its write set takes.
const MAX_BATCH: usize = 128;

/// Longest a write waits for the flush before it to finish (a flush takes
/// about a millisecond; this only bounds a stuck disk's effect).
const MAX_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// A write's plan and answer, read through the batch's transaction.
pub(crate) type InBatch<A> = Box<dyn for<'t> Fn(&TxView<'t>) -> Result<(Plan, A)> + Send>;
/// A write's plan and answer, read from the committed trees.
pub(crate) type Alone<A> = Box<dyn Fn(&Trees) -> Result<(Plan, A)> + Send>;

/// How a queued write is planned.
pub(crate) enum PlanFn<A> {
    /// With others, reading through their transaction.
    Batched(InBatch<A>),
    /// Alone, reading the committed trees (it scans).
    Alone(Alone<A>),
}

/// A write waiting for the writer thread: how to plan it, and who takes its
/// answer (a refusal at once, a write once it is durable).
pub(crate) struct Job<A> {
    pub(crate) plan: PlanFn<A>,
    pub(crate) reply: Box<dyn FnOnce(Result<A>) + Send>,
}

/// The thread and its queue. Dropping it lets the thread finish what is
/// queued and joins it (the thread holds sled trees, and with them the
/// database's file lock).
#[derive(Debug)]
pub(crate) struct Writer<A> {
    queue: Option<Sender<Job<A>>>,
    thread: Option<JoinHandle<()>>,
}

impl<A: Send + 'static> Writer<A> {
    /// Starts the thread over `trees`, taking the shared side of `gate` for
    /// each batch.
    pub(crate) fn start(
        trees: Trees,
        gate: Arc<RwLock<()>>,
        commit: Arc<GroupCommit>,
    ) -> Result<Writer<A>> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("gongkai-writer".into())
            .spawn(move || run(&trees, &gate, &commit, &jobs))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues `job`; its answer goes to the job's reply, which is told at
    /// once when the thread has stopped.
    pub(crate) fn submit(&self, job: Job<A>) {
        let refused = match &self.queue {
            Some(queue) => queue.send(job).err().map(|mpsc::SendError(job)| job),
            None => Some(job),
        };
        if let Some(job) = refused {
            (job.reply)(Err(StoreError::Io("the store's writer has stopped".into())));
        }
    }
}

impl<A> Drop for Writer<A> {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run<A: Send + 'static>(
    trees: &Trees,
    gate: &RwLock<()>,
    commit: &GroupCommit,
    jobs: &Receiver<Job<A>>,
) {
    // A job that runs alone, taken while a batch was being gathered: it
    // starts the next round.
    let mut held: Option<Job<A>> = None;
    loop {
        let first = match held.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        // While a flush runs, more writes queue up; they go together.
        commit.wait_idle(MAX_LINGER);
        let mut batch = vec![first];
        if matches!(batch[0].plan, PlanFn::Batched(_)) {
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) if matches!(job.plan, PlanFn::Alone(_)) => {
                        held = Some(job);
                        break;
                    }
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        // After a failed flush nothing can be promised: refuse without
        // applying, so that no write is visible that its caller was told
        // had failed.
        if let Some(e) = commit.refusal() {
            for job in batch {
                (job.reply)(Err(e.clone()));
            }
            continue;
        }
        let answers = {
            let _shared = shared(gate);
            apply_batch(trees, &batch)
        };
        let mut written = Vec::with_capacity(batch.len());
        for (job, answer) in batch.into_iter().zip(answers) {
            // Whatever the plan held (the prepared revision) goes before
            // the caller is answered, so the answer can take it unshared.
            let Job { plan, reply } = job;
            drop(plan);
            match answer {
                Ok(a) => written.push((reply, a)),
                // Refused: nothing of it was written, nothing to wait for.
                Err(e) => reply(Err(e)),
            }
        }
        if written.is_empty() {
            continue;
        }
        commit.on_durable(Box::new(move |flushed: Result<()>| {
            for (reply, a) in written {
                reply(match &flushed {
                    Ok(()) => Ok(a),
                    Err(e) => Err(e.clone()),
                });
            }
        }));
    }
}

/// One transaction for the whole batch: an answer per job, in order.
fn apply_batch<A>(trees: &Trees, batch: &[Job<A>]) -> Vec<Result<A>> {
    let result = match batch {
        [
            Job {
                plan: PlanFn::Alone(plan),
                ..
            },
        ] => match plan(trees) {
            Err(e) => Ok(vec![Err(e)]),
            Ok((p, a)) => trees.transact(|tx| apply(tx, &p)).map(|()| vec![Ok(a)]),
        },
        _ => trees.transact(|tx| {
            let view = TxView(tx);
            let mut answers = Vec::with_capacity(batch.len());
            for job in batch {
                let PlanFn::Batched(plan) = &job.plan else {
                    return Err(StoreError::Io(
                        "a write that runs alone was batched (a bug in gongkai)".into(),
                    ));
                };
                match plan(&view) {
                    Ok((p, a)) => {
                        apply(tx, &p)?;
                        answers.push(Ok(a));
                    }
                    Err(e) => answers.push(Err(e)),
                }
            }
            Ok(answers)
        }),
    };
    // The error itself, not its text wrapped again: every job gets the
    // same error its caller would have got alone.
    result.unwrap_or_else(|error| batch.iter().map(|_| Err(error.clone())).collect())
}
