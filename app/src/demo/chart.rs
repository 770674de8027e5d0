//! The price chart: one symbol over a window of 1, 5 or 15 minutes, from the page's snapshot
//! (the channel's history) and then every tick. Hand-written SVG ([`plot`]): a time axis with
//! "… ago" labels (no time zone to get wrong between server and browser), a price axis on
//! round numbers, the last price marked, and a crosshair that follows the pointer or the arrow
//! keys and says the price under it and how long ago it was.
//!
//! The SVG is laid out in CSS pixels at the width the browser gives it (measured on hydration
//! and again when the pointer moves over it), so its text stays legible on a phone. State is
//! three numbers (window, width, the picked point's time) read beside the page's series, with
//! no copies and no memos: each is a few kilobytes of wasm per type.

mod plot;

use leptos::prelude::*;

use super::events::{PricePoint, PriceSeries};
use crate::components::{ago, fixed};
use plot::{nearest, step, svg};

/// The windows the chart offers, in minutes.
pub const WINDOWS: [u64; 3] = [1, 5, 15];
/// The width drawn before the browser says how wide the chart is.
const DEFAULT_WIDTH: u64 = 640;

/// Calls `f` with the selected symbol and its points (oldest first), tracking both.
fn with_selected<R>(
    series: RwSignal<Vec<PriceSeries>>,
    selected: RwSignal<String>,
    f: impl FnOnce(&str, &[PricePoint]) -> R,
) -> R {
    selected.with(|symbol| {
        series.with(|s| {
            let points = s.iter().find(|s| s.symbol == *symbol);
            f(symbol, points.map_or(&[], |s| &s.points))
        })
    })
}

/// The chart of the `selected` symbol of `series` (each oldest first, kept current by the
/// page).
#[component]
pub fn PriceChart(series: RwSignal<Vec<PriceSeries>>, selected: RwSignal<String>) -> impl IntoView {
    let minutes = RwSignal::new(5u64);
    let width = RwSignal::new(DEFAULT_WIDTH);
    // The crosshair: the time of the point it stands on; 0 while there is none.
    let picked = RwSignal::new(0u64);
    let figure = NodeRef::<leptos::html::Div>::new();
    let measure = move || {
        #[cfg(feature = "hydrate")]
        if let Some(el) = figure.get_untracked() {
            let w = u64::try_from(el.client_width()).unwrap_or(0);
            if w > 0 && w != width.get_untracked() {
                width.set(w);
            }
        }
    };
    Effect::new(move |_| {
        figure.track();
        measure();
    });
    let window_ms = move || minutes.get() * 60_000;
    let markup = move || {
        let (window, w, at) = (window_ms(), width.get() as f64, picked.get());
        with_selected(series, selected, |_, p| {
            svg(&plot::plot(p, window, w, at), w)
        })
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        let next = match key.as_str() {
            "Escape" => Some(0),
            key => with_selected(series, selected, |_, p| {
                step(p, window_ms(), picked.get_untracked(), key)
            }),
        };
        if let Some(at) = next {
            ev.prevent_default();
            picked.set(at);
        }
    };
    let readout = move || {
        let at = picked.get();
        with_selected(series, selected, |symbol, p| {
            let end = p.last().map_or(0, |p| p.0);
            p.iter()
                .find(|p| p.0 == at)
                .map(|p| format!("{symbol} {} · {}", fixed(p.1, 2, false), ago(end - p.0)))
                .unwrap_or_default()
        })
    };
    let label = move || {
        format!(
            "{} price over the last {} min. Arrow keys move along the line and read each price.",
            selected.get(),
            minutes.get()
        )
    };
    view! {
        <div class="chart-tools" role="group" aria-label="Chart window">
            {WINDOWS
                .map(|m| {
                    view! {
                        <button
                            class="secondary"
                            aria-pressed=move || (minutes.get() == m).to_string()
                            on:click=move |_| {
                                minutes.set(m);
                                picked.set(0);
                            }
                        >
                            {m}
                            " min"
                        </button>
                    }
                })}
        </div>
        <div
            class="chart"
            node_ref=figure
            data-testid="chart"
            tabindex="0"
            role="img"
            aria-label=label
            on:pointermove=move |ev| {
                measure();
                let x = f64::from(ev.offset_x());
                let w = width.get_untracked() as f64;
                let at = with_selected(series, selected, |_, p| nearest(p, window_ms(), w, x));
                picked.set(at.unwrap_or(0));
            }
            on:pointerleave=move |_| picked.set(0)
            on:keydown=on_key
            inner_html=markup
        ></div>
        <p class="readout" aria-live="polite" data-testid="chart-readout">{readout}</p>
    }
}
