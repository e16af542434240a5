//! Stores going away: `503` with `Retry-After` within a bound, never a `500`, and recovery.

use std::net::ToSocketAddrs as _;

use super::*;

/// The `process_id` a Redis server at `addr` reports in `INFO server`, if one answers.
fn redis_process_id(addr: std::net::SocketAddr) -> Option<u32> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(2);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        if let Some(rest) = text.split("process_id:").nth(1)
            && let Some((line, _)) = rest.split_once("\r\n")
        {
            return line.trim().parse().ok();
        }
    }
}

/// A private `redis-server` on a free port, killed on drop.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    /// Starts one on a free port. The port is free when chosen but may be taken before
    /// the server binds it (the tests run side by side), so the server that answers is
    /// asked for its process id: another process's server is never used by mistake.
    fn start(dir: &TempDir) -> PrivateRedis {
        for _ in 0..5 {
            if let Some(redis) = PrivateRedis::try_start(dir) {
                return redis;
            }
        }
        panic!("redis-server did not start on a free port in five attempts");
    }

    fn try_start(dir: &TempDir) -> Option<PrivateRedis> {
        let port = free_port();
        let mut child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let answered = loop {
            if let Ok(Some(_)) = child.try_wait() {
                break None; // it could not bind the port
            }
            if let Some(pid) = redis_process_id(addr) {
                break Some(pid);
            }
            if std::time::Instant::now() >= deadline {
                break None;
            }
            thread::sleep(std::time::Duration::from_millis(20));
        };
        if answered == Some(child.id()) {
            return Some(PrivateRedis {
                child,
                url: format!("redis://127.0.0.1:{port}"),
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server.
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} redis-server");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Priority 5: with Redis gone, authenticated requests are `503
/// temporarily_unavailable` with `Retry-After`: never accepted, never a `500`.
#[test]
fn redis_going_away() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: redis-server not installed");
        return;
    }
    // the kinds run side by side: most of the time is spent waiting for timeouts
    thread::scope(|scope| {
        for kind in Kind::ALL {
            scope.spawn(move || {
                let dir = TempDir::new("redis-down");
                let mut redis = PrivateRedis::start(&dir);
                let s = start_sqlite(kind, &dir, &[("AUTH_REDIS_URL", &redis.url)]);
                let (email, tokens) = s.user("redis");
                let second = s.login(&email, PASSWORD);
                assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");

                // Redis hangs: the answer is a 503 within the store's timeout, not a hang
                redis.signal("STOP");
                let started = std::time::Instant::now();
                let r = s.send(
                    &Request::new("GET", "/me")
                        .bearer(Some(&tokens.access))
                        .allow_503(),
                );
                let waited = started.elapsed();
                redis.signal("CONT");
                assert_error(
                    kind,
                    "/me with Redis hanging",
                    &r,
                    503,
                    "temporarily_unavailable",
                );
                assert!(r.header("retry-after").is_some(), "{kind}: no Retry-After");
                assert!(
                    waited < std::time::Duration::from_secs(10),
                    "{kind}: waited {waited:?}"
                );
                // ... and recovers once Redis answers again
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                loop {
                    let r = s.send(
                        &Request::new("GET", "/me")
                            .bearer(Some(&tokens.access))
                            .allow_503(),
                    );
                    if r.status == 200 {
                        break;
                    }
                    assert_eq!(
                        r.status,
                        503,
                        "{kind}: /me after Redis came back: {}",
                        r.text()
                    );
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{kind}: no recovery after Redis came back"
                    );
                    thread::sleep(std::time::Duration::from_millis(200));
                }

                // Redis is gone
                redis.kill();

                for (what, request) in store_requests(&email, &tokens, &second) {
                    let r = s.send(&request.allow_503());
                    assert_unavailable(kind, &format!("{what} with Redis down"), &r);
                }
                // a request that needs no store still works
                assert_eq!(s.get("/healthz", None).status, 200, "{kind}: healthz");
                assert_outage_logged(kind, &s.log(), &[&tokens, &second]);
                assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
            });
        }
    });
    assert_no_5xx();
}

/// The server's log reports the outage with its cause (more than the fixed "the store is
/// unavailable"), and carries neither the password, the signing secret nor a token.
fn assert_outage_logged(kind: Kind, log: &str, sessions: &[&Tokens]) {
    let outage = log
        .lines()
        .find(|line| line.contains("store_unavailable"))
        .unwrap_or_else(|| panic!("{kind}: no store_unavailable event in:\n{log}"));
    assert!(
        outage.contains("the store is unavailable: "),
        "{kind}: the outage is logged without its cause: {outage}"
    );
    println!("{kind}: {outage}");
    let mut secrets = vec![PASSWORD, SECRET];
    for tokens in sessions {
        secrets.extend([tokens.access.as_str(), tokens.refresh.as_str()]);
    }
    for secret in secrets {
        assert!(!log.contains(secret), "{kind}: a secret in the log:\n{log}");
    }
}

/// The requests that need a store, each answered `503` while it is down: `/me` and
/// `/admin` with `tokens`, a login of `email`, a refresh of `tokens`, a logout of
/// `logout`.
fn store_requests(email: &str, tokens: &Tokens, logout: &Tokens) -> Vec<(&'static str, Request)> {
    vec![
        (
            "GET /me",
            Request::new("GET", "/me").bearer(Some(&tokens.access)),
        ),
        (
            "GET /admin",
            Request::new("GET", "/admin").bearer(Some(&tokens.access)),
        ),
        (
            "POST /token",
            Request::new("POST", "/token").json(&json!({ "email": email, "password": PASSWORD })),
        ),
        (
            "POST /token/refresh",
            Request::new("POST", "/token/refresh")
                .json(&json!({ "refresh_token": tokens.refresh })),
        ),
        (
            "POST /logout",
            Request::new("POST", "/logout").bearer(Some(&logout.access)),
        ),
    ]
}

