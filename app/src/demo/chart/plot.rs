//! The chart's geometry and markup, plain code with unit tests: which points a window shows,
//! where they go in a `width` × [`HEIGHT`] box, round price levels, "… ago" time ticks, the
//! point nearest the pointer or the next one for a key, and the SVG for all of it.

use crate::components::{ago, fixed};
use crate::demo::events::PricePoint;

/// The chart's height in CSS pixels (fixed: nothing moves when it hydrates).
pub const HEIGHT: f64 = 240.0;
/// Room for the price labels on the right, the time labels below.
const RIGHT: f64 = 64.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 12.0;
/// Room a time label needs ("10 min ago" at the axis's type size), right-aligned at its tick.
const LABEL_WIDTH: f64 = 64.0;

/// What the SVG draws for a window of points.
#[derive(Debug, Default, PartialEq)]
pub struct Plot {
    /// The line's path (`M x,y L x,y …`), empty with fewer than two points.
    pub line: String,
    /// Horizontal grid lines: their y and price label.
    pub prices: Vec<(f64, String)>,
    /// Time ticks: their x and label (`now`, `1 min ago`, …).
    pub times: Vec<(f64, String)>,
    /// The last point: x, y.
    pub last: Option<(f64, f64)>,
    /// The crosshair's x, when a point is picked.
    pub crosshair: Option<f64>,
}

/// The index of the first point of `points` (oldest first) within `window_ms` of the newest.
fn first_shown(points: &[PricePoint], window_ms: u64) -> usize {
    let end = points.last().map_or(0, |p| p.0);
    points.partition_point(|p| p.0 < end.saturating_sub(window_ms))
}

/// The smallest step of 1, 2 or 5 times a power of ten that splits `span` in at most four.
fn round_step(span: f64) -> f64 {
    let rough = span / 4.0;
    let mut power = 0.01;
    loop {
        for step in [power, power * 2.0, power * 5.0] {
            if step >= rough {
                return step;
            }
        }
        power *= 10.0;
    }
}

/// The x of time `at` in a window of `window_ms` ending at `end`.
fn x_of(at: u64, end: u64, window_ms: u64, width: f64) -> f64 {
    let start = end.saturating_sub(window_ms);
    at.saturating_sub(start) as f64 / window_ms.max(1) as f64 * (width - RIGHT).max(1.0)
}

/// Lays `points` (oldest first) out in a `width` × [`HEIGHT`] box for the last `window_ms`,
/// with the crosshair on the point stamped `picked` (0: none).
pub fn plot(points: &[PricePoint], window_ms: u64, width: f64, picked: u64) -> Plot {
    let shown = &points[first_shown(points, window_ms)..];
    let Some(&PricePoint(end, _)) = shown.last() else {
        return Plot::default();
    };
    let (low, high) = shown.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let step = round_step(high - low);
    // Round numbers around the prices, with room above and below the line.
    let bottom = (low / step).floor() * step;
    let top = ((high / step).ceil() * step).max(bottom + step);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |at: u64| x_of(at, end, window_ms, width);
    let y = |price: f64| TOP + (top - price) / (top - bottom) * plot_height;
    let mut line = String::new();
    if shown.len() >= 2 {
        for (i, p) in shown.iter().enumerate() {
            line.push(if i == 0 { 'M' } else { 'L' });
            line.push_str(&px(x(p.0)));
            line.push(',');
            line.push_str(&px(y(p.1)));
        }
    }
    let mut prices = Vec::new();
    let mut level = bottom;
    while level <= top + step / 2.0 {
        prices.push((y(level), fixed(level, 2, false)));
        level += step;
    }
    let tick_ms = match window_ms {
        ..=60_000 => 15_000,
        60_001..=300_000 => 60_000,
        _ => 300_000,
    };
    // From `now` leftwards; a label that would run into the one to its right, or off the
    // left edge, is left out (a phone shows every other one).
    let mut times: Vec<(f64, String)> = Vec::new();
    for back in (0..=window_ms / tick_ms).map(|k| k * tick_ms) {
        let at = x(end - back.min(end));
        let room = times.last().map_or(f64::MAX, |(right, _)| right - at);
        if back < window_ms && room >= LABEL_WIDTH && at >= LABEL_WIDTH {
            times.push((at, ago(back)));
        }
    }
    let crosshair = shown.iter().find(|p| p.0 == picked).map(|p| x(p.0));
    Plot {
        line,
        prices,
        times,
        last: Some((x(end), y(shown[shown.len() - 1].1))),
        crosshair,
    }
}

