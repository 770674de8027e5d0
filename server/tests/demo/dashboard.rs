//! What the dashboard shows beyond prices and orders, over real HTTP: who is watching (counts
//! for anyone, names for the signed in only, across instances through a real Redis), the KPIs
//! moving with the order book, and the chart's history and the KPIs in the server-rendered
//! page before any script runs.

use crate::support as common;

use std::time::Duration;

use app::{
    demo::events::{Kpis, Snapshot},
    events::Watching,
};
use axum_extra::extract::cookie::Key;
use common::{
    EventResult, Opened, RedisServer, instance_config, next_event, open, place_order, signed_in,
    spawn_app, spawn_app_with,
};
use futures_util::Stream;
use reqwest::StatusCode;

const COUNTS: &str = "/api/stream?channels=presence/prices,prices";
const NAMES: &str = "/api/stream?channels=presence/prices/people,prices";

/// Reads `events` until a `name` event's data satisfies `want` (15 s at most).
async fn until<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    events: &mut (impl Stream<Item = EventResult> + Unpin),
    name: &str,
    want: impl Fn(&T) -> bool,
) -> T {
    let mut last = None;
    let read = async {
        loop {
            let event = next_event(events).await;
            if event.event != name {
                continue;
            }
            // The multiplexed stream's envelope: `{"channel": …, "data": …}`.
            let envelope: serde_json::Value =
                serde_json::from_str(&event.data).expect("event json");
            let value: T = serde_json::from_value(envelope["data"].clone()).expect("event data");
            if want(&value) {
                return value;
            }
            last = Some(value);
        }
    };
    match tokio::time::timeout(Duration::from_secs(15), read).await {
        Ok(value) => value,
        Err(_) => panic!("no {name} event as wanted; the last one: {last:?}"),
    }
}

async fn presence(stream: &mut Opened, want: impl Fn(&Watching) -> bool) -> Watching {
    until(&mut stream.events, "presence", want).await
}

/// Anyone sees how many watch; a signed-in user also sees who among the signed in; an
/// anonymous client asking for the names is refused; leaving shows.
#[tokio::test]
async fn presence_counts_for_anyone_names_for_the_signed_in() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    let alice = signed_in(&app, "alice").await;
    let refused = anonymous.get(app.url(NAMES)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let unknown = anonymous
        .get(app.url("/api/stream?channels=presence/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        StatusCode::NOT_FOUND,
        "only watched channels"
    );

    let mut guest = open(&app, &anonymous, COUNTS, None).await;
    let mut named = open(&app, &alice, NAMES, None).await;
    let seen = presence(&mut named, |w| w.streams == 2).await;
    assert_eq!(
        seen,
        Watching {
            streams: 2,
            guests: 1,
            people: vec!["alice".into()],
            more: 0
        }
    );
    let counted = presence(&mut guest, |w| w.streams == 2).await;
    assert_eq!(
        counted,
        Watching {
            streams: 2,
            guests: 1,
            people: vec![],
            more: 1
        },
        "no names for a guest"
    );
    drop(named);
    presence(&mut guest, |w| w.streams == 1 && w.more == 0).await;
}

/// Watchers on two instances sharing Redis are counted together, on either.
#[tokio::test]
async fn presence_sums_every_instance() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let a = spawn_app_with(instance_config(&redis, &key)).await;
    let b = spawn_app_with(instance_config(&redis, &key)).await;
    let bob = signed_in(&b, "bob").await;
    let alice = signed_in(&a, "alice").await;
    let mut on_a = open(&a, &alice, NAMES, None).await;
    let _on_b = open(&b, &bob, NAMES, None).await;
    let _guest_on_b = open(&b, &reqwest::Client::new(), COUNTS, None).await;
    let seen = presence(&mut on_a, |w| w.streams == 3).await;
    assert_eq!(seen.people, ["alice", "bob"]);
    assert_eq!(seen.guests, 1);
}

/// Placing an order raises the open orders and orders per minute; filling it makes the fill
/// rate 100 % and the volume its quantity × price.
#[tokio::test]
async fn kpis_follow_the_order_book() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut stream = open(&app, &alice, "/api/stream?channels=kpis", None).await;
    let before = until::<Kpis>(&mut stream.events, "kpis", |_| true).await;
    let order = place_order(&app, &alice, None).await;
    let placed = until::<Kpis>(&mut stream.events, "kpis", |k| k.open > before.open).await;
    assert_eq!(placed.orders_per_min, before.orders_per_min + 1);
    let response = alice
        .patch(app.url(&format!("/api/orders/{}", order.id)))
        .json(&serde_json::json!({"status": "filled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let filled = until::<Kpis>(&mut stream.events, "kpis", |k| k.open == before.open).await;
    assert_eq!(filled.fill_rate, Some(100));
    assert_eq!(filled.volume, before.volume + 10.0 * 101.5);
}

/// The page's snapshot (server-rendered, before any script): every symbol's series from the
/// history, the KPI trend and the watchers; the KPI values are in the HTML itself.
#[tokio::test]
async fn the_page_carries_history_kpis_and_presence() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    let mut stream = open(&app, &anonymous, "/api/stream?channels=kpis", None).await;
    until::<Kpis>(&mut stream.events, "kpis", |_| true).await;
    let _watcher = open(&app, &anonymous, COUNTS, None).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let html = app.get("/").await.text().await.unwrap();
    let json = html
        .split(r#"id="live-snapshot""#)
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split("</script>").next())
        .expect("the snapshot script");
    let snapshot: Snapshot = serde_json::from_str(json).expect("snapshot json");
    assert_eq!(snapshot.prices.len(), 3, "{:?}", snapshot.prices);
    assert!(snapshot.prices.iter().all(|s| !s.points.is_empty()));
    assert!(!snapshot.kpis.is_empty());
    assert!(snapshot.watching.streams >= 1, "{:?}", snapshot.watching);
    assert!(snapshot.watching.people.is_empty(), "no names for a guest");
    assert_eq!(html.matches(r#"data-testid="kpi-value""#).count(), 4);
    let open_orders = snapshot.kpis.last().unwrap().open.to_string();
    let open_kpi = html
        .split(r#"data-kpi="open""#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_default();
    assert!(
        open_kpi.ends_with(&format!(">{open_orders}")),
        "the open orders are in the HTML: {open_kpi}"
    );
}
