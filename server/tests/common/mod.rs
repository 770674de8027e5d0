//! `spawn_app()`: the real server on 127.0.0.1:0 with its own hub, plus small HTTP helpers.

#![allow(dead_code)] // each test file uses a different part of this

use std::{net::SocketAddr, pin::Pin, time::Duration};

use app::events::StreamStats;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use server::{AppState, Config, feeds};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// A running server; cancel `shutdown` to stop it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<std::io::Result<()>>,
    pub http: reqwest::Client,
}

/// Starts the server with the test config (50 ms price ticks) and the feeds running.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::for_tests()).await
}

/// Starts the server with `config`.
pub async fn spawn_app_with(config: Config) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let shutdown = CancellationToken::new();
    let state = AppState::new(config, shutdown.clone());
    feeds::spawn_all(&state);
    let server = tokio::spawn(server::serve(listener, state.clone()));
    TestApp {
        addr,
        state,
        shutdown,
        server,
        http: reqwest::Client::new(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    pub async fn stats(&self) -> StreamStats {
        self.get("/api/stats")
            .await
            .json()
            .await
            .expect("stats json")
    }

    /// Polls the stats until `connections == want`; panics after 10 s.
    pub async fn wait_for_connections(&self, want: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.stats().await.connections;
            if now == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "connections stayed at {now}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A client with a cookie store, signed in as `user`.
pub async fn signed_in(app: &TestApp, user: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let response = client
        .post(app.url("/api/session"))
        .json(&serde_json::json!({ "user": user }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "sign in as {user}"
    );
    client
}

/// Sends `request` and decodes its JSON answer; panics on a transport or decoding error.
pub async fn json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let response = request.send().await.expect("request");
    response.json().await.expect("JSON body")
}

/// Places a valid order as the signed-in `client` (from connection `sender`, if given);
/// asserts 201.
pub async fn place_order(
    app: &TestApp,
    client: &reqwest::Client,
    sender: Option<&str>,
) -> app::events::Order {
    let mut request = client
        .post(app.url("/api/orders"))
        .json(&serde_json::json!({"symbol":"ACME","side":"buy","quantity":10,"price":101.5}));
    if let Some(sender) = sender {
        request = request.header("x-connection-id", sender);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    response.json().await.expect("order json")
}

/// Sends a notification to `to` as the signed-in `client`; asserts 201.
pub async fn notify(app: &TestApp, client: &reqwest::Client, to: &str, title: &str) {
    let response = client
        .post(app.url("/api/notifications"))
        .json(&serde_json::json!({"user": to, "title": title, "body": "line one\r\nline two"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
}

/// An open stream after its `hello`: the parsed events and the connection id.
pub struct Opened {
    pub events: Pin<Box<dyn Stream<Item = EventResult> + Send>>,
    pub connection: String,
}

/// Opens `path` (with `Last-Event-ID: cursor` if given), asserts 200 and reads the `hello`.
pub async fn open(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    cursor: Option<&str>,
) -> Opened {
    let mut request = client.get(app.url(path));
    if let Some(cursor) = cursor {
        request = request.header("last-event-id", cursor);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
    let mut events = events(response);
    let hello = next_event(&mut events).await;
    assert_eq!(hello.event, "hello");
    let hello: serde_json::Value = serde_json::from_str(&hello.data).expect("hello json");
    Opened {
        events,
        connection: hello["connection"]
            .as_str()
            .expect("connection id")
            .to_string(),
    }
}

/// The next event that is not a price tick (the price feed runs during every test).
pub async fn next_non_price(events: &mut (impl Stream<Item = EventResult> + Unpin)) -> Event {
    loop {
        let event = next_event(events).await;
        if event.event != "price" {
            return event;
        }
    }
}

/// Asserts that no event arrives within `wait`.
pub async fn assert_quiet(events: &mut (impl Stream<Item = EventResult> + Unpin), wait: Duration) {
    if let Ok(Some(event)) = tokio::time::timeout(wait, events.next()).await {
        panic!("expected no event, got {event:?}");
    }
}

/// What [`events`] yields: one parsed event or a parse/transport error.
pub type EventResult = Result<Event, EventStreamError<reqwest::Error>>;

/// The response body parsed by an independent SSE parser (`eventsource-stream`).
pub fn events(response: reqwest::Response) -> Pin<Box<dyn Stream<Item = EventResult> + Send>> {
    Box::pin(response.bytes_stream().eventsource())
}

/// The next event; panics on end of stream, a parse error, or after 10 s.
pub async fn next_event(events: &mut (impl Stream<Item = EventResult> + Unpin)) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("stream still open")
        .expect("well-formed event")
}
