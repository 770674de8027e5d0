//! The order table (created rows slide in, updated rows flash) and the form that places orders.

use leptos::prelude::*;

use crate::components::Failure;
use crate::{
    actions::{UiAction, action, failure},
    components::fixed,
    demo::{
        actions::{PlaceOrder, SetOrderStatus},
        events::{Order, OrderStatus, Side},
    },
};

/// `orders`, newest first, with fill / cancel buttons on `user`'s own open ones (the server
/// refuses anyone else's with 403 anyway).
#[component]
pub fn OrderTable(
    #[prop(into)] orders: Signal<Vec<Order>>,
    #[prop(into)] user: String,
) -> impl IntoView {
    let set_status = action::<SetOrderStatus>();
    let failed = move || failure(set_status);
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
                    <tbody>
                        // Keyed by id and last update: an updated order is a new row, so its
                        // CSS animation (flash) plays; a new order slides in.
                        <For
                            each=move || orders.get()
                            key=|order| (order.id, order.updated_at_ms, order.status)
                            let(order)
                        >
                            <OrderRow mine=order.owner == user order set_status/>
                        </For>
                    </tbody>
                </table>
                {move || {
                    orders
                        .with(Vec::is_empty)
                        .then(|| view! { <p class="muted empty">"No orders yet."</p> })
                }}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn OrderRow(order: Order, mine: bool, set_status: UiAction<SetOrderStatus>) -> impl IntoView {
    let id = order.id;
    let status = order.status.as_str();
    let open = order.status == OrderStatus::Open;
    let can_settle = open && mine;
    let pending = set_status.pending();
    let change = move |status: OrderStatus| {
        set_status.dispatch(SetOrderStatus { id, status });
    };
    view! {
        <tr
            data-testid="order-row"
            data-order=id
            data-status=status
            class=if open { "row-new" } else { "row-updated" }
        >
            <td>{id}</td>
            <td>{order.symbol}</td>
            <td class=format!("side-{}", order.side.as_str())>{order.side.as_str()}</td>
            <td class="num">{order.quantity}</td>
            <td class="num">{fixed(order.price, 2, false)}</td>
            <td><span class=format!("pill pill-{status}")>{status}</span></td>
            <td class="muted">{order.owner}</td>
            <td class="actions">
                {can_settle
                    .then(|| {
                        view! {
                            <button disabled=pending on:click=move |_| change(OrderStatus::Filled)>
                                "Fill"
                            </button>
                            <button
                                class="secondary"
                                disabled=pending
                                on:click=move |_| change(OrderStatus::Cancelled)
                            >
                                "Cancel"
                            </button>
                        }
                    })}
            </td>
        </tr>
    }
    .into_any()
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
