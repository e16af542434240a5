//! Test helpers (feature `testing`).

use authcore::testing::TestAuth;
use rocket::http::Header;
use rocket::local::{asynchronous, blocking};

mod sealed {
    pub trait Sealed {}
    impl Sealed for rocket::local::asynchronous::LocalRequest<'_> {}
    impl Sealed for rocket::local::blocking::LocalRequest<'_> {}
}

/// Requests of Rocket's local clients that carry a bearer token.
///
/// ```
/// use auth_rocket::authcore::testing::TestAuth;
/// use auth_rocket::{AuthFairing, Authenticated, WithBearer};
/// use rocket::local::blocking::Client;
///
/// #[rocket::get("/me")]
/// fn me(user: Authenticated) -> String {
///     user.sub.clone()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = TestAuth::new();
/// let rocket = rocket::build()
///     .attach(AuthFairing::new(t.auth.clone()))
///     .mount("/", rocket::routes![me]);
/// let client = Client::untracked(rocket)?;
/// let response = client.get("/me").with_bearer(&t, "user-1", &["admin"]).dispatch();
/// assert_eq!(response.into_string().as_deref(), Some("user-1"));
/// # Ok(())
/// # }
/// ```
pub trait WithBearer: sealed::Sealed + Sized {
    /// Sets `Authorization: Bearer <token>` with a token that `t` mints for `subject`
    /// with `roles`.
    ///
    /// # Panics
    /// If minting fails (it does not with [`TestAuth`]'s keys).
    #[must_use]
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self;
}

fn bearer(t: &TestAuth, subject: &str, roles: &[&str]) -> Header<'static> {
    let value = t
        .bearer(subject, roles)
        .unwrap_or_else(|e| panic!("minting a test token: {e}"));
    Header::new("Authorization", value)
}

impl WithBearer for asynchronous::LocalRequest<'_> {
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self {
        self.header(bearer(t, subject, roles))
    }
}

impl WithBearer for blocking::LocalRequest<'_> {
    fn with_bearer(self, t: &TestAuth, subject: &str, roles: &[&str]) -> Self {
        self.header(bearer(t, subject, roles))
    }
}
