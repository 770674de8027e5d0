//! The order table (created rows slide in, updated rows flash) and the form that places orders.

use leptos::prelude::*;

use crate::components::Failure;
use crate::{
    actions::{action, failure},
    components::{escape, fixed},
    demo::{
        actions::{PlaceOrder, SetOrderStatus},
        events::{Order, OrderStatus, Side},
    },
};

/// `orders`, newest first, with fill / cancel buttons on `user`'s own open ones (the server
/// refuses anyone else's with 403 anyway).
///
/// The rows are markup from [`rows`], replaced whole on every change, with one click handler
/// for every button: a keyed list was about 5 KB of brotli wasm for one table. What a keyed
/// list did for the animations, [`rows`] does from the previous render: only rows of orders
/// that are new or changed since then carry the class that animates them.
#[component]
pub fn OrderTable(
    #[prop(into)] orders: Signal<Vec<Order>>,
    #[prop(into)] user: String,
) -> impl IntoView {
    let set_status = action::<SetOrderStatus>();
    let failed = move || failure(set_status);
    let pending = set_status.pending();
    // What the previous render showed: (id, last update) per order. The first render animates
    // nothing (on the server, and the same in the browser as it hydrates).
    let shown = StoredValue::new(orders.with_untracked(|o| versions(o)));
    let markup = move || {
        let busy = pending.get();
        orders.with(|o| {
            let before = shown.get_value();
            shown.set_value(versions(o));
            rows(o, &user, &before, busy)
        })
    };
    // A click on a row's button: `data-order` and `data-action` say which and what.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let button = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("button[data-action]").ok().flatten());
            let Some(button) = button else { return };
            let id = button
                .get_attribute("data-order")
                .and_then(|id| id.parse().ok());
            let status = match button.get_attribute("data-action").as_deref() {
                Some("fill") => OrderStatus::Filled,
                _ => OrderStatus::Cancelled,
            };
            if let Some(id) = id {
                set_status.dispatch(SetOrderStatus { id, status });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <section class="card orders" data-testid="orders">
            <header class="card-header">
                <h2>"Orders"</h2>
                <span class="muted">{move || format!("{} shown", orders.with(Vec::len))}</span>
            </header>
            <Failure reason=Signal::derive(failed)/>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th>"#"</th>
                            <th>"Symbol"</th>
                            <th>"Side"</th>
                            <th class="num">"Qty"</th>
                            <th class="num">"Price"</th>
                            <th>"Status"</th>
                            <th>"By"</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody on:click=on_click inner_html=markup></tbody>
                </table>
                <p class="muted empty" hidden=move || orders.with(|o| !o.is_empty())>
                    "No orders yet."
                </p>
            </div>
        </section>
    }
    .into_any()
}

/// Each order's id and last update.
fn versions(orders: &[Order]) -> Vec<(u64, u64)> {
    orders.iter().map(|o| (o.id, o.updated_at_ms)).collect()
}

/// The table's rows for `orders`: `row-new` on those not in `before` (slides in),
/// `row-updated` on those updated since (flashes); fill and cancel buttons on `user`'s open
/// ones, disabled while a change is `busy`. Every text escaped (owners and symbols are what
/// users typed).
pub fn rows(orders: &[Order], user: &str, before: &[(u64, u64)], busy: bool) -> String {
    let mut out = String::new();
    for order in orders {
        let id = order.id;
        let status = order.status.as_str();
        let side = order.side.as_str();
        let class = match before.iter().find(|(seen, _)| *seen == id) {
            None if !before.is_empty() => "row-new",
            Some((_, at)) if *at != order.updated_at_ms => "row-updated",
            _ => "",
        };
        let buttons = if order.status == OrderStatus::Open && order.owner == user {
            let disabled = if busy { " disabled" } else { "" };
            format!(
                r#"<button data-order="{id}" data-action="fill"{disabled}>Fill</button><button class="secondary" data-order="{id}" data-action="cancel"{disabled}>Cancel</button>"#
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            r#"<tr data-testid="order-row" data-order="{id}" data-status="{status}" class="{class}"><td>{id}</td><td>{}</td><td class="side-{side}">{side}</td><td class="num">{}</td><td class="num">{}</td><td><span class="pill pill-{status}">{status}</span></td><td class="muted">{}</td><td class="actions">{buttons}</td></tr>"#,
            escape(&order.symbol),
            order.quantity,
            fixed(order.price, 2, false),
            escape(&order.owner),
        ));
    }
    out
}

