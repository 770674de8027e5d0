//! The accept loop behind [`crate::serve`]: what `axum::serve` does (hyper's HTTP/1 and HTTP/2
//! connection builder, upgrades, the peer's address for [`axum::extract::ConnectInfo`]) plus
//! what it has no knob for: at most `MAX_CONNECTIONS_PER_ADDRESS` open connections from one
//! address, and a client that has not sent its request headers within `HEADER_READ_TIMEOUT_MS`
//! is disconnected, so idle or half-sent requests cannot hold connections. The shape follows
//! axum's `serve-with-hyper` example, with one step before hyper: the loop reads each
//! connection's first request head itself, and answers a stream request on the socket
//! ([`crate::direct`]: ~3 KB per open stream instead of hyper's ~23 KB); hyper gets every other
//! connection, the bytes already read first.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{io::AsyncWriteExt, net::TcpListener};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::{Service, ServiceExt};

use crate::{
    client::TrustedProxies,
    direct::{self, First},
    error::RETRY_AFTER_SECS,
    sockets::Sockets,
};

/// What a connection must keep to.
pub struct Rules {
    pub header_read_timeout: Duration,
    /// Open connections from one address; a trusted proxy's are not counted.
    pub per_address: usize,
    pub trusted_proxies: TrustedProxies,
    /// Where every open connection's socket is registered (for `/metrics`).
    pub sockets: Arc<Sockets>,
    /// Which paths are event streams, written straight to the socket ([`direct`]).
    pub streams: fn(&str) -> bool,
    /// How long a stream's frame may wait for others to leave in the same write.
    pub write_delay: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then stops accepting, asks every open
/// connection to finish its request and close, and returns once they all have.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    rules: Rules,
    shutdown: CancellationToken,
) {
    let mut connections = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(rules.header_read_timeout);
    // Shared, not cloned: every connection's task holds it (a clone is ~300 bytes).
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    // Every connection's task, so that shutdown waits for the direct streams too.
    let tracked = TaskTracker::new();
    let open = Arc::new(Open::default());
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or the peer gave up before we took it: wait a little
                // rather than spin, as axum::serve does.
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let counted = !rules.trusted_proxies.contains(peer.ip());
        let held = match counted.then(|| open.admit(peer.ip(), rules.per_address)) {
            Some(None) => {
                tokio::spawn(async move {
                    let _ = stream.write_all(&too_many(rules.per_address)).await;
                    let _ = stream.shutdown().await;
                });
                continue;
            }
            Some(Some(held)) => Some(held),
            None => None,
        };
        let stream = rules.sockets.add(stream);
        let ready: Result<_, Infallible> = ServiceExt::<SocketAddr>::ready(&mut connections).await;
        let Ok(ready) = ready;
        let service: Result<_, Infallible> = ready.call(peer).await;
        let Ok(service) = service;
        let (builder, watcher, shutdown) =
            (Arc::clone(&builder), graceful.watcher(), shutdown.clone());
        let (header_read_timeout, streams, delay) =
            (rules.header_read_timeout, rules.streams, rules.write_delay);
        tracked.spawn(async move {
            // The passing steps are boxed, so that what a stream holds while it lasts is the
            // socket and `direct::answer`, not room for the router's future (~2 KB).
            let first = tokio::time::timeout(
                header_read_timeout,
                direct::first(stream.get_ref(), streams),
            );
            match Box::pin(first).await {
                // Gone, or too slow, before a whole request head.
                Err(_) | Ok(Err(_)) => {}
                Ok(Ok(First::Direct(request))) => {
                    // Out of its box in a block: the box is freed here, not when the stream ends.
                    let request = {
                        let boxed = request;
                        *boxed
                    };
                    let Ok(response) = Box::pin(service.oneshot(request)).await;
                    direct::answer(stream.get_ref(), response, delay, &shutdown).await;
                }
                Ok(Ok(First::Hyper(read))) => {
                    let io = TokioIo::new(direct::Prefixed::new(read, stream));
                    let service = TowerToHyperService::new(service);
                    let connection = builder.serve_connection_with_upgrades(io, service);
                    // A client that vanished or sent garbage: nothing to do but drop it.
                    let _ = Box::pin(watcher.watch(connection.into_owned())).await;
                }
            }
            drop(held);
        });
    }
    drop(listener);
    tracked.close();
    tokio::join!(graceful.shutdown(), tracked.wait());
}

/// The whole answer to a connection over the cap, written before any request is read (so it is
/// HTTP/1.1 whatever the client meant to speak): 429, `Retry-After`, the reason as the API's
/// JSON error.
fn too_many(per_address: usize) -> Vec<u8> {
    let reason = format!("{per_address} open connections from this address; close one first");
    let body = serde_json::json!({ "error": reason }).to_string();
    format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Open connections per client address (addresses with none are not kept).
#[derive(Default)]
struct Open(Mutex<HashMap<IpAddr, usize>>);

impl Open {
    /// A place for one more connection from `addr`, or `None` at the cap.
    fn admit(self: &Arc<Self>, addr: IpAddr, cap: usize) -> Option<Held> {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(addr).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Held {
            open: self.clone(),
            addr,
        })
    }
}

/// One counted connection; dropping it frees the place.
struct Held {
    open: Arc<Open>,
    addr: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self
            .open
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Places are per address, freed on drop, and the map forgets addresses with none.
    #[test]
    fn places_are_counted_per_address() {
        let open = Arc::new(Open::default());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = open.admit(a, 2).unwrap();
        let _second = open.admit(a, 2).unwrap();
        assert!(open.admit(a, 2).is_none());
        assert!(
            open.admit(b, 2).is_some(),
            "another address has its own places"
        );
        drop(first);
        assert!(open.admit(a, 2).is_some());
        assert!(
            open.0.lock().unwrap().get(&b).is_none(),
            "b's place was dropped at once"
        );
    }
}
