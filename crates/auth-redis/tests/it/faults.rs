//! A store whose server is absent, paused, or killed mid-run answers `Unavailable` within
//! its timeout, and recovers when the server is back. Each test starts its own
//! `redis-server` on a free port (skipped if there is none on the PATH).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_redis::RedisStore;
use authcore::testing::conformance;
use authcore::time::{self, OffsetDateTime};
use authcore::{ConfigError, RevocationStore, StoreError};

use crate::{TIMEOUT, WITHIN, raw, store, unique};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of this test's own, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// `None` (after printing why) if `redis-server` cannot be started.
    async fn start(port: u16) -> Option<Server> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            println!("skipped: redis-server not found");
            return None;
        };
        let server = Server { child, port };
        let client = redis::Client::open(server.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {port} did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn all_unavailable(store: &Arc<RedisStore>) {
    tokio::join!(
        conformance::refresh_token_store_unavailable(store.clone(), WITHIN),
        conformance::revocation_store_unavailable(store.clone(), WITHIN),
    );
}

#[tokio::test]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let lazy = RedisStore::builder()
        .url(&url)
        .response_timeout(TIMEOUT)
        .connection_timeout(TIMEOUT)
        .connect_lazy()
        .unwrap();
    all_unavailable(&Arc::new(lazy)).await;

    let started = Instant::now();
    let err = RedisStore::builder()
        .url(&url)
        .connection_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() <= WITHIN, "{:?}", started.elapsed());
}

/// Paused (hanging), then killed mid-run, then back: `Unavailable` in time throughout the
/// outage, working again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_or_stops_mid_run() {
    let port = free_port();
    let Some(mut server) = Server::start(port).await else {
        return;
    };
    let s = Arc::new(store(&server.url(), &unique("authcore_t")).await);
    let exp = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    s.revoke("jti", exp).await.unwrap();
    assert!(s.is_revoked(&["jti"]).await.unwrap());

    let mut admin = raw(&server.url()).await;
    let _: () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "60000", "ALL"])
        .query_async(&mut admin)
        .await
        .unwrap();
    all_unavailable(&s).await;

    server.kill();
    all_unavailable(&s).await;

    let restarted = Server::start(port).await.unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if s.revoke("jti-2", exp).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the store reconnects once the server is back");
    assert!(s.is_revoked(&["jti-2"]).await.unwrap());
    drop(restarted);
}

#[tokio::test]
async fn invalid_settings_are_config_errors() {
    let is_config = |e: StoreError| matches!(&e, StoreError::Backend(s) if s.downcast_ref::<ConfigError>().is_some());
    let url = "redis://127.0.0.1:1";
    assert!(is_config(RedisStore::builder().connect_lazy().unwrap_err()));
    assert!(is_config(
        RedisStore::builder()
            .url("http://x")
            .connect_lazy()
            .unwrap_err()
    ));
    assert!(is_config(
        RedisStore::builder()
            .url(url)
            .prefix("")
            .connect_lazy()
            .unwrap_err()
    ));
    assert!(is_config(
        RedisStore::builder()
            .url(url)
            .response_timeout(Duration::ZERO)
            .connect_lazy()
            .unwrap_err()
    ));
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let builder = RedisStore::builder().url("redis://:hunter2-secret@cache.example.com:6380/2");
    assert!(!format!("{builder:?}").contains("hunter2"));
    let store = builder.connect_lazy().unwrap();
    let text = format!("{store:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("cache.example.com:6380"), "{text}");
}
