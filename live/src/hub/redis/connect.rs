//! [`Redis::connect`]: the command connection, the scripts, the epoch read or created, and the
//! pub/sub link started.

use std::{
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize},
    },
    time::Duration,
};

use ::redis::{
    Client, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClientBuilder,
};
use tokio_util::sync::CancellationToken;

use super::{
    Commands, EPOCH, FLATTEN, Keys, MAX_BACKOFF, PUBLISH, READ, RECENT, Redis, TIMEOUT, batch,
};
use crate::hub::backend::BackendError;

impl Redis {
    /// Connects to `url`, reads (or creates) the epoch and starts the pub/sub link, which runs
    /// until `shutdown`. Fails, with the cause in one line, if Redis cannot be reached.
    ///
    /// `url` is one Redis (`redis://host:port[/db]`, or `rediss://`), or a Redis Cluster:
    /// several of its nodes, comma-separated (one node whose `INFO cluster` says so is enough).
    /// On a cluster every key of the deployment carries the hash tag `{prefix}`, so that each
    /// script touches one slot; the pub/sub link subscribes on any node (a `PUBLISH` reaches
    /// every node) and moves to the next of the nodes in `url` when its node goes (so name
    /// several).
    pub async fn connect(
        url: &str,
        prefix: &str,
        idle: Duration,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BackendError> {
        let unreachable =
            |e: &dyn std::fmt::Display| BackendError(format!("cannot reach Redis at {url}: {e}"));
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let clients = urls
            .iter()
            .map(|url| Client::open(*url))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unreachable(&e))?;
        let [first, ..] = clients.as_slice() else {
            return Err(unreachable(&"no address"));
        };
        let cluster = clients.len() > 1 || is_cluster(first).await.map_err(|e| unreachable(&e))?;
        let commands = if cluster {
            let client = ClusterClientBuilder::new(urls.iter().copied())
                .connection_timeout(TIMEOUT)
                .response_timeout(TIMEOUT)
                .retries(2)
                .build()
                .map_err(|e| unreachable(&e))?;
            let connection = tokio::time::timeout(TIMEOUT, client.get_async_connection())
                .await
                .map_err(|_| unreachable(&"timed out"))?
                .map_err(|e| unreachable(&e))?;
            Commands::Cluster(connection)
        } else {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(MAX_BACKOFF);
            let connection = tokio::time::timeout(
                TIMEOUT,
                ConnectionManager::new_with_config(first.clone(), config),
            )
            .await
            .map_err(|_| unreachable(&"timed out"))?
            .map_err(|e| unreachable(&e))?;
            Commands::Single(connection)
        };
        // A hash tag: on a cluster, every key of the deployment in the slot of `prefix`.
        let prefix = if cluster {
            format!("{{{prefix}}}")
        } else {
            prefix.to_string()
        };
        let script = |body: &str| Script::new(&format!("{EPOCH}{FLATTEN}{body}"));
        let (queue, queued) = batch::queue();
        let redis = Arc::new_cyclic(|me| Self {
            me: me.clone(),
            keys: Keys {
                prefix: prefix.into(),
            },
            clients,
            commands,
            // The one script run per publish: without the `flatten` it does not use.
            publish: Script::new(&format!("{EPOCH}{PUBLISH}")),
            queue,
            read: script(READ),
            recent: script(RECENT),
            ttl: idle.as_secs().max(1),
            history: RwLock::default(),
            local: RwLock::default(),
            linked: AtomicBool::new(false),
            sink: RwLock::default(),
            links: AtomicU64::default(),
            attempts: AtomicUsize::default(),
            commands_ok: AtomicBool::new(true),
            relinks: AtomicU64::default(),
            gaps: AtomicU64::default(),
            lag: OnceLock::new(),
        });
        // Any script reads or creates the epoch; `recent` of no channel is the cheapest.
        redis.recent_raw("", 0).await?;
        tokio::spawn(batch::coalesce(redis.me.clone(), queued));
        tokio::spawn(redis.clone().listen(shutdown));
        Ok(redis)
    }
}

/// Whether the Redis behind `client` is a node of a cluster (`INFO cluster`).
async fn is_cluster(client: &Client) -> Result<bool, ::redis::RedisError> {
    let ask = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        let info: String = ::redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut connection)
            .await?;
        Ok::<_, ::redis::RedisError>(info.lines().any(|line| line.trim() == "cluster_enabled:1"))
    };
    tokio::time::timeout(TIMEOUT, ask)
        .await
        .unwrap_or_else(|_| {
            Err(::redis::RedisError::from((
                ::redis::ErrorKind::Io,
                "timed out",
            )))
        })
}
