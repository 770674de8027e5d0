//! A collection in Redis, shared by every instance of the hub: the item JSON in a hash
//! (`{prefix}:collection:{name}`), the ids in a sorted set (`…:index`, for "newest first"),
//! active items per owner in a hash (`…:active`), retired ids in a list (`…:retired`, oldest
//! first) and the last id given (`…:last-id`). Each write is one Lua script that checks and
//! keeps the bounds, so instances never disagree on them. An idempotency key is a string of
//! its own (`…:key:{key}`: the item's id, `+` once announced) that expires after
//! [`KEY_TTL_SECS`].

use std::sync::LazyLock;

use ::redis::Script;

use crate::hub::redis::Commands;
use futures_util::FutureExt;

use super::store::{Claim, Entry, KEY_TTL_SECS, Pending, Store, Written};
use crate::hub::BackendError;

/// Helpers every script starts with. KEYS: items, index, active, retired.
const PRELUDE: &str = r"
local function deactivate(owner)
  if redis.call('HINCRBY', KEYS[3], owner, -1) <= 0 then redis.call('HDEL', KEYS[3], owner) end
end
local function retire(id, kept)
  redis.call('RPUSH', KEYS[4], id)
  while redis.call('LLEN', KEYS[4]) > tonumber(kept) do
    local old = redis.call('LPOP', KEYS[4])
    redis.call('HDEL', KEYS[1], old)
    redis.call('ZREM', KEYS[2], old)
  end
end
local function over(owner, limit)
  return tonumber(redis.call('HGET', KEYS[3], owner) or '0') >= tonumber(limit)
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// ARGV: id, JSON, owner, active (1/0), limit, retired kept. 0: over the limit.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local active = ARGV[4] == '1'
if active and over(ARGV[3], ARGV[5]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
if active then redis.call('HINCRBY', KEYS[3], ARGV[3], 1) else retire(ARGV[1], ARGV[6]) end
return 1
",
    )
});

/// KEYS: the key's string. ARGV: id, ttl. Returns what it holds already, or '' once claimed.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ''
",
    )
});

/// KEYS: the key's string. Marks its creation announced, keeping its expiry.
static CONFIRM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, -1) ~= '+' then
  redis.call('SET', KEYS[1], held .. '+', 'KEEPTTL')
end
return 1
",
    )
});

/// ARGV: id, JSON before, JSON after, owner, active before, active after (1/0), limit,
/// retired kept. 1: done, 0: the item is not what was read, -1: over the limit.
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local was, is = ARGV[5] == '1', ARGV[6] == '1'
if is and not was and over(ARGV[4], ARGV[7]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if was and not is then
  deactivate(ARGV[4])
  retire(ARGV[1], ARGV[8])
elseif is and not was then
  redis.call('LREM', KEYS[4], -1, ARGV[1])
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
end
return 1
",
    )
});

/// ARGV: n. Returns {total, newest n JSONs…}.
static RECENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local out = {tostring(redis.call('HLEN', KEYS[1]))}
local n = tonumber(ARGV[1])
if n < 1 then return out end
local ids = redis.call('ZREVRANGE', KEYS[2], 0, n - 1)
if #ids == 0 then return out end
for _, item in ipairs(redis.call('HMGET', KEYS[1], unpack(ids))) do
  if item then out[#out + 1] = item end
end
return out
",
    )
});

/// The collection `name` of the deployment under `prefix`.
pub struct Shared {
    commands: Commands,
    name: String,
    /// items, index, active, retired.
    keys: [String; 4],
    last_id: String,
    /// Idempotency keys are this followed by the key.
    claims: String,
}

impl Shared {
    pub fn new(commands: Commands, prefix: &str, name: &str) -> Self {
        let key = |rest: &str| format!("{prefix}:collection:{name}{rest}");
        Self {
            commands,
            name: name.to_string(),
            keys: [key(""), key(":index"), key(":active"), key(":retired")],
            last_id: key(":last-id"),
            claims: key(":key:"),
        }
    }

    fn failed(&self, err: ::redis::RedisError) -> BackendError {
        BackendError(format!("redis collection {}: {err}", self.name))
    }

