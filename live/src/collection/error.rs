//! [`CollectionError`]: why a change to a live collection was refused.

use crate::hub::{BackendError, HubError};

/// Why a change to a collection was refused; `E` is the app's own reason (from the rule an
/// `update` applies).
#[derive(Debug, thiserror::Error)]
pub enum CollectionError<E = std::convert::Infallible> {
    /// The app's rule refused the change.
    #[error("{0}")]
    Refused(E),
    /// No item with that id (perhaps it aged out).
    #[error("no item {0}")]
    NotFound(u64),
    /// The owner has as many active items as allowed.
    #[error("{limit} active items is the most allowed")]
    OverLimit { limit: usize },
    /// Other writers kept changing the item; try again.
    #[error("item {0} is changing; try again")]
    Busy(u64),
    /// A rule tried to change what the collection owns: an item's id or owner.
    #[error("item {0}: a change may not move an item's id or owner")]
    Moved(u64),
    /// The idempotency key was used for item `{0}`, which is not there: the first request
    /// with it is still running, or its item aged out (use a new key for a new item).
    #[error("this idempotency key was used for item {0}, which is not there (yet)")]
    KeyUsed(u64),
    /// The store failed or did not answer. The change may have been made: retry a creation
    /// with the same idempotency key.
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl<E> CollectionError<E> {
    /// The `outcome` label of a refused write.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Refused(_) => "refused",
            Self::NotFound(_) => "not_found",
            Self::OverLimit { .. } => "over_limit",
            Self::Busy(_) => "busy",
            Self::Moved(_) => "moved",
            Self::KeyUsed(_) => "key_used",
            Self::Hub(_) => "unavailable",
        }
    }
}

impl<E> From<BackendError> for CollectionError<E> {
    fn from(err: BackendError) -> Self {
        Self::Hub(HubError::Backend(err))
    }
}
