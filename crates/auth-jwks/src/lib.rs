#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod fetch;
mod verifier;

pub use authcore;

pub use error::JwksError;
pub use verifier::{
    DEFAULT_COOLDOWN, DEFAULT_MAX_AGE, DEFAULT_TIMEOUT, JwksVerifier, JwksVerifierBuilder,
};
