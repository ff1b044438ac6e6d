//! Admission: who is calling, and whether there is room for the call,
//! decided from the headers alone, before any slot is taken and before a
//! byte of the body is read. As in qdrant's auth layer, the caller is
//! authenticated once, here, and handed to the services in the request's
//! extensions ([`Ctx::run`](crate::services::Ctx) reads it from there).
//!
//! - Health (`grpc.health.v1`) needs no token and is never refused, so
//!   probes see an overloaded server as alive.
//! - Reflection needs no token: without a valid one, a call shares the
//!   anonymous pool (`--max-anonymous-calls`) with every other caller
//!   without one. A wrong token is not refused there: grpcurl sends its
//!   headers with the reflection it makes before every call, and the
//!   caller should hear UNAUTHENTICATED from the method it called.
//! - Every other call needs a valid bearer token, or is refused at once
//!   with UNAUTHENTICATED: it holds nothing and its body is never read.
//! - An authenticated call holds one of its principal's slots
//!   (`--max-calls-per-principal`) and one of the server's
//!   (`--max-concurrent-calls`); an anonymous one, one of the anonymous
//!   pool's and one of the server's. No principal alone, and not all
//!   anonymous callers together, can take every slot.
//! - Slots are held until the reply's last byte has gone (for a stream,
//!   its whole life) or the client has gone away.
//! - A call's request body must be complete within
//!   `--request-body-timeout-secs` of its headers, or the call ends with
//!   DEADLINE_EXCEEDED: a call that sends headers and never a body gives its
//!   slot back long before the request timeout.
//! - Each refusal is counted by [`Refusal`] in the metrics, and logged at
//!   most once a second per reason, the line saying how many were not
//!   logged since the last one.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Code, Status, body::Body};
use tower::{Layer, Service};

use crate::{auth::Principal, error::ApiError, metrics::CallMetrics, services::Authenticator};

/// Why a call was refused before a service saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that names nobody, on a call that needs one.
    Unauthenticated = 0,
    /// Every slot of the server is taken.
    Overloaded = 1,
    /// The principal holds all of its share of the slots.
    PrincipalLimit = 2,
    /// Every slot of the anonymous pool is taken.
    AnonymousLimit = 3,
    /// The request body did not end within the bound after the headers.
    RequestBodyTimeout = 4,
}

impl Refusal {
    /// Every reason, in the order of their numbers.
    pub const ALL: [Refusal; 5] = [
        Refusal::Unauthenticated,
        Refusal::Overloaded,
        Refusal::PrincipalLimit,
        Refusal::AnonymousLimit,
        Refusal::RequestBodyTimeout,
    ];

    /// The `reason` label and log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::Overloaded => "overloaded",
            Refusal::PrincipalLimit => "principal_limit",
            Refusal::AnonymousLimit => "anonymous_limit",
            Refusal::RequestBodyTimeout => "request_body_timeout",
        }
    }

    fn code(self) -> Code {
        match self {
            Refusal::Unauthenticated => Code::Unauthenticated,
            Refusal::Overloaded | Refusal::PrincipalLimit | Refusal::AnonymousLimit => {
                Code::ResourceExhausted
            }
            Refusal::RequestBodyTimeout => Code::DeadlineExceeded,
        }
    }
}

/// The limits admission enforces.
#[derive(Clone, Debug)]
pub struct AdmissionLimits {
    /// Calls in flight, everybody together.
    pub max_calls: usize,
    /// Calls in flight of one principal.
    pub per_principal: usize,
    /// Calls in flight without a token, all such callers together.
    pub anonymous: usize,
    /// Longest from a call's headers to the end of its request body.
    pub request_body_timeout: Duration,
}

/// What kind of door a path knocks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    /// grpc.health.v1: no token, no slot.
    Health,
    /// Reflection: a valid token's slots if given, else the anonymous pool.
    Open,
    /// Everything else: a valid token.
    Api,
}

fn door(path: &str) -> Door {
    if path.starts_with("/grpc.health.v1.Health/") {
        Door::Health
    } else if path.starts_with("/grpc.reflection.") {
        Door::Open
    } else {
        Door::Api
    }
}

