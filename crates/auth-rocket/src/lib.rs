#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod catcher;
mod fairing;
mod guard;
mod routes;
#[cfg(feature = "testing")]
mod testing;

pub use authcore;
pub use catcher::{AuthRejection, GuardFailure, catchers, guard_failure};
pub use fairing::{AuthFairing, RequireAuth};
pub use guard::{Authenticated, Authorized, MaybeAuthenticated};
pub use routes::{TokenRoutes, routes};
#[cfg(feature = "testing")]
pub use testing::WithBearer;
