//! Streams stay inside the limits (issue 13, point 2), against the real
//! binary: 200 ExportReports calls opened at once and never read, under a
//! concurrency limit of 16. A stream holds its slot for its whole life, so
//! exactly 16 are admitted and every other one is refused with
//! RESOURCE_EXHAUSTED; the server produces a stream as its reader reads, so
//! an unread stream costs its receive window and a message, not the export
//! nor a thread: the server's RSS stays under RSS_BOUND_KIB (192 MiB; it
//! grows by less than 64 MiB while the streams are held) and its thread
//! count under THREAD_BOUND (64). Once the clients cancel, the slots come
//! back.

mod common;

use std::time::{Duration, Instant};

use common::{
    raw::{RawConn, RawReply, finish, frame, read_without_release, rss_and_threads},
    serve::{Principals, authed, corrected_report, spawn_in, uscc},
};
use gongkai_proto::v1 as pb;
use gongkai_server::auth::Role;
use tonic::Code;

const EXPORT: &str = "/gongkai.v1.AreaService/ExportReports";
/// Departments under the area, each with an approved report of about 60 KB:
/// an export of about 1.5 MB, far more than a stream's receive window.
const AGENCIES: usize = 24;
/// The limit the server runs with.
const LIMIT: usize = 16;
/// Exports opened at once.
const OPENED: usize = 200;
/// The client's receive window per stream (the HTTP/2 default).
const WINDOW: u32 = 65_535;
/// The server's resident memory while the 16 streams are held, and after,
/// KiB. Measured (debug build, 2 shared cores): 61 MiB at the start, 99–100
/// MiB once the area is written, 112–128 MiB with the 16 streams held, 106–134
/// MiB after the cancellations. Before streams held their slots, the 200
/// streams were all admitted and took the server to 616 MiB and 214 threads.
const RSS_BOUND_KIB: u64 = 192 * 1024;
/// What holding the 16 streams may add to the server's memory, KiB:
/// measured 13–28 MiB (each stream's window, a message or two, and the
/// allocator's caches of the blocking threads that read the pages).
const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;
/// Threads of the server process while the streams are held: the runtime's
/// workers, the blocking pool threads reading pages, sled's, the log's.
/// Measured 20–36.
const THREAD_BOUND: u64 = 64;

fn area() -> String {
    uscc("11230500MD0000001")
}

fn department(i: usize) -> String {
    uscc(&format!("11230500MD{:07}", i + 2))
}

