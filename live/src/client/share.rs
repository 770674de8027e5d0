//! The tabs of one browser share one stream: what they tell each other, and what the leading
//! tab opens. Pure logic (the browser glue is in [`super::connection`]), so it is tested here.
//!
//! One tab leads (it holds a Web Lock) and reads the stream for the union of the channels all
//! tabs want; it relays every message to the others over a `BroadcastChannel`. Every tab
//! remembers the last relayed cursor, so whichever tab leads next resumes from there. Each
//! tab keeps its own positions and drops what it already has, so a tab sees exactly its own
//! channels, in order, once, however often the leader reopens or rewinds.

use serde::{Deserialize, Serialize};

use super::StreamStatus;
use crate::{
    cursor::Cursor,
    event::{LiveEvent, Resync},
};

/// The `BroadcastChannel` and Web Lock name: the app's build output name (cargo-leptos passes
/// `LEPTOS_OUTPUT_NAME` to the wasm build, as the name `cargo leptos new` gave the project),
/// so two apps served from one origin never share a stream. Browsers scope both by origin.
pub const BUS: &str = match option_env!("LEPTOS_OUTPUT_NAME") {
    Some(name) => name,
    None => "leptos-live",
};

/// What tabs post to each other (as JSON text). Externally tagged (`{"want":{…}}`): an
/// internally tagged enum makes serde buffer every message first, 4 KB more brotli of wasm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Note {
    /// A tab's channels and its positions in them; sent on every change and as a heartbeat.
    Want {
        tab: u64,
        channels: Vec<String>,
        cursor: String,
        /// Channels it moved back in since its last note (see [`Want::rebase`]): the stream
        /// must replay them for it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        back: Vec<String>,
    },
    /// A tab is going away.
    Bye { tab: u64 },
    /// The leader read one message from the stream.
    Frame {
        event: String,
        id: Option<String>,
        data: String,
    },
    /// The leader's stream: its state and the channels it carries.
    State {
        status: StreamStatus,
        channels: Vec<String>,
    },
    /// Someone signed in or out: every tab reloads its snapshot.
    Session,
    /// A follower's "reconnect now".
    Reconnect,
}

/// One tab's wish, as the leader holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Want {
    pub channels: Vec<String>,
    /// Its positions in those channels (from its snapshot, a job's start, or frames).
    pub cursor: Option<Cursor>,
    /// Channels it added since the leader last planned: only these may rewind the stream.
    pub added: Vec<String>,
}

impl Want {
    /// The wish after a tab's new message; `added` accumulates until the next plan.
    pub fn update(&mut self, channels: Vec<String>, cursor: Option<Cursor>) {
        for channel in &channels {
            if !self.channels.contains(channel) && !self.added.contains(channel) {
                self.added.push(channel.clone());
            }
        }
        self.added.retain(|c| channels.contains(c));
        self.channels = channels;
        self.cursor = cursor;
    }

    /// The tab's state was replaced by one rendered from `from` (a refreshed snapshot's
    /// cursor, a listing's): that state holds everything up to `from` and perhaps nothing
    /// after it, so in each of `from`'s channels the tab now stands no later than `from`.
    /// Returns the channels it moved back in; they count as [`added`](Self::added), so the
    /// stream replays them. A cursor of another epoch is taken whole.
    pub fn rebase(&mut self, from: &Cursor) -> Vec<String> {
        let Some(own) = self.cursor.as_mut().filter(|c| c.epoch == from.epoch) else {
            self.cursor = Some(from.clone());
            return Vec::new();
        };
        let mut back = Vec::new();
        for (channel, &id) in &from.positions {
            let at = own.positions.entry(channel.clone()).or_insert(id);
            if *at > id {
                *at = id;
                if self.channels.contains(channel) {
                    back.push(channel.clone());
                }
            }
        }
        self.mark_added(&back);
        back
    }

    /// Marks `channels` for replay at the next plan.
    pub fn mark_added(&mut self, channels: &[String]) {
        for channel in channels {
            if self.channels.contains(channel) && !self.added.contains(channel) {
                self.added.push(channel.clone());
            }
        }
    }
}

