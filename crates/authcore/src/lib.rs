#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod claims;
mod clock;
mod crypto;
mod error;
pub mod http;
mod jwks;
mod keys;
mod password;
mod request;
mod roles;
mod service;
mod slots;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod token;

pub use async_trait::async_trait;
pub use claims::{Audience, Claims, ClaimsBuilder};
pub use clock::{Clock, SystemClock};
pub use error::{AuthError, BoxError, ConfigError, PasswordRejection, StoreError};
pub use jwks::{Jwk, Jwks};
pub use keys::{Algorithm, KeySet, SigningKey, VerificationKey};
pub use password::{
    BreachedPasswordCheck, PasswordHash, PasswordHasher, PasswordHasherBuilder, PasswordPolicy,
    UnusableHash, UnusableReason, Verification,
};
pub use request::{RequestAuthenticator, RequestAuthenticatorBuilder};
pub use roles::RequiredRoles;
pub use service::{Authenticator, AuthenticatorBuilder, DEFAULT_VERIFIED_TOKEN_SLOTS, TokenPair};
pub use store::{RefreshTokenStore, RevocationStore, User, UserStore};
pub use time;
pub use token::issuers::{IssuerVerifiers, unverified_issuer};
pub use token::jwt::{Jwt, JwtBuilder, JwtIssuer, JwtVerifier};
pub use token::profile::{RegisteredClaim, RolesClaim};
pub use token::{DEFAULT_REVOCATION_LEEWAY, IssuedToken, KeyRefresh, TokenIssuer, TokenVerifier};
