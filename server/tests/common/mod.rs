//! `spawn_app()`: the real server on 127.0.0.1:0 with its own hub, plus small HTTP helpers.

#![allow(dead_code)] // each test file uses a different part of this

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    pin::Pin,
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use leptos_live::StreamStats;
use server::{AppState, Config, feeds};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

mod redis_cluster;
mod redis_server;
#[allow(unused_imports)] // each test file uses a different part of this
pub use redis_cluster::RedisCluster;
#[allow(unused_imports)] // each test file uses a different part of this
pub use redis_server::{RedisServer, instance_config};

/// A running server; cancel `shutdown` to stop it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<std::io::Result<()>>,
    pub http: reqwest::Client,
}

/// Starts the server with the test config (fast ticks and heartbeats) and the feeds running.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::for_tests()).await
}

/// Starts the server with `config`.
pub async fn spawn_app_with(config: Config) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let shutdown = CancellationToken::new();
    let state = AppState::start(config, shutdown.clone())
        .await
        .expect("start");
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

/// Asserts that no event arrives within `wait` and that the stream is still open.
pub async fn assert_quiet(events: &mut (impl Stream<Item = EventResult> + Unpin), wait: Duration) {
    match tokio::time::timeout(wait, events.next()).await {
        Err(_) => {}
        Ok(None) => panic!("expected a quiet stream, but it ended"),
        Ok(Some(event)) => panic!("expected no event, got {event:?}"),
    }
}

/// The status and the one-line reason of a refusal (`{"error": "…"}`).
pub async fn error(response: reqwest::Response) -> (reqwest::StatusCode, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    let reason = body["error"].as_str().expect("an error reason").to_string();
    assert!(!reason.contains('\n'), "one line: {reason:?}");
    (status, reason)
}

/// Sends `head` then `body` on a fresh connection (ignoring a server that stops reading
/// early) and returns what comes back within 10 s.
pub async fn raw_request(addr: SocketAddr, head: &[u8], body: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(head).await.expect("write head");
    // The server may answer and close before the body is through: that is the point.
    let _ = socket.write_all(body).await;
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline.into(), socket.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that asks for `path` and then never reads: its receive buffer is tiny, so the
/// server's writes to it back up at once.
pub async fn stuck_reader(addr: SocketAddr, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = socket.connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    stream
}

/// Reads `stream` until its text contains `needle` (or it ends, or 10 s pass without data);
/// returns the bytes read and the text.
pub async fn drain_until(mut stream: TcpStream, needle: &str) -> (usize, String) {
    let mut all = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => all.extend_from_slice(&buf[..n]),
            _ => break,
        }
        // Only the tail can hold a needle that was not there before.
        let tail = all.len().saturating_sub(buf.len() + needle.len());
        if all[tail..]
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            break;
        }
    }
    (all.len(), String::from_utf8_lossy(&all).into_owned())
}

/// The real server binary on a free port, with `env` on top of quiet test settings.
pub struct Binary {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Binary {
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::spawn(env, Stdio::inherit()).0
    }

    /// As [`Binary::start`], with every later line of its stdout (where it logs) sent to the
    /// receiver by a thread that keeps reading, so the log pipe never fills.
    pub fn start_logged(env: &[(&str, &str)]) -> (Self, std::sync::mpsc::Receiver<String>) {
        let (binary, stdout) = Self::spawn(env, Stdio::inherit());
        let (lines, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        (binary, received)
    }

    /// As [`Binary::start`], with nothing reading its stdout or stderr once it has said where it
    /// listens: a log pipe whose reader has died.
    pub fn start_unread(env: &[(&str, &str)]) -> Self {
        Self::spawn(env, Stdio::piped()).0
    }

    /// Starts it; returns it and its stdout after the line saying where it listens (dropping
    /// that reader closes the pipe: later lines are lost, never blocking).
    fn spawn(env: &[(&str, &str)], stderr: Stdio) -> (Self, BufReader<ChildStdout>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_OUTPUT_NAME", "leptos-live")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command.spawn().expect("start the server binary");
        drop(child.stderr.take());
        // The binary prints "listening on http://ADDR" once bound.
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        (Self { child, base }, stdout)
    }

    /// Sends `SIG<name>` to this process (by its own pid).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Waits up to `limit` for the process to exit; kills it and panics after that.
    pub async fn wait(mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("server still running {limit:?} after the signal");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // Only ours, by pid; a no-op when it has exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
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
