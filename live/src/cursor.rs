//! The resume cursor: where a client stands in each of its channels.
//!
//! Every SSE `id:` the server sends is a cursor, and a reconnecting client sends the last one
//! back (`Last-Event-ID`, or `last_event_id` on first connect). Its text is
//! `EPOCH:CHANNEL=ID,CHANNEL=ID…`, where `EPOCH` names the hub's event history, so a cursor
//! from before a restart of an in-memory hub is recognised as foreign instead of being
//! misread as a position in the new history.
//!
//! The server parses and prints it (the hub); the browser merges cursors (a page's
//! snapshot, a job's start, the tabs sharing one stream), so the type lives here, once.

use std::{collections::BTreeMap, fmt};

/// Positions per channel within one epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub epoch: String,
    pub positions: BTreeMap<String, u64>,
}

/// A cursor text that is not one we could have sent.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed cursor: {0}")]
pub struct MalformedCursor(pub &'static str);

/// Longest cursor we accept; a real one is about 30 bytes per channel.
pub const MAX_CURSOR_LEN: usize = 4096;

impl Cursor {
    pub fn new(epoch: impl Into<String>) -> Self {
        Self {
            epoch: epoch.into(),
            positions: BTreeMap::new(),
        }
    }

    /// Where this cursor stands in `channel`, if it has been there.
    pub fn position(&self, channel: &str) -> Option<u64> {
        self.positions.get(channel).copied()
    }

    /// Moves to `other`'s positions (a newer frame's cursor): its channels take its ids, and a
    /// change of epoch drops every position of the old one.
    pub fn advance_to(&mut self, other: &Cursor) {
        if self.epoch != other.epoch {
            *self = other.clone();
            return;
        }
        for (channel, &id) in &other.positions {
            self.positions.insert(channel.clone(), id);
        }
    }

    /// Keeps only the positions of `channels`.
    pub fn retain(&mut self, channels: &[String]) {
        self.positions
            .retain(|channel, _| channels.iter().any(|c| c == channel));
    }

    /// Parses a cursor we sent. The empty string means "no cursor".
    pub fn parse(text: &str) -> Result<Option<Self>, MalformedCursor> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_CURSOR_LEN {
            return Err(MalformedCursor("too long"));
        }
        let (epoch, rest) = text
            .split_once(':')
            .ok_or(MalformedCursor("expected EPOCH:CHANNEL=ID,…"))?;
        if !is_token(epoch) {
            return Err(MalformedCursor("bad epoch"));
        }
        let mut cursor = Cursor::new(epoch);
        for entry in rest.split(',').filter(|e| !e.is_empty()) {
            let (channel, id) = entry
                .rsplit_once('=')
                .ok_or(MalformedCursor("expected CHANNEL=ID"))?;
            if !is_channel_name(channel) {
                return Err(MalformedCursor("bad channel name"));
            }
            let id = id
                .parse::<u64>()
                .map_err(|_| MalformedCursor("id is not a whole number"))?;
            cursor.positions.insert(channel.to_string(), id);
        }
        Ok(Some(cursor))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.epoch)?;
        for (i, (channel, id)) in self.positions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{channel}={id}")?;
        }
        Ok(())
    }
}

/// `[A-Za-z0-9_-]{1,64}`: epochs and channel-name segments.
pub fn is_token(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Tokens joined by `/`, e.g. `users/alice/notifications`.
pub fn is_channel_name(text: &str) -> bool {
    text.len() <= 256 && text.split('/').all(is_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What we print we can read back, whatever the channels.
    #[test]
    fn round_trips() {
        let mut cursor = Cursor::new("a1b2");
        cursor.positions.insert("prices".into(), 12);
        cursor
            .positions
            .insert("users/alice/notifications".into(), 3);
        let text = cursor.to_string();
        assert_eq!(text, "a1b2:prices=12,users/alice/notifications=3");
        assert_eq!(Cursor::parse(&text).unwrap(), Some(cursor));
    }

    /// An epoch with no positions yet is a valid cursor.
    #[test]
    fn empty_positions_are_valid() {
        assert_eq!(Cursor::parse("e:").unwrap(), Some(Cursor::new("e")));
        assert_eq!(Cursor::parse("").unwrap(), None);
    }

    fn cursor(text: &str) -> Cursor {
        Cursor::parse(text).unwrap().unwrap()
    }

    /// A frame's cursor moves its channels, keeps the others, and a new epoch starts over.
    #[test]
    fn advances_and_retains() {
        let mut held = cursor("e:orders=3,prices=9");
        held.advance_to(&cursor("e:prices=10"));
        assert_eq!(held, cursor("e:orders=3,prices=10"));
        held.retain(&["orders".to_string()]);
        assert_eq!(held, cursor("e:orders=3"));
        held.advance_to(&cursor("f:prices=1"));
        assert_eq!(held, cursor("f:prices=1"));
    }

    /// Anything we could not have sent is an error, never a panic.
    #[test]
    fn rejects_malformed() {
        let long = format!("e:{}", "prices=1,".repeat(600));
        for bad in [
            "12",
            ":prices=1",
            "e:prices",
            "e:prices=x",
            "e:prices=-1",
            "e:prices=99999999999999999999999",
            "e:pri ces=1",
            "e:=1",
            "e:a//b=1",
            "e\n:prices=1",
            long.as_str(),
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?}");
        }
    }
}