/// The time of the shown point nearest to `x` pixels from the plot's left edge.
pub fn nearest(points: &[PricePoint], window_ms: u64, width: f64, x: f64) -> Option<u64> {
    let end = points.last()?.0;
    let plot_width = (width - RIGHT).max(1.0);
    let at = end.saturating_sub(window_ms)
        + (x.clamp(0.0, plot_width) / plot_width * window_ms as f64) as u64;
    points[first_shown(points, window_ms)..]
        .iter()
        .map(|p| p.0)
        .min_by_key(|t| t.abs_diff(at))
}

/// The time of the point a `key` moves the crosshair to from the point stamped `picked` (0
/// or gone: from the newest): one to the left or right, the first or the last shown. `None`
/// for any other key.
pub fn step(points: &[PricePoint], window_ms: u64, picked: u64, key: &str) -> Option<u64> {
    let first = first_shown(points, window_ms);
    let last = points.len().checked_sub(1)?;
    let now = points
        .iter()
        .position(|p| p.0 == picked)
        .unwrap_or(last)
        .clamp(first, last);
    let next = match key {
        "ArrowLeft" => now.saturating_sub(1).max(first),
        "ArrowRight" => (now + 1).min(last),
        "Home" => first,
        "End" => last,
        _ => return None,
    };
    Some(points[next].0)
}

fn px(value: f64) -> String {
    fixed(value, 1, false)
}

