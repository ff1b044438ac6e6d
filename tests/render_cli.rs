//! `gongkai render FILE --to markdown|html`: a published report in any
//! layout, or API JSON from `gongkai import`, printed in the official layout;
//! what it prints reads back to the same report.

mod common;

use common::{gongkai, sample_path, stderr, stdout, temp_file};

#[test]
fn renders_a_published_report_and_reads_back_the_same() {
    let sample = gongkai_document::import(common::sample().as_bytes())
        .expect("sample")
        .report;
    for (to, start) in [
        ("markdown", "# 宝清县人民政府\n"),
        ("html", "<!DOCTYPE html>\n"),
    ] {
        let out = gongkai(
            &["render", sample_path().to_str().unwrap(), "--to", to],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with(start), "{to}: {text}");
        let back = gongkai_document::import(text.as_bytes())
            .expect("reads back")
            .report;
        assert_eq!(back, sample, "{to}");
    }
}

#[test]
fn renders_api_json_from_gongkai_import() {
    let json = gongkai(&["import", sample_path().to_str().unwrap()], None);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let out = gongkai(&["render", "-", "--to", "markdown"], Some(&json.stdout));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let direct = gongkai(
        &[
            "render",
            sample_path().to_str().unwrap(),
            "--to",
            "markdown",
        ],
        None,
    );
    assert_eq!(stdout(&out), stdout(&direct));
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let junk = temp_file("junk.bin", b"\x7fELF\x02\x01\xff\xfe\xff");
    let out = gongkai(&["render", junk.arg(), "--to", "html"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.bin"), "{}", stderr(&out));
    let bad_json = temp_file("bad.json", "{\"formatVersion\": 7, \"nonsense\": 1}");
    let out = gongkai(&["render", bad_json.arg(), "--to", "markdown"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
    let out = gongkai(
        &["render", sample_path().to_str().unwrap(), "--to", "pdf"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

/// `gongkai ARGS` fed `first`, then the byte `fill` without end: it must
/// stop reading, refuse the input and exit on its own (within a minute).
fn fed_without_end(args: &[&str], first: &[u8], fill: u8) -> std::process::Output {
    use std::{
        io::Write,
        process::{Command, Stdio},
        time::{Duration, Instant},
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongkai");
    let mut stdin = child.stdin.take().expect("stdin");
    let first = first.to_vec();
    let writer = std::thread::spawn(move || -> u64 {
        let chunk = vec![fill; 1 << 16];
        let mut written = 0u64;
        if stdin.write_all(&first).is_err() {
            return written;
        }
        written += first.len() as u64;
        // Until gongkai closes its end (a broken pipe).
        while stdin.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        written
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gongkai {args:?} still reading an endless stdin after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let written = writer.join().expect("writer thread");
    let max = gongkai_document::MAX_DOCUMENT_BYTES as u64;
    assert!(written > max, "only {written} bytes were offered");
    child.wait_with_output().expect("output")
}

#[test]
fn oversized_stdin_is_refused_without_reading_it_all() {
    let max = gongkai_document::MAX_DOCUMENT_BYTES;
    // A published report that never ends, and API JSON that never ends.
    for (first, fill) in [
        (common::sample().into_bytes(), b'\n'),
        (b"{".to_vec(), b' '),
    ] {
        for args in [
            &["render", "-", "--to", "html"][..],
            &["render", "-", "--to", "markdown"],
            &["import", "-"],
            &["check", "-"],
        ] {
            let out = fed_without_end(args, &first, fill);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("gongkai: <stdin>: ")
                    && err.contains(&format!("more than the {max} bytes accepted")),
                "{args:?}: the refusal names stdin and the limit: {err}"
            );
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            if args[0] != "check" {
                assert_eq!(stdout(&out), "", "{args:?}: nothing rendered");
            }
        }
    }
}

#[test]
fn an_oversized_file_is_refused_naming_it() {
    let max = gongkai_document::MAX_DOCUMENT_BYTES;
    let big = temp_file("big.md", vec![b'\n'; max + 1]);
    let out = gongkai(&["render", big.arg(), "--to", "markdown"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("big.md") && err.contains(&format!("more than the {max} bytes accepted")),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
}
