//! `/`: the live dashboard. The server renders it from a [`Snapshot`] (prices, orders, the
//! user's notifications, the stream URL and cursor) into the [`LiveDashboard`] island, which
//! the browser hydrates from the same snapshot (a JSON script beside it): it subscribes from
//! the snapshot's cursor and folds live events into the state. Folding is idempotent (upsert
//! by id, skip what is not newer), so an event that is both in the snapshot and replayed shows
//! once. A `resync`, or a sign-in or sign-out, fetches a fresh snapshot.

use leptos::prelude::*;
use leptos_live::{
    collection::upsert, snapshot, use_channel_events, use_collection, use_live_connection,
};

use super::{
    JobDemo, NotificationBell, OrderForm, OrderTable, PriceTile, SendNotificationForm, Toasts,
    actions::{LiveSnapshot, live_snapshot},
    events::{Notification, Order, PriceTick, Snapshot, channels},
};
use crate::{
    actions::{ActionError, call},
    components::{ConnectionBadge, SessionPanel},
};

/// Ticks kept per symbol for its sparkline.
const SPARKLINE_POINTS: usize = 60;
/// Orders kept in the table.
const ORDERS_SHOWN: usize = 20;
/// How long a toast stays.
#[cfg(feature = "hydrate")]
const TOAST_MS: u64 = 6_000;

