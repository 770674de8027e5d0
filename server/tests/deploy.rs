//! The files in `deploy/` are true to the server: the systemd unit passes `systemd-analyze
//! verify`, and the example environment file names only real settings and starts a server that
//! becomes ready.

mod common;

use std::{path::PathBuf, process::Command};

use clap::CommandFactory;
use common::Binary;
use server::config::Settings;

fn deploy(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file);
    path.canonicalize().unwrap_or(path)
}

/// `KEY=value` lines of the example environment file (comments and blank lines skipped).
fn example_env() -> Vec<(String, String)> {
    std::fs::read_to_string(deploy("leptos-live.env"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=value");
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// `systemd-analyze verify` finds nothing to say about the unit (it exits 0 even for unknown
/// keys, so its output must be empty), with the paths it checks pointed at this build.
#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(deploy("leptos-live.service"))
        .unwrap()
        .replace("/opt/leptos-live/server", env!("CARGO_BIN_EXE_server"))
        .replace(
            "/etc/leptos-live/env",
            deploy("leptos-live.env").to_str().unwrap(),
        );
    let dir = std::env::temp_dir().join(format!("leptos-live-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("leptos-live.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd; ./x test installs it)");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

/// Every variable the example sets (commented ones too) is a setting of the server or one of
/// cargo-leptos's and tracing's, and the example as written starts a server that is ready.
#[tokio::test]
async fn the_example_environment_starts_a_ready_server() {
    let known: Vec<String> = Settings::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_string))
        .chain(
            [
                "LEPTOS_SITE_ADDR",
                "LEPTOS_SITE_ROOT",
                "LEPTOS_ENV",
                "RUST_LOG",
            ]
            .map(String::from),
        )
        .collect();
    let text = std::fs::read_to_string(deploy("leptos-live.env")).unwrap();
    for line in text.lines().map(|l| l.trim_start_matches('#')) {
        if let Some((name, _)) = line.split_once('=')
            && !name.contains(' ')
        {
            assert!(known.iter().any(|k| k == name), "{name} is not a setting");
        }
    }
    // As written, but on a free port, with this build's site and a session file of its own.
    let sessions = std::env::temp_dir().join(format!("leptos-live-env-{}", std::process::id()));
    let env: Vec<(String, String)> = example_env()
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "LEPTOS_SITE_ADDR" => (key, "127.0.0.1:0".into()),
            "LEPTOS_SITE_ROOT" => (
                key,
                concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").into(),
            ),
            "SESSIONS_FILE" => (key, sessions.to_string_lossy().into()),
            "RUST_LOG" => (key, "warn".into()),
            _ => (key, value),
        })
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Binary::start(&env);
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    drop(server);
    let _ = std::fs::remove_file(&sessions);
}
