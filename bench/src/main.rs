//! `./x bench`: runs every scenario against leptos-live and the peer SSE servers, one server at
//! a time pinned to core 0 with this generator on core 1, and writes BENCHMARKS.md.
//! `./x soak`: the soak test of [`soak`] (leptos-live alone, 30 minutes by default); its
//! figures go to `bench/soak.md` and into BENCHMARKS.md's "Soak" section.
//!
//! The xtask builds everything first (release server, the Go peer) and passes the paths; run
//! `cargo run --release -p bench -- --help` for the options.

mod client;
mod procfs;
mod report;
mod scaling;
mod scenarios;
mod servers;
mod soak;
mod sse;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use report::{Extras, Report, Row};
use scenarios::Load;
use servers::{Kind, Paths};

/// The generator's core (the servers get [`servers::SERVER_CORE`]).
const GENERATOR_CORE: usize = 1;

const SCENARIOS: [&str; 6] = [
    "fanout",
    "personal",
    "personal-batch",
    "idle",
    "shutdown",
    "reconnect",
];
/// Events per request in `personal-batch` (10 ms of the 4,000 events/s).
const PERSONAL_BATCH: usize = 40;
/// Not part of a full run (it takes minutes per server): `--scenarios scaling`.
const SCALING: &str = "scaling";

struct Options {
    servers: Vec<Kind>,
    scenarios: Vec<&'static str>,
    paths: Paths,
    out: Option<PathBuf>,
    extras: Extras,
    scale: f64,
    /// `--soak MINUTES`: run the soak test instead of the benchmarks.
    soak: Option<f64>,
}

const HELP: &str = "\
usage: bench [options]
  --servers a,b        leptos-live, go-stdlib, nginx+nchan, node-http (default: all)
  --scenarios a,b      fanout, personal, personal-batch, idle, shutdown, reconnect
                       (default: all); or
                       scaling alone: sizes 1k–18k, deliveries per CPU-s and RSS per stream
  --server-bin PATH    leptos-live release server (default: target/release/server)
  --go-bin PATH        the Go peer, built from bench/peers/go
  --out PATH           write the markdown report there (default: print only)
  --scale X            multiply connection counts by X (default 1; e.g. 0.1 for a quick look)
  --rebuild-secs S     incremental rebuild time measured by the caller, for the report
  --soak MINUTES       run the soak test (leptos-live only) instead; writes bench/soak.md and
                       BENCHMARKS.md's Soak section
  --command TEXT       the command line to print in the report";