/// The page, rendered on the server only (the route is `SsrMode::Async`, so the HTML holds
/// the snapshot even for clients without JavaScript).
#[component]
pub fn Dashboard() -> impl IntoView {
    let snapshot = Resource::new(|| (), |_| live_snapshot());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the dashboard…"</p> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(snapshot) => {
                        view! {
                            {snapshot::embed(SNAPSHOT_ID, snapshot)}
                            <LiveDashboard/>
                        }
                            .into_any()
                    }
                    Err(err) => view! { <Refused err/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The `id` of the `<script type="application/json">` that carries the snapshot to the browser.
const SNAPSHOT_ID: &str = "live-snapshot";

/// The snapshot the island starts from (see `leptos_live::snapshot`).
fn initial_snapshot() -> Result<Snapshot, ActionError> {
    snapshot::read(SNAPSHOT_ID)
        .ok_or_else(|| ActionError::new(500, "the dashboard could not be read; reload the page"))
}

/// The dashboard as it runs in the browser, from the page's snapshot; after a resync or a
/// sign-in or sign-out it fetches a fresh one and renders from that.
#[island]
pub fn LiveDashboard() -> impl IntoView {
    let connection = use_live_connection();
    let state = RwSignal::new(initial_snapshot());
    // Only the newest request's answer is applied, whatever order they come back in.
    let requests = StoredValue::new(0u64);
    let refresh = move || {
        requests.update_value(|n| *n += 1);
        let request = requests.get_value();
        leptos::task::spawn_local(async move {
            let fresh = call(LiveSnapshot {}).await;
            if requests.get_value() == request {
                state.set(fresh);
            }
        });
    };
    // Runs in the browser only: the first run reads the count; each later one is a resync.
    Effect::new(move |seen: Option<u64>| {
        let resyncs = connection.resyncs();
        if seen.is_some() {
            refresh();
        }
        resyncs
    });
    // A sign-in or sign-out here: every tab of this browser refreshes (the cookie is theirs too).
    let reload = Callback::new(move |()| {
        connection.session_changed();
        refresh();
    });
    move || match state.get() {
        Ok(snapshot) => {
            connection.seed(&snapshot.stream);
            view! { <DashboardView snapshot reload/> }.into_any()
        }
        Err(err) => view! { <Refused err/> }.into_any(),
    }
}

#[component]
fn Refused(err: ActionError) -> impl IntoView {
    view! { <p class="error">{err.reason}</p> }
}

#[component]
fn DashboardView(snapshot: Snapshot, reload: Callback<()>) -> impl IntoView {
    let Snapshot {
        user,
        stream,
        prices,
        orders,
        notifications,
    } = snapshot;

    let ticks = RwSignal::new(group_ticks(prices));
    use_channel_events::<PriceTick>(channels::PRICES, move |tick| {
        ticks.update(|t| push_tick(t, tick));
    });

    let orders = if user.is_some() {
        use_collection(channels::ORDERS, orders, ORDERS_SHOWN)
    } else {
        RwSignal::new(orders)
    };
    let notes = RwSignal::new(notifications);
    let unread = RwSignal::new(0usize);
    let toasts = RwSignal::new(Vec::<Notification>::new());
    if let Some(user) = &user {
        use_channel_events::<Notification>(channels::notifications(user), move |note| {
            let mut added = false;
            notes.update(|n| added = add_notification(n, note.clone()));
            if added {
                unread.update(|u| *u += 1);
                show_toast(toasts, note);
            }
        });
    }
    let on_placed = Callback::new(move |order: Order| {
        orders.maybe_update(|o| upsert(o, order, ORDERS_SHOWN));
    });
    let symbols =
        Memo::new(move |_| ticks.with(|t| t.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()));
    let signed_in = user.is_some();

    view! {
        <section
            class="page dashboard"
            data-stream=stream.url.clone()
            data-cursor=stream.cursor.clone()
            data-build=stream.build.clone()
        >
            <div class="page-head">
                <div>
                    <h1>"Dashboard"</h1>
                    <p class="lede">"Live prices, orders and notifications over Server-Sent Events."</p>
                </div>
                <div class="head-tools">
                    <ConnectionBadge/>
                    {signed_in.then(|| view! { <NotificationBell notifications=notes unread/> })}
                    <SessionPanel user=user.clone() on_change=reload/>
                </div>
            </div>
            <div class="grid prices">
                // Rebuilt only when the set of symbols changes (never, in the demo): no keyed
                // diff needed for it.
                {move || {
                    symbols
                        .get()
                        .into_iter()
                        .map(|symbol| {
                            view! {
                                <PriceTile
                                    symbol=symbol.clone()
                                    ticks=Signal::derive(move || {
                                        ticks.with(|t| ticks_of(t, &symbol).to_vec())
                                    })
                                />
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </div>
            {if signed_in {
                view! {
                    <div class="columns">
                        <OrderTable orders user=user.clone().unwrap_or_default()/>
                        <aside class="side">
                            <OrderForm on_placed/>
                            <SendNotificationForm/>
                            <JobDemo/>
                        </aside>
                    </div>
                }
                    .into_any()
            } else {
                view! {
                    <div class="card hint" data-testid="sign-in-hint">
                        <h2>"Orders and notifications"</h2>
                        <p class="muted">
                            "Sign in as a demo user (top right) to see the order book, place orders and send notifications."
                        </p>
                    </div>
                }
                    .into_any()
            }}
            <Toasts toasts/>
            <footer class="muted small">
                "build " {stream.build.clone()} " · stream " {stream.url.clone()} " · channels "
                {stream.channels.join(", ")}
            </footer>
        </section>
    }
    .into_any()
}

fn show_toast(toasts: RwSignal<Vec<Notification>>, note: Notification) {
    let id = note.id;
    toasts.update(|t| t.push(note));
    #[cfg(feature = "hydrate")]
    set_timeout(
        move || toasts.update(|t| t.retain(|n| n.id != id)),
        std::time::Duration::from_millis(TOAST_MS),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Ticks per symbol, by symbol; a handful of symbols: a sorted list is enough, and smaller in
/// the wasm than a map.
type Ticks = Vec<(String, Vec<PriceTick>)>;

/// `symbol`'s ticks, oldest first.
fn ticks_of<'a>(grouped: &'a Ticks, symbol: &str) -> &'a [PriceTick] {
    grouped
        .iter()
        .find(|(s, _)| s == symbol)
        .map_or(&[], |(_, ticks)| ticks)
}

/// Ticks per symbol, oldest first, at most [`SPARKLINE_POINTS`] each.
fn group_ticks(ticks: Vec<PriceTick>) -> Ticks {
    let mut grouped = Ticks::new();
    for tick in ticks {
        push_tick(&mut grouped, tick);
    }
    grouped
}

/// Appends `tick` unless its symbol holds it already (a replayed duplicate). Ticks arrive in
/// the channel's order; their `at_ms` is the publishing instance's clock, which may be behind
/// the last leader's, so it orders nothing.
fn push_tick(grouped: &mut Ticks, tick: PriceTick) {
    let at = match grouped.binary_search_by(|(symbol, _)| symbol.as_str().cmp(&tick.symbol)) {
        Ok(at) => at,
        Err(at) => {
            grouped.insert(at, (tick.symbol.clone(), Vec::new()));
            at
        }
    };
    let ticks = &mut grouped[at].1;
    if ticks.contains(&tick) {
        return;
    }
    ticks.push(tick);
    if ticks.len() > SPARKLINE_POINTS {
        ticks.remove(0);
    }
}

/// Adds `note` unless it is already there; says whether it was new.
fn add_notification(notes: &mut Vec<Notification>, note: Notification) -> bool {
    if notes.iter().any(|n| n.id == note.id) {
        return false;
    }
    notes.push(note);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(symbol: &str, at_ms: u64) -> PriceTick {
        PriceTick {
            symbol: symbol.into(),
            price: at_ms as f64,
            change: 0.0,
            at_ms,
        }
    }

    /// A feed that moved to an instance whose clock is behind: its ticks still show.
    #[test]
    fn ticks_from_a_clock_behind_are_shown() {
        let mut grouped = group_ticks(vec![tick("A", 5_000)]);
        push_tick(&mut grouped, tick("A", 1_000));
        assert_eq!(ticks_of(&grouped, "A").last().unwrap().at_ms, 1_000);
    }

    /// A tick seen twice (snapshot and replay) is kept once; the window is bounded.
    #[test]
    fn ticks_are_idempotent_and_bounded() {
        let mut grouped = group_ticks(vec![tick("A", 1), tick("B", 1), tick("A", 2)]);
        push_tick(&mut grouped, tick("A", 2));
        push_tick(&mut grouped, tick("A", 1));
        assert_eq!(ticks_of(&grouped, "A").len(), 2);
        assert_eq!(ticks_of(&grouped, "B").len(), 1);
        for at in 3..200 {
            push_tick(&mut grouped, tick("A", at));
        }
        assert_eq!(ticks_of(&grouped, "A").len(), SPARKLINE_POINTS);
        assert_eq!(ticks_of(&grouped, "A").last().unwrap().at_ms, 199);
        push_tick(&mut grouped, tick("0", 1));
        let symbols: Vec<&str> = grouped.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(symbols, ["0", "A", "B"]);
    }

    /// A notification seen twice is added once.
    #[test]
    fn notifications_dedupe_by_id() {
        let note = Notification {
            id: 7,
            from: "a".into(),
            to: "b".into(),
            title: "t".into(),
            body: String::new(),
            at_ms: 0,
        };
        let mut notes = vec![];
        assert!(add_notification(&mut notes, note.clone()));
        assert!(!add_notification(&mut notes, note));
        assert_eq!(notes.len(), 1);
    }
}