/// What the leader should have open.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Every channel some tab wants, sorted.
    pub channels: Vec<String>,
    /// Where to resume: the stream's own position where it has one, else the oldest
    /// position a tab holds; lower where a tab just joined a channel from an older position.
    pub cursor: Option<Cursor>,
    /// A tab joined a channel behind the stream: the stream must reopen to replay for it.
    pub rewind: bool,
}

/// The stream that serves `wants`, given the position `seen` of the last message relayed.
pub fn plan<'a>(seen: Option<&Cursor>, wants: impl IntoIterator<Item = &'a Want>) -> Plan {
    let wants: Vec<&Want> = wants.into_iter().collect();
    let mut channels: Vec<String> = Vec::new();
    for channel in wants.iter().flat_map(|w| &w.channels) {
        if let Err(at) = channels.binary_search(channel) {
            channels.insert(at, channel.clone());
        }
    }
    let epoch = seen.map(|c| c.epoch.clone()).or_else(|| {
        wants
            .iter()
            .find_map(|w| w.cursor.as_ref())
            .map(|c| c.epoch.clone())
    });
    let Some(epoch) = epoch else {
        return Plan {
            channels,
            cursor: None,
            rewind: false,
        };
    };
    let mut cursor = match seen {
        Some(seen) => seen.clone(),
        None => Cursor::new(epoch.clone()),
    };
    cursor.retain(&channels);
    let streamed = cursor.clone();
    let mut rewind = false;
    for want in &wants {
        let Some(theirs) = want.cursor.as_ref().filter(|c| c.epoch == epoch) else {
            continue;
        };
        for channel in &want.channels {
            let Some(id) = theirs.position(channel) else {
                continue;
            };
            match streamed.position(channel) {
                // Behind the stream in a channel it just joined: replay from there.
                Some(at) if id < at && want.added.contains(channel) => {
                    rewind = true;
                    lower(&mut cursor, channel, id);
                }
                Some(_) => {}
                None => lower(&mut cursor, channel, id),
            }
        }
    }
    Plan {
        channels,
        cursor: Some(cursor),
        rewind,
    }
}

fn lower(cursor: &mut Cursor, channel: &str, id: u64) {
    let at = cursor.positions.entry(channel.to_string()).or_insert(id);
    *at = (*at).min(id);
}

/// Whether a tab at `mine` should deliver message `event` of `channel`, whose id is `frame`
/// (if it has one), and moves `mine` past it: [`fresh`] for events. A `resync` is always
/// delivered: its cursor is where the stream got to before what it lost, a position the tab
/// already holds, and dropping it as "seen" would leave the gap silent.
pub fn shows(
    mine: &mut Option<Cursor>,
    event: &str,
    channel: &str,
    frame: Option<&Cursor>,
) -> bool {
    match frame {
        Some(_) if event == Resync::NAME => true,
        Some(frame) => fresh(mine, channel, frame),
        None => true,
    }
}

/// Whether a tab at `mine` should show a message of `channel` at cursor `frame`, and moves
/// `mine` past it. A message it already has (a replay for another tab) is dropped.
pub fn fresh(mine: &mut Option<Cursor>, channel: &str, frame: &Cursor) -> bool {
    let Some(id) = frame.position(channel) else {
        return true;
    };
    let held = mine.get_or_insert_with(|| Cursor::new(frame.epoch.clone()));
    if held.epoch != frame.epoch {
        *held = Cursor::new(frame.epoch.clone());
    }
    match held.positions.get_mut(channel) {
        Some(at) if *at >= id => false,
        Some(at) => {
            *at = id;
            true
        }
        None => {
            held.positions.insert(channel.to_string(), id);
            true
        }
    }
}

