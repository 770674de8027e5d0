//! The accept loop behind [`crate::serve`]: what `axum::serve` does (hyper's HTTP/1 and HTTP/2
//! connection builder, upgrades, the peer's address for [`axum::extract::ConnectInfo`]) plus the
//! knob it does not expose: a client that has not sent its request headers within
//! `HEADER_READ_TIMEOUT_MS` is disconnected, so half-sent requests cannot hold connections.
//! The shape follows axum's `serve-with-hyper` example.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceExt};

/// Serves `router` on `listener` until `shutdown`, then stops accepting, asks every open
/// connection to finish its request and close, and returns once they all have.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut connections = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
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
        let ready: Result<_, Infallible> = ServiceExt::<SocketAddr>::ready(&mut connections).await;
        let Ok(ready) = ready;
        let service: Result<_, Infallible> = ready.call(peer).await;
        let Ok(service) = service;
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that vanished or sent garbage: nothing to do but drop the connection.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
