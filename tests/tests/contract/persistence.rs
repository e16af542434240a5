//! What survives a restart, and one instance per SQLite file.

use super::*;

/// Priority 3: revocations and users survive a restart on the same SQLite file.
#[test]
fn restart_keeps_revocations() {
    for kind in Kind::ALL {
        let dir = TempDir::new("restart");
        let s = start_sqlite(kind, &dir, &[]);
        let (email, out) = s.user("restart");
        let kept = s.login(&email, PASSWORD);
        let r = s.send(&Request::new("POST", "/logout").bearer(Some(&out.access)));
        assert_eq!(r.status, 204, "{kind}: logout");
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");

        let s = start_sqlite(kind, &dir, &[]);
        assert_invalid_token(
            kind,
            "logged-out token after a restart",
            &s.get("/me", Some(&out.access)),
        );
        let r = refresh(&s, &out.refresh);
        assert_error(
            kind,
            "logged-out family after a restart",
            &r,
            401,
            "invalid_grant",
        );
        let r = s.get("/me", Some(&kept.access));
        assert_eq!(r.status, 200, "{kind}: other session after a restart");
        let again = s.login(&email, PASSWORD);
        assert_eq!(s.get("/me", Some(&again.access)).status, 200, "{kind}");
        let r = refresh(&s, &kept.refresh);
        assert_eq!(
            r.status,
            200,
            "{kind}: refresh after a restart: {}",
            r.text()
        );
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// One demo per SQLite file: without Redis a demo reads revocations from its in-memory
/// mirror, so a second instance on the same file, whose logouts the first would never
/// see, must not start. It exits with a message naming `AUTH_DATABASE_URL` (and not its
/// value), the first keeps serving, and once the first has stopped the second starts.
#[test]
fn one_instance_per_sqlite_file() {
    for kind in Kind::ALL {
        let dir = TempDir::new("exclusive");
        let db = dir.sqlite_url("db.sqlite");
        let env = [
            ("AUTH_DATABASE_URL", db.as_str()),
            ("AUTH_JWT_SECRET", SECRET),
        ];
        let first = Server::start(kind, &env, dir.path());
        for other in Kind::ALL {
            let exit = other.run_to_exit(
                &[("AUTH_ADDR", "127.0.0.1:0"), env[0], env[1]],
                dir.path(),
                BAD_START_BOUND,
            );
            let status = exit
                .status
                .unwrap_or_else(|| panic!("{other} beside {kind}: still running: {}", exit.stdout));
            assert!(
                status.code().is_some_and(|c| c != 0) && !exit.stdout.contains("listening on"),
                "{other} started beside {kind} on its SQLite file: {status} {}",
                exit.stdout
            );
            assert!(
                exit.stderr.contains("AUTH_DATABASE_URL") && exit.stderr.contains("in use"),
                "{other} beside {kind}: {}",
                exit.stderr
            );
            assert!(
                !exit.stderr.contains("db.sqlite"),
                "{other}: the value is shown"
            );
        }
        assert_eq!(first.get("/healthz", None).status, 200, "{kind}");
        first.stop();
        let second = Server::start(kind, &env, dir.path());
        assert_eq!(second.get("/healthz", None).status, 200, "{kind}");
        second.stop();
    }
    assert_no_5xx();
}
