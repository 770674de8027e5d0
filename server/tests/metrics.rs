//! `GET /metrics` over real HTTP: the operator's only, counters that move by exactly what
//! happened, an exposition `promtool` finds nothing wrong with, and a real Prometheus scraping it.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{TestApp, next_event, open, spawn_app_with};
use reqwest::StatusCode;
use server::Config;

const TOKEN: &str = "operator-token-0123456789";

fn config() -> Config {
    Config {
        bench: true,
        ops_token: Some(TOKEN.into()),
        ..Config::for_tests()
    }
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of `series` (name and labels exactly as rendered), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

/// Without OPS_TOKEN there is no `/metrics` (404); with it, no token or a wrong one is 401.
#[tokio::test]
async fn metrics_are_the_operators_only() {
    let app = spawn_app_with(Config::for_tests()).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);

    let app = spawn_app_with(config()).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::UNAUTHORIZED);
    let wrong = app.http.get(app.url("/metrics")).bearer_auth("nope");
    assert_eq!(
        wrong.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(scrape(&app).await.contains("leptos_live_streams_open"));
}

/// N publishes to M subscribers are N·M deliveries; the streams, their subscriptions by
/// pattern and the publish requests by route template are counted exactly; refused streams
/// count under their reason.
#[tokio::test]
async fn counters_move_by_what_happened() {
    const N: usize = 5;
    const M: usize = 3;
    let app = spawn_app_with(config()).await;
    let before = scrape(&app).await;
    let anyone = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..M {
        streams.push(open(&app, &anyone, "/api/stream?channels=bench", None).await);
    }
    for seq in 0..N {
        let published = app
            .http
            .post(app.url("/api/bench/bench"))
            .body(format!("{{\"seq\":{seq}}}"));
        assert!(published.send().await.unwrap().status().is_success());
    }
    for stream in &mut streams {
        for _ in 0..N {
            assert_eq!(next_event(&mut stream.events).await.event, "bench");
        }
    }
    assert_eq!(
        app.get("/api/stream?channels=nope").await.status(),
        StatusCode::NOT_FOUND
    );
    let bad_cursor = anyone
        .get(app.url("/api/stream?channels=bench"))
        .header("last-event-id", "x");
    assert_eq!(
        bad_cursor.send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    let after = scrape(&app).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta("leptos_live_events_delivered_total"),
        (N * M) as f64,
        "{after}"
    );
    assert_eq!(delta("leptos_live_streams_accepted_total"), M as f64);
    assert_eq!(value(&after, "leptos_live_streams_open"), M as f64);
    assert_eq!(
        value(&after, "leptos_live_subscriptions_open{pattern=\"bench\"}"),
        M as f64
    );
    assert_eq!(
        value(
            &after,
            "leptos_live_subscriptions_open{pattern=\"bench/:id\"}"
        ),
        0.0
    );
    assert!(delta("leptos_live_events_published_total") >= N as f64);
    let refused = |reason| format!("leptos_live_streams_refused_total{{reason=\"{reason}\"}}");
    assert_eq!(delta(&refused("unknown_channel")), 1.0, "{after}");
    assert_eq!(delta(&refused("bad_request")), 1.0);
    assert_eq!(delta(&refused("limit_total")), 0.0);
    let posts =
        "http_requests_total{route=\"/api/bench/{*channel}\",method=\"POST\",status=\"200\"}";
    assert_eq!(delta(posts), N as f64, "{after}");
    let timed =
        "http_request_duration_seconds_count{route=\"/api/bench/{*channel}\",method=\"POST\"}";
    assert_eq!(delta(timed), N as f64);
    assert!(value(&after, "leptos_live_publish_duration_seconds_count") >= N as f64);
    assert_eq!(value(&after, "leptos_live_backend_up"), 1.0);
    assert_eq!(value(&after, "cluster_lease_held"), 1.0);
    // Labels name patterns and route templates, never a client's channel or path.
    assert!(
        !after.contains("channels=nope") && !after.contains("\"nope\""),
        "{after}"
    );
}

