//! Typed configuration from the environment, with defaults for everything.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` | where to listen (`:0` picks a free port) |
//! | `LEPTOS_SITE_ROOT` | `target/site` | built assets (wasm, js, css, public/) |
//! | `LEPTOS_*` | see cargo-leptos | the rest of [`LeptosOptions`] |
//! | `PRICE_INTERVAL_MS` | `500` | how often the price simulator ticks |
//! | `HEARTBEAT_MS` | `15000` | heartbeat comment interval on idle streams |
//! | `JOB_STEP_MS` | `150` | time between two progress steps of a demo job |
//! | `ORDER_SIMULATOR_MS` | `3000` | simulated order activity every so often; `0` turns it off |
//! | `MAX_STREAMS` | open-file limit less a tenth (at least 256 kept) | open streams in all (503 beyond) |
//! | `MAX_STREAMS_PER_ADDRESS` | `64` | open streams per client address, IPv6 per /64 (429 beyond) |
//! | `MAX_STREAMS_PER_USER` | `16` | open streams per signed-in user (429 beyond) |
//! | `MAX_CHANNELS_PER_STREAM` | `16` | channels on one multiplexed stream (400 beyond) |
//! | `MAX_BODY_BYTES` | `16384` | request body size, every route (413 beyond) |
//! | `TRUSTED_PROXIES` | empty | proxies (addresses, networks) whose `X-Forwarded-For` names the client |
//! | `CHANNEL_IDLE_SECS` | `300` | a channel with no subscriber and no event for this long is dropped |
//! | `MAX_JOBS_PER_USER` | `3` | running demo jobs per user (429 beyond) |
//! | `MAX_OPEN_ORDERS_PER_USER` | `100` | open orders per user (429 beyond) |
//! | `SETTLED_ORDERS_KEPT` | `200` | filled/cancelled orders kept; older ones age out |
//! | `SHUTDOWN_GRACE_MS` | `0` | after a signal, `/readyz` answers 503 for this long before streams end |
//! | `SHUTDOWN_DRAIN_MS` | `3000` | then connections get this long to finish before the process exits |
//! | `OPS_TOKEN` | unset (off) | bearer token for the operator's `GET /api/ops/channels` |
//! | `SESSION_KEY` | random per start (required with `REDIS_URL`) | 128 hex digits (64 bytes) signing the session cookie |
//! | `REDIS_URL` | unset (in-process hub) | `redis://HOST:PORT[/DB]`: share hub and state with other instances |
//! | `REDIS_PREFIX` | `live` | prefix of every Redis key, so deployments can share a Redis |
//! | `COOKIE_SECURE` | `false` | mark the session cookie `Secure` (set it behind HTTPS) |
//! | `CORS_ORIGINS` | empty (CORS off) | comma-separated exact origins allowed cross-site |
//! | `BUILD_ID` | the package version | announced on every stream; clients reload on change |
//! | `BENCH` | `false` | open the benchmark channels and `POST /api/bench/{channel}` to anyone (for `./x bench`; never in production) |

use std::time::Duration;

use axum_extra::extract::cookie::Key;
use leptos::config::{LeptosOptions, get_configuration};

use crate::{client::TrustedProxies, feeds::orders::OrderLimits};
use leptos_live::hub::{Limits, StreamLimits};

