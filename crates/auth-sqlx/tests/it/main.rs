//! Integration tests of auth-sqlx: the authcore conformance suite against SQLite (a
//! temporary file) and PostgreSQL (`DATABASE_URL`, a fresh schema per test), plus
//! concurrency, restart, fault, configuration and migration tests. One test binary, to
//! save link time.
#![allow(clippy::unwrap_used)] // helpers of a test binary: a failed unwrap is a failed test

mod app_migrations;
mod config;
mod postgres;
mod single;
mod sqlite;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The query timeout of the stores under test.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(1);
/// How long a call may take to report an unavailable store: the timeout plus slack for a
/// loaded two-core machine.
pub(crate) const WITHIN: Duration = Duration::from_millis(2500);

/// A name unique across processes and runs: lowercase letters and digits.
pub(crate) fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{tag}_{:016x}", h.finish())
}

/// A local TCP port with nothing listening on it.
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
