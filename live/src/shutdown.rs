//! Shutdown in phases, started by SIGINT or SIGTERM:
//!
//! 1. **Not ready** (`AppState::stopping` fires): `/readyz` answers 503 and new streams are
//!    refused with 503, so a load balancer moves new clients elsewhere. This lasts
//!    `SHUTDOWN_GRACE_MS` (default 0: behind a load balancer set it to a little more than its
//!    health-check interval).
//! 2. **Streams end** (`AppState::shutdown` fires): every open stream and producer ends at once
//!    and the listener closes; clients reconnect (elsewhere) with their cursor.
//! 3. **Drain**: open connections get `SHUTDOWN_DRAIN_MS` (default 3 s) to finish; then the
//!    process exits whatever is left, e.g. a client that stopped reading.
//!
//! cargo-leptos restarts the server on every change by sending SIGINT and kills it after 10 s;
//! with the defaults a restart takes milliseconds when no client is stuck.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Returns a token that is cancelled on the first SIGINT (Ctrl-C) or SIGTERM.
///
/// Must be called inside a tokio runtime. On Unix the handlers are in place when it returns
/// (a task then waits for them): call it before telling anyone the process is up, so that a
/// signal sent at once is not lost. (Elsewhere, and if Unix refuses the handlers, tokio's
/// Ctrl-C handler is registered when that task first runs.)
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let signal = signals();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutdown signal received");
        cancel.cancel();
    });
    token
}

/// Phase 1 → 2: cancels `shutdown` `grace` after `stopping` fires (or returns if `shutdown`
/// fires first).
pub async fn end_streams_after(
    stopping: CancellationToken,
    grace: Duration,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = stopping.cancelled() => {
            tracing::info!(?grace, "not ready; streams end after the grace time");
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = shutdown.cancelled() => {}
            }
            shutdown.cancel();
        }
        () = shutdown.cancelled() => {}
    }
}

/// Phase 3: resolves `drain` after `shutdown` fires.
pub async fn drained(shutdown: CancellationToken, drain: Duration) {
    shutdown.cancelled().await;
    tokio::time::sleep(drain).await;
}

/// Registers for SIGINT and SIGTERM now (in the caller, not in a task that may first run
/// later) and returns a future that resolves on the first of them.
#[cfg(unix)]
fn signals() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let registered = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        match registered {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            // Without signal handlers the process would ignore Ctrl-C: fall back to tokio's.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
fn signals() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streams end exactly `grace` after the signal, not before.
    #[tokio::test(start_paused = true)]
    async fn streams_end_after_the_grace_time() {
        let (stopping, shutdown) = (CancellationToken::new(), CancellationToken::new());
        let task = tokio::spawn(end_streams_after(
            stopping.clone(),
            Duration::from_secs(2),
            shutdown.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!shutdown.is_cancelled(), "nothing before the signal");
        stopping.cancel();
        tokio::time::sleep(Duration::from_millis(1_999)).await;
        assert!(!shutdown.is_cancelled(), "still in the grace time");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(shutdown.is_cancelled());
        task.await.unwrap();
    }
}
