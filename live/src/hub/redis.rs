//! The Redis backend: several instances of the server share ids, history and fan-out through
//! one Redis (`REDIS_URL`), the way Centrifugo and nchan scale out.
//!
//! Per channel Redis holds an offset (`{prefix}:off:{channel}`) and a stream of its newest
//! events (`{prefix}:log:{channel}`, entry id `{offset}-0`). A publish is one Lua script: the
//! offset is incremented, the event appended (trimmed to the channel's history) and `PUBLISH`ed
//! on `{prefix}:pub:{channel}`, so ids are gap-free and ordered across instances without
//! clocks. Both keys expire `CHANNEL_IDLE_SECS` after the last publish or subscribe; instances
//! refresh them for channels they still serve. A channel that comes back continues above
//! `{prefix}:issued`, the highest id ever issued, as in [`super::memory`].
//!
//! The epoch is `{prefix}:epoch`, created by whichever script finds it missing: every instance
//! issues and accepts the same cursors, and a Redis that lost its data has a new epoch, so old
//! cursors get `resync`. An instance that sees a new epoch ends its open streams; their clients
//! reconnect with a cursor of the old epoch and resync.
//!
//! Fan-out: each instance holds one pub/sub connection (`PSUBSCRIBE {prefix}:pub:*`), which
//! feeds a local broadcast per channel that has subscribers here; those keep the in-memory
//! path (one `Stored` per event per instance, frames built once). Ids are consecutive, so a
//! jump shows a lost message: the missing events are read from the stream (`XRANGE`), or the
//! subscribers get `resync` when the stream no longer has them. After the pub/sub link drops
//! and comes back, every local channel is checked the same way.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use ::redis::{
    Client, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use futures_util::{FutureExt, StreamExt, future::BoxFuture};
use rand::Rng;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use tokio_util::sync::CancellationToken;

use super::{
    backend::{Backend, BackendError, Feed, Live, NewEvent, Replay, Stored},
    memory::live_capacity,
    stats::ConnectionId,
};

/// How long a command or a connection attempt may take before it counts as failed: a publish
/// while Redis is away answers 503 after this, not never.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait between two attempts to relink pub/sub.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Sets `epoch` to the stored epoch, creating it (as ARGV[1]) if missing. KEYS[1] is the
/// epoch key.
const EPOCH: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
";

/// Appends the stream entries `entries` to `out` as id, name, data, except.
const FLATTEN: &str = r"
local function flatten(out, entries)
  for _, entry in ipairs(entries) do
    local fields = {}
    for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
    out[#out + 1] = string.match(entry[1], '^(%d+)')
    out[#out + 1] = fields.n
    out[#out + 1] = fields.d
    out[#out + 1] = fields.x or ''
  end
end
";

/// KEYS: epoch, issued, offset, log. ARGV: epoch candidate, ttl, history, name, data,
/// except, pub/sub channel. Returns {epoch, id}.
const PUBLISH: &str = r"
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], redis.call('GET', KEYS[2]) or '0')
end
local id = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
if id > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], id)
end
local text = string.format('%.0f', id)
redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[3], text .. '-0', 'n', ARGV[4], 'd', ARGV[5], 'x', ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[7], epoch .. '\n' .. text .. '\n' .. ARGV[4] .. '\n' .. ARGV[6] .. '\n' .. ARGV[5])
return {epoch, text}
";

/// KEYS: epoch, issued, offset, log. ARGV: epoch candidate, ttl, after ('' for none).
/// Creates the channel if missing (its offset starting at the issued floor) and refreshes its
/// expiry. Returns {epoch, head, 'live' | 'ok' | 'gap', entries after `after`…}.
const READ: &str = r"
local head = redis.call('GET', KEYS[3])
if not head then head = redis.call('GET', KEYS[2]) or '0' end
redis.call('SET', KEYS[3], head, 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[2])
local out = {epoch, head}
if ARGV[3] == '' then
  out[3] = 'live'
  return out
end
local after = tonumber(ARGV[3])
if after > tonumber(head) then
  out[3] = 'gap'
  return out
