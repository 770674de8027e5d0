//! Where a collection's items are kept: the [`Store`] trait, and [`Memory`], the store of the
//! in-memory hub (the Redis hub's is `super::redis::Shared`). A store holds items as JSON and knows
//! only their ids, owners and whether they are active; [`super::Collection`] does the rest, the
//! same way over either store.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use futures_util::{FutureExt, future::BoxFuture};

use crate::hub::BackendError;

/// A store's answer, later.
pub type Pending<'a, T> = BoxFuture<'a, Result<T, BackendError>>;

/// An item as a store sees it.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub id: u64,
    pub json: &'a str,
    pub owner: &'a str,
    pub active: bool,
}

/// What [`Store::insert`] and [`Store::swap`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The owner already has `limit` active items; nothing was written.
    OverLimit,
    /// The item is no longer what was read (or is gone); nothing was written.
    Changed,
}

/// What an idempotency key holds (see [`Store::claim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The item the first request with this key creates.
    pub id: u64,
    /// Whether its creation was announced.
    pub announced: bool,
}

/// How long an idempotency key is remembered after its first use.
pub const KEY_TTL_SECS: u64 = 24 * 60 * 60;
/// Idempotency keys a collection in memory remembers at most (the oldest go first).
pub const MAX_KEYS: usize = 10_000;

/// The items of one collection, in this process or shared by instances.
///
/// Every write keeps the bounds: an owner's active items are counted (a write that would take
/// them past `limit` is refused), and an item that becomes inactive joins the retired ones, of
/// which only the newest `retired_kept` stay (older ones are deleted).
pub trait Store: Send + Sync + 'static {
    /// An id never given before in this collection.
    fn next_id(&self) -> Pending<'_, u64>;

    /// Adds a new item.
    fn insert<'a>(
        &'a self,
        item: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written>;

    /// Makes `key` stand for item `id` for [`KEY_TTL_SECS`], unless it already stands for
    /// one: then that claim is returned and nothing changes.
    fn claim<'a>(&'a self, key: &'a str, id: u64) -> Pending<'a, Option<Claim>>;

    /// Marks the creation claimed by `key` as announced.
    fn confirm<'a>(&'a self, key: &'a str) -> Pending<'a, ()>;

    /// Forgets `key`: its request created nothing (it was refused).
    fn release<'a>(&'a self, key: &'a str) -> Pending<'a, ()>;

    /// The item's JSON, if it is there.
    fn get(&self, id: u64) -> Pending<'_, Option<String>>;

    /// Replaces `before` (same id and owner) with `after` if it is still exactly `before`.
    fn swap<'a>(
        &'a self,
        before: Entry<'a>,
        after: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written>;

    /// The newest `n` items' JSON, newest first, and how many the collection holds.
    fn recent(&self, n: usize) -> Pending<'_, (Vec<String>, usize)>;
}

/// The stores of the in-memory hub, one per collection name.
#[derive(Default)]
pub struct Stores(Mutex<HashMap<String, Arc<Memory>>>);

impl Stores {
    /// The store named `name`, made on first use.
    pub fn get(&self, name: &str) -> Arc<dyn Store> {
        let mut stores = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        stores.entry(name.to_string()).or_default().clone()
    }
}

/// A collection in this process. The lock is never held across an await.
#[derive(Default)]
pub struct Memory(Mutex<Items>);

#[derive(Default)]
struct Items {
    last_id: u64,
    json: BTreeMap<u64, String>,
    /// Active items per owner.
    active: HashMap<String, usize>,
    /// Inactive items in the order they retired: the front is deleted first.
    retired: VecDeque<u64>,
    /// Idempotency keys and when each was first used, oldest first.
    claims: HashMap<String, (Claim, std::time::Instant)>,
    claimed: VecDeque<(std::time::Instant, String)>,
}

impl Memory {
    fn with<T: Send + 'static>(&self, f: impl FnOnce(&mut Items) -> T) -> Pending<'_, T> {
        // Each write below completes before the lock is released or changes nothing, so a
        // poisoned lock is still consistent.
        let value = f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
        async move { Ok(value) }.boxed()
    }
}

impl Items {
    fn active_of(&self, owner: &str) -> usize {
        self.active.get(owner).copied().unwrap_or(0)
    }

    /// Counts `item` into its bounds (`joins`) or out of them: an active item in its owner's
    /// count, an inactive one among the retired, where the oldest beyond `retired_kept` go.
    fn count(&mut self, item: &Entry, joins: bool, retired_kept: usize) {
        if item.active {
            let n = self.active.entry(item.owner.to_string()).or_default();
            if joins {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.active.remove(item.owner);
                }
            }
        } else if joins {
            self.retired.push_back(item.id);
            while self.retired.len() > retired_kept {
                if let Some(old) = self.retired.pop_front() {
                    self.json.remove(&old);
                }
            }
        } else if let Some(at) = self.retired.iter().rposition(|&id| id == item.id) {
            self.retired.remove(at);
        }
    }
}

impl Store for Memory {
    fn next_id(&self) -> Pending<'_, u64> {
        self.with(|items| {
            items.last_id += 1;
            items.last_id
        })
    }

    fn insert<'a>(
        &'a self,
        item: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written> {
        self.with(|items| {
            if item.active && items.active_of(item.owner) >= limit {
                return Written::OverLimit;
            }
            items.json.insert(item.id, item.json.to_string());
            items.count(&item, true, retired_kept);
            Written::Done
        })
    }

    fn claim<'a>(&'a self, key: &'a str, id: u64) -> Pending<'a, Option<Claim>> {
        self.with(move |items| {
            let now = std::time::Instant::now();
            let ttl = std::time::Duration::from_secs(KEY_TTL_SECS);
            while let Some((at, old)) = items.claimed.front() {
                if now.duration_since(*at) < ttl && items.claimed.len() < MAX_KEYS {
                    break;
                }
                // Unless it was released and claimed again since.
                if items.claims.get(old).is_some_and(|(_, since)| since == at) {
                    items.claims.remove(old);
                }
                items.claimed.pop_front();
            }
            if let Some((claim, _)) = items.claims.get(key) {
                return Some(*claim);
            }
            let claim = Claim {
                id,
                announced: false,
            };
            items.claims.insert(key.to_string(), (claim, now));
            items.claimed.push_back((now, key.to_string()));
            None
        })
    }

    fn confirm<'a>(&'a self, key: &'a str) -> Pending<'a, ()> {
        self.with(move |items| {
            if let Some((claim, _)) = items.claims.get_mut(key) {
                claim.announced = true;
            }
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> Pending<'a, ()> {
        // Its place in `claimed` goes when it comes to the front.
        self.with(move |items| {
            items.claims.remove(key);
        })
    }

    fn get(&self, id: u64) -> Pending<'_, Option<String>> {
        self.with(|items| items.json.get(&id).cloned())
    }

    fn swap<'a>(
        &'a self,
        before: Entry<'a>,
        after: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written> {
        self.with(|items| {
            if items.json.get(&before.id).map(String::as_str) != Some(before.json) {
                return Written::Changed;
            }
            if after.active && !before.active && items.active_of(after.owner) >= limit {
                return Written::OverLimit;
            }
            items.json.insert(after.id, after.json.to_string());
            if before.active != after.active {
                items.count(&before, false, retired_kept);
                items.count(&after, true, retired_kept);
            }
            Written::Done
        })
    }

    fn recent(&self, n: usize) -> Pending<'_, (Vec<String>, usize)> {
        self.with(|items| {
            let newest = items.json.values().rev().take(n).cloned().collect();
            (newest, items.json.len())
        })
    }
}
