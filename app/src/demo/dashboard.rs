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
    activity::{Activity, ActivityFeed},
    chart::PriceChart,
    events::{Kpis, Notification, Order, PriceTick, Snapshot, channels, newest_ms},
    fold::{add_notification, push_kpis, push_tick},
    kpis::KpiStrip,
};
use crate::{
    actions::{ActionError, call},
    components::{ConnectionBadge, SessionPanel, WatchingNow},
    events::{
        Watching,
        channels::{presence, presence_people},
    },
};
use leptos_live::StreamStatus;

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
        kpis,
        watching,
    } = snapshot;
    let connection = use_live_connection();

    let series = RwSignal::new(prices);
    use_channel_events::<PriceTick>(channels::PRICES, move |tick| {
        series.update(|s| push_tick(s, &tick));
    });
    let selected = RwSignal::new(
        series.with_untracked(|s| s.first().map(|s| s.symbol.clone()).unwrap_or_default()),
    );
    let kpis = RwSignal::new(kpis);
    use_channel_events::<Kpis>(channels::KPIS, move |now| {
        kpis.update(|k| push_kpis(k, now));
    });
    // Everyone wants the counts, so that a sign-out wants no channel the signed-in page did not
    // (a stream opened meanwhile with both pages' channels would be refused); the signed in
    // take their numbers from the channel with the names.
    let watching = RwSignal::new(watching);
    let signed_in = user.is_some();
    let shown = move |names: bool| {
        move |now: Watching| {
            if names == signed_in {
                watching.set(now);
            }
        }
    };
    use_channel_events::<Watching>(presence(channels::PRICES), shown(false));
    if signed_in {
        use_channel_events::<Watching>(presence_people(channels::PRICES), shown(true));
    }

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
    let jobs = RwSignal::new(Vec::<Activity>::new());
    let on_job = Callback::new(move |text: String| {
        let at_ms = series.with_untracked(|s| newest_ms(s));
        jobs.update(|j| {
            let rank = j.len() as u64;
            j.push(Activity { at_ms, text, rank });
        });
    });
    // The snapshot's symbols (a resync renders the page afresh, with any new one).
    let tiles = series.with_untracked(|s| {
        s.iter()
            .map(|s| view! { <PriceTile symbol=s.symbol.clone() series selected/> })
            .collect::<Vec<_>>()
    });
    // Stale: the stream dropped or was refused after the page's data was read (connecting
    // at first is not: the snapshot is fresh). The banner and the dimming are CSS on this.
    let stale = move || {
        matches!(
            connection.status(),
            StreamStatus::Reconnecting(_) | StreamStatus::Refused(..)
        )
    };

    view! {
        <section
            class="page dashboard"
            data-stream=stream.url.clone()
            data-cursor=stream.cursor.clone()
            data-build=stream.build.clone()
            data-stale=move || stale().to_string()
        >
            <div class="page-head">
                <div>
                    <h1>"Dashboard"</h1>
                    <p class="lede">"Prices, orders and the desk's activity, live."</p>
                </div>
                <div class="head-tools">
                    <WatchingNow watching/>
                    <ConnectionBadge/>
                    {signed_in.then(|| view! { <NotificationBell notifications=notes unread/> })}
                    <SessionPanel user=user.clone() on_change=reload/>
                </div>
            </div>
            <p class="stale" role="status" data-testid="stale">
                "Not live: showing the last data received. It updates again once the stream is back."
            </p>
            <KpiStrip kpis/>
            <div class="grid prices" role="group" aria-label="Symbol on the chart">
                {tiles}
            </div>
            <div class="columns">
                <section class="card chart-card" data-testid="chart-card">
                    <header class="card-header">
                        <h2>{move || selected.get()}</h2>
                    </header>
                    <PriceChart series selected/>
                </section>
                {if signed_in {
                    view! { <ActivityFeed orders jobs series/> }.into_any()
                } else {
                    view! {
                        <div class="card hint" data-testid="sign-in-hint">
                            <h2>"Orders and activity"</h2>
                            <p class="muted">
                                "Sign in as a demo user (top right) to see the order book, place orders and send notifications."
                            </p>
                        </div>
                    }
                        .into_any()
                }}
            </div>
            {signed_in.then(|| {
                view! {
                    <div class="columns">
                        <OrderTable orders user=user.clone().unwrap_or_default()/>
                        <aside class="side">
                            <OrderForm on_placed/>
                            <SendNotificationForm/>
                            <JobDemo on_event=on_job/>
                        </aside>
                    </div>
                }
            })}
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
