#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod extract;
mod layer;
mod rejection;
mod routes;
mod state;
#[cfg(feature = "testing")]
mod testing;

pub use authcore;
pub use extract::{Authenticated, Authorized, MaybeAuthenticated};
pub use layer::{RequireAuth, RequireAuthService};
pub use rejection::AuthRejection;
pub use routes::{TokenRoutes, routes};
pub use state::AuthState;
#[cfg(feature = "testing")]
pub use testing::WithBearer;
