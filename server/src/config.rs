//! Typed configuration from the environment, with defaults for everything.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` | where to listen (`:0` picks a free port) |
//! | `LEPTOS_SITE_ROOT` | `target/site` | built assets (wasm, js, css, public/) |
//! | `LEPTOS_*` | see cargo-leptos | the rest of [`LeptosOptions`] |
//! | `PRICE_INTERVAL_MS` | `500` | how often the price simulator ticks |

use std::time::Duration;

use leptos::config::{LeptosOptions, get_configuration};

/// Everything the server reads at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Site address, asset paths and reload settings, as cargo-leptos passes them.
    pub leptos: LeptosOptions,
    /// Time between two ticks of the price simulator.
    pub price_interval: Duration,
}

/// A configuration value that could not be used; the message names the variable.
#[derive(Debug)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

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
        let price_interval = millis(&lookup, "PRICE_INTERVAL_MS", 500)?;
        Ok(Self {
            leptos,
            price_interval,
        })
    }

    /// Defaults for a server in a test: fast price ticks, assets from the workspace.
    pub fn for_tests() -> Self {
        Self {
            leptos: LeptosOptions::builder()
                .output_name("leptos-live")
                .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
                .build(),
            price_interval: Duration::from_millis(50),
        }
    }
}

/// Parses a whole number of milliseconds (at least 1) from `name`, or returns `default`.
fn millis(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let Some(raw) = lookup(name) else {
        return Ok(Duration::from_millis(default));
    };
    match raw.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError(format!(
            "{name}={raw:?}: expected a whole number of milliseconds, at least 1"
        ))),
    }
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
    }

    /// A set interval is used as given.
    #[test]
    fn interval_is_read() {
        let config = Config::from_lookup(lookup(&[("PRICE_INTERVAL_MS", "250")])).unwrap();
        assert_eq!(config.price_interval, Duration::from_millis(250));
    }

    /// Garbage and zero are refused with a message naming the variable.
    #[test]
    fn bad_interval_is_an_error_naming_the_variable() {
        for bad in ["abc", "0", "-5", ""] {
            let err = Config::from_lookup(lookup(&[("PRICE_INTERVAL_MS", bad)])).unwrap_err();
            assert!(err.to_string().contains("PRICE_INTERVAL_MS"), "{err}");
        }
    }
}
