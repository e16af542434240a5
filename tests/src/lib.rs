//! The harness of the black-box HTTP contract suite (`docs/http-contract.md`).
//!
//! [`Server::start`] runs one of the demo binaries (`example-axum`, `example-actix`,
//! `example-rocket`) on a free loopback port, [`Server::send`] talks to it with a tiny
//! HTTP/1.1 client over [`TcpStream`](std::net::TcpStream) (so tests can also send
//! bytes no HTTP library would), and the JWT helpers forge tokens. `cargo test` does not build other
//! packages' binaries, so run `cargo build --workspace` first; a missing binary fails
//! the suite with that advice.
//!
//! Every response status is logged in one global list; [`assert_no_5xx`] fails on any
//! `5xx` that the request did not declare as an expected `503`.
//!
//! [`Kind::run_to_exit`] runs a demo that is expected not to start, and [`TcpProxy`]
//! stands between a demo and a store so that the store can go away and come back on the
//! same address without stopping the real server (which other tests share).
//!
//! One module per concern: `server` (the demo processes), `http` (the client and the
//! status log), `jwt` (base64url and forging), `proxy` (store URLs and the proxy).

/// The Rust examples of the repository's `README.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

mod http;
mod jwt;
mod proxy;
mod server;

pub use http::*;
pub use jwt::*;
pub use proxy::*;
pub use server::*;

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh random lowercase hex string of `bytes` random bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique e-mail address for one test user.
pub fn email(tag: &str) -> String {
    format!("{tag}-{}@example.com", random_hex(6))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("a sane clock")
}

/// Distinct values, to check uniqueness (of `jti`, say).
pub fn distinct<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> usize {
    items.into_iter().collect::<HashSet<_>>().len()
}