/// Whether build `a` is newer than build `b`, compared as versions: runs of digits as
/// numbers, so `v10` is newer than `v9`, `0.3.10` than `0.3.9`, `2026-12-04` than `2026-11-30`.
/// Only a newer build reloads a page: during a rolling deploy a tab may meet the old build
/// again, and reloading for any difference would send it back and forth.
pub fn newer(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    loop {
        match (a.first(), b.first()) {
            (None, _) => return false,
            (Some(_), None) => return true,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (n, m) = (digits(a), digits(b));
                let trim = |s: &[u8]| s.iter().position(|&c| c != b'0').map_or(0, |i| s.len() - i);
                let (p, q) = (&a[n - trim(&a[..n])..n], &b[m - trim(&b[..m])..m]);
                match p.len().cmp(&q.len()).then(p.cmp(q)) {
                    std::cmp::Ordering::Equal => (a, b) = (&a[n..], &b[m..]),
                    order => return order.is_gt(),
                }
            }
            (Some(x), Some(y)) if x != y => return x > y,
            _ => (a, b) = (&a[1..], &b[1..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(text: &str) -> Cursor {
        Cursor::parse(text).unwrap().unwrap()
    }

    fn want(channels: &[&str], at: Option<&str>, added: &[&str]) -> Want {
        Want {
            channels: channels.iter().map(|c| c.to_string()).collect(),
            cursor: at.map(cursor),
            added: added.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// The union of channels; the stream's own positions win over a heartbeat that lags.
    #[test]
    fn plans_the_union_from_the_streams_position() {
        let seen = cursor("e:orders=9,prices=40,gone=3");
        let wants = [
            want(&["prices"], Some("e:prices=38"), &[]),
            want(&["orders", "prices"], Some("e:orders=9,prices=40"), &[]),
        ];
        let plan = plan(Some(&seen), &wants);
        assert_eq!(plan.channels, vec!["orders", "prices"]);
        assert_eq!(plan.cursor, Some(cursor("e:orders=9,prices=40")));
        assert!(!plan.rewind);
    }

    /// A channel new to the stream starts at the oldest position a tab holds; a tab joining a
    /// streamed channel from behind rewinds it.
    #[test]
    fn joins_from_the_tabs_positions() {
        let seen = cursor("e:prices=40");
        let wants = [
            want(
                &["prices", "orders"],
                Some("e:orders=7,prices=40"),
                &["orders"],
            ),
            want(&["orders"], Some("e:orders=5"), &["orders"]),
            want(&["prices"], Some("e:prices=31"), &["prices"]),
        ];
        let plan = plan(Some(&seen), &wants);
        assert_eq!(plan.cursor, Some(cursor("e:orders=5,prices=31")));
        assert!(plan.rewind);
    }

    /// Positions from another epoch say nothing; without any position the stream is live-only.
    #[test]
    fn ignores_other_epochs() {
        let wants = [want(&["prices"], Some("old:prices=3"), &["prices"])];
        let plan = plan(Some(&cursor("new:")), &wants);
        assert_eq!(plan.cursor, Some(cursor("new:")));
        assert_eq!(
            super::plan(None, &[want(&["clock"], None, &[])]).cursor,
            None
        );
    }

    /// `added` holds what arrived since the last plan, and forgets what was dropped again.
    #[test]
    fn wants_track_added_channels() {
        let mut w = Want::default();
        w.update(vec!["a".into(), "b".into()], None);
        assert_eq!(w.added, vec!["a", "b"]);
        w.added.clear();
        w.update(vec!["b".into(), "c".into()], None);
        assert_eq!(w.added, vec!["c"]);
        w.update(vec!["b".into()], None);
        assert!(w.added.is_empty());
    }

    /// A tab whose state was refetched moves back to the snapshot's positions where it had
    /// gone past them (those events updated the state the snapshot replaced), and the stream
    /// replays them for it; where the snapshot is newer, the tab keeps its place (the events
    /// in between arrive again and fold to nothing).
    #[test]
    fn a_refreshed_tab_moves_back_and_is_replayed() {
        let mut tab = want(&["orders", "prices"], Some("e:orders=9,prices=40"), &[]);
        let back = tab.rebase(&cursor("e:orders=6,prices=45,jobs=2"));
        assert_eq!(back, vec!["orders"]);
        assert_eq!(tab.cursor, Some(cursor("e:jobs=2,orders=6,prices=40")));
        assert_eq!(tab.added, vec!["orders"]);
        let plan = plan(Some(&cursor("e:orders=9,prices=41")), [&tab]);
        assert!(plan.rewind, "the stream reopens to replay orders 7..9");
        assert_eq!(plan.cursor, Some(cursor("e:orders=6,prices=41")));

        // A follower's note carries the channels it moved back in to the leader.
        let mut peer = want(&["orders"], Some("e:orders=3"), &[]);
        peer.update(vec!["orders".into()], Some(cursor("e:orders=6")));
        peer.mark_added(&["orders".to_string(), "gone".to_string()]);
        assert_eq!(peer.added, vec!["orders"]);
        assert!(plan_for(&peer).rewind);

        // Another epoch: the snapshot's cursor is taken whole, nothing to replay.
        let mut tab = want(&["orders"], Some("e:orders=9"), &[]);
        assert!(tab.rebase(&cursor("f:orders=1")).is_empty());
        assert_eq!(tab.cursor, Some(cursor("f:orders=1")));
    }

    fn plan_for(want: &Want) -> Plan {
        plan(Some(&cursor("e:orders=9")), [want])
    }

    /// Builds compare as versions; equal ones are not newer.
    #[test]
    fn newer_builds_compare_as_versions() {
        for (a, b) in [
            ("v2", "v1"),
            ("v10", "v9"),
            ("0.3.10", "0.3.9"),
            ("2026-12-04", "2026-11-30"),
            ("1.0.0-rc2", "1.0.0-rc1"),
            ("1.0.1", "1.0"),
            ("b", "a"),
        ] {
            assert!(newer(a, b), "{a} > {b}");
            assert!(!newer(b, a), "{b} < {a}");
        }
        assert!(!newer("v1", "v1"));
        assert!(!newer("007", "7"), "leading zeros change nothing");
    }

    /// Every note survives the trip through the bus as text.
    #[test]
    fn notes_round_trip_as_json() {
        let notes = [
            Note::Want {
                tab: 7,
                channels: vec!["prices".into()],
                cursor: "e:prices=3".into(),
                back: vec![],
            },
            Note::Want {
                tab: 8,
                channels: vec!["orders".into()],
                cursor: "e:orders=3".into(),
                back: vec!["orders".into()],
            },
            Note::Bye { tab: 7 },
            Note::Frame {
                event: "price".into(),
                id: Some("e:prices=4".into()),
                data: "{}".into(),
            },
            Note::State {
                status: StreamStatus::Refused(super::super::Refusal::TooMany, "why".into()),
                channels: vec![],
            },
            Note::Session,
            Note::Reconnect,
        ];
        for note in notes {
            let text = serde_json::to_string(&note).unwrap();
            assert_eq!(serde_json::from_str::<Note>(&text).unwrap(), note, "{text}");
        }
        // A tab of an older build, during a deploy, sends no `back`.
        let old = r#"{"want":{"tab":1,"channels":["a"],"cursor":""}}"#;
        assert!(matches!(
            serde_json::from_str::<Note>(old).unwrap(),
            Note::Want { back, .. } if back.is_empty()
        ));
    }

    /// A `resync` after lag or a lost Redis message carries the last delivered position, which
    /// the tab holds: it still reaches the tab (alone, leading or following: every role
    /// delivers through `shows`), and moves nothing.
    #[test]
    fn a_resync_at_a_position_the_tab_holds_is_delivered() {
        let mut mine = Some(cursor("e:orders=5"));
        let at = cursor("e:orders=5");
        assert!(shows(&mut mine, "resync", "orders", Some(&at)));
        assert!(
            shows(&mut mine, "resync", "orders", Some(&at)),
            "every one of them"
        );
        assert_eq!(mine, Some(cursor("e:orders=5")));
        // Events are still deduplicated.
        assert!(!shows(&mut mine, "order", "orders", Some(&at)));
        assert!(shows(
            &mut mine,
            "order",
            "orders",
            Some(&cursor("e:orders=6"))
        ));
        assert!(shows(&mut mine, "order", "orders", None));
    }

    /// A tab shows each message of its channels once, in order, whatever the leader replays.
    #[test]
    fn drops_what_a_tab_already_has() {
        let mut mine = Some(cursor("e:orders=5"));
        assert!(!fresh(&mut mine, "orders", &cursor("e:orders=5,prices=1")));
        assert!(fresh(&mut mine, "orders", &cursor("e:orders=6,prices=1")));
        assert!(!fresh(&mut mine, "orders", &cursor("e:orders=6,prices=2")));
        assert!(fresh(&mut mine, "prices", &cursor("e:orders=6,prices=2")));
        assert_eq!(mine, Some(cursor("e:orders=6,prices=2")));
        // A new history: everything in it is new.
        assert!(fresh(&mut mine, "orders", &cursor("f:orders=1")));
        assert_eq!(mine, Some(cursor("f:orders=1")));
    }
}
