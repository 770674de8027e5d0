//! [`DemoHost`]'s implementation: the server's side of the demo's server functions
//! (`app::demo::actions`), handing them the same code the REST endpoints use; and the
//! dashboard's snapshot.

use std::sync::Arc;

use app::{
    actions::host::Pending,
    demo::{
        actions::host::DemoHost,
        events::{
            JobStarted, Kpis, NewOrder, Notification, Order, OrderStatus, PriceTick, Snapshot,
            channels,
        },
    },
    events::{MULTI_STREAM, Watching, channels::presence, channels::presence_people},
};
use leptos_live::StreamInfo;

use super::{kpis, notifications::SendNotification, orders::StatusChange, prices};
use crate::{AppState, host::refusal};

/// Orders and notifications a snapshot carries.
pub const RECENT_ITEMS: usize = 20;

/// The demo's host: the app's state, whose `demo` holds its domain code.
pub struct Demos(pub AppState);

impl Demos {
    pub fn shared(state: AppState) -> Arc<dyn DemoHost> {
        Arc::new(Self(state))
    }
}

impl DemoHost for Demos {
    fn snapshot(&self, user: Option<String>) -> Pending<Snapshot> {
        let state = self.0.clone();
        Box::pin(async move { snapshot(&state, user).await.map_err(refusal) })
    }

    fn place_order(&self, user: String, order: NewOrder, key: Option<String>) -> Pending<Order> {
        let state = self.0.clone();
        Box::pin(async move {
            let orders = &state.demo.orders;
            match key {
                Some(key) => orders.create_once(&user, &key, order, None).await,
                None => orders.create(&user, order, None).await,
            }
            .map_err(refusal)
        })
    }

    fn set_order_status(&self, user: String, id: u64, status: OrderStatus) -> Pending<Order> {
        let state = self.0.clone();
        Box::pin(async move {
            state
                .demo
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
                .demo
                .notifier
                .send(&state.hub, &from, message, None)
                .await
                .map_err(refusal)
        })
    }

    fn start_job(&self, user: String) -> Pending<JobStarted> {
        let state = self.0.clone();
        Box::pin(async move { state.demo.start_job(&state, &user).await.map_err(refusal) })
    }
}

/// What a page rendered now shows: the stream cursor first, then the state. An event published
/// in between is then both in the state and replayed; the client applies events idempotently
/// (upsert by id), so it shows once. The other order would lose it.
pub async fn snapshot(
    state: &AppState,
    user: Option<String>,
) -> Result<Snapshot, leptos_live::hub::HubError> {
    // Names only for the signed in (see `feeds::presence`).
    let watching = match &user {
        Some(_) => presence_people(channels::PRICES),
        None => presence(channels::PRICES),
    };
    // Counts for everyone (a page that signs out then wants nothing new), names for the
    // signed in (`app::demo::dashboard`).
    let mut names = vec![
        channels::PRICES.to_string(),
        channels::KPIS.to_string(),
        presence(channels::PRICES),
    ];
    if let Some(user) = &user {
        names.push(presence_people(channels::PRICES));
        names.push(channels::ORDERS.to_string());
        names.push(channels::notifications(user));
    }
    let cursor = state.hub.cursor(&names).await?;

    let hub = &state.hub;
    let samples = hub
        .recent::<PriceTick>(channels::PRICE_HISTORY, prices::SAMPLES_KEPT)
        .await?;
    let interval = state.config.demo.price_interval;
    let ticks = hub
        .recent::<PriceTick>(channels::PRICES, prices::recent_history(interval))
        .await?;
    let kpis = hub.recent::<Kpis>(channels::KPIS, kpis::KEPT).await?;
    let watching = hub.latest::<Watching>(&watching).await?.unwrap_or_default();
    let (orders, notifications) = match &user {
        Some(user) => (
            state.demo.orders.recent(RECENT_ITEMS).await?.0,
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
        prices: prices::series(&samples, &ticks),
        orders,
        notifications,
        kpis,
        watching,
    })
}
