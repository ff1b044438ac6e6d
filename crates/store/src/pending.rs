//! [`Pending`]: the answer to a write that is queued, applied and made
//! durable by the store's own threads. An async caller awaits it (no thread
//! of its own blocks meanwhile); a blocking caller calls [`Pending::wait`].
//! Plain std (a `Mutex`, a `Condvar` and a `Waker`), so the store depends on
//! no async runtime.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Condvar, Mutex, PoisonError},
    task::{Context, Poll, Waker},
};

use crate::{Result, StoreError};

struct Slot<T> {
    state: Mutex<(Option<Result<T>>, Option<Waker>)>,
    ready: Condvar,
}

/// A write's answer, once it is durable (or refused).
#[must_use = "a write's answer says whether it was written"]
pub struct Pending<T>(Arc<Slot<T>>);

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

/// The store's side of a [`Pending`]. Dropped without an answer (a thread
/// gone), it answers with an error rather than leave the caller waiting.
pub(crate) struct Completer<T>(Option<Arc<Slot<T>>>);

/// A new answer slot: the caller keeps the `Pending`, the store the `Completer`.
pub(crate) fn pending<T>() -> (Pending<T>, Completer<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new((None, None)),
        ready: Condvar::new(),
    });
    (Pending(Arc::clone(&slot)), Completer(Some(slot)))
}

impl<T> Pending<T> {
    /// An answer known at once (a refusal before anything was queued).
    pub fn ready(answer: Result<T>) -> Pending<T> {
        let (p, c) = pending();
        c.complete(answer);
        p
    }

    /// Blocks until the answer is there.
    pub fn wait(self) -> Result<T> {
        let mut st = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(answer) = st.0.take() {
                return answer;
            }
            st = self
                .0
                .ready
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut st = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        match st.0.take() {
            Some(answer) => Poll::Ready(answer),
            None => {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Completer<T> {
    /// Hands the answer over and wakes whoever waits for it.
    pub(crate) fn complete(mut self, answer: Result<T>) {
        if let Some(slot) = self.0.take() {
            fill(&slot, answer);
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            fill(
                &slot,
                Err(StoreError::Io("the write was dropped unanswered".into())),
            );
        }
    }
}

fn fill<T>(slot: &Slot<T>, answer: Result<T>) {
    let waker = {
        let mut st = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.0 = Some(answer);
        slot.ready.notify_all();
        st.1.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_from_another_thread() {
        let (p, c) = pending::<u32>();
        let t = std::thread::spawn(move || c.complete(Ok(7)));
        assert_eq!(p.wait().unwrap(), 7);
        t.join().unwrap();
    }

    #[test]
    fn a_dropped_completer_answers_with_an_error() {
        let (p, c) = pending::<u32>();
        drop(c);
        assert!(matches!(p.wait(), Err(StoreError::Io(_))));
    }

    #[test]
    fn ready_is_answered_at_once() {
        assert_eq!(Pending::ready(Ok(3)).wait().unwrap(), 3);
    }
}
