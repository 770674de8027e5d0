//! [`Redis::connect`]: the command connection, the scripts, the epoch read or created, and the
//! pub/sub link started.

use std::{
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicBool, AtomicU64},
    },
    time::Duration,
};

use ::redis::{
    Client, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio_util::sync::CancellationToken;

use super::{EPOCH, FLATTEN, Keys, MAX_BACKOFF, PUBLISH, READ, RECENT, Redis, TIMEOUT};
use crate::hub::backend::BackendError;

impl Redis {
    /// Connects to `url`, reads (or creates) the epoch and starts the pub/sub link, which runs
    /// until `shutdown`. Fails, with the cause in one line, if Redis cannot be reached.
    pub async fn connect(
        url: &str,
        prefix: &str,
        idle: Duration,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BackendError> {
        let unreachable =
            |e: &dyn std::fmt::Display| BackendError(format!("cannot reach Redis at {url}: {e}"));
        let client = Client::open(url).map_err(|e| unreachable(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(MAX_BACKOFF);
        let commands = tokio::time::timeout(
            TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unreachable(&"timed out"))?
        .map_err(|e| unreachable(&e))?;
        let script = |body: &str| Script::new(&format!("{EPOCH}{FLATTEN}{body}"));
        let redis = Arc::new_cyclic(|me| Self {
            me: me.clone(),
            keys: Keys {
                prefix: prefix.into(),
            },
            client,
            commands,
            // The one script run per event: without the `flatten` it does not use.
            publish: Script::new(&format!("{EPOCH}{PUBLISH}")),
            read: script(READ),
            recent: script(RECENT),
            ttl: idle.as_secs().max(1),
            history: RwLock::default(),
            local: RwLock::default(),
            linked: AtomicBool::new(false),
            sink: RwLock::default(),
            links: AtomicU64::default(),
            commands_ok: AtomicBool::new(true),
            relinks: AtomicU64::default(),
            gaps: AtomicU64::default(),
            lag: OnceLock::new(),
        });
        // Any script reads or creates the epoch; `recent` of no channel is the cheapest.
        redis.recent_raw("", 0).await?;
        tokio::spawn(redis.clone().listen(shutdown));
        Ok(redis)
    }
}
