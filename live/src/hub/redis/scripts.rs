//! The Lua scripts of the Redis backend, each built once per instance (`Redis::connect`), and
//! the key names they use: everything a script touches is under one prefix (`REDIS_PREFIX`).

use std::sync::Arc;

/// Sets `epoch` to the stored epoch and `issued` to the publish count. KEYS[1] is the epoch
/// key, KEYS[2] the count; ARGV[1] an epoch candidate, ARGV[2] the epoch the caller knows and
/// ARGV[3] the highest count it saw in it. A missing epoch (the data is gone) or a count behind
/// what the caller saw (a restore from an older dump, a failover to a replica that lagged:
/// offsets rewound, so ids would be issued again) starts a new epoch, the candidate.
pub const EPOCH: &str = r"
local epoch = redis.call('GET', KEYS[1])
local issued = tonumber(redis.call('GET', KEYS[2]) or '0')
if not epoch or (epoch == ARGV[2] and issued < tonumber(ARGV[3])) then
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

/// Publishes events, in order, in one call (one for a single publish, a batch's all at once).
/// KEYS: epoch, issued, then an offset and a log per event. ARGV: epoch candidate, known
/// epoch, count seen, ttl, then six per event: history, name, data, except, pub/sub channel,
/// and the message's except field (`@SENT_MICROS` first: see `decode::sent_field`). Returns
/// {epoch, issued, id…}. `issued` counts every publish, so it is at least every channel's
/// offset: a channel that comes back (its keys expired) continues above any id it ever issued.
pub const PUBLISH: &str = r"
local ids = {}
for i = 0, (#KEYS - 2) / 2 - 1 do
  local offset, log, a = KEYS[3 + 2 * i], KEYS[4 + 2 * i], 5 + 6 * i
  if redis.call('EXISTS', offset) == 0 then
    redis.call('SET', offset, string.format('%.0f', issued))
  end
  local id = redis.call('INCR', offset)
  redis.call('EXPIRE', offset, ARGV[4])
  issued = redis.call('INCR', KEYS[2])
  local text = string.format('%.0f', id)
  redis.call('XADD', log, 'MAXLEN', ARGV[a], text .. '-0', 'n', ARGV[a + 1], 'd', ARGV[a + 2], 'x', ARGV[a + 3])
  redis.call('EXPIRE', log, ARGV[4])
  redis.call('PUBLISH', ARGV[a + 4], epoch .. '\n' .. text .. '\n' .. ARGV[a + 1] .. '\n' .. ARGV[a + 5] .. '\n' .. ARGV[a + 2])
  ids[#ids + 1] = text
end
local out = {epoch, string.format('%.0f', issued)}
for _, id in ipairs(ids) do out[#out + 1] = id end
return out
";

/// KEYS: epoch, issued, offset, log. ARGV: epoch candidate, known epoch, count seen, ttl,
/// after ('' for none). Creates the channel if missing (its offset starting at the count) and
/// refreshes its expiry. Returns {epoch, issued, head, 'live' | 'ok' | 'gap', entries after
/// `after`…}.
pub const READ: &str = r"
local head = redis.call('GET', KEYS[3])
if not head then head = string.format('%.0f', issued) end
redis.call('SET', KEYS[3], head, 'EX', ARGV[4])
redis.call('EXPIRE', KEYS[4], ARGV[4])
local out = {epoch, string.format('%.0f', issued), head}
if ARGV[5] == '' then
  out[4] = 'live'
  return out
end
local after = tonumber(ARGV[5])
if after > tonumber(head) then
  out[4] = 'gap'
  return out
end
out[4] = 'ok'
if after == tonumber(head) then return out end
local entries = redis.call('XRANGE', KEYS[4], string.format('%.0f', after + 1), '+')
if #entries == 0 or tonumber(string.match(entries[1][1], '^(%d+)')) ~= after + 1 then
  out[4] = 'gap'
  return out
end
flatten(out, entries)
return out
";

/// KEYS: epoch, issued, log. ARGV: epoch candidate, known epoch, count seen, n. Returns
/// {epoch, issued, newest n entries, oldest first…}.
pub const RECENT: &str = r"
local newest = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', ARGV[4])
local entries = {}
for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
local out = {epoch, string.format('%.0f', issued)}
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
    /// How many events were ever published (see [`PUBLISH`]).
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
}
