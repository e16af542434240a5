//! Test helpers (feature `testing`).

use authcore::testing::TestAuth;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Builder;

mod sealed {
    pub trait Sealed {}
    impl Sealed for axum::http::request::Builder {}
}

/// Adds a freshly minted bearer token to a request under construction.
///
/// ```
/// use auth_axum::WithBearer;
/// use auth_axum::authcore::testing::TestAuth;
/// use axum::http::Request;
///
/// let t = TestAuth::new();
/// let request = Request::get("/me")
///     .with_bearer(&t, "user-1", &["admin"])
///     .body(axum::body::Body::empty())?;
/// assert!(request.headers()["authorization"].to_str()?.starts_with("Bearer "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait WithBearer: sealed::Sealed + Sized {
    /// Sets `Authorization: Bearer <token>` with a token that `t` mints for `subject`
    /// with `roles` (see [`TestAuth::bearer`]).
    ///
    /// # Panics
    /// If minting fails (signing with `t`'s key fails).
    #[must_use]
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self;
}

impl WithBearer for Builder {
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self {
        let bearer = t
            .bearer(subject, roles)
            .unwrap_or_else(|e| panic!("minting a test token: {e}"));
        self.header(AUTHORIZATION, bearer)
    }
}
