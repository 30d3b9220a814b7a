//! The log as an operator's tooling reads it: JSON lines on request, and no colour codes when the
//! output is not a terminal; an unknown format stops start-up.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::gateway::{command, free_port};

/// The first line `serve` logs with `format` (its "serving" line), then the process is stopped.
fn first_line(format: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let env: Vec<(String, String)> = [
        (
            "CAREBRIDGE_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("cb.db").display()),
        ),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{}", free_port())),
        ("CAREBRIDGE_LOG", "info".to_owned()),
        ("CAREBRIDGE_LOG_FORMAT", format.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut child = command(&["serve"], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let out = child.stdout.take().expect("stdout");
    let line = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("carebridge serving"))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn json_logs_are_one_object_a_line_and_text_logs_carry_no_colour_into_a_pipe() {
    let json = first_line("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("a JSON line");
    assert_eq!(v["message"], "carebridge serving", "{json}");
    assert_eq!(v["level"], "INFO");
    let text = first_line("text");
    assert!(text.contains("carebridge serving"), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape codes: {text:?}");
}

#[test]
fn an_unknown_log_format_stops_start_up() {
    let out = command(
        &["serve"],
        &[("CAREBRIDGE_LOG_FORMAT".into(), "xml".into())],
    )
    .output()
    .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CAREBRIDGE_LOG_FORMAT"));
}
