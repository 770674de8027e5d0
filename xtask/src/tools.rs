//! Installs the tools the project needs, each only when it is missing or at the wrong version:
//! cargo-leptos and wasm-bindgen-cli from the crate registry, the end2end packages
//! (Playwright, binaryen's wasm-opt) from npm, Chromium, Redis and nginx from the OS package
//! manager.

use std::{
    env,
    ffi::OsString,
    fs,
    path::PathBuf,
    process::{Command, Stdio},
};

use crate::{Result, cargo, root, run, step};

/// cargo-leptos release this workspace is built and tested with.
const CARGO_LEPTOS_VERSION: &str = "0.3.11";
/// Where Debian (and the browser tests' default) put Chromium.
const CHROMIUM_CANDIDATES: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/// What a command is about to do, and so what it needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// `cargo leptos watch/build`: cargo-leptos and wasm-bindgen.
    Build,
    /// A release build: also wasm-opt (npm).
    Release,
    /// The test suite: also Playwright (npm) and Chromium.
    Everything,
}

/// Installs whatever `need` requires and is missing.
pub fn ensure(need: Need) -> Result {
    step("checking tools (installing what is missing)");
    cargo_leptos()?;
    wasm_bindgen()?;
    if need >= Need::Release {
        npm_packages()?;
    }
    if need >= Need::Everything {
        chromium()?;
        servers()?;
    }
    Ok(())
}

/// The real servers the tests start, from Debian when missing: `redis-server` (the scale-out
/// tests start throwaway ones), `nginx` (the cluster in front of several instances) and
/// `prometheus` with `promtool` (the metrics tests scrape and lint `/metrics`), and
/// `systemd-analyze` (the deploy test verifies the systemd unit).
pub fn servers() -> Result {
    let mut missing: Vec<&str> = [
        ("redis-server", "redis-server"),
        ("nginx", "nginx"),
        ("prometheus", "prometheus"),
        ("promtool", "prometheus"),
        ("systemd-analyze", "systemd"),
    ]
    .into_iter()
    .filter(|(binary, _)| which(binary).is_none())
    .map(|(_, package)| package)
    .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install("Redis, nginx, Prometheus and systemd-analyze", &missing)
        .map_err(|err| format!("{err}; install {} by hand", missing.join(" ")))?;
    Ok(())
}

/// The path of `binary` on PATH or in the system directories (nginx lives in /usr/sbin,
/// which a non-root PATH may lack).
pub fn which(binary: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(binary))
        .find(|candidate| candidate.is_file())
}

fn cargo_leptos() -> Result {
    let installed = output(cargo().args(["leptos", "--version"]));
    if installed.is_some_and(|v| v.contains(CARGO_LEPTOS_VERSION)) {
        return Ok(());
    }
    run(
        &format!("installing cargo-leptos {CARGO_LEPTOS_VERSION} from crates.io (once)"),
        quick_release(cargo()).args([
            "install",
            "cargo-leptos",
            "--version",
            &format!("={CARGO_LEPTOS_VERSION}"),
            "--locked",
            // Its own tool downloads come from GitHub; with this it uses what is on PATH and
            // says clearly when something is missing.
            "--features",
            "no_downloads",
        ]),
    )
}

/// `cargo install` builds with the tool's own release profile; cargo-leptos's is fat LTO with one
/// codegen unit, which took 22 of the 45 minutes of a cold `./x test` on a 2-core machine. These
/// overrides (cargo applies `CARGO_PROFILE_*` to `cargo install` too) trade some of the tools'
/// speed, which nobody notices in a build orchestrator or a one-second bindings pass, for a
/// build several times quicker: no LTO, 16 codegen units, and LLVM's cheap optimisation level
/// (most of a cold build is optimising dependencies the tools barely use).
fn quick_release(mut cmd: Command) -> Command {
    cmd.env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    cmd
}

/// The wasm-bindgen CLI must be exactly the version of the `wasm-bindgen` crate in Cargo.lock:
/// cargo-leptos uses whichever is on PATH without checking, and a mismatch breaks the build.
fn wasm_bindgen() -> Result {
    let wanted = locked_version("wasm-bindgen")?;
    let installed = output(Command::new("wasm-bindgen").arg("--version"));
    if installed.is_some_and(|v| v.split_whitespace().nth(1) == Some(wanted.as_str())) {
        return Ok(());
    }
    run(
        &format!(
            "installing wasm-bindgen-cli {wanted} (the version in Cargo.lock; ~1.5 min, once)"
        ),
        // Without --locked: its lockfile names crates that are not on every registry mirror.
        quick_release(cargo()).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={wanted}"),
        ]),
    )
}

