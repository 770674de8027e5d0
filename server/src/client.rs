//! The client's address, which the per-address stream limit counts by.
//!
//! It is the TCP peer's address, unless the peer is one of the configured trusted proxies
//! (`TRUSTED_PROXIES`): then it is the nearest address in `X-Forwarded-For` that is not itself a
//! trusted proxy. The header is never read from anyone else, because any client can send it:
//! trusting it from the open internet would let one client pose as many and escape the limit.

use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::{IpNet, Ipv4Net};

use crate::AppState;

/// Networks whose requests may name the client in `X-Forwarded-For`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `TRUSTED_PROXIES` entry that is neither an address nor a network.
#[derive(Debug, PartialEq, Eq)]
pub struct BadNetwork(pub String);

impl FromStr for TrustedProxies {
    type Err = BadNetwork;

    /// `10.0.0.5, 10.1.0.0/16, ::1`: addresses or networks, comma-separated.
    fn from_str(list: &str) -> Result<Self, BadNetwork> {
        let network = |entry: &str| -> Option<IpNet> {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => IpNet::from(entry.parse::<IpAddr>().ok()?),
            };
            Some(canonical_net(net))
        };
        list.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| network(entry).ok_or_else(|| BadNetwork(entry.to_string())))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `addr` lies in one of the networks.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 network it maps
/// (`10.0.0.0/8`), so that it matches the canonical addresses [`TrustedProxies::contains`]
/// compares; any other network as it is.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        _ => net,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, from dual-stack listeners) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for a request from `peer`; see the module documentation.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    if !trusted.contains(peer) {
        return canonical(peer);
    }
    // Each proxy appends the address it received from, so the list is read from the right;
    // everything left of the first untrusted hop may have been written by the client.
    let mut nearest = canonical(peer);
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let hop = hop.trim();
        let Some(addr) = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
            .ok()
        else {
            // Garbage: stop at the last hop we can vouch for.
            return nearest;
        };
        nearest = canonical(addr);
        if !trusted.contains(addr) {
            return nearest;
        }
    }
    nearest
}

/// The client's address, when the server knows its peer (always, when served through
/// `crate::serve`; router-only tests have none).
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(peer.map(|peer| {
            client_addr(peer, &parts.headers, &state.config.trusted_proxies)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        headers
    }

    /// Addresses and networks of both families parse; anything else names the bad entry.
    #[test]
    fn parses_networks() {
        let trusted: TrustedProxies = "10.0.0.5, 10.1.0.0/16, ::1, fd00::/8".parse().unwrap();
        for inside in [
            "10.0.0.5",
            "10.1.200.3",
            "::1",
            "fd12::7",
            "::ffff:10.0.0.5",
        ] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["10.0.0.6", "10.2.0.1", "::2", "fe80::1", "203.0.113.9"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
        assert!(
            "0.0.0.0/0"
                .parse::<TrustedProxies>()
                .unwrap()
                .contains(ip("1.2.3.4"))
        );
        for bad in ["10.0.0.0/33", "nginx", "10.0.0.1/x", "::1/129", "10.0.0.0/"] {
            assert_eq!(
                bad.parse::<TrustedProxies>(),
                Err(BadNetwork(bad.to_string()))
            );
        }
    }

    /// An IPv4-mapped network (as a dual-stack listener reports peers) is the IPv4 network it
    /// maps, whatever its prefix length (a short one once underflowed the prefix arithmetic).
    #[test]
    fn ipv4_mapped_networks_are_ipv4_networks() {
        let trusted: TrustedProxies = "::ffff:10.0.0.0/104, ::ffff:192.0.2.7".parse().unwrap();
        for inside in ["10.1.2.3", "::ffff:10.9.9.9", "192.0.2.7"] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "::1"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
        let wide: TrustedProxies = "::ffff:0.0.0.0/96".parse().unwrap();
        assert!(
            wide.contains(ip("203.0.113.9")),
            "/96 maps every IPv4 address"
        );
        let short: TrustedProxies = "::/8".parse().unwrap();
        assert!(short.contains(ip("::1")), "a plain IPv6 network stays one");
    }

    /// The header is ignored unless the peer is trusted; then the nearest untrusted hop wins,
    /// so addresses a client writes itself (left of it) change nothing.
    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let spoofed = forwarded(&["1.1.1.1"]);
        assert_eq!(
            client_addr(ip("203.0.113.9"), &spoofed, &trusted),
            ip("203.0.113.9"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_addr(
                ip("10.0.0.2"),
                &forwarded(&["1.1.1.1, 198.51.100.7"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_addr(
                ip("10.0.0.2"),
                &forwarded(&["1.1.1.1", "198.51.100.7, 10.0.0.3"]),
                &trusted
            ),
            ip("198.51.100.7"),
            "several headers and a chain of proxies"
        );
        assert_eq!(
            client_addr(ip("10.0.0.2"), &forwarded(&["198.51.100.7:5000"]), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_addr(
                ip("10.0.0.2"),
                &forwarded(&["1.1.1.1, junk, 10.0.0.3"]),
                &trusted
            ),
            ip("10.0.0.3"),
            "garbage stops the walk at the last trusted hop"
        );
        assert_eq!(
            client_addr(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_addr(ip("10.0.0.2"), &spoofed, &TrustedProxies::default()),
            ip("10.0.0.2"),
            "no trusted proxies: never read"
        );
    }
}
