//! Sessions: who a request is. Signing in makes a session (a random id, its user, an idle and
//! an absolute expiry) kept where the hub keeps its state: in this process, or in Redis for
//! every instance. The browser holds only the id, in a signed, HttpOnly cookie. Signing out
//! deletes the record, so a copy of the cookie stops working on every instance; signing in
//! again always makes a new id (a cookie planted before sign-in is worth nothing after it). A
//! session unused for `SESSION_IDLE_SECS`, or older than `SESSION_MAX_SECS`, is gone.
//!
//! A request's session is looked up once, when something first asks ([`Sessions::resolve`]:
//! the `CurrentUser` extractor, the write budget, the pages), and kept in its extensions.
//! Static files never ask, so they cost no lookup.

use std::{
    collections::HashMap,
    path::Path,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use ::redis::Script;
use axum::{
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::IntoResponse,
};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use tokio::time::Instant;

use crate::cluster::Shared;

const COOKIE: &str = "session";

/// A signed-in request: its session's id and user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user: String,
}

/// Why a session could not be read or written: the caller answers 503 (the store is away) or
/// 500, never "signed out".
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session store: {0}")]
    Store(#[from] ::redis::RedisError),
    #[error("the session cookie could not be made")]
    Cookie,
}

/// What a request's extensions keep once its session was looked up.
#[derive(Clone)]
struct Resolved(Option<Session>);

/// How long sessions live and how many this process keeps.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// Unused this long, a session ends (`SESSION_IDLE_SECS`).
    pub idle: Duration,
    /// Used or not, a session ends this long after sign-in (`SESSION_MAX_SECS`).
    pub lifetime: Duration,
    /// Sessions kept in this process (not in Redis, where each expires on its own): past it,
    /// the ones unused longest are dropped first (`MAX_SESSIONS`).
    pub kept: usize,
}

/// The deployment's sessions.
pub struct Sessions {
    store: Store,
    limits: SessionLimits,
    key: Key,
    secure: bool,
}

enum Store {
    Memory(Mutex<HashMap<String, Record>>),
    Redis(Shared),
}

struct Record {
    user: String,
    created: Instant,
    seen: Instant,
}

/// Makes a session. KEYS: the session. ARGV: user, idle ms, lifetime ms. The deadline is on
/// Redis's clock, so instances with skewed clocks agree on it.
static OPEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle, lifetime = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'until', now + lifetime)
redis.call('PEXPIRE', KEYS[1], math.min(idle, lifetime))
return 1
",
    )
});

/// Finds a session and keeps it from going idle. KEYS: the session. ARGV: idle ms. Returns
/// its user, or nothing when there is no such session (any more).
static FIND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('HMGET', KEYS[1], 'user', 'until')
if not held[1] then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = tonumber(held[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left))
return held[1]
",
    )
});

impl Sessions {
    /// Sessions in this process, or in Redis when `shared` (every instance then sees the same
    /// ones). Cookies are signed with `key` and marked `Secure` when `secure`.
    pub fn new(limits: SessionLimits, shared: Option<Shared>, key: Key, secure: bool) -> Self {
        let store = match shared {
            Some(shared) => Store::Redis(shared),
            None => Store::Memory(Mutex::new(HashMap::new())),
        };
        Self {
            store,
            limits,
            key,
            secure,
        }
    }

    /// The session of the request, looked up the first time and kept in its extensions.
    pub async fn resolve(&self, parts: &mut Parts) -> Result<Option<Session>, SessionError> {
        if let Some(Resolved(session)) = parts.extensions.get::<Resolved>() {
            return Ok(session.clone());
        }
        let session = match self.id_in(&parts.headers) {
            Some(id) => self.find(&id).await?.map(|user| Session { id, user }),
            None => None,
        };
        parts.extensions.insert(Resolved(session.clone()));
        Ok(session)
    }

    /// What [`Sessions::resolve`] found for the request, if it was asked (pages: the
    /// middleware in front of them asks).
    pub fn resolved(parts: &Parts) -> Option<&Session> {
        parts.extensions.get::<Resolved>()?.0.as_ref()
    }

