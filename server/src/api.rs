//! The REST endpoints every app keeps: stats, per-channel detail for operators, health; and
//! [`sender`], for an app's own endpoints (the demo's are in `demo::api`).

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use leptos_live::StreamStats;
use subtle::ConstantTimeEq;

use crate::{AppState, auth, error::ApiError};
use leptos_live::hub::ConnectionId;

/// The stream connection a request comes from (`X-Connection-Id`, from the stream's `hello`),
/// so that its effects are not echoed back to it, whichever instance holds that stream.
/// Honoured only when it was issued to `user` (see [`auth::connection_token`]): anyone else's
/// (guessed or seen) skips nobody.
pub fn sender(state: &AppState, user: &str, headers: &HeaderMap) -> Option<ConnectionId> {
    let token = headers.get("x-connection-id")?.to_str().ok()?;
    auth::sender_connection(&state.session_key, token, user)
}

/// `GET /api/stats`: counts by channel pattern, never by user.
pub async fn stats(State(state): State<AppState>) -> Json<StreamStats> {
    Json(StreamStats {
        at_ms: crate::feeds::now_ms(),
        ..state.hub.stats().snapshot()
    })
}

/// `GET /api/ops/channels`: subscribers per concrete channel, which names who is online, so
/// only for the operator (see [`operator`]).
pub async fn channel_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<BTreeMap<String, usize>>, ApiError> {
    operator(&state, &headers)?;
    Ok(Json(state.hub.stats().channel_detail()))
}

/// Lets only the operator through: `Authorization: Bearer $OPS_TOKEN`. Without `OPS_TOKEN`
/// configured the operator endpoints do not exist (404), and a wrong token is 401.
pub fn operator(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
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
    Ok(())
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
