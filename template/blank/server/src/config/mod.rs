//! Typed configuration: [`Settings`] as clap reads them from the environment (or flags; every
//! one is listed with its variable and default by `server --help`), checked together into the
//! [`Config`] the server runs with.
//!
//! - [`settings`]: every setting, its default and the values it accepts.
//! - [`open_files`]: the open-file limit, which `MAX_STREAMS` must stay under.
//!
//! The Leptos settings (`LEPTOS_SITE_ADDR`, `LEPTOS_SITE_ROOT`, …) come from cargo-leptos's
//! variables through [`get_configuration`]. What each limit protects, and its test: SECURITY.md.

pub mod open_files;
pub mod settings;

pub use open_files::{open_file_limit, raise_open_file_limit};
pub use settings::Settings;

use std::{collections::HashSet, time::Duration};

use axum_extra::extract::cookie::Key;
use clap::{CommandFactory, FromArgMatches, Parser};
use leptos::config::{LeptosOptions, get_configuration};

use crate::{client::TrustedProxies, sessions::SessionLimits};
use leptos_live::hub::{Limits, StreamLimits};

/// Everything the server reads at start-up.
#[derive(Clone)]
pub struct Config {
    /// Site address, asset paths and reload settings, as cargo-leptos passes them.
    pub leptos: LeptosOptions,
    /// URL paths of the release build's content-hashed bundle, served `immutable` (empty for a
    /// build without hashed names).
    pub hashed_bundle: HashSet<String>,
    pub heartbeat: Duration,
    pub limits: Limits,
    /// Largest request body on any route (413 beyond).
    pub max_body_bytes: usize,
    /// Events in one operator batch publish (see `crate::publish`).
    pub max_batch_events: usize,
    /// Writes one sender may make at once, then per second (see `crate::writes`).
    pub write_burst: u32,
    pub writes_per_second: u32,
    /// Open connections from one address, trusted proxies aside (then 429 and closed).
    pub max_connections_per_address: usize,
    /// How long a client may take to send its request headers (then the connection closes).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body (then 408).
    pub body_read_timeout: Duration,
    /// How long a stream's event may wait for others to share its write (see `direct.rs`).
    pub stream_write_delay: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (see `crate::client`).
    pub trusted_proxies: TrustedProxies,
    /// How long an unused channel lives (see `hub::memory`).
    pub channel_idle: Duration,
    /// After the signal: how long `/readyz` says 503 before streams end.
    pub shutdown_grace: Duration,
    /// Then: how long open connections may take to close before the process exits anyway.
    pub shutdown_drain: Duration,
    /// The longest a page render or a server function may take (then 503).
    pub render_timeout: Duration,
    /// Bearer token for the operator's endpoints; `None`: they answer 404.
    pub ops_token: Option<String>,
    pub session_key: Key,
    /// How long sessions live, and how many this process keeps (see `crate::sessions`).
    pub sessions: SessionLimits,
    /// Where this process keeps its sessions across restarts (`SESSIONS_FILE`).
    pub sessions_file: Option<std::path::PathBuf>,
    pub secure_cookies: bool,
    pub cors_origins: Vec<String>,
    pub build_id: String,
    /// Under `cargo leptos watch` (`LEPTOS_WATCH` set): the port of its reload socket, which
    /// the page's policy must let it reach (`crate::headers`).
    pub dev_reload_port: Option<u32>,
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

/// Why the server cannot start with this configuration: one line naming the setting and what
/// it accepts, or the help text that `--help` asked for.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// `--help` or `--version`: not an error, print it and exit 0.
    #[error("{0}")]
    Help(String),
}

impl ConfigError {
    fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// clap's error as one line: its first line without the `error: ` prefix (the rest is a
    /// usage hint), e.g. `invalid value 'abc' for '--heartbeat-ms <HEARTBEAT_MS>': expected a
    /// whole number, at least 1`.
    fn from_clap(err: clap::Error) -> Self {
        use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
        let text = err.render().to_string();
        if matches!(err.kind(), DisplayHelp | DisplayVersion) {
            return Self::Help(text);
        }
        let line = text.lines().next().unwrap_or_default();
        Self::invalid(line.strip_prefix("error: ").unwrap_or(line).trim())
    }
}

