//! [`AppHost`]: the server's side of the UI's server functions (`app::actions`): who is
//! signed in, and the session cookies. (The demo's side is `demo::host`.)

use std::sync::Arc;

use app::actions::{
    ActionError,
    host::{Host, Pending},
};
use axum::http::{HeaderValue, request::Parts};

use crate::{AppState, auth, error::ApiError, sessions::Sessions};

/// The UI's actions answer as the REST endpoints would: the same status and one-line reason
/// (`ApiError`'s rules: causes only in the log).
pub fn refusal(err: impl Into<ApiError>) -> ActionError {
    let err = err.into();
    ActionError::new(err.status.as_u16(), err.message)
}

pub struct AppHost(pub AppState);

impl AppHost {
    pub fn shared(state: AppState) -> Arc<dyn Host> {
        Arc::new(Self(state))
    }
}

impl Host for AppHost {
    /// The session the pages' middleware looked up (`routes::resolve_session`).
    fn user(&self, request: &Parts) -> Option<String> {
        Sessions::resolved(request).map(|session| session.user.clone())
    }

    fn switch_session(&self, request: &Parts, user: Option<String>) -> Pending<Vec<HeaderValue>> {
        let sessions = self.0.sessions.clone();
        let session = Sessions::resolved(request).cloned();
        Box::pin(async move {
            let cookie = match user {
                Some(user) => {
                    let user = auth::demo_user(&user).map_err(|r| ActionError::new(422, r))?;
                    sessions.open(user, session.as_ref()).await
                }
                None => sessions.close(session.as_ref()).await,
            };
            cookie.map(|cookie| vec![cookie]).map_err(refusal)
        })
    }
}
