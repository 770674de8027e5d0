//! How live events fold into the dashboard's state: ticks into each symbol's series (kept
//! bounded, thinned with age, idempotent under replay), KPIs into their trend,
//! notifications without repeats. Plain functions with unit tests; the island calls them.

use super::events::{Kpis, Notification, PricePoint, PriceSeries, PriceTick};

/// KPIs kept for their trend (the server's `kpis` history: three minutes).
const KPI_TREND: usize = 90;

/// How far back the page keeps prices: the chart's longest window.
const KEEP_MS: u64 = 15 * 60_000;
/// Within this of the newest tick every tick is kept; before it, one every [`SPACING_MS`].
const RECENT_MS: u64 = 60_000;
const SPACING_MS: u64 = 5_000;

/// Adds `tick` to its symbol's series. A tick the series holds already (a replayed one) is
/// left out. Ticks arrive in the channel's order; a tick stamped earlier than the last one (an
/// instance whose clock is behind took over) is drawn just after it, never before. Older
/// points thin out to one every [`SPACING_MS`] past [`RECENT_MS`], and go past [`KEEP_MS`].
pub fn push_tick(series: &mut Vec<PriceSeries>, tick: &PriceTick) {
    let at = match series.iter().position(|s| s.symbol == tick.symbol) {
        Some(at) => at,
        None => {
            series.push(PriceSeries {
                symbol: tick.symbol.clone(),
                points: Vec::new(),
            });
            series.len() - 1
        }
    };
    let points = &mut series[at].points;
    let point = PricePoint(tick.at_ms, tick.price);
    if points.iter().rev().take(8).any(|p| *p == point) {
        return;
    }
    let at_ms = points
        .last()
        .map_or(point.0, |last| point.0.max(last.0 + 1));
    points.push(PricePoint(at_ms, point.1));
    let mut kept_at = 0u64;
    points.retain(|p| {
        let keep = p.0 + KEEP_MS >= at_ms
            && (p.0 + RECENT_MS >= at_ms || p.0 >= kept_at + SPACING_MS || kept_at == 0);
        if keep {
            kept_at = p.0;
        }
        keep
    });
}

/// Adds the newest KPIs, keeping the trend's length.
pub fn push_kpis(kpis: &mut Vec<Kpis>, now: Kpis) {
    if kpis.last() == Some(&now) {
        return;
    }
    kpis.push(now);
    if kpis.len() > KPI_TREND {
        kpis.remove(0);
    }
}

/// Adds `note` unless it is already there; says whether it was new.
pub fn add_notification(notes: &mut Vec<Notification>, note: Notification) -> bool {
    if notes.iter().any(|n| n.id == note.id) {
        return false;
    }
    notes.push(note);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(symbol: &str, at_ms: u64, price: f64) -> PriceTick {
        PriceTick {
            symbol: symbol.into(),
            price,
            change: 0.0,
            at_ms,
        }
    }

    fn times(series: &[PriceSeries], symbol: &str) -> Vec<u64> {
        series
            .iter()
            .find(|s| s.symbol == symbol)
            .map(|s| s.points.iter().map(|p| p.0).collect())
            .unwrap_or_default()
    }

    /// A tick seen twice (snapshot and replay) is kept once; one stamped by a clock behind
    /// still comes after the last.
    #[test]
    fn ticks_are_idempotent_and_in_arrival_order() {
        let mut series = Vec::new();
        push_tick(&mut series, &tick("A", 5_000, 1.0));
        push_tick(&mut series, &tick("A", 5_000, 1.0));
        push_tick(&mut series, &tick("B", 5_000, 2.0));
        push_tick(&mut series, &tick("A", 1_000, 1.5));
        assert_eq!(times(&series, "A"), [5_000, 5_001]);
        assert_eq!(times(&series, "B"), [5_000]);
    }

    /// The last minute keeps every tick, before it one per 5 s, and nothing past 15 minutes.
    #[test]
    fn old_points_thin_out_and_go() {
        let mut series = Vec::new();
        for i in 0..=4_000u64 {
            push_tick(&mut series, &tick("A", i * 500, 1.0 + (i % 2) as f64));
        }
        let kept = times(&series, "A");
        let end = 2_000_000;
        assert_eq!(*kept.last().unwrap(), end);
        assert!(kept[0] + KEEP_MS >= end, "{}", kept[0]);
        let recent = kept.iter().filter(|&&t| t + RECENT_MS >= end).count();
        assert_eq!(recent, 121);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert!(
            kept.len() < 121 + (KEEP_MS / SPACING_MS) as usize + 2,
            "{}",
            kept.len()
        );
    }

    /// KPIs keep their trend's length and skip a repeat.
    #[test]
    fn kpis_keep_their_trend() {
        let mut kpis = Vec::new();
        for at_ms in 0..200 {
            push_kpis(
                &mut kpis,
                Kpis {
                    at_ms,
                    ..Kpis::default()
                },
            );
        }
        push_kpis(
            &mut kpis,
            Kpis {
                at_ms: 199,
                ..Kpis::default()
            },
        );
        assert_eq!(kpis.len(), KPI_TREND);
        assert_eq!(kpis.last().unwrap().at_ms, 199);
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
