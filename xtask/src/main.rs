//! Set-up, dev server and test entry points for leptos-live. Run it through `./x`, which first
//! installs the pinned Rust toolchain and then calls `cargo xtask`:
//!
//! ```text
//! ./x dev       install what is missing, then `cargo leptos watch` on http://127.0.0.1:3000
//! ./x test      install what is missing, then fmt, clippy, unit + integration tests, and the
//!               browser tests against a release build
//! ./x release   `cargo leptos build --release` (wasm-opt from npm), ready to copy and run
//! ./x setup     only install what is missing
//! ```
//!
//! Everything comes from the Rust crate registry, npm or the OS package manager: cargo-leptos's
//! own downloads come from GitHub, so it is installed with `no_downloads` and finds its tools
//! on PATH.

mod tools;

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

use tools::Need;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev(),
        Some("test") => test(),
        Some("release") => release(),
        Some("setup") => tools::ensure(Need::Everything),
        None | Some("help" | "-h" | "--help") => {
            println!("usage: ./x <dev | test | release | setup>  (see xtask/src/main.rs)");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}; run ./x help")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The dashboard with hot reload.
fn dev() -> Result {
    tools::ensure(Need::Build)?;
    step("cargo leptos watch (http://127.0.0.1:3000, Ctrl-C to stop)");
    // Replace this process: Ctrl-C then reaches cargo-leptos alone, which stops the server.
    let err = std::os::unix::process::CommandExt::exec(
        cargo().args(["leptos", "watch"]).current_dir(root()),
    );
    Err(format!("cannot start cargo leptos watch: {err}"))
}

/// The release build: `target/release/server` plus `target/site`.
fn release() -> Result {
    tools::ensure(Need::Release)?;
    run(
        "release build (cargo leptos build --release)",
        cargo()
            .args(["leptos", "build", "--release"])
            .env("PATH", tools::path_with_npm_bin()),
    )?;
    println!(
        "\nRun it anywhere with the site folder beside it:\n  \
         LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=0.0.0.0:3000 LEPTOS_ENV=PROD target/release/server"
    );
    Ok(())
}

/// The whole suite, in the order that fails fastest.
fn test() -> Result {
    let started = Instant::now();
    tools::ensure(Need::Everything)?;
    run(
        "format (cargo fmt --check)",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "lints, native crates (cargo clippy)",
        cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "frontend",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "lints, wasm crates (cargo clippy --target wasm32-unknown-unknown)",
        cargo().args([
            "clippy",
            "--package",
            "frontend",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "unit and integration tests (cargo test)",
        cargo().args(["test", "--workspace", "--exclude", "frontend"]),
    )?;
    // The browser suite runs against the release build: it is what people ship, and a broken
    // wasm-opt only shows up there (see README, "Release build").
    run(
        "release build for the browser tests (cargo leptos build --release)",
        cargo()
            .args(["leptos", "build", "--release"])
            .env("PATH", tools::path_with_npm_bin()),
    )?;
    run(
        "browser tests (Playwright + Chromium)",
        tools::npx()
            .args(["playwright", "test"])
            .current_dir(root().join("end2end"))
            .env("SERVER_BIN", root().join("target/release/server"))
            .env("LEPTOS_SITE_ROOT", root().join("target/site"))
            .env("CHROMIUM_PATH", tools::chromium_path()?),
    )?;
    println!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The workspace root (this crate's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// `cargo`, as the one that runs us, in the workspace root.
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Prints a progress line.
fn step(what: &str) {
    println!("==> {what}");
}

/// Runs `cmd` with inherited output, after a progress line; reports its time.
fn run(what: &str, cmd: &mut Command) -> Result {
    step(what);
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|err| format!("{what}: cannot start {:?}: {err}", cmd.get_program()))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})"));
    }
    println!(
        "    {what}: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
