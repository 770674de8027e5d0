//! The demo's integration tests, in one test binary (`cargo test -p server --test demo`):
//! the engine's and the starter's behaviour (authorization, replay, limits, hardening,
//! scale-out, framing) shown through the demo's channels and endpoints, over real HTTP and, for
//! scale-out, real Redis. Deleted with the demo; the starter's own tests are `tests/*.rs`.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod authorization;
mod dashboard;
mod failover;
mod feeds;
mod framing;
mod hardening;
mod limits;
mod ownership;
mod replay;
mod retries;
mod scale_out;
mod streams;
mod subscriptions;
