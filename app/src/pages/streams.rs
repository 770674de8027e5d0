//! `/streams`: the hub's own numbers, live, built with the same hook as the dashboard.

use leptos::prelude::*;
use leptos_live::{StreamStats, use_channel, use_channel_events};

use crate::{
    components::{ConnectionBadge, fixed},
    events::{ServerTime, channels},
};

/// Events per second between the two newest stats samples.
pub fn events_per_second(recent: &[StreamStats]) -> Option<f64> {
    let [.., before, now] = recent else {
        return None;
    };
    let seconds = now.at_ms.checked_sub(before.at_ms)? as f64 / 1000.0;
    (seconds > 0.0).then(|| now.published.saturating_sub(before.published) as f64 / seconds)
}

/// `HH:MM:SS` (UTC) of a Unix time in milliseconds.
pub fn clock_text(at_ms: u64) -> String {
    let seconds = at_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The README's "Add your own stream" example: the server's clock, from the `clock` channel.
#[component]
pub fn ServerClock() -> impl IntoView {
    let time = use_channel::<ServerTime>(channels::CLOCK);
    view! {
        <div class="card stat">
            <span class="muted">"Server time (UTC)"</span>
            <strong data-testid="server-time">
                {move || time.latest.get().map_or_else(|| "—".to_string(), |t| clock_text(t.at_ms))}
            </strong>
        </div>
    }
}

/// The whole page is one island: all of it is live.
#[island]
pub fn Streams() -> impl IntoView {
    // The two newest samples: the rate is the difference between them.
    let samples = RwSignal::new(Vec::<StreamStats>::new());
    use_channel_events::<StreamStats>(channels::STATS, move |stats| {
        samples.update(|s| {
            s.push(stats);
            if s.len() > 2 {
                s.remove(0);
            }
        })
    });
    let latest = move || samples.with(|s| s.last().cloned().unwrap_or_default());
    let rate = move || {
        samples
            .with(|s| events_per_second(s))
            .map_or_else(|| "—".to_string(), |r| fixed(r, 1, false))
    };
    let subscribers = move || {
        let rows: Vec<(String, u64)> = latest().subscribers.into_iter().collect();
        rows
    };
    let number = |label: &'static str, value: Signal<String>, id: &'static str| {
        view! {
            <div class="card stat">
                <span class="muted">{label}</span>
                <strong data-testid=id>{value}</strong>
            </div>
        }
    };
    view! {
        <section class="page">
            <div class="page-head">
                <div>
                    <h1>"Streams"</h1>
                    <p class="lede">"What the hub is doing, published every second on the stats channel."</p>
                </div>
                <ConnectionBadge/>
            </div>
            <div class="grid stats">
                {number("Connections", Signal::derive(move || latest().connections.to_string()), "stat-connections")}
                {number("Active channels", Signal::derive(move || latest().channels.to_string()), "stat-channels")}
                {number("Events / s", Signal::derive(rate), "stat-rate")}
                {number("Published", Signal::derive(move || latest().published.to_string()), "stat-published")}
                {number("Replayed", Signal::derive(move || latest().replayed.to_string()), "stat-replayed")}
                {number("Resynced", Signal::derive(move || latest().resynced.to_string()), "stat-resynced")}
                <ServerClock/>
            </div>
            <section class="card">
                <h2>"Subscribers per channel"</h2>
                <table>
                    <thead><tr><th>"Channel"</th><th class="num">"Subscribers"</th></tr></thead>
                    <tbody>
                        // Read-only rows, rebuilt in place: no keyed diff needed.
                        {move || {
                            subscribers()
                                .into_iter()
                                .map(|(channel, count)| {
                                    view! {
                                        <tr data-testid="subscriber-row">
                                            <td>{channel}</td>
                                            <td class="num">{count}</td>
                                        </tr>
                                    }
                                        .into_any()
                                })
                                .collect::<Vec<_>>()
                        }}
                    </tbody>
                </table>
            </section>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at_ms: u64, published: u64) -> StreamStats {
        StreamStats {
            at_ms,
            published,
            ..Default::default()
        }
    }

    /// Times print as zero-padded UTC clock time.
    #[test]
    fn clock_text_is_utc_hh_mm_ss() {
        assert_eq!(clock_text(0), "00:00:00");
        assert_eq!(clock_text(1_700_000_123_456), "22:15:23");
    }

    /// The rate comes from the two newest samples; too few or out of order gives none.
    #[test]
    fn rate_from_the_two_newest_samples() {
        assert_eq!(events_per_second(&[]), None);
        assert_eq!(events_per_second(&[at(0, 0)]), None);
        assert_eq!(
            events_per_second(&[at(0, 0), at(1000, 0), at(3000, 50)]),
            Some(25.0)
        );
        assert_eq!(events_per_second(&[at(2000, 0), at(1000, 5)]), None);
    }
}