    /// Signs `user` in: a new session (and `replacing`, the request's old one, ends). Returns
    /// the `Set-Cookie` value that carries it.
    pub async fn open(
        &self,
        user: &str,
        replacing: Option<&Session>,
    ) -> Result<HeaderValue, SessionError> {
        if let Some(old) = replacing {
            self.end(&old.id).await?;
        }
        let id = new_id();
        let SessionLimits { idle, lifetime, .. } = self.limits;
        match &self.store {
            Store::Memory(records) => {
                let now = Instant::now();
                let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
                self.make_room(&mut records, now);
                let record = Record {
                    user: user.to_string(),
                    created: now,
                    seen: now,
                };
                records.insert(id.clone(), record);
            }
            Store::Redis(shared) => {
                OPEN.key(shared.key(&format!("session:{id}")))
                    .arg(user)
                    .arg(millis(idle))
                    .arg(millis(lifetime))
                    .invoke_async::<()>(&mut shared.con())
                    .await?;
            }
        }
        self.cookie(&id)
    }

    /// Signs a session out, on every instance. Returns the `Set-Cookie` value that clears the
    /// browser's copy.
    pub async fn close(&self, session: Option<&Session>) -> Result<HeaderValue, SessionError> {
        if let Some(session) = session {
            self.end(&session.id).await?;
        }
        let mut removal = Cookie::build((COOKIE, "")).path("/").build();
        removal.make_removal();
        HeaderValue::from_str(&removal.to_string()).map_err(|_| SessionError::Cookie)
    }

    async fn end(&self, id: &str) -> Result<(), SessionError> {
        match &self.store {
            Store::Memory(records) => {
                records.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
            }
            Store::Redis(shared) => {
                ::redis::cmd("DEL")
                    .arg(shared.key(&format!("session:{id}")))
                    .exec_async(&mut shared.con())
                    .await?;
            }
        }
        Ok(())
    }

    /// The user of session `id`, if it is still there; using it keeps it from going idle.
    async fn find(&self, id: &str) -> Result<Option<String>, SessionError> {
        let SessionLimits { idle, lifetime, .. } = self.limits;
        match &self.store {
            Store::Memory(records) => {
                let now = Instant::now();
                let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
                let Some(record) = records.get_mut(id) else {
                    return Ok(None);
                };
                if now >= record.created + lifetime || now >= record.seen + idle {
                    records.remove(id);
                    return Ok(None);
                }
                record.seen = now;
                Ok(Some(record.user.clone()))
            }
            Store::Redis(shared) => Ok(FIND
                .key(shared.key(&format!("session:{id}")))
                .arg(millis(idle))
                .invoke_async(&mut shared.con())
                .await?),
        }
    }

    /// Before one more session goes in: at the cap, the expired ones go, then (if that was not
    /// enough) the tenth unused longest, so signing in stays cheap however full it is.
    fn make_room(&self, records: &mut HashMap<String, Record>, now: Instant) {
        let SessionLimits {
            idle,
            lifetime,
            kept,
        } = self.limits;
        if records.len() < kept {
            return;
        }
        records.retain(|_, r| now < r.created + lifetime && now < r.seen + idle);
        if records.len() < kept {
            return;
        }
        let mut by_use: Vec<(Instant, String)> =
            records.iter().map(|(id, r)| (r.seen, id.clone())).collect();
        let cut = (kept / 10).max(1).min(by_use.len());
        by_use.select_nth_unstable(cut - 1);
        for (_, id) in &by_use[..cut] {
            records.remove(id);
        }
    }

    /// The session id the request's cookie carries, if its signature holds.
    fn id_in(&self, headers: &HeaderMap) -> Option<String> {
        let jar = SignedCookieJar::<Key>::from_headers(headers, self.key.clone());
        jar.get(COOKIE).map(|c| c.value().to_string())
    }

