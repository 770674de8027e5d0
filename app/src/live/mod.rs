//! The client side of streams: the snapshot the server renders into the page and the
//! connection status every live component shows.
//!
//! The server provides a [`Snapshot`] as request context while it renders a page; components
//! read it through [`SharedValue`](leptos::prelude::SharedValue), which serialises it into the
//! HTML so that hydration reads it back instead of asking the server again.

mod status;

pub use status::StreamStatus;

use crate::events::PriceTick;
use serde::{Deserialize, Serialize};

/// Current state of the feeds at the moment the server renders a page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The latest tick of each symbol the producer has published.
    pub prices: Vec<PriceTick>,
}
