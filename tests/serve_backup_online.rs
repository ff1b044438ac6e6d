//! Backing up a running server (issue 7): sled lets no second process open
//! the live store, so `gongkai backup --server URL` asks the server, which
//! writes the file into its --backup-dir while it keeps serving. Only an
//! admin may; a server without --backup-dir refuses; the file restores into
//! a store whose audit chain verifies. Issue 13: backups named by the caller
//! are kept up to --backup-keep-named, the oldest removed first, apart from
//! the server-named ones.

mod common;

use common::serve::{
    ADMIN, Principals, SUBMITTER, authed, county, credentials_file, gongkai_command, spawn_in,
    spawn_serve,
};
use gongkai_proto::v1 as pb;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_named_backups_are_kept_up_to_their_own_number() {
    let principals = Principals::new(&[("ops", "*", ADMIN)]);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let backups = tmp.path().join("backups");
    let server = spawn_in(
        tmp.path(),
        &principals,
        &["--backup-dir", backups.to_str().expect("UTF-8 path")],
        &[("GONGKAI_BACKUP_KEEP_NAMED", "2")],
    );
    let mut c = server.clients().await;
    let ops = principals.token("ops");
    let backup = |name: &str| {
        let mut admin = c.admin.clone();
        let request = authed(
            Some(ops),
            pb::BackupStoreRequest {
                file_name: name.to_owned(),
            },
        );
        async move {
            admin
                .backup_store(request)
                .await
                .expect("a backup")
                .into_inner()
        }
    };
    // A server-named one, and a file that is not a backup: neither counts.
    let server_named = backup("").await;
    std::fs::write(backups.join("README"), "not a backup").expect("a file of the operator's");
    // Names in the order they are made, should two files share a
    // modification time (the tie is broken by name).
    assert!(backup("a-first.backup").await.removed.is_empty());
    assert!(backup("b-second.backup").await.removed.is_empty());
    assert_eq!(backup("c-third.backup").await.removed, ["a-first.backup"]);
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .expect("the backup directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    left.sort();
    let server_file = std::path::Path::new(&server_named.path)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name")
        .to_owned();
    let mut expected = vec![
        "README".to_owned(),
        "b-second.backup".to_owned(),
        "c-third.backup".to_owned(),
        server_file,
    ];
    expected.sort();
    assert_eq!(left, expected);
    drop(c.health().await);
}
