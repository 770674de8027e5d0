//! SSE framing as a standard parser sees it: the web-platform-tests `eventsource/format-*`
//! cases that concern what a server sends, and a property test that round-trips 100,000
//! generated strings (CR, LF, CRLF, NUL, BOM, non-ASCII, …) through our frames and an
//! independent parser with zero mismatches.

use crate::support as common;

use std::time::Duration;

use app::demo::events::channels;
use common::{next_event, open, place_order, signed_in, spawn_app};
use futures_util::StreamExt;
use leptos_live::{LiveEvent, cursor::is_token, hub::HubError};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Payload {
    text: String,
}

impl LiveEvent for Payload {
    const NAME: &'static str = "payload";
}

/// An event type whose name would break the framing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BadName;

impl LiveEvent for BadName {
    const NAME: &'static str = "bad\r\nevent: forged";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NulName;

impl LiveEvent for NulName {
    const NAME: &'static str = "nul\0name";
}

/// Pieces the generator draws from: line endings, NUL, BOM, field syntax, non-ASCII.
const PIECES: &[&str] = &[
    "\r", "\n", "\r\n", "\n\r", "\0", "\u{feff}", " ", ":", "data:", "id:", "event:", "retry:",
    "\t", "\"", "\\", "\u{1}", "\u{7f}", "\u{85}", "\u{2028}", "é", "€", "😀", "日本", "a", "b",
    "z", "0", "9", "{", "}",
];

fn generate(rng: &mut SmallRng) -> String {
    let len = rng.random_range(0..24);
    (0..len)
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

/// SSE's one lossy step: a line break in data (CR, LF or CRLF) arrives as LF.
fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// 100,000 generated raw strings (not JSON: CR, LF, CRLF, NUL and field syntax reach the frame
/// encoder as they are, which serde's escaping would hide) published on a channel arrive,
/// decoded by `eventsource-stream`, exactly as sent up to SSE's line-break normalisation, and
/// in order; every id is a cursor of plain tokens (never NUL, CR or LF).
#[tokio::test]
async fn generated_strings_round_trip_through_frames_and_parser() {
    const TOTAL: usize = 100_000;
    // Below the channel's live ring (128 for notifications, see `memory::live_capacity`), so
    // the reader never lags between batches.
    const BATCH: usize = 100;

    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let channel = channels::notifications("alice");
    let mut stream = open(&app, &alice, "/api/notifications/stream", None).await;
    let mut rng = SmallRng::seed_from_u64(0x5EED);
    let mut mismatches = 0;
    let mut sent = 0;
    while sent < TOTAL {
        let batch: Vec<String> = (0..BATCH).map(|_| generate(&mut rng)).collect();
        for text in &batch {
            app.state
                .hub
                .publish_json(&channel, "payload", text.clone())
                .await
                .unwrap();
        }
        for text in &batch {
            let event = next_event(&mut stream.events).await;
            assert_eq!(event.event, "payload");
            let (epoch, positions) = event.id.split_once(':').expect("cursor");
            assert!(is_token(epoch));
            assert!(
                positions.split(['=', ',', '/']).all(is_token),
                "{:?}",
                event.id
            );
            if event.data != normalized(text) {
                mismatches += 1;
                eprintln!("mismatch: sent {text:?}, got {:?}", event.data);
            }
        }
        sent += BATCH;
    }
    println!("{sent} generated strings round-tripped, {mismatches} mismatches");
    assert_eq!(mismatches, 0);
}

/// Event names that would break framing are errors from `publish`, never a panic, and nothing
/// reaches subscribers.
#[tokio::test]
async fn bad_event_names_are_errors_not_panics() {
    let app = spawn_app().await;
    let channel = channels::notifications("alice");
    let err = app.state.hub.publish(&channel, &BadName).await.unwrap_err();
    assert!(matches!(err, HubError::InvalidEventName(_)), "{err}");
    let err = app.state.hub.publish(&channel, &NulName).await.unwrap_err();
    assert!(matches!(err, HubError::InvalidEventName(_)), "{err}");
    let err = app
        .state
        .hub
        .publish("no/such/channel", &Payload { text: "x".into() })
        .await;
    assert!(matches!(err, Err(HubError::UnknownChannel(_))));
    assert!(app.stats().await.published > 0, "prices still flow");
}

/// The raw bytes a client receives: no BOM (format-bom), `retry:` in digits
/// (format-field-retry), `text/event-stream` (format-mime-valid), one space after each colon
/// (format-leading-space), comments as heartbeats (format-comments).
#[tokio::test]
async fn raw_frames_follow_the_format() {
    let app = spawn_app().await;
    let response = app.get("/api/prices/stream").await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut raw = Vec::new();
    while !String::from_utf8_lossy(&raw).contains("event: price\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        raw.extend_from_slice(&chunk);
    }
    assert!(!raw.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let text = String::from_utf8(raw).expect("UTF-8 (format-utf-8)");
    assert!(
        text.starts_with("retry: 1000\nevent: hello\ndata: {"),
        "{text:?}"
    );
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(':'))
    {
        let (field, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
        assert!(
            ["retry", "event", "id", "data"].contains(&field),
            "{line:?}"
        );
        assert!(!value.contains('\0'), "{line:?}");
    }
}

/// Names with a colon (`order:created`) arrive whole (format-field-event).
#[tokio::test]
async fn event_names_with_colons_arrive_whole() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut orders = open(&app, &alice, "/api/orders/stream", None).await;
    place_order(&app, &alice, None).await;
    assert_eq!(next_event(&mut orders.events).await.event, "order:created");
}
