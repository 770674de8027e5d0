//! The demo's REST endpoints, for curl and scripts: orders, notifications, jobs. Each is a thin
//! shell around the demo's domain code, the same the UI's server functions call.

use app::demo::events::{Notification, Order};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use serde::Serialize;

use super::{
    jobs::{JobError, JobStarted},
    notifications::{NotifyError, SendNotification},
    orders::{NewOrder, OrderError, StatusChange},
};
use crate::{
    AppState,
    api::sender,
    auth::SignedIn,
    error::{ApiError, ApiJson},
};

/// `POST /api/orders` → 201 with the order; `order:created` on `orders`. With an
/// `Idempotency-Key` header, the same key again (a retry) answers 201 with the first order and
/// places nothing.
pub async fn create_order(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewOrder>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let except = sender(&state, &user, &headers);
    let orders = &state.demo.orders;
    let order = match headers.get("idempotency-key") {
        Some(key) => {
            let key = key.to_str().unwrap_or("\u{0}");
            orders.create_once(&user, key, new, except).await?
        }
        None => orders.create(&user, new, except).await?,
    };
    Ok((StatusCode::CREATED, Json(order)))
}

/// `PATCH /api/orders/{id}` → 200 with the order; `order:updated` on `orders`. Only the
/// order's owner may change it (403).
pub async fn update_order(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<Json<Order>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no order {id:?}")))?;
    let except = sender(&state, &user, &headers);
    let order = state.demo.orders.update(&user, id, change, except).await?;
    Ok(Json(order))
}

/// Orders `GET /api/orders` lists at most.
pub const ORDERS_LISTED: usize = 100;

/// Body of `GET /api/orders`: what it shows, and of how many.
#[derive(Serialize)]
pub struct OrderList {
    /// The newest orders, newest first: at most [`ORDERS_LISTED`].
    pub orders: Vec<Order>,
    /// Orders the book holds: every open one and the most recently settled ones (older
    /// settled orders age out; see SECURITY.md for the limits).
    pub total: usize,
}

/// `GET /api/orders` → the newest orders, newest first.
pub async fn list_orders(
    State(state): State<AppState>,
    SignedIn(_): SignedIn,
) -> Result<Json<OrderList>, ApiError> {
    let (orders, total) = state.demo.orders.recent(ORDERS_LISTED).await?;
    Ok(Json(OrderList { orders, total }))
}

/// `POST /api/notifications` → 201; `notification` on `users/{user}/notifications`.
pub async fn send_notification(
    State(state): State<AppState>,
    SignedIn(from): SignedIn,
    headers: HeaderMap,
    ApiJson(message): ApiJson<SendNotification>,
) -> Result<(StatusCode, Json<Notification>), ApiError> {
    let except = sender(&state, &from, &headers);
    let notification = state
        .demo
        .notifier
        .send(&state.hub, &from, message, except)
        .await?;
    Ok((StatusCode::CREATED, Json(notification)))
}

/// `POST /api/jobs` → 201; the job streams `progress` then `complete` on its channel
/// (429 when the user already runs as many jobs as allowed).
pub async fn start_job(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.demo.start_job(&state, &user).await?),
    ))
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Invalid(_) => ApiError::unprocessable(err.to_string()),
            OrderError::NotFound(_) => ApiError::not_found(err.to_string()),
            OrderError::NotYours(_) => ApiError::forbidden(err.to_string()),
            OrderError::TooManyOpen { .. } => ApiError::too_many(err.to_string()),
            OrderError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, err.to_string()),
            OrderError::Hub(err) => err.into(),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(err: JobError) -> Self {
        match err {
            JobError::TooMany { .. } => ApiError::too_many(err.to_string()),
            JobError::Hub(err) => err.into(),
        }
    }
}

impl From<NotifyError> for ApiError {
    fn from(err: NotifyError) -> Self {
        match err {
            NotifyError::Invalid(_) => ApiError::unprocessable(err.to_string()),
            NotifyError::Hub(err) => err.into(),
        }
    }
}
