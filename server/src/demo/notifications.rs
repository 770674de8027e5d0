//! Notifications to one user: the domain code behind `POST /api/notifications`, published on
//! `users/{user}/notifications` as `notification`.

use std::sync::atomic::{AtomicU64, Ordering};

use app::demo::events::{Notification, channels};
use serde::Deserialize;

use crate::clock::now_ms;
use crate::{auth::DEMO_USERS, cluster::Shared};
use leptos_live::hub::{BackendError, ConnectionId, Hub, HubError};

/// Body of `POST /api/notifications`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendNotification {
    pub user: String,
    pub title: String,
    pub body: String,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Unknown recipient or bad title/body (422).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Hub(HubError),
}

/// Longest title and body, in characters.
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 2_000;

/// Sends notifications; ids are unique per deployment (counted in Redis when instances share
/// it, else in this process).
#[derive(Default)]
pub struct Notifier {
    last_id: AtomicU64,
    store: Option<Shared>,
}

impl Notifier {
    pub fn new(store: Option<Shared>) -> Self {
        Self {
            last_id: AtomicU64::new(0),
            store,
        }
    }

    async fn next_id(&self) -> Result<u64, NotifyError> {
        let Some(store) = &self.store else {
            return Ok(self.last_id.fetch_add(1, Ordering::Relaxed) + 1);
        };
        ::redis::cmd("INCR")
            .arg(store.key("notifications:last-id"))
            .query_async(&mut store.con())
            .await
            .map_err(|err| {
                NotifyError::Hub(HubError::Backend(BackendError(format!(
                    "redis notifications: {err}"
                ))))
            })
    }

    /// Validates and publishes a notification from `from` to `message.user`.
    pub async fn send(
        &self,
        hub: &Hub,
        from: &str,
        message: SendNotification,
        except: Option<ConnectionId>,
    ) -> Result<Notification, NotifyError> {
        if !DEMO_USERS.contains(&message.user.as_str()) {
            return Err(NotifyError::Invalid(format!(
                "user: unknown user {:?}; use one of {}",
                message.user,
                DEMO_USERS.join(", ")
            )));
        }
        let title_len = message.title.trim().chars().count();
        if !(1..=MAX_TITLE).contains(&title_len) {
            return Err(NotifyError::Invalid(format!(
                "title: 1 to {MAX_TITLE} characters"
            )));
        }
        if message.body.chars().count() > MAX_BODY {
            return Err(NotifyError::Invalid(format!(
                "body: at most {MAX_BODY} characters"
            )));
        }
        let notification = Notification {
            id: self.next_id().await?,
            from: from.to_string(),
            to: message.user,
            title: message.title,
            body: message.body,
            at_ms: now_ms(),
        };
        hub.publish(&channels::notifications(&notification.to), &notification)
            .except(except)
            .await
            .map_err(NotifyError::Hub)?;
        Ok(notification)
    }
}
