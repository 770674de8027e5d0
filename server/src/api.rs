//! The REST endpoints for curl, scripts and external publishers: orders, notifications, jobs,
//! stats and health. Each is a thin shell around the domain code in `feeds`.

use std::collections::BTreeMap;

use app::events::{Notification, Order};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
};
use leptos_live::StreamStats;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{
    AppState,
    auth::{self, SignedIn},
    error::{ApiError, ApiJson},
    feeds::{
        jobs::{JobError, JobStarted},
        notifications::{NotifyError, SendNotification},
        orders::{NewOrder, OrderError, StatusChange},
    },
};
use leptos_live::hub::ConnectionId;

/// The stream connection a request comes from (`X-Connection-Id`, from the stream's `hello`),
/// so that its effects are not echoed back to it, whichever instance holds that stream.
/// Honoured only when it was issued to `user` (see [`auth::connection_token`]): anyone else's
/// (guessed or seen) skips nobody.
fn sender(state: &AppState, user: &str, headers: &HeaderMap) -> Option<ConnectionId> {
    let token = headers.get("x-connection-id")?.to_str().ok()?;
    auth::sender_connection(&state.session_key, token, user)
}

/// `POST /api/orders` → 201 with the order; `order:created` on `orders`.
pub async fn create_order(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewOrder>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let order = state
        .orders
        .create(&user, new, sender(&state, &user, &headers))
        .await?;
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
    let order = state.orders.update(&user, id, change, except).await?;
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
    let (orders, total) = state.orders.recent(ORDERS_LISTED).await?;
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
    Ok((StatusCode::CREATED, Json(state.start_job(&user).await?)))
}

/// `GET /api/stats`: counts by channel pattern, never by user.
pub async fn stats(State(state): State<AppState>) -> Json<StreamStats> {
    Json(StreamStats {
        at_ms: crate::feeds::now_ms(),
        ..state.hub.stats().snapshot()
    })
}

/// `GET /api/ops/channels`: subscribers per concrete channel, which names who is online, so
/// only for the operator: `Authorization: Bearer $OPS_TOKEN`. Without `OPS_TOKEN` configured
/// the endpoint does not exist (404), and a wrong token is 401.
pub async fn channel_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<BTreeMap<String, usize>>, ApiError> {
    let Some(token) = &state.config.ops_token else {
        return Err(ApiError::not_found(
            "no such endpoint (OPS_TOKEN is not set)",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared without stopping at the first difference: timing tells nothing of the token.
    if !bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "operator endpoint: send Authorization: Bearer <OPS_TOKEN>",
        ));
    }
    Ok(Json(state.hub.stats().channel_detail()))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: ready for new streams; 503 from the moment a shutdown signal arrives (before
/// streams end: see `crate::shutdown`), so load balancers stop sending new clients while the
/// old ones move elsewhere; 503 too while the hub's Redis is unreachable (degraded: open
/// streams stay open, publishes and new streams are refused until it returns).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    if state.stopping.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into())
    } else if let Some(reason) = state.hub.degraded() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {reason}\n"),
        )
    } else {
        (StatusCode::OK, "ready\n".into())
    }
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Invalid(_) => ApiError::unprocessable(err.to_string()),
            OrderError::NotFound(_) => ApiError::not_found(err.to_string()),
            OrderError::NotYours(_) => ApiError::forbidden(err.to_string()),
            OrderError::TooManyOpen { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, err.to_string())
            }
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