end
out[3] = 'ok'
if after == tonumber(head) then return out end
local entries = redis.call('XRANGE', KEYS[4], string.format('%.0f', after + 1), '+')
if #entries == 0 or tonumber(string.match(entries[1][1], '^(%d+)')) ~= after + 1 then
  out[3] = 'gap'
  return out
end
flatten(out, entries)
return out
";

/// KEYS: epoch, log. ARGV: epoch candidate, n. Returns {epoch, newest n entries, oldest
/// first…}.
const RECENT: &str = r"
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
local entries = {}
for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
local out = {epoch}
flatten(out, entries)
return out
";

/// The key names of one deployment, all under one prefix (`REDIS_PREFIX`).
#[derive(Clone)]
struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }
    fn issued(&self) -> String {
        format!("{}:issued", self.prefix)
    }
    fn offset(&self, channel: &str) -> String {
        format!("{}:off:{channel}", self.prefix)
    }
    fn log(&self, channel: &str) -> String {
        format!("{}:log:{channel}", self.prefix)
    }
    fn publish(&self, channel: &str) -> String {
        format!("{}:pub:{channel}", self.prefix)
    }
    /// What the pub/sub connection subscribes to: every channel's `publish` key.
    fn pattern(&self) -> String {
        format!("{}:pub:*", self.prefix)
    }
}

/// What a local channel broadcasts to its subscribers on this instance.
#[derive(Clone, Debug)]
enum Delivery {
    Event(Arc<Stored>),
    /// Events were lost and cannot be read back: resync.
    Missed,
}

/// A channel with subscribers on this instance.
struct Local {
    name: Arc<str>,
    sender: broadcast::Sender<Delivery>,
    /// The last id sent to local subscribers (`None` until known). Held while sending, so
    /// deliveries leave in id order.
    last: Mutex<Option<u64>>,
}

impl Local {
    /// Sends `event` to local subscribers unless it was already sent.
    fn send(&self, event: Arc<Stored>) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|last| event.id <= last) {
            return;
        }
        *last = Some(event.id);
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(Delivery::Event(event));
    }

    fn missed(&self) {
        let _ = self.sender.send(Delivery::Missed);
    }

    fn last(&self) -> Option<u64> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What [`READ`] found.
struct Read {
    epoch: Arc<str>,
    head: u64,
    replay: Replay,
}

pub struct Redis {
    keys: Keys,
    client: Client,
    commands: ConnectionManager,
    publish: Script,
    read: Script,
    recent: Script,
    /// Seconds a channel's keys live after its last publish or subscribe.
    ttl: u64,
    epoch: RwLock<Arc<str>>,
    /// Channels with subscribers on this instance.
    local: RwLock<HashMap<Arc<str>, Arc<Local>>>,
    /// Whether the pub/sub connection is subscribed right now.
    linked: AtomicBool,
    /// Whether the last command succeeded.
    commands_ok: AtomicBool,
}

fn failed(what: &str, err: impl std::fmt::Display) -> BackendError {
    BackendError(format!("redis {what}: {err}"))
}

