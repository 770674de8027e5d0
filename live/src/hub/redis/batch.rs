//! [`Redis::publish_all`]: events published by one script ([`super::PUBLISH`]), one or a whole
//! batch: one round trip and one script call, ids and fan-out as for one event each.
//!
//! Single publishes queue ([`Redis::publish_queued`]): one task ([`coalesce`]) runs them, and
//! those that arrive while a script is in flight go together (up to [`MOST_PER_SCRIPT`]) in the
//! next one. An idle instance publishes in one round trip as before; a busy one pays Redis one
//! script call, one read and one reply per group instead of per event. A publish that waited
//! [`TIMEOUT`] in the queue (Redis hangs) fails without being tried, and one whose caller left is
//! dropped: while Redis is away no caller waits more than twice [`TIMEOUT`], however many queue.

use std::sync::{Arc, Weak, atomic::Ordering};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::{Redis, TIMEOUT, decode, failed};
use crate::hub::backend::{BackendError, NewEvent, Stored};

/// Most queued publishes one script carries (a script holds Redis for its whole run).
const MOST_PER_SCRIPT: usize = 64;

/// A publish waiting in the queue, and where its result goes.
pub(super) struct Queued {
    channel: Box<str>,
    history: usize,
    event: NewEvent,
    done: oneshot::Sender<Result<Arc<Stored>, BackendError>>,
    since: Instant,
}

/// The queue's two ends: the backend keeps the sender; [`coalesce`] reads the receiver.
pub(super) fn queue() -> (
    mpsc::UnboundedSender<Queued>,
    mpsc::UnboundedReceiver<Queued>,
) {
    // Unbounded, but each entry is a caller waiting for its answer: as many as the requests
    // the server admits at once.
    mpsc::unbounded_channel()
}

/// Runs the queued publishes until the backend is dropped: whatever is waiting, up to
/// [`MOST_PER_SCRIPT`], goes in one script; each caller gets its own event's result (a failed
/// script fails each of them with the same error). Those that waited [`TIMEOUT`] already fail
/// untried, and those whose caller left are dropped.
pub(super) async fn coalesce(redis: Weak<Redis>, mut queue: mpsc::UnboundedReceiver<Queued>) {
    let mut waiting = Vec::with_capacity(MOST_PER_SCRIPT);
    while queue.recv_many(&mut waiting, MOST_PER_SCRIPT).await > 0 {
        let Some(redis) = redis.upgrade() else { return };
        let (events, done): (Vec<_>, Vec<_>) = waiting
            .drain(..)
            .filter(|q| !q.done.is_closed())
            .filter_map(|q| {
                if q.since.elapsed() < TIMEOUT {
                    return Some(q);
                }
                let _ = (q.done).send(Err(failed("publish", "timed out waiting for Redis")));
                None
            })
            .map(|q| ((q.channel, q.history, q.event), q.done))
            .unzip();
        if events.is_empty() {
            continue;
        }
        let published = tokio::time::timeout(TIMEOUT, redis.publish_all(events)).await;
        let published = published.unwrap_or_else(|_| {
            redis.commands_ok.store(false, Ordering::Relaxed);
            Err(failed("publish", "timed out"))
        });
        let count = done.len();
        for (done, result) in done.into_iter().zip(per_event(published, count)) {
            let _ = done.send(result);
        }
    }
}

/// One result per event of a script's `count`: its event, or the script's error for each.
pub(super) fn per_event(
    published: Result<Vec<Arc<Stored>>, BackendError>,
    count: usize,
) -> Vec<Result<Arc<Stored>, BackendError>> {
    match published {
        Ok(stored) => stored.into_iter().map(Ok).collect(),
        Err(err) => (0..count)
            .map(|_| Err(BackendError(err.0.clone())))
            .collect(),
    }
}

impl Redis {
    /// Publishes one event through the queue (see the module's doc).
    pub(super) async fn publish_queued(
        &self,
        channel: &str,
        history: usize,
        event: NewEvent,
    ) -> Result<Arc<Stored>, BackendError> {
        let (done, answer) = oneshot::channel();
        let queued = Queued {
            channel: channel.into(),
            history,
            event,
            done,
            since: Instant::now(),
        };
        let closed = || failed("publish", "the backend is shutting down");
        self.queue.send(queued).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Publishes `events` (channel, history, event) in order; all or none.
    pub(super) async fn publish_all<C: AsRef<str>>(
        &self,
        events: Vec<(C, usize, NewEvent)>,
    ) -> Result<Vec<Arc<Stored>>, BackendError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invoke(&self.publish);
        invocation.arg(self.ttl);
        for (channel, history, event) in &events {
            let channel = channel.as_ref();
            let except = event
                .except
                .iter()
                .map(|id| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            // The message's except list leads with the time it was sent (`@MICROS`), which
            // no instance takes for a connection id: the receivers' pub/sub lag.
            let sent = decode::sent_field(&except);
            invocation
                .key(self.keys.offset(channel))
                .key(self.keys.log(channel))
                .arg(*history)
                .arg(&*event.name)
                .arg(&*event.data)
                .arg(except)
                .arg(self.keys.publish(channel))
                .arg(sent);
        }
        let reply: Vec<String> = self.run("publish", &invocation).await?;
        let mut reply = reply.into_iter();
        let (Some(epoch), Some(issued)) = (reply.next(), reply.next()) else {
            return Err(failed("publish", "short reply"));
        };
        let issued = issued.parse().map_err(|e| failed("publish", e))?;
        self.adopt(&epoch, Some(issued));
        let ids = reply
            .map(|id| id.parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failed("publish", e))?;
        if ids.len() != events.len() {
            return Err(failed("publish", "short reply"));
        }
        Ok(events
            .into_iter()
            .zip(ids)
            .map(|((channel, _, event), id)| {
                Arc::new(Stored::new(
                    id,
                    channel.as_ref().into(),
                    event.name,
                    event.data,
                    event.except,
                ))
            })
            .collect())
    }
}
