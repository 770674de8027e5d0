//! The pub/sub link of one instance: one connection, subscribed to every local channel,
//! feeding them; relinked with backoff when it drops, after which every local channel is
//! subscribed again and catches up from the stream (or resyncs). Ids are consecutive, so a jump shows a lost message. A link can also
//! die without closing (a peer or a middlebox gone, the socket half-open): it is pinged every
//! [`PROBE`], and one that does not answer within [`TIMEOUT`] counts as dropped.

use std::{
    sync::{Arc, PoisonError, atomic::Ordering},
    time::Duration,
};

use ::redis::aio::{PubSubSink, PubSubStream};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{
    MAX_BACKOFF, PROBE, Read, Redis, TIMEOUT,
    decode::{Message, except_list, sent_ago},
    failed,
    local::Local,
};
use crate::hub::backend::{Backend, BackendError, Replay, Stored};

impl Redis {
    /// Keeps the pub/sub link up until `shutdown`: links, recovers what local channels may
    /// have missed while unlinked, then delivers messages; relinks with backoff when it drops.
    pub(super) async fn listen(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        let mut logged = false;
        loop {
            let linked = tokio::select! {
                () = shutdown.cancelled() => return,
                linked = self.link() => linked,
            };
            match linked {
                Ok((mut sink, mut messages)) => {
                    tracing::info!("Redis pub/sub linked");
                    self.linked.store(true, Ordering::Relaxed);
                    logged = false;
                    backoff = Duration::from_millis(50);
                    self.ping().await;
                    self.recover().await;
                    let mut probe =
                        tokio::time::interval_at(tokio::time::Instant::now() + PROBE, PROBE);
                    let lost = loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            message = messages.next() => match message {
                                Some(message) => self.on_message(&message).await,
                                None => break "closed",
                            },
                            // Any answer will do: a subscribed link answers ["pong", ""], an
                            // idle one PONG.
                            _ = probe.tick() => {
                                let pong = tokio::time::timeout(TIMEOUT, sink.ping::<::redis::Value>()).await;
                                if !matches!(pong, Ok(Ok(_))) {
                                    break "unanswered ping";
                                }
                            }
                        }
                    };
                    self.linked.store(false, Ordering::Relaxed);
                    *self.sink.write().unwrap_or_else(PoisonError::into_inner) = None;
                    self.relinks.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(cause = lost, "Redis pub/sub link lost; relinking");
                }
                Err(err) => {
                    if !logged {
                        tracing::warn!(error = %err, "Redis pub/sub link failed; retrying");
                        logged = true;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Checks the command connection (after a relink: nothing else may run a command soon).
    async fn ping(&self) {
        let mut commands = self.commands.clone();
        let pong = ::redis::cmd("PING")
            .query_async::<String>(&mut commands)
            .await;
        self.commands_ok.store(pong.is_ok(), Ordering::Relaxed);
    }

    /// Connects the pub/sub link and subscribes it to every local channel. From the moment it
    /// is connected, new local channels subscribe themselves on it.
    async fn link(&self) -> Result<(PubSubSink, PubSubStream), BackendError> {
        // The nodes in turn: on a cluster, a link whose node went tries the next.
        let attempt = self.attempts.fetch_add(1, Ordering::Relaxed);
        let client = &self.clients[attempt % self.clients.len()];
        let pubsub = tokio::time::timeout(TIMEOUT, client.get_async_pubsub())
            .await
            .map_err(|_| failed("pub/sub", "timed out"))?
            .map_err(|e| failed("pub/sub", e))?;
        let (mut sink, messages) = pubsub.split();
        let link = self.links.fetch_add(1, Ordering::Relaxed) + 1;
        *self.sink.write().unwrap_or_else(PoisonError::into_inner) = Some((link, sink.clone()));
        if let Err(err) = self.subscribe_all(link, &mut sink).await {
            *self.sink.write().unwrap_or_else(PoisonError::into_inner) = None;
            return Err(err);
        }
        Ok((sink, messages))
    }

    /// Brings every local channel up to its head after the link was down: missed events from
    /// the stream, or `resync` where it no longer has them.
    async fn recover(&self) {
        let channels = self.locals();
        for channel in channels {
            self.catch_up(&channel).await;
        }
    }

    /// Sends `channel` every event after its last one, or `resync`.
    pub(super) async fn catch_up(&self, channel: &Local) {
        let Some(last) = channel.last() else { return };
        match self.read(&channel.name, Some(last)).await {
            Ok(Read {
                replay: Replay::Events(events),
                ..
            }) => events.into_iter().for_each(|e| channel.send(e)),
            Ok(Read {
                replay: Replay::Gap,
                head,
                ..
            }) => {
                tracing::warn!(channel = %channel.name, last, head, "events lost from Redis; resync");
                self.gaps.fetch_add(1, Ordering::Relaxed);
                channel.missed();
                *channel.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(head);
            }
            Err(err) => {
                tracing::warn!(channel = %channel.name, error = %err, "cannot recover; resync");
                self.gaps.fetch_add(1, Ordering::Relaxed);
                channel.missed();
            }
        }
    }

    async fn on_message(&self, message: &::redis::Msg) {
        let Some(name) = message
            .get_channel_name()
            .strip_prefix(&*self.keys.prefix)
            .and_then(|rest| rest.strip_prefix(":pub:"))
        else {
            return;
        };
        let Some(channel) = self.local(name) else {
            return;
        };
        let Some(message) = std::str::from_utf8(message.get_payload_bytes())
            .ok()
            .and_then(Message::parse)
        else {
            tracing::warn!(channel = name, "unreadable message from Redis; ignored");
            return;
        };
        if *message.epoch != *self.epoch() {
            self.adopt(message.epoch, None);
            return;
        }
        if let (Some(lag), Some(ago)) = (self.lag.get(), sent_ago(message.except)) {
            lag.record(ago.as_secs_f64());
        }
        // Ids are consecutive: a jump means messages were lost on the way.
        if channel.last().is_some_and(|last| message.id > last + 1) {
            self.catch_up(&channel).await;
        }
        channel.send(Arc::new(Stored::new(
            message.id,
            channel.name.clone(),
            message.name.into(),
            message.data.into(),
            except_list(message.except),
        )));
    }
}
