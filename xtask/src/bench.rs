//! `./x bench`, `./x bench dev-loop` and `./x soak`: the benchmarks, which print figures and
//! write BENCHMARKS.md (not part of `./x test`).

use std::{process::Command, time::Instant};

use super::{Result, cargo, release_build, root, run as run_step, step};
use crate::tools::{self, Need};

/// The benchmarks (see bench/ and BENCHMARKS.md): builds everything, measures an incremental
/// rebuild, then runs the load generator, which writes BENCHMARKS.md.
pub fn run(args: &[String]) -> Result {
    let started = Instant::now();
    prepare()?;

    // An incremental rebuild after editing one component: a comment line at the top of the
    // file moves every span in it, so rustc recompiles it like any edit.
    let component = root().join("app/src/demo/price_tile.rs");
    let original = std::fs::read_to_string(&component).map_err(|e| e.to_string())?;
    step("incremental release rebuild after editing app/src/demo/price_tile.rs");
    std::fs::write(&component, format!("// edited by ./x bench\n{original}"))
        .map_err(|e| e.to_string())?;
    let timer = Instant::now();
    let edited = release_build().status();
    let rebuild = timer.elapsed().as_secs_f64();
    // Put the file back whatever happened, and rebuild what is shipped from it.
    std::fs::write(&component, &original).map_err(|e| e.to_string())?;
    match edited {
        Ok(status) if status.success() => println!("    rebuilt in {rebuild:.1} s"),
        other => return Err(format!("the rebuild after the edit failed: {other:?}")),
    }
    run_step("release build (the file restored)", &mut release_build())?;

    let mut command = generator()?;
    command
        .arg("--rebuild-secs")
        .arg(format!("{rebuild:.1}"))
        .arg("--command")
        .arg(if args.is_empty() {
            "./x bench".to_string()
        } else {
            format!("./x bench {}", args.join(" "))
        });
    // A full run writes the report; a partial one (any options) only prints it.
    let passthrough: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
    if passthrough.is_empty() {
        command.arg("--out").arg(root().join("BENCHMARKS.md"));
    }
    command.args(passthrough);
    run_step(
        "benchmarks (about 15 minutes; bench/src/main.rs)",
        &mut command,
    )?;
    println!("\nbench done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// What every benchmark needs first: the tools, the peers, the release build.
fn prepare() -> Result {
    tools::ensure(Need::Release)?;
    tools::bench_peers();
    run_step(
        "release build (cargo leptos build --release --precompress)",
        &mut release_build(),
    )
}

/// `./x bench scaling`: the release server and the peers at 1k–18k subscribers
/// (bench/src/scaling.rs); the table goes to bench/scaling.md.
pub fn scaling() -> Result {
    let started = Instant::now();
    prepare()?;
    let mut command = generator()?;
    command
        .args([
            "--scenarios",
            "scaling",
            "--servers",
            "leptos-live,nginx+nchan,go-stdlib",
        ])
        .arg("--out")
        .arg(root().join("bench/scaling.md"));
    run_step(
        "scaling: 5 sizes x 3 servers, an idle and a fan-out run each (about 10 minutes)",
        &mut command,
    )?;
    println!(
        "\nbench scaling done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The load generator (built, with the Go peer when Go is installed), to run from the root.
fn generator() -> Result<Command> {
    let go_peer = build_go_peer()?;
    run_step(
        "load generator (cargo build --release -p bench)",
        cargo().args(["build", "--release", "--package", "bench"]),
    )?;
    let mut command = Command::new(root().join("target/release/bench"));
    command.current_dir(root());
    if let Some(go_peer) = go_peer {
        command.arg("--go-bin").arg(go_peer);
    }
    Ok(command)
}

/// The Go peer (bench/peers/go), when Go is installed.
fn build_go_peer() -> Result<Option<std::path::PathBuf>> {
    let go_peer = root().join("target/bench/go-sse-peer");
    if !tools::have("go") {
        return Ok(None);
    }
    run_step(
        "Go peer (go build bench/peers/go)",
        Command::new("go")
            .args(["build", "-o"])
            .arg(&go_peer)
            .arg(".")
            .current_dir(root().join("bench/peers/go"))
            .env("GOCACHE", root().join("target/bench/go-cache"))
            .env("GOFLAGS", "-mod=mod"),
    )?;
    Ok(Some(go_peer))
}

/// Edit to browser: end2end/bench/dev-loop.spec.ts edits files under a running watcher and
/// times each change to the open page. It restores every file it edits, also on Ctrl-C.
pub fn dev_loop() -> Result {
    // No warm-up `cargo leptos build`: the watcher sets LEPTOS_WATCH, which `leptos` reads at
    // compile time, so its first build would redo every crate above `leptos` anyway. The
    // benchmark waits for that build (its log: target/bench/dev-loop-watch.log), then times edits.
    tools::ensure(Need::Everything)?;
    run_step(
        "edit to browser, 5 kinds of edit x 3 (end2end/bench/dev-loop.spec.ts, a few minutes)",
        tools::npx()
            .args(["playwright", "test", "--config", "bench.config.ts"])
            .current_dir(root().join("end2end"))
            .env("CHROMIUM_PATH", tools::chromium_path()?)
            .env("DEV_LOOP_MACHINE", machine()),
    )
}

/// "2 cores, cargo-leptos 0.3.11": what the dev-loop figures depend on most.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let leptos = tools::output(cargo().args(["leptos", "--version"])).unwrap_or_default();
    format!("{cores} cores, {}", leptos.trim())
}

/// The soak test (bench/src/soak.rs) for `minutes` (default 30), against the release server.
pub fn soak(minutes: Option<&str>) -> Result {
    let minutes = minutes.unwrap_or("30");
    if !minutes.parse::<f64>().is_ok_and(|m| m > 0.0 && m <= 120.0) {
        return Err(format!(
            "./x soak [MINUTES]: {minutes:?} is not 1 to 120 minutes"
        ));
    }
    tools::ensure(Need::Release)?;
    run_step(
        "release build (cargo leptos build --release --precompress)",
        &mut release_build(),
    )?;
    run_step(
        "load generator (cargo build --release -p bench)",
        cargo().args(["build", "--release", "--package", "bench"]),
    )?;
    run_step(
        &format!("soak, {minutes} minutes (bench/src/soak.rs)"),
        Command::new(root().join("target/release/bench"))
            .current_dir(root())
            .args(["--soak", minutes]),
    )
}