/// Everything the server reads at start-up.
#[derive(Clone)]
pub struct Config {
    /// Site address, asset paths and reload settings, as cargo-leptos passes them.
    pub leptos: LeptosOptions,
    pub price_interval: Duration,
    pub heartbeat: Duration,
    pub job_step: Duration,
    /// `None`: no simulated orders.
    pub order_simulator: Option<Duration>,
    pub limits: Limits,
    /// Largest request body on any route (413 beyond).
    pub max_body_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed (see `crate::client`).
    pub trusted_proxies: TrustedProxies,
    /// How long an unused channel lives (see `hub::memory`).
    pub channel_idle: Duration,
    pub jobs_per_user: usize,
    pub orders: OrderLimits,
    /// After the signal: how long `/readyz` says 503 before streams end.
    pub shutdown_grace: Duration,
    /// Then: how long open connections may take to close before the process exits anyway.
    pub shutdown_drain: Duration,
    /// Bearer token for the operator's endpoints; `None`: they answer 404.
    pub ops_token: Option<String>,
    pub session_key: Key,
    pub secure_cookies: bool,
    pub cors_origins: Vec<String>,
    pub build_id: String,
    /// Benchmark channels `bench` and `bench/:id` plus their publish route (see `feeds::bench`).
    pub bench: bool,
    /// `REDIS_URL`: share the hub and the domain state with other instances through Redis;
    /// `None`: everything lives in this process.
    pub redis: Option<RedisConfig>,
}

/// Where the instances of one deployment meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// Prefix of every key (`REDIS_PREFIX`, default `live`): several deployments can share
    /// one Redis.
    pub prefix: String,
}

/// A configuration value that could not be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the Leptos settings from the environment and our own through `lookup`, so tests
    /// need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let leptos = get_configuration(None)
            .map_err(|err| ConfigError(format!("LEPTOS_* settings: {err}")))?
            .leptos_options;
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let redis = match var("REDIS_URL") {
            Some(url) => {
                let url = url.trim().to_string();
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err(ConfigError(format!(
                        "REDIS_URL: {url:?} is not a redis://HOST:PORT[/DB] URL"
                    )));
                }
                let prefix = var("REDIS_PREFIX").unwrap_or_else(|| "live".into());
                if !leptos_live::cursor::is_token(prefix.trim()) {
                    return Err(ConfigError(
                        "REDIS_PREFIX: letters, digits, '-' and '_' only".into(),
                    ));
                }
                Some(RedisConfig {
                    url,
                    prefix: prefix.trim().to_string(),
                })
            }
            None => None,
        };
        let session_key = match var("SESSION_KEY") {
            Some(hex) => parse_key(&hex)?,
            None if redis.is_some() => {
                return Err(ConfigError(
                    "SESSION_KEY: required with REDIS_URL, so that every instance accepts the \
                     same sessions (e.g. openssl rand -hex 64)"
                        .into(),
                ));
            }
            None => Key::generate(),
        };
        let secure_cookies = flag(&var, "COOKIE_SECURE")?;
        let cors_origins = var("CORS_ORIGINS")
            .map(|list| parse_origins(&list))
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            leptos,
            price_interval: millis(&var, "PRICE_INTERVAL_MS", 500)?,
            heartbeat: millis(&var, "HEARTBEAT_MS", 15_000)?,
            job_step: millis(&var, "JOB_STEP_MS", 150)?,
            order_simulator: match var("ORDER_SIMULATOR_MS").as_deref().map(str::trim) {
                Some("0") => None,
                _ => Some(millis(&var, "ORDER_SIMULATOR_MS", 3_000)?),
            },
            limits: Limits {
                streams: StreamLimits {
                    total: max_streams(&var, open_file_limit())?,
                    per_address: count(&var, "MAX_STREAMS_PER_ADDRESS", 64)?,
                    per_user: count(&var, "MAX_STREAMS_PER_USER", 16)?,
                },
                channels_per_connection: count(&var, "MAX_CHANNELS_PER_STREAM", 16)?,
            },
            max_body_bytes: count(&var, "MAX_BODY_BYTES", 16 * 1024)?,
            trusted_proxies: var("TRUSTED_PROXIES")
                .map(|list| list.parse::<TrustedProxies>())
                .transpose()
                .map_err(|bad| {
                    ConfigError(format!(
                        "TRUSTED_PROXIES: {:?} is not an address or network like 10.0.0.0/8",
                        bad.0
                    ))
                })?
                .unwrap_or_default(),
            channel_idle: Duration::from_secs(count(&var, "CHANNEL_IDLE_SECS", 300)? as u64),
            jobs_per_user: count(&var, "MAX_JOBS_PER_USER", 3)?,
            orders: OrderLimits {
                open_per_user: count(&var, "MAX_OPEN_ORDERS_PER_USER", 100)?,
                settled_kept: count(&var, "SETTLED_ORDERS_KEPT", 200)?,
            },
            shutdown_grace: Duration::from_millis(whole(&var, "SHUTDOWN_GRACE_MS", 0)?),
            shutdown_drain: millis(&var, "SHUTDOWN_DRAIN_MS", 3_000)?,
            ops_token: match var("OPS_TOKEN") {
                Some(token) if token.trim().len() < 16 => {
                    return Err(ConfigError(
                        "OPS_TOKEN: use at least 16 characters (e.g. openssl rand -hex 24)".into(),
                    ));
                }
                token => token.map(|t| t.trim().to_string()),
            },
            session_key,
            secure_cookies,
            cors_origins,
            build_id: var("BUILD_ID").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            bench: flag(&var, "BENCH")?,
            redis,
        })
    }

    /// Defaults for a server in a test: fast ticks and heartbeats, assets from the workspace.
    pub fn for_tests() -> Self {
        Self {
            leptos: LeptosOptions::builder()
                .output_name("leptos-live")
                .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
                .build(),
            price_interval: Duration::from_millis(50),
            heartbeat: Duration::from_millis(200),
            job_step: Duration::from_millis(5),
            // Tests publish their own orders and count them.
            order_simulator: None,
            limits: Limits::default(),
            max_body_bytes: 16 * 1024,
            trusted_proxies: TrustedProxies::default(),
            channel_idle: Duration::from_secs(300),
            jobs_per_user: 3,
            orders: OrderLimits::default(),
            shutdown_grace: Duration::ZERO,
            shutdown_drain: Duration::from_secs(3),
            ops_token: None,
            session_key: Key::generate(),
            secure_cookies: false,
            cors_origins: Vec::new(),
            build_id: "test".into(),
            bench: false,
            redis: None,
        }
    }
}

