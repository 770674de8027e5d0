//! A long job that reports progress: `progress` events from 0 to 100, then `complete`, on the
//! starting user's channel `users/{user}/jobs/{job}`.
//!
//! Bounded per user: at most `MAX_JOBS_PER_USER` run at once (429 beyond), and only the user's
//! newest [`KEPT_PER_USER`] jobs (or `MAX_JOBS_PER_USER`, if more) can be subscribed to; any other job channel is a 404, so a
//! client cannot make the hub create channels by naming jobs that do not exist.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

pub use app::events::JobStarted;
use app::events::{JobComplete, Progress, channels};
use tokio_util::sync::CancellationToken;

use crate::hub::{Access, Hub, HubError, registry::Authorize};

/// Progress steps per job (0, 5, …, 100).
const STEP: u8 = 5;
/// Jobs per user that can still be subscribed to (running or finished).
pub const KEPT_PER_USER: usize = 16;

/// Why a job did not start.
#[derive(Debug)]
pub enum JobError {
    /// The user already runs as many jobs as allowed (429).
    TooMany { limit: usize },
    /// Its first event could not be published (503).
    Hub(HubError),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooMany { limit } => write!(
                f,
                "{limit} jobs are already running, the most allowed; wait for one to finish"
            ),
            Self::Hub(err) => write!(f, "{err}"),
        }
    }
}

/// The jobs of every user.
pub struct Jobs {
    per_user: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    users: HashMap<String, UserJobs>,
}

#[derive(Default)]
struct UserJobs {
    running: usize,
    /// The newest jobs, oldest first.
    kept: VecDeque<String>,
}

impl Jobs {
    /// Jobs with at most `per_user` running per user.
    pub fn new(per_user: usize) -> Self {
        Self {
            per_user,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a whole counter or list operation: still consistent after a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `user` has a job `job` (running or among the newest finished).
    pub fn exists(&self, user: &str, job: &str) -> bool {
        self.lock()
            .users
            .get(user)
            .is_some_and(|jobs| jobs.kept.iter().any(|j| j == job))
    }

    /// Authorization for the job channel pattern: the owner, and only for a job that exists.
    pub fn authorize(self: &Arc<Self>) -> Authorize {
        let jobs = self.clone();
        Arc::new(
            move |user, params| match (user, params.get("id"), params.get("job")) {
                (None, _, _) => Access::SignInRequired,
                (Some(user), Some(owner), _) if user != owner => Access::Forbidden,
                (Some(user), _, Some(job)) if jobs.exists(user, job) => Access::Allow,
                _ => Access::NotFound,
            },
        )
    }

    /// Starts a job for `user` that advances every `step` until done or shutdown. Its first
    /// event is published before this returns, and the returned cursor stands just before it,
    /// so a client subscribing with it sees the job from 0 %.
    pub async fn start(
        self: &Arc<Self>,
        hub: Arc<Hub>,
        user: &str,
        step: Duration,
        shutdown: CancellationToken,
    ) -> Result<JobStarted, JobError> {
        let (job, running) = self.reserve(user)?;
        let channel = channels::job(user, &job);
        let first = Progress {
            job: job.clone(),
            percent: 0,
        };
        let id = hub.publish(&channel, &first).await.map_err(JobError::Hub)?;
        let started = JobStarted {
            job: job.clone(),
            cursor: format!("{}:{channel}={}", hub.epoch(), id - 1),
            channel: channel.clone(),
        };
        tokio::spawn(async move {
            // Counted as running until this task ends, however it ends.
            let _running = running;
            for percent in (STEP..=100).step_by(STEP.into()) {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(step) => {}
                }
                let progress = Progress {
                    job: job.clone(),
                    percent,
                };
                if let Err(err) = hub.publish(&channel, &progress).await {
                    tracing::error!(error = %err, %channel, "job stopped");
                    return;
                }
            }
            if let Err(err) = hub.publish(&channel, &JobComplete { job }).await {
                tracing::error!(error = %err, %channel, "job could not complete");
            }
        });
        Ok(started)
    }

    /// A new job id for `user`, counted as running while the returned guard lives.
    fn reserve(self: &Arc<Self>, user: &str) -> Result<(String, Running), JobError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let jobs = state.users.entry(user.to_string()).or_default();
        if jobs.running >= self.per_user {
            return Err(JobError::TooMany {
                limit: self.per_user,
            });
        }
        state.last_id += 1;
        let job = format!("j{}", state.last_id);
        jobs.running += 1;
        jobs.kept.push_back(job.clone());
        // Never fewer than may run at once: a running job stays subscribable.
        if jobs.kept.len() > KEPT_PER_USER.max(self.per_user) {
            jobs.kept.pop_front();
        }
        let running = Running {
            jobs: self.clone(),
            user: user.to_string(),
        };
        Ok((job, running))
    }
}