impl Redis {
    /// Connects to `url`, reads (or creates) the epoch and starts the pub/sub link, which runs
    /// until `shutdown`. Fails, with the cause in one line, if Redis cannot be reached.
    pub async fn connect(
        url: &str,
        prefix: &str,
        idle: Duration,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BackendError> {
        let unreachable =
            |e: &dyn std::fmt::Display| BackendError(format!("cannot reach Redis at {url}: {e}"));
        let client = Client::open(url).map_err(|e| unreachable(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(MAX_BACKOFF);
        let commands = tokio::time::timeout(
            TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unreachable(&"timed out"))?
        .map_err(|e| unreachable(&e))?;
        let script = |body: &str| Script::new(&format!("{EPOCH}{FLATTEN}{body}"));
        let redis = Arc::new(Self {
            keys: Keys {
                prefix: prefix.into(),
            },
            client,
            commands,
            publish: script(PUBLISH),
            read: script(READ),
            recent: script(RECENT),
            ttl: idle.as_secs().max(1),
            epoch: RwLock::new("".into()),
            local: RwLock::default(),
            linked: AtomicBool::new(false),
            commands_ok: AtomicBool::new(true),
        });
        // Any script reads or creates the epoch; `recent` of no channel is the cheapest.
        let epoch = redis.recent_raw("", 0).await?.0;
        *redis.epoch.write().unwrap_or_else(PoisonError::into_inner) = epoch;
        tokio::spawn(redis.clone().listen(shutdown));
        Ok(redis)
    }

    /// The command connection, for domain state kept beside the hub's (e.g. an app's live collections).
    pub fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// The prefix of every key of this deployment.
    pub fn prefix(&self) -> &str {
        &self.keys.prefix
    }

    fn candidate() -> String {
        format!("{:08x}", rand::rng().random::<u32>())
    }

    /// Runs a script invocation, recording whether Redis answered.
    async fn run<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        invocation: &::redis::ScriptInvocation<'_>,
    ) -> Result<T, BackendError> {
        let mut commands = self.commands.clone();
        let result = invocation.invoke_async(&mut commands).await;
        self.commands_ok.store(result.is_ok(), Ordering::Relaxed);
        result.map_err(|e| failed(what, e))
    }

    /// Adopts `epoch` if it is new: the store lost its data, so every local stream ends (its
    /// client reconnects with a cursor of the old epoch and gets `resync`).
    fn adopt(&self, epoch: &str) -> Arc<str> {
        let mut current = self.epoch.write().unwrap_or_else(PoisonError::into_inner);
        if **current == *epoch {
            return current.clone();
        }
        let old = std::mem::replace(&mut *current, epoch.into());
        drop(current);
        if !old.is_empty() {
            let ended =
                std::mem::take(&mut *self.local.write().unwrap_or_else(PoisonError::into_inner));
            tracing::warn!(%old, new = %epoch, channels = ended.len(), "Redis has a new epoch (its data was lost); open streams end and resync");
        }
        epoch.into()
    }

    /// `script` ([`PUBLISH`] or [`READ`]) on `channel`: the keys both take (epoch, issued,
    /// offset, log) and their first arguments (an epoch candidate, the TTL).
    fn on_channel<'s>(&self, script: &'s Script, channel: &str) -> ::redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.keys.epoch())
            .key(self.keys.issued())
            .key(self.keys.offset(channel))
            .key(self.keys.log(channel))
            .arg(Self::candidate())
            .arg(self.ttl);
        invocation
    }

    /// The channel's history after `after` (see [`READ`]); creates the channel if missing.
    async fn read(&self, channel: &str, after: Option<u64>) -> Result<Read, BackendError> {
        let mut invocation = self.on_channel(&self.read, channel);
        invocation.arg(after.map(|a| a.to_string()).unwrap_or_default());
        let reply: Vec<String> = self.run("read", &invocation).await?;
        let mut reply = reply.into_iter();
        let (Some(epoch), Some(head), Some(status)) = (reply.next(), reply.next(), reply.next())
        else {
            return Err(failed("read", "short reply"));
        };
        let head = head.parse().map_err(|e| failed("read", e))?;
        let replay = match status.as_str() {
            "gap" => Replay::Gap,
            _ => Replay::Events(entries(channel, reply)?),
        };
        Ok(Read {
            epoch: self.adopt(&epoch),
            head,
            replay,
        })
    }

    async fn recent_raw(
        &self,
        channel: &str,
        n: usize,
    ) -> Result<(Arc<str>, Vec<Arc<Stored>>), BackendError> {
        let mut invocation = self.recent.prepare_invoke();
        invocation
            .key(self.keys.epoch())
            .key(self.keys.log(channel))
            .arg(Self::candidate())
            .arg(n);
        let reply: Vec<String> = self.run("recent", &invocation).await?;
        let mut reply = reply.into_iter();
        let epoch = reply
            .next()
            .ok_or_else(|| failed("recent", "short reply"))?;
        Ok((epoch.into(), entries(channel, reply)?))
    }

    /// The local channel `name`, created if missing, and a receiver of it: taken under the
    /// map's lock, which the sweep takes too, so the channel cannot be dropped in between.
    fn join(&self, name: &str, history: usize) -> (Arc<Local>, broadcast::Receiver<Delivery>) {
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

    fn local(&self, name: &str) -> Option<Arc<Local>> {
        self.local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Keeps the pub/sub link up until `shutdown`: links, recovers what local channels may
    /// have missed while unlinked, then delivers messages; relinks with backoff when it drops.
    async fn listen(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        let mut logged = false;
        loop {
            let linked = tokio::select! {
                () = shutdown.cancelled() => return,
                linked = self.link() => linked,
            };
            match linked {
                Ok(pubsub) => {
                    tracing::info!("Redis pub/sub linked");
                    self.linked.store(true, Ordering::Relaxed);
                    logged = false;
                    backoff = Duration::from_millis(50);
                    let mut messages = pubsub.into_on_message();
                    self.ping().await;
                    self.recover().await;
                    loop {
                        let message = tokio::select! {
                            () = shutdown.cancelled() => return,
                            message = messages.next() => message,
                        };
                        let Some(message) = message else { break };
                        self.on_message(&message).await;
                    }
                    self.linked.store(false, Ordering::Relaxed);
                    tracing::warn!("Redis pub/sub link lost; relinking");
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

    async fn link(&self) -> Result<::redis::aio::PubSub, BackendError> {
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.psubscribe(self.keys.pattern()).await?;
            Ok::<_, ::redis::RedisError>(pubsub)
        };
        tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| failed("pub/sub", "timed out"))?
            .map_err(|e| failed("pub/sub", e))
    }

    /// Brings every local channel up to its head after the link was down: missed events from
    /// the stream, or `resync` where it no longer has them.
    async fn recover(&self) {
        let channels: Vec<Arc<Local>> = self
            .local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for channel in channels {
            self.catch_up(&channel).await;
        }
    }

    /// Sends `channel` every event after its last one, or `resync`.
    async fn catch_up(&self, channel: &Local) {
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
                channel.missed();
                *channel.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(head);
            }
            Err(err) => {
                tracing::warn!(channel = %channel.name, error = %err, "cannot recover; resync");
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
            self.adopt(message.epoch);
            return;
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

/// A pub/sub message: `EPOCH\nID\nNAME\nEXCEPT\nDATA` (data last: it may hold newlines).
struct Message<'a> {
    epoch: &'a str,
    id: u64,
    name: &'a str,
    except: &'a str,
    data: &'a str,
}

impl<'a> Message<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(5, '\n');
        Some(Self {
            epoch: parts.next()?,
            id: parts.next()?.parse().ok()?,
            name: parts.next()?,
            except: parts.next()?,
            data: parts.next()?,
        })
    }
}

fn except_list(text: &str) -> Box<[ConnectionId]> {
    text.split(',')
        .filter_map(|id| id.parse().ok().map(ConnectionId))
        .collect()
}

/// Stream entries flattened by the scripts (id, name, data, except) as events of `channel`.
fn entries(
    channel: &str,
    flat: impl Iterator<Item = String>,
) -> Result<Vec<Arc<Stored>>, BackendError> {
    let channel: Arc<str> = channel.into();
    let flat: Vec<String> = flat.collect();
    flat.chunks(4)
        .map(|entry| {
            let [id, name, data, except] = entry else {
                return Err(failed("read", "odd entry"));
            };
            Ok(Arc::new(Stored::new(
                id.parse().map_err(|e| failed("read", e))?,
                channel.clone(),
                name.as_str().into(),
                data.as_str().into(),
                except_list(except),
            )))
        })
        .collect()
}

impl Backend for Redis {
    fn epoch(&self) -> Arc<str> {
        self.epoch
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn degraded(&self) -> Option<String> {
        if !self.linked.load(Ordering::Relaxed) {
            Some("Redis pub/sub is not linked".into())
        } else if !self.commands_ok.load(Ordering::Relaxed) {
            Some("Redis commands fail".into())
        } else {
            None
        }
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        event: NewEvent,
    ) -> BoxFuture<'a, Result<Arc<Stored>, BackendError>> {
        async move {
            let except = event
                .except
                .iter()
                .map(|id| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let mut invocation = self.on_channel(&self.publish, channel);
            invocation
                .arg(history)
                .arg(&*event.name)
                .arg(&*event.data)
                .arg(except)
                .arg(self.keys.publish(channel));
            let (epoch, id): (String, u64) = self.run("publish", &invocation).await?;
            self.adopt(&epoch);
            Ok(Arc::new(Stored::new(
                id,
                channel.into(),
                event.name,
                event.data,
                event.except,
            )))
        }
        .boxed()
    }

    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        after: Option<u64>,
    ) -> BoxFuture<'a, Result<Feed, BackendError>> {
        async move {
            // Joined before reading: every event published after the read arrives live.
            let (local, receiver) = self.join(channel, history);
            let read = self.read(channel, after).await?;
            local
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(read.head);
            let live = BroadcastStream::new(receiver)
                .map(|item| match item {
                    Ok(Delivery::Event(event)) => Live::Event(event),
                    Ok(Delivery::Missed) => Live::Missed,
                    Err(BroadcastStreamRecvError::Lagged(n)) => Live::Lagged(n),
                })
                .boxed();
            Ok(Feed {
                epoch: read.epoch,
                head: read.head,
                replay: read.replay,
                live,
            })
        }
        .boxed()
    }

    fn head<'a>(
        &'a self,
        channel: &'a str,
        _history: usize,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        async move { Ok(self.read(channel, None).await?.head) }.boxed()
    }

    fn recent<'a>(
        &'a self,
        channel: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<Stored>>, BackendError>> {
        async move {
            let (epoch, events) = self.recent_raw(channel, n).await?;
            self.adopt(&epoch);
            Ok(events)
        }
        .boxed()
    }

    /// Forgets local channels nobody here subscribes to (Redis keeps their history until it
    /// expires) and refreshes the expiry of those still served.
    fn sweep(&self, _idle: Duration) -> usize {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        let before = local.len();
        local.retain(|_, channel| channel.sender.receiver_count() > 0);
        let dropped = before - local.len();
        let mut refresh = ::redis::pipe();
        for name in local.keys() {
            refresh
                .expire(self.keys.offset(name), self.ttl as i64)
                .ignore()
                .expire(self.keys.log(name), self.ttl as i64)
                .ignore();
        }
        drop(local);
        let mut commands = self.commands.clone();
        tokio::spawn(async move {
            if let Err(err) = refresh.query_async::<()>(&mut commands).await {
                tracing::warn!(error = %err, "cannot refresh channel expiry in Redis");
            }
        });
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pub/sub message splits into its five fields; the data keeps its newlines.
    #[test]
    fn messages_parse_with_data_last() {
        let message = Message::parse("e1\n42\norder:created\n7,9\n{\"a\":\n1}").unwrap();
        assert_eq!(
            (message.epoch, message.id, message.name, message.except),
            ("e1", 42, "order:created", "7,9")
        );
        assert_eq!(message.data, "{\"a\":\n1}");
        assert!(
            Message::parse("e1\nx\nn\n\n{}").is_none(),
            "id must be a number"
        );
        assert!(Message::parse("e1\n1\nn\n").is_none(), "data missing");
        assert_eq!(&*except_list("7,9"), [ConnectionId(7), ConnectionId(9)]);
        assert!(except_list("").is_empty());
    }

    /// Entries come back from the scripts flattened four at a time.
    #[test]
    fn entries_decode_in_fours() {
        let flat = ["3", "n", "{}", "", "4", "m", "[1]", "5"].map(String::from);
        let events = entries("c", flat.into_iter()).unwrap();
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(&*events[1].except, [ConnectionId(5)]);
        assert!(entries("c", ["1", "n"].map(String::from).into_iter()).is_err());
    }
}
