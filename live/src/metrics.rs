//! Prometheus metrics: one registry per hub ([`Hub::metrics`](crate::hub::Hub::metrics)),
//! rendered in the Prometheus text format for an app's `/metrics` route
//! ([`Hub::render_metrics`](crate::hub::Hub::render_metrics)).
//!
//! The registry is the hub's own, never the process-global recorder of the `metrics` crate: two
//! hubs in one process (two apps, or parallel tests) count apart, and nothing is recorded
//! before an app asks for it. The hub's gauges and most of its counters (`leptos_live_*`) are
//! read from the counters it keeps anyway ([`Stats`](crate::hub::Stats)) at render time: the
//! fan-out path pays one relaxed increment per delivery, a publish two clock reads for its
//! histogram.
//!
//! An app adds its own metrics to the same registry; take the handle once and keep it (each
//! call looks the series up):
//!
//! ```
//! # use std::sync::Arc;
//! # use leptos_live::hub::{Hub, Limits, Registry, memory::Memory};
//! let hub = Hub::new(Registry::default(), Arc::new(Memory::new()), Limits::default());
//! let sent = hub.metrics().counter(
//!     "app_emails_sent_total",
//!     "Emails sent, by outcome.",
//!     &[("outcome", "ok")],
//! );
//! sent.increment(2);
//! assert!(hub.render_metrics().contains("app_emails_sent_total{outcome=\"ok\"} 2"));
//! ```
//!
//! Label values must come from a small fixed set (an outcome, a channel *pattern*, a route
//! template), never from a client (a channel or user name): every distinct set of labels is a
//! series the registry keeps for good.

use std::sync::Arc;

pub use metrics::{Counter, Gauge, Histogram};
use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Upper bounds of the buckets of every histogram whose name ends in `_seconds`: 100 µs to
/// 10 s, about three per decade.
pub const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// What `metrics` wants to know of a registration; the Prometheus recorder ignores it.
static METADATA: Metadata<'static> = Metadata::new("leptos_live", Level::INFO, None);

/// A Prometheus registry: counters, gauges and histograms by name and labels. Cloning it
/// shares it.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let builder = PrometheusBuilder::new();
        // Fails only for an empty list of buckets.
        let builder = builder
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        Self {
            handle: recorder.handle(),
            recorder: Arc::new(recorder),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|&(name, value)| Label::new(name, value.to_string()))
        .collect();
    Key::from_parts(name, labels)
}

impl Metrics {
    /// The counter `name` with `labels` (created at 0 the first time), described by `help`.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Counter {
        let described = KeyName::from_const_str(name);
        (self.recorder).describe_counter(described, None, SharedString::const_str(help));
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    /// The gauge `name` with `labels`, described by `help`.
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Gauge {
        let described = KeyName::from_const_str(name);
        (self.recorder).describe_gauge(described, None, SharedString::const_str(help));
        self.recorder.register_gauge(&key(name, labels), &METADATA)
    }

    /// The histogram `name` with `labels`, described by `help`. A name ending in `_seconds`
    /// gets the [`SECONDS_BUCKETS`]; any other is rendered as a summary.
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Histogram {
        let described = KeyName::from_const_str(name);
        (self.recorder).describe_histogram(described, None, SharedString::const_str(help));
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
    }

    /// Everything in the Prometheus text format (version 0.0.4). Prefer
    /// [`Hub::render_metrics`](crate::hub::Hub::render_metrics), which first brings the
    /// hub's own series up to date.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds the samples histograms took since the last call into their buckets. Rendering
    /// does it too; without either, samples pile up between scrapes: run [`upkeep`] beside
    /// the app so that memory stays bounded when nobody scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// Runs [`Metrics::run_upkeep`] every `every` until `shutdown`.
pub async fn upkeep(
    metrics: Metrics,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => metrics.run_upkeep(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Series of the same name and labels are one; `_seconds` histograms have buckets; help
    /// and type lines are there once per name.
    #[test]
    fn renders_the_text_format() {
        let metrics = Metrics::default();
        metrics
            .counter("x_total", "Xs.", &[("k", "a")])
            .increment(1);
        metrics
            .counter("x_total", "Xs.", &[("k", "a")])
            .increment(2);
        metrics
            .counter("x_total", "Xs.", &[("k", "b")])
            .increment(5);
        metrics.gauge("y", "Y.", &[]).set(7.0);
        metrics.histogram("z_seconds", "Z.", &[]).record(0.003);
        let text = metrics.render();
        assert!(text.contains("x_total{k=\"a\"} 3\n"), "{text}");
        assert!(text.contains("x_total{k=\"b\"} 5\n"), "{text}");
        assert!(text.contains("y 7\n"), "{text}");
        assert!(
            text.contains("z_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("z_seconds_bucket{le=\"0.0025\"} 0\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE x_total counter").count(), 1, "{text}");
        assert_eq!(text.matches("# HELP x_total Xs.").count(), 1, "{text}");
    }

    /// Two registries never share a series (no process-global recorder).
    #[test]
    fn registries_count_apart() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.counter("n_total", "N.", &[]).increment(1);
        assert!(a.render().contains("n_total 1"));
        assert!(!b.render().contains("n_total"));
    }
}
