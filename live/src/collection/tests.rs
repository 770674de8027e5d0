//! A collection over the in-memory hub: bounds, compare-and-set rules, announcements and
//! taking back what could not be announced. (The Redis store runs the same way through the
//! server's scale-out tests, over real Redis.)

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use super::*;
use crate::hub::{Hub, Limits, Registry, Settings, memory::Memory, registry::public};

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
    let mut registry = Registry::default();
    let settings = Settings {
        history: 64,
        heartbeat: Duration::from_secs(15),
    };
    registry.register("tasks", settings, public()).unwrap();
    Arc::new(Hub::new(
        registry,
        Arc::new(Memory::new()),
        Limits::default(),
    ))
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

/// What could not be announced is taken back: a creation leaves no item and no count behind,
/// so the owner's places stay free.
#[tokio::test]
async fn what_cannot_be_announced_is_taken_back() {
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

/// An update that cannot be announced puts the item back as it was, counts included.
#[tokio::test]
async fn an_update_that_cannot_be_announced_is_undone() {
    let hub = hub();
    let store = hub.store("unregistered");
    // An item placed directly in the store of a collection whose channel does not exist.
    let json = r#"{"id":1,"version":1,"owner":"alice","done":false}"#;
    let entry = store::Entry {
        id: 1,
        json,
        owner: "alice",
        active: true,
    };
    assert_eq!(
        store.insert(entry, 1, 1).await.unwrap(),
        store::Written::Done
    );
    let tasks = Collection::<Task>::new(
        hub,
        "unregistered",
        Rules {
            active_per_owner: 1,
            retired_kept: 1,
        },
    );
    assert!(matches!(
        tasks.update(1, None, finish("alice")).await,
        Err(CollectionError::Hub(_))
    ));
    let held = tasks.get(1).await.unwrap().unwrap();
    assert!(!held.done, "back to what it was");
    // Still counted as active: a second active item is over alice's limit of one.
    let second = store::Entry { id: 2, ..entry };
    assert_eq!(
        store.insert(second, 1, 1).await.unwrap(),
        store::Written::OverLimit
    );
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
