//! [`AppHost`]: the server's side of the UI's server functions (`app::actions`). It hands
//! them the same domain code the REST endpoints use, and builds the page snapshot.

use std::sync::Arc;

use app::{
    actions::{
        ActionError,
        host::{Host, Pending},
    },
    events::{
        JobStarted, MULTI_STREAM, NewOrder, Notification, Order, OrderStatus, PriceTick, Snapshot,
        channels,
    },
};
use axum::http::{HeaderMap, HeaderValue};
use leptos_live::StreamInfo;

use crate::{
    AppState, auth,
    error::ApiError,
    feeds::{notifications::SendNotification, orders::StatusChange, prices::SYMBOLS},
};

/// The UI's actions answer as the REST endpoints would: the same status and one-line reason
/// (`ApiError`'s rules: causes only in the log).
fn refusal(err: impl Into<ApiError>) -> ActionError {
    let err = err.into();
    ActionError::new(err.status.as_u16(), err.message)
}

/// Ticks per symbol a snapshot carries (the sparklines' length).
pub const SPARKLINE_POINTS: usize = 60;
/// Orders and notifications a snapshot carries.
pub const RECENT_ITEMS: usize = 20;

pub struct AppHost(pub AppState);

impl AppHost {
    pub fn shared(state: AppState) -> Arc<dyn Host> {
        Arc::new(Self(state))
    }
}

impl Host for AppHost {
    fn user(&self, headers: &HeaderMap) -> Option<String> {
        auth::user_from_headers(headers, &self.0.session_key)
    }

    fn session_cookies(&self, user: Option<&str>) -> Result<Vec<HeaderValue>, ActionError> {
        auth::session_cookies(&self.0, user).map_err(|reason| ActionError::new(422, reason))
    }

    fn snapshot(&self, user: Option<String>) -> Pending<Snapshot> {
        let state = self.0.clone();
        Box::pin(async move { snapshot(&state, user).await.map_err(refusal) })
    }

    fn place_order(&self, user: String, order: NewOrder) -> Pending<Order> {
        let state = self.0.clone();
        Box::pin(async move {
            state
                .orders
                .create(&user, order, None)
                .await
                .map_err(refusal)
        })
    }

    fn set_order_status(&self, user: String, id: u64, status: OrderStatus) -> Pending<Order> {
        let state = self.0.clone();
        Box::pin(async move {
            state
                .orders
                .update(&user, id, StatusChange { status }, None)
                .await
                .map_err(refusal)
        })
    }

    fn notify(
        &self,
        from: String,
        to: String,
        title: String,
        body: String,
    ) -> Pending<Notification> {
        let state = self.0.clone();
        Box::pin(async move {
            let message = SendNotification {
                user: to,
                title,
                body,
            };
            state
                .notifier
                .send(&state.hub, &from, message, None)
                .await
                .map_err(refusal)
        })
    }

    fn start_job(&self, user: String) -> Pending<JobStarted> {
        let state = self.0.clone();
        Box::pin(async move { state.start_job(&user).await.map_err(refusal) })
    }
}

/// What a page rendered now shows: the stream cursor first, then the state. An event published
/// in between is then both in the state and replayed; the client applies events idempotently
/// (upsert by id), so it shows once. The other order would lose it.
pub async fn snapshot(
    state: &AppState,
    user: Option<String>,
) -> Result<Snapshot, leptos_live::hub::HubError> {
    let mut names = vec![channels::PRICES.to_string()];
    if let Some(user) = &user {
        names.push(channels::ORDERS.to_string());
        names.push(channels::notifications(user));
    }
    let cursor = state.hub.cursor(&names).await?;

    let prices = state
        .hub
        .recent::<PriceTick>(channels::PRICES, SPARKLINE_POINTS * SYMBOLS.len())
        .await?;
    let (orders, notifications) = match &user {
        Some(user) => (
            state.orders.recent(RECENT_ITEMS).await?.0,
            state
                .hub
                .recent::<Notification>(&channels::notifications(user), RECENT_ITEMS)
                .await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Snapshot {
        user,
        stream: StreamInfo {
            url: MULTI_STREAM.to_string(),
            channels: names,
            cursor: cursor.to_string(),
            build: state.config.build_id.clone(),
        },
        prices,
        orders,
        notifications,
    })
}