/// One running job of `user`; un-counts it on drop.
struct Running {
    jobs: Arc<Jobs>,
    user: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut state = self.jobs.lock();
        if let Some(jobs) = state.users.get_mut(&self.user) {
            jobs.running -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Limits, memory::Memory};

    fn hub(jobs: &Arc<Jobs>) -> Arc<Hub> {
        Arc::new(Hub::new(
            crate::feeds::registry(Duration::from_secs(15), jobs),
            Arc::new(Memory::new()),
            Limits::default(),
        ))
    }

    /// At most `per_user` jobs run at once per user; a finished one frees its slot.
    #[tokio::test(start_paused = true)]
    async fn running_jobs_per_user_are_capped() {
        let jobs = Arc::new(Jobs::new(2));
        let hub = hub(&jobs);
        let step = Duration::from_millis(10);
        let never = CancellationToken::new();
        for _ in 0..2 {
            jobs.start(hub.clone(), "alice", step, never.clone())
                .await
                .unwrap();
        }
        assert!(matches!(
            jobs.start(hub.clone(), "alice", step, never.clone()).await,
            Err(JobError::TooMany { limit: 2 })
        ));
        jobs.start(hub.clone(), "bob", step, never.clone())
            .await
            .unwrap();
        // 20 more steps of 10 ms and both of alice's jobs are done.
        tokio::time::sleep(Duration::from_secs(1)).await;
        jobs.start(hub.clone(), "alice", step, never).await.unwrap();
    }

    /// Only the owner's existing jobs authorize; an unknown job is "not found", another
    /// user's "forbidden", and a job that fell out of the kept list is gone.
    #[tokio::test(start_paused = true)]
    async fn only_existing_jobs_of_the_owner() {
        let jobs = Arc::new(Jobs::new(1));
        let hub = hub(&jobs);
        let cancel = CancellationToken::new();
        let first = jobs
            .start(
                hub.clone(),
                "alice",
                Duration::from_secs(60),
                cancel.clone(),
            )
            .await
            .unwrap();
        let authorize = jobs.authorize();
        let ask = |user, channel: &str| {
            let resolved = crate::feeds::registry(Duration::from_secs(15), &jobs)
                .resolve(channel)
                .unwrap();
            authorize(user, &resolved.params)
        };
        assert_eq!(ask(Some("alice"), &first.channel), Access::Allow);
        assert_eq!(ask(Some("bob"), &first.channel), Access::Forbidden);
        assert_eq!(ask(None, &first.channel), Access::SignInRequired);
        assert_eq!(
            ask(Some("alice"), "users/alice/jobs/j999"),
            Access::NotFound
        );
        // Finished jobs stay subscribable until KEPT_PER_USER newer ones push them out.
        cancel.cancel();
        tokio::time::sleep(Duration::from_millis(10)).await;
        for n in 0..KEPT_PER_USER {
            assert_eq!(
                ask(Some("alice"), &first.channel),
                Access::Allow,
                "after {n}"
            );
            jobs.start(
                hub.clone(),
                "alice",
                Duration::ZERO,
                CancellationToken::new(),
            )
            .await
            .unwrap();
            // Paused time: the job's 20 steps run to the end here.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(ask(Some("alice"), &first.channel), Access::NotFound);
    }
}
