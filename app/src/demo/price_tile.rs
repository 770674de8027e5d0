//! One symbol's price: the latest value and its change. A button: it puts its symbol on the
//! chart.

use leptos::prelude::*;

use super::events::{PricePoint, PriceSeries};
use crate::components::fixed;

#[component]
pub fn PriceTile(
    symbol: String,
    /// Every symbol's prices, oldest first.
    series: RwSignal<Vec<PriceSeries>>,
    /// The symbol on the chart.
    selected: RwSignal<String>,
) -> impl IntoView {
    let last = {
        let symbol = symbol.clone();
        move || last_two(series, &symbol)
    };
    let change = {
        let last = last.clone();
        move || match last() {
            (Some(before), Some(now)) => now.1 - before.1,
            _ => 0.0,
        }
    };
    let direction = {
        let change = change.clone();
        move || match change() {
            c if c > 0.0 => "up",
            c if c < 0.0 => "down",
            _ => "flat",
        }
    };
    let pressed = {
        let symbol = symbol.clone();
        move || selected.with(|s| *s == symbol).to_string()
    };
    let pick = symbol.clone();
    let shown = symbol.clone();
    view! {
        <button
            class="card price-tile"
            data-testid="price-tile"
            data-symbol=symbol.clone()
            data-direction=direction
            aria-pressed=pressed
            on:click=move |_| selected.set(pick.clone())
        >
            <span class="card-header">
                <span class="symbol" data-testid="symbol">{shown}</span>
                <span class="change">
                    {move || fixed(change(), 2, true)}
                </span>
            </span>
            <span class="price" data-testid="price" aria-live="polite" aria-atomic="true">
                {move || last().1.map(|p| fixed(p.1, 2, false)).unwrap_or_else(|| "—".into())}
            </span>
        </button>
    }
    .into_any()
}

/// `symbol`'s last two points, oldest first.
fn last_two(
    series: RwSignal<Vec<PriceSeries>>,
    symbol: &str,
) -> (Option<PricePoint>, Option<PricePoint>) {
    series.with(|s| {
        let points = s
            .iter()
            .find(|s| s.symbol == symbol)
            .map_or(&[][..], |s| &s.points);
        match points {
            [.., a, b] => (Some(*a), Some(*b)),
            [b] => (None, Some(*b)),
            [] => (None, None),
        }
    })
}
