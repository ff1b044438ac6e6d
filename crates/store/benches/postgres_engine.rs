//! Round trips and time of the PostgreSQL engine's two basic calls, each
//! against a bare tokio-postgres baseline in the same run on the same
//! server (a throwaway cluster of the test kit, fsync off: the commit's
//! disk cost is the same on both sides and would only hide the engine's):
//!
//! - `get`: `PgEngine::get` of one row, against a prepared
//!   `SELECT value … WHERE key = $1` on one plain connection;
//! - `transaction of 10 puts`: `PgEngine::transaction` staging 10 rows of
//!   `requests` (chain lock, readable columns, flush, commit), against the
//!   hand-written equivalent on one plain connection: `BEGIN`, the chain
//!   lock, one `INSERT … SELECT FROM unnest` of the same 10 key/value
//!   pairs, `COMMIT`, each awaited in turn.
//!
//! Round trips are counted by a proxy between client and server: one each
//! time the server answers after the client has sent. One client at a
//! time; the two sides alternate in rounds (`GONGKAI_BENCH_ROUNDS`, default
//! 3, of `GONGKAI_BENCH_OPS` calls, default 2000).
//!
//! ```text
//! cargo bench -p gongkai-store --bench postgres_engine
//! ```

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use gongkai_proto::store_v1::IdempotencyRecord;
use gongkai_store::postgres::{PgEngine, PgOptions, Tree};
use gongkai_testkit::{Cluster, Options};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Counts round trips: server replies that follow client sends.
#[derive(Default)]
struct Turns {
    client_spoke: AtomicBool,
    count: AtomicU64,
}

async fn pipe(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    turns: Arc<Turns>,
    server_side: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if server_side {
            if turns.client_spoke.swap(false, Ordering::SeqCst) {
                turns.count.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            turns.client_spoke.store(true, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A proxy to `port` on 127.0.0.1; returns its own port.
async fn proxy(port: u16, turns: Arc<Turns>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let own = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, turns.clone(), false));
            tokio::spawn(pipe(sr, cw, turns.clone(), true));
        }
    });
    own
}

fn value(n: u32) -> Vec<u8> {
    let mut v = vec![1];
    IdempotencyRecord {
        request_sha256: vec![7; 32],
        resource: format!("agencies/11330700099033995K/reports/2024/revisions/{n}"),
        revision: n,
        event_sequence: u64::from(n),
    }
    .encode(&mut v)
    .unwrap();
    v
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one side spent over its calls.
#[derive(Default)]
struct Side {
    time: Duration,
    ops: u64,
    turns: u64,
}

/// When a timed stretch began: the time and the round trips so far.
fn mark(turns: &Turns) -> (Instant, u64) {
    (Instant::now(), turns.count.load(Ordering::SeqCst))
}

impl Side {
    /// Adds `ops` calls made since `start`.
    fn add(&mut self, start: (Instant, u64), turns: &Turns, ops: u64) {
        self.time += start.0.elapsed();
        self.turns += turns.count.load(Ordering::SeqCst) - start.1;
        self.ops += ops;
    }
}

fn report(what: &str, gongkai: &Side, baseline: &Side) {
    let per = |s: &Side| s.time.as_secs_f64() * 1e6 / s.ops as f64;
    let rt = |s: &Side| s.turns as f64 / s.ops as f64;
    println!(
        "{what:<24} gongkai {:>7.1} µs/op {:>4.2} round trips/op | baseline {:>7.1} µs/op {:>4.2} round trips/op | gongkai/baseline time {:>5.2}",
        per(gongkai),
        rt(gongkai),
        per(baseline),
        rt(baseline),
        per(gongkai) / per(baseline)
    );
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rounds = if smoke {
        1
    } else {
        env("GONGKAI_BENCH_ROUNDS", 3)
    };
    let ops = if smoke {
        20
    } else {
        env("GONGKAI_BENCH_OPS", 2000)
    };
    let cluster = Cluster::start(&Options::default()).unwrap();
    let url = cluster.fresh_database().unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let turns = Arc::new(Turns::default());
        let port = proxy(cluster.port(), turns.clone()).await;
        let via_proxy = format!(
            "postgres://{}@127.0.0.1:{port}/{db}",
            gongkai_testkit::SUPERUSER
        );
        let engine = PgEngine::open(&via_proxy, &PgOptions::default()).unwrap();
        engine.migrate().await.unwrap();
        let (mut client, conn) = tokio_postgres::connect(&via_proxy, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let key = b"bench/get".to_vec();
        let v = value(1);
        engine
            .transaction(|tx| {
                let (key, v) = (&key, &v);
                Box::pin(async move {
                    tx.put(Tree::Requests, key, v.clone());
                    Ok(())
                })
            })
            .await
            .unwrap();
        let select = client
            .prepare("SELECT value FROM requests WHERE key = $1")
            .await
            .unwrap();
        let lock = client
            .prepare("SELECT value FROM store_meta WHERE key = 'audit_head'::bytea FOR UPDATE")
            .await
            .unwrap();
        let insert = client
            .prepare(
                "INSERT INTO requests (key, value, resource, revision, event_sequence) \
                 SELECT k, v, '', 0, 0 FROM unnest($1::bytea[], $2::bytea[]) AS u(k, v)",
            )
            .await
            .unwrap();
        let mut serial = 0u32;
        let mut next_keys = || -> Vec<Vec<u8>> {
            (0..10)
                .map(|_| {
                    serial += 1;
                    format!("bench/{serial:010}").into_bytes()
                })
                .collect()
        };
        let values: Vec<Vec<u8>> = (0..10).map(value).collect();
        // Warm both sides (prepared statements, pool).
        for _ in 0..20 {
            engine.get(Tree::Requests, &key).await.unwrap();
        }
        let mut g = [Side::default(), Side::default()];
        let mut t = [Side::default(), Side::default()];
        for _ in 0..rounds {
            // get: gongkai, then the baseline.
            let start = mark(&turns);
            for _ in 0..ops {
                assert!(engine.get(Tree::Requests, &key).await.unwrap().is_some());
            }
            g[0].add(start, &turns, ops);
            let start = mark(&turns);
            for _ in 0..ops {
                assert!(client.query_opt(&select, &[&key]).await.unwrap().is_some());
            }
            g[1].add(start, &turns, ops);
            // A transaction of 10 puts.
            let start = mark(&turns);
            for _ in 0..ops {
                let keys = next_keys();
                let (keys, values) = (&keys, &values);
                engine
                    .transaction(|tx| {
                        Box::pin(async move {
                            for (k, v) in keys.iter().zip(values) {
                                tx.put(Tree::Requests, k, v.clone());
                            }
                            Ok(())
                        })
                    })
                    .await
                    .unwrap();
            }
            t[0].add(start, &turns, ops);
            let start = mark(&turns);
            for _ in 0..ops {
                let keys = next_keys();
                let ks: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                let vs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                let tx = client.transaction().await.unwrap();
                tx.query_one(&lock, &[]).await.unwrap();
                tx.execute(&insert, &[&ks, &vs]).await.unwrap();
                tx.commit().await.unwrap();
            }
            t[1].add(start, &turns, ops);
        }
        report("get", &g[0], &g[1]);
        report("transaction of 10 puts", &t[0], &t[1]);
    });
}
