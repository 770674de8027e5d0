//! [`Presence`]: who subscribes to a channel, as one instance counts it and as instances add up.

use std::collections::BTreeMap;

/// Who subscribes to a channel on this instance ([`Stats::presence`]): how many streams, and
/// the signed-in users among them with their streams each. Bounded by the open streams.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Presence {
    pub streams: usize,
    pub users: BTreeMap<String, usize>,
}

impl Presence {
    /// Adds another instance's presence to this one.
    pub fn add(&mut self, other: &Presence) {
        self.streams += other.streams;
        for (user, n) in &other.users {
            *self.users.entry(user.clone()).or_default() += n;
        }
    }

    /// Streams of clients that are not signed in.
    pub fn guests(&self) -> usize {
        self.streams
            .saturating_sub(self.users.values().sum::<usize>())
    }
}
