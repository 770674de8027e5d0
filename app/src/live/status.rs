//! What the page's stream connection looks like to a person.

use serde::{Deserialize, Serialize};

/// The state of the tab's stream connection, as the status badge shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    /// Opening (the server render and hydration show this too).
    Connecting,
    /// Open; events flow.
    Live,
    /// The connection dropped or the server is unavailable; attempt `n` is scheduled or under
    /// way.
    Reconnecting(u32),
    /// Nothing on the page needs a stream.
    Closed,
    /// The server refused the stream for a reason retrying soon cannot fix.
    Refused(Refusal, String),
}

/// Why the server refused a stream (its status code), and what the client does about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// 401: a channel needs a signed-in user. Waits for a sign-in.
    SignedOut,
    /// 403: a channel belongs to someone else. Waits for a sign-in or other channels.
    Forbidden,
    /// 429: too many open streams for this address or user. Retries slowly (`Retry-After`).
    TooMany,
    /// 400 or 404: the request itself is wrong (too many channels, an unknown one). Waits for
    /// other channels.
    Rejected,
}

impl Refusal {
    /// The refusal a response status means, if any (others are retried with backoff).
    pub fn from_status(status: u16) -> Option<Self> {
        match status {
            401 => Some(Self::SignedOut),
            403 => Some(Self::Forbidden),
            429 => Some(Self::TooMany),
            400..=499 => Some(Self::Rejected),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::SignedOut => "signed-out",
            Self::Forbidden => "forbidden",
            Self::TooMany => "too-many",
            Self::Rejected => "rejected",
        }
    }

    fn headline(self) -> &'static str {
        match self {
            Self::SignedOut => "signed out",
            Self::Forbidden => "not allowed",
            Self::TooMany => "too many streams",
            Self::Rejected => "refused",
        }
    }
}

impl StreamStatus {
    /// The word the badge shows (and its `data-status`).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting(_) => "reconnecting",
            Self::Closed => "closed",
            Self::Refused(refusal, _) => refusal.label(),
        }
    }

    /// The badge's text: the attempt number while reconnecting, the server's reason when
    /// refused.
    pub fn text(&self) -> String {
        match self {
            Self::Reconnecting(attempt) => format!("reconnecting (attempt {attempt})"),
            Self::Refused(refusal, reason) if reason.is_empty() => refusal.headline().into(),
            Self::Refused(refusal, reason) => format!("{}: {reason}", refusal.headline()),
            other => other.label().to_string(),
        }
    }

    /// Not live, and a person may want to try again now.
    pub fn offline(&self) -> bool {
        matches!(self, Self::Reconnecting(_) | Self::Refused(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels are what the browser tests and the CSS match on.
    #[test]
    fn labels_and_texts() {
        assert_eq!(StreamStatus::Connecting.label(), "connecting");
        assert_eq!(StreamStatus::Live.text(), "live");
        assert_eq!(StreamStatus::Reconnecting(3).label(), "reconnecting");
        assert_eq!(
            StreamStatus::Reconnecting(3).text(),
            "reconnecting (attempt 3)"
        );
        assert_eq!(StreamStatus::Closed.text(), "closed");
        let refused = StreamStatus::Refused(Refusal::TooMany, "at most 1 per user".into());
        assert_eq!(refused.label(), "too-many");
        assert_eq!(refused.text(), "too many streams: at most 1 per user");
        assert!(refused.offline() && !StreamStatus::Live.offline());
    }

    /// Each client error maps to the state that says what to do; server errors are retried.
    #[test]
    fn statuses_map_to_refusals() {
        assert_eq!(Refusal::from_status(401), Some(Refusal::SignedOut));
        assert_eq!(Refusal::from_status(403), Some(Refusal::Forbidden));
        assert_eq!(Refusal::from_status(429), Some(Refusal::TooMany));
        assert_eq!(Refusal::from_status(400), Some(Refusal::Rejected));
        assert_eq!(Refusal::from_status(404), Some(Refusal::Rejected));
        assert_eq!(Refusal::from_status(503), None);
        assert_eq!(Refusal::from_status(200), None);
    }
}