/// Parses `true`/`1` or `false`/`0` from `name` (unset: false).
fn flag(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::trim) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(ConfigError(format!(
            "{name}={other:?}: expected true or false"
        ))),
    }
}

/// Parses a whole number of milliseconds (at least 1) from `name`, or returns `default`.
fn millis(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<Duration, ConfigError> {
    count(var, name, default as usize).map(|ms| Duration::from_millis(ms as u64))
}

/// Parses a whole number (0 allowed) from `name`, or returns `default`.
fn whole(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<u64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name}={raw:?}: expected a whole number"))),
    }
}

/// File descriptors kept free for everything that is not a stream: ordinary requests, the
/// listener, logs, assets. A tenth of the limit, at least this many.
const FD_HEADROOM: u64 = 256;

/// `MAX_STREAMS`, defaulting to the open-file limit less its headroom; a value the limit
/// cannot hold is refused (each stream is a socket, and running out of descriptors would fail
/// every request, not just streams).
fn max_streams(
    var: &impl Fn(&str) -> Option<String>,
    open_files: u64,
) -> Result<usize, ConfigError> {
    let room = open_files
        .saturating_sub((open_files / 10).max(FD_HEADROOM))
        .max(1) as usize;
    let streams = count(var, "MAX_STREAMS", room)?;
    if streams > room {
        return Err(ConfigError(format!(
            "MAX_STREAMS={streams}: the open-file limit is {open_files}, room for {room} streams; \
             raise the limit (ulimit -n) or lower MAX_STREAMS"
        )));
    }
    Ok(streams)
}

/// The soft open-file limit of this process (see `raise_open_file_limit`).
pub fn open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one plain struct that we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_cur
}

