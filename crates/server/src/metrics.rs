//! Prometheus metrics: every gRPC call by method and status code, a latency
//! histogram per method, reports by review state and the store's size on
//! disk, served as Prometheus text on a port of their own.
//!
//! The hot path is [`MetricsLayer`]: one hash lookup of the request path in a
//! table built once from the served descriptor sets, two clock reads and
//! three relaxed atomic additions per call; no lock, and no allocation
//! except when a successful response's body must be watched for the status
//! in its trailers. Encoding is `prometheus-client`'s, at scrape time, from
//! the same atomics (a [`Collector`]), so the names, escaping and histogram
//! layout are the library's.
//!
//! Names follow go-grpc-prometheus, so existing dashboards and alerts read
//! them: `grpc_server_handled_total{grpc_service, grpc_method, grpc_type,
//! grpc_code}` and `grpc_server_handling_seconds{grpc_service, grpc_method,
//! grpc_type}`; then `gongkai_refused_calls_total{reason}` (calls the
//! admission layer refused before they reached a service, see
//! `admission.rs`), `gongkai_reports{state}` and `gongkai_store_size_bytes`.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use gongkai_proto::v1::ReviewState;
use gongkai_store::{Store, StoreStats};
use http_body::Frame;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, NoLabelSet},
    metrics::{MetricType, exemplar::Exemplar},
    registry::Registry,
};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::admission::Refusal;

/// Upper bounds of the latency buckets, microseconds (then +Inf). Health
/// checks answer in about 0.1 ms, submissions in 1–50 ms.
const BUCKETS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// The gRPC status codes by number: as tonic spells them (the access log)
/// and as go-grpc-prometheus names them (the `grpc_code` label). Only codes
/// 0 and 1 differ.
pub(crate) const CODE_NAMES: [(&str, &str); 17] = [
    ("Ok", "OK"),
    ("Cancelled", "Canceled"),
    ("Unknown", "Unknown"),
    ("InvalidArgument", "InvalidArgument"),
    ("DeadlineExceeded", "DeadlineExceeded"),
    ("NotFound", "NotFound"),
    ("AlreadyExists", "AlreadyExists"),
    ("PermissionDenied", "PermissionDenied"),
    ("ResourceExhausted", "ResourceExhausted"),
    ("FailedPrecondition", "FailedPrecondition"),
    ("Aborted", "Aborted"),
    ("OutOfRange", "OutOfRange"),
    ("Unimplemented", "Unimplemented"),
    ("Internal", "Internal"),
    ("Unavailable", "Unavailable"),
    ("DataLoss", "DataLoss"),
    ("Unauthenticated", "Unauthenticated"),
];

/// The review states counted by `gongkai_reports`.
const STATES: [ReviewState; 4] = [
    ReviewState::Draft,
    ReviewState::Submitted,
    ReviewState::Returned,
    ReviewState::Approved,
];

/// Counters of one method.
#[derive(Debug)]
struct MethodStats {
    service: String,
    method: String,
    kind: &'static str,
    /// Calls ended, by gRPC status code.
    codes: [AtomicU64; CODE_NAMES.len()],
    /// Calls by latency bucket (not cumulative; the last is +Inf).
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    /// Sum of latencies, microseconds.
    sum_us: AtomicU64,
}

impl MethodStats {
    fn new(service: &str, method: &str, kind: &'static str) -> MethodStats {
        MethodStats {
            service: service.to_owned(),
            method: method.to_owned(),
            kind,
            codes: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_us: AtomicU64::new(0),
        }
    }

