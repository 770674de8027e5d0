//! The demo sign-in: `POST /api/session {"user":"alice"}` opens a session (`crate::sessions`:
//! a server-side record, its id in a signed, HttpOnly cookie); `DELETE /api/session` ends it.
//! Extractors [`CurrentUser`] (maybe signed in) and [`SignedIn`] (401 otherwise) read it back.
//! Tokens never travel in URLs.
//!
//! Also [`connection_token`]: the id a stream's `hello` gives its client, signed for the
//! user, so any instance can check an `X-Connection-Id` without asking the one that holds the
//! stream.
//!
//! Also [`same_origin`]: requests that change state are refused (403) when the browser says
//! they come from another site (`Sec-Fetch-Site`), or, from browsers that do not send that,
//! when their `Origin` names another origin or is `null`.

use axum::{
    Json,
    extract::{FromRef, FromRequestParts, Request, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::Key;
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    error::{ApiError, ApiJson},
    sessions::{Session, SessionError},
};
use leptos_live::hub::ConnectionId;

/// The text a stream's `hello` carries for connection `id` of `user`: `c<id>` for an
/// anonymous stream, `c<id>.<tag>` for a signed-in one, where the tag signs id and user with
/// the session key. A client echoes it as `X-Connection-Id` to be skipped by the events its own
/// requests cause (`publish(…).except(…)`); [`sender_connection`] honours it only for that
/// user, on every instance sharing the key.
pub fn connection_token(key: &Key, id: ConnectionId, user: Option<&str>) -> String {
    match user {
        Some(user) => format!("{id}.{}", connection_tag(key, id, user)),
        None => id.to_string(),
    }
}

/// The connection `token` names, if it was issued to `user`.
pub fn sender_connection(key: &Key, token: &str, user: &str) -> Option<ConnectionId> {
    let (id, tag) = token.split_once('.')?;
    let id: ConnectionId = id.parse().ok()?;
    verify(key, &format!("connection:{id}:{user}"), tag).then_some(id)
}

fn connection_tag(key: &Key, id: ConnectionId, user: &str) -> String {
    sign(key, &format!("connection:{id}:{user}"))
}

/// 64 bits of HMAC-SHA256 of `text` under the session key, in hex: proof that this
/// deployment issued `text` (a connection id, a job id), checkable by any instance.
pub fn sign(key: &Key, text: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.signing())
        .expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    let tag = mac.finalize().into_bytes();
    tag[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `tag` is [`sign`]'s for `text`, compared in constant time (a tag is its holder's
/// secret).
pub fn verify(key: &Key, text: &str, tag: &str) -> bool {
    use subtle::ConstantTimeEq;
    sign(key, text).as_bytes().ct_eq(tag.as_bytes()).into()
}

/// The demo users one can sign in as.
pub const DEMO_USERS: [&str; 3] = ["alice", "bob", "carol"];

/// `user` if one can sign in as them, else the reason.
pub fn demo_user(user: &str) -> Result<&str, String> {
    if DEMO_USERS.contains(&user) {
        Ok(user)
    } else {
        Err(format!(
            "unknown demo user {user:?}; use one of {}",
            DEMO_USERS.join(", ")
        ))
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.session_key.clone()
    }
}

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Store(_) => {
                tracing::warn!(error = %err, "sessions unreadable");
                ApiError::unavailable("sign-in cannot be checked right now; try again")
            }
            SessionError::Cookie => ApiError::internal(&err),
        }
    }
}

/// The request's session, if it has one that is still valid (see `crate::sessions`: looked
/// up once per request). 503 when the sessions cannot be read.
pub struct CurrentSession(pub Option<Session>);

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(state.sessions.resolve(parts).await?))
    }
}

/// The signed-in user, if any. A missing, tampered, ended or expired session is "anonymous".
pub struct CurrentUser(pub Option<String>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentSession(session) = CurrentSession::from_request_parts(parts, state).await?;
        Ok(Self(session.map(|s| s.user)))
    }
}

/// A signed-in user; anonymous requests get 401.
pub struct SignedIn(pub String);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        user.map(Self).ok_or_else(ApiError::unauthorized)
    }
}

/// Body of `POST /api/session`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub user: String,
}

/// Answer of the session endpoints.
#[derive(Serialize)]
pub struct Who {
    pub user: Option<String>,
}

/// `POST /api/session`: signs in as a demo user, in a new session (the request's old one, if
/// any, ends).
pub async fn sign_in(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let user = demo_user(&body.user).map_err(ApiError::unprocessable)?;
    let cookie = state.sessions.open(user, session.as_ref()).await?;
    let who = Who {
        user: Some(body.user.clone()),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(who)).into_response())
}

