//! A tiny SVG line chart; no chart library needed.

use crate::components::fixed;

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 56.0;
/// `0 0 WIDTH HEIGHT`, written out: formatting the floats would pull float `Display` into the wasm.
const VIEW_BOX: &str = "0 0 240 56";

/// The polyline points for `values` scaled into the viewBox (flat line when all are equal).
pub fn points(values: &[f64]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = if max > min { max - min } else { 1.0 };
    let step = WIDTH / (values.len() - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = i as f64 * step;
            // Two pixels of margin so the stroke is not clipped.
            let y = 2.0 + (HEIGHT - 4.0) * (1.0 - (v - min) / span);
            format!("{},{}", fixed(x, 1, false), fixed(y, 1, false))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sparkline of `values` as SVG markup (numbers only: safe for `inner_html`). Markup
/// rather than a component: one string costs less wasm than a reactive SVG node.
pub fn sparkline(values: &[f64]) -> String {
    format!(
        r#"<svg class="sparkline" viewBox="{VIEW_BOX}" preserveAspectRatio="none" aria-hidden="true"><polyline points="{}"></polyline></svg>"#,
        points(values)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extremes touch the margins; fewer than two values draw nothing.
    #[test]
    fn scales_into_the_box() {
        assert_eq!(points(&[1.0]), "");
        assert_eq!(points(&[1.0, 3.0]), "0.0,54.0 240.0,2.0");
        assert_eq!(points(&[5.0, 5.0, 5.0]), "0.0,54.0 120.0,54.0 240.0,54.0");
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
        assert!(sparkline(&[1.0, 3.0]).contains(r#"points="0.0,54.0 240.0,2.0""#));
    }
}
