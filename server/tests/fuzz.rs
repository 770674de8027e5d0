//! Fuzzing the parsers and the frame encoder with generated input (proptest): the cursor, channel
//! names and lists, registry patterns, event names, trusted-proxy lists and `X-Forwarded-For`,
//! and SSE frames read back by an independent parser (`eventsource-stream`).
//!
//! `./x test` runs a short bounded pass (`FUZZ_CASES`, default 2,000 per property). A longer
//! run: `FUZZ_CASES=1000000 cargo test --release -p server --test fuzz`. A failure is shrunk
//! to a minimal input and saved in `tests/fuzz.proptest-regressions`, which every later run
//! replays first: commit that file with the fix.

use std::{convert::Infallible, net::IpAddr, sync::Arc, time::Duration};

use axum::http::{HeaderMap, HeaderValue};
use eventsource_stream::Eventsource;
use futures_util::{FutureExt, StreamExt, stream};
use leptos_live::{
    cursor::is_channel_name,
    hub::{
        Cursor, Frame, Registry, Settings, Stored, channel_list, is_valid_event_name,
        registry::{owner, public},
    },
    sse::wire::{Shape, encode},
};
use proptest::prelude::*;
use server::{
    client::{TrustedProxies, client_addr},
    feeds,
};

fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    ProptestConfig::with_cases(cases)
}

/// Text that hits the parsers' edges: separators, line breaks, NUL, digits, long runs.
fn edgy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:=,/_ \\-]{0,40}",
        "[a-z]{1,3}:([a-z/]{1,12}=[0-9]{1,20},?){0,4}",
        "[\r\n\0:= ,a-z\u{feff}\u{2028}é]{0,30}",
        any::<String>(),
    ]
}

/// Parses SSE bytes, delivered in two chunks split at `split`, with an independent parser.
fn parse(bytes: &[u8], split: usize) -> Vec<eventsource_stream::Event> {
    let split = split.min(bytes.len());
    let chunks = vec![
        Ok::<_, Infallible>(bytes[..split].to_vec()),
        Ok(bytes[split..].to_vec()),
    ];
    stream::iter(chunks)
        .eventsource()
        .map(|event| event.expect("well-formed"))
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("an in-memory stream is always ready")
}

proptest! {
    #![proptest_config(config())]

    /// Any text is a cursor or an error, never a panic; what parses prints back to the same
    /// cursor.
    #[test]
    fn cursors_parse_or_refuse(text in edgy()) {
        if let Ok(Some(cursor)) = Cursor::parse(&text) {
            prop_assert_eq!(Cursor::parse(&cursor.to_string()).unwrap(), Some(cursor));
        }
    }

    /// A channel list parses within the limit, without duplicates or empty names, or is refused.
    #[test]
    fn channel_lists_stay_within_the_limit(text in edgy(), limit in 1usize..20) {
        if let Ok(names) = channel_list(&text, limit) {
            prop_assert!(!names.is_empty() && names.len() <= limit);
            for (i, name) in names.iter().enumerate() {
                prop_assert!(!name.is_empty() && !names[..i].contains(name));
            }
        }
    }

    /// Registering any pattern and resolving any name (in an empty registry and in the app's)
    /// is an answer, never a panic; a name that resolves is a valid channel name.
    #[test]
    fn patterns_and_names_never_panic(pattern in edgy(), name in edgy()) {
        let mut registry = Registry::default();
        let _ = registry.register(&pattern, Settings::default(), public());
        if registry.resolve(&name).is_some() {
            prop_assert!(is_channel_name(&name));
        }
        let mut app = feeds::registry(Duration::from_secs(1));
        // And a per-user channel, as an app would add one.
        app.register("users/:id/inbox", Settings::default(), owner("id")).unwrap();
        if app.resolve(&name).is_some() {
            prop_assert!(is_channel_name(&name));
        }
    }

    /// Any valid event name and any data, framed by us and read by an independent parser split
    /// anywhere, arrive as sent (line breaks as LF), with the event's own cursor as the id.
    #[test]
    fn frames_read_back_exactly(
        name in "[^\\p{Cc}]{1,20}",
        data in edgy(),
        id in 1u64..u64::MAX,
        split in 0usize..200,
        multiplexed in any::<bool>(),
    ) {
        prop_assume!(is_valid_event_name(&name));
        let event = Arc::new(Stored::new(
            id,
            "users/a/notifications".into(),
            name.as_str().into(),
            data.as_str().into(),
            Box::new([]),
        ));
        let (shape, cursor) = if multiplexed {
            (Shape::Multiplexed, Some(format!("ep:prices=1,users/a/notifications={id}")))
        } else {
            (Shape::Single, None)
        };
        let bytes = encode(Frame::Event { event: event.clone(), cursor: cursor.clone() }, shape, "ep");
        let events = parse(&bytes, split);
        prop_assert_eq!(events.len(), 1);
        prop_assert_eq!(&events[0].event, &name);
        let id_text = cursor.unwrap_or(format!("ep:users/a/notifications={id}"));
        prop_assert_eq!(&events[0].id, &id_text);
        let sent = match shape {
            Shape::Single => data.clone(),
            Shape::Multiplexed => event.wrapped().to_string(),
        };
        prop_assert_eq!(&events[0].data, &sent.replace("\r\n", "\n").replace('\r', "\n"));
    }

    /// Trusted-proxy lists parse or name the bad entry; any `X-Forwarded-For` gives an address
    /// without panicking, and an untrusted peer's header is never believed.
    #[test]
    fn forwarded_for_never_panics(list in edgy(), header in edgy(), peer in any::<IpAddr>()) {
        let trusted = list.parse::<TrustedProxies>().unwrap_or_default();
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&header) {
            headers.insert("x-forwarded-for", value);
        }
        let addr = client_addr(peer, &headers, &trusted);
        if !trusted.contains(peer) {
            let canonical = match peer {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
                v4 => v4,
            };
            prop_assert_eq!(addr, canonical);
        }
    }
}
