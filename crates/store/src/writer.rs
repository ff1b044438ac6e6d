//! The report writer: one thread that applies report writes in batches, many
//! writes to one sled transaction.
//!
//! Why: sled 0.34.7 rolls and seals its IO buffer twice for every
//! transaction (`pin_log`), and each sealed buffer is written with `pwrite`
//! plus a waiting `sync_file_range` on sled's IO threads. With one
//! transaction per write that was a third of a submission's CPU. Callers
//! queue their planned write; the thread waits for a running flush to end
//! (what arrives meanwhile could not be in that flush anyway), takes
//! everything queued (up to [`MAX_BATCH`]), plans and applies each in turn
//! inside one transaction (so each sees the ones before it, and the audit
//! chain stays a sequence), and hands the answers to the group commit, whose
//! flusher gives each caller its answer once the batch is durable. No
//! caller's thread waits meanwhile: an async caller awaits a
//! [`crate::Pending`].
//!
//! A write is judged (latest revision, review state, the revision a review
//! acts on) while it is planned, never when it is queued: a review queued
//! right behind the write that creates the revision it expects finds that
//! revision, applied in an earlier batch or just before in this one.
//!
//! A write refused while planning (stale revision, forbidden transition,
//! reused request id…) is answered with its error and writes nothing: every
//! refusal happens before any of its inserts are applied. A failure to apply
//! aborts the whole transaction and every write in it gets the error.

use std::{
    sync::{
        Arc, PoisonError, RwLock,
        mpsc::{self, Receiver, Sender},
    },
    thread::JoinHandle,
};

use sled::{Transactional, transaction::TransactionError};

use crate::{
    Result, StoreError, WriteMeta,
    durability::GroupCommit,
    sled_store::{AuditDraft, Done, Outcome, Plan, TxView, apply_write},
};

/// Most writes in one transaction: bounds the time one batch holds sled's
/// lock and the memory its write set takes.
const MAX_BATCH: usize = 128;

