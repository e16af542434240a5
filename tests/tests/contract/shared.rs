//! Instances sharing PostgreSQL (and Redis), and racing refreshes.

use super::*;

/// Priority 4: two instances (of two different demos) sharing PostgreSQL and Redis see
/// each other's logouts and spent refresh tokens at once.
#[test]
fn shared_postgres_and_redis() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let Some(redis_url) = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: REDIS_URL not set");
        return;
    };
    let db = ScratchDatabase::create(&database_url);
    let dir = TempDir::new("shared");
    let env = [
        ("AUTH_DATABASE_URL", db.url.as_str()),
        ("AUTH_REDIS_URL", redis_url.as_str()),
        ("AUTH_JWT_SECRET", SECRET),
    ];
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        shared_pair(kind, Kind::ALL[(i + 1) % Kind::ALL.len()], &env, dir.path());
    }
    assert_no_5xx();
}

/// Priority 4 without Redis: revocations and refresh tokens kept in PostgreSQL are shared
/// just the same.
#[test]
fn shared_postgres_without_redis() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let db = ScratchDatabase::create(&database_url);
    let dir = TempDir::new("shared-pg");
    let env = [
        ("AUTH_DATABASE_URL", db.url.as_str()),
        ("AUTH_JWT_SECRET", SECRET),
    ];
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        shared_pair(kind, Kind::ALL[(i + 2) % Kind::ALL.len()], &env, dir.path());
    }
    assert_no_5xx();
}

/// One instance of `kind` and one of `other` on the same stores: a spent refresh token,
/// a reused family and a logout are seen by both at once, and a refresh race split over
/// both has one winner.
fn shared_pair(kind: Kind, other: Kind, env: &[(&str, &str)], dir: &std::path::Path) {
    let a = Server::start(kind, env, dir);
    let b = Server::start(other, env, dir);
    let pair = format!("{kind} + {other}");

    let email = email("shared");
    a.register(&email, PASSWORD);
    let first = b.login(&email, PASSWORD);
    assert_eq!(a.get("/me", Some(&first.access)).status, 200, "{pair}");

    // a refresh token spent on one cannot be used on the other
    let r = refresh(&a, &first.refresh);
    assert_eq!(r.status, 200, "{pair}: refresh: {}", r.text());
    let second = Tokens::from_response(kind, &r);
    let r = refresh(&b, &first.refresh);
    assert_error(
        other,
        "refresh token spent on the other instance",
        &r,
        401,
        "invalid_grant",
    );
    let r = refresh(&a, &second.refresh);
    assert_error(
        kind,
        "family revoked on the other instance",
        &r,
        401,
        "invalid_grant",
    );

    // a logout on one is seen by the other at once
    let third = a.login(&email, PASSWORD);
    assert_eq!(b.get("/me", Some(&third.access)).status, 200, "{pair}");
    let r = b.send(&Request::new("POST", "/logout").bearer(Some(&third.access)));
    assert_eq!(r.status, 204, "{pair}: logout");
    assert_invalid_token(
        kind,
        "logged out on the other instance",
        &a.get("/me", Some(&third.access)),
    );
    let r = refresh(&a, &third.refresh);
    assert_error(
        kind,
        "family logged out on the other instance",
        &r,
        401,
        "invalid_grant",
    );

    // the refresh race, split over both instances: exactly one wins
    let fourth = a.login(&email, PASSWORD);
    let statuses = race(&[&a, &b], &fourth.refresh);
    let winners = statuses.iter().filter(|&&st| st == 200).count();
    assert_eq!(winners, 1, "{pair}: {statuses:?}");
    assert!(
        statuses.iter().all(|&st| st == 200 || st == 401),
        "{pair}: {statuses:?}"
    );

    assert_eq!(a.stop().code(), Some(0), "{kind}: exit status");
    assert_eq!(b.stop().code(), Some(0), "{other}: exit status");
}

/// Sixteen threads, spread over `servers`, refresh `token` at once; their statuses.
fn race(servers: &[&Server], token: &str) -> Vec<u16> {
    const RACERS: usize = 16;
    let barrier = Barrier::new(RACERS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let server = servers[i % servers.len()];
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    refresh(server, token).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer"))
            .collect()
    })
}

/// Priority 6: sixteen concurrent refreshes of one token: exactly one wins.
#[test]
fn concurrent_refresh_race() {
    for kind in Kind::ALL {
        let dir = TempDir::new("race");
        let s = start_sqlite(kind, &dir, &[]);
        let (_, tokens) = s.user("race");
        let statuses = race(&[&s], &tokens.refresh);
        let winners = statuses.iter().filter(|&&st| st == 200).count();
        assert_eq!(winners, 1, "{kind}: {statuses:?}");
        assert!(
            statuses.iter().all(|&st| st == 200 || st == 401),
            "{kind}: {statuses:?}"
        );
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}
