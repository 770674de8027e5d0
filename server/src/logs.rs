//! Logs: human-readable lines (the default, for `./x dev`) or, with `LOG_FORMAT=json`, one JSON
//! object per line for a log pipeline; and a span per request carrying its id, so that every
//! line a request (or its stream) logs can be found from the id its response carries.
//!
//! The id is the `X-Request-Id` a trusted proxy (`TRUSTED_PROXIES`) sent, when it is a sane
//! token, or one made here; the response echoes it. Stream handlers add the stream's connection
//! id and the signed-in user to the span. Nothing logs headers, cookies or tokens.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue, Method},
};
use tracing::field::Empty;

use crate::Config;

/// The request id's header, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`), `target`,
    /// and `span` (the request's id, route, connection and user).
    Json,
}

/// Installs the process's log subscriber: `RUST_LOG` filters (default `info`; `./x dev` sets
/// `info,server=debug`, which adds a line per request).
pub fn init(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // A log line that cannot be written is dropped. By default the subscriber reports that with
    // `eprintln!`, which panics when stderr is gone too (a log pipe whose reader died): the
    // panicking task was then the signal handler, and SIGTERM no longer stopped the server.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The format `--log-format` or `LOG_FORMAT` asks for (the flag wins, as for every setting),
/// read before the rest of the config, whose warnings are logged; a value that is neither is
/// refused by the config right after.
pub fn format_from_env() -> LogFormat {
    format_from(std::env::args(), std::env::var("LOG_FORMAT").ok())
}

fn format_from(args: impl Iterator<Item = String>, env: Option<String>) -> LogFormat {
    let mut args = args.skip(1);
    let mut flag = None;
    while let Some(arg) = args.next() {
        if arg == "--log-format" {
            flag = args.next();
        } else if let Some(value) = arg.strip_prefix("--log-format=") {
            flag = Some(value.to_string());
        }
    }
    match flag.or(env).as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

/// The request's id: a trusted proxy's `X-Request-Id` when it is sane, else a new one; put in
/// the request's headers (for handlers) and returned for the response.
pub fn request_id(config: &Config, request: &mut Request) -> HeaderValue {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let trusted = peer.is_some_and(|ip| config.trusted_proxies.contains(ip));
    let forwarded = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|_| trusted)
        .filter(|id| is_sane(id.as_bytes()))
        .cloned();
    let id = forwarded.unwrap_or_else(new_id);
    request.headers_mut().insert(REQUEST_ID, id.clone());
    id
}

/// The `request` span every line a request logs is in: its id, method and route template, and
/// for a stream the connection and the signed-in user (recorded by the stream handler).
pub fn span(id: &HeaderValue, method: &Method, route: &str) -> tracing::Span {
    tracing::info_span!(
        "request",
        id = id.to_str().unwrap_or_default(),
        %method,
        route,
        connection = Empty,
        user = Empty,
    )
}

/// A forwarded id is used only if it is 1 to 64 characters of `[A-Za-z0-9._:-]`: anything else
/// could forge log lines or fill them.
fn is_sane(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(b))
}

/// 16 random hex digits (written by hand: `format!` showed in the per-request profile).
fn new_id() -> HeaderValue {
    let n = rand::random::<u64>();
    let mut hex = [0u8; 16];
    for (i, digit) in hex.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&hex).unwrap_or(HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag wins over the environment, in either spelling.
    #[test]
    fn the_log_format_flag_wins() {
        let args = |list: &[&str]| {
            list.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            format_from(args(&["server"]), Some("json".into())),
            LogFormat::Json
        );
        assert_eq!(
            format_from(args(&["server", "--log-format", "json"]), None),
            LogFormat::Json
        );
        assert_eq!(
            format_from(args(&["server", "--log-format=text"]), Some("json".into())),
            LogFormat::Text
        );
        assert_eq!(format_from(args(&["server"]), None), LogFormat::Text);
    }

    /// Only short plain tokens pass; line breaks, quotes and long values do not.
    #[test]
    fn forwarded_ids_must_be_plain_tokens() {
        assert!(is_sane(b"req-1.a:b_c"));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"a b"));
        assert!(!is_sane(b"a\"}"));
        assert!(!is_sane(&[b'a'; 65]));
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 16);
        assert!(a.as_bytes().iter().all(u8::is_ascii_hexdigit), "{a:?}");
        assert_ne!(a, b);
    }
}
