//! What a stream's connection looks like to a person: connecting, live or reconnecting.

use leptos_use_event_source::ConnectionReadyState;

/// The state of one stream connection, as the status badge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Not open yet: the server render, hydration, or the first connect.
    Connecting,
    /// Open; events flow.
    Live,
    /// The connection failed and a new attempt is pending or under way.
    Reconnecting,
}

impl StreamStatus {
    /// Derives the status from the EventSource's ready state and whether its last event was an
    /// error. `use_event_source` reports a dropped connection as `Closed` + error even while the
    /// browser is already retrying, so the error decides between "connecting" and "reconnecting".
    pub fn from_ready_state(state: ConnectionReadyState, failed: bool) -> Self {
        match (state, failed) {
            (ConnectionReadyState::Open, _) => Self::Live,
            (_, true) => Self::Reconnecting,
            _ => Self::Connecting,
        }
    }

    /// The word the badge shows (also its `data-status`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionReadyState::*;

    /// Open is live whatever came before; a failure before reopening is "reconnecting".
    #[test]
    fn status_follows_ready_state_and_failure() {
        assert_eq!(
            StreamStatus::from_ready_state(Open, false),
            StreamStatus::Live
        );
        assert_eq!(
            StreamStatus::from_ready_state(Open, true),
            StreamStatus::Live
        );
        assert_eq!(
            StreamStatus::from_ready_state(Connecting, false),
            StreamStatus::Connecting
        );
        assert_eq!(
            StreamStatus::from_ready_state(Closed, false),
            StreamStatus::Connecting
        );
        assert_eq!(
            StreamStatus::from_ready_state(Closed, true),
            StreamStatus::Reconnecting
        );
        assert_eq!(
            StreamStatus::from_ready_state(Connecting, true),
            StreamStatus::Reconnecting
        );
    }

    /// The labels are what the browser tests and the CSS match on.
    #[test]
    fn labels_are_stable() {
        assert_eq!(StreamStatus::Connecting.label(), "connecting");
        assert_eq!(StreamStatus::Live.label(), "live");
        assert_eq!(StreamStatus::Reconnecting.label(), "reconnecting");
    }
}