    /// The `Set-Cookie` value for session `id`: signed, HttpOnly, SameSite=Lax, for the
    /// session's lifetime.
    fn cookie(&self, id: &str) -> Result<HeaderValue, SessionError> {
        let max_age = i64::try_from(self.limits.lifetime.as_secs()).unwrap_or(i64::MAX);
        let cookie = Cookie::build((COOKIE, id.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        // The jar signs it; its response is the one place the signed value comes out.
        let response = SignedCookieJar::<Key>::new(self.key.clone())
            .add(cookie)
            .into_response();
        response
            .headers()
            .get(header::SET_COOKIE)
            .cloned()
            .ok_or(SessionError::Cookie)
    }

    /// Writes this process's sessions to `path` (for `SESSIONS_FILE`: a single process that
    /// restarts keeps everyone signed in), readable by its owner only, since it holds session
    /// ids. With Redis there is nothing to write. Returns how many were written.
    pub fn save(&self, path: &Path) -> std::io::Result<usize> {
        use std::io::Write;
        let Store::Memory(records) = &self.store else {
            return Ok(0);
        };
        let (now, unix) = (Instant::now(), unix_ms());
        let mut text = String::new();
        let records = records.lock().unwrap_or_else(|p| p.into_inner());
        for (id, record) in records.iter() {
            let at = |t: Instant| unix.saturating_sub(millis(now.duration_since(t)));
            let user = &record.user;
            text.push_str(&format!(
                "{id} {} {} {user}\n",
                at(record.created),
                at(record.seen)
            ));
        }
        let count = records.len();
        drop(records);
        // Written beside it, then renamed over it: a crash mid-write leaves the old file.
        let partial = path.with_extension("partial");
        let mut file = open_private(&partial)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)?;
        Ok(count)
    }

    /// Reads what [`Sessions::save`] wrote, leaving out sessions that ended meanwhile (the
    /// time the process was down counts as unused) and lines it cannot read. A missing file
    /// is no sessions. Returns how many were kept.
    pub fn load(&self, path: &Path) -> std::io::Result<usize> {
        let Store::Memory(records) = &self.store else {
            return Ok(0);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(err),
        };
        let (now, unix) = (Instant::now(), unix_ms());
        let SessionLimits { idle, lifetime, .. } = self.limits;
        let ago = |ms: &str| -> Option<Instant> {
            let ms: u64 = ms.parse().ok()?;
            now.checked_sub(Duration::from_millis(unix.checked_sub(ms)?))
        };
        let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
        for line in text.lines() {
            let mut fields = line.splitn(4, ' ');
            let (Some(id), Some(created), Some(seen), Some(user)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Some(created), Some(seen)) = (ago(created), ago(seen)) else {
                continue;
            };
            if records.len() >= self.limits.kept
                || now >= created + lifetime
                || now >= seen + idle
                || user.is_empty()
            {
                continue;
            }
            let user = user.to_string();
            records.insert(
                id.to_string(),
                Record {
                    user,
                    created,
                    seen,
                },
            );
        }
        Ok(records.len())
    }

    /// Sessions held in this process (0 with Redis).
    pub fn held(&self) -> usize {
        match &self.store {
            Store::Memory(records) => records.lock().unwrap_or_else(|p| p.into_inner()).len(),
            Store::Redis(_) => 0,
        }
    }
}

/// A new file only its owner can read and write.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Wall-clock milliseconds: what outlives the process in [`Sessions::save`]'s file.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// 128 random bits (the thread's CSPRNG, seeded by the OS), as hex: not guessable.
fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle: u64, lifetime: u64, kept: usize) -> Sessions {
        let limits = SessionLimits {
            idle: Duration::from_secs(idle),
            lifetime: Duration::from_secs(lifetime),
            kept,
        };
        Sessions::new(limits, None, Key::generate(), false)
    }

    /// The request whose only header is the `Cookie` that `set_cookie` sets.
    fn request_with(set_cookie: &HeaderValue) -> Parts {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let request = axum::http::Request::builder()
            .header(header::COOKIE, pair)
            .body(())
            .unwrap();
        request.into_parts().0
    }

    async fn user_of(sessions: &Sessions, set_cookie: &HeaderValue) -> Option<String> {
        let mut parts = request_with(set_cookie);
        sessions.resolve(&mut parts).await.unwrap().map(|s| s.user)
    }

    /// Used, a session lives until its lifetime; unused for its idle time, it ends sooner.
    #[tokio::test(start_paused = true)]
    async fn a_session_ends_when_idle_or_at_its_lifetime() {
        let sessions = sessions(60, 300, 10);
        let kept_busy = sessions.open("alice", None).await.unwrap();
        let left_alone = sessions.open("bob", None).await.unwrap();
        for _ in 0..4 {
            tokio::time::advance(Duration::from_secs(50)).await;
            assert_eq!(
                user_of(&sessions, &kept_busy).await.as_deref(),
                Some("alice")
            );
        }
        assert_eq!(
            user_of(&sessions, &left_alone).await,
            None,
            "idle for 200 s"
        );
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(
            user_of(&sessions, &kept_busy).await.as_deref(),
            Some("alice")
        );
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(
            user_of(&sessions, &kept_busy).await,
            None,
            "300 s after sign-in"
        );
        assert_eq!(sessions.held(), 0, "ended sessions are forgotten");
    }

    /// Signing out ends the session for every copy of its cookie; signing in again makes a new
    /// one and ends the old.
    #[tokio::test]
    async fn sign_out_and_sign_in_end_the_old_session() {
        let sessions = sessions(60, 300, 10);
        let first = sessions.open("alice", None).await.unwrap();
        let mut parts = request_with(&first);
        let session = sessions.resolve(&mut parts).await.unwrap();
        let second = sessions.open("bob", session.as_ref()).await.unwrap();
        assert_ne!(first, second);
        assert_eq!(user_of(&sessions, &first).await, None);
        assert_eq!(user_of(&sessions, &second).await.as_deref(), Some("bob"));
        let mut parts = request_with(&second);
        let session = sessions.resolve(&mut parts).await.unwrap();
        let removal = sessions.close(session.as_ref()).await.unwrap();
        assert!(
            removal.to_str().unwrap().contains("Max-Age=0"),
            "{removal:?}"
        );
        assert_eq!(user_of(&sessions, &second).await, None);
    }

    /// A cookie signed with another key, or altered, names no session.
    #[tokio::test]
    async fn only_this_deployments_cookies_count() {
        let ours = sessions(60, 300, 10);
        let theirs = sessions(60, 300, 10);
        let cookie = theirs.open("alice", None).await.unwrap();
        assert_eq!(user_of(&ours, &cookie).await, None);
        let mine = ours.open("alice", None).await.unwrap();
        let text = mine.to_str().unwrap();
        let altered = text.replacen("session=", "session=0", 1);
        assert_eq!(
            user_of(&ours, &HeaderValue::from_str(&altered).unwrap()).await,
            None
        );
    }

    /// At the cap, signing in makes room by ending the sessions unused longest, never more
    /// than the cap being held.
    #[tokio::test(start_paused = true)]
    async fn the_sessions_held_are_capped_and_the_oldest_unused_go_first() {
        let sessions = sessions(3_600, 7_200, 20);
        let mut cookies = Vec::new();
        for _ in 0..20 {
            cookies.push(sessions.open("alice", None).await.unwrap());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // The first one is used again: now it is the newest.
        assert!(user_of(&sessions, &cookies[0]).await.is_some());
        sessions.open("bob", None).await.unwrap();
        assert!(sessions.held() <= 20, "held {}", sessions.held());
        assert!(
            user_of(&sessions, &cookies[0]).await.is_some(),
            "recently used"
        );
        assert_eq!(
            user_of(&sessions, &cookies[1]).await,
            None,
            "unused longest"
        );
        assert!(user_of(&sessions, &cookies[19]).await.is_some());
        for _ in 0..100 {
            sessions.open("carol", None).await.unwrap();
        }
        assert!(sessions.held() <= 20, "held {}", sessions.held());
    }

    /// Saved and loaded again (a restart with `SESSIONS_FILE`), sessions still sign their users
    /// in, ended ones stay ended, and the file is its owner's alone.
    #[tokio::test]
    async fn sessions_saved_to_a_file_survive_a_restart() {
        let path = std::env::temp_dir().join(format!("sessions-test-{}", std::process::id()));
        let before = sessions(60, 300, 10);
        let alice = before.open("alice", None).await.unwrap();
        let bob = before.open("bob", None).await.unwrap();
        let mut parts = request_with(&bob);
        let session = before.resolve(&mut parts).await.unwrap();
        before.close(session.as_ref()).await.unwrap();
        assert_eq!(before.save(&path).unwrap(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The same key, as a deployment with SESSION_KEY has after a restart.
        let after = Sessions::new(before.limits, None, before.key.clone(), false);
        assert_eq!(after.load(&path).unwrap(), 1);
        assert_eq!(user_of(&after, &alice).await.as_deref(), Some("alice"));
        assert_eq!(user_of(&after, &bob).await, None);
        // Down for longer than the idle time: nothing comes back.
        let contents = std::fs::read_to_string(&path).unwrap();
        let old: String = contents
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.splitn(4, ' ').collect();
                let back = |ms: &str| ms.parse::<u64>().unwrap() - 120_000;
                format!("{} {} {} {}\n", f[0], back(f[1]), back(f[2]), f[3])
            })
            .collect();
        std::fs::write(&path, old + "a line that is not a session\n").unwrap();
        let later = Sessions::new(before.limits, None, before.key.clone(), false);
        assert_eq!(later.load(&path).unwrap(), 0);
        assert_eq!(later.load(&path.with_extension("missing")).unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }

    /// The cookie is HttpOnly, SameSite=Lax, for the whole path, and lasts the lifetime.
    #[tokio::test]
    async fn the_cookie_is_http_only_and_lasts_the_lifetime() {
        let cookie = sessions(60, 300, 10).open("alice", None).await.unwrap();
        let text = cookie.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=300"] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        assert!(
            !text.contains("alice"),
            "the cookie holds no user name: {text}"
        );
    }
}
