//! One symbol's price: the latest value, its change and a sparkline of recent ticks.

use leptos::prelude::*;

use super::Sparkline;
use crate::components::fixed;
use crate::demo::events::PriceTick;

#[component]
pub fn PriceTile(
    #[prop(into)] symbol: String,
    /// Recent ticks of this symbol, oldest first.
    #[prop(into)]
    ticks: Signal<Vec<PriceTick>>,
) -> impl IntoView {
    let latest = move || ticks.with(|t| t.last().cloned());
    let change = move || latest().map(|t| t.change).unwrap_or(0.0);
    let direction = move || match change() {
        c if c > 0.0 => "up",
        c if c < 0.0 => "down",
        _ => "flat",
    };
    let values = Signal::derive(move || ticks.with(|t| t.iter().map(|t| t.price).collect()));
    let label = symbol.clone();
    view! {
        <section class="card price-tile" data-testid="price-tile" data-symbol=symbol.clone()>
            <header class="card-header">
                <h2 data-testid="symbol">{label}</h2>
                <span class="change" data-direction=direction>
                    {move || fixed(change(), 2, true)}
                </span>
            </header>
            <p class="price" data-testid="price" data-direction=direction aria-live="polite" aria-atomic="true">
                {move || latest().map(|t| fixed(t.price, 2, false)).unwrap_or_else(|| "—".into())}
            </p>
            <Sparkline values/>
        </section>
    }
    .into_any()
}
