//! The [`UserStore`] contract: lookups, creation, conflicts and updates, and a creation
//! race across two instances.

use super::*;

/// Checks a [`UserStore`]: creation, case-insensitive lookups, [`StoreError::Conflict`]
/// on a taken email (also under a race of concurrent registrations), every update and
/// [`StoreError::NotFound`] for unknown ids.
///
/// # Panics
/// On the first violation of the contract, naming the rule.
pub async fn user_store(store: Arc<dyn UserStore>) {
    let s = &*store;
    let tag = unique("ada");
    let email = format!("{tag}@example.com");
    let before = OffsetDateTime::now_utc() - Duration::seconds(2);
    let ada = ok(
        "create",
        s.create(NewUser {
            email: email.clone(),
            password_hash: PasswordHash::new(HASH_A),
            roles: vec!["user".to_owned()],
        })
        .await,
    );
    let after = OffsetDateTime::now_utc() + Duration::seconds(2);
    assert!(!ada.id.is_empty(), "create assigns an id");
    assert_eq!(ada.email, email, "create keeps the email");
    assert_eq!(ada.password_hash.as_str(), HASH_A, "create keeps the hash");
    assert_eq!(ada.roles, ["user"], "create keeps the roles");
    assert!(!ada.disabled, "a new user is enabled");
    assert!(
        before <= ada.created_at && ada.created_at <= after,
        "create sets created_at to the current time"
    );

    assert_eq!(
        find_id(s, &ada.id).await.as_ref(),
        Some(&ada),
        "find_by_id returns the created user"
    );
    assert_eq!(
        find_email(s, &email).await.as_ref(),
        Some(&ada),
        "find_by_email returns the created user"
    );
    assert_eq!(
        find_email(s, &email.to_uppercase()).await.as_ref(),
        Some(&ada),
        "email lookups are case-insensitive"
    );
    assert_eq!(
        find_email(s, &format!("x{email}")).await,
        None,
        "unknown email is Ok(None)"
    );
    assert_eq!(
        find_id(s, &unique("no-such-id")).await,
        None,
        "unknown id is Ok(None)"
    );

    let dup = s
        .create(NewUser {
            email: email.to_uppercase(),
            password_hash: PasswordHash::new(HASH_B),
            roles: vec![],
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict)),
        "an email taken in another case is a Conflict, got {dup:?}"
    );

    let mixed = format!("Grace.{tag}@Example.COM");
    let grace = ok(
        "create",
        s.create(NewUser {
            email: mixed.clone(),
            password_hash: PasswordHash::new(HASH_B),
            roles: vec![],
        })
        .await,
    );
    assert_ne!(grace.id, ada.id, "every user gets its own id");
    assert_eq!(
        find_email(s, &mixed.to_lowercase()).await.map(|u| u.email),
        Some(mixed.clone()),
        "a mixed-case email is found in lowercase and returned as stored"
    );

    ok(
        "update_password_hash",
        s.update_password_hash(&ada.id, &PasswordHash::new(HASH_B))
            .await,
    );
    let roles = vec!["admin".to_owned(), "ops".to_owned()];
    ok("set_roles", s.set_roles(&ada.id, &roles).await);
    ok("set_disabled", s.set_disabled(&ada.id, true).await);
    let got = find_id(s, &ada.id)
        .await
        .unwrap_or_else(|| panic!("updated user vanished"));
    assert_eq!(
        got.password_hash.as_str(),
        HASH_B,
        "update_password_hash replaces the hash"
    );
    assert_eq!(got.roles, roles, "set_roles replaces the roles, in order");
    assert!(got.disabled, "set_disabled(true) disables");
    assert_eq!(
        (got.id.as_str(), got.email.as_str(), got.created_at),
        (ada.id.as_str(), email.as_str(), ada.created_at),
        "updates keep id, email and created_at"
    );
    ok("set_roles", s.set_roles(&ada.id, &[]).await);
    ok("set_disabled", s.set_disabled(&ada.id, false).await);
    let got = find_email(s, &email)
        .await
        .unwrap_or_else(|| panic!("updated user vanished"));
    assert!(got.roles.is_empty(), "set_roles(&[]) clears the roles");
    assert!(!got.disabled, "set_disabled(false) re-enables");
    assert_eq!(
        find_id(s, &grace.id).await.as_ref(),
        Some(&grace),
        "updates touch only their user"
    );

    let nobody = unique("no-such-user");
    let r = s
        .update_password_hash(&nobody, &PasswordHash::new(HASH_A))
        .await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "update_password_hash of an unknown id is NotFound, got {r:?}"
    );
    let r = s.set_roles(&nobody, &roles).await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "set_roles of an unknown id is NotFound, got {r:?}"
    );
    let r = s.set_disabled(&nobody, true).await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "set_disabled of an unknown id is NotFound, got {r:?}"
    );

    user_create_race(store.clone(), store).await;
}

/// Races 16 concurrent registrations of one email (in different cases),
/// alternating between `a` and `b` (two pools or two processes' stores on one database):
/// exactly one succeeds, every other one is a [`StoreError::Conflict`], and both stores
/// then find the winner.
///
/// # Panics
/// If not exactly one registration succeeds, or another error occurs.
pub async fn user_create_race(a: Arc<dyn UserStore>, b: Arc<dyn UserStore>) {
    let email = format!("{}@example.com", unique("race"));
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let email = if i % 3 == 0 {
                email.to_uppercase()
            } else {
                email.clone()
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .create(NewUser {
                        email,
                        password_hash: PasswordHash::new(HASH_A),
                        roles: vec![],
                    })
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap_or_else(|e| panic!("racer panicked: {e}")) {
            Ok(user) => winners.push(user),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("concurrent registration: expected Ok or Conflict, got {e} ({e:?})"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "of {RACERS} concurrent registrations of one email, exactly one succeeds"
    );
    for store in [&a, &b] {
        let found = find_email(&**store, &email).await.map(|u| u.id);
        assert_eq!(
            found.as_deref(),
            Some(winners[0].id.as_str()),
            "both stores see the single winner"
        );
    }
}
