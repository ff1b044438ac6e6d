//! The PostgreSQL writer: one task per store that takes every write queued
//! while the previous batch ran (up to [`MAX_BATCH`]) and runs them in one
//! database transaction, as sled's writer thread runs them in one sled
//! transaction: each write is planned reading through the transaction
//! (seeing the writes planned before it), its plan staged only when it was
//! planned whole, and every write answered once the transaction has
//! committed. The transaction takes the chain head's lock first, so the
//! batches of every replica follow each other on one audit chain.
//!
//! A retried transaction (a serialisation failure, a lost connection …)
//! plans the whole batch again. One whose `COMMIT` answer was lost is not
//! planned again if it committed: the engine tells by the chain head the
//! batch wrote (every write appends an audit event) and gives the first
//! try's answers. Were it planned again all the same, every write of the
//! store is idempotent by request id: it would find its own record.

use std::{future::Future, pin::Pin, sync::Arc};

use tokio::sync::mpsc;

use super::{PgEngine, PgTx};
use crate::{
    Result, StoreError,
    engine::{Plan, Reader, Tree},
};

/// Most writes in one transaction: bounds how long one batch holds the
/// chain's lock and what its transaction stages.
const MAX_BATCH: usize = 128;

/// A write's plan, reading through the transaction.
pub(crate) type PlanFn<A> = Box<
    dyn for<'t, 'e> Fn(&'t PgTx<'e>) -> Pin<Box<dyn Future<Output = Result<(Plan, A)>> + Send + 't>>
        + Send
        + Sync,
>;

/// A write waiting for the writer task, and who takes its answer.
pub(crate) struct Job<A> {
    pub(crate) plan: PlanFn<A>,
    pub(crate) reply: Box<dyn FnOnce(Result<A>) + Send>,
}

/// The writer task's queue. Dropping it ends the task once it has answered
/// what was queued.
#[derive(Debug)]
pub(crate) struct Writer<A> {
    queue: mpsc::UnboundedSender<Job<A>>,
}

impl<A: Send + 'static> Writer<A> {
    /// Starts the task on the current tokio runtime.
    pub(crate) fn start(engine: Arc<PgEngine>) -> Writer<A> {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(engine, jobs));
        Writer { queue }
    }

    /// Queues `job`; its answer goes to its reply.
    pub(crate) fn submit(&self, job: Job<A>) {
        if let Err(mpsc::error::SendError(job)) = self.queue.send(job) {
            (job.reply)(Err(StoreError::Io("the store's writer has stopped".into())));
        }
    }
}

async fn run<A: Send + 'static>(engine: Arc<PgEngine>, mut jobs: mpsc::UnboundedReceiver<Job<A>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (plans, replies): (Vec<PlanFn<A>>, Vec<_>) =
            batch.drain(..).map(|j| (j.plan, j.reply)).unzip();
        let answers = engine
            .transaction(|tx| {
                let plans = &plans;
                Box::pin(async move {
                    let mut answers = Vec::with_capacity(plans.len());
                    for plan in plans {
                        let planned = plan(&*tx).await;
                        match planned {
                            Ok((p, a)) => {
                                stage(tx, p);
                                answers.push(Ok(a));
                            }
                            Err(e) => answers.push(Err(e)),
                        }
                    }
                    Ok(answers)
                })
            })
            .await;
        // Whatever the plans held goes before the callers are answered.
        drop(plans);
        match answers {
            Ok(answers) => {
                for (reply, a) in replies.into_iter().zip(answers) {
                    reply(a);
                }
            }
            Err(e) => {
                for reply in replies {
                    reply(Err(e.clone()));
                }
            }
        }
    }
}

/// Stages a plan's puts and deletes in the transaction.
pub(crate) fn stage(tx: &mut PgTx<'_>, plan: Plan) {
    for (tree, key, value) in plan.writes {
        match value {
            Some(v) => tx.put(tree, key, v),
            None => tx.delete(tree, key),
        }
    }
}

impl Reader for PgEngine {
    fn get(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> impl Future<Output = Result<Option<prost::bytes::Bytes>>> + Send {
        PgEngine::get(self, tree, key)
    }

    fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(prost::bytes::Bytes, prost::bytes::Bytes)>>> + Send {
        PgEngine::scan(self, tree, prefix, after, limit)
    }
}

impl Reader for PgTx<'_> {
    fn get(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> impl Future<Output = Result<Option<prost::bytes::Bytes>>> + Send {
        PgTx::get(self, tree, key)
    }

    fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(prost::bytes::Bytes, prost::bytes::Bytes)>>> + Send {
        PgTx::scan(self, tree, prefix, after, limit)
    }
}
