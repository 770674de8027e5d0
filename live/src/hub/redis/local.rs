//! The channels with subscribers on this instance: each one's broadcast, fed by the pub/sub
//! link, with the last id it delivered (so deliveries leave in order, once).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use super::Redis;
use crate::hub::{backend::Stored, memory::live_capacity};

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
                })
            })
            .clone();
        let receiver = channel.sender.subscribe();
        (channel, receiver)
    }

    pub(super) fn local(&self, name: &str) -> Option<Arc<Local>> {
        self.local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}
