//! `POST /api/ops/publish`: the operator's way in for events made elsewhere (another service,
//! a job, a script): many events on many channels in one request, each with its own result.
//! Behind `OPS_TOKEN` like every operator endpoint ([`api::operator`]), outside the write
//! budget (the token is the budget), inside the body limit; at most `MAX_BATCH_EVENTS` events.
//!
//! ```text
//! POST /api/ops/publish
//! Authorization: Bearer $OPS_TOKEN
//! {"events": [{"channel": "users/alice/notifications", "event": "notification", "data": {…}}, …]}
//!
//! 200 {"results": [{"id": 17}, {"status": 404, "error": "unknown channel \"nope\""}, …]}
//! ```

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use leptos_live::hub::{BatchEvent, HubError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{AppState, api, error::ApiError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    channel: String,
    event: String,
    data: Box<RawValue>,
}

/// What became of the batch, one result per event, in order.
#[derive(Serialize)]
pub struct Results {
    results: Vec<Outcome>,
}

/// One event's result: its id, or the status and reason it would have had alone.
#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Published { id: u64 },
    Refused { status: u16, error: String },
}

/// The handler; see the module docs. The token is checked before the body is parsed.
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Results>, ApiError> {
    api::operator(&state, &headers)?;
    let batch: Batch = serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("not a batch of events: {err}")))?;
    let limit = state.config.max_batch_events;
    if batch.events.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} events in one batch; at most {limit}",
                batch.events.len()
            ),
        ));
    }
    let events = batch
        .events
        .into_iter()
        .map(|e| BatchEvent::new(e.channel, e.event, Box::<str>::from(e.data)))
        .collect();
    let results = state.hub.publish_batch(events).await;
    let results = results
        .into_iter()
        .map(|result| match result {
            Ok(id) => Outcome::Published { id },
            Err(err) => {
                let err = match err {
                    // The sender's mistake here, not the server's.
                    HubError::InvalidEventName(_) => ApiError::bad_request(err.to_string()),
                    other => ApiError::from(other),
                };
                Outcome::Refused {
                    status: err.status.as_u16(),
                    error: err.message,
                }
            }
        })
        .collect();
    Ok(Json(Results { results }))
}
