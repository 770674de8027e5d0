//! The server binary: read config (`server --help` lists every setting), bind, start the
//! feeds, serve until SIGINT/SIGTERM.
//!
//! `./x dev` runs it under `cargo leptos watch`; see the README for running a release build.

/// mimalloc rather than glibc's malloc: see the note in Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{io::Write, process::ExitCode};

use leptos_live::shutdown;
use server::{AppState, Config, config::ConfigError, feeds};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    // Before the config, whose warnings are logged (LOG_FORMAT itself is checked with it).
    server::logs::init(server::logs::format_from_env());

    // Before the config, whose MAX_STREAMS default follows the open-file limit.
    server::config::raise_open_file_limit();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(ConfigError::Help(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for (name, setting) in server::config::misspelt_settings(names.iter().map(String::as_str)) {
        tracing::warn!(
            "{name} is not a setting (did you mean {setting}?); server --help lists them"
        );
    }
    // Before the address is printed: whoever reads it may send a signal at once.
    let signals = shutdown::on_signals();
    let addr = config.leptos.site_addr;
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Printed on stdout (not through tracing) so scripts and the browser tests can read the
    // port when LEPTOS_SITE_ADDR ends in :0.
    match listener.local_addr() {
        Ok(local) => {
            // Not `println!`, which panics when stdout is closed.
            let _ = writeln!(std::io::stdout(), "listening on http://{local}");
        }
        Err(err) => eprintln!("error: {err}"),
    }

    // Redis unreachable at start: say why and exit (a supervisor restarts the process);
    // once running, the process rides out Redis outages by itself.
    let state = match AppState::start(config, signals).await {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let lease = feeds::spawn_all(&state);
    let (sessions, sessions_file) = (state.sessions.clone(), state.config.sessions_file.clone());
    if let Err(err) = server::serve(listener, state).await {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    // Every request has ended: the sessions are as they will be.
    if let Some(path) = sessions_file {
        match sessions.save(&path) {
            Ok(n) => tracing::info!(sessions = n, file = %path.display(), "sessions saved"),
            Err(err) => tracing::warn!(error = %err, file = %path.display(), "sessions not saved"),
        }
    }
    // Returning would end the runtime and cut off the lease's release: let it finish (it is
    // one Redis call; a Redis that does not answer cannot hold the exit for long).
    if tokio::time::timeout(std::time::Duration::from_secs(2), lease)
        .await
        .is_err()
    {
        tracing::warn!("the cluster lease was not released in time; it runs out by itself");
    }
    tracing::info!("shut down");
    ExitCode::SUCCESS
}
