//! The hub's own Prometheus series (`leptos_live_*`), brought up to date from its counters
//! when rendered: [`Hub::render_metrics`]. Labels are bounded: a refusal's reason, a channel's
//! *pattern*, never a channel or user name.

use super::{Hub, HubError, Refused};

/// Why a stream was not opened: the `reason` of `leptos_live_streams_refused_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its limit of streams (503).
    LimitTotal,
    /// The client's address holds its limit (429).
    LimitAddress,
    /// The user holds their limit (429).
    LimitUser,
    /// No such channel, or not one this user may know of (404).
    UnknownChannel,
    /// The channel needs a signed-in user (401).
    SignInRequired,
    /// The user may not subscribe to it (403).
    Forbidden,
    /// No channels, too many, or a malformed cursor (400).
    BadRequest,
    /// The backend cannot serve, or the server is shutting down (503).
    Unavailable,
}

impl Refusal {
    pub const ALL: [Refusal; 8] = [
        Refusal::LimitTotal,
        Refusal::LimitAddress,
        Refusal::LimitUser,
        Refusal::UnknownChannel,
        Refusal::SignInRequired,
        Refusal::Forbidden,
        Refusal::BadRequest,
        Refusal::Unavailable,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::LimitTotal => "limit_total",
            Refusal::LimitAddress => "limit_address",
            Refusal::LimitUser => "limit_user",
            Refusal::UnknownChannel => "unknown_channel",
            Refusal::SignInRequired => "sign_in_required",
            Refusal::Forbidden => "forbidden",
            Refusal::BadRequest => "bad_request",
            Refusal::Unavailable => "unavailable",
        }
    }
}

impl From<Refused> for Refusal {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Total { .. } => Refusal::LimitTotal,
            Refused::Address { .. } => Refusal::LimitAddress,
            Refused::User { .. } => Refusal::LimitUser,
        }
    }
}

impl From<&HubError> for Refusal {
    fn from(err: &HubError) -> Self {
        match err {
            HubError::UnknownChannel(_) => Refusal::UnknownChannel,
            HubError::SignInRequired(_) => Refusal::SignInRequired,
            HubError::Forbidden(_) => Refusal::Forbidden,
            HubError::NoChannels | HubError::TooManyChannels { .. } => Refusal::BadRequest,
            HubError::Refused(refused) => Refusal::from(*refused),
            _ => Refusal::Unavailable,
        }
    }
}

impl Hub {
    /// Every series of [`Hub::metrics`] in the Prometheus text format, the hub's own brought
    /// up to date first: what an app's `/metrics` route answers.
    pub fn render_metrics(&self) -> String {
        let m = &self.metrics;
        let stats = self.stats.snapshot();
        let totals = self.stats.totals();
        m.gauge("leptos_live_streams_open", "Open event streams.", &[])
            .set(stats.connections as f64);
        m.gauge(
            "leptos_live_channels_open",
            "Channels with at least one subscriber on this instance.",
            &[],
        )
        .set(stats.channels as f64);
        // Every pattern, so that one whose last subscriber left reads 0, not its old value.
        for pattern in self.registry.patterns() {
            let open = stats.subscribers.get(pattern).copied().unwrap_or(0);
            m.gauge(
                "leptos_live_subscriptions_open",
                "Channel subscriptions of open streams, by channel pattern.",
                &[("pattern", pattern)],
            )
            .set(open as f64);
        }
        let counters = [
            (
                "leptos_live_streams_accepted_total",
                "Event streams opened.",
                totals.accepted,
            ),
            (
                "leptos_live_events_published_total",
                "Events published through this instance.",
                totals.published,
            ),
            (
                "leptos_live_events_delivered_total",
                "Live events framed for a stream (one per event and subscriber).",
                totals.delivered,
            ),
            (
                "leptos_live_events_replayed_total",
                "Missed events replayed to reconnecting streams.",
                totals.replayed,
            ),
            (
                "leptos_live_resyncs_total",
                "Resyncs sent: a stream's cursor was too old, or it fell behind its channel's ring.",
                totals.resynced,
            ),
            (
                "leptos_live_events_skipped_total",
                "Events slow streams lost to their channel's ring (each followed by a resync).",
                totals.skipped,
            ),
        ];
        for (name, help, value) in counters {
            m.counter(name, help, &[]).absolute(value);
        }
        for (why, value) in totals.refused {
            m.counter(
                "leptos_live_streams_refused_total",
                "Event streams refused, by reason.",
                &[("reason", why.as_str())],
            )
            .absolute(value);
        }
        m.gauge(
            "leptos_live_backend_up",
            "1 while the hub's backend serves (its store reachable), else 0.",
            &[],
        )
        .set(if self.degraded().is_some() { 0.0 } else { 1.0 });
        if let Some(link) = self.backend.link() {
            m.counter(
                "leptos_live_backend_relinks_total",
                "Times the backend's pub/sub link was lost (each then relinked with backoff).",
                &[],
            )
            .absolute(link.relinks);
            m.counter(
                "leptos_live_backend_gaps_total",
                "Channels that could not recover what they missed while the link was down (each resyncs).",
                &[],
            )
            .absolute(link.gaps);
        }
        m.render()
    }
}
