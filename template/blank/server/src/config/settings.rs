//! [`Settings`]: every setting of the server, each with its environment variable, default and
//! the values it accepts, as clap parses them. `server --help` lists them all; a setting may also
//! be given as a flag (`--max-streams 500`), which wins over the environment.
//!
//! A value that does not parse is refused at start-up in one line that names the setting and
//! what it accepts; `Config::from_settings` then checks what needs several settings at once
//! (`SESSION_KEY` with `REDIS_URL`, `MAX_STREAMS` against the open-file limit).

use axum_extra::extract::cookie::Key;
use clap::{ArgAction, Parser};

use crate::client::TrustedProxies;

/// What the environment (or the command line) sets. Durations are whole milliseconds unless the
/// name says seconds.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "server",
    about = "The app's axum server: pages, streams and the API.",
    after_help = "The LEPTOS_* variables cargo-leptos sets (LEPTOS_SITE_ADDR, LEPTOS_SITE_ROOT, \
                  LEPTOS_OUTPUT_NAME, …) say where to listen and where the built site is. \
                  What every limit protects: SECURITY.md."
)]
pub struct Settings {
    /// Heartbeat comment interval on idle streams.
    #[arg(long, env = "HEARTBEAT_MS", default_value = "15000", value_parser = millis)]
    pub heartbeat_ms: u64,
    /// Open streams in all (503 beyond) [default: the open-file limit less a tenth, at least 256
    /// descriptors kept for everything else].
    #[arg(long, env = "MAX_STREAMS", value_parser = at_least_one)]
    pub max_streams: Option<u64>,
    /// Open streams per client address, IPv6 per /64 (429 beyond).
    #[arg(long, env = "MAX_STREAMS_PER_ADDRESS", default_value = "64", value_parser = at_least_one)]
    pub max_streams_per_address: u64,
    /// Open streams per signed-in user (429 beyond).
    #[arg(long, env = "MAX_STREAMS_PER_USER", default_value = "16", value_parser = at_least_one)]
    pub max_streams_per_user: u64,
    /// Channels on one multiplexed stream (400 beyond).
    #[arg(long, env = "MAX_CHANNELS_PER_STREAM", default_value = "16", value_parser = at_least_one)]
    pub max_channels_per_stream: u64,
    /// Request body size on every route, in bytes (413 beyond).
    #[arg(long, env = "MAX_BODY_BYTES", default_value = "16384", value_parser = at_least_one)]
    pub max_body_bytes: u64,
    /// Events in one `POST /api/ops/publish` (413 beyond; the body limit applies too).
    #[arg(long, env = "MAX_BATCH_EVENTS", default_value = "256", value_parser = at_least_one)]
    pub max_batch_events: u64,
    /// Open connections from one client address (streams or not); more are answered 429 and
    /// closed. A trusted proxy's connections are not counted.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value = "256", value_parser = at_least_one)]
    pub max_connections_per_address: u64,
    /// Writes (requests other than GET, HEAD, OPTIONS) one sender may make at once: a signed-in
    /// user, or an anonymous client's address.
    #[arg(long, env = "WRITE_BURST", default_value = "30", value_parser = at_least_one)]
    pub write_burst: u64,
    /// Then this many a second (429 with Retry-After beyond).
    #[arg(long, env = "WRITES_PER_SECOND", default_value = "3", value_parser = at_least_one)]
    pub writes_per_second: u64,
    /// How long a client may take to send its request headers; then the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value = "10000", value_parser = millis)]
    pub header_read_timeout_ms: u64,
    /// How long an event on a stream may wait for the ones after it to leave in the same write
    /// (0: none). Pays only when longer than the gap between one connection's events; adds up
    /// to that much latency. Streams answered on the socket only (see direct.rs).
    #[arg(long, env = "STREAM_WRITE_DELAY_MS", default_value = "0", value_parser = millis_or_none)]
    pub stream_write_delay_ms: u64,
    /// How long a client may take to send a request body once its headers are in (408 beyond).
    #[arg(long, env = "BODY_READ_TIMEOUT_MS", default_value = "10000", value_parser = millis)]
    pub body_read_timeout_ms: u64,
    /// Proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", value_parser = trusted_proxies)]
    pub trusted_proxies: TrustedProxies,
    /// A channel with no subscriber and no event for this many seconds is dropped (with Redis:
    /// also how long its keys outlive it).
    #[arg(long, env = "CHANNEL_IDLE_SECS", default_value = "300", value_parser = seconds)]
    pub channel_idle_secs: u64,
    /// A session unused this long ends: its cookie no longer signs anyone in, on any instance.
    #[arg(long, env = "SESSION_IDLE_SECS", default_value = "86400", value_parser = seconds)]
    pub session_idle_secs: u64,
    /// A session ends this long after its sign-in, used or not.
    #[arg(long, env = "SESSION_MAX_SECS", default_value = "604800", value_parser = seconds)]
    pub session_max_secs: u64,
    /// Sessions kept in this process (without REDIS_URL: Redis expires each by itself); past
    /// it, signing in ends the sessions unused longest.
    #[arg(long, env = "MAX_SESSIONS", default_value = "100000", value_parser = at_least_one)]
    pub max_sessions: u64,
    /// Without REDIS_URL: a file where this process leaves its sessions when it stops and
    /// finds them when it starts, so a restart signs nobody out [default: unset, a restart
    /// ends every session]. It holds session ids: the server writes it for its own user only.
    #[arg(long, env = "SESSIONS_FILE")]
    pub sessions_file: Option<std::path::PathBuf>,
    /// After a signal, /readyz answers 503 for this long before streams end.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value = "0", value_parser = millis_or_none)]
    pub shutdown_grace_ms: u64,
    /// Then open connections get this long to finish before the process exits.
    #[arg(long, env = "SHUTDOWN_DRAIN_MS", default_value = "3000", value_parser = millis)]
    pub shutdown_drain_ms: u64,
    /// The longest a page render or a server function may take before it is answered 503 (a
    /// render that never finishes must not hold its connection forever).
    #[arg(long, env = "RENDER_TIMEOUT_MS", default_value = "10000", value_parser = millis)]
    pub render_timeout_ms: u64,
    /// How log lines are written: `text` for people, `json` for one JSON object per line (each
    /// with its request's id, route, connection and user). `RUST_LOG` filters them.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: crate::logs::LogFormat,
    /// Bearer token (at least 16 characters) for the operator's GET /api/ops/channels, GET
    /// /metrics (Prometheus) and POST /api/ops/publish [default: unset, all answer 404].
    #[arg(long, env = "OPS_TOKEN", hide_env_values = true, value_parser = ops_token)]
    pub ops_token: Option<String>,
    /// 128 hex digits (64 bytes) signing the session cookie, connection ids and job ids
    /// [default: random per start; required with REDIS_URL].
    #[arg(long, env = "SESSION_KEY", hide_env_values = true, value_parser = session_key)]
    pub session_key: Option<Key>,
    /// redis://HOST:PORT[/DB] (or rediss://): share the hub and the app's state with other
    /// instances; a Redis Cluster: some of its nodes, comma-separated [default: unset,
    /// everything in this process].
    #[arg(long, env = "REDIS_URL", hide_env_values = true, value_parser = redis_url)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments can share a Redis (letters, digits, - and _).
    #[arg(long, env = "REDIS_PREFIX", default_value = "live", value_parser = token)]
    pub redis_prefix: String,
    /// Mark the session cookie Secure (set it behind HTTPS): true or false.
    #[arg(long, env = "COOKIE_SECURE", default_value = "false", action = ArgAction::Set, value_parser = flag)]
    pub cookie_secure: bool,
    /// Exact origins (comma-separated, like https://app.example.com) allowed cross-site
    /// [default: none, CORS off].
    #[arg(long, env = "CORS_ORIGINS", default_value = "", value_parser = origins)]
    pub cors_origins: Origins,
    /// Announced on every stream; open pages reload when it is newer than theirs, compared as
    /// versions (v10 after v9) [default: the package version].
    #[arg(long, env = "BUILD_ID")]
    pub build_id: Option<String>,
    /// Open the benchmark channels and POST /api/bench/{channel} to anyone (for ./x bench; never
    /// in production): true or false.
    #[arg(long, env = "BENCH", default_value = "false", action = ArgAction::Set, value_parser = flag)]
    pub bench: bool,
}

