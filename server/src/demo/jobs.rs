//! A long job that reports progress: `progress` events from 0 to 100, then `complete`, on the
//! starting user's channel `users/{user}/jobs/{job}`.
//!
//! Bounded per user: at most `MAX_JOBS_PER_USER` run at once (429 beyond), counted across all
//! instances when they share Redis. A job's id is signed for its user with the session key
//! (`j{n}-{tag}`), so every instance can tell a real job from a made-up one without asking the
//! one that runs it: any other job channel is a 404, and a client cannot make the hub create
//! channels by naming jobs that do not exist.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
    time::Duration,
};

pub use app::demo::events::JobStarted;
use app::demo::events::{JobComplete, Progress, channels};
use axum_extra::extract::cookie::Key;
use tokio_util::sync::CancellationToken;

use crate::{auth, cluster::Shared};
use leptos_live::hub::{Access, BackendError, Hub, HubError, registry::Authorize};

/// Progress steps per job (0, 5, …, 100).
const STEP: u8 = 5;
/// How long past its planned end a job still counts as running in Redis if its instance died
/// without saying it ended.
const OVERRUN: Duration = Duration::from_secs(30);

/// Takes a running slot. KEYS: the user's running set. ARGV: now ms, deadline ms, job, limit.
static RESERVE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
",
    )
});

/// Why a job did not start.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The user already runs as many jobs as allowed (429).
    #[error("{limit} jobs are already running, the most allowed; wait for one to finish")]
    TooMany { limit: usize },
    /// Its first event could not be published, or Redis did not answer (503).
    #[error(transparent)]
    Hub(HubError),
}

impl From<::redis::RedisError> for JobError {
    fn from(err: ::redis::RedisError) -> Self {
        Self::Hub(HubError::Backend(BackendError(format!(
            "redis jobs: {err}"
        ))))
    }
}

/// The jobs of every user.
pub struct Jobs {
    per_user: usize,
    /// Signs job ids.
    key: Key,
    /// Where ids and running counts live when instances share Redis.
    store: Option<Shared>,
    local: Mutex<Local>,
}

/// Ids and running counts of a process on its own.
#[derive(Default)]
struct Local {
    last_id: u64,
    running: HashMap<String, usize>,
}

impl Jobs {
    /// Jobs with at most `per_user` running per user, ids signed with `key`, counted in
    /// `store` when given.
    pub fn new(per_user: usize, key: Key, store: Option<Shared>) -> Self {
        Self {
            per_user,
            key,
            store,
            local: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Local> {
        // Every update is a whole counter operation: still consistent after a panic.
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of `user`'s job number `n`.
    fn job_id(&self, user: &str, n: u64) -> String {
        format!("j{n}-{}", auth::sign(&self.key, &format!("job:{user}:{n}")))
    }

    /// Whether `job` is an id this deployment issued to `user`.
    pub fn issued(&self, user: &str, job: &str) -> bool {
        let Some((n, tag)) = job.strip_prefix('j').and_then(|rest| rest.split_once('-')) else {
            return false;
        };
        n.parse::<u64>().is_ok() && auth::verify(&self.key, &format!("job:{user}:{n}"), tag)
    }

    /// Authorization for the job channel pattern: the owner, and only for a job issued to them.
    pub fn authorize(self: &Arc<Self>) -> Authorize {
        let jobs = self.clone();
        Arc::new(
            move |user, params| match (user, params.get("id"), params.get("job")) {
                (None, _, _) => Access::SignInRequired,
                (Some(user), Some(owner), _) if user != owner => Access::Forbidden,
                (Some(user), _, Some(job)) if jobs.issued(user, job) => Access::Allow,
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
        let (job, running) = self.reserve(user, step).await?;
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
                let progress = Progress {
                    job: job.clone(),
                    percent,
                };
                if !publish_in_time(&hub, &channel, &progress, step, &shutdown).await {
                    return;
                }
            }
            publish_in_time(&hub, &channel, &JobComplete { job }, step, &shutdown).await;
        });
        Ok(started)
    }

    /// A new job id for `user`, counted as running while the returned guard lives.
    async fn reserve(
        self: &Arc<Self>,
        user: &str,
        step: Duration,
    ) -> Result<(String, Running), JobError> {
        let too_many = JobError::TooMany {
            limit: self.per_user,
        };
        let Some(store) = &self.store else {
            let mut local = self.lock();
            let running = local.running.entry(user.to_string()).or_default();
            if *running >= self.per_user {
                return Err(too_many);
            }
            *running += 1;
            local.last_id += 1;
            let job = self.job_id(user, local.last_id);
            return Ok((job, Running::local(self, user)));
        };
        let mut con = store.con();
        let n: u64 = ::redis::cmd("INCR")
            .arg(store.key("jobs:last-id"))
            .query_async(&mut con)
            .await?;
        let job = self.job_id(user, n);
        let now = crate::clock::now_ms();
        let planned = step * (100 / u32::from(STEP) + 1) + OVERRUN;
        let running_key = store.key(&format!("jobs:running:{user}"));
        let reserved: i64 = RESERVE
            .key(&running_key)
            .arg(now)
            .arg(now + planned.as_millis() as u64)
            .arg(&job)
            .arg(self.per_user)
            .invoke_async(&mut con)
            .await?;
        if reserved == 0 {
            return Err(too_many);
        }
        let running = Running::Shared {
            store: store.clone(),
            key: running_key,
            job: job.clone(),
        };
        Ok((job, running))
    }
}

/// Publishes `event`, retrying every `step` while the hub refuses (its Redis away), until
/// shutdown; waits `step` first. `false` once shutdown fired.
async fn publish_in_time<E: leptos_live::LiveEvent>(
    hub: &Hub,
    channel: &str,
    event: &E,
    step: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let mut logged = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(step) => {}
        }
        match hub.publish(channel, event).await {
            Ok(_) => return true,
            Err(err) if !logged => {
                tracing::warn!(error = %err, %channel, "job waits for the hub");
                logged = true;
            }
            Err(_) => {}
        }
    }
}

