#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod extract;
mod middleware;
mod routes;
mod state;
#[cfg(feature = "testing")]
mod testing;

pub use authcore;
pub use error::AuthRejection;
pub use extract::{Authenticated, Authorized, MaybeAuthenticated};
pub use middleware::{RequireAuth, RequireAuthMiddleware};
pub use routes::{TokenRoutes, configure, routes};
pub use state::verify_only;
#[cfg(feature = "testing")]
pub use testing::WithBearer;
