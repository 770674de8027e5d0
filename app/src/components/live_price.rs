//! `LivePrice`: the latest price of the simulated feed, rendered by the server and then kept
//! live by one EventSource on [`PRICES_STREAM`].

use crate::components::StatusBadge;
use crate::events::{LiveEvent, PRICES_STREAM, PriceTick};
use crate::live::{Snapshot, StreamStatus};
use codee::string::JsonSerdeCodec;
use leptos::prelude::*;
use leptos_use_event_source::{
    ReconnectLimit, UseEventSourceOptions, UseEventSourceReturn, use_event_source_with_options,
};

/// How long to wait before reopening a stream that the browser gave up on.
const RECONNECT_INTERVAL_MS: u64 = 1_000;

/// The latest price of `symbol` with its change and a connection badge.
///
/// The first paint comes from the server's [`Snapshot`], so the price is there before any
/// script runs. After hydration `use_event_source` opens the stream (never during SSR: it is
/// inert there) and closes it in its own `on_cleanup` when this component unmounts.
#[component]
pub fn LivePrice(#[prop(into)] symbol: String) -> impl IntoView {
    // On the server this reads the snapshot the request was rendered with and writes it into the
    // page; during hydration it is read back from the page, so there is no second request.
    let initial = SharedValue::new(|| {
        use_context::<Snapshot>()
            .and_then(|snapshot| snapshot.prices.into_iter().find(|t| t.symbol == symbol))
    })
    .into_inner();

    let UseEventSourceReturn {
        message,
        ready_state,
        error,
        ..
    } = use_event_source_with_options::<PriceTick, JsonSerdeCodec>(
        PRICES_STREAM.to_string(),
        UseEventSourceOptions::default()
            .named_events([PriceTick::NAME.to_string()])
            // A dashboard on a wall screen should come back by itself, however long it takes.
            .reconnect_limit(ReconnectLimit::Infinite)
            .reconnect_interval(RECONNECT_INTERVAL_MS),
    );

    // The stream carries every symbol; keep the last tick of ours.
    let wanted = symbol.clone();
    let tick = Memo::new(move |previous: Option<&Option<PriceTick>>| {
        message
            .with(|m| {
                m.as_ref()
                    .filter(|m| m.data.symbol == wanted)
                    .map(|m| m.data.clone())
            })
            .or_else(|| previous.cloned().flatten())
            .or_else(|| initial.clone())
    });
    let status = Signal::derive(move || {
        StreamStatus::from_ready_state(ready_state.get(), error.with(Option::is_some))
    });

    let price = move || {
        tick.with(|t| match t {
            Some(t) => format!("{:.2}", t.price),
            None => "—".to_string(),
        })
    };
    let change = move || tick.with(|t| t.as_ref().map(|t| t.change).unwrap_or(0.0));
    let direction = move || match change() {
        c if c > 0.0 => "up",
        c if c < 0.0 => "down",
        _ => "flat",
    };

    view! {
        <section class="card live-price" data-stream=PRICES_STREAM>
            <header class="card-header">
                <h2>
                    <span class="symbol" data-testid="symbol">{symbol}</span>
                </h2>
                <StatusBadge status/>
            </header>
            <p class="price" data-testid="price" data-direction=direction>
                {price}
            </p>
            <p class="change" data-direction=direction>
                {move || format!("{:+.2}", change())}
                <span class="muted">" since last tick"</span>
            </p>
        </section>
    }
}