/// `CORS_ORIGINS`, parsed (a newtype: clap would read a `Vec` as a repeated flag).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

/// The longest any `_MS` setting may be: a day. Anything longer is a typo (or seconds where
/// milliseconds were meant), and would push timers past what tokio can schedule.
const MAX_MS: u64 = 86_400_000;
/// The longest any `_SECS` setting may be: a year.
const MAX_SECS: u64 = 31_536_000;

/// A whole number of milliseconds from 1 to a day.
pub(crate) fn millis(text: &str) -> Result<u64, String> {
    in_range(text, 1, MAX_MS, "milliseconds")
}

/// A whole number of milliseconds from 0 (none) to a day.
pub(crate) fn millis_or_none(text: &str) -> Result<u64, String> {
    in_range(text, 0, MAX_MS, "milliseconds")
}

/// A whole number of seconds from 1 to a year.
pub(crate) fn seconds(text: &str) -> Result<u64, String> {
    in_range(text, 1, MAX_SECS, "seconds")
}

fn in_range(text: &str, low: u64, high: u64, unit: &str) -> Result<u64, String> {
    match text.trim().parse() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number of {unit} from {low} to {high}"
        )),
    }
}

pub(crate) fn at_least_one(text: &str) -> Result<u64, String> {
    match text.trim().parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number, at least 1".into()),
    }
}

fn flag(text: &str) -> Result<bool, String> {
    match text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn token(text: &str) -> Result<String, String> {
    let text = text.trim();
    if leptos_live::cursor::is_token(text) {
        Ok(text.to_string())
    } else {
        Err("letters, digits, '-' and '_' only".into())
    }
}

fn trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.parse().map_err(|bad: crate::client::BadNetwork| {
        format!("{:?} is not an address or network like 10.0.0.0/8", bad.0)
    })
}

fn ops_token(text: &str) -> Result<String, String> {
    let token = text.trim();
    if token.len() < 16 {
        return Err("use at least 16 characters (e.g. openssl rand -hex 24)".into());
    }
    Ok(token.to_string())
}

fn session_key(text: &str) -> Result<Key, String> {
    let hex = text.trim();
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
        .ok_or_else(|| "expected 128 hex digits (64 bytes)".into())
}

fn redis_url(text: &str) -> Result<String, String> {
    let urls: Vec<&str> = text.split(',').map(str::trim).collect();
    match urls
        .iter()
        .find(|url| !(url.starts_with("redis://") || url.starts_with("rediss://")))
    {
        Some(bad) => Err(format!(
            "{bad:?}: expected a redis://HOST:PORT[/DB] URL, or a Redis Cluster's nodes as a comma-separated list of them"
        )),
        None => Ok(urls.join(",")),
    }
}

fn origins(list: &str) -> Result<Origins, String> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') => Ok(origin.to_string()),
                _ => Err(format!(
                    "{origin:?} is not an exact origin like https://app.example.com"
                )),
            }
        })
        .collect::<Result<_, _>>()
        .map(Origins)
}