fn parse() -> Result<Options, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    let mut options = Options {
        servers: Kind::ALL.to_vec(),
        scenarios: SCENARIOS.to_vec(),
        paths: Paths {
            server_bin: root.join("target/release/server"),
            go_bin: None,
            work: std::env::temp_dir().join("leptos-live-bench"),
            root,
        },
        out: None,
        extras: Extras::default(),
        scale: 1.0,
        soak: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--servers" => {
                options.servers = value()?
                    .split(',')
                    .map(|name| {
                        Kind::ALL
                            .into_iter()
                            .find(|k| k.name() == name)
                            .ok_or(format!("unknown server {name:?}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--scenarios" => {
                options.scenarios = value()?
                    .split(',')
                    .map(|name| {
                        SCENARIOS
                            .into_iter()
                            .chain([SCALING])
                            .find(|s| *s == name)
                            .ok_or(format!("unknown scenario {name:?}"))
                    })
                    .collect::<Result<_, _>>()?;
                if options.scenarios.contains(&SCALING) && options.scenarios.len() > 1 {
                    return Err("scaling runs alone: --scenarios scaling".into());
                }
            }
            "--server-bin" => options.paths.server_bin = value()?.into(),
            "--go-bin" => options.paths.go_bin = Some(value()?.into()),
            "--out" => options.out = Some(value()?.into()),
            "--scale" => {
                options.scale = value()?
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= 1.0)
                    .ok_or("--scale takes a number in (0, 1]")?;
            }
            "--rebuild-secs" => {
                options.extras.rebuild_secs = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--rebuild-secs takes seconds")?,
                );
            }
            "--command" => options.extras.command = Some(value()?),
            "--soak" => {
                options.soak = Some(
                    value()?
                        .parse()
                        .ok()
                        .filter(|m: &f64| *m > 0.0 && *m <= 120.0)
                        .ok_or("--soak takes minutes, at most 120")?,
                );
            }
            "-h" | "--help" => return Err(HELP.into()),
            other => return Err(format!("unknown argument {other:?}\n{HELP}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = procfs::pin_self(GENERATOR_CORE) {
        eprintln!("warning: cannot pin the generator to core {GENERATOR_CORE}: {err}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// Where the soak writes its figures, for BENCHMARKS.md.
fn soak_file(paths: &Paths) -> PathBuf {
    paths.root.join("bench/soak.md")
}

const SOAK_HEADING: &str =
    "## Soak: `./x soak`, leptos-live alone under churn, publish load and stuck readers";

/// Written by `./x bench dev-loop` (end2end/bench/dev-loop.spec.ts), kept across full runs.
const DEV_LOOP_HEADING: &str = "## Edit to browser: `./x bench dev-loop`";

/// `markdown` with the section under `heading` (matched up to its first `:`) set to `body`,
/// in place, or added at the end.
fn with_section(markdown: &str, heading: &str, body: &str) -> String {
    let key = heading.split(':').next().unwrap_or(heading);
    let section = format!("{heading}\n\n{}\n", body.trim_end());
    let start = markdown
        .match_indices(key)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || markdown[..at].ends_with('\n'));
    match start {
        Some(start) => {
            let rest = &markdown[start + key.len()..];
            let end = rest.find("\n## ").map(|at| start + key.len() + at + 1);
            let after = end.map_or("", |end| &markdown[end..]);
            let gap = if after.is_empty() { "" } else { "\n" };
            format!("{}{section}{gap}{after}", &markdown[..start])
        }
        None => format!("{}\n\n{section}", markdown.trim_end()),
    }
}

async fn run_soak(options: &Options, minutes: f64) -> Result<(), String> {
    let soak = soak::Soak::minutes(minutes);
    println!(
        "==> soak: {minutes} min, {} + {} clients with churn, {} stuck readers",
        soak.fanout_clients, soak.personal_clients, soak.stuck
    );
    let addr: SocketAddr = ([127, 0, 0, 1], 17_999).into();
    let summary = soak::run(&soak, &options.paths, addr).await?;
    println!("\n{summary}");
    let file = soak_file(&options.paths);
    std::fs::write(&file, &summary).map_err(|e| format!("{}: {e}", file.display()))?;
    let report = options.paths.root.join("BENCHMARKS.md");
    if let Ok(markdown) = std::fs::read_to_string(&report) {
        std::fs::write(&report, with_section(&markdown, SOAK_HEADING, &summary))
            .map_err(|e| format!("{}: {e}", report.display()))?;
        println!(
            "wrote {} and its Soak section in {}",
            file.display(),
            report.display()
        );
    }
    Ok(())
}

async fn run(options: Options) -> Result<(), String> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.paths.work).map_err(|e| e.to_string())?;
    if let Some(minutes) = options.soak {
        return run_soak(&options, minutes).await;
    }
    if options.scenarios == [SCALING] {
        return run_scaling(&options).await;
    }
    let mut report = Report::new(options.scale, options.extras.clone());
    let mut port = 18_000u16;
    for &kind in &options.servers {
        if let Some(reason) = servers::unavailable(kind, &options.paths) {
            println!("==> {}: skipped ({reason})", kind.name());
            report.skipped.push((kind, reason));
            continue;
        }
        for &scenario in &options.scenarios {
            if scenario == "personal-batch" && kind.batch_path().is_none() {
                continue;
            }
            port += 1;
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            println!("==> {scenario} on {} ({addr})", kind.name());
            let t = Instant::now();
            let server = servers::start(kind, addr, &options.paths)
                .await
                .map_err(|e| format!("{}: {e}", kind.name()))?;
            let row = run_scenario(scenario, server, options.scale).await;
            println!(
                "    {}  [{:.1} s]",
                row.summary(),
                t.elapsed().as_secs_f64()
            );
            report.rows.push((kind, row));
            // Let closed connections' state settle between runs.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if options.servers.contains(&Kind::LeptosLive) && options.scenarios.len() == SCENARIOS.len() {
        report.extras.measure(&options.paths, port + 1).await;
    }
    let mut markdown = report.markdown();
    let dev_loop = options.paths.root.join("bench/dev-loop.md");
    if let Ok(figures) = std::fs::read_to_string(dev_loop) {
        markdown = with_section(&markdown, DEV_LOOP_HEADING, &figures);
    }
    if let Ok(soak) = std::fs::read_to_string(soak_file(&options.paths)) {
        markdown = with_section(&markdown, SOAK_HEADING, &soak);
    }
    print_and_write(&markdown, &options, started)
}

/// Prints `markdown`, writes it to `--out` if given, and says how long the run took.
fn print_and_write(markdown: &str, options: &Options, started: Instant) -> Result<(), String> {
    println!("\n{markdown}");
    if let Some(out) = &options.out {
        std::fs::write(out, markdown).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote {}", out.display());
    }
    println!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `--scenarios scaling`: every size on every available server, then the table.
async fn run_scaling(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let mut port = 18_000u16;
    let mut results = Vec::new();
    for &kind in &options.servers {
        if let Some(reason) = servers::unavailable(kind, &options.paths) {
            println!("==> {}: skipped ({reason})", kind.name());
            continue;
        }
        println!("==> scaling on {}", kind.name());
        results.push((kind, scaling::run(kind, &options.paths, &mut port).await?));
    }
    let markdown = scaling::markdown(&results);
    print_and_write(&markdown, options, started)
}

async fn run_scenario(scenario: &str, server: servers::Running, scale: f64) -> Row {
    match scenario {
        "fanout" => {
            let load = Load {
                users: None,
                per_topic: scaled(10_000, scale),
                events: 200,
                rate: 20.0,
                publishers: 1,
                batch: 1,
            };
            let row = Row::Delivery("fanout", scenarios::delivery(&server, &load).await);
            server.stop().await;
            row
        }
        "personal" | "personal-batch" => {
            let batch = scenario == "personal-batch";
            let load = Load {
                users: Some(scaled(5_000, scale)),
                per_topic: 1,
                events: 8,
                rate: 4_000.0 * scale,
                publishers: 4,
                batch: if batch { PERSONAL_BATCH } else { 1 },
            };
            let name = if batch { "personal-batch" } else { "personal" };
            let row = Row::Delivery(name, scenarios::delivery(&server, &load).await);
            server.stop().await;
            row
        }
        "idle" => {
            let row = Row::Idle(
                scenarios::idle(&server, scaled(15_000, scale), Duration::from_secs(10)).await,
            );
            server.stop().await;
            row
        }
        "shutdown" => {
            let (open, exit) = scenarios::shutdown(server, scaled(1_000, scale)).await;
            Row::Shutdown { open, exit }
        }
        "reconnect" => {
            let row =
                Row::Reconnect(scenarios::reconnect(&server, scaled(1_000, scale), 20, 50).await);
            server.stop().await;
            row
        }
        _ => unreachable!("scenario names are checked by parse()"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section is replaced where it stands, up to the next section, or added at the end.
    #[test]
    fn sections_are_replaced_in_place_or_added() {
        let doc = "# B\n\n## A: x\n\nold a\n\n## Soak: y\n\nold soak\n";
        let replaced = with_section(doc, "## A: z", "new a");
        assert_eq!(
            replaced,
            "# B\n\n## A: z\n\nnew a\n\n## Soak: y\n\nold soak\n"
        );
        let soak = with_section(&replaced, "## Soak: y", "new soak\n\n");
        assert_eq!(soak, "# B\n\n## A: z\n\nnew a\n\n## Soak: y\n\nnew soak\n");
        assert_eq!(
            with_section("# B\n", "## C: c", "c"),
            "# B\n\n## C: c\n\nc\n"
        );
    }
}
