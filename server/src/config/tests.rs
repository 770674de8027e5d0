//! The configuration as clap reads it: defaults, values, one-line refusals, help, typos.

use super::*;

/// A variable's value from `pairs`, as [`Config::from_lookup`] asks for it.
pub(crate) fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
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
    assert_eq!(config.heartbeat, Duration::from_secs(15));
    assert_eq!(config.limits.streams.per_user, 16);
    assert_eq!(config.limits.streams.per_address, 64);
    let open_files = open_file_limit() as usize;
    assert!(config.limits.streams.total < open_files, "headroom kept");
    assert_eq!(config.shutdown_drain, Duration::from_secs(3));
    assert_eq!(config.ops_token, None);
    assert!(!config.secure_cookies);
    assert!(config.cors_origins.is_empty());
    assert_eq!(config.sessions.idle, Duration::from_secs(86_400));
    assert_eq!(config.sessions.lifetime, Duration::from_secs(7 * 86_400));
    assert_eq!(config.sessions.kept, 100_000);
}

/// Set values are used as given.
#[test]
fn values_are_read() {
    let key = "ab".repeat(64);
    let config = Config::from_lookup(lookup(&[
        ("HEARTBEAT_MS", "1000"),
        ("MAX_STREAMS_PER_USER", "3"),
        ("MAX_STREAMS", "50"),
        ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ("SHUTDOWN_GRACE_MS", "0"),
        ("SESSION_KEY", &key),
        ("COOKIE_SECURE", "true"),
        ("CORS_ORIGINS", "https://a.example, http://b.example:8080"),
        ("SESSION_IDLE_SECS", "600"),
        ("SESSION_MAX_SECS", "3600"),
        ("MAX_SESSIONS", "5"),
    ]))
    .unwrap();
    assert_eq!(config.sessions.idle, Duration::from_secs(600));
    assert_eq!(config.sessions.lifetime, Duration::from_secs(3600));
    assert_eq!(config.sessions.kept, 5);
    assert_eq!(config.heartbeat, Duration::from_secs(1));
    assert_eq!(config.limits.streams.per_user, 3);
    assert_eq!(config.limits.streams.total, 50);
    assert!(config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
    assert_eq!(config.shutdown_grace, Duration::ZERO);
    assert_eq!(config.session_key.master(), Key::from(&[0xab; 64]).master());
    assert!(config.secure_cookies);
    assert_eq!(
        config.cors_origins,
        vec!["https://a.example", "http://b.example:8080"]
    );
}

/// Bad values are refused with a message naming the variable.
#[test]
fn bad_values_name_the_variable() {
    for (name, bad) in [
        ("CHANNEL_IDLE_SECS", "abc"),
        ("MAX_STREAMS_PER_USER", "0"),
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
        ("RENDER_TIMEOUT_MS", "0"),
        ("OPS_TOKEN", "short"),
        // Past a day: a typo, and past what a timer can hold (u64::MAX here once slipped in).
        ("HEARTBEAT_MS", "18446744073709551615"),
        ("HEADER_READ_TIMEOUT_MS", "86400001"),
        ("SHUTDOWN_GRACE_MS", "86400001"),
        ("CHANNEL_IDLE_SECS", "31536001"),
        ("SESSION_IDLE_SECS", "0"),
        ("SESSION_MAX_SECS", "99999999999"),
        ("MAX_SESSIONS", "0"),
    ] {
        let err = Config::from_lookup(lookup(&[(name, bad)])).err().unwrap();
        let text = err.to_string();
        assert!(text.contains(name), "{name}={bad}: {text}");
        assert!(!text.contains('\n'), "one line: {text:?}");
        assert!(matches!(err, ConfigError::Invalid(_)));
    }
}

/// A value says what it accepts, not only that it is wrong.
#[test]
fn a_refusal_says_what_is_accepted() {
    let err = Config::from_lookup(lookup(&[("HEARTBEAT_MS", "soon")]))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .ends_with("expected a whole number of milliseconds from 1 to 86400000"),
        "{err}"
    );
}

/// `server --help` lists every setting with its variable, and the default where it has
/// one, without printing a secret's value.
#[test]
fn help_lists_every_setting() {
    let help = Settings::command().render_long_help().to_string();
    for arg in Settings::command().get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
            continue;
        };
        assert!(
            help.contains(&format!("[env: {env}")),
            "{env} missing:\n{help}"
        );
    }
    for documented in [
        "[default: 15000]",
        "[default: live]",
        "SESSION_KEY",
        "TRUSTED_PROXIES",
        "LEPTOS_SITE_ADDR",
    ] {
        assert!(help.contains(documented), "{documented} missing:\n{help}");
    }
    let asked = Config::from_lookup(|_| None).map(|_| ());
    assert!(asked.is_ok());
    let err = Settings::try_parse_from(["server", "--help"]).unwrap_err();
    assert!(matches!(ConfigError::from_clap(err), ConfigError::Help(_)));
}

/// A misspelt variable is named with the setting it resembles; settings and unrelated
/// variables are not.
#[test]
fn misspelt_settings_are_found() {
    let found = misspelt_settings([
        "MAX_STREAM",
        "HEARTBEAT_MS",
        "SESION_KEY",
        "PATH",
        "REDIS_URI",
        "CARGO_PKG_NAME",
    ]);
    assert_eq!(
        found,
        vec![
            ("MAX_STREAM", "MAX_STREAMS".to_string()),
            ("SESION_KEY", "SESSION_KEY".to_string()),
            ("REDIS_URI", "REDIS_URL".to_string()),
        ]
    );
}

/// Empty variables count as unset, as they did before clap.
#[test]
fn empty_values_are_defaults() {
    let config = Config::from_lookup(lookup(&[
        ("TRUSTED_PROXIES", ""),
        ("CORS_ORIGINS", " "),
        ("COOKIE_SECURE", ""),
    ]))
    .unwrap();
    assert!(config.trusted_proxies.is_empty());
    assert!(config.cors_origins.is_empty());
    assert!(!config.secure_cookies);
}
