//! `./x cluster`: Redis, two instances of the release server sharing it, and nginx in front,
//! on fixed loopback ports, for a person to try scaling out (README, "Scaling out"). An
//! instance that exits is started again after a second, so `kill -TERM <pid>` shows a rolling
//! restart; Ctrl-C stops everything.

use std::{
    fs,
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use crate::{Result, root, step, tools};

const REDIS_PORT: u16 = 6380;
const INSTANCE_PORTS: [u16; 2] = [3001, 3002];
const NGINX_PORT: u16 = 8080;

/// `deploy/nginx.conf` with nginx listening on `listen` and balancing over `instances`.
pub fn nginx_conf(template: &str, listen: u16, instances: &[u16]) -> String {
    let mut out = String::new();
    let mut in_instances = false;
    for line in template.lines() {
        let trimmed = line.trim();
        if trimmed == "# instances:end" {
            in_instances = false;
        }
        if in_instances {
            continue;
        }
        if trimmed.starts_with("listen ") {
            out.push_str(&format!("        listen 127.0.0.1:{listen};\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed == "# instances:begin" {
            in_instances = true;
            for port in instances {
                out.push_str(&format!(
                    "        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n"
                ));
            }
        }
    }
    out
}

pub fn run() -> Result {
    tools::servers()?;
    let dir = root().join("target/cluster");
    for sub in ["logs", "tmp"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let template = fs::read_to_string(root().join("deploy/nginx.conf"))
        .map_err(|e| format!("deploy/nginx.conf: {e}"))?;
    fs::write(
        dir.join("nginx.conf"),
        nginx_conf(&template, NGINX_PORT, &INSTANCE_PORTS),
    )
    .map_err(|e| e.to_string())?;

    step(&format!("Redis on 127.0.0.1:{REDIS_PORT} (no persistence)"));
    let mut redis = spawn(
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &REDIS_PORT.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null()),
        "redis-server",
    )?;
    // One key for all instances: a session made through one is good on the others.
    let session_key: String = (0..64).map(|_| format!("{:02x}", rand_byte())).collect();
    let start_instance = |port: u16| {
        spawn(
            Command::new(root().join("target/release/server"))
                .current_dir(root())
                .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
                .env("LEPTOS_SITE_ROOT", root().join("target/site"))
                .env("LEPTOS_ENV", "PROD")
                .env("REDIS_URL", format!("redis://127.0.0.1:{REDIS_PORT}"))
                .env("SESSION_KEY", &session_key)
                .env("TRUSTED_PROXIES", "127.0.0.1")
                // Long enough for nginx to see /readyz go 503 before streams end.
                .env("SHUTDOWN_GRACE_MS", "1000")
                .stdout(Stdio::null()),
            "target/release/server",
        )
    };
    thread::sleep(Duration::from_millis(200));
    let mut instances = Vec::new();
    for port in INSTANCE_PORTS {
        step(&format!("instance on 127.0.0.1:{port}"));
        instances.push((port, start_instance(port)?));
    }
    step(&format!("nginx on 127.0.0.1:{NGINX_PORT}"));
    let nginx_bin = tools::which("nginx").ok_or("nginx is not installed")?;
    let mut nginx = spawn(
        Command::new(nginx_bin).arg("-p").arg(&dir).args([
            "-c",
            "nginx.conf",
            "-e",
            "logs/error.log",
            "-g",
            "daemon off;",
        ]),
        "nginx",
    )?;

    println!("\n  dashboard through nginx:  http://127.0.0.1:{NGINX_PORT}");
    for (port, child) in &instances {
        println!(
            "  instance:                 http://127.0.0.1:{port}  (pid {}; try kill -TERM {0})",
            child.id()
        );
    }
    println!("  Redis:                    redis://127.0.0.1:{REDIS_PORT}");
    println!("  an instance that exits is started again; Ctrl-C stops everything\n");

    loop {
        thread::sleep(Duration::from_millis(200));
        let exited = [("redis-server", &mut redis), ("nginx", &mut nginx)]
            .into_iter()
            .find_map(|(name, child)| Some((name, child.try_wait().ok()??)));
        if let Some((name, status)) = exited {
            stop_all(&mut redis, &mut nginx, &mut instances);
            return Err(format!("{name} exited ({status}); see target/cluster/logs"));
        }
        for (port, child) in &mut instances {
            if let Ok(Some(status)) = child.try_wait() {
                println!("instance :{port} exited ({status}); starting it again in 1 s");
                thread::sleep(Duration::from_secs(1));
                *child = start_instance(*port)?;
                println!("instance :{port} is back (pid {})", child.id());
            }
        }
    }
}

fn spawn(command: &mut Command, what: &str) -> Result<Child> {
    command
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))
}

fn stop_all(redis: &mut Child, nginx: &mut Child, instances: &mut [(u16, Child)]) {
    for child in instances.iter_mut().map(|(_, c)| c).chain([redis, nginx]) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A byte from the OS's randomness (no crate needed for one key).
fn rand_byte() -> u8 {
    use std::io::Read;
    let mut byte = [0u8];
    let _ = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut byte));
    byte[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendered config listens where asked and balances over exactly the given ports, in
    /// both upstreams (the kept-alive one and the streams' own).
    #[test]
    fn renders_ports() {
        let template = fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf"),
        )
        .unwrap();
        let conf = nginx_conf(&template, 9000, &[4001, 4002, 4003]);
        assert!(conf.contains("listen 127.0.0.1:9000;"));
        assert!(!conf.contains("8080") && !conf.contains("3001"));
        assert_eq!(conf.matches("server 127.0.0.1:400").count(), 6);
        for port in [4001, 4002, 4003] {
            assert_eq!(
                conf.matches(&format!("server 127.0.0.1:{port} ")).count(),
                2
            );
        }
        assert!(conf.contains("proxy_buffering off;"));
    }
}