    fn record(&self, code: usize, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // An out-of-range code (a peer cannot send one here) counts as Unknown.
        let code = if code < CODE_NAMES.len() { code } else { 2 };
        if let Some(c) = self.codes.get(code) {
            c.fetch_add(1, Relaxed);
        }
        let bucket = BUCKETS_US
            .iter()
            .position(|&le| us <= le)
            .unwrap_or(BUCKETS_US.len());
        if let Some(b) = self.buckets.get(bucket) {
            b.fetch_add(1, Relaxed);
        }
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// Call counters and latency histograms of every served method.
#[derive(Debug)]
pub struct CallMetrics {
    /// Every method served, then one entry for paths that name none.
    methods: Vec<MethodStats>,
    /// `/package.Service/Method` → index into `methods`.
    by_path: HashMap<String, usize>,
    /// Calls refused before a service saw them, by [`Refusal`].
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl CallMetrics {
    /// Counters for every method of every service in the encoded file
    /// descriptor sets (the ones the server serves and reflects). A set that
    /// does not decode is an error, not a silent gap.
    pub fn new(descriptor_sets: &[&[u8]]) -> anyhow::Result<CallMetrics> {
        let mut pool = prost_reflect::DescriptorPool::new();
        for set in descriptor_sets {
            pool.decode_file_descriptor_set(*set)?;
        }
        let mut methods = Vec::new();
        let mut by_path = HashMap::new();
        for service in pool.services() {
            for m in service.methods() {
                let kind = match (m.is_client_streaming(), m.is_server_streaming()) {
                    (false, false) => "unary",
                    (false, true) => "server_stream",
                    (true, false) => "client_stream",
                    (true, true) => "bidi_stream",
                };
                let path = format!("/{}/{}", service.full_name(), m.name());
                if by_path.insert(path, methods.len()).is_none() {
                    methods.push(MethodStats::new(service.full_name(), m.name(), kind));
                }
            }
        }
        methods.push(MethodStats::new("unknown", "unknown", "unknown"));
        Ok(CallMetrics {
            methods,
            by_path,
            refused: std::array::from_fn(|_| AtomicU64::new(0)),
        })
    }

    /// The slot of a request path (the last one for a path naming no method).
    fn slot(&self, path: &str) -> usize {
        self.by_path
            .get(path)
            .copied()
            .unwrap_or(self.methods.len().saturating_sub(1))
    }

    fn record(&self, slot: usize, code: usize, elapsed: Duration) {
        if let Some(m) = self.methods.get(slot) {
            m.record(code, elapsed);
        }
    }

    /// Counts one call refused for `reason`.
    pub fn refused(&self, reason: Refusal) {
        if let Some(n) = self.refused.get(reason as usize) {
            n.fetch_add(1, Relaxed);
        }
    }
}

impl Collector for CallMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Only methods that were called and codes that occurred: a few
        // dozen methods times 17 codes of zeros would drown the rest.
        {
            let mut family = encoder.encode_descriptor(
                "grpc_server_handled",
                "Calls completed on the server, by method and gRPC status code.",
                None,
                MetricType::Counter,
            )?;
            for m in &self.methods {
                for ((_, code), count) in CODE_NAMES.iter().zip(&m.codes) {
                    let n = count.load(Relaxed);
                    if n == 0 {
                        continue;
                    }
                    let labels = [
                        ("grpc_service", m.service.as_str()),
                        ("grpc_method", m.method.as_str()),
                        ("grpc_type", m.kind),
                        ("grpc_code", *code),
                    ];
                    family
                        .encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(
                            &n,
                            None::<&Exemplar<NoLabelSet, u64>>,
                        )?;
                }
            }
        }
        {
            // Every reason, zeros too: an alert can be written before the first refusal.
            let mut family = encoder.encode_descriptor(
                "gongkai_refused_calls",
                "Calls refused before a service saw them, by reason (unauthenticated, overloaded, principal_limit, anonymous_limit, request_body_timeout).",
                None,
                MetricType::Counter,
            )?;
            for (reason, count) in Refusal::ALL.iter().zip(&self.refused) {
                let labels = [("reason", reason.as_str())];
                family
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(
                        &count.load(Relaxed),
                        None::<&Exemplar<NoLabelSet, u64>>,
                    )?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "grpc_server_handling_seconds",
            "Time from a call's arrival to its last response byte, by method.",
            None,
            MetricType::Histogram,
        )?;
        for m in &self.methods {
            let counts: Vec<u64> = m.buckets.iter().map(|b| b.load(Relaxed)).collect();
            let count = counts.iter().fold(0u64, |a, &b| a.saturating_add(b));
            if count == 0 {
                continue;
            }
            // Per-bucket counts: the encoder makes them cumulative.
            let buckets: Vec<(f64, u64)> = counts
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let le = BUCKETS_US
                        .get(i)
                        .map_or(f64::INFINITY, |&us| us as f64 / 1e6);
                    (le, n)
                })
                .collect();
            let labels = [
                ("grpc_service", m.service.as_str()),
                ("grpc_method", m.method.as_str()),
                ("grpc_type", m.kind),
            ];
            family
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    m.sum_us.load(Relaxed) as f64 / 1e6,
                    count,
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }
}

/// What the store says at scrape time.
#[derive(Debug)]
struct StoreGauges(StoreStats);

impl Collector for StoreGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        {
            let mut family = encoder.encode_descriptor(
                "gongkai_reports",
                "Reports (agency and data year) by their current review state.",
                None,
                MetricType::Gauge,
            )?;
            for state in STATES {
                let n = self
                    .0
                    .reports_by_state
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n);
                let labels = [("state", gongkai_store::state_name(state))];
                family.encode_family(&labels)?.encode_gauge(&n)?;
            }
        }
        let mut gauge = encoder.encode_descriptor(
            "gongkai_store_size_bytes",
            "Bytes the store takes on disk (sled's files, or the PostgreSQL database).",
            None,
            MetricType::Gauge,
        )?;
        gauge.encode_gauge(&self.0.size_on_disk)
    }
}

