//! Presence: who is watching each channel the app names ([`super::watched`]), summed over
//! every instance, published on `presence/{channel}` (counts: anyone) and
//! `presence/{channel}/people` (with the names of signed-in watchers: signed-in users only)
//! whenever it changes. A person joining or leaving shows within about two seconds: this
//! feed's tick plus the instances' report ([`crate::cluster::BEAT`]).

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::events::{Watching, channels};
use leptos_live::hub::{Access, Hub, Presence, registry::Authorize};

use super::{Outage, Ticks};
use crate::cluster::{Cluster, local_presence};

/// How often presence is looked at (and published if it changed).
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Signed-in watchers named at most; the others are counted in [`Watching::more`].
pub const NAMES_SHOWN: usize = 20;

/// What `presence` (summed over the instances) looks like to a signed-in user.
pub fn with_names(presence: &Presence) -> Watching {
    let shown: Vec<String> = presence.users.keys().take(NAMES_SHOWN).cloned().collect();
    Watching {
        streams: count(presence.streams),
        guests: count(presence.guests()),
        more: count(presence.users.len() - shown.len()),
        people: shown,
    }
}

/// What it looks like to anyone: how many, never who.
pub fn counts_only(presence: &Presence) -> Watching {
    Watching {
        streams: count(presence.streams),
        guests: count(presence.guests()),
        people: Vec::new(),
        more: count(presence.users.len()),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Lets in whoever `then` lets in, on the presence of a watched channel only: any other
/// `presence/…` name is 404, as an unknown channel.
pub fn of_watched(watched: Vec<&'static str>, then: Authorize) -> Authorize {
    Arc::new(move |user, params| match params.get("channel") {
        Some(channel) if watched.contains(&channel) => then(user, params),
        _ => Access::NotFound,
    })
}

/// Publishes the presence of each of `watched` at each of `ticks` when it changed.
pub async fn run(
    hub: Arc<Hub>,
    cluster: Arc<Cluster>,
    watched: Vec<&'static str>,
    mut ticks: Ticks,
) {
    let mut outage = Outage::new("presence");
    let mut published: HashMap<&str, Presence> = HashMap::new();
    while ticks.next().await {
        if ticks.took_over() {
            // Another instance published meanwhile: say it all again.
            published.clear();
        }
        let now = cluster.presence(local_presence(&hub, &watched)).await;
        for (channel, presence) in now {
            if published.get(channel) == Some(&presence) {
                continue;
            }
            let counts = hub
                .publish(&channels::presence(channel), &counts_only(&presence))
                .await;
            let names = hub
                .publish(&channels::presence_people(channel), &with_names(&presence))
                .await;
            if outage.record(counts).is_some() && outage.record(names).is_some() {
                published.insert(channel, presence);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(streams: usize, users: &[(&str, usize)]) -> Presence {
        Presence {
            streams,
            users: users.iter().map(|(u, n)| (u.to_string(), *n)).collect(),
        }
    }

    /// Anyone learns how many watch; only signed-in users learn who, and at most
    /// [`NAMES_SHOWN`] names.
    #[test]
    fn names_only_for_the_signed_in_and_bounded() {
        let watching = presence(4, &[("alice", 2), ("bob", 1)]);
        assert_eq!(
            counts_only(&watching),
            Watching {
                streams: 4,
                guests: 1,
                people: vec![],
                more: 2
            }
        );
        assert_eq!(
            with_names(&watching),
            Watching {
                streams: 4,
                guests: 1,
                people: vec!["alice".into(), "bob".into()],
                more: 0
            }
        );
        let names: Vec<String> = (0..30).map(|i| format!("user{i:02}")).collect();
        let crowd = presence(
            30,
            &names.iter().map(|n| (n.as_str(), 1)).collect::<Vec<_>>(),
        );
        let shown = with_names(&crowd);
        assert_eq!(
            (shown.people.len(), shown.more, shown.guests),
            (NAMES_SHOWN, 10, 0)
        );
    }
}
