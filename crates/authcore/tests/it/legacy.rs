//! Hashes authcore did not make (features `bcrypt`, `pbkdf2`, `scrypt`): known answers
//! from each scheme's reference, the upgrade to argon2id at login, and the refusal, as a
//! failed login with a warning, of what cannot be verified.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authcore::store::NewUser;
use authcore::store::memory::MemoryUserStore;
use authcore::testing::{TestAuth, fast_hasher};
use authcore::{AuthError, Authenticator, PasswordHash, UnusableReason, UserStore, Verification};
use proptest::prelude::*;

use crate::flow::captured_logs;

/// Verifies `password` against `stored` with the test hasher.
fn verify(password: &str, stored: &str) -> Verification {
    fast_hasher()
        .verify(password, &PasswordHash::new(stored))
        .unwrap()
}

/// `stored` matches `password`, needing a rehash, and not `wrong`.
fn assert_known_answer(password: &str, wrong: &str, stored: &str) {
    assert_eq!(
        verify(password, stored),
        Verification::MatchNeedsRehash,
        "{stored}"
    );
    assert_eq!(verify(wrong, stored), Verification::Mismatch, "{stored}");
}

/// Openwall's crypt_blowfish test vectors (`wrapper.c`, the reference of OpenBSD's
/// `$2a$`/`$2b$`/`$2y$`), cross-checked with libxcrypt's `crypt(3)`. The last `$2a$` one
/// shows that only the first 72 bytes count; `$2b$` and `$2y$` give the `$2a$` hash for
/// an ASCII password.
#[test]
fn bcrypt_known_answers() {
    for (password, stored) in [
        (
            "U*U",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        (
            "U*U*",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
        ),
        (
            "",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
        ),
        (
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
        ),
        (
            "U*U",
            "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        (
            "U*U",
            "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
    ] {
        assert_known_answer(password, "U*U*U", stored);
    }
}

/// Django 1.4's test of `make_password("lètmein", "seasalt", "pbkdf2_sha256")`
/// (`django/contrib/auth/tests/hashers.py`, `test_pkbdf2`; 10,000 iterations).
const DJANGO_1_4: &str = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=";

/// Django's own tests of `make_password("lètmein", "seasalt", "pbkdf2_sha256")`: 1.4's
/// and 5.1's (`tests/auth_tests/test_hashers.py`, `test_pbkdf2`; 870,000 iterations),
/// both cross-checked with Python's `hashlib.pbkdf2_hmac`. The wrong password is tried
/// on the cheaper one only: 870,000 iterations take seconds in a debug build.
#[test]
fn django_pbkdf2_sha256_known_answers() {
    assert_known_answer("lètmein", "lètmeinz", DJANGO_1_4);
    assert_eq!(
        verify(
            "lètmein",
            "pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac="
        ),
        Verification::MatchNeedsRehash
    );
}

/// RFC 7914 §11's PBKDF2-HMAC-SHA256 vectors (P = "passwd", S = "salt", c = 1 and
/// P = "Password", S = "NaCl", c = 80000; dkLen = 64) as PHC strings: the salt and the
/// published derived key in unpadded base64, with and without `l`.
#[test]
fn phc_pbkdf2_sha256_known_answers() {
    assert_known_answer(
        "passwd",
        "Passwd",
        "$pbkdf2-sha256$i=1,l=64$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
    );
    assert_known_answer(
        "Password",
        "password",
        "$pbkdf2-sha256$i=80000$TmFDbA$TdzY9guYviGDDO5e8icB+WQaRBjQTAQUrv8Ih2s0q1ah1CWhIlgzVJrbhBtRybMXaicr3ruh0HhHj2Kzl/M8jQ",
    );
}

/// RFC 7914 §12's scrypt vectors (P = "password", S = "NaCl", N = 1024, r = 8, p = 16
/// and P = "pleaseletmein", S = "SodiumChloride", N = 16384, r = 8, p = 1; dkLen = 64)
/// as PHC strings, cross-checked with Python's `hashlib.scrypt`.
#[test]
fn scrypt_known_answers() {
    assert_known_answer(
        "password",
        "Password",
        "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
    );
    assert_known_answer(
        "pleaseletmein",
        "pleaseletmeout",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofLVQylVYT8Pz2LUlwUkKpr55h6F3A1lHkDfzwF7RVdYhw",
    );
}

/// An authenticator with the test hasher over `users`.
fn authenticator(users: Arc<MemoryUserStore>) -> Authenticator {
    Authenticator::builder()
        .jwt(TestAuth::new().jwt)
        .memory_stores()
        .users(users)
        .password_hasher(fast_hasher())
        .build()
        .unwrap()
}

/// A store holding one user, `email`, whose hash is `stored`; and its id.
async fn one_user(email: &str, stored: &str) -> (Arc<MemoryUserStore>, String) {
    let users = Arc::new(MemoryUserStore::new());
    let user = users
        .create(NewUser::new(email, PasswordHash::new(stored), vec![]))
        .await
        .unwrap();
    (users, user.id)
}

/// A user brought over with a legacy hash logs in, and the store then holds an argon2id
/// hash of the same password, with which the next login succeeds; a wrong password is
/// refused before and after.
#[tokio::test]
async fn legacy_hashes_are_upgraded_to_argon2id_at_login() {
    for (password, stored) in [
        (
            "U*U",
            "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        ("lètmein", DJANGO_1_4),
        (
            "password",
            "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
        ),
    ] {
        let email = "legacy@example.com";
        let (users, _) = one_user(email, stored).await;
        let auth = authenticator(users.clone());
        assert!(matches!(
            auth.login(email, "wrong").await,
            Err(AuthError::InvalidGrant)
        ));
        auth.login(email, password).await.unwrap();
        let upgraded = users.find_by_email(email).await.unwrap().unwrap();
        assert!(
            upgraded
                .password_hash
                .as_str()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{stored} was not upgraded"
        );
        assert_eq!(
            fast_hasher()
                .verify(password, &upgraded.password_hash)
                .unwrap(),
            Verification::Match
        );
        auth.login(email, password).await.unwrap();
        assert!(matches!(
            auth.login(email, "wrong").await,
            Err(AuthError::InvalidGrant)
        ));
    }
}

/// The lines of the captured logs about `user_id`'s refused logins for an unusable hash.
fn unusable_lines(logs: &str, user_id: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains(user_id) && l.contains("unusable_password_hash"))
        .map(str::to_owned)
        .collect()
}

/// A scheme authcore does not verify, or a string of no scheme at all (a password kept
/// in clear), fails the login as a wrong password does, with a warning naming the scheme
/// once per user, and nothing of the hash in the logs. The hash is kept.
#[test]
fn unknown_schemes_fail_the_login_with_one_warning() {
    let captured = captured_logs();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        ("$md5$rounds=904$Vd3f8aG6$y2gBB2vUJ3mOIJNQKmLNk1", "$md5$"),
        (
            "sha1$a1976$3a8b2c9d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b",
            "sha1",
        ),
        ("plain-text-secret", "unknown"),
    ];
    let mut ids = Vec::new();
    rt.block_on(async {
        for (stored, _) in cases {
            let email = "moved@example.com";
            let (users, id) = one_user(email, stored).await;
            let auth = authenticator(users.clone());
            for _ in 0..2 {
                let refused = auth.login(email, "plain-text-secret").await;
                assert!(
                    matches!(refused, Err(AuthError::InvalidGrant)),
                    "{stored}: {refused:?}"
                );
            }
            let kept = users.find_by_email(email).await.unwrap().unwrap();
            assert_eq!(kept.password_hash.as_str(), stored);
            ids.push(id);
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for ((stored, scheme), id) in cases.into_iter().zip(ids) {
        let lines = unusable_lines(&logs, &id);
        assert_eq!(lines.len(), 2, "{stored}: {lines:?}");
        assert!(lines[0].contains(" WARN "), "{}", lines[0]);
        assert!(lines[1].contains(" INFO "), "once per user: {}", lines[1]);
        for line in &lines {
            assert!(line.contains(&format!("scheme=\"{scheme}\"")), "{line}");
            assert!(line.contains("unknown_scheme"), "{line}");
        }
        assert!(!logs.contains(stored), "the hash {stored} was logged");
    }
}

/// A work factor above the cap is refused at once, without hashing it: a failed login,
/// warned about as `cost_too_high`.
#[test]
fn absurd_work_factors_are_refused_quickly() {
    let captured = captured_logs();
    let cases = [
        (
            "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2b$",
        ),
        (
            "$2y$17$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2y$",
        ),
        (
            "pbkdf2_sha256$4000000000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=",
            "pbkdf2_sha256",
        ),
        (
            "pbkdf2_sha256$99999999999999999999$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=",
            "pbkdf2_sha256",
        ),
        (
            "$pbkdf2-sha256$i=4294967295$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
            "$pbkdf2-sha256$",
        ),
        // log2 N above 20; then 1 GiB of memory; then 2^14 · 8 · 4096 · 128 bytes mixed
        (
            "$scrypt$ln=40,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
            "$scrypt$",
        ),
        (
            "$scrypt$ln=20,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
            "$scrypt$",
        ),
        (
            "$scrypt$ln=14,r=8,p=4096$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
            "$scrypt$",
        ),
    ];
    for (stored, scheme) in cases {
        let started = Instant::now();
        let Verification::Unusable(unusable) = verify("password", stored) else {
            panic!("{stored} was verified");
        };
        assert_eq!(
            (unusable.scheme(), unusable.reason()),
            (scheme, UnusableReason::CostTooHigh)
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{stored}: {:?}",
            started.elapsed()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id = rt.block_on(async {
        let email = "costly@example.com";
        let (users, id) = one_user(email, cases[0].0).await;
        let started = Instant::now();
        let refused = authenticator(users).login(email, "U*U").await;
        assert!(matches!(refused, Err(AuthError::InvalidGrant)));
        assert!(started.elapsed() < Duration::from_secs(2));
        id
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines = unusable_lines(&logs, &id);
    assert!(
        lines.len() == 1 && lines[0].contains(" WARN ") && lines[0].contains("cost_too_high"),
        "{lines:?}"
    );
}

/// Malformed strings of each verified scheme are unusable, never a match or an error.
#[test]
fn malformed_legacy_strings_are_unusable() {
    for stored in [
        "$2b$05$short",
        "$2b$xx$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOé",
        "pbkdf2_sha256$870000$seasalt",
        "pbkdf2_sha256$0$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=",
        "pbkdf2_sha256$-1$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=",
        "pbkdf2_sha256$1000$seasalt$not base64",
        "pbkdf2_sha256$1000$seasalt$c2hvcnQ=",
        "pbkdf2_sha256$1000$$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=",
        "pbkdf2_sha256$1000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=$extra",
        "$pbkdf2-sha256$29000$N2ZPaPWxxxx$abc",
        "$pbkdf2-sha256$i=1,l=32$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
        "$pbkdf2-sha256$i=0$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
        "$pbkdf2-sha256$i=1",
        "$scrypt$ln=10,r=0,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
        "$scrypt$ln=10,r=8,p=16,x=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
        "$scrypt$",
    ] {
        let Verification::Unusable(unusable) = verify("password", stored) else {
            panic!("{stored} is usable");
        };
        assert_eq!(unusable.reason(), UnusableReason::Malformed, "{stored}");
    }
}

/// The prefixes `verify` recognizes, followed by anything in the property below.
const PREFIXES: [&str; 8] = [
    "",
    "$2b$",
    "$2y$04$",
    "pbkdf2_sha256$",
    "pbkdf2_sha256$1$s$",
    "$pbkdf2-sha256$",
    "$scrypt$ln=1,r=1,p=1$",
    "$argon2id$",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No stored string makes `verify` panic or fail: every one is a verdict.
    #[test]
    fn no_stored_string_panics_verify(prefix in 0..PREFIXES.len(), tail in "\\PC{0,80}") {
        let stored = format!("{}{tail}", PREFIXES[prefix]);
        let verdict = fast_hasher().verify("password", &PasswordHash::new(stored));
        prop_assert!(verdict.is_ok(), "{verdict:?}");
    }
}
