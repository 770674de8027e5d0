//! Every write (any request that is not GET, HEAD or OPTIONS: REST, server functions, sign-in)
//! takes a token from its sender's bucket: the signed-in user, or the client's address for an
//! anonymous one. A bucket holds `WRITE_BURST` tokens and refills `WRITES_PER_SECOND`; an empty
//! one is answered 429 with `Retry-After`, before the body is read. A person clicking never
//! empties it; a script looping over `POST /api/notifications` does. With `REDIS_URL` the
//! buckets live in Redis, timed by Redis's clock, so a sender has one budget across all
//! instances; if Redis does not answer, this instance's own buckets stand in.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use ::redis::Script;

use axum::{
    extract::{ConnectInfo, Request},
    http::Method,
};

use crate::{AppState, api, client, cluster::Shared, error::ApiError};

/// Buckets kept before full ones are forgotten (a full bucket is the same as none).
const KEPT: usize = 10_000;

/// Takes a token in Redis, on Redis's clock. KEYS: bucket. ARGV: burst, tokens per second.
/// Returns 0, or the milliseconds until a token is there. The bucket's key expires once it
/// would be full again.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]) or burst, tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
if tokens < 1 then
  return math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return 0
",
    )
});

/// The write budget of each sender.
pub struct WriteRate {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// With `REDIS_URL`: the buckets all instances share.
    shared: Option<Shared>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl WriteRate {
    pub fn new(burst: u32, per_second: u32, shared: Option<Shared>) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Takes one token from `sender`'s bucket, or says how long until there is one: in Redis
    /// when the instances share one, else (or when Redis fails) in this process.
    pub async fn take(&self, sender: &str) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            let waited = TAKE
                .key(shared.key(&format!("writes:{sender}")))
                .arg(self.burst)
                .arg(self.per_second)
                .invoke_async::<u64>(&mut shared.con())
                .await;
            match waited {
                Ok(0) => return Ok(()),
                Ok(ms) => return Err(Duration::from_millis(ms)),
                Err(err) => {
                    tracing::warn!(error = %err, "write budget in Redis unreadable; using this instance's")
                }
            }
        }
        self.take_here(sender, Instant::now())
    }

    /// [`WriteRate::take`] from this process's buckets, at `now`.
    fn take_here(&self, sender: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= KEPT && !buckets.contains_key(sender) {
            let full = |b: &Bucket| self.level(*b, now) >= self.burst;
            buckets.retain(|_, b| !full(b));
        }
        let bucket = buckets.entry(sender.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = self.level(*bucket, now);
        if tokens < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second));
        }
        *bucket = Bucket {
            tokens: tokens - 1.0,
            at: now,
        };
        Ok(())
    }

    fn level(&self, bucket: Bucket, now: Instant) -> f64 {
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        (bucket.tokens + refilled).min(self.burst)
    }
}

/// The check `crate::routes`'s `admit` layer runs: a write whose sender's bucket is empty gets
/// 429 and goes no further; anything else comes back to go on.
pub async fn limit(state: &AppState, request: Request) -> Result<Request, ApiError> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || api::operator(state, request.headers()).is_ok()
    {
        // Reads, and the operator's writes (the token is their budget).
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    // The handler finds the session already looked up. If the sessions cannot be read, the
    // write is budgeted by address (and its handler answers 503).
    let session = state.sessions.resolve(&mut parts).await.ok().flatten();
    let sender = match session {
        Some(session) => format!("user:{}", session.user),
        None => {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip());
            match peer {
                Some(peer) => {
                    let trusted = &state.config.trusted_proxies;
                    format!(
                        "addr:{}",
                        client::client_addr(peer, &parts.headers, trusted)
                    )
                }
                None => "addr:unknown".to_string(),
            }
        }
    };
    match state.writes.take(&sender).await {
        Ok(()) => Ok(Request::from_parts(parts, body)),
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u32;
            let rate = &state.config;
            Err(ApiError::too_many(format!(
                "too many writes: {} at once and {} a second are allowed; try again in {secs} s",
                rate.write_burst, rate.writes_per_second
            ))
            .retry_after(secs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full bucket allows a burst, then one write per refill; senders have their own.
    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let rate = WriteRate::new(3, 2, None);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(rate.take_here("alice", start).is_ok());
        }
        let wait = rate.take_here("alice", start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(
            rate.take_here("bob", start).is_ok(),
            "bob has his own bucket"
        );
        assert!(
            rate.take_here("alice", start + Duration::from_millis(499))
                .is_err()
        );
        assert!(
            rate.take_here("alice", start + Duration::from_millis(500))
                .is_ok()
        );
        // Refilling stops at the burst.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(rate.take_here("alice", later).is_ok());
        }
        assert!(rate.take_here("alice", later).is_err());
    }
}
