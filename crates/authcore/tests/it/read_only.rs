//! A read-only user directory: a `UserStore` of two methods. Login works (and an outdated
//! hash is kept, not rehashed); registration is `403 registration_disabled`; the other
//! writes are a clear "not supported" error.

use std::sync::Arc;

use authcore::http::{self, error_response};
use authcore::store::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use authcore::testing::{TestAuth, fast_hasher};
use authcore::time::OffsetDateTime;
use authcore::{
    AuthError, Authenticator, PasswordHasher, StoreError, User, UserStore, async_trait,
};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// Users the application keeps elsewhere, read-only.
struct Directory(Vec<User>);

#[async_trait]
impl UserStore for Directory {
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.iter().find(|u| u.email == email).cloned())
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.iter().find(|u| u.id == id).cloned())
    }
}

/// An authenticator over the directory whose hasher is `hasher`; the directory's one
/// hash was made with the cheap test parameters.
fn authenticator(hasher: PasswordHasher) -> Authenticator {
    let hash = fast_hasher().hash(PASSWORD).unwrap();
    let user = User::new("u-1", EMAIL, hash, OffsetDateTime::now_utc())
        .with_roles(vec!["reader".to_owned()]);
    Authenticator::builder()
        .jwt(TestAuth::new().jwt)
        .users(Arc::new(Directory(vec![user])))
        .refresh_tokens(Arc::new(MemoryRefreshTokenStore::new()))
        .revocations(Arc::new(MemoryRevocationStore::new()))
        .password_hasher(hasher)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_read_only_directory_logs_in_and_refuses_registration() {
    let auth = authenticator(fast_hasher());
    let pair = auth.login(EMAIL, PASSWORD).await.unwrap();
    let header = format!("Bearer {}", pair.access_token);
    let claims = auth.authenticate(Some(header.as_bytes())).await.unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.roles.as_slice()),
        ("u-1", &["reader".to_owned()][..])
    );
    auth.refresh(&pair.refresh_token).await.unwrap();
    assert!(matches!(
        auth.login(EMAIL, "wrong password!").await,
        Err(AuthError::InvalidGrant)
    ));

    // Registration: refused as closed, at the core and over HTTP.
    let result = auth.register("bob@example.com", PASSWORD).await;
    assert!(
        matches!(result, Err(AuthError::RegistrationDisabled)),
        "{result:?}"
    );
    let body = serde_json::json!({"email": "bob@example.com", "password": PASSWORD}).to_string();
    let response = http::register(&auth, Some("application/json"), body.as_bytes()).await;
    assert_eq!(response.status, 403);
    let json: serde_json::Value = serde_json::from_str(response.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["error"], "registration_disabled");
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| *name != "www-authenticate")
    );
    assert_eq!(error_response(&AuthError::RegistrationDisabled).status, 403);

    // The other writes: a clear error, never a silent success.
    let result = auth.change_password("u-1", "another long password").await;
    assert!(matches!(result, Err(AuthError::Internal(_))), "{result:?}");
    let users = Directory(Vec::new());
    let unsupported = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Unsupported(_)));
    assert!(unsupported(users.set_roles("u-1", &[]).await));
    assert!(unsupported(users.set_disabled("u-1", true).await));
    let hash = fast_hasher().hash(PASSWORD).unwrap();
    assert!(unsupported(users.update_password_hash("u-1", &hash).await));
}

#[tokio::test]
async fn an_outdated_hash_is_kept_and_the_login_stands() {
    // The authenticator's hasher has other parameters than the stored hash: a match that
    // needs a rehash, which a read-only directory cannot store.
    let hasher = PasswordHasher::builder()
        .memory_kib(128)
        .iterations(2)
        .build()
        .unwrap();
    let auth = authenticator(hasher);
    auth.login(EMAIL, PASSWORD).await.unwrap();
    auth.login(EMAIL, PASSWORD).await.unwrap();
}
