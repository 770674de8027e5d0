//! The Lua scripts of the Redis backend, each built once per instance (`Redis::connect`), and
//! the key names they use: everything a script touches is under one prefix (`REDIS_PREFIX`).

use std::sync::Arc;

/// Sets `epoch` to the stored epoch, creating it (as ARGV[1]) if missing. KEYS[1] is the
/// epoch key.
pub const EPOCH: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
";

/// Appends the stream entries `entries` to `out` as id, name, data, except.
pub const FLATTEN: &str = r"
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
pub const PUBLISH: &str = r"
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
pub const READ: &str = r"
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
pub const RECENT: &str = r"
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
local entries = {}
for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
local out = {epoch}
flatten(out, entries)
return out
";

/// The key names of one deployment, all under one prefix (`REDIS_PREFIX`).
#[derive(Clone)]
pub struct Keys {
    pub prefix: Arc<str>,
}

impl Keys {
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }
    pub fn issued(&self) -> String {
        format!("{}:issued", self.prefix)
    }
    pub fn offset(&self, channel: &str) -> String {
        format!("{}:off:{channel}", self.prefix)
    }
    pub fn log(&self, channel: &str) -> String {
        format!("{}:log:{channel}", self.prefix)
    }
    pub fn publish(&self, channel: &str) -> String {
        format!("{}:pub:{channel}", self.prefix)
    }
    /// What the pub/sub connection subscribes to: every channel's `publish` key.
    pub fn pattern(&self) -> String {
        format!("{}:pub:*", self.prefix)
    }
}
