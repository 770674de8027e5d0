//! Who opens a stream ([`Client`]), how many may be open ([`StreamLimits`]) and the refusal
//! when one is reached ([`Refused`]).

use std::net::IpAddr;

/// Who is opening a stream: the signed-in user, if any, and the client's address, if known
/// (an app finds it behind a trusted proxy).
#[derive(Clone, Copy, Debug, Default)]
pub struct Client<'a> {
    pub user: Option<&'a str>,
    pub addr: Option<IpAddr>,
}

impl<'a> Client<'a> {
    /// A client known only by its user (tests, producers).
    pub fn user(user: Option<&'a str>) -> Self {
        Self { user, addr: None }
    }
}

/// How many streams may be open at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// In all, over every client (keep it below the process's open-file limit).
    pub total: usize,
    /// From one client address (an IPv4 address, or an IPv6 /64).
    pub per_address: usize,
    /// Per signed-in user.
    pub per_user: usize,
}

/// A stream refused by one of the [`StreamLimits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the server holds its limit of {limit} streams; try again shortly")]
    Total { limit: usize },
    #[error("at most {limit} open streams per address; close one first")]
    Address { limit: usize },
    #[error("at most {limit} open streams per user; close one first")]
    User { limit: usize },
}
