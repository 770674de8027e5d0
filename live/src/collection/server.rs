//! [`Collection`]: a live collection on the server, kept in the hub's backend and announced on
//! its channel.

use std::{marker::PhantomData, sync::Arc, time::Duration};

use super::{
    CollectionError, Created, Item, Listing, Rules, Updated,
    store::{Claim, Entry, Store, Written},
};
use crate::{
    LiveEvent,
    hub::{BackendError, ConnectionId, Hub, HubError},
};

/// Attempts at an update while other writers keep changing the same item.
const ATTEMPTS: usize = 8;
/// Waits before each new try at an announcement that failed (31 s in all).
const ANNOUNCE_RETRIES: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// The items of type `T` announced on one channel of `hub`, bounded by [`Rules`]: in this
/// process, or with the Redis hub in Redis, where every instance sees the same items.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use leptos_live::collection::{Collection, Item, Rules};
/// # #[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Task { id: u64, version: u64, owner: String, done: bool }
/// # impl Item for Task {
/// #     const CREATED: &'static str = "task:created";
/// #     const UPDATED: &'static str = "task:updated";
/// #     fn id(&self) -> u64 { self.id }
/// #     fn version(&self) -> u64 { self.version }
/// #     fn owner(&self) -> &str { &self.owner }
/// #     fn is_active(&self) -> bool { !self.done }
/// # }
/// # async fn demo(hub: Arc<leptos_live::hub::Hub>) {
/// let rules = Rules { active_per_owner: 50, retired_kept: 200 };
/// let tasks = Collection::<Task>::new(hub, "tasks", rules);
/// // `task:created` on `tasks`, to everyone subscribed.
/// let task = tasks
///     .create(|id| Task { id, version: 1, owner: "alice".into(), done: false }, None)
///     .await
///     .unwrap();
/// // Only its owner may finish it: the rule runs on what is stored now.
/// let done = tasks
///     .update(task.id, None, |task| {
///         (task.owner == "alice")
///             .then(|| Task { done: true, version: task.version + 1, ..task.clone() })
///             .ok_or("not yours")
///     })
///     .await;
/// # }
/// ```
pub struct Collection<T> {
    hub: Arc<Hub>,
    channel: Arc<str>,
    rules: Rules,
    store: Arc<dyn Store>,
    item: PhantomData<fn() -> T>,
}

