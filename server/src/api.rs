//! The REST endpoints for curl, scripts and external publishers: orders, notifications, jobs,
//! stats and health. Each is a thin shell around the domain code in `feeds`.

use app::events::{Notification, Order, StreamStats};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};

use crate::{
    AppState,
    auth::SignedIn,
    error::{ApiError, ApiJson},
    feeds::{
        jobs::JobStarted,
        notifications::{NotifyError, SendNotification},
        orders::{NewOrder, OrderError, StatusChange},
    },
    hub::ConnectionId,
};

/// The stream connection a request comes from (`X-Connection-Id`, from the stream's `hello`),
/// so that its effects are not echoed back to it. Absent or unknown: nobody is skipped.
fn sender(headers: &HeaderMap) -> Option<ConnectionId> {
    headers.get("x-connection-id")?.to_str().ok()?.parse().ok()
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
        .create(&state.hub, &user, new, sender(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// `PATCH /api/orders/{id}` → 200 with the order; `order:updated` on `orders`.
pub async fn update_order(
    State(state): State<AppState>,
    SignedIn(_): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<Json<Order>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no order {id:?}")))?;
    let order = state
        .orders
        .update(&state.hub, id, change, sender(&headers))
        .await?;
    Ok(Json(order))
}

/// `GET /api/orders` → the newest orders, newest first.
pub async fn list_orders(State(state): State<AppState>, SignedIn(_): SignedIn) -> Json<Vec<Order>> {
    Json(state.orders.recent(100))
}

/// `POST /api/notifications` → 201; `notification` on `users/{user}/notifications`.
pub async fn send_notification(
    State(state): State<AppState>,
    SignedIn(from): SignedIn,
    headers: HeaderMap,
    ApiJson(message): ApiJson<SendNotification>,
) -> Result<(StatusCode, Json<Notification>), ApiError> {
    let notification = state
        .notifier
        .send(&state.hub, &from, message, sender(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(notification)))
}

/// `POST /api/jobs` → 201; the job streams `progress` then `complete` on its channel.
pub async fn start_job(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> (StatusCode, Json<JobStarted>) {
    let started = state.jobs.start(
        state.hub.clone(),
        &user,
        state.config.job_step,
        state.shutdown.clone(),
    );
    (StatusCode::CREATED, Json(started))
}

/// `GET /api/stats`.
pub async fn stats(State(state): State<AppState>) -> Json<StreamStats> {
    Json(StreamStats {
        at_ms: crate::feeds::now_ms(),
        ..state.hub.stats().snapshot()
    })
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: ready for new streams; 503 once shutdown has begun, so load balancers stop
/// sending new clients while the old ones move elsewhere.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Invalid(_) => ApiError::unprocessable(err.to_string()),
            OrderError::NotFound(_) => ApiError::not_found(err.to_string()),
            OrderError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, err.to_string()),
            OrderError::Hub(err) => err.into(),
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