/// `503 temporarily_unavailable` with a whole number of seconds in `Retry-After`.
fn assert_unavailable(kind: Kind, what: &str, r: &Response) {
    assert_error(kind, what, r, 503, "temporarily_unavailable");
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u32>().is_ok()),
        "{kind}: {what}: no Retry-After"
    );
}

/// How long a request may take to answer `503` when its store is gone. The stores of
/// auth-sqlx wait up to 5 s for a pool connection (`acquire_timeout`) and bound every
/// call by 5 s (`query_timeout`, both `DEFAULT_TIMEOUT` in `crates/auth-sqlx`); three
/// times that leaves room for a loaded two-core machine, and is the harness's own
/// request timeout, so a hang fails as a read timeout.
const STORE_DOWN_BOUND: Duration = Duration::from_secs(15);

/// Priority 5 for PostgreSQL: with the database gone, every request that needs it is
/// `503 temporarily_unavailable` with `Retry-After`, within a bounded time, never a `500`
/// nor a success; once the database is back the same server recovers. The shared server
/// cannot be stopped (other tests use it at the same time), so each demo reaches its own
/// scratch database through a [`TcpProxy`] that the test stops and restarts on the same
/// port.
#[test]
fn postgres_going_away() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let upstream = url_host_port(&database_url, 5432)
        .to_socket_addrs()
        .expect("resolve DATABASE_URL's host")
        .next()
        .expect("an address for DATABASE_URL's host");
    // the kinds run side by side: most of the time is spent waiting for timeouts
    thread::scope(|scope| {
        for kind in Kind::ALL {
            let database_url = database_url.as_str();
            scope.spawn(move || postgres_down_and_back(kind, database_url, upstream));
        }
    });
    assert_no_5xx();
}

/// One demo on a scratch database behind a proxy: up, down (six requests, side by side,
/// each timed), and up again.
fn postgres_down_and_back(kind: Kind, database_url: &str, upstream: std::net::SocketAddr) {
    // created and dropped through the real server, never the proxy
    let db = ScratchDatabase::create(database_url);
    let mut proxy = TcpProxy::start(upstream);
    let via_proxy = url_with_host_port(&db.url, &proxy.addr().to_string());
    let dir = TempDir::new("pg-down");
    let s = Server::start(
        kind,
        &[
            ("AUTH_DATABASE_URL", via_proxy.as_str()),
            ("AUTH_JWT_SECRET", SECRET),
        ],
        dir.path(),
    );
    let (email, tokens) = s.user("pg-down");
    let second = s.login(&email, PASSWORD);
    assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");

    // PostgreSQL is gone: its connections cut, new ones refused
    proxy.stop();
    let mut requests = store_requests(&email, &tokens, &second);
    requests.push((
        "POST /users",
        Request::new("POST", "/users")
            .json(&json!({ "email": authcore_contract::email("pg-down"), "password": PASSWORD })),
    ));
    // side by side too, each timed on its own
    let answers: Vec<(&str, Response, Duration)> = thread::scope(|scope| {
        let handles: Vec<_> = requests
            .into_iter()
            .map(|(what, request)| {
                let s = &s;
                scope.spawn(move || {
                    let started = Instant::now();
                    let r = s.send(&request.allow_503());
                    (what, r, started.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a request thread"))
            .collect()
    });
    let mut timings = Vec::new();
    for (what, r, waited) in &answers {
        let what = format!("{what} with PostgreSQL down");
        assert_unavailable(kind, &what, r);
        assert!(
            *waited < STORE_DOWN_BOUND,
            "{kind}: {what}: answered after {waited:?}"
        );
        timings.push(format!("{what}: {waited:.1?}"));
    }
    println!("{kind}: {}", timings.join(", "));
    // a request that needs no store still works
    assert_eq!(s.get("/healthz", None).status, 200, "{kind}: healthz");

    // PostgreSQL is back on the same address: the same server recovers, no restart
    proxy.restart();
    let started = Instant::now();
    loop {
        let r = s.send(
            &Request::new("GET", "/me")
                .bearer(Some(&tokens.access))
                .allow_503(),
        );
        if r.status == 200 {
            break;
        }
        assert_error(
            kind,
            "/me after PostgreSQL came back",
            &r,
            503,
            "temporarily_unavailable",
        );
        assert!(
            started.elapsed() < STORE_DOWN_BOUND,
            "{kind}: no recovery {:?} after PostgreSQL came back",
            started.elapsed()
        );
        thread::sleep(Duration::from_millis(200));
    }
    println!(
        "{kind}: /me 200 again {:.1?} after PostgreSQL came back",
        started.elapsed()
    );
    let again = s.login(&email, PASSWORD);
    assert_eq!(s.get("/me", Some(&again.access)).status, 200, "{kind}");
    // the outage spent nothing: the refresh token refused with 503 still works
    let r = refresh(&s, &tokens.refresh);
    assert_eq!(
        r.status,
        200,
        "{kind}: refresh after recovery: {}",
        r.text()
    );
    assert_eq!(s.get("/me", Some(&second.access)).status, 200, "{kind}");
    assert_outage_logged(kind, &s.log(), &[&tokens, &second, &again]);
    assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
}