/// Through Redis: the backend is up, its pub/sub link has not been lost, and every event's trip
/// through pub/sub is timed (one sample per message this instance received).
#[tokio::test]
async fn the_redis_link_is_measured() {
    let redis = common::RedisServer::start().await;
    let key = axum_extra::extract::cookie::Key::generate();
    let app = spawn_app_with(Config {
        bench: true,
        ops_token: Some(TOKEN.into()),
        ..common::instance_config(&redis, &key)
    })
    .await;
    let mut stream = open(
        &app,
        &reqwest::Client::new(),
        "/api/stream?channels=bench",
        None,
    )
    .await;
    let before = scrape(&app).await;
    for seq in 0..3 {
        let published = app
            .http
            .post(app.url("/api/bench/bench"))
            .body(format!("{{\"seq\":{seq}}}"));
        assert!(published.send().await.unwrap().status().is_success());
        assert_eq!(next_event(&mut stream.events).await.event, "bench");
    }
    let after = scrape(&app).await;
    let lag = "leptos_live_backend_pubsub_lag_seconds_count";
    assert!(value(&after, lag) - value(&before, lag) >= 3.0, "{after}");
    assert_eq!(value(&after, "leptos_live_backend_up"), 1.0);
    assert_eq!(
        value(&after, "leptos_live_backend_relinks_total"),
        0.0,
        "{after}"
    );
    assert!(
        after.contains("leptos_live_backend_gaps_total 0\n"),
        "{after}"
    );
}

/// A reader that stops reading shows as unsent bytes in the connection gauges, and they go
/// when it leaves.
#[tokio::test]
async fn a_stuck_reader_shows_as_unsent_bytes() {
    let app = spawn_app_with(config()).await;
    let stuck = common::stuck_reader(app.addr, "/api/stream?channels=bench").await;
    app.wait_for_connections(1).await;
    let payload = format!("\"{}\"", "z".repeat(4_000));
    for _ in 0..300 {
        let published = app
            .state
            .hub
            .publish_json("bench", "bench", payload.clone());
        published.await.unwrap();
    }
    let mut text = String::new();
    for _ in 0..50 {
        text = scrape(&app).await;
        if value(&text, "http_connections_unsent_bytes") > 4_000.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        value(&text, "http_connections_unsent_bytes") > 4_000.0,
        "{text}"
    );
    // The stuck stream and the scrape's own connection at least.
    assert!(value(&text, "http_connections_open") >= 2.0, "{text}");
    drop(stuck);
    let mut left = f64::MAX;
    for _ in 0..100 {
        left = value(&scrape(&app).await, "http_connections_unsent_bytes");
        if left < 4_000.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        left < 4_000.0,
        "{left} bytes still unsent after the reader left"
    );
}

/// `promtool check metrics` (Prometheus's own linter) finds no problem in the exposition.
#[tokio::test]
async fn promtool_finds_no_problem() {
    let app = spawn_app_with(config()).await;
    let _stream = open(
        &app,
        &reqwest::Client::new(),
        "/api/stream?channels=bench",
        None,
    )
    .await;
    app.get("/no/such/page").await;
    let text = scrape(&app).await;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; ./x test installs it)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}

/// A Prometheus server kept by pid; killed on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real Prometheus (Debian package) scrapes a running instance with the operator's token,
/// and its query API reports the open-streams gauge.
#[tokio::test]
async fn prometheus_scrapes_it() {
    let app = spawn_app_with(config()).await;
    let anyone = reqwest::Client::new();
    let _streams = [
        open(&app, &anyone, "/api/stream?channels=bench", None).await,
        open(&app, &anyone, "/api/stream?channels=bench", None).await,
    ];
    let dir = std::env::temp_dir().join(format!("leptos-live-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: app\n    \
         authorization: {{credentials: {TOKEN}}}\n    \
         static_configs: [{{targets: ['{}']}}]\n",
        app.addr
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian package; ./x test installs it)"),
    );
    let query = format!("http://127.0.0.1:{port}/api/v1/query?query=leptos_live_streams_open");
    let mut last = String::new();
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(response) = anyone.get(&query).send().await else {
            continue;
        };
        last = response.text().await.unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_str(&last).unwrap_or_default();
        if answer["data"]["result"][0]["value"][1] == "2" {
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    panic!("Prometheus never reported 2 open streams; last answer: {last}");
}