/// The method's name, the last part of its path (for the log).
fn method(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How often each reason is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// One reason's log window.
#[derive(Debug, Default)]
struct LogWindow {
    /// When the last line was written.
    logged: Option<Instant>,
    /// Refusals since then that were not logged.
    suppressed: u64,
}

/// Counts refusals and logs them at a bounded rate.
#[derive(Debug)]
struct Refusals {
    calls: Arc<CallMetrics>,
    windows: [Mutex<LogWindow>; Refusal::ALL.len()],
}

impl Refusals {
    fn refuse(&self, reason: Refusal, path: &str, principal: Option<&Principal>) {
        self.calls.refused(reason);
        let Some(window) = self.windows.get(reason as usize) else {
            return;
        };
        let now = Instant::now();
        let suppressed = {
            let mut w = window.lock().unwrap_or_else(PoisonError::into_inner);
            if w.logged
                .is_some_and(|at| now.duration_since(at) < LOG_EVERY)
            {
                w.suppressed = w.suppressed.saturating_add(1);
                return;
            }
            w.logged = Some(now);
            std::mem::take(&mut w.suppressed)
        };
        tracing::warn!(
            reason = reason.as_str(),
            method = method(path),
            principal = principal.map_or("-", |p| p.name.as_str()),
            code = crate::services::code_name(reason.code()),
            suppressed,
            "call refused"
        );
    }
}

/// Slots in use per principal, by name.
#[derive(Debug)]
struct PrincipalSlots {
    max: usize,
    /// One entry per principal that ever called: bounded by the
    /// credentials file, so entries are never removed.
    in_flight: Mutex<HashMap<String, usize>>,
}

impl PrincipalSlots {
    fn take(self: &Arc<Self>, p: &Arc<Principal>) -> Option<PrincipalSlot> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = match map.get_mut(&p.name) {
            Some(n) => n,
            None => map.entry(p.name.clone()).or_insert(0),
        };
        if *n >= self.max {
            return None;
        }
        *n = n.saturating_add(1);
        Some(PrincipalSlot {
            slots: Arc::clone(self),
            principal: Arc::clone(p),
        })
    }
}

/// One of a principal's slots, given back when dropped.
#[derive(Debug)]
struct PrincipalSlot {
    slots: Arc<PrincipalSlots>,
    principal: Arc<Principal>,
}

impl Drop for PrincipalSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.principal.name) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The slots an admitted call holds, given back when dropped.
#[derive(Debug, Default)]
struct Admitted {
    _server: Option<OwnedSemaphorePermit>,
    _anonymous: Option<OwnedSemaphorePermit>,
    _principal: Option<PrincipalSlot>,
}

#[derive(Debug)]
struct Shared {
    auth: Authenticator,
    limits: AdmissionLimits,
    server: Arc<Semaphore>,
    anonymous: Arc<Semaphore>,
    principals: Arc<PrincipalSlots>,
    refusals: Refusals,
}

impl Shared {
    /// The caller and its slots, or the status that refuses the call.
    fn admit(
        &self,
        path: &str,
        headers: &http::HeaderMap,
    ) -> Result<(Option<Arc<Principal>>, Admitted), Status> {
        let door = door(path);
        if door == Door::Health {
            return Ok((None, Admitted::default()));
        }
        let caller = match self.auth.caller(headers) {
            Ok(Some(p)) => Some(p),
            Ok(None) | Err(_) if door == Door::Open => None,
            Ok(None) | Err(_) => {
                self.refusals.refuse(Refusal::Unauthenticated, path, None);
                return Err(ApiError::Unauthenticated.into());
            }
        };
        let mut admitted = Admitted::default();
        match &caller {
            Some(p) => {
                admitted._principal = Some(self.principals.take(p).ok_or_else(|| {
                    self.refusals
                        .refuse(Refusal::PrincipalLimit, path, Some(p.as_ref()));
                    Status::from(ApiError::Overloaded(format!(
                        "{} already has {} calls in flight, its share of the server",
                        p.name, self.limits.per_principal
                    )))
                })?);
            }
            None => {
                admitted._anonymous = Some(
                    Arc::clone(&self.anonymous)
                        .try_acquire_owned()
                        .map_err(|_| {
                            self.refusals.refuse(Refusal::AnonymousLimit, path, None);
                            Status::from(ApiError::Overloaded(format!(
                                "{} calls without a token are in flight; call with a token",
                                self.limits.anonymous
                            )))
                        })?,
                );
            }
        }
        admitted._server = Some(Arc::clone(&self.server).try_acquire_owned().map_err(|_| {
            self.refusals
                .refuse(Refusal::Overloaded, path, caller.as_deref());
            Status::from(ApiError::Overloaded("too many calls in flight".into()))
        })?);
        Ok((caller, admitted))
    }
}

/// The layer: authenticates, admits or refuses, bounds the request body.
#[derive(Clone, Debug)]
pub struct AdmissionLayer {
    shared: Arc<Shared>,
}

