//! The channels with subscribers on this instance: each one's broadcast, fed by the pub/sub
//! link, with the last id it delivered (so deliveries leave in order, once). The link is
//! subscribed to these channels (`SUBSCRIBE` each, not one pattern for all; a channel whose
//! last subscriber left is unsubscribed at the next sweep): an instance receives only the
//! events its own subscribers want.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use ::redis::aio::PubSubSink;
use tokio::sync::broadcast;

use super::{Redis, TIMEOUT, failed};
use crate::hub::{
    backend::{BackendError, Stored},
    memory::live_capacity,
};

/// Keys subscribed in one command when a link (re)subscribes every local channel.
const SUBSCRIBE_CHUNK: usize = 1_000;

/// What a local channel broadcasts to its subscribers on this instance.
#[derive(Clone, Debug)]
pub(super) enum Delivery {
    Event(Arc<Stored>),
    /// Events were lost and cannot be read back: resync.
    Missed,
}

/// A channel with subscribers on this instance.
pub(super) struct Local {
    pub name: Arc<str>,
    pub sender: broadcast::Sender<Delivery>,
    /// The last id sent to local subscribers (`None` until known). Held while sending, so
    /// deliveries leave in id order.
    pub last: Mutex<Option<u64>>,
    /// The link (its number, from 1) on which this channel's `SUBSCRIBE` was confirmed.
    pub subscribed: AtomicU64,
}

impl Local {
    /// Sends `event` to local subscribers unless it was already sent.
    pub fn send(&self, event: Arc<Stored>) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|last| event.id <= last) {
            return;
        }
        *last = Some(event.id);
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(Delivery::Event(event));
    }

    pub fn missed(&self) {
        let _ = self.sender.send(Delivery::Missed);
    }

    pub fn last(&self) -> Option<u64> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Redis {
    /// The local channel `name`, created if missing, and a receiver of it: taken under the
    /// map's lock, which the sweep takes too, so the channel cannot be dropped in between.
    pub(super) fn join(
        &self,
        name: &str,
        history: usize,
    ) -> (Arc<Local>, broadcast::Receiver<Delivery>) {
        {
            let local = self.local.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(channel) = local.get(name) {
                return (channel.clone(), channel.sender.subscribe());
            }
        }
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        let channel = local
            .entry(name.into())
            .or_insert_with(|| {
                Arc::new(Local {
                    name: name.into(),
                    sender: broadcast::Sender::new(live_capacity(history)),
                    last: Mutex::new(None),
                    subscribed: AtomicU64::new(0),
                })
            })
            .clone();
        let receiver = channel.sender.subscribe();
        (channel, receiver)
    }

    /// Every local channel, now.
    pub(super) fn locals(&self) -> Vec<Arc<Local>> {
        self.local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub(super) fn local(&self, name: &str) -> Option<Arc<Local>> {
        self.local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The current link's number and command half, if linked.
    pub(super) fn sink(&self) -> Option<(u64, PubSubSink)> {
        self.sink
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes sure the link is subscribed to `channel` before its history is read (so that
    /// every later event arrives live). Without a link there is nothing to do: linking
    /// subscribes every local channel, then catches each one up.
    pub(super) async fn ensure_subscribed(&self, channel: &Local) -> Result<(), BackendError> {
        let Some((link, mut sink)) = self.sink() else {
            return Ok(());
        };
        if channel.subscribed.load(Ordering::Acquire) == link {
            return Ok(());
        }
        let key = self.keys.publish(&channel.name);
        tokio::time::timeout(TIMEOUT, sink.subscribe(key))
            .await
            .map_err(|_| failed("subscribe", "timed out"))?
            .map_err(|e| failed("subscribe", e))?;
        channel.subscribed.store(link, Ordering::Release);
        Ok(())
    }

    /// Subscribes a new link, number `link`, to every local channel.
    pub(super) async fn subscribe_all(
        &self,
        link: u64,
        sink: &mut PubSubSink,
    ) -> Result<(), BackendError> {
        let channels = self.locals();
        for chunk in channels.chunks(SUBSCRIBE_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|c| self.keys.publish(&c.name)).collect();
            tokio::time::timeout(TIMEOUT, sink.subscribe(keys))
                .await
                .map_err(|_| failed("subscribe", "timed out"))?
                .map_err(|e| failed("subscribe", e))?;
            for channel in chunk {
                channel.subscribed.store(link, Ordering::Release);
            }
        }
        Ok(())
    }

    /// Unsubscribes the link from channels the sweep dropped. One that has subscribers again
    /// by the time Redis confirms (a new one raced the sweep) is subscribed again and caught
    /// up from its stream, so nothing published meanwhile is missed.
    pub(super) async fn unsubscribe(self: Arc<Self>, dropped: Vec<Arc<str>>) {
        let Some((link, mut sink)) = self.sink() else {
            return;
        };
        let keys: Vec<String> = dropped.iter().map(|name| self.keys.publish(name)).collect();
        for chunk in keys.chunks(SUBSCRIBE_CHUNK) {
            if tokio::time::timeout(TIMEOUT, sink.unsubscribe(chunk))
                .await
                .is_err()
            {
                return;
            }
        }
        for name in dropped {
            let Some(channel) = self.local(&name) else {
                continue;
            };
            channel.subscribed.store(0, Ordering::Release);
            let subscribed =
                tokio::time::timeout(TIMEOUT, sink.subscribe(self.keys.publish(&name))).await;
            if matches!(subscribed, Ok(Ok(()))) {
                channel.subscribed.store(link, Ordering::Release);
            }
            self.catch_up(&channel).await;
        }
    }

    /// [`Backend::sweep`](crate::hub::Backend::sweep): drops the local channels nobody here
    /// subscribes to (unsubscribing the link from them) and refreshes the expiry of the keys
    /// of those still served.
    pub(super) fn sweep_local(&self) -> usize {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        let mut dropped = Vec::new();
        local.retain(|name, channel| {
            let kept = channel.sender.receiver_count() > 0;
            if !kept {
                dropped.push(name.clone());
            }
            kept
        });
        let mut refresh = ::redis::pipe();
        for name in local.keys() {
            refresh
                .expire(self.keys.offset(name), self.ttl as i64)
                .ignore()
                .expire(self.keys.log(name), self.ttl as i64)
                .ignore();
        }
        drop(local);
        let count = dropped.len();
        if let (false, Some(me)) = (dropped.is_empty(), self.me.upgrade()) {
            tokio::spawn(me.unsubscribe(dropped));
        }
        let mut commands = self.commands.clone();
        tokio::spawn(async move {
            if let Err(err) = refresh.query_async::<()>(&mut commands).await {
                tracing::warn!(error = %err, "cannot refresh channel expiry in Redis");
            }
        });
        count
    }
}
