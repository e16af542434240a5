//! Test helpers (feature `testing`): requests that carry a minted token.

use actix_web::http::header::AUTHORIZATION;
use actix_web::test::TestRequest;
use authcore::testing::TestAuth;

mod sealed {
    pub trait Sealed {}
    impl Sealed for actix_web::test::TestRequest {}
}

/// Adds `Authorization: Bearer <token>` to a test request, with a token minted by a
/// [`TestAuth`].
///
/// ```
/// use actix_web::{App, test, web};
/// use auth_actix::{Authenticated, WithBearer};
/// use auth_actix::authcore::testing::TestAuth;
///
/// async fn me(user: Authenticated) -> String {
///     user.sub.clone()
/// }
///
/// # #[actix_web::main]
/// # async fn main() {
/// let t = TestAuth::new();
/// let app = test::init_service(
///     App::new()
///         .configure(auth_actix::configure(t.auth.clone()))
///         .route("/me", web::get().to(me)),
/// )
/// .await;
/// let req = test::TestRequest::get().uri("/me").with_bearer(&t, "ada", &[]);
/// let body = test::call_and_read_body(&app, req.to_request()).await;
/// assert_eq!(body, "ada");
/// # }
/// ```
pub trait WithBearer: sealed::Sealed {
    /// Sets the `Authorization` header to a fresh token for `subject` with `roles`.
    ///
    /// # Panics
    /// If minting the token fails.
    #[must_use]
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self;
}

impl WithBearer for TestRequest {
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self {
        let bearer = t
            .bearer(subject, roles)
            .unwrap_or_else(|e| panic!("minting a test token: {e}"));
        self.insert_header((AUTHORIZATION, bearer))
    }
}
