//! The example live collection (`app::tasks`) over real HTTP: its server functions, its events
//! on the stream, its page rendered with the listing, and its refusals.

mod common;

use app::tasks::{AddTask, FinishTask, Task};
use common::{error, next_event, open, signed_in, spawn_app};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;

/// Calls a server function as the browser does: a form-encoded `POST` to its path.
async fn call(
    app: &common::TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("request")
}

async fn add(app: &common::TestApp, client: &reqwest::Client, text: &str) -> Task {
    let response = call(app, client, AddTask::PATH, &[("text", text)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a task")
}

/// Added and finished tasks reach every signed-in stream as `task:created` then
/// `task:updated`; the page lists them, rendered on the server.
#[tokio::test]
async fn tasks_are_listed_and_announced() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut watching = open(&app, &bob, "/api/stream?channels=tasks", None).await;

    let task = add(&app, &alice, "  write the docs ").await;
    assert_eq!(
        (task.title.as_str(), task.owner.as_str()),
        ("write the docs", "alice")
    );
    assert!(!task.done);
    let finished = call(
        &app,
        &alice,
        FinishTask::PATH,
        &[("id", &task.id.to_string())],
    )
    .await;
    assert_eq!(finished.status(), StatusCode::OK);

    let created = next_event(&mut watching.events).await;
    assert_eq!(created.event, "task:created");
    let created: serde_json::Value = serde_json::from_str(&created.data).unwrap();
    assert_eq!(created["channel"], "tasks");
    assert_eq!(
        serde_json::from_value::<Task>(created["data"].clone()).unwrap(),
        task
    );
    let updated = next_event(&mut watching.events).await;
    assert_eq!(updated.event, "task:updated");
    let updated: serde_json::Value = serde_json::from_str(&updated.data).unwrap();
    assert_eq!(updated["data"]["done"], true);
    assert_eq!(updated["data"]["version"], 2);

    let page = bob.get(app.url("/tasks")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="tasks-snapshot""#), "{html}");
    assert!(
        html.contains("write the docs"),
        "the listing is in the HTML"
    );
}

/// Signed out: the page says to sign in and the actions answer 401; someone else's task
/// cannot be finished (403), a finished one not again (409), a missing one is 404; a bad
/// title is 422 with the rule.
#[tokio::test]
async fn task_actions_refuse_with_the_right_status() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    let html = anonymous
        .get(app.url("/tasks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("sign-in-hint"), "{html}");
    let refused = call(&app, &anonymous, AddTask::PATH, &[("text", "x")]).await;
    assert_eq!(error(refused).await.0, StatusCode::UNAUTHORIZED);

    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let task = add(&app, &alice, "mine").await;
    let id = task.id.to_string();
    let form = [("id", id.as_str())];
    let finish = |client| call(&app, client, FinishTask::PATH, &form);
    assert_eq!(
        error(finish(&bob).await).await,
        (
            StatusCode::FORBIDDEN,
            "only its owner can finish a task".into()
        )
    );
    assert_eq!(finish(&alice).await.status(), StatusCode::OK);
    assert_eq!(error(finish(&alice).await).await.0, StatusCode::CONFLICT);
    let missing = call(&app, &alice, FinishTask::PATH, &[("id", "999")]).await;
    assert_eq!(error(missing).await.0, StatusCode::NOT_FOUND);
    let blank = call(&app, &alice, AddTask::PATH, &[("text", "   ")]).await;
    assert_eq!(
        error(blank).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "title: 1 to 120 characters".into()
        )
    );
}

/// Open tasks are capped per user (429 with the limit); finishing one frees a place.
#[tokio::test]
async fn open_tasks_are_capped_per_user() {
    let app = spawn_app().await;
    let carol = signed_in(&app, "carol").await;
    let limit = app::tasks::RULES.active_per_owner;
    let mut first = None;
    for n in 0..limit {
        let task = add(&app, &carol, &format!("task {n}")).await;
        first.get_or_insert(task.id);
    }
    let over = call(&app, &carol, AddTask::PATH, &[("text", "one too many")]).await;
    // Like every 429 and 503, it says when to come back, whoever refuses.
    assert_eq!(over.headers()["retry-after"], "5");
    let (status, reason) = error(over).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reason.contains(&limit.to_string()), "{reason}");
    let id = first.unwrap().to_string();
    let done = call(&app, &carol, FinishTask::PATH, &[("id", &id)]).await;
    assert_eq!(done.status(), StatusCode::OK);
    add(&app, &carol, "room again").await;
}