/// A report of about 60 KB for `code` (the sample, corrected, with a long
/// 总体情况).
fn long_report(code: &str) -> pb::AnnualReport {
    let mut r = corrected_report();
    let m = r.metadata.as_mut().expect("metadata");
    m.agency_uscc = code.to_owned();
    r.sections.as_mut().expect("sections").overview = Some("政府信息公开".repeat(3_400));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unread_exports_hold_their_slots_and_little_memory_and_give_both_back() {
    let p = Principals::new(&[
        ("ops", "*", &[Role::Admin, Role::Submitter, Role::Reviewer]),
        ("reader", "*", &[Role::Auditor]),
    ]);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let limit = LIMIT.to_string();
    let server = spawn_in(
        tmp.path(),
        &p,
        &["--max-concurrent-calls", &limit],
        &[("GONGKAI_MAX_CALLS_PER_PRINCIPAL", &limit)],
    );
    let pid = server.child.id();

    // The area and its departments, each with an approved 2024 report.
    let mut c = server.clients().await;
    let ops = p.token("ops");
    use pb::{AgencyKind as K, AgencyLevel as L};
    c.register(
        ops,
        &area(),
        "双鸭山市人民政府",
        "230500",
        L::Prefectural,
        K::Government,
        None,
    )
    .await
    .expect("register the area");
    for i in 0..AGENCIES {
        let code = department(i);
        c.register(
            ops,
            &code,
            &format!("双鸭山市测试局{i}"),
            "230500",
            L::Prefectural,
            K::Department,
            Some(&area()),
        )
        .await
        .expect("register a department");
        let name = format!("agencies/{code}/reports/2024");
        c.submit(ops, &name, Some(long_report(&code)), 0, &format!("s-{i}"))
            .await
            .expect("submit");
        c.approve(ops, &name, 1, &format!("a-{i}"))
            .await
            .expect("approve");
    }
    let request = pb::ExportReportsRequest {
        area: format!("agencies/{}", area()),
        data_year: 2024,
    };
    let reader = format!("Bearer {}", p.token("reader"));
    let (rss_before, threads_before) = rss_and_threads(pid);

    // 200 exports at once, on two connections, none of them read.
    let mut first = RawConn::connect(server.addr, WINDOW).await;
    let mut second = RawConn::connect(server.addr, WINDOW).await;
    let mut calls = Vec::new();
    for i in 0..OPENED {
        let conn = if i % 2 == 0 { &mut first } else { &mut second };
        calls.push((
            i % 2,
            conn.call(EXPORT, Some(&reader), Some(frame(&request)))
                .await,
        ));
    }
    let mut open = Vec::new();
    let mut exhausted = 0;
    for (conn, call) in calls {
        match call.reply().await {
            (RawReply::Open(stream), request_side) => open.push((conn, stream, request_side)),
            (RawReply::Status { code, message }, _) => {
                assert_eq!(code, Code::ResourceExhausted, "{message}");
                assert!(message.contains("overloaded"), "{message}");
                exhausted += 1;
            }
        }
    }
    assert_eq!(
        (open.len(), exhausted),
        (LIMIT, OPENED - LIMIT),
        "exports admitted and refused under a limit of {LIMIT}"
    );
    // Each held stream got its whole window and can get no more: the server
    // has sent all it can, and holds the rest back.
    for (_, stream, _) in &mut open {
        assert_eq!(
            read_without_release(stream, WINDOW as usize).await,
            WINDOW as usize
        );
    }
    let (rss_held, threads_held) = rss_and_threads(pid);
    eprintln!(
        "server: {rss_before} KiB, {threads_before} threads before; \
         {rss_held} KiB, {threads_held} threads with {LIMIT} unread exports held \
         and {exhausted} refused"
    );
    assert!(
        rss_held < RSS_BOUND_KIB,
        "RSS {rss_held} KiB with {LIMIT} unread streams"
    );
    assert!(
        rss_held.saturating_sub(rss_before) < RSS_GROWTH_BOUND_KIB,
        "RSS grew from {rss_before} to {rss_held} KiB with {LIMIT} unread streams"
    );
    assert!(threads_held < THREAD_BOUND, "{threads_held} threads");

    // The clients cancel: on the first connection each stream alone
    // (RST_STREAM), the second connection as a whole.
    open.retain(|(conn, _, _)| *conn == 1);
    drop(second);
    open.clear();

    // New calls are admitted again: once the server has seen the
    // cancellations, all 16 slots at once, each export complete.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut fresh = RawConn::connect(server.addr, WINDOW).await;
    let streams = loop {
        let mut calls = Vec::new();
        for _ in 0..LIMIT {
            calls.push(
                fresh
                    .call(EXPORT, Some(&reader), Some(frame(&request)))
                    .await,
            );
        }
        let mut streams = Vec::new();
        for call in calls {
            if let (RawReply::Open(s), _) = call.reply().await {
                streams.push(s);
            }
        }
        if streams.len() == LIMIT {
            break streams;
        }
        assert!(
            Instant::now() < deadline,
            "after the clients cancelled, only {} of {LIMIT} slots came back",
            streams.len()
        );
        drop(streams);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut sizes = Vec::new();
    for s in streams {
        let (code, _, bytes) = finish(s).await;
        assert_eq!(code, Code::Ok);
        sizes.push(bytes);
    }
    assert!(
        sizes
            .iter()
            .all(|&b| b == sizes[0] && b > AGENCIES * 60_000),
        "every export complete: {sizes:?}"
    );
    let mut exported = c
        .area
        .export_reports(authed(Some(p.token("reader")), request.clone()))
        .await
        .expect("an export after the cancellations")
        .into_inner();
    let mut n = 0;
    while exported.message().await.expect("a message").is_some() {
        n += 1;
    }
    assert_eq!(n, AGENCIES);
    let (rss_after, threads_after) = rss_and_threads(pid);
    eprintln!("server after the cancellations: {rss_after} KiB, {threads_after} threads");
    assert!(rss_after < RSS_BOUND_KIB, "RSS {rss_after} KiB after");
    assert!(
        threads_after < THREAD_BOUND,
        "{threads_after} threads after"
    );
}
