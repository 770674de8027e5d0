//! Sessions over real HTTP: a copy of the cookie stops working at sign-out, on every instance;
//! a sign-in replaces the session it came with; a session ends at its lifetime; the UI's
//! sign-in (a server function) follows the same rules.

mod common;

use std::time::Duration;

use app::{
    actions::{SignIn, SignOut},
    tasks::AddTask,
};
use axum::http::header;
use axum_extra::extract::cookie::Key;
use common::{RedisServer, instance_config, spawn_app, spawn_app_with};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;

/// `Set-Cookie` of a sign-in as `user`, as the `Cookie` header a copy of it would send.
async fn sign_in(app: &common::TestApp, user: &str, with: Option<&str>) -> String {
    let mut request = app
        .http
        .post(app.url("/api/session"))
        .json(&serde_json::json!({ "user": user }));
    if let Some(cookie) = with {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// Who the server says `cookie` signs in.
async fn who(app: &common::TestApp, cookie: &str) -> serde_json::Value {
    let response = app
        .http
        .get(app.url("/api/session"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<serde_json::Value>().await.unwrap()["user"].clone()
}

/// The status of opening a signed-in-only stream with `cookie`.
async fn stream_status(app: &common::TestApp, cookie: &str) -> StatusCode {
    app.http
        .get(app.url("/api/stream?channels=tasks"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// A cookie copied before sign-out (by anyone: a shared machine, a stolen backup) no longer
/// signs in, opens a signed-in stream or writes once its session has signed out.
#[tokio::test]
async fn a_copied_cookie_stops_working_at_sign_out() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, "alice", None).await;
    let copy = cookie.clone();
    assert_eq!(who(&app, &copy).await, "alice");
    assert_eq!(stream_status(&app, &copy).await, StatusCode::OK);

    let out = app
        .http
        .delete(app.url("/api/session"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    assert_eq!(who(&app, &copy).await, serde_json::Value::Null);
    assert_eq!(stream_status(&app, &copy).await, StatusCode::UNAUTHORIZED);
    let write = app
        .http
        .post(app.url(AddTask::PATH))
        .header(header::COOKIE, &copy)
        .form(&[("text", "written with a copied cookie")])
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);
}

/// Signing in again (as anyone) makes a new session and ends the one the request came with:
/// a cookie planted in a browser before its owner signs in is worth nothing afterwards.
#[tokio::test]
async fn a_sign_in_replaces_the_session_it_came_with() {
    let app = spawn_app().await;
    let planted = sign_in(&app, "bob", None).await;
    let fresh = sign_in(&app, "alice", Some(&planted)).await;
    assert_ne!(fresh, planted);
    assert_eq!(who(&app, &fresh).await, "alice");
    assert_eq!(who(&app, &planted).await, serde_json::Value::Null);
}

/// The sign-in and sign-out the pages use (server functions) open and end sessions the same
/// way as the REST endpoints.
#[tokio::test]
async fn the_uis_sign_in_and_out_use_sessions_too() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url(SignIn::PATH))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("user=carol")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_string();
    assert_eq!(who(&app, &cookie).await, "carol");

    let out = app
        .http
        .post(app.url(SignOut::PATH))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(who(&app, &cookie).await, serde_json::Value::Null);

    let unknown = app
        .http
        .post(app.url(SignIn::PATH))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("user=mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// With Redis, a session is the deployment's: signed in through one instance, it works on
/// the other; signed out through the other, a copy of its cookie works on neither. Sessions
/// end at `SESSION_MAX_SECS` by Redis's clock.
#[tokio::test]
async fn with_redis_sessions_are_shared_and_sign_out_ends_them_everywhere() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let a = spawn_app_with(instance_config(&redis, &key)).await;
    let b = spawn_app_with(instance_config(&redis, &key)).await;

    let cookie = sign_in(&a, "alice", None).await;
    assert_eq!(who(&b, &cookie).await, "alice");
    assert_eq!(stream_status(&b, &cookie).await, StatusCode::OK);
    let out = b
        .http
        .delete(b.url("/api/session"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    for app in [&a, &b] {
        assert_eq!(who(app, &cookie).await, serde_json::Value::Null);
        assert_eq!(stream_status(app, &cookie).await, StatusCode::UNAUTHORIZED);
    }

    let mut short = instance_config(&redis, &key);
    short.sessions.lifetime = Duration::from_secs(1);
    let c = spawn_app_with(short).await;
    let brief = sign_in(&c, "bob", None).await;
    assert_eq!(who(&a, &brief).await, "bob");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        who(&a, &brief).await,
        serde_json::Value::Null,
        "past its lifetime"
    );
}

/// With Redis away, a request that needs to know who is asking is answered 503 with a
/// reason, not "signed out" (which would sign everyone out in the browser) and not 500.
#[tokio::test]
async fn with_redis_away_sessions_are_503_not_signed_out() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let app = spawn_app_with(instance_config(&redis, &key)).await;
    let cookie = sign_in(&app, "alice", None).await;
    redis.pause();
    let response = app
        .http
        .get(app.url("/api/session"))
        .header(header::COOKIE, &cookie)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    redis.resume();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("sign-in"),
        "{body}"
    );
}