impl<T: Item> Collection<T> {
    /// The collection announced on `channel` (registered with the hub), stored under that
    /// name in the hub's backend.
    pub fn new(hub: Arc<Hub>, channel: &str, rules: Rules) -> Self {
        Self {
            store: hub.store(channel),
            hub,
            channel: channel.into(),
            rules,
            item: PhantomData,
        }
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Stores and announces the item `make` builds with the next id, skipping connection
    /// `except` (the sender's own tab, which shows it already).
    ///
    /// What is stored stays: an announcement that fails, or times out after perhaps going
    /// out, is never undone (that would leave an event of an item that is not there) but
    /// tried again in the background for half a minute; an event heard twice folds once.
    pub async fn create(
        &self,
        make: impl FnOnce(u64) -> T,
        except: Option<ConnectionId>,
    ) -> Result<T, CollectionError> {
        let created = self.create_uncounted(make, except).await;
        self.counted("create", created)
    }

    async fn create_uncounted(
        &self,
        make: impl FnOnce(u64) -> T,
        except: Option<ConnectionId>,
    ) -> Result<T, CollectionError> {
        self.hub.registered(&self.channel)?;
        let id = self.store.next_id().await?;
        self.insert(id, make, except, None).await
    }

    /// Like [`create`](Self::create), once per `key`: a request made again with the same key
    /// (its answer was lost, or it timed out) gets the item the first one created, announced
    /// if it was not yet, and nothing is created twice. Keys are remembered a day
    /// ([`KEY_TTL_SECS`](super::store::KEY_TTL_SECS)). Make the key the caller's own, e.g.
    /// `format!("{user}:{header}")`: one user's keys must never meet another's.
    pub async fn create_once(
        &self,
        key: &str,
        make: impl FnOnce(u64) -> T,
        except: Option<ConnectionId>,
    ) -> Result<T, CollectionError> {
        let created = self.create_once_uncounted(key, make, except).await;
        self.counted("create", created)
    }

    async fn create_once_uncounted(
        &self,
        key: &str,
        make: impl FnOnce(u64) -> T,
        except: Option<ConnectionId>,
    ) -> Result<T, CollectionError> {
        self.hub.registered(&self.channel)?;
        let id = self.store.next_id().await?;
        match self.store.claim(key, id).await? {
            None => self.insert(id, make, except, Some(key)).await,
            Some(Claim { id, announced }) => {
                let item = self.get(id).await?.ok_or(CollectionError::KeyUsed(id))?;
                if !announced && self.announce(Created(item.clone()), except).await {
                    self.confirm(key).await;
                }
                Ok(item)
            }
        }
    }

    async fn insert(
        &self,
        id: u64,
        make: impl FnOnce(u64) -> T,
        except: Option<ConnectionId>,
        key: Option<&str>,
    ) -> Result<T, CollectionError> {
        let item = make(id);
        let refused = match encode(&item) {
            _ if item.id() != id => Some(CollectionError::Moved(id)),
            Err(err) => Some(err.into()),
            Ok(json) => {
                let entry = entry(&item, &json);
                // A failure here may still have stored it: the key stays, for a retry.
                let written = self
                    .store
                    .insert(entry, self.rules.active_per_owner, self.rules.retired_kept)
                    .await?;
                (written != Written::Done).then(|| self.over_limit())
            }
        };
        if let Some(refused) = refused {
            // Nothing was created: the key may serve again.
            if let Some(key) = key
                && let Err(err) = self.store.release(key).await
            {
                tracing::warn!(channel = %self.channel, error = %err, "an idempotency key stays claimed");
            }
            return Err(refused);
        }
        if self.announce(Created(item.clone()), except).await
            && let Some(key) = key
        {
            self.confirm(key).await;
        }
        Ok(item)
    }

    async fn confirm(&self, key: &str) {
        if let Err(err) = self.store.confirm(key).await {
            // A retry with the key announces the item again: harmless.
            tracing::warn!(channel = %self.channel, error = %err, "an idempotency key not confirmed");
        }
    }

    /// Publishes `event`; says whether it went out. If the backend failed (it may have gone
    /// out all the same), tries again in the background.
    async fn announce<E: LiveEvent + Send + Sync + 'static>(
        &self,
        event: E,
        except: Option<ConnectionId>,
    ) -> bool {
        let err = match self.hub.publish(&self.channel, &event).except(except).await {
            Ok(_) => return true,
            Err(HubError::Backend(err)) => err,
            Err(err) => {
                tracing::error!(channel = %self.channel, error = %err, "a change cannot be announced");
                return false;
            }
        };
        tracing::warn!(channel = %self.channel, error = %err, "an announcement failed; trying again");
        let (hub, channel) = (self.hub.clone(), self.channel.clone());
        tokio::spawn(async move {
            for wait in ANNOUNCE_RETRIES {
                tokio::time::sleep(wait).await;
                if hub.publish(&channel, &event).except(except).await.is_ok() {
                    return;
                }
            }
            tracing::error!(%channel, event = E::NAME, "an announcement was given up; pages show the change from their next snapshot");
        });
        false
    }

    /// Applies `change` to item `id` as stored now and announces the result; written only if
    /// nobody changed the item in between (compare and set, retried a few times).
    pub async fn update<E>(
        &self,
        id: u64,
        except: Option<ConnectionId>,
        change: impl Fn(&T) -> Result<T, E>,
    ) -> Result<T, CollectionError<E>> {
        let updated = self.update_uncounted(id, except, change).await;
        self.counted("update", updated)
    }