/// Longest a write waits for the flush before it to finish (a flush takes
/// about a millisecond; this only bounds a stuck disk's effect).
const MAX_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// How a write plans its inserts and removals, reading through the
/// transaction.
pub(crate) type PlanWrite<'a> =
    dyn Fn(&TxView<'_>, &mut Plan) -> Result<(Outcome, AuditDraft)> + Send + 'a;
/// A queued write's plan.
pub(crate) type PlanFn = Box<PlanWrite<'static>>;

/// Takes a write's answer: a refusal at once, a write once it is durable.
pub(crate) type Reply = Box<dyn FnOnce(Result<Done>) + Send + 'static>;

/// A planned write waiting for the writer thread.
pub(crate) struct Job {
    pub(crate) meta: WriteMeta,
    pub(crate) request_key: Vec<u8>,
    pub(crate) fingerprint: Vec<u8>,
    pub(crate) plan: PlanFn,
    pub(crate) reply: Reply,
}

/// The thread and its queue. Dropping it lets the thread finish what is
/// queued and joins it (the thread holds sled trees, and with them the
/// database's file lock).
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread over `trees`, taking the shared side of `gate` for
    /// each batch.
    pub(crate) fn start(
        trees: Vec<sled::Tree>,
        gate: Arc<RwLock<()>>,
        commit: Arc<GroupCommit>,
    ) -> Result<Writer> {
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
    pub(crate) fn submit(&self, job: Job) {
        let refused = match &self.queue {
            Some(queue) => queue.send(job).err().map(|mpsc::SendError(job)| job),
            None => Some(job),
        };
        if let Some(job) = refused {
            (job.reply)(Err(StoreError::Io("the store's writer has stopped".into())));
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(trees: &[sled::Tree], gate: &RwLock<()>, commit: &GroupCommit, jobs: &Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        // While a flush runs, more writes queue up; they go together.
        commit.wait_idle(MAX_LINGER);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
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
            let _shared = gate.read().unwrap_or_else(PoisonError::into_inner);
            apply_batch(trees, &batch)
        };
        let mut written = Vec::with_capacity(batch.len());
        for (job, answer) in batch.into_iter().zip(answers) {
            // Whatever the plan held (the prepared revision) goes before
            // the caller is answered, so the answer can take it unshared.
            let Job { plan, reply, .. } = job;
            drop(plan);
            match answer {
                Ok(done) => written.push((reply, done)),
                // Refused: nothing of it was written, nothing to wait for.
                Err(e) => reply(Err(e)),
            }
        }
        if written.is_empty() {
            continue;
        }
        commit.on_durable(Box::new(move |flushed: Result<()>| {
            for (reply, done) in written {
                reply(match &flushed {
                    Ok(()) => Ok(done),
                    Err(e) => Err(e.clone()),
                });
            }
        }));
    }
}

/// One transaction for the whole batch: an answer per job, in order.
fn apply_batch(trees: &[sled::Tree], batch: &[Job]) -> Vec<Result<Done>> {
    let result: std::result::Result<Vec<Result<Done>>, TransactionError<StoreError>> = trees
        .transaction(|tx| {
            let r = TxView(tx);
            let mut answers = Vec::with_capacity(batch.len());
            for job in batch {
                let planned = apply_write(
                    &r,
                    tx,
                    &job.meta,
                    &job.request_key,
                    &job.fingerprint,
                    &job.plan,
                )?;
                answers.push(planned);
            }
            Ok(answers)
        });
    match result {
        Ok(answers) => answers,
        Err(e) => {
            // The error itself, not its text wrapped again: every job gets
            // the same error its caller would have got alone.
            let error = match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::from(e),
            };
            batch.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use gongkai_proto::v1::{
        Agency, AgencyKind, AgencyLevel, AnnualReport, ReportMetadata, ReviewState,
    };

    use crate::{
        Action, Checked, ReportKey, ReportStore, SledStore, StoreError, StoreOptions, WriteMeta,
    };

    fn w(id: &str) -> WriteMeta {
        WriteMeta {
            request_id: id.into(),
            principal: "tester".into(),
            time: SystemTime::now(),
        }
    }

    /// A new store holding one registered agency (its code returned).
    fn store_with_agency() -> (tempfile::TempDir, SledStore, &'static str) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("data"), &StoreOptions::default()).unwrap();
        let code = "11230500012345678T";
        store
            .register_agency(
                &w("reg"),
                Agency {
                    uscc: code.into(),
                    display_name: "双鸭山市人民政府".into(),
                    region_code: "230500".into(),
                    level: AgencyLevel::Prefectural.into(),
                    kind: AgencyKind::Government.into(),
                    ..Agency::default()
                },
            )
            .unwrap();
        (dir, store, code)
    }

    /// After a failed flush no write is applied: a caller told "failed"
    /// must not find its write done, nor anyone else see it.
    #[test]
    fn after_a_failed_flush_writes_are_refused_before_anything_is_applied() {
        let (_dir, store, code) = store_with_agency();
        let key = ReportKey {
            uscc: code.into(),
            year: 2024,
        };
        store
            .save_draft(
                &w("d1"),
                &key,
                0,
                AnnualReport::default(),
                Checked::default(),
            )
            .unwrap();
        let events = store.verify().unwrap().events;

        store.group_commit().fail_for_test("Input/output error");
        let refused = store.save_draft(
            &w("d2"),
            &key,
            1,
            AnnualReport::default(),
            Checked::default(),
        );
        assert!(
            matches!(&refused, Err(StoreError::Io(m)) if m.contains("an earlier flush failed")),
            "{refused:?}"
        );
        let refused = store.register_agency(
            &w("reg2"),
            Agency {
                uscc: "112305230123456785".into(),
                display_name: "宝清县人民政府".into(),
                ..Agency::default()
            },
        );
        assert!(matches!(refused, Err(StoreError::Io(_))), "{refused:?}");
        assert_eq!(store.head(&key).unwrap().unwrap().latest_revision, 1);
        assert_eq!(store.revision(&key, 2).unwrap(), None);
        assert!(store.agency("112305230123456785").unwrap().is_none());
        assert_eq!(
            store.verify().unwrap().events,
            events,
            "nothing was applied"
        );
    }

    /// A refused write's error is the flush failure itself, said once: not
    /// its text wrapped in another storage failure.
    #[test]
    fn a_write_refused_after_a_failed_flush_says_storage_failure_once() {
        let (_dir, store, code) = store_with_agency();
        let key = ReportKey {
            uscc: code.into(),
            year: 2024,
        };
        store.group_commit().fail_for_test("Input/output error");
        let refused = store
            .save_draft(
                &w("d1"),
                &key,
                0,
                AnnualReport::default(),
                Checked::default(),
            )
            .unwrap_err();
        let message = refused.to_string();
        assert_eq!(
            message,
            "storage failure: an earlier flush failed: Input/output error"
        );
        assert_eq!(message.matches("storage failure").count(), 1, "{message}");
        let pending = store
            .save_and_submit_pending(
                &w("s1"),
                &key,
                0,
                AnnualReport::default(),
                Checked::default(),
            )
            .wait()
            .unwrap_err()
            .to_string();
        assert_eq!(pending.matches("storage failure").count(), 1, "{pending}");
    }

    /// A review queued while the write creating the revision it expects is
    /// still queued (held back here, so surely not applied) is judged after
    /// that write: it lands on the new revision. One expecting a revision
    /// no queued write creates is a conflict, as it would be alone.
    #[test]
    fn a_review_queued_behind_an_unapplied_write_is_judged_after_it() {
        let (_dir, store, code) = store_with_agency();
        let key = |year| ReportKey {
            uscc: code.into(),
            year,
        };
        let content = AnnualReport {
            metadata: Some(ReportMetadata {
                agency_name: "双鸭山市人民政府".into(),
                ..ReportMetadata::default()
            }),
            ..AnnualReport::default()
        };
        let held = store.hold_writes();
        // Taken by the writer first, so what follows may share its batch
        // or make the next one: either way it is judged after it.
        let other = store.save_draft_pending(
            &w("other"),
            &key(2023),
            0,
            content.clone(),
            Checked::default(),
        );
        let submit = store.save_and_submit_pending(
            &w("s"),
            &key(2024),
            0,
            content.clone(),
            Checked::default(),
        );
        let approve = store.transition_pending(
            &w("a"),
            &key(2024),
            1,
            Action::Approve,
            Checked::default(),
            Vec::new(),
        );
        let ahead = store.transition_pending(
            &w("x"),
            &key(2023),
            2,
            Action::Submit,
            Checked::default(),
            Vec::new(),
        );
        assert_eq!(store.head(&key(2024)).unwrap(), None, "nothing applied yet");
        drop(held);

        assert_eq!(other.wait().unwrap().revision, 1);
        assert_eq!(submit.wait().unwrap().revision, 1);
        let approved = approve.wait().unwrap();
        assert_eq!(
            (
                approved.revision,
                approved.previous_revision,
                approved.state()
            ),
            (2, 1, ReviewState::Approved)
        );
        assert_eq!(approved.report, Some(content));
        assert_eq!(store.revision(&key(2024), 2).unwrap(), Some(approved));
        let head = store.head(&key(2024)).unwrap().unwrap();
        assert_eq!((head.latest_revision, head.approved_revision), (2, 2));
        assert!(
            matches!(
                ahead.wait(),
                Err(StoreError::Conflict {
                    expected: 2,
                    actual: 1,
                    ..
                })
            ),
            "a revision never created"
        );
        assert_eq!(store.head(&key(2023)).unwrap().unwrap().latest_revision, 1);
        let v = store.verify().unwrap();
        assert_eq!((v.events, v.broken), (4, None));
    }
}
