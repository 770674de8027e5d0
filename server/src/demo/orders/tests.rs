//! The book's bounds and ownership rules, in memory.

use super::*;
use app::demo::events::Side;

fn order(symbol: &str, quantity: u32, price: f64) -> NewOrder {
    NewOrder {
        symbol: symbol.into(),
        side: Side::Buy,
        quantity,
        price,
    }
}

/// Bad symbols, quantities and prices are refused with a reason naming the field.
#[test]
fn validation_names_the_field() {
    for (bad, field) in [
        (order("acme", 1, 1.0), "symbol"),
        (order("", 1, 1.0), "symbol"),
        (order("TOOLONGSYM", 1, 1.0), "symbol"),
        (order("ACME", 0, 1.0), "quantity"),
        (order("ACME", 2_000_000, 1.0), "quantity"),
        (order("ACME", 1, 0.0), "price"),
        (order("ACME", 1, f64::NAN), "price"),
        (order("ACME", 1, -3.0), "price"),
    ] {
        let err = validate(&bad).unwrap_err().to_string();
        assert!(err.starts_with(field), "{err}");
    }
    assert!(validate(&order("ACME", 10, 101.5)).is_ok());
}

fn hub() -> Arc<Hub> {
    Arc::new(crate::demo::test_hub())
}

fn settle(status: OrderStatus) -> StatusChange {
    StatusChange { status }
}

/// Open orders per user are capped; settled orders age out oldest first, open ones never.
#[tokio::test]
async fn the_book_is_bounded() {
    let book = OrderBook::new(
        hub(),
        OrderLimits {
            open_per_user: 3,
            settled_kept: 2,
        },
    );
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            book.create("alice", order("ACME", 1, 1.0), None)
                .await
                .unwrap()
                .id,
        );
    }
    assert!(matches!(
        book.create("alice", order("ACME", 1, 1.0), None).await,
        Err(OrderError::TooManyOpen { limit: 3 })
    ));
    book.create("bob", order("ACME", 1, 1.0), None)
        .await
        .unwrap();
    for &id in &ids {
        book.update("alice", id, settle(OrderStatus::Filled), None)
            .await
            .unwrap();
    }
    let (shown, total) = book.recent(100).await.unwrap();
    assert_eq!(total, 3, "bob's open order and the two newest settled ones");
    assert!(
        !shown.iter().any(|o| o.id == ids[0]),
        "the oldest settled aged out"
    );
    // Settling freed alice's slots.
    for _ in 0..3 {
        book.create("alice", order("ACME", 1, 1.0), None)
            .await
            .unwrap();
    }
}

/// Only the owner may fill or cancel an order; a refusal changes nothing.
#[tokio::test]
async fn only_the_owner_changes_an_order() {
    let book = OrderBook::new(hub(), OrderLimits::default());
    let id = book
        .create("alice", order("ACME", 1, 1.0), None)
        .await
        .unwrap()
        .id;
    assert!(matches!(
        book.update("bob", id, settle(OrderStatus::Cancelled), None)
            .await,
        Err(OrderError::NotYours(_))
    ));
    assert_eq!(book.recent(1).await.unwrap().0[0].status, OrderStatus::Open);
    book.update("alice", id, settle(OrderStatus::Cancelled), None)
        .await
        .unwrap();
}

/// An order placed on an instance whose clock is an hour ahead, settled on one whose clock is
/// right: the settlement's version is still above the open order's, so every page applies it.
#[test]
fn a_settlement_on_an_instance_whose_clock_is_behind_still_wins() {
    let ahead = now_ms() + 3_600_000;
    let placed = Order {
        id: 1,
        symbol: "ACME".into(),
        side: Side::Buy,
        quantity: 1,
        price: 1.0,
        status: OrderStatus::Open,
        owner: "alice".into(),
        placed_at_ms: ahead,
        updated_at_ms: ahead,
    };
    let filled = settled(&placed, "alice", OrderStatus::Filled).unwrap();
    let mut shown = vec![placed];
    assert!(leptos_live::collection::upsert(&mut shown, filled, 10));
    assert_eq!(shown[0].status, OrderStatus::Filled);
}

/// The same idempotency key twice: one order, the first one's, announced once.
#[tokio::test]
async fn an_order_placed_twice_with_one_key_is_placed_once() {
    let book = OrderBook::new(hub(), OrderLimits::default());
    let first = book
        .create_once("alice", "k1", order("ACME", 1, 1.0), None)
        .await
        .unwrap();
    let again = book
        .create_once("alice", "k1", order("ACME", 1, 1.0), None)
        .await
        .unwrap();
    assert_eq!(again, first);
    let other = book
        .create_once("bob", "k1", order("ACME", 1, 1.0), None)
        .await
        .unwrap();
    assert_ne!(other.id, first.id, "keys are per user");
    assert_eq!(book.recent(10).await.unwrap().1, 2);
}