/// The chart as SVG markup: numbers and fixed words only, nothing a user typed, so it can go
/// in as markup, and one string is far less wasm than a reactive node per line and label.
/// Classes only (the page's policy refuses `style` attributes).
pub fn svg(plot: &Plot, width: f64) -> String {
    let right = px(width - RIGHT);
    let mut out = format!(
        r#"<svg viewBox="0 0 {} {}" height="{}" aria-hidden="true">"#,
        width as u32, HEIGHT as u32, HEIGHT as u32
    );
    let label_x = px(width - RIGHT + 6.0);
    for (y, label) in &plot.prices {
        // The label's baseline a little below its line.
        let (line_y, text_y) = (px(*y), px(*y + 4.0));
        out.push_str(&format!(
            r#"<line class="grid" x1="0" x2="{right}" y1="{line_y}" y2="{line_y}"/><text class="axis" x="{label_x}" y="{text_y}">{label}</text>"#,
        ));
    }
    let time_y = px(HEIGHT - 6.0);
    for (x, label) in &plot.times {
        out.push_str(&format!(
            r#"<text class="axis time" x="{}" y="{time_y}">{label}</text>"#,
            px(*x),
        ));
    }
    if plot.line.is_empty() {
        out.push_str(&format!(
            r#"<text class="empty" x="12" y="{}">Waiting for prices…</text>"#,
            px(HEIGHT / 2.0)
        ));
    }
    out.push_str(&format!(r#"<path class="line" d="{}"/>"#, plot.line));
    if let Some((x, y)) = plot.last {
        out.push_str(&format!(
            r#"<circle class="last" cx="{}" cy="{}" r="4"/>"#,
            px(x),
            px(y)
        ));
    }
    if let Some(x) = plot.crosshair {
        let x = px(x);
        out.push_str(&format!(
            r#"<line class="crosshair" x1="{x}" x2="{x}" y1="{}" y2="{}"/>"#,
            px(TOP),
            px(HEIGHT - BOTTOM)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u64, every_ms: u64) -> Vec<PricePoint> {
        (0..n)
            .map(|i| PricePoint(1_000_000 + i * every_ms, 100.0 + (i % 7) as f64))
            .collect()
    }

    /// Only the window is drawn, from the left edge to the plot's right edge; round price
    /// levels enclose the line; the time ticks read back from now.
    #[test]
    fn plots_the_window_on_round_numbers() {
        let points = line(200, 1_000);
        let plot = plot(&points, 60_000, 664.0, 0);
        // The window's first point sits on its left edge, the newest on the right.
        assert_eq!(first_shown(&points, 60_000), 139);
        assert!(plot.line.starts_with("M0.0,"), "{}", &plot.line[..20]);
        assert_eq!(plot.line.matches('L').count(), 60);
        assert_eq!(plot.last.unwrap().0, 600.0);
        assert_eq!(plot.crosshair, None);
        let labels: Vec<&str> = plot.prices.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["100.00", "102.00", "104.00", "106.00"]);
        let ys: Vec<f64> = plot.prices.iter().map(|(y, _)| *y).collect();
        assert_eq!(ys.first(), Some(&(HEIGHT - BOTTOM)));
        assert_eq!(ys.last(), Some(&TOP));
        let times: Vec<&str> = plot.times.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(times, ["now", "15 s ago", "30 s ago", "45 s ago"]);
        let minutes = super::plot(&line(200, 5_000), 15 * 60_000, 664.0, 0);
        let times: Vec<&str> = minutes.times.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(times, ["now", "5 min ago", "10 min ago"]);
        // A phone's 300 px: every other label, none off the left edge.
        let narrow = super::plot(&line(400, 1_000), 5 * 60_000, 300.0, 0);
        let times: Vec<&str> = narrow.times.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(times, ["now", "2 min ago"]);
        assert!(
            narrow
                .times
                .windows(2)
                .all(|w| w[0].0 - w[1].0 >= LABEL_WIDTH)
        );
    }

    /// The crosshair stands on the picked point when it is shown, nowhere otherwise.
    #[test]
    fn the_crosshair_follows_the_picked_point() {
        let points = line(200, 1_000);
        let picked = points[169].0;
        assert_eq!(plot(&points, 60_000, 664.0, picked).crosshair, Some(300.0));
        let outside = points[10].0;
        assert_eq!(plot(&points, 60_000, 664.0, outside).crosshair, None);
    }

    /// Nothing to draw is nothing drawn; one point is a marker without a line; a flat line
    /// still has a price band.
    #[test]
    fn few_or_flat_points() {
        assert_eq!(plot(&[], 60_000, 640.0, 0), Plot::default());
        let one = plot(&[PricePoint(5, 10.0)], 60_000, 640.0, 0);
        assert!(one.line.is_empty() && one.last.is_some());
        let flat = plot(
            &[PricePoint(0, 10.0), PricePoint(1_000, 10.0)],
            60_000,
            640.0,
            0,
        );
        assert!(flat.prices.len() >= 2, "{:?}", flat.prices);
        assert!(!flat.line.contains("NaN"));
    }

    /// The crosshair takes the shown point nearest the pointer, never one outside the window.
    #[test]
    fn nearest_point_under_the_pointer() {
        let points = line(200, 1_000);
        let at = |i: usize| Some(points[i].0);
        assert_eq!(nearest(&points, 60_000, 664.0, 600.0), at(199));
        assert_eq!(nearest(&points, 60_000, 664.0, 0.0), at(139));
        assert_eq!(nearest(&points, 60_000, 664.0, -50.0), at(139));
        assert_eq!(nearest(&points, 60_000, 664.0, 300.0), at(169));
        assert_eq!(nearest(&[], 60_000, 664.0, 10.0), None);
    }

    /// Keys move the crosshair point by point within the window; it starts from the newest.
    #[test]
    fn keys_step_along_the_line() {
        let points = line(200, 1_000);
        let at = |i: usize| Some(points[i].0);
        assert_eq!(step(&points, 60_000, 0, "ArrowLeft"), at(198));
        assert_eq!(step(&points, 60_000, points[150].0, "ArrowRight"), at(151));
        assert_eq!(step(&points, 60_000, points[139].0, "ArrowLeft"), at(139));
        assert_eq!(step(&points, 60_000, points[199].0, "ArrowRight"), at(199));
        assert_eq!(step(&points, 60_000, points[150].0, "Home"), at(139));
        assert_eq!(step(&points, 60_000, points[150].0, "End"), at(199));
        assert_eq!(step(&points, 60_000, 0, "a"), None);
        assert_eq!(step(&[], 60_000, 0, "End"), None);
    }

    /// The markup holds every grid line, label, the line and the last price, and the
    /// crosshair only when there is one; numbers only, nothing that needs escaping.
    #[test]
    fn the_svg_draws_the_plot() {
        let points = line(200, 1_000);
        let mut plot = plot(&points, 60_000, 664.0, 0);
        let markup = svg(&plot, 664.0);
        assert!(
            markup.starts_with(r#"<svg viewBox="0 0 664 240" height="240""#),
            "{markup}"
        );
        assert_eq!(markup.matches(r#"class="grid""#).count(), plot.prices.len());
        assert_eq!(
            markup.matches("<text").count(),
            plot.prices.len() + plot.times.len()
        );
        assert!(markup.contains(&format!(r#"d="{}""#, plot.line)));
        assert!(markup.contains(r#"class="last" cx="600.0""#));
        assert!(!markup.contains("crosshair"));
        assert!(!markup.contains("Waiting"));
        assert!(svg(&Plot::default(), 664.0).contains("Waiting for prices…"));
        plot.crosshair = Some(12.0);
        assert!(svg(&plot, 664.0).contains(r#"class="crosshair" x1="12.0""#));
        assert!(!markup.contains("style"));
    }

    /// Price levels fall on 1, 2 or 5 times a power of ten, at most four bands apart.
    #[test]
    fn round_steps() {
        assert_eq!(round_step(6.0), 2.0);
        assert_eq!(round_step(0.3), 0.1);
        assert_eq!(round_step(0.0), 0.01);
        assert_eq!(round_step(45.0), 20.0);
    }
}
