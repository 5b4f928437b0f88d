//! Integration tests of the egress engine against real loopback servers: every entry point,
//! the bypass corpus, the DNS stub, the decision log, concurrency, and curl driven through
//! the proxy. Verdicts are checked from the upstream servers' side (what reached them).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod bypass;
mod curl;
mod dns;
mod entry_points;
mod support;
mod transparent;
