//! The order book in Redis: its keys and the Lua scripts that change it, each built once.

use std::sync::LazyLock;

use crate::cluster::Shared;

/// The order book's keys in Redis.
pub(super) struct OrderKeys {
    /// Hash: id → order JSON.
    pub orders: String,
    /// Sorted set of ids, for "newest first".
    pub index: String,
    /// Hash: owner → open orders.
    pub open: String,
    /// List of settled ids, oldest settlement first.
    pub settled: String,
}

impl Shared {
    pub(super) fn order_keys(&self) -> OrderKeys {
        OrderKeys {
            orders: self.key("orders"),
            index: self.key("orders:index"),
            open: self.key("orders:open"),
            settled: self.key("orders:settled"),
        }
    }
}

/// KEYS: orders, index, open. ARGV: id, JSON, owner, open limit. 0: over the limit.
pub(super) static CREATE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0') >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1
",
    )
});

/// KEYS: orders, index, open. ARGV: id, owner.
pub(super) static REMOVE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
end
return 1
",
    )
});

/// KEYS: orders, index, open, settled. ARGV: id, JSON before, JSON after, owner, settled
/// kept. 0: the order changed since it was read.
pub(super) static SETTLE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if redis.call('HINCRBY', KEYS[3], ARGV[4], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[4]) end
redis.call('RPUSH', KEYS[4], ARGV[1])
while redis.call('LLEN', KEYS[4]) > tonumber(ARGV[5]) do
  local old = redis.call('LPOP', KEYS[4])
  redis.call('HDEL', KEYS[1], old)
  redis.call('ZREM', KEYS[2], old)
end
return 1
",
    )
});

/// KEYS: orders, open, settled. ARGV: id, JSON after, JSON before, owner.
pub(super) static UNSETTLE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
redis.call('LREM', KEYS[3], -1, ARGV[1])
return 1
",
    )
});

/// KEYS: orders, index. ARGV: n. Returns {total, newest n JSONs…}.
pub(super) static RECENT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local out = {tostring(redis.call('HLEN', KEYS[1]))}
local n = tonumber(ARGV[1])
if n < 1 then return out end
local ids = redis.call('ZREVRANGE', KEYS[2], 0, n - 1)
if #ids == 0 then return out end
for _, order in ipairs(redis.call('HMGET', KEYS[1], unpack(ids))) do
  if order then out[#out + 1] = order end
end
return out
",
    )
});
