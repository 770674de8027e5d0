//! Every write (any request that is not GET, HEAD or OPTIONS: REST, server functions, sign-in)
//! takes a token from its sender's bucket: the signed-in user, or the client's address for an
//! anonymous one. A bucket holds `WRITE_BURST` tokens and refills `WRITES_PER_SECOND`; an empty
//! one is answered 429 with `Retry-After`, before the body is read. A person clicking never
//! empties it; a script looping over `POST /api/notifications` does. The buckets live in this
//! process: with several instances behind a balancer, a sender gets each instance's rate.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, auth, client, error::ApiError};

/// Buckets kept before full ones are forgotten (a full bucket is the same as none).
const KEPT: usize = 10_000;

/// The write budget of each sender.
pub struct WriteRate {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl WriteRate {
    pub fn new(burst: u32, per_second: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `sender`'s bucket at `now`, or says how long until there is one.
    pub fn take(&self, sender: &str, now: Instant) -> Result<(), Duration> {
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

/// The middleware: a write whose sender's bucket is empty gets 429 and goes no further.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let sender = match auth::user_from_headers(headers, &state.session_key) {
        Some(user) => format!("user:{user}"),
        None => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip());
            match peer {
                Some(peer) => {
                    let addr = client::client_addr(peer, headers, &state.config.trusted_proxies);
                    format!("addr:{addr}")
                }
                None => "addr:unknown".to_string(),
            }
        }
    };
    match state.writes.take(&sender, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u32;
            let rate = &state.config;
            ApiError::too_many(format!(
                "too many writes: {} at once and {} a second are allowed; try again in {secs} s",
                rate.write_burst, rate.writes_per_second
            ))
            .retry_after(secs)
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full bucket allows a burst, then one write per refill; senders have their own.
    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let rate = WriteRate::new(3, 2);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(rate.take("alice", start).is_ok());
        }
        let wait = rate.take("alice", start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(rate.take("bob", start).is_ok(), "bob has his own bucket");
        assert!(
            rate.take("alice", start + Duration::from_millis(499))
                .is_err()
        );
        assert!(
            rate.take("alice", start + Duration::from_millis(500))
                .is_ok()
        );
        // Refilling stops at the burst.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(rate.take("alice", later).is_ok());
        }
        assert!(rate.take("alice", later).is_err());
    }
}