/// The metrics text: call metrics, then the store's figures read now.
/// Reading the store scans the state index (cost grows with the number of
/// reports, not revisions; the store keeps it off the async workers).
pub async fn render(calls: &Arc<CallMetrics>, store: &Store) -> anyhow::Result<String> {
    let stats = store.stats().await?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Arc::clone(calls)));
    registry.register_collector(Box::new(StoreGauges(stats)));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .map_err(|_| anyhow::anyhow!("encoding the metrics text failed"))?;
    Ok(text)
}

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Serves `GET /metrics` on `listener` until the task is dropped or aborted.
/// Any other path is 404; any other method 405.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    calls: Arc<CallMetrics>,
    store: Store,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors and the like: say so, and keep serving.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let calls = Arc::clone(&calls);
        let store = store.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: http::Request<_>| {
                let calls = Arc::clone(&calls);
                let store = store.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&req, calls, store).await) }
            });
            // A client that never finishes its request headers is dropped.
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics: connection ended with an error");
            }
        });
    }
}

async fn answer<B>(
    req: &http::Request<B>,
    calls: Arc<CallMetrics>,
    store: Store,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let plain = |status: http::StatusCode, text: String| {
        let mut r = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    if req.uri().path() != "/metrics" {
        return plain(
            http::StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n".into(),
        );
    }
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return plain(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "only GET /metrics\n".into(),
        );
    }
    match render(&calls, &store).await {
        Ok(text) => {
            let mut r = plain(http::StatusCode::OK, text);
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(CONTENT_TYPE),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "metrics: reading the store failed");
            plain(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the store failed: {e:#}\n"),
            )
        }
    }
}

/// Counts every call into [`CallMetrics`]: its method, its final gRPC
/// status (from the headers of a trailers-only response, else from the
/// trailers) and its latency up to the end of the response.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    calls: Arc<CallMetrics>,
}

impl MetricsLayer {
    /// Records into `calls`.
    pub fn new(calls: Arc<CallMetrics>) -> MetricsLayer {
        MetricsLayer { calls }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metered<S>;
    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            calls: Arc::clone(&self.calls),
        }
    }
}

/// The service [`MetricsLayer`] makes.
#[derive(Clone, Debug)]
pub struct Metered<S> {
    inner: S,
    calls: Arc<CallMetrics>,
}

/// One call being measured. Recorded exactly once: when its status is
/// known, or as Canceled when it is dropped before (the client went away,
/// or the server's request timeout fired, which tonic reports as
/// CANCELLED too).
#[derive(Debug)]
struct Pending {
    calls: Arc<CallMetrics>,
    slot: usize,
    start: Instant,
    done: bool,
}

impl Pending {
    fn finish(&mut self, code: usize) {
        if !self.done {
            self.done = true;
            self.calls.record(self.slot, code, self.start.elapsed());
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled as usize);
    }
}

/// The `grpc-status` in a header map, if any.
fn grpc_status(headers: &http::HeaderMap) -> Option<usize> {
    headers.get("grpc-status").map(|v| {
        std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(tonic::Code::Unknown as usize)
    })
}

impl<S> Service<http::Request<Body>> for Metered<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let pending = Pending {
            slot: self.calls.slot(req.uri().path()),
            calls: Arc::clone(&self.calls),
            start: Instant::now(),
            done: false,
        };
        MeteredFuture {
            inner: self.inner.call(req),
            pending: Some(pending),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Metered`].
    #[derive(Debug)]
    pub struct MeteredFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, E> Future for MeteredFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = Result<http::Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        let Some(mut pending) = this.pending.take() else {
            return Poll::Ready(result);
        };
        match result {
            Err(e) => {
                // The transport turns this into an error reply; tonic's own
                // services never fail here.
                pending.finish(tonic::Code::Unknown as usize);
                Poll::Ready(Err(e))
            }
            Ok(response) => {
                // Trailers-only (every refused call): the status is here.
                if let Some(code) = grpc_status(response.headers()) {
                    pending.finish(code);
                    return Poll::Ready(Ok(response));
                }
                let (parts, body) = response.into_parts();
                if http_body::Body::is_end_stream(&body) {
                    // No status at all: the client will see UNKNOWN.
                    pending.finish(tonic::Code::Unknown as usize);
                    return Poll::Ready(Ok(http::Response::from_parts(parts, body)));
                }
                let body = Body::new(MeteredBody {
                    inner: body,
                    pending,
                });
                Poll::Ready(Ok(http::Response::from_parts(parts, body)))
            }
        }
    }
}

/// A response body that records its call when the trailers pass by.
#[derive(Debug)]
struct MeteredBody {
    inner: Body,
    pending: Pending,
}

impl http_body::Body for MeteredBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(f) => f,
        };
        match &frame {
            Some(Ok(f)) => {
                if let Some(code) = f.trailers_ref().and_then(grpc_status) {
                    this.pending.finish(code);
                }
            }
            Some(Err(status)) => this.pending.finish(status.code() as usize),
            // Ended without trailers: the client sees no status.
            None => this.pending.finish(tonic::Code::Unknown as usize),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
