//! A real Redis Cluster for the tests: three `redis-server --cluster-enabled yes` masters on
//! free loopback ports, joined by `redis-cli --cluster create`, each killed by its own pid.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use super::RedisServer;

pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Three masters, no replicas, every slot covered; waits until each says `cluster_state:ok`.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "leptos-live-cluster-{}-{}",
            std::process::id(),
            super::redis_server::rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(RedisServer::cluster_node(&dir).await);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli (Debian's redis-tools, which redis-server brings)");
        assert!(created.success(), "redis-cli --cluster create");
        let cluster = Self { nodes, dir };
        cluster.wait_ok().await;
        cluster
    }

    /// The nodes as one `REDIS_URL`.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(RedisServer::url).collect();
        urls.join(",")
    }

    /// Waits (30 s at most) until every node says the cluster is whole.
    pub async fn wait_ok(&self) {
        let started = Instant::now();
        for node in &self.nodes {
            loop {
                let info = node.try_command(&["CLUSTER", "INFO"]).await;
                let ok = matches!(&info, Ok(redis::Value::BulkString(text))
                    if String::from_utf8_lossy(text).contains("cluster_state:ok"));
                if ok {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "cluster not ok: {info:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The node that holds `key`'s slot (the others answer `MOVED`).
    pub async fn owner_of(&self, key: &str) -> usize {
        for (n, node) in self.nodes.iter().enumerate() {
            if node.try_command(&["EXISTS", key]).await.is_ok() {
                return n;
            }
        }
        panic!("no node holds {key}");
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