/// Raises the soft open-file limit to the hard one, as Go's runtime does at start-up: the soft
/// default (often 1,024) is far below what a stream server needs, and the hard limit is what
/// the operator allowed. Call it before reading the config.
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above; setrlimit reads the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Parses a whole number of at least 1 from `name`, or returns `default`.
fn count(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(raw) = var(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError(format!(
            "{name}={raw:?}: expected a whole number, at least 1"
        ))),
    }
}

fn parse_key(hex: &str) -> Result<Key, ConfigError> {
    let hex = hex.trim();
    let bytes: Option<Vec<u8>> = (hex.len() == 128)
        .then(|| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .map(|b| Key::from(&b))
        .ok_or_else(|| ConfigError("SESSION_KEY: expected 128 hex digits (64 bytes)".into()))
}

fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') => Ok(origin.to_string()),
                _ => Err(ConfigError(format!(
                    "CORS_ORIGINS: {origin:?} is not an exact origin like https://app.example.com"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// Unset variables fall back to their defaults.
    #[test]
    fn defaults_apply() {
        let config = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.price_interval, Duration::from_millis(500));
        assert_eq!(config.heartbeat, Duration::from_secs(15));
        assert_eq!(config.limits.streams.per_user, 16);
        assert_eq!(config.limits.streams.per_address, 64);
        let open_files = open_file_limit() as usize;
        assert!(config.limits.streams.total < open_files, "headroom kept");
        assert_eq!(config.shutdown_drain, Duration::from_secs(3));
        assert_eq!(config.ops_token, None);
        assert_eq!(config.order_simulator, Some(Duration::from_secs(3)));
        assert!(!config.secure_cookies);
        assert!(config.cors_origins.is_empty());
    }

    /// Set values are used as given.
    #[test]
    fn values_are_read() {
        let key = "ab".repeat(64);
        let config = Config::from_lookup(lookup(&[
            ("PRICE_INTERVAL_MS", "250"),
            ("HEARTBEAT_MS", "1000"),
            ("MAX_STREAMS_PER_USER", "3"),
            ("MAX_STREAMS", "50"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
            ("SHUTDOWN_GRACE_MS", "0"),
            ("SESSION_KEY", &key),
            ("COOKIE_SECURE", "true"),
            ("ORDER_SIMULATOR_MS", "0"),
            ("CORS_ORIGINS", "https://a.example, http://b.example:8080"),
        ]))
        .unwrap();
        assert_eq!(config.price_interval, Duration::from_millis(250));
        assert_eq!(config.heartbeat, Duration::from_secs(1));
        assert_eq!(config.limits.streams.per_user, 3);
        assert_eq!(config.limits.streams.total, 50);
        assert!(config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert_eq!(config.shutdown_grace, Duration::ZERO);
        assert_eq!(config.session_key.master(), Key::from(&[0xab; 64]).master());
        assert!(config.secure_cookies);
        assert_eq!(config.order_simulator, None);
        assert_eq!(
            config.cors_origins,
            vec!["https://a.example", "http://b.example:8080"]
        );
    }

    /// Bad values are refused with a message naming the variable.
    #[test]
    fn bad_values_name_the_variable() {
        for (name, bad) in [
            ("PRICE_INTERVAL_MS", "abc"),
            ("PRICE_INTERVAL_MS", "0"),
            ("HEARTBEAT_MS", "-5"),
            ("MAX_CHANNELS_PER_STREAM", "many"),
            ("SESSION_KEY", "abcd"),
            ("SESSION_KEY", &"zz".repeat(64)),
            ("COOKIE_SECURE", "yes please"),
            ("CORS_ORIGINS", "*"),
            ("CORS_ORIGINS", "https://a.example/path"),
            ("MAX_STREAMS", "999999999"),
            ("TRUSTED_PROXIES", "proxy.local"),
            ("SHUTDOWN_DRAIN_MS", "0"),
            ("OPS_TOKEN", "short"),
        ] {
            let err = Config::from_lookup(lookup(&[(name, bad)])).err().unwrap();
            assert!(err.to_string().contains(name), "{name}={bad}: {err}");
        }
    }
}