/// A key no other order of this browser has (only the browser makes them).
fn new_key() -> String {
    #[cfg(feature = "hydrate")]
    return format!("{:x}", (web_sys::js_sys::Math::random() * 9e15) as u64);
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Places an order; shows the server's reason when it is refused.
#[component]
pub fn OrderForm(on_placed: Callback<Order>) -> impl IntoView {
    let place = action::<PlaceOrder>();
    let symbol = RwSignal::new("ACME".to_string());
    let side = RwSignal::new(Side::Buy);
    let quantity = RwSignal::new("10".to_string());
    let price = RwSignal::new("100.00".to_string());
    // The order's idempotency key: kept until an order is placed, so a retry after a failure
    // (perhaps placed, its answer lost) places it once; new for the next order.
    let key = RwSignal::new(new_key());

    Effect::new(move |_| {
        if let Some(Ok(order)) = place.value() {
            key.set(new_key());
            on_placed.run(order);
        }
    });
    let failed = move || failure(place);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        place.dispatch(PlaceOrder {
            symbol: symbol.get_untracked().trim().to_ascii_uppercase(),
            side: side.get_untracked(),
            quantity: quantity.get_untracked(),
            price: price.get_untracked(),
            key: Some(key.get_untracked()),
        });
    };
    view! {
        <form class="card form" data-testid="order-form" on:submit=submit>
            <h2>"Place an order"</h2>
            <div class="row">
                <label>
                    "Symbol"
                    <input name="symbol" bind:value=symbol maxlength="8" required/>
                </label>
                <label>
                    "Side"
                    <select
                        name="side"
                        on:change=move |ev| {
                            side.set(if event_target_value(&ev) == "sell" { Side::Sell } else { Side::Buy })
                        }
                    >
                        <option value="buy">"buy"</option>
                        <option value="sell">"sell"</option>
                    </select>
                </label>
            </div>
            <div class="row">
                <label>
                    "Quantity"
                    <input name="quantity" inputmode="numeric" bind:value=quantity required/>
                </label>
                <label>
                    "Price"
                    <input name="price" inputmode="decimal" bind:value=price required/>
                </label>
            </div>
            <button type="submit" disabled=place.pending()>
                {move || if place.pending().get() { "Placing…" } else { "Place order" }}
            </button>
            <Failure reason=Signal::derive(failed)/>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64, owner: &str, status: OrderStatus, updated_at_ms: u64) -> Order {
        Order {
            id,
            symbol: "AC<ME".into(),
            side: Side::Buy,
            quantity: 3,
            price: 10.5,
            status,
            owner: owner.into(),
            placed_at_ms: 0,
            updated_at_ms,
        }
    }

    /// New rows slide in and changed ones flash, against the previous render only; the first
    /// render animates nothing.
    #[test]
    fn only_new_and_changed_rows_animate() {
        let orders = [
            order(3, "bob", OrderStatus::Open, 30),
            order(2, "bob", OrderStatus::Filled, 25),
            order(1, "bob", OrderStatus::Open, 10),
        ];
        let before = [(2, 20), (1, 10)];
        let html = rows(&orders, "alice", &before, false);
        let classes: Vec<&str> = html
            .split(r#"class=""#)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|c| c.is_empty() || c.starts_with("row"))
            .collect();
        assert_eq!(classes, ["row-new", "row-updated", ""]);
        assert!(!rows(&orders, "alice", &[], false).contains("row-"));
    }

    /// Only the owner's open orders get buttons, disabled while a change runs; text is escaped.
    #[test]
    fn buttons_for_the_owner_and_text_escaped() {
        let orders = [
            order(2, "<b>alice</b>", OrderStatus::Open, 0),
            order(1, "<b>alice</b>", OrderStatus::Filled, 0),
        ];
        let html = rows(&orders, "<b>alice</b>", &[], false);
        assert_eq!(html.matches(r#"data-action="fill""#).count(), 1);
        assert_eq!(
            html.matches(r#"data-order="2" data-action="cancel""#)
                .count(),
            1
        );
        assert!(!html.contains("<b>") && html.contains("&lt;b&gt;alice&lt;/b&gt;"));
        assert!(html.contains("AC&lt;ME"));
        assert!(!html.contains("disabled"));
        assert_eq!(
            rows(&orders, "<b>alice</b>", &[], true)
                .matches(" disabled")
                .count(),
            2
        );
        assert!(!rows(&orders, "bob", &[], false).contains("<button"));
    }
}