impl AdmissionLayer {
    /// Admission by `auth` within `limits`, counting refusals into `calls`.
    pub fn new(auth: Authenticator, limits: AdmissionLimits, calls: Arc<CallMetrics>) -> Self {
        let max = limits.max_calls.max(1);
        let limits = AdmissionLimits {
            max_calls: max,
            per_principal: limits.per_principal.clamp(1, max),
            anonymous: limits.anonymous.clamp(1, max),
            request_body_timeout: limits.request_body_timeout,
        };
        AdmissionLayer {
            shared: Arc::new(Shared {
                auth,
                server: Arc::new(Semaphore::new(max)),
                anonymous: Arc::new(Semaphore::new(limits.anonymous)),
                principals: Arc::new(PrincipalSlots {
                    max: limits.per_principal,
                    in_flight: Mutex::new(HashMap::new()),
                }),
                limits,
                refusals: Refusals {
                    calls,
                    windows: std::array::from_fn(|_| Mutex::new(LogWindow::default())),
                },
            }),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;
    fn layer(&self, inner: S) -> Admission<S> {
        Admission {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`AdmissionLayer`] makes.
#[derive(Clone, Debug)]
pub struct Admission<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<http::Request<Body>> for Admission<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let (caller, admitted) = match self.shared.admit(req.uri().path(), req.headers()) {
            Ok(a) => a,
            Err(status) => return Box::pin(async move { Ok(status.into_http()) }),
        };
        let (mut parts, body) = req.into_parts();
        let body = Body::new(BoundedBody {
            inner: body,
            deadline: Instant::now()
                .checked_add(self.shared.limits.request_body_timeout)
                .unwrap_or_else(Instant::now),
            timer: None,
            ended: false,
            shared: Arc::clone(&self.shared),
            path: parts.uri.clone(),
            caller: caller.clone(),
        });
        if let Some(p) = caller {
            parts.extensions.insert(p);
        }
        // Take the ready service, leave a fresh clone (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let request = http::Request::from_parts(parts, body);
        Box::pin(async move {
            let response = inner.call(request).await?;
            Ok(response.map(|body| {
                Body::new(Holding {
                    inner: body,
                    _admitted: admitted,
                })
            }))
        })
    }
}

/// A request body that must end by a deadline.
struct BoundedBody {
    inner: Body,
    deadline: Instant,
    /// Made at the first wait, so a body that is there at once costs no timer.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    ended: bool,
    shared: Arc<Shared>,
    path: http::Uri,
    caller: Option<Arc<Principal>>,
}

impl BoundedBody {
    fn end(&mut self) {
        self.ended = true;
        self.timer = None;
    }
}

impl http_body::Body for BoundedBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.end();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_trailers() {
                    this.end();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.end();
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending if this.ended => Poll::Pending,
            Poll::Pending => {
                let deadline = tokio::time::Instant::from_std(this.deadline);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.end();
                this.shared.refusals.refuse(
                    Refusal::RequestBodyTimeout,
                    this.path.path(),
                    this.caller.as_deref(),
                );
                Poll::Ready(Some(Err(ApiError::RequestBodyTimeout(
                    this.shared.limits.request_body_timeout.as_secs(),
                )
                .into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A reply body that holds its call's slots until it is dropped: after its
/// last byte, or when the client goes away.
struct Holding {
    inner: Body,
    _admitted: Admitted,
}

impl http_body::Body for Holding {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doors_by_path() {
        assert_eq!(door("/grpc.health.v1.Health/Check"), Door::Health);
        assert_eq!(door("/grpc.health.v1.Health/Watch"), Door::Health);
        assert_eq!(
            door("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Door::Open
        );
        assert_eq!(
            door("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Door::Open
        );
        assert_eq!(door("/gongkai.v1.ReportService/GetReport"), Door::Api);
        assert_eq!(door("/grpc.health.v1.Healthy/Check"), Door::Api);
        assert_eq!(method("/gongkai.v1.ReportService/GetReport"), "GetReport");
    }

    #[test]
    fn a_principal_holds_at_most_its_share_and_gets_slots_back() {
        let slots = Arc::new(PrincipalSlots {
            max: 2,
            in_flight: Mutex::new(HashMap::new()),
        });
        let a = Arc::new(Principal::local_trial());
        let mut b = Principal::local_trial();
        b.name = "other".into();
        let b = Arc::new(b);
        let first = slots.take(&a).expect("first");
        let _second = slots.take(&a).expect("second");
        assert!(slots.take(&a).is_none(), "a third is over the share");
        assert!(slots.take(&b).is_some(), "another principal has its own");
        drop(first);
        assert!(slots.take(&a).is_some(), "a slot given back is free again");
    }
}
