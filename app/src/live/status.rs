//! What the page's stream connection looks like to a person.

/// The state of the tab's stream connection, as the status badge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Opening (the server render and hydration show this too).
    Connecting,
    /// Open; events flow.
    Live,
    /// The connection dropped; attempt `n` is scheduled or under way.
    Reconnecting(u32),
    /// Nothing on the page needs a stream.
    Closed,
}

impl StreamStatus {
    /// The word the badge shows (and its `data-status`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting(_) => "reconnecting",
            Self::Closed => "closed",
        }
    }

    /// The badge's text, with the attempt number while reconnecting.
    pub fn text(self) -> String {
        match self {
            Self::Reconnecting(attempt) => format!("reconnecting (attempt {attempt})"),
            other => other.label().to_string(),
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
    }
}
