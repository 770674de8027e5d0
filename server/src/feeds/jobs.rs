//! A long job that reports progress: `progress` events from 0 to 100, then `complete`, on the
//! starting user's channel `users/{user}/jobs/{job}`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub use app::events::JobStarted;
use app::events::{JobComplete, Progress, channels};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Progress steps per job (0, 5, …, 100).
const STEP: u8 = 5;

#[derive(Default)]
pub struct Jobs {
    last_id: AtomicU64,
}

impl Jobs {
    /// Starts a job for `user` that advances every `step` until done or shutdown.
    pub fn start(
        &self,
        hub: Arc<Hub>,
        user: &str,
        step: Duration,
        shutdown: CancellationToken,
    ) -> JobStarted {
        let job = format!("j{}", self.last_id.fetch_add(1, Ordering::Relaxed) + 1);
        let channel = channels::job(user, &job);
        // The channel is new, so position 0 replays it from the start.
        let cursor = format!("{}:{channel}=0", hub.epoch());
        let started = JobStarted {
            job: job.clone(),
            channel: channel.clone(),
            cursor,
        };
        tokio::spawn(async move {
            for percent in (0..=100).step_by(STEP.into()) {
                let progress = Progress {
                    job: job.clone(),
                    percent,
                };
                if let Err(err) = hub.publish(&channel, &progress).await {
                    tracing::error!(error = %err, %channel, "job stopped");
                    return;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(step) => {}
                }
            }
            if let Err(err) = hub.publish(&channel, &JobComplete { job }).await {
                tracing::error!(error = %err, %channel, "job could not complete");
            }
        });
        started
    }
}
