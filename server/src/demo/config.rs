//! The demo's settings: [`Settings`] as clap reads them (flattened into the server's, so
//! `server --help` lists them too) and the [`DemoConfig`] they make.

use std::time::Duration;

use crate::config::settings::{at_least_one, millis, millis_or_none};

use super::orders::OrderLimits;

/// The demo's part of the environment (or command line).
#[derive(Clone, Debug, clap::Args)]
#[group(id = "demo")]
#[command(next_help_heading = "The demo's settings")]
pub struct Settings {
    /// How often the price simulator ticks.
    #[arg(long, env = "PRICE_INTERVAL_MS", default_value = "500", value_parser = millis)]
    pub price_interval_ms: u64,
    /// Time between two progress steps of a demo job.
    #[arg(long, env = "JOB_STEP_MS", default_value = "150", value_parser = millis)]
    pub job_step_ms: u64,
    /// Simulated order activity every so often; 0 turns it off.
    #[arg(long, env = "ORDER_SIMULATOR_MS", default_value = "3000", value_parser = millis_or_none)]
    pub order_simulator_ms: u64,
    /// Running demo jobs per user (429 beyond).
    #[arg(long, env = "MAX_JOBS_PER_USER", default_value = "3", value_parser = at_least_one)]
    pub max_jobs_per_user: u64,
    /// Open orders per user (429 beyond).
    #[arg(long, env = "MAX_OPEN_ORDERS_PER_USER", default_value = "100", value_parser = at_least_one)]
    pub max_open_orders_per_user: u64,
    /// Filled or cancelled orders kept; older ones age out.
    #[arg(long, env = "SETTLED_ORDERS_KEPT", default_value = "200", value_parser = at_least_one)]
    pub settled_orders_kept: u64,
}

/// What the demo runs with.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub price_interval: Duration,
    pub job_step: Duration,
    /// `None`: no simulated orders.
    pub order_simulator: Option<Duration>,
    pub jobs_per_user: usize,
    pub orders: OrderLimits,
}

impl From<Settings> for DemoConfig {
    fn from(settings: Settings) -> Self {
        let ms = Duration::from_millis;
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Self {
            price_interval: ms(settings.price_interval_ms),
            job_step: ms(settings.job_step_ms),
            order_simulator: (settings.order_simulator_ms > 0)
                .then(|| ms(settings.order_simulator_ms)),
            jobs_per_user: size(settings.max_jobs_per_user),
            orders: OrderLimits {
                open_per_user: size(settings.max_open_orders_per_user),
                settled_kept: size(settings.settled_orders_kept),
            },
        }
    }
}

impl DemoConfig {
    /// For a server in a test: fast ticks and steps, no simulated orders (tests place their
    /// own and count them).
    pub fn for_tests() -> Self {
        Self {
            price_interval: Duration::from_millis(50),
            job_step: Duration::from_millis(5),
            order_simulator: None,
            jobs_per_user: 3,
            orders: OrderLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError, tests::lookup};

    /// The demo's settings are the server's: defaults, values, one-line refusals.
    #[test]
    fn demo_settings_are_read_with_the_servers() {
        use std::time::Duration;
        let demo = Config::from_lookup(lookup(&[])).unwrap().demo;
        assert_eq!(demo.price_interval, Duration::from_millis(500));
        assert_eq!(demo.order_simulator, Some(Duration::from_secs(3)));
        assert_eq!(demo.orders.open_per_user, 100);
        let demo = Config::from_lookup(lookup(&[
            ("PRICE_INTERVAL_MS", "250"),
            ("ORDER_SIMULATOR_MS", "0"),
            ("MAX_JOBS_PER_USER", "7"),
        ]))
        .unwrap()
        .demo;
        assert_eq!(demo.price_interval, Duration::from_millis(250));
        assert_eq!(demo.order_simulator, None);
        assert_eq!(demo.jobs_per_user, 7);
        for (name, bad) in [("PRICE_INTERVAL_MS", "abc"), ("PRICE_INTERVAL_MS", "0")] {
            let err = Config::from_lookup(lookup(&[(name, bad)])).err().unwrap();
            assert!(err.to_string().contains(name), "{name}={bad}: {err}");
            assert!(matches!(err, ConfigError::Invalid(_)));
        }
    }
}