/// One running job; un-counts it on drop.
enum Running {
    Local {
        jobs: Arc<Jobs>,
        user: String,
    },
    Shared {
        store: Shared,
        key: String,
        job: String,
    },
}

impl Running {
    fn local(jobs: &Arc<Jobs>, user: &str) -> Self {
        Self::Local {
            jobs: jobs.clone(),
            user: user.to_string(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        match self {
            Self::Local { jobs, user } => {
                let mut local = jobs.lock();
                if let Some(running) = local.running.get_mut(user.as_str()) {
                    *running -= 1;
                    if *running == 0 {
                        local.running.remove(user.as_str());
                    }
                }
            }
            Self::Shared { store, key, job } => {
                let (mut con, key, job) = (store.con(), std::mem::take(key), std::mem::take(job));
                // If this fails, or the runtime is already gone, the entry's deadline frees the
                // slot.
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                runtime.spawn(async move {
                    let _: Result<i64, _> = ::redis::cmd("ZREM")
                        .arg(key)
                        .arg(job)
                        .query_async(&mut con)
                        .await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_live::hub::{Limits, memory::Memory};

    fn jobs(per_user: usize) -> Arc<Jobs> {
        Arc::new(Jobs::new(per_user, Key::generate(), None))
    }

    /// The app's and the demo's channels, with `jobs` deciding who may follow a job.
    fn registry(jobs: &Arc<Jobs>) -> leptos_live::hub::Registry {
        let mut registry = crate::feeds::registry(Duration::from_secs(15));
        crate::demo::register(
            &mut registry,
            Duration::from_secs(15),
            Duration::from_millis(500),
            jobs,
        );
        registry
    }

    fn hub(jobs: &Arc<Jobs>) -> Arc<Hub> {
        Arc::new(Hub::new(
            registry(jobs),
            Arc::new(Memory::new()),
            Limits::default(),
        ))
    }

    /// At most `per_user` jobs run at once per user; a finished one frees its slot.
    #[tokio::test(start_paused = true)]
    async fn running_jobs_per_user_are_capped() {
        let jobs = jobs(2);
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

    /// Only the owner's jobs authorize; a made-up job is "not found", another user's
    /// "forbidden".
    #[tokio::test(start_paused = true)]
    async fn only_existing_jobs_of_the_owner() {
        let jobs = jobs(1);
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
            let resolved = registry(&jobs).resolve(channel).unwrap();
            authorize(user, &resolved.params)
        };
        assert_eq!(ask(Some("alice"), &first.channel), Access::Allow);
        assert_eq!(ask(Some("bob"), &first.channel), Access::Forbidden);
        assert_eq!(ask(None, &first.channel), Access::SignInRequired);
        assert_eq!(
            ask(Some("alice"), "users/alice/jobs/j999"),
            Access::NotFound
        );
        // Another user's id, or one altered by a character, is no job of alice's.
        let (_, job) = first.channel.rsplit_once('/').unwrap();
        assert_eq!(
            ask(Some("bob"), &format!("users/bob/jobs/{job}")),
            Access::NotFound
        );
        let mut altered = job.to_string();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            ask(Some("alice"), &format!("users/alice/jobs/{altered}")),
            Access::NotFound
        );
        // A finished job stays subscribable (its channel goes when idle, like any other).
        cancel.cancel();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(ask(Some("alice"), &first.channel), Access::Allow);
    }
}
