//! [`AppHost`]: the server's side of the UI's server functions (`app::actions`): who is
//! signed in, and the session cookies. (The demo's side is `demo::host`.)

use std::sync::Arc;

use app::actions::{ActionError, host::Host};
use axum::http::{HeaderMap, HeaderValue};

use crate::{AppState, auth, error::ApiError};

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
    fn user(&self, headers: &HeaderMap) -> Option<String> {
        auth::user_from_headers(headers, &self.0.session_key)
    }

    fn session_cookies(&self, user: Option<&str>) -> Result<Vec<HeaderValue>, ActionError> {
        auth::session_cookies(&self.0, user).map_err(|reason| ActionError::new(422, reason))
    }
}
