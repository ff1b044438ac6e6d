//! Backing up a running server (issue 7): sled lets no second process open
//! the live store, so `gongkai backup --server URL` asks the server, which
//! writes the file into its --backup-dir while it keeps serving. Only an
//! admin may; a server without --backup-dir refuses; the file restores into
//! a store whose audit chain verifies.

mod common;

use common::serve::{
    ADMIN, Principals, SUBMITTER, county, credentials_file, gongkai_command, spawn_serve,
};
use std::process::Output;

fn run(args: &[&str]) -> Output {
    gongkai_command(args, &[]).output().expect("gongkai runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_through_the_running_server_restores_and_verifies() {
    let principals = Principals::new(&[("ops", "*", ADMIN), ("county", &county(), SUBMITTER)]);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let creds = credentials_file(tmp.path(), &principals);
    let data = tmp.path().join("data");
    let backups = tmp.path().join("backups");
    let (ops_token, county_token) = (
        tmp.path().join("ops.token"),
        tmp.path().join("county.token"),
    );
    std::fs::write(&ops_token, principals.token("ops")).expect("token file");
    std::fs::write(&county_token, principals.token("county")).expect("token file");
    let p = |p: &std::path::Path| p.to_str().expect("UTF-8 path").to_owned();

    let server = spawn_serve(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--credentials",
            &p(&creds),
            "--data",
            &p(&data),
            "--backup-dir",
            &p(&backups),
        ],
        &[],
    );
    let url = format!("http://{}", server.addr);
    server
        .clients()
        .await
        .register_tree(principals.token("ops"), false)
        .await;

    // An admin's token: the server writes the named file and says so.
    let out = run(&[
        "backup",
        "--server",
        &url,
        "--token-file",
        &p(&ops_token),
        "nightly.backup",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = backups.join("nightly.backup");
    assert!(
        text(&out.stdout).starts_with(&format!("backup written by {url} to {}:", file.display())),
        "{}",
        text(&out.stdout)
    );
    assert!(file.is_file(), "the backup file exists");

    // The same name again is refused, not overwritten.
    let out = run(&[
        "backup",
        "--server",
        &url,
        "--token-file",
        &p(&ops_token),
        "nightly.backup",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("AlreadyExists"),
        "{}",
        text(&out.stderr)
    );

    // A path instead of a file name is refused.
    let out = run(&[
        "backup",
        "--server",
        &url,
        "--token-file",
        &p(&ops_token),
        "../escape.backup",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("InvalidArgument"),
        "{}",
        text(&out.stderr)
    );
    assert!(!tmp.path().join("escape.backup").exists());

    // A submitter may not.
    let out = run(&[
        "backup",
        "--server",
        &url,
        "--token-file",
        &p(&county_token),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PermissionDenied"),
        "{}",
        text(&out.stderr)
    );

    // The server kept serving throughout; the backup restores and verifies.
    let restored = tmp.path().join("restored");
    let out = run(&["restore", &p(&file), "--data", &p(&restored)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&["verify", "--data", &p(&restored)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "audit chain verified: 4 events, 4 records",
        "the four registrations"
    );
    drop(server);

    // A server without --backup-dir refuses with FAILED_PRECONDITION.
    let bare = spawn_serve(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--credentials",
            &p(&creds),
            "--data",
            &p(&tmp.path().join("data2")),
        ],
        &[],
    );
    let out = run(&[
        "backup",
        "--server",
        &format!("http://{}", bare.addr),
        "--token-file",
        &p(&ops_token),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("FailedPrecondition")
            && text(&out.stderr).contains("--backup-dir"),
        "{}",
        text(&out.stderr)
    );
}
