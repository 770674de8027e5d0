//! A real `redis-server` for the scale-out tests, and the config of an instance that shares it.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use server::Config;
use tokio::net::TcpStream;

/// A throwaway `redis-server` on a free loopback port, without persistence (so a restart
/// loses everything, like a Redis that failed over to an empty replica); killed by its own
/// pid when dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// Where [`RedisServer::with_dumps`] keeps its dump (removed when dropped).
    dir: Option<std::path::PathBuf>,
    /// A cluster node's config file (see `RedisCluster`): kept across restarts, so a node
    /// started again rejoins as itself, with its slots and without its data.
    cluster_config: Option<std::path::PathBuf>,
}

impl RedisServer {
    pub async fn start() -> Self {
        Self::launched(None, None).await
    }

    /// One that writes a dump on `SAVE` (only then) and loads it when it starts again after
    /// [`RedisServer::stop`]: a restore from a backup, or a failover to a replica that lags.
    pub async fn with_dumps() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "leptos-live-redis-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("dump dir");
        Self::launched(Some(dir), None).await
    }

    /// Started on a free port; with `cluster_dir`, as a cluster node keeping its config there.
    async fn launched(
        dir: Option<std::path::PathBuf>,
        cluster_dir: Option<&std::path::Path>,
    ) -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let mut server = Self {
            child: None,
            port,
            dir,
            cluster_config: cluster_dir.map(|d| d.join(format!("nodes-{port}.conf"))),
        };
        server.launch().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]);
        if let Some(dir) = &self.dir {
            command.arg("--dir").arg(dir);
        }
        if let Some(config) = &self.cluster_config {
            command
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .arg("--cluster-config-file")
                .arg(config);
        }
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; `./x setup` installs it)");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Kills the server (SIGKILL: nothing is saved; without dumps its data is gone).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server's process (SIGSTOP): connections stay open and nothing answers, as
    /// with a Redis that hangs. [`RedisServer::resume`] lets it go on.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Starts it again on the same port: empty, or from the last `SAVE` with dumps.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// A node for `RedisCluster`, its config file in `dir`.
    pub async fn cluster_node(dir: &std::path::Path) -> Self {
        Self::launched(None, Some(dir)).await
    }

    /// Runs one command, e.g. `["FLUSHALL"]`.
    pub async fn command(&self, args: &[&str]) -> redis::Value {
        self.try_command(args).await.expect("command")
    }

    /// Runs one command; Redis's error if it refuses.
    pub async fn try_command(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url()).expect("url");
        let mut con = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut con).await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub(super) fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

/// A test config for one of several instances sharing `redis` (and so one session key).
pub fn instance_config(
    redis: &RedisServer,
    session_key: &axum_extra::extract::cookie::Key,
) -> Config {
    let mut config = Config::for_tests();
    config.redis = Some(server::config::RedisConfig {
        url: redis.url(),
        prefix: "test".into(),
    });
    config.session_key = session_key.clone();
    config
}
