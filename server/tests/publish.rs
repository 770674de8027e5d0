//! `POST /api/ops/publish`: the operator's batch publish, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{next_event, open, spawn_app_with};
use futures_util::future::join_all;
use leptos_live::hub::{Backend, backend::NewEvent, redis::Redis};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::Config;

const TOKEN: &str = "operator-secret";

fn config() -> Config {
    Config {
        ops_token: Some(TOKEN.into()),
        max_batch_events: 4,
        ..Config::for_tests()
    }
}

async fn post(app: &common::TestApp, token: &str, body: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/api/ops/publish"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

/// One request, several events: each has its own result in order (an id, or the status it
/// would have had alone), the events of a channel get consecutive ids and reach its
/// subscribers in the batch's order.
#[tokio::test]
async fn a_batch_publishes_each_event_with_its_own_result() {
    let app = spawn_app_with(config()).await;
    let anyone = reqwest::Client::new();
    let mut clock = open(&app, &anyone, "/api/stream?channels=clock", None)
        .await
        .events;
    let batch = json!({"events": [
        {"channel": "clock", "event": "mark", "data": {"n": 1}},
        {"channel": "nope", "event": "mark", "data": {}},
        {"channel": "clock", "event": "bad\nname", "data": {}},
        {"channel": "clock", "event": "mark", "data": {"n": 2}},
    ]});
    let (status, answer) = post(&app, TOKEN, &batch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "{answer}");
    let (first, last) = (results[0]["id"].as_u64(), results[3]["id"].as_u64());
    assert_eq!(
        last.zip(first).and_then(|(b, a)| b.checked_sub(a)),
        Some(1),
        "{answer}"
    );
    assert_eq!(results[1]["status"], 404, "{answer}");
    assert_eq!(results[1]["error"], "unknown channel \"nope\"");
    assert_eq!(results[2]["status"], 400, "{answer}");
    let mut marks = Vec::new();
    while marks.len() < 2 {
        let event = next_event(&mut clock).await;
        if event.event == "mark" {
            let envelope: Value = serde_json::from_str(&event.data).unwrap();
            marks.push(envelope["data"]["n"].clone());
        }
    }
    assert_eq!(marks, [json!(1), json!(2)]);
}

/// The endpoint is the operator's: 404 without `OPS_TOKEN`, 401 with a wrong token (before the
/// body is read as a batch); a body that is not a batch is 400, more than `MAX_BATCH_EVENTS`
/// events 413, each with a one-line reason.
#[tokio::test]
async fn only_the_operator_publishes_and_bad_batches_are_refused() {
    let closed = spawn_app_with(Config::for_tests()).await;
    let (status, _) = post(&closed, TOKEN, r#"{"events":[]}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let app = spawn_app_with(config()).await;
    let (status, answer) = post(&app, "guess", "not json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, answer) = post(&app, TOKEN, "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let unknown_field = r#"{"events":[{"channel":"clock","event":"e","data":1,"id":"x"}]}"#;
    let (status, answer) = post(&app, TOKEN, unknown_field).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let five = json!({"events": vec![json!({"channel": "clock", "event": "e", "data": 1}); 5]});
    let (status, answer) = post(&app, TOKEN, &five.to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"], "5 events in one batch; at most 4");
    let (status, answer) = post(&app, TOKEN, r#"{"events":[]}"#).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"results": []})));
}

/// The operator's writes are outside the write budget (its token is the budget): a service
/// may publish as often as it needs, where anyone else is 429 after `WRITE_BURST`.
#[tokio::test]
async fn the_operator_is_not_held_to_the_write_budget() {
    let app = spawn_app_with(Config {
        write_burst: 2,
        writes_per_second: 1,
        ..config()
    })
    .await;
    let one = r#"{"events":[{"channel":"clock","event":"e","data":1}]}"#;
    for _ in 0..10 {
        let (status, answer) = post(&app, TOKEN, one).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(post(&app, "guess", one).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

/// With Redis, a batch over two channels is one script: published on one instance, delivered
/// by the other, each channel's events in the batch's order; an unknown channel's events are
/// refused alone.
#[tokio::test]
async fn with_redis_a_batch_reaches_the_other_instance_in_order() {
    let redis = common::RedisServer::start().await;
    let key = axum_extra::extract::cookie::Key::generate();
    let config = || Config {
        ops_token: Some(TOKEN.into()),
        bench: true,
        ..common::instance_config(&redis, &key)
    };
    let (a, b) = (
        spawn_app_with(config()).await,
        spawn_app_with(config()).await,
    );
    let anyone = reqwest::Client::new();
    let mut stream = open(&b, &anyone, "/api/stream?channels=bench/1,bench/2", None)
        .await
        .events;
    let events: Vec<Value> = (1..=30)
        .map(|n| {
            let channel = ["bench/1", "bench/2", "nope"][n % 3];
            json!({"channel": channel, "event": "mark", "data": {"n": n}})
        })
        .collect();
    let (status, answer) = post(&a, TOKEN, &json!({ "events": events }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let refused = results.iter().filter(|r| r["status"] == 404).count();
    assert_eq!((results.len(), refused), (30, 10), "{answer}");
    let mut seen: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    while seen[0].len() + seen[1].len() < 20 {
        let event = next_event(&mut stream).await;
        if event.event == "mark" {
            let envelope: Value = serde_json::from_str(&event.data).unwrap();
            let n = envelope["data"]["n"].as_u64().unwrap();
            let lane = usize::from(envelope["channel"] == "bench/2");
            seen[lane].push(n);
        }
    }
    let expected = |first: u64| (0..10).map(|k| first + 3 * k).collect::<Vec<_>>();
    assert_eq!(seen, [expected(3), expected(1)]);
}

/// A Redis backend of its own on `redis`, as the server makes one.
async fn backend(redis: &common::RedisServer) -> std::sync::Arc<Redis> {
    let idle = Duration::from_secs(60);
    let shutdown = tokio_util::sync::CancellationToken::new();
    Redis::connect(&redis.url(), "queued", idle, shutdown)
        .await
        .expect("connect")
}

fn event(n: usize) -> NewEvent {
    NewEvent {
        name: "mark".into(),
        data: format!(r#"{{"n":{n}}}"#).into(),
        except: Box::new([]),
    }
}

/// With Redis, single publishes that arrive while a script is in flight share the next one:
/// 100 at once take a few scripts, not 100, and each still gets its own consecutive id.
#[tokio::test]
async fn with_redis_single_publishes_that_queue_up_share_a_script() {
    let redis = common::RedisServer::start().await;
    let backend = backend(&redis).await;
    let scripts = async || {
        let redis::Value::BulkString(info) = redis.command(&["INFO", "commandstats"]).await else {
            panic!("INFO is a bulk string");
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let calls = |line: &str| {
            line.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        };
        (info.lines())
            .filter(|line| {
                line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:")
            })
            .filter_map(calls)
            .sum::<u64>()
    };
    let before = scripts().await;
    let publishes = (0..100).map(|n| backend.publish("together", 16, event(n)));
    let results = join_all(publishes).await;
    let mut ids: Vec<u64> = results
        .into_iter()
        .map(|r| r.expect("published").id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (ids[0]..ids[0] + 100).collect::<Vec<_>>());
    let used = scripts().await - before;
    assert!(used <= 10, "100 queued publishes took {used} scripts");
}

/// While Redis hangs, queued publishes fail within about two command timeouts (2 s each),
/// however many are waiting: those that waited a timeout already are not tried. (Tried in
/// groups of 64, 640 of them would take ten timeouts.)
#[tokio::test]
async fn with_redis_hanging_a_long_queue_fails_promptly() {
    let redis = common::RedisServer::start().await;
    let backend = backend(&redis).await;
    redis.pause();
    let started = Instant::now();
    let publishes = (0..640).map(|n| backend.publish("stuck", 16, event(n)));
    let results = join_all(publishes).await;
    let elapsed = started.elapsed();
    redis.resume();
    assert!(results.iter().all(Result::is_err), "nothing published");
    assert!(
        elapsed < Duration::from_secs(10),
        "all failed after {elapsed:?}"
    );
    assert!(backend.degraded().is_some(), "the hang is reported");
}
