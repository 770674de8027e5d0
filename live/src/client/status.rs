//! What the page's stream connection looks like to a person.

use serde::{Deserialize, Serialize};

/// The state of the tab's stream connection, as the status badge shows it.
///
/// The leading tab relays it to the others as one string, `label[ detail]` (`live`,
/// `reconnecting 3`, `too-many at most 1 per user`): a derived enum decoder would cost the
/// wasm 1 KB brotli more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    const ALL: [Self; 4] = [
        Self::SignedOut,
        Self::Forbidden,
        Self::TooMany,
        Self::Rejected,
    ];

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

impl From<StreamStatus> for String {
    fn from(status: StreamStatus) -> Self {
        match status {
            StreamStatus::Reconnecting(attempt) => format!("reconnecting {attempt}"),
            StreamStatus::Refused(refusal, reason) => format!("{} {reason}", refusal.label()),
            other => other.label().into(),
        }
    }
}

impl TryFrom<String> for StreamStatus {
    type Error = &'static str;

    fn try_from(wire: String) -> Result<Self, Self::Error> {
        let (label, detail) = wire.split_once(' ').unwrap_or((&wire, ""));
        if let Some(refusal) = Refusal::ALL.into_iter().find(|r| r.label() == label) {
            return Ok(Self::Refused(refusal, detail.into()));
        }
        match label {
            "connecting" => Ok(Self::Connecting),
            "live" => Ok(Self::Live),
            "closed" => Ok(Self::Closed),
            "reconnecting" => detail
                .parse()
                .map(Self::Reconnecting)
                .map_err(|_| "a reconnect attempt is a number"),
            _ => Err("not a stream status"),
        }
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

    /// Every state survives the trip to another tab; anything else is refused.
    #[test]
    fn relayed_as_one_string() {
        let mut states = vec![
            StreamStatus::Connecting,
            StreamStatus::Live,
            StreamStatus::Reconnecting(12),
            StreamStatus::Closed,
        ];
        for refusal in Refusal::ALL {
            states.push(StreamStatus::Refused(refusal, String::new()));
            states.push(StreamStatus::Refused(refusal, "at most 1 per user".into()));
        }
        for status in states {
            let wire = serde_json::to_string(&status).unwrap();
            let back: StreamStatus = serde_json::from_str(&wire).unwrap();
            assert_eq!(back, status, "{wire}");
        }
        let refused = StreamStatus::Refused(Refusal::TooMany, "a b".into());
        assert_eq!(
            serde_json::to_string(&refused).unwrap(),
            r#""too-many a b""#
        );
        for bad in [
            r#""""#,
            r#""open""#,
            r#""reconnecting""#,
            r#""reconnecting x""#,
            "3",
        ] {
            assert!(serde_json::from_str::<StreamStatus>(bad).is_err(), "{bad}");
        }
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
