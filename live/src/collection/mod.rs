//! A live collection: a list of items with ids and versions that pages show and keep current
//! from `created` / `updated` events on one channel (an order book, tickets, tasks).
//!
//! Both sides share the item type and its events; the server keeps the items (feature `ssr`:
//! `Collection`, in the hub's backend, so in this process or in Redis with the same code) and
//! the browser folds the events into the list the page was rendered with ([`use_collection`],
//! [`upsert`]).
//!
//! ```
//! use leptos_live::collection::{Item, upsert};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! pub struct Task {
//!     pub id: u64,
//!     pub version: u64,
//!     pub owner: String,
//!     pub title: String,
//!     pub done: bool,
//! }
//!
//! impl Item for Task {
//!     const CREATED: &'static str = "task:created";
//!     const UPDATED: &'static str = "task:updated";
//!     fn id(&self) -> u64 { self.id }
//!     fn version(&self) -> u64 { self.version }
//!     fn owner(&self) -> &str { &self.owner }
//!     // Done tasks no longer count against their owner's limit and age out.
//!     fn is_active(&self) -> bool { !self.done }
//! }
//!
//! let task = |id, version, done| Task {
//!     id, version, done, owner: "alice".into(), title: "write docs".into(),
//! };
//! // What a page holds, newest first; an event replayed twice or out of order changes nothing.
//! let mut shown = vec![task(2, 1, false), task(1, 1, false)];
//! assert!(upsert(&mut shown, task(1, 2, true), 20));
//! assert!(!upsert(&mut shown, task(1, 1, false), 20));
//! assert!(upsert(&mut shown, task(3, 1, false), 20));
//! assert_eq!(shown.iter().map(|t| t.id).collect::<Vec<_>>(), [3, 2, 1]);
//! assert!(shown[2].done);
//! ```
//!
//! On the server (`ssr`), a collection is registered on its channel with its [`Rules`] and
//! changed only through it: `create` gives the next id, `update` reads, applies the app's rule
//! and writes only if nobody changed the item meanwhile; each change is announced, and taken
//! back if the announcement fails (see `Collection`).

#[cfg(feature = "ssr")]
mod error;
#[cfg(feature = "ssr")]
pub mod redis;
#[cfg(feature = "ssr")]
mod server;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(all(test, feature = "ssr"))]
mod tests;

#[cfg(feature = "ssr")]
pub use error::CollectionError;
#[cfg(feature = "ssr")]
pub use server::Collection;
#[cfg(feature = "ssr")]
pub use store::Store;

use leptos::prelude::*;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{LiveEvent, use_channel_events_from};

/// An item of a live collection, the same type on both sides.
pub trait Item: Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The event name announcing a new item, e.g. `order:created`.
    const CREATED: &'static str;
    /// The event name announcing a changed item, e.g. `order:updated`.
    const UPDATED: &'static str;

    /// Given by the collection at creation: 1, 2, 3…, so a newer item has a higher id.
    fn id(&self) -> u64;
    /// Grows with every change of the item (a change counter or the time of the change): a
    /// copy with a lower version is older and never replaces a newer one.
    fn version(&self) -> u64;
    /// The user it belongs to: active items count against their owner's limit.
    fn owner(&self) -> &str;
    /// Whether it counts against its owner's limit. An inactive item (filled, done, closed)
    /// is kept only while it is among the newest [`Rules::retired_kept`] to become inactive.
    fn is_active(&self) -> bool {
        true
    }
}

/// How big a collection may grow: every item is active (at most `active_per_owner` per owner)
/// or among the newest `retired_kept` inactive ones, so it is bounded by its users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub active_per_owner: usize,
    pub retired_kept: usize,
}

/// A new item (`event: T::CREATED`, data: the item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Created<T>(pub T);

impl<T: Item> LiveEvent for Created<T> {
    const NAME: &'static str = T::CREATED;
}

/// A changed item (`event: T::UPDATED`, data: the item as it is now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Updated<T>(pub T);

impl<T: Item> LiveEvent for Updated<T> {
    const NAME: &'static str = T::UPDATED;
}

/// What a page renders a collection from: its newest items, how many it holds, and the
/// stream position taken before they were read (events after it are news).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing<T> {
    /// Newest first.
    pub items: Vec<T>,
    pub total: usize,
    pub cursor: String,
}

/// Puts `item` into `items` (newest id first, as a collection lists them) unless what is held
/// is newer, keeping at most `keep`; says whether anything changed. Inserting in place rather
/// than sorting keeps a sort out of the wasm.
pub fn upsert<T: Item>(items: &mut Vec<T>, item: T, keep: usize) -> bool {
    match items.iter_mut().find(|held| held.id() == item.id()) {
        Some(held) if held.version() > item.version() || *held == item => false,
        Some(held) => {
            *held = item;
            true
        }
        None => {
            let at = items.partition_point(|held| held.id() > item.id());
            if at >= keep {
                return false;
            }
            items.insert(at, item);
            items.truncate(keep);
            true
        }
    }
}

/// The items of `channel`, newest first, starting from `initial` (what the page was rendered
/// with, after the position the page seeded the connection with) and kept current from the
/// channel's `created` / `updated` events; at most `keep`. Fold what the page itself just
/// created or changed in with [`upsert`].
pub fn use_collection<T: Item>(
    channel: impl Into<String>,
    initial: Vec<T>,
    keep: usize,
) -> RwSignal<Vec<T>> {
    fold(channel.into(), initial, "", keep)
}

/// Like [`use_collection`], from a [`Listing`]: the events after its cursor are folded in, so
/// nothing published between the read and the subscription is missed.
pub fn use_collection_from<T: Item>(
    channel: impl Into<String>,
    listing: Listing<T>,
    keep: usize,
) -> RwSignal<Vec<T>> {
    fold(channel.into(), listing.items, &listing.cursor, keep)
}

fn fold<T: Item>(channel: String, initial: Vec<T>, cursor: &str, keep: usize) -> RwSignal<Vec<T>> {
    let items = RwSignal::new(initial);
    use_channel_events_from::<Created<T>>(channel.clone(), cursor, move |Created(item)| {
        items.maybe_update(|held| upsert(held, item, keep));
    });
    use_channel_events_from::<Updated<T>>(channel, cursor, move |Updated(item)| {
        items.maybe_update(|held| upsert(held, item, keep));
    });
    items
}