/// `DELETE /api/session`: signs out: the session ends on every instance, whoever holds a copy
/// of its cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
) -> Result<Response, ApiError> {
    let cookie = state.sessions.close(session.as_ref()).await?;
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// `GET /api/session`: who is signed in.
pub async fn whoami(CurrentUser(user): CurrentUser) -> Json<Who> {
    Json(Who { user })
}

/// Refuses state-changing requests from other sites, as modern frameworks do (Go 1.25's
/// `CrossOriginProtection`, Rails, SvelteKit): together with the `SameSite=Lax` cookie this
/// stops cross-site request forgery.
///
/// 1. `Sec-Fetch-Site` (every current browser sends it): `same-origin` and `none` (typed by the
///    user) pass; `same-site` and `cross-site` pass only from an exact `CORS_ORIGINS` origin.
/// 2. Without it, `Origin`: this site (by the `Host` header; a proxy must pass it on
///    unchanged) or an exact `CORS_ORIGINS` origin passes; any other, and `null` (sandboxed
///    frames, some redirects), is refused.
/// 3. Neither header: not a browser (curl, scripts), which sends no ambient cookies: passes.
///
/// Run for every request by `crate::routes`'s `admit` layer.
pub fn same_origin(state: &AppState, request: &Request) -> Result<(), ApiError> {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !origin_allowed(request.headers(), &state.config.cors_origins) {
        return Err(ApiError::forbidden("cross-origin request refused"));
    }
    Ok(())
}

fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let origin = headers.get(header::ORIGIN).map(|o| o.to_str());
    let allowed_origin = || matches!(origin, Some(Ok(o)) if allowed.iter().any(|a| a == o));
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin" | b"none") => return true,
        Some(b"same-site" | b"cross-site") => return allowed_origin(),
        // An unknown value: a browser, but not one we understand.
        Some(_) => return false,
        None => {}
    }
    let origin = match origin {
        None => return true,
        Some(Err(_)) => return false,
        Some(Ok(origin)) => origin,
    };
    if allowed_origin() {
        return true;
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// A connection token names its connection only for the user it was issued to, under the
    /// key that signed it; anonymous and altered tokens name none.
    #[test]
    fn connection_tokens_belong_to_their_user() {
        let key = Key::generate();
        let id = ConnectionId(1 << 40 | 7);
        let alice = connection_token(&key, id, Some("alice"));
        assert_eq!(sender_connection(&key, &alice, "alice"), Some(id));
        assert_eq!(sender_connection(&key, &alice, "bob"), None);
        assert_eq!(sender_connection(&Key::generate(), &alice, "alice"), None);
        let anonymous = connection_token(&key, id, None);
        assert_eq!(anonymous, id.to_string());
        assert_eq!(sender_connection(&key, &anonymous, "alice"), None);
        let mut altered = alice.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(sender_connection(&key, &altered, "alice"), None);
        // Another connection's id under alice's tag.
        let (_, tag) = alice.split_once('.').unwrap();
        assert_eq!(sender_connection(&key, &format!("c8.{tag}"), "alice"), None);
    }

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    fn fetch(site: &'static str, origin: Option<&'static str>) -> HeaderMap {
        let mut headers = headers(origin, "a.test:3000");
        headers.insert("sec-fetch-site", HeaderValue::from_static(site));
        headers
    }

    /// `Sec-Fetch-Site` decides when present, whatever `Origin` says; CORS origins still pass.
    #[test]
    fn fetch_metadata_rules() {
        let none: &[String] = &[];
        assert!(origin_allowed(&fetch("same-origin", None), none));
        assert!(origin_allowed(&fetch("none", None), none));
        assert!(!origin_allowed(&fetch("cross-site", None), none));
        assert!(!origin_allowed(&fetch("same-site", None), none));
        assert!(
            !origin_allowed(&fetch("cross-site", Some("http://a.test:3000")), none),
            "a forged-looking Origin does not override the browser's own verdict"
        );
        assert!(!origin_allowed(&fetch("bogus", None), none));
        let allowed = ["http://app.test".to_string()];
        assert!(origin_allowed(
            &fetch("cross-site", Some("http://app.test")),
            &allowed
        ));
        assert!(!origin_allowed(
            &fetch("cross-site", Some("http://evil.test")),
            &allowed
        ));
    }

    /// Own origin and no origin pass; other sites and `null` do not, unless allowed exactly.
    #[test]
    fn origin_rules() {
        let none: &[String] = &[];
        assert!(origin_allowed(&headers(None, "a.test:3000"), none));
        assert!(origin_allowed(
            &headers(Some("http://a.test:3000"), "a.test:3000"),
            none
        ));
        assert!(origin_allowed(
            &headers(Some("https://A.test:3000"), "a.test:3000"),
            none
        ));
        assert!(!origin_allowed(
            &headers(Some("http://evil.test"), "a.test:3000"),
            none
        ));
        assert!(!origin_allowed(
            &headers(Some("http://a.test:3001"), "a.test:3000"),
            none
        ));
        assert!(!origin_allowed(&headers(Some("null"), "a.test:3000"), none));
        let allowed = ["http://app.test".to_string()];
        assert!(origin_allowed(
            &headers(Some("http://app.test"), "a.test"),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(Some("http://app.test.evil"), "a.test"),
            &allowed
        ));
    }
}
