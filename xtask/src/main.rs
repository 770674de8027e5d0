//! Set-up, dev server and test entry points for leptos-live. Run it through `./x`, which first
//! installs the pinned Rust toolchain and then calls `cargo xtask`:
//!
//! ```text
//! ./x dev       install what is missing, then `cargo leptos watch --hot-reload` on http://127.0.0.1:3000
//! ./x test      install what is missing, then fmt, clippy, unit + integration tests, a
//!               project made with `cargo leptos new`, and the browser tests against a
//!               release build
//! ./x release   `cargo leptos build --release` (wasm-opt from npm), ready to copy and run
//! ./x cluster   Redis + two instances + nginx on loopback (http://127.0.0.1:8080), to try
//!               scaling out; an instance that exits is restarted (see README, "Scaling out")
//! ./x bench     leptos-live beside Go, nginx+nchan and Node SSE servers; writes BENCHMARKS.md
//!               (installs the peers with apt-get; options after `--` go to bench/, e.g.
//!               `./x bench -- --scale 0.1 --scenarios fanout`)
//! ./x bench scaling    how cost grows: 1k, 2k, 5k, 10k and 18k subscribers on leptos-live,
//!               nginx+nchan and Go: deliveries per CPU-s, p99, RSS per stream, ratios;
//!               writes bench/scaling.md (a few minutes per server)
//! ./x bench dev-loop   edit to browser under `cargo leptos watch --hot-reload`: each kind of
//!               edit three times in a page open in Chromium; writes bench/dev-loop.md and
//!               BENCHMARKS.md's "Edit to browser" section (end2end/bench/dev-loop.spec.ts)
//! ./x soak      leptos-live alone for 30 minutes (`./x soak 5` for 5) under client churn,
//!               publish load and stuck readers; prints RSS and losses, writes bench/soak.md
//!               and BENCHMARKS.md's Soak section (not part of ./x test)
//! ./x fuzz      the parsers' fuzz tests with a million cases each (release build; ./x test
//!               runs 2,000): `./x fuzz 5000000` for more
//! ./x template  only the template check of ./x test: projects made with `cargo leptos new`
//!               from this working tree, with and without the demo, carry their name and
//!               compile, and the one without passes its server tests; `./x template --write`
//!               remakes template/blank/ (the files that name the demo, without it)
//! ./x setup     only install what is missing
//! ```
//!
//! Everything comes from the Rust crate registry, npm or the OS package manager: cargo-leptos's
//! own downloads come from GitHub, so it is installed with `no_downloads` and finds its tools
//! on PATH.

mod bench;
mod cluster;
mod template;
mod tools;

use std::{
    env, fs,
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
        Some("bench") if args.get(1).is_some_and(|a| a == "dev-loop") => bench::dev_loop(),
        Some("bench") if args.get(1).is_some_and(|a| a == "scaling") => bench::scaling(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str)),
        Some("soak") => bench::soak(args.get(1).map(String::as_str)),
        Some("setup") => tools::ensure(Need::Everything),
        Some("template") if args.get(1).is_some_and(|a| a == "--write") => template::write_twins(),
        Some("template") => tools::ensure(Need::Build).and_then(|()| template::check()),
        Some("cluster") => cluster(),
        None | Some("help" | "-h" | "--help") => {
            println!(
                "usage: ./x <dev | test | release | cluster | bench | soak | fuzz | template | setup>  (see xtask/src/main.rs)"
            );
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
    let mut watch = cargo();
    // --hot-reload: a change to an island's markup is patched into the open page at once; every
    // Rust change is also rebuilt, and open pages reload when the server is back
    // (bench/dev-loop.md, `./x bench dev-loop`).
    watch
        .args(["leptos", "watch", "--hot-reload"])
        .current_dir(root());
    // The server's own debug lines (one per request, each stream opened) while developing; a
    // release runs with `info` unless RUST_LOG says otherwise.
    if env::var_os("RUST_LOG").is_none() {
        watch.env("RUST_LOG", "info,server=debug");
    }
    // Each edit restarts the server; with a random key per start, or with its sessions kept
    // only in the process, it would sign you out.
    if env::var_os("SESSION_KEY").is_none() {
        let path = root().join(DEV_SESSION_KEY);
        watch.env("SESSION_KEY", dev_session_key(&path)?);
        if env::var_os("SESSIONS_FILE").is_none() {
            watch.env("SESSIONS_FILE", root().join(DEV_SESSIONS));
        }
        step(&format!(
            "sessions survive restarts: SESSION_KEY from {DEV_SESSION_KEY}, sessions in \
             {DEV_SESSIONS} (dev only)"
        ));
    }
    step("cargo leptos watch --hot-reload (http://127.0.0.1:3000, Ctrl-C to stop)");
    // Replace this process: Ctrl-C then reaches cargo-leptos alone, which stops the server.
    let err = std::os::unix::process::CommandExt::exec(&mut watch);
    Err(format!("cannot start cargo leptos watch: {err}"))
}

/// Where `./x dev` keeps its session key: under `target/`, so never in git, and only `./x dev`
/// reads it (a deployment sets its own `SESSION_KEY`, or gets a random one per start).
const DEV_SESSION_KEY: &str = "target/dev-session-key";

