//! `LOG_FORMAT=json` on the real binary: every line is one JSON object, and a request's id is in
//! its response and in its log lines; a trusted proxy's id is kept, anyone else's is not.

mod common;

use std::time::{Duration, Instant};

use common::Binary;
use serde_json::Value;

/// Lines received within `wait` after the last one, parsed; panics on a line that is not JSON.
fn json_lines(
    lines: &std::sync::mpsc::Receiver<String>,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    let mut parsed = Vec::new();
    while started.elapsed() < Duration::from_secs(20) {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => parsed.push(
                serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}")),
            ),
            Err(_) if until(&parsed) => return parsed,
            Err(_) => {}
        }
    }
    panic!("the expected log lines never came: {parsed:#?}");
}

/// With `LOG_FORMAT=json` every line parses as JSON; a request's generated id comes back in
/// `X-Request-Id` and names the span of its log lines; an `X-Request-Id` from a client that is
/// not a trusted proxy is replaced.
#[tokio::test]
async fn json_lines_carry_the_request_id() {
    let (server, lines) =
        Binary::start_logged(&[("LOG_FORMAT", "json"), ("RUST_LOG", "info,server=debug")]);
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/api/stats", server.base))
        .header("x-request-id", "forged-by-client")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(id, "forged-by-client", "only a trusted proxy's id is kept");
    assert_eq!(id.len(), 16, "{id}");
    let stream = http
        .get(format!("{}/api/stream?channels=clock", server.base))
        .send()
        .await
        .unwrap();
    let stream_id = stream.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let opened = |line: &Value| {
        line["span"]["id"] == stream_id.as_str() && line["fields"]["message"] == "stream opened"
    };
    let mine = |line: &Value| line["span"]["id"] == id.as_str();
    let parsed = json_lines(&lines, |parsed| {
        parsed.iter().any(mine) && parsed.iter().any(opened)
    });
    // The stream's lines name its connection and route.
    let stream_line = parsed.iter().find(|l| opened(l)).unwrap();
    assert_eq!(stream_line["span"]["route"], "/api/stream");
    assert!(
        stream_line["span"]["connection"]
            .as_str()
            .unwrap()
            .starts_with('c')
    );
    drop(stream);
    let answered = parsed.iter().find(|l| mine(l)).unwrap();
    assert_eq!(answered["span"]["route"], "/api/stats");
    assert_eq!(answered["fields"]["message"], "answered");
    assert_eq!(answered["fields"]["status"], 200);
    assert!(answered["level"].is_string() && answered["timestamp"].is_string());
    drop(server);
}

/// Behind a trusted proxy, its `X-Request-Id` is the request's id.
#[tokio::test]
async fn a_trusted_proxys_request_id_is_kept() {
    let server = Binary::start(&[("TRUSTED_PROXIES", "127.0.0.1")]);
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "lb-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "lb-42.a");
}
