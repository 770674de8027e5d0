//! The demo session: `POST /api/session {"user":"alice"}` sets a signed, HttpOnly cookie with
//! the user's name; `DELETE /api/session` clears it. Extractors [`CurrentUser`] (maybe signed
//! in) and [`SignedIn`] (401 otherwise) read it back. Tokens never travel in URLs.
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
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    error::{ApiError, ApiJson},
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

const SESSION_COOKIE: &str = "session";

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.session_key.clone()
    }
}

/// The signed-in user, if any. A missing, tampered or unknown cookie is "anonymous".
pub struct CurrentUser(pub Option<String>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(user_from_headers(&parts.headers, &state.session_key)))
    }
}

/// The demo user named by a validly signed session cookie in `headers`.
pub fn user_from_headers(headers: &HeaderMap, key: &Key) -> Option<String> {
    let jar = SignedCookieJar::<Key>::from_headers(headers, key.clone());
    jar.get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_string())
        .filter(|user| DEMO_USERS.contains(&user.as_str()))
}

/// `Set-Cookie` values that sign `user` in (a signed, HttpOnly, SameSite=Lax cookie), or out
/// for `None`. Unknown users are refused with a reason.
pub fn session_cookies(state: &AppState, user: Option<&str>) -> Result<Vec<HeaderValue>, String> {
    let jar = SignedCookieJar::<Key>::new(state.session_key.clone());
    let jar = match user {
        Some(user) if DEMO_USERS.contains(&user) => jar.add(
            Cookie::build((SESSION_COOKIE, user.to_string()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.config.secure_cookies)
                .build(),
        ),
        Some(user) => {
            return Err(format!(
                "unknown demo user {user:?}; use one of {}",
                DEMO_USERS.join(", ")
            ));
        }
        None => {
            // A removal needs no signature (and a fresh jar would not emit one).
            let mut removal = Cookie::build((SESSION_COOKIE, "")).path("/").build();
            removal.make_removal();
            let value = HeaderValue::from_str(&removal.to_string()).map_err(|e| e.to_string())?;
            return Ok(vec![value]);
        }
    };
    let response = jar.into_response();
    Ok(response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect())
}

/// A signed-in user; anonymous requests get 401.
pub struct SignedIn(pub String);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
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
pub struct Session {
    pub user: Option<String>,
}

/// `POST /api/session`: signs in as a demo user.
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let cookies = session_cookies(&state, Some(&body.user)).map_err(ApiError::unprocessable)?;
    Ok(with_cookies(
        cookies,
        Json(Session {
            user: Some(body.user),
        }),
    ))
}

/// `DELETE /api/session`: signs out.
pub async fn sign_out(State(state): State<AppState>) -> Result<Response, ApiError> {
    let cookies = session_cookies(&state, None).map_err(ApiError::unprocessable)?;
    Ok(with_cookies(cookies, StatusCode::NO_CONTENT))
}

fn with_cookies(cookies: Vec<HeaderValue>, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /api/session`: who is signed in.
pub async fn whoami(CurrentUser(user): CurrentUser) -> Json<Session> {
    Json(Session { user })
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
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !origin_allowed(request.headers(), &state.config.cors_origins) {
        return ApiError::forbidden("cross-origin request refused").into_response();
    }
    next.run(request).await
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
