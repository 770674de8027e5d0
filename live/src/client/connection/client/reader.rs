//! The stream the leading (or a lone) tab reads: `fetch`, so that the response's status is
//! visible (a refusal becomes a state, not endless retries), parsed frame by frame and relayed
//! to the other tabs; exponential backoff with jitter, `Retry-After` on 429.

use js_sys::{Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortController, RequestInit, Response};

use super::{
    Client, LiveConnection, Reading, Role, TOO_MANY_RETRY_MS, close, post, receive, role,
    set_status,
};
use crate::{
    client::{StreamStatus, backoff, share::Note, sse::Parser, status::Refusal},
    cursor::Cursor,
    event::{Hello, LiveEvent},
};

fn stream_url(base: &str, channels: &[String], cursor: Option<&Cursor>) -> String {
    let base = if base.is_empty() { "/api/stream" } else { base };
    let mut url = format!(
        "{base}?channels={}",
        js_sys::encode_uri_component(&channels.join(","))
    );
    if let Some(cursor) = cursor.filter(|c| !c.positions.is_empty()) {
        url.push_str("&last_event_id=");
        url.push_str(&String::from(js_sys::encode_uri_component(
            &cursor.to_string(),
        )));
    }
    url
}

/// How a read ended.
enum Ended {
    /// Replaced or closed by this tab: nothing to do.
    Stale,
    /// The server said no; `retry_ms` when trying later can help.
    Refused(Refusal, String, Option<u64>),
    /// The network failed, the server was unavailable, or the stream ended: back off.
    Dropped,
}

pub(super) fn open_stream(
    connection: LiveConnection,
    channels: Vec<String>,
    cursor: Option<Cursor>,
) {
    close(connection);
    let controller = match AbortController::new() {
        Ok(controller) => controller,
        Err(_) => return,
    };
    let signal = controller.signal();
    let (generation, url) = connection
        .client
        .try_update_value(|c| {
            c.reading = Some(Reading {
                controller,
                channels: channels.clone(),
            });
            (c.generation, stream_url(&c.url, &channels, cursor.as_ref()))
        })
        .unwrap_or_default();
    if !matches!(
        connection.status.get_untracked(),
        StreamStatus::Reconnecting(_) | StreamStatus::Live
    ) {
        set_status(connection, StreamStatus::Connecting, channels.clone());
    }
    spawn_local(async move {
        let init = RequestInit::new();
        init.set_signal(Some(&signal));
        // As EventSource asks: servers and proxies know the answer is a stream (the starter's
        // server leaves it out of compression without wrapping it).
        if let Ok(headers) = web_sys::Headers::new() {
            let _ = headers.set("accept", "text/event-stream");
            init.set_headers(&headers);
        }
        let ended = read(connection, generation, &url, &init).await;
        let current = connection.client.with_value(|c| c.generation == generation);
        if !current {
            return;
        }
        match ended {
            Ended::Stale => {}
            Ended::Refused(refusal, reason, retry) => {
                connection.client.update_value(|c| {
                    c.reading = None;
                    if retry.is_none() {
                        c.refused = Some(channels.clone());
                    }
                });
                set_status(
                    connection,
                    StreamStatus::Refused(refusal, reason),
                    channels.clone(),
                );
                if let Some(ms) = retry {
                    retry_after(connection, ms);
                }
            }
            Ended::Dropped => {
                connection.client.update_value(|c| c.reading = None);
                schedule_retry(connection, channels);
            }
        }
    });
}

async fn read(connection: LiveConnection, generation: u64, url: &str, init: &RequestInit) -> Ended {
    let stale = || connection.client.with_value(|c| c.generation != generation);
    let Ok(response) = JsFuture::from(window().fetch_with_str_and_init(url, init)).await else {
        return if stale() {
            Ended::Stale
        } else {
            Ended::Dropped
        };
    };
    let response: Response = response.unchecked_into();
    let status = response.status();
    if status != 200 {
        let Some(refusal) = Refusal::from_status(status) else {
            return Ended::Dropped;
        };
        let retry = (refusal == Refusal::TooMany).then(|| {
            response
                .headers()
                .get("retry-after")
                .ok()
                .flatten()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map_or(TOO_MANY_RETRY_MS, |secs| secs.clamp(1, 300) * 1000)
        });
        let reason = match response.text().map(JsFuture::from) {
            Ok(text) => text
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        return Ended::Refused(refusal, error_reason(&reason), retry);
    }
    let Some(body) = response.body() else {
        return Ended::Dropped;
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut parser = Parser::default();
    loop {
        let Ok(chunk) = JsFuture::from(reader.read()).await else {
            return if stale() {
                Ended::Stale
            } else {
                Ended::Dropped
            };
        };
        if stale() {
            return Ended::Stale;
        }
        let done = Reflect::get(&chunk, &"done".into()).is_ok_and(|d| d.is_truthy());
        if done {
            return Ended::Dropped;
        }
        let Ok(value) = Reflect::get(&chunk, &"value".into()) else {
            continue;
        };
        let mut messages = Vec::new();
        parser.push(&value.unchecked_into::<Uint8Array>().to_vec(), |m| {
            messages.push(m)
        });
        for message in messages {
            if stale() {
                return Ended::Stale;
            }
            if message.event == Hello::NAME {
                let channels = connection
                    .client
                    .try_update_value(|c| {
                        c.attempt = 0;
                        c.reading
                            .as_ref()
                            .map(|r| r.channels.clone())
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
                set_status(connection, StreamStatus::Live, channels);
            }
            post(
                connection,
                &Note::Frame {
                    event: message.event.clone(),
                    id: message.id.clone(),
                    data: message.data.clone(),
                },
            );
            receive(connection, message);
        }
    }
}

/// The server's one-line reason from its `{"error": "…"}` body.
fn error_reason(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        error: String,
    }
    serde_json::from_str::<Body>(body)
        .map(|b| b.error)
        .unwrap_or_default()
}

fn retry_after(connection: LiveConnection, ms: u64) {
    let timer = set_timeout_with_handle(
        move || {
            connection.client.update_value(|c| {
                c.timer = None;
                c.reading = None;
                c.refused = None;
            });
            reopen_now(connection);
        },
        std::time::Duration::from_millis(ms),
    )
    .ok();
    connection.client.update_value(|c| c.timer = timer);
}

fn schedule_retry(connection: LiveConnection, channels: Vec<String>) {
    let attempt = connection
        .client
        .try_update_value(|c| {
            c.attempt += 1;
            c.attempt
        })
        .unwrap_or(1);
    set_status(connection, StreamStatus::Reconnecting(attempt), channels);
    let delay = backoff::delay(attempt, js_sys::Math::random());
    let timer = set_timeout_with_handle(
        move || {
            connection.client.update_value(|c| c.timer = None);
            reopen_now(connection);
        },
        delay,
    )
    .ok();
    connection.client.update_value(|c| c.timer = timer);
}

/// Opens what the plan says now, even if it equals what was open.
pub(super) fn reopen_now(connection: LiveConnection) {
    if role(connection) == Role::Follower {
        return;
    }
    let plan = connection.client.with_value(Client::plan);
    if plan.channels.is_empty() {
        close(connection);
        set_status(connection, StreamStatus::Closed, Vec::new());
        return;
    }
    open_stream(connection, plan.channels, plan.cursor);
}