/// Where `./x dev`'s server leaves its sessions when an edit restarts it (`SESSIONS_FILE`).
const DEV_SESSIONS: &str = "target/dev-sessions";

/// The key in `path` (128 hex digits), made from `/dev/urandom` the first time.
fn dev_session_key(path: &Path) -> Result<String> {
    if let Ok(key) = std::fs::read_to_string(path) {
        let key = key.trim();
        if key.len() == 128 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(key.to_string());
        }
    }
    let mut bytes = [0u8; 64];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|err| format!("/dev/urandom: {err}"))?,
        &mut bytes,
    )
    .map_err(|err| format!("/dev/urandom: {err}"))?;
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    }
    std::fs::write(path, &key).map_err(|err| format!("{}: {err}", path.display()))?;
    Ok(key)
}

/// `cargo leptos build --release`, with wasm-opt (npm) on PATH.
fn release_build() -> Command {
    let mut cmd = cargo();
    // --precompress: a .br and a .gz beside every asset, which the server sends to browsers
    // that accept them (README, "Keeping the wasm small", says how big the wasm is).
    cmd.args(["leptos", "build", "--release", "--precompress"])
        // Content-hashed names for the wasm, JS and CSS (`hash.txt` beside the binary names
        // them; see server/src/assets.rs): served immutable, never paired with a newer page.
        // Release builds only: `cargo leptos watch` rebuilds without renaming.
        .env("LEPTOS_HASH_FILES", "true")
        .env("PATH", tools::path_with_npm_bin())
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            wasm_path_remaps(),
        );
    cmd
}

/// `--remap-path-prefix` flags for the release wasm: the panic locations it carries name files
/// as `leptos-0.8.23/src/…` and `app/src/…` instead of this machine's crate cache and checkout
/// (nothing about the build machine ships to browsers; ~10 KB of paths become ~4 KB). cargo-leptos
/// adds its own flags after these.
fn wasm_path_remaps() -> String {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    // One folder per registry, each named after its index (`index.crates.io-1949cf8c6b5b557f`).
    let registries = cargo_home
        .and_then(|home| fs::read_dir(home.join("registry/src")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path());
    registries
        .chain([root()])
        .filter_map(|dir| {
            dir.to_str()
                .map(|dir| format!("--remap-path-prefix={dir}/="))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The release build: `target/release/server` plus `target/site`.
fn release() -> Result {
    tools::ensure(Need::Release)?;
    run(
        "release build (cargo leptos build --release --precompress)",
        &mut release_build(),
    )?;
    println!(
        "\nRun it anywhere with the site folder, and target/release/hash.txt (the hashed asset \
         names) beside the binary:\n  \
         LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=0.0.0.0:3000 LEPTOS_ENV=PROD target/release/server"
    );
    Ok(())
}

/// The release build, then [`cluster::run`].
fn cluster() -> Result {
    tools::ensure(Need::Release)?;
    run(
        "release build (cargo leptos build --release --precompress)",
        &mut release_build(),
    )?;
    cluster::run()
}

/// `server/tests/fuzz.rs` with `cases` per property (default a million), optimised.
fn fuzz(cases: Option<&str>) -> Result {
    let cases = cases.unwrap_or("1000000");
    if cases.parse::<u64>().is_err() {
        return Err(format!("./x fuzz [CASES]: {cases:?} is not a number"));
    }
    run(
        &format!("fuzz tests, {cases} cases per property (cargo test --release --test fuzz)"),
        cargo()
            .args(["test", "--release", "--package", "server", "--test", "fuzz"])
            .env("FUZZ_CASES", cases),
    )
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
    // A project made from this working tree with `cargo leptos new` carries its name and
    // compiles (xtask/src/template.rs).
    template::check()?;
    // The browser suite runs against the release build: it is what people ship, and a broken
    // wasm-opt only shows up there (see README, "Release build").
    run(
        "release build for the browser tests (cargo leptos build --release --precompress)",
        &mut release_build(),
    )?;
    run(
        "browser tests (Playwright + Chromium)",
        tools::npx()
            .args(["playwright", "test"])
            .current_dir(root().join("end2end"))
            .env("SERVER_BIN", root().join("target/release/server"))
            .env("LEPTOS_SITE_ROOT", root().join("target/site"))
            .env("CHROMIUM_PATH", tools::chromium_path()?)
            // The scale-out tests run nginx in front of two instances (end2end/support/cluster.ts).
            .env(
                "NGINX_PATH",
                tools::which("nginx").ok_or("nginx is not installed")?,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `./x dev`'s key is made once, in the form the server accepts, and then kept; a file
    /// that holds something else is replaced.
    #[test]
    fn the_dev_session_key_is_made_once_and_kept() {
        let dir = env::temp_dir().join(format!("xtask-dev-key-{}", std::process::id()));
        let path = dir.join("target/dev-session-key");
        let first = dev_session_key(&path).unwrap();
        assert_eq!(first.len(), 128);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(dev_session_key(&path).unwrap(), first);
        std::fs::write(&path, "not a key").unwrap();
        let second = dev_session_key(&path).unwrap();
        assert_ne!(second, first);
        assert_eq!(dev_session_key(&path).unwrap(), second);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