    async fn update_uncounted<E>(
        &self,
        id: u64,
        except: Option<ConnectionId>,
        change: impl Fn(&T) -> Result<T, E>,
    ) -> Result<T, CollectionError<E>> {
        self.hub.registered(&self.channel)?;
        for _ in 0..ATTEMPTS {
            let json = self
                .store
                .get(id)
                .await?
                .ok_or(CollectionError::NotFound(id))?;
            let before: T = decode(&self.channel, &json)?;
            let after = change(&before).map_err(CollectionError::Refused)?;
            if after.id() != id || after.owner() != before.owner() {
                return Err(CollectionError::Moved(id));
            }
            let after_json = encode(&after)?;
            let (old, new) = (entry(&before, &json), entry(&after, &after_json));
            match self.swap(old, new).await? {
                Written::Changed => continue,
                Written::OverLimit => return Err(self.over_limit()),
                Written::Done => {}
            }
            // Stored: it stays, announced now or in the background (see `create`).
            self.announce(Updated(after.clone()), except).await;
            return Ok(after);
        }
        Err(CollectionError::Busy(id))
    }

    /// Counts a write's outcome (`leptos_live_collection_writes_total`, by the collection's
    /// channel pattern) and hands it on.
    fn counted<U, E>(
        &self,
        operation: &'static str,
        written: Result<U, CollectionError<E>>,
    ) -> Result<U, CollectionError<E>> {
        let outcome = match &written {
            Ok(_) => "ok",
            Err(err) => err.outcome(),
        };
        let pattern = self.hub.pattern(&self.channel);
        self.hub
            .metrics()
            .counter(
                "leptos_live_collection_writes_total",
                "Writes to live collections, by collection (channel pattern), operation and outcome.",
                &[
                    ("collection", pattern.as_deref().unwrap_or("unregistered")),
                    ("operation", operation),
                    ("outcome", outcome),
                ],
            )
            .increment(1);
        written
    }

    /// Item `id`, if the collection holds it.
    pub async fn get(&self, id: u64) -> Result<Option<T>, HubError> {
        match self.store.get(id).await? {
            Some(json) => decode(&self.channel, &json).map(Some),
            None => Ok(None),
        }
    }

    /// What a page renders the collection from: the cursor first, then the newest `n` items,
    /// so an item changed in between is both listed and replayed (and folded in once).
    pub async fn listing(&self, n: usize) -> Result<Listing<T>, HubError> {
        let cursor = self.hub.cursor(&[self.channel.to_string()]).await?;
        let (items, total) = self.recent(n).await?;
        Ok(Listing {
            items,
            total,
            cursor: cursor.to_string(),
        })
    }

    /// The newest `n` items, newest first, and how many the collection holds in all.
    pub async fn recent(&self, n: usize) -> Result<(Vec<T>, usize), HubError> {
        let (newest, total) = self.store.recent(n).await?;
        // One unreadable item must not take the whole list down with it.
        let items = newest
            .iter()
            .filter_map(|json| {
                decode(&self.channel, json)
                    .inspect_err(|err| tracing::warn!(error = %err, "item left out"))
                    .ok()
            })
            .collect();
        Ok((items, total))
    }

    async fn swap(&self, before: Entry<'_>, after: Entry<'_>) -> Result<Written, BackendError> {
        let Rules {
            active_per_owner,
            retired_kept,
        } = self.rules;
        self.store
            .swap(before, after, active_per_owner, retired_kept)
            .await
    }

    fn over_limit<E>(&self) -> CollectionError<E> {
        CollectionError::OverLimit {
            limit: self.rules.active_per_owner,
        }
    }
}

fn entry<'a, T: Item>(item: &'a T, json: &'a str) -> Entry<'a> {
    Entry {
        id: item.id(),
        json,
        owner: item.owner(),
        active: item.is_active(),
    }
}

fn encode<T: Item>(item: &T) -> Result<String, HubError> {
    serde_json::to_string(item).map_err(HubError::Serialize)
}

/// A stored item that no longer reads as `T` (its type changed under stored data): a fault
/// of the deployment, answered 500 with the cause in the log only.
fn decode<T: Item>(channel: &str, json: &str) -> Result<T, HubError> {
    serde_json::from_str(json)
        .map_err(|err| HubError::Unreadable(format!("collection {channel}: {err}")))
}
