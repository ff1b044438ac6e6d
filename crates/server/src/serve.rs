//! The gRPC server: services, reflection (v1 and v1alpha), health,
//! admission (who calls, and the limits: `admission.rs`), TLS and graceful
//! shutdown. Takes an already bound listener, so tests bind
//! port 0 and read the address instead of sleeping.

use std::{future::Future, sync::Arc, time::Duration};

use gongkai_proto::v1::{
    admin_service_server::AdminServiceServer, agency_service_server::AgencyServiceServer,
    area_service_server::AreaServiceServer, audit_service_server::AuditServiceServer,
    document_service_server::DocumentServiceServer, report_service_server::ReportServiceServer,
    review_service_server::ReviewServiceServer,
};
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig, server::TcpIncoming};

use crate::{
    admission::{AdmissionLayer, AdmissionLimits},
    metrics::{CallMetrics, MetricsLayer, serve_metrics},
    services::{
        AdminApi, AgencyApi, AreaApi, AuditApi, BackupConfig, Ctx, DocumentApi, ReportApi,
        ReviewApi,
    },
};

/// Limits the server enforces.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request or response message, bytes.
    pub max_message_bytes: usize,
    /// Longest a call may run.
    pub request_timeout: Duration,
    /// Calls in flight before new ones get RESOURCE_EXHAUSTED.
    pub max_concurrent_calls: usize,
    /// Calls one principal may have in flight; None: a quarter of
    /// `max_concurrent_calls` (at least 1).
    pub max_calls_per_principal: Option<usize>,
    /// Calls without a token (reflection) in flight, all such callers together.
    pub max_anonymous_calls: usize,
    /// Longest from a call's headers to the end of its request body.
    pub request_body_timeout: Duration,
    /// How long shutdown waits for calls in flight.
    pub drain_timeout: Duration,
}

impl Limits {
    /// The slots one principal may hold.
    pub fn per_principal(&self) -> usize {
        self.max_calls_per_principal
            .unwrap_or(self.max_concurrent_calls / 4)
            .clamp(1, self.max_concurrent_calls.max(1))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_concurrent_calls: 256,
            max_calls_per_principal: None,
            max_anonymous_calls: 8,
            request_body_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(20),
        }
    }
}

/// TLS material, PEM.
#[derive(Clone, Debug)]
pub struct Tls {
    /// Server certificate chain.
    pub cert: Vec<u8>,
    /// Its private key.
    pub key: Vec<u8>,
    /// CA for client certificates; when set, clients must present one.
    pub client_ca: Option<Vec<u8>>,
}

/// Services whose names appear in health (besides "").
pub const SERVICE_NAMES: [&str; 7] = [
    "gongkai.v1.AdminService",
    "gongkai.v1.AgencyService",
    "gongkai.v1.ReportService",
    "gongkai.v1.ReviewService",
    "gongkai.v1.AuditService",
    "gongkai.v1.AreaService",
    "gongkai.v1.DocumentService",
];

/// How often health asks a store on PostgreSQL whether its database
/// answers (each ask waits at most the engine's ping timeout).
const HEALTH_POLL: Duration = Duration::from_secs(1);

/// The overall status and every service's.
async fn set_health(
    health: &tonic_health::server::HealthReporter,
    status: tonic_health::ServingStatus,
) {
    health.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        health.set_service_status(name, status).await;
    }
}

/// Until `shutdown`: on PostgreSQL, polls the database (the engine's
/// ping) and reports NOT_SERVING while it does not answer, SERVING again
/// once it does, so a load balancer sends calls elsewhere meanwhile. A
/// sled store answers while the process lives: nothing to poll.
async fn watch_store(
    health: &tonic_health::server::HealthReporter,
    store: &gongkai_store::Store,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    if store.engine() == gongkai_store::EngineKind::Sled {
        shutdown.await;
        return;
    }
    let mut serving = true;
    loop {
        let answers = async {
            tokio::time::sleep(HEALTH_POLL).await;
            store.ping().await
        };
        tokio::select! {
            () = &mut shutdown => return,
            up = answers => {
                if up != serving {
                    serving = up;
                    if up {
                        tracing::info!("the database answers again: serving");
                        set_health(health, tonic_health::ServingStatus::Serving).await;
                    } else {
                        tracing::error!("the database does not answer: not serving");
                        set_health(health, tonic_health::ServingStatus::NotServing).await;
                    }
                }
            }
        }
    }
}

/// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
/// accepting, drains calls in flight for at most `limits.drain_timeout` and
/// flushes the store. Calls are counted, but no metrics endpoint is served.
pub async fn serve(
    listener: TcpListener,
    ctx: Ctx,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, ctx, limits, tls, Ops::default(), shutdown).await
}

/// What operators add to a server: a metrics port and a backup directory.
#[derive(Debug, Default)]
pub struct Ops {
    /// Prometheus text at `GET /metrics` on this listener (plain HTTP/1.1,
    /// its own port), from start to exit, the drain included.
    pub metrics: Option<TcpListener>,
    /// Where AdminService/BackupStore writes; None refuses it.
    pub backup: Option<BackupConfig>,
}

/// [`serve`] with [`Ops`].
pub async fn serve_with(
    listener: TcpListener,
    ctx: Ctx,
    limits: Limits,
    tls: Option<Tls>,
    ops: Ops,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Ops { metrics, backup } = ops;
    let (health, health_service) = tonic_health::server::health_reporter();
    // Both reflection versions (grpcurl 1.8 speaks only v1alpha), each
    // describing everything served, both reflection services included.
    let descriptors = [
        gongkai_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let reflection = || {
        descriptors
            .iter()
            .fold(tonic_reflection::server::Builder::configure(), |b, set| {
                b.register_encoded_file_descriptor_set(set)
            })
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    // One counter slot per method of the same descriptors, so every served
    // method is counted under its own name and nothing else can add series.
    let calls = Arc::new(CallMetrics::new(&descriptors)?);
    let metrics_task =
        metrics.map(|l| tokio::spawn(serve_metrics(l, Arc::clone(&calls), ctx.store.clone())));

    let max = limits.max_message_bytes;
    let admission = AdmissionLayer::new(
        ctx.auth.clone(),
        AdmissionLimits {
            max_calls: limits.max_concurrent_calls,
            per_principal: limits.per_principal(),
            anonymous: limits.max_anonymous_calls,
            request_body_timeout: limits.request_body_timeout,
        },
        Arc::clone(&calls),
    );
    // The metrics layer is outermost, so refused calls count too.
    let mut builder = Server::builder()
        .timeout(limits.request_timeout)
        .layer(MetricsLayer::new(Arc::clone(&calls)))
        .layer(admission);
    if let Some(tls) = tls {
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(tls.cert, tls.key));
        if let Some(ca) = tls.client_ca {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(config)?;
    }
    let router = builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            AdminServiceServer::new(AdminApi {
                ctx: ctx.clone(),
                backup,
            })
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
        )
        .add_service(
            AgencyServiceServer::new(AgencyApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            ReportServiceServer::new(ReportApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            ReviewServiceServer::new(ReviewApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            AuditServiceServer::new(AuditApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            AreaServiceServer::new(AreaApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            DocumentServiceServer::new(DocumentApi(ctx.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        );

    // The store is open (the caller opened it): only now are we serving.
    set_health(&health, tonic_health::ServingStatus::Serving).await;

    let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
    let (drain_started, drain) = tokio::sync::oneshot::channel::<()>();
    let watched = ctx.store.clone();
    tokio::spawn(async move {
        watch_store(&health, &watched, shutdown).await;
        // NOT_SERVING from the first moment of shutdown, before draining.
        set_health(&health, tonic_health::ServingStatus::NotServing).await;
        tracing::info!("shutdown: not serving, draining calls in flight");
        let _ = drain_started.send(());
        let _ = stop_accepting.send(());
    });

    // TCP_NODELAY on every accepted connection: without it Nagle's algorithm
    // and delayed ACKs hold small replies for 40 ms on loopback.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async {
            let _ = drain.await;
            tokio::time::sleep(limits.drain_timeout).await;
        } => {
            tracing::warn!(drain_timeout_s = limits.drain_timeout.as_secs(), "shutdown: calls still in flight after the drain bound; stopping");
        }
    }
    let flushed = ctx.store.flush().await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    flushed?;
    tracing::info!("shutdown: store flushed");
    Ok(())
}
