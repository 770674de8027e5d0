//! The counters and guards: streams counted while alive, limits per user, per address and in all, connection ids.

use super::*;

const ROOMY: StreamLimits = StreamLimits {
    total: 100,
    per_address: 100,
    per_user: 100,
};

fn from(addr: &str) -> Client<'static> {
    Client {
        user: None,
        addr: Some(addr.parse().unwrap()),
    }
}

/// Connections and subscribers count exactly as long as their guards live; public stats
/// name patterns, the operator's detail names channels.
#[test]
fn guards_count_while_alive() {
    let stats = Arc::new(Stats::default());
    let a = stats.connect(Client::default(), ROOMY).unwrap();
    let b = stats.connect(Client::user(Some("alice")), ROOMY).unwrap();
    assert_ne!(a.id(), b.id());
    let pattern: Arc<str> = "users/:id/notifications".into();
    let s1 = stats.subscribe("users/alice/notifications".into(), pattern.clone(), None);
    let s2 = stats.subscribe("users/bob/notifications".into(), pattern, None);
    let snapshot = stats.snapshot();
    assert_eq!(snapshot.connections, 2);
    assert_eq!(snapshot.channels, 2);
    assert_eq!(
        snapshot.subscribers.into_iter().collect::<Vec<_>>(),
        vec![("users/:id/notifications".to_string(), 2)],
        "no user's name in public stats"
    );
    assert_eq!(stats.channel_detail()["users/alice/notifications"], 1);
    drop((a, s1));
    assert_eq!(stats.snapshot().connections, 1);
    assert_eq!(stats.snapshot().subscribers["users/:id/notifications"], 1);
    drop((b, s2));
    let snapshot = stats.snapshot();
    assert_eq!((snapshot.connections, snapshot.channels), (0, 0));
}

/// The per-user limit refuses one more and frees up when a connection closes.
#[test]
fn per_user_limit_applies_to_signed_in_users() {
    let stats = Arc::new(Stats::default());
    let limits = StreamLimits {
        per_user: 2,
        ..ROOMY
    };
    let bob = Client::user(Some("bob"));
    let first = stats.connect(bob, limits).unwrap();
    let _second = stats.connect(bob, limits).unwrap();
    assert_eq!(
        stats.connect(bob, limits).unwrap_err(),
        Refused::User { limit: 2 }
    );
    let _alice = stats.connect(Client::user(Some("alice")), limits).unwrap();
    let _anonymous: Vec<_> = (0..5)
        .map(|_| stats.connect(Client::default(), limits).unwrap())
        .collect();
    drop(first);
    assert!(stats.connect(bob, limits).is_ok());
    assert_eq!(stats.snapshot().refused, 1);
}

/// The per-address limit counts IPv4 addresses and IPv6 /64s; the total caps everyone.
#[test]
fn address_and_total_limits() {
    let stats = Arc::new(Stats::default());
    let limits = StreamLimits {
        total: 5,
        per_address: 2,
        per_user: 100,
    };
    let _a = stats.connect(from("10.0.0.1"), limits).unwrap();
    let first = stats.connect(from("10.0.0.1"), limits).unwrap();
    assert_eq!(
        stats.connect(from("10.0.0.1"), limits).unwrap_err(),
        Refused::Address { limit: 2 }
    );
    assert_eq!(
        stats.connect(from("::ffff:10.0.0.1"), limits).unwrap_err(),
        Refused::Address { limit: 2 },
        "an IPv4-mapped address is the same client"
    );
    let _v6 = stats.connect(from("2001:db8::1"), limits).unwrap();
    let _v6b = stats.connect(from("2001:db8::ffff:2"), limits).unwrap();
    assert_eq!(
        stats.connect(from("2001:db8::3"), limits).unwrap_err(),
        Refused::Address { limit: 2 },
        "one /64 is one client"
    );
    let _other = stats.connect(from("10.0.0.2"), limits).unwrap();
    assert_eq!(
        stats.connect(from("10.0.0.3"), limits).unwrap_err(),
        Refused::Total { limit: 5 }
    );
    drop(first);
    assert!(stats.connect(from("10.0.0.1"), limits).is_ok());
}

/// Connection ids print and parse as `c<n>`.
#[test]
fn connection_ids_round_trip() {
    assert_eq!("c42".parse::<ConnectionId>(), Ok(ConnectionId(42)));
    assert_eq!(ConnectionId(7).to_string(), "c7");
    assert!("42".parse::<ConnectionId>().is_err());
}

/// A channel's presence: its streams, and the signed-in users among them with their streams
/// each, exactly as long as the subscriptions live; other channels are not counted.
#[test]
fn presence_counts_streams_and_users_while_subscribed() {
    let stats = Arc::new(Stats::default());
    let pattern: Arc<str> = "prices".into();
    let alice_1 = stats.subscribe("prices".into(), pattern.clone(), Some("alice"));
    let alice_2 = stats.subscribe("prices".into(), pattern.clone(), Some("alice"));
    let bob = stats.subscribe("prices".into(), pattern.clone(), Some("bob"));
    let guest = stats.subscribe("prices".into(), pattern, None);
    let _elsewhere = stats.subscribe("orders".into(), "orders".into(), Some("carol"));
    let presence = stats.presence("prices");
    assert_eq!(presence.streams, 4);
    assert_eq!(
        presence
            .users
            .iter()
            .map(|(u, n)| (u.as_str(), *n))
            .collect::<Vec<_>>(),
        [("alice", 2), ("bob", 1)]
    );
    assert_eq!(presence.guests(), 1);
    drop((alice_1, bob));
    let presence = stats.presence("prices");
    assert_eq!((presence.streams, presence.guests()), (2, 1));
    assert_eq!(presence.users.keys().collect::<Vec<_>>(), ["alice"]);
    drop((alice_2, guest));
    assert_eq!(stats.presence("prices"), Presence::default());
    let mut sum = stats.presence("orders");
    sum.add(&sum.clone());
    assert_eq!((sum.streams, sum.users["carol"]), (2, 2));
}