impl Config {
    /// Reads the command line and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = Settings::try_parse().map_err(ConfigError::from_clap)?;
        Self::from_settings(settings)
    }

    /// Reads the Leptos settings from the environment and ours through `lookup` (a variable's
    /// name to its value), so tests need not touch the process environment: each value found
    /// is handed to clap as its flag, as if it came from the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let command = Settings::command();
        let mut args = vec!["server".to_string()];
        for arg in command.get_arguments() {
            let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            if let Some(value) = env.to_str().and_then(&lookup) {
                args.push(format!("--{long}={value}"));
            }
        }
        let matches = command
            .try_get_matches_from(args)
            .map_err(ConfigError::from_clap)?;
        let settings = Settings::from_arg_matches(&matches).map_err(ConfigError::from_clap)?;
        Self::from_settings(settings)
    }

    /// The settings checked together.
    pub fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        let mut leptos = get_configuration(None)
            .map_err(|err| ConfigError::invalid(format!("LEPTOS_* settings: {err}")))?
            .leptos_options;
        // Pages name the hashed bundle exactly when it is there (see `crate::assets`).
        let hashed_bundle = crate::assets::hashed_bundle(&leptos).unwrap_or_default();
        leptos.hash_files = !hashed_bundle.is_empty();
        let ms = Duration::from_millis;
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let redis = settings.redis_url.map(|url| RedisConfig {
            url,
            prefix: settings.redis_prefix,
        });
        let session_key = match settings.session_key {
            Some(key) => key,
            None if redis.is_some() => {
                return Err(ConfigError::invalid(
                    "SESSION_KEY: required with REDIS_URL, so that every instance accepts the \
                     same sessions (e.g. openssl rand -hex 64)",
                ));
            }
            None => Key::generate(),
        };
        let dev_reload_port = std::env::var_os("LEPTOS_WATCH")
            .map(|_| leptos.reload_external_port.unwrap_or(leptos.reload_port));
        Ok(Self {
            leptos,
            hashed_bundle,
            heartbeat: ms(settings.heartbeat_ms),
            limits: Limits {
                streams: StreamLimits {
                    total: max_streams(settings.max_streams, open_file_limit())?,
                    per_address: size(settings.max_streams_per_address),
                    per_user: size(settings.max_streams_per_user),
                },
                channels_per_connection: size(settings.max_channels_per_stream),
            },
            max_body_bytes: size(settings.max_body_bytes),
            max_batch_events: size(settings.max_batch_events),
            write_burst: u32::try_from(settings.write_burst).unwrap_or(u32::MAX),
            writes_per_second: u32::try_from(settings.writes_per_second).unwrap_or(u32::MAX),
            max_connections_per_address: size(settings.max_connections_per_address),
            header_read_timeout: ms(settings.header_read_timeout_ms),
            body_read_timeout: ms(settings.body_read_timeout_ms),
            stream_write_delay: ms(settings.stream_write_delay_ms),
            trusted_proxies: settings.trusted_proxies,
            channel_idle: Duration::from_secs(settings.channel_idle_secs),
            shutdown_grace: ms(settings.shutdown_grace_ms),
            shutdown_drain: ms(settings.shutdown_drain_ms),
            render_timeout: ms(settings.render_timeout_ms),
            ops_token: settings.ops_token,
            session_key,
            sessions: SessionLimits {
                idle: Duration::from_secs(settings.session_idle_secs),
                lifetime: Duration::from_secs(settings.session_max_secs),
                kept: size(settings.max_sessions),
            },
            sessions_file: settings.sessions_file.filter(|p| !p.as_os_str().is_empty()),
            secure_cookies: settings.cookie_secure,
            cors_origins: settings.cors_origins.0,
            build_id: settings
                .build_id
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            dev_reload_port,
            bench: settings.bench,
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
            hashed_bundle: HashSet::new(),
            heartbeat: Duration::from_millis(200),
            limits: Limits::default(),
            max_body_bytes: 16 * 1024,
            max_batch_events: 256,
            write_burst: 30,
            writes_per_second: 3,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            stream_write_delay: Duration::ZERO,
            trusted_proxies: TrustedProxies::default(),
            channel_idle: Duration::from_secs(300),
            shutdown_grace: Duration::ZERO,
            shutdown_drain: Duration::from_secs(3),
            render_timeout: Duration::from_secs(10),
            ops_token: None,
            session_key: Key::generate(),
            sessions: SessionLimits {
                idle: Duration::from_secs(86_400),
                lifetime: Duration::from_secs(7 * 86_400),
                kept: 100_000,
            },
            sessions_file: None,
            secure_cookies: false,
            cors_origins: Vec::new(),
            build_id: "test".into(),
            dev_reload_port: None,
            bench: false,
            redis: None,
        }
    }
}

/// Variables in `names` that look like a misspelt setting (at most two edits away from one,
/// and not a setting themselves), each with the setting it resembles: a typo would otherwise
/// leave the default in force without a word. The caller warns; other software's variables
/// that merely look alike keep working.
pub fn misspelt_settings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, String)> {
    let known: Vec<String> = Settings::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_string))
        .collect();
    names
        .into_iter()
        .filter(|name| !known.iter().any(|k| k == name))
        .filter_map(|name| {
            let near = known.iter().find(|k| edits(name, k) <= 2)?;
            Some((name, near.clone()))
        })
        .collect()
}

/// The Levenshtein distance of two short ASCII names.
fn edits(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// File descriptors kept free for everything that is not a stream: ordinary requests, the
/// listener, logs, assets. A tenth of the limit, at least this many.
const FD_HEADROOM: u64 = 256;

/// `MAX_STREAMS`, defaulting to the open-file limit less its headroom; a value the limit
/// cannot hold is refused (each stream is a socket, and running out of descriptors would fail
/// every request, not just streams).
fn max_streams(setting: Option<u64>, open_files: u64) -> Result<usize, ConfigError> {
    let room = open_files
        .saturating_sub((open_files / 10).max(FD_HEADROOM))
        .max(1);
    let streams = setting.unwrap_or(room);
    if streams > room {
        return Err(ConfigError::invalid(format!(
            "MAX_STREAMS={streams}: the open-file limit is {open_files}, room for {room} streams; \
             raise the limit (ulimit -n) or lower MAX_STREAMS"
        )));
    }
    Ok(usize::try_from(streams).unwrap_or(usize::MAX))
}

#[cfg(test)]
pub(crate) mod tests;