/// `npm ci` in end2end/ when its packages are missing or older than package-lock.json.
fn npm_packages() -> Result {
    let dir = root().join("end2end");
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    let locked = modified(dir.join("package-lock.json"));
    if matches!((installed, locked), (Some(i), Some(l)) if i >= l) {
        return Ok(());
    }
    if output(Command::new("npm").arg("--version")).is_none() {
        return Err(
            "npm is missing: install Node.js 20 or newer with npm, then run ./x again".into(),
        );
    }
    run(
        "installing end2end npm packages (Playwright without browsers, binaryen)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            // Playwright's browsers come from GitHub/CDNs; the tests use the system Chromium.
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
    )
}

/// Installs Chromium with apt-get when it is not there (as root, or through passwordless sudo).
fn chromium() -> Result {
    if chromium_path().is_ok() {
        return Ok(());
    }
    apt_install("Chromium", &["chromium"]).map_err(|_| missing_chromium())?;
    chromium_path().map(|_| ())
}

/// `apt-get install packages` as root or through passwordless sudo (after one `apt-get update`).
fn apt_install(what: &str, packages: &[&str]) -> Result {
    let sudo: &[&str] = if is_root() {
        &[]
    } else if output(Command::new("sudo").args(["-n", "true"])).is_some() {
        &["sudo", "-n"]
    } else {
        return Err("not root, and no passwordless sudo for apt-get".into());
    };
    if output(Command::new("apt-get").arg("--version")).is_none() {
        return Err("no apt-get on this system".into());
    }
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    static UPDATED: std::sync::Once = std::sync::Once::new();
    let mut updated = Ok(());
    UPDATED.call_once(|| updated = run("apt-get update", &mut apt(&["update", "-q"])));
    updated?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run(
        &format!("installing {what} (apt-get install {})", packages.join(" ")),
        &mut apt(&args),
    )
}

/// Whether `program` is on PATH (or in the system directories, see [`which`]).
pub fn have(program: &str) -> bool {
    which(program).is_some()
}

/// The benchmark's peers and wrk, from the OS packages. Each one that cannot be installed is
/// reported and then skipped by the benchmark (which says so in its report), not fatal.
pub fn bench_peers() {
    let wanted: [(&str, &[&str], bool); 3] = [
        ("Go (the Go peer)", &["golang-go"], have("go")),
        (
            "nginx with nchan (the nchan peer)",
            &["nginx", "libnginx-mod-nchan"],
            have("nginx")
                && std::path::Path::new("/usr/lib/nginx/modules/ngx_nchan_module.so").exists(),
        ),
        ("wrk (SSR requests/s)", &["wrk"], have("wrk")),
    ];
    for (what, packages, present) in wanted {
        if !present && let Err(err) = apt_install(what, packages) {
            println!("    skipping {what}: {err}");
        }
    }
    if !have("node") {
        println!("    skipping the Node peer: node is not on PATH");
    }
}

fn missing_chromium() -> String {
    "Chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium) \
     or set CHROMIUM_PATH to a Chromium or Chrome binary"
        .into()
}

/// The browser the tests drive: `CHROMIUM_PATH`, or Chromium where Debian puts it.
pub fn chromium_path() -> Result<PathBuf> {
    if let Some(path) = env::var_os("CHROMIUM_PATH") {
        let path = PathBuf::from(path);
        return if path.exists() {
            Ok(path)
        } else {
            Err(format!("CHROMIUM_PATH={} does not exist", path.display()))
        };
    }
    CHROMIUM_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(missing_chromium)
}

/// `npx`, from the npm installation.
pub fn npx() -> Command {
    Command::new("npx")
}

/// PATH with end2end/node_modules/.bin in front, so cargo-leptos finds binaryen's `wasm-opt`.
/// (Not Debian's `binaryen`: its old wasm-opt yields wasm that fails to hydrate.)
pub fn path_with_npm_bin() -> OsString {
    let bin = root().join("end2end/node_modules/.bin");
    let rest = env::var_os("PATH").unwrap_or_default();
    env::join_paths(std::iter::once(bin).chain(env::split_paths(&rest))).unwrap_or(rest)
}

/// The version of `package` in Cargo.lock.
fn locked_version(package: &str) -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|err| format!("cannot read Cargo.lock: {err}"))?;
    parse_locked_version(&lock, package)
        .ok_or_else(|| format!("Cargo.lock has no package {package:?}"))
}

fn parse_locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    lines.find(|l| l.trim() == name_line)?;
    let version = lines.next()?.trim().strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_string())
}

/// Stdout of `cmd` when it runs and succeeds, else `None`.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version is read from the package's own entry, not a similarly named one.
    #[test]
    fn reads_the_locked_version() {
        let lock = r#"
[[package]]
name = "wasm-bindgen-backend"
version = "0.1.0"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
"#;
        assert_eq!(
            parse_locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(parse_locked_version(lock, "serde"), None);
    }
}
