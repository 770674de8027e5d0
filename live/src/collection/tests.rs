//! A collection over the in-memory hub: bounds, compare-and-set rules, announcements, and
//! what happens when an announcement's answer is lost. (The Redis store runs the same way through the
//! server's scale-out tests, over real Redis.)

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;

use super::*;
use crate::hub::{
    Backend, BackendError, Hub, Limits, Registry, Settings, Stored,
    backend::{Feed, NewEvent},
    memory::Memory,
    registry::public,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Task {
    id: u64,
    version: u64,
    owner: String,
    done: bool,
}

impl Item for Task {
    const CREATED: &'static str = "task:created";
    const UPDATED: &'static str = "task:updated";
    fn id(&self) -> u64 {
        self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn is_active(&self) -> bool {
        !self.done
    }
}

const RULES: Rules = Rules {
    active_per_owner: 2,
    retired_kept: 2,
};

/// A hub with a public `tasks` channel (and no `unregistered` one).
fn hub() -> Arc<Hub> {
    hub_on(Arc::new(Memory::new()))
}

fn hub_on(backend: Arc<dyn Backend>) -> Arc<Hub> {
    let mut registry = Registry::default();
    let settings = Settings {
        history: 64,
        heartbeat: Duration::from_secs(15),
    };
    registry.register("tasks", settings, public()).unwrap();
    Arc::new(Hub::new(registry, backend, Limits::default()))
}

fn new_task(owner: &str) -> impl FnOnce(u64) -> Task + '_ {
    move |id| Task {
        id,
        version: 1,
        owner: owner.into(),
        done: false,
    }
}

/// `owner` finishes a task; anyone else is refused.
fn finish(owner: &str) -> impl Fn(&Task) -> Result<Task, &'static str> + '_ {
    move |task| {
        if task.owner != owner {
            return Err("not yours");
        }
        Ok(Task {
            done: true,
            version: task.version + 1,
            ..task.clone()
        })
    }
}

/// Active items are capped per owner; finishing one frees its place; only the newest retired
/// items stay, so the collection is bounded by its users.
#[tokio::test]
async fn active_items_are_capped_per_owner_and_retired_ones_age_out() {
    let tasks = Collection::<Task>::new(hub(), "tasks", RULES);
    let a = tasks.create(new_task("alice"), None).await.unwrap();
    let b = tasks.create(new_task("alice"), None).await.unwrap();
    assert!(matches!(
        tasks.create(new_task("alice"), None).await,
        Err(CollectionError::OverLimit { limit: 2 })
    ));
    // Another owner has places of their own.
    let c = tasks.create(new_task("bob"), None).await.unwrap();
    assert_eq!((a.id, b.id), (1, 2));
    assert!(c.id > b.id, "ids only grow, refused creations included");

    tasks.update(a.id, None, finish("alice")).await.unwrap();
    let d = tasks.create(new_task("alice"), None).await.unwrap();
    tasks.update(b.id, None, finish("alice")).await.unwrap();
    tasks.update(d.id, None, finish("alice")).await.unwrap();
    let (shown, total) = tasks.recent(10).await.unwrap();
    let ids: Vec<u64> = shown.iter().map(|t| t.id).collect();
    assert_eq!(ids, [d.id, c.id, b.id], "the oldest retired task aged out");
    assert_eq!(total, 3);
    assert_eq!(tasks.get(a.id).await.unwrap(), None);
    assert!(matches!(
        tasks.update(a.id, None, finish("alice")).await,
        Err(CollectionError::NotFound(1))
    ));
}

/// Every write is counted by collection pattern, operation and outcome
/// (`leptos_live_collection_writes_total`).
#[tokio::test]
async fn writes_are_counted_by_outcome() {
    let hub = hub();
    let tasks = Collection::<Task>::new(hub.clone(), "tasks", RULES);
    let task = tasks.create(new_task("alice"), None).await.unwrap();
    tasks.create(new_task("alice"), None).await.unwrap();
    tasks.create(new_task("alice"), None).await.unwrap_err();
    tasks
        .update(task.id, None, finish("bob"))
        .await
        .unwrap_err();
    tasks.update(task.id, None, finish("alice")).await.unwrap();
    tasks.update(99, None, finish("alice")).await.unwrap_err();
    let text = hub.render_metrics();
    let series = |op: &str, outcome: &str| {
        format!(
            "leptos_live_collection_writes_total{{collection=\"tasks\",operation=\"{op}\",outcome=\"{outcome}\"}}"
        )
    };
    for (op, outcome, n) in [
        ("create", "ok", 2),
        ("create", "over_limit", 1),
        ("update", "refused", 1),
        ("update", "ok", 1),
        ("update", "not_found", 1),
    ] {
        assert!(
            text.contains(&format!("{} {n}\n", series(op, outcome))),
            "{op} {outcome}: {text}"
        );
    }
}

/// A rule's refusal changes nothing; a rule may not move an item to another owner.
#[tokio::test]
async fn a_refused_change_leaves_the_item_as_it_was() {
    let tasks = Collection::<Task>::new(hub(), "tasks", RULES);
    let task = tasks.create(new_task("alice"), None).await.unwrap();
    assert!(matches!(
        tasks.update(task.id, None, finish("bob")).await,
        Err(CollectionError::Refused("not yours"))
    ));
    let stolen = |t: &Task| {
        Ok::<_, ()>(Task {
            owner: "bob".into(),
            ..t.clone()
        })
    };
    assert!(matches!(
        tasks.update(task.id, None, stolen).await,
        Err(CollectionError::Moved(_))
    ));
    assert_eq!(tasks.get(task.id).await.unwrap(), Some(task));
}

/// Every change is announced on the channel, as `created` then `updated`, with the item.
#[tokio::test]
async fn changes_are_announced_on_the_channel() {
    let hub = hub();
    let tasks = Collection::<Task>::new(hub.clone(), "tasks", RULES);
    let task = tasks.create(new_task("alice"), None).await.unwrap();
    let done = tasks.update(task.id, None, finish("alice")).await.unwrap();
    let events = hub.recent::<Updated<Task>>("tasks", 10).await.unwrap();
    assert_eq!(events, [Updated(done.clone())]);
    let created = hub.recent::<Created<Task>>("tasks", 10).await.unwrap();
    assert_eq!(created, [Created(task)]);
}

/// A collection on a channel nobody registered is refused before anything is stored.
#[tokio::test]
async fn an_unregistered_channel_stores_nothing() {
    let tasks = Collection::<Task>::new(hub(), "unregistered", RULES);
    for _ in 0..3 {
        assert!(matches!(
            tasks.create(new_task("alice"), None).await,
            Err(CollectionError::Hub(crate::hub::HubError::UnknownChannel(
                _
            )))
        ));
    }
    assert_eq!(tasks.recent(10).await.unwrap(), (vec![], 0));
}

/// A backend whose first `fails` publishes go out and then answer with an error, as a Redis
/// reply that timed out after the script ran.
struct Ambiguous {
    inner: Memory,
    fails: std::sync::atomic::AtomicUsize,
}

impl Backend for Ambiguous {
    fn epoch(&self) -> Arc<str> {
        self.inner.epoch()
    }
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        event: NewEvent,
    ) -> BoxFuture<'a, Result<Arc<Stored>, BackendError>> {
        Box::pin(async move {
            let stored = self.inner.publish(channel, history, event).await?;
            let left = self.fails.load(Ordering::SeqCst);
            if left == 0 {
                return Ok(stored);
            }
            self.fails.store(left - 1, Ordering::SeqCst);
            Err(BackendError("response timed out".into()))
        })
    }
    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        after: Option<u64>,
    ) -> BoxFuture<'a, Result<Feed, BackendError>> {
        self.inner.subscribe(channel, history, after)
    }
    fn head<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        self.inner.head(channel, history)
    }
    fn recent<'a>(
        &'a self,
        channel: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<Stored>>, BackendError>> {
        self.inner.recent(channel, n)
    }
    fn store(&self, name: &str) -> Arc<dyn Store> {
        self.inner.store(name)
    }
    fn sweep(&self, idle: Duration) -> usize {
        self.inner.sweep(idle)
    }
}

