//! A body that trickles in (headers complete, then a byte at a time) is cut off at the deadline
//! with 408 and an OperationOutcome, and nothing is done.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408_and_changes_nothing() {
    let app = spawn_app_with(|s| s.request_body_timeout = 1).await;
    let before = app.version_count().await;
    let (port, token) = (app.port, app.token.clone());
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let head = format!(
            "POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/fhir+json\r\nContent-Length: 40\r\n\r\n"
        );
        s.write_all(head.as_bytes()).expect("head");
        // A byte every 300 ms: 40 bytes would take 12 s.
        for b in br#"{"resourceType":"Patient","active":true}"#.iter().take(8) {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("the client ran");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"resourceType\":\"OperationOutcome\""),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut off near the deadline"
    );
    assert_eq!(app.version_count().await, before, "nothing was written");
}