    async fn run<T: ::redis::FromRedisValue>(
        &self,
        script: &Script,
        args: impl FnOnce(&mut ::redis::ScriptInvocation<'_>),
    ) -> Result<T, BackendError> {
        let mut invocation = script.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        args(&mut invocation);
        invocation
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|e| self.failed(e))
    }
}

fn flag(on: bool) -> i64 {
    i64::from(on)
}

impl Store for Shared {
    fn next_id(&self) -> Pending<'_, u64> {
        async move {
            ::redis::cmd("INCR")
                .arg(&self.last_id)
                .query_async(&mut self.commands.clone())
                .await
                .map_err(|e| self.failed(e))
        }
        .boxed()
    }

    fn insert<'a>(
        &'a self,
        item: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written> {
        async move {
            let done: i64 = self
                .run(&INSERT, |i| {
                    i.arg(item.id)
                        .arg(item.json)
                        .arg(item.owner)
                        .arg(flag(item.active))
                        .arg(limit)
                        .arg(retired_kept);
                })
                .await?;
            Ok(if done == 1 {
                Written::Done
            } else {
                Written::OverLimit
            })
        }
        .boxed()
    }

    fn claim<'a>(&'a self, key: &'a str, id: u64) -> Pending<'a, Option<Claim>> {
        async move {
            let held: String = CLAIM
                .key(format!("{}{key}", self.claims))
                .arg(id)
                .arg(KEY_TTL_SECS)
                .invoke_async(&mut self.commands.clone())
                .await
                .map_err(|e| self.failed(e))?;
            if held.is_empty() {
                return Ok(None);
            }
            let announced = held.ends_with('+');
            let id = held.trim_end_matches('+').parse().map_err(|_| {
                BackendError(format!(
                    "redis collection {}: key holds {held:?}",
                    self.name
                ))
            })?;
            Ok(Some(Claim { id, announced }))
        }
        .boxed()
    }

    fn confirm<'a>(&'a self, key: &'a str) -> Pending<'a, ()> {
        async move {
            let _: i64 = CONFIRM
                .key(format!("{}{key}", self.claims))
                .invoke_async(&mut self.commands.clone())
                .await
                .map_err(|e| self.failed(e))?;
            Ok(())
        }
        .boxed()
    }

    fn release<'a>(&'a self, key: &'a str) -> Pending<'a, ()> {
        async move {
            ::redis::cmd("DEL")
                .arg(format!("{}{key}", self.claims))
                .query_async::<i64>(&mut self.commands.clone())
                .await
                .map_err(|e| self.failed(e))?;
            Ok(())
        }
        .boxed()
    }

    fn get(&self, id: u64) -> Pending<'_, Option<String>> {
        async move {
            ::redis::cmd("HGET")
                .arg(&self.keys[0])
                .arg(id)
                .query_async(&mut self.commands.clone())
                .await
                .map_err(|e| self.failed(e))
        }
        .boxed()
    }

    fn swap<'a>(
        &'a self,
        before: Entry<'a>,
        after: Entry<'a>,
        limit: usize,
        retired_kept: usize,
    ) -> Pending<'a, Written> {
        async move {
            let done: i64 = self
                .run(&SWAP, |i| {
                    i.arg(before.id)
                        .arg(before.json)
                        .arg(after.json)
                        .arg(before.owner)
                        .arg(flag(before.active))
                        .arg(flag(after.active))
                        .arg(limit)
                        .arg(retired_kept);
                })
                .await?;
            Ok(match done {
                1 => Written::Done,
                -1 => Written::OverLimit,
                _ => Written::Changed,
            })
        }
        .boxed()
    }

    fn recent(&self, n: usize) -> Pending<'_, (Vec<String>, usize)> {
        async move {
            let reply: Vec<String> = self
                .run(&RECENT, |i| {
                    i.arg(n);
                })
                .await?;
            let mut reply = reply.into_iter();
            let total = reply.next().and_then(|t| t.parse().ok()).unwrap_or(0);
            Ok((reply.collect(), total))
        }
        .boxed()
    }
}