fn ambiguous_hub(fails: usize) -> Arc<Hub> {
    hub_on(Arc::new(Ambiguous {
        inner: Memory::new(),
        fails: fails.into(),
    }))
}

/// An announcement whose answer was lost may have gone out: the change is never taken back
/// (that left an event of an item that was not there, and a retry made a second one). It
/// stays, and the announcement is tried again later; a page folds the copy to nothing.
#[tokio::test(start_paused = true)]
async fn a_change_whose_announcement_timed_out_stays_and_is_announced_again() {
    let hub = ambiguous_hub(2);
    let tasks = Collection::<Task>::new(hub.clone(), "tasks", RULES);
    let task = tasks.create(new_task("alice"), None).await.unwrap();
    let done = tasks.update(task.id, None, finish("alice")).await.unwrap();
    assert_eq!(tasks.get(task.id).await.unwrap(), Some(done.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created = hub.recent::<Created<Task>>("tasks", 10).await.unwrap();
    assert_eq!(created, [Created(task.clone()), Created(task)]);
    let updated = hub.recent::<Updated<Task>>("tasks", 10).await.unwrap();
    assert_eq!(updated, [Updated(done.clone()), Updated(done)]);
}

/// A creation made again with its key (its answer was lost) gets the first item: announced
/// again while the first announcement is unconfirmed, and not once it is. (Paused time: the
/// first one's own retry, a second later, never comes into it.)
#[tokio::test(start_paused = true)]
async fn a_creation_made_again_with_its_key_creates_nothing() {
    let hub = ambiguous_hub(1);
    let tasks = Collection::<Task>::new(hub.clone(), "tasks", RULES);
    let first = tasks
        .create_once("alice:k", new_task("alice"), None)
        .await
        .unwrap();
    let count = || async {
        hub.recent::<Created<Task>>("tasks", 10)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(count().await, 1, "out, though it answered with an error");
    let again = tasks
        .create_once("alice:k", new_task("alice"), None)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(
        count().await,
        2,
        "announced again: the first was not confirmed"
    );
    let third = tasks
        .create_once("alice:k", new_task("alice"), None)
        .await
        .unwrap();
    assert_eq!(third, first);
    assert_eq!(count().await, 2, "confirmed: nothing more");
    assert_eq!(tasks.recent(10).await.unwrap().1, 1);
    // A refused creation frees its key.
    let tasks = Collection::<Task>::new(
        hub.clone(),
        "tasks",
        Rules {
            active_per_owner: 1,
            retired_kept: 1,
        },
    );
    assert!(matches!(
        tasks.create_once("alice:k2", new_task("alice"), None).await,
        Err(CollectionError::OverLimit { .. })
    ));
    let store = hub.store("tasks");
    assert_eq!(store.claim("alice:k2", 99).await.unwrap(), None);
}

/// The page's fold: newest first, bounded, never older over newer.
#[test]
fn upsert_keeps_the_newest_first_and_bounded() {
    let task = |id, version| Task {
        id,
        version,
        owner: "a".into(),
        done: false,
    };
    let mut shown = vec![];
    for id in [5, 1, 3, 2, 4] {
        assert!(upsert(&mut shown, task(id, 1), 4));
    }
    let ids = |shown: &Vec<Task>| shown.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(&shown), [5, 4, 3, 2]);
    assert!(
        !upsert(&mut shown, task(1, 1), 4),
        "older than everything kept"
    );
    assert!(upsert(&mut shown, task(3, 2), 4));
    assert!(!upsert(&mut shown, task(3, 1), 4), "an older copy");
    assert!(!upsert(&mut shown, task(3, 2), 4), "the same copy again");
    assert_eq!(shown[2].version, 2);
    assert!(upsert(&mut shown, task(9, 1), 4));
    assert_eq!(ids(&shown), [9, 5, 4, 3]);
}
