//! The report's extras: the wasm's sizes, the dashboard's SSR requests/s, the rebuild time.

use std::io::Write as _;

use crate::servers::{self, Kind, Paths};

/// What is measured besides the scenarios (each `None` when it was not).
#[derive(Clone, Default)]
pub struct Extras {
    pub command: Option<String>,
    pub rebuild_secs: Option<f64>,
    pub wasm: Option<(u64, u64, u64)>,
    pub ssr: Option<String>,
}

impl Extras {
    /// Wasm sizes from target/site, and SSR requests/s of the dashboard with wrk.
    pub async fn measure(&mut self, paths: &Paths, port: u16) {
        // `leptos-live.wasm`, or `leptos-live.HASH.wasm` from a build with hashed names.
        let pkg = paths.root.join("target/site/pkg");
        let wasm = std::fs::read_dir(&pkg)
            .into_iter()
            .flatten()
            .flatten()
            .find(|entry| {
                let name = entry.file_name().to_string_lossy().to_string();
                name.starts_with("leptos-live.") && name.ends_with(".wasm")
            });
        self.wasm = wasm
            .and_then(|entry| std::fs::read(entry.path()).ok())
            .map(|bytes| sizes(&bytes));
        if servers::which("wrk").is_none() {
            self.ssr = Some("skipped: wrk not installed".into());
            return;
        }
        let addr = ([127, 0, 0, 1], port).into();
        let Ok(server) = servers::start(Kind::LeptosLive, addr, paths).await else {
            self.ssr = Some("skipped: the server did not start".into());
            return;
        };
        println!("==> SSR: wrk on http://{addr}/");
        let output = tokio::process::Command::new("taskset")
            .args(["-c", "1", "wrk", "-t1", "-c32", "-d10s", "--latency"])
            .arg(format!("http://{addr}/"))
            .output()
            .await;
        server.stop().await;
        self.ssr = Some(match output {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let find = |key: &str| {
                    text.lines()
                        .find(|l| l.trim_start().starts_with(key))
                        .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
                        .unwrap_or_else(|| "?".into())
                };
                format!(
                    "{} requests/s (wrk, 1 thread, 32 connections, 10 s; latency p50 {}, p99 {}; non-2xx: {})",
                    find("Requests/sec:"),
                    find("50%"),
                    find("99%"),
                    text.lines()
                        .find(|l| l.contains("Non-2xx"))
                        .map_or("0", |l| l.rsplit(' ').next().unwrap_or("?")),
                )
            }
            Err(err) => format!("wrk failed: {err}"),
        });
        println!("    {}", self.ssr.as_deref().unwrap_or_default());
    }
}

/// Raw, gzip -9 and brotli q11 sizes.
fn sizes(bytes: &[u8]) -> (u64, u64, u64) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(bytes);
    let gz = gz.finish().map_or(0, |v| v.len() as u64);
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut br, &params);
    (bytes.len() as u64, gz, br.len() as u64)
}
