//! The errors of fetching and reading a JWKS.

use std::error::Error as StdError;

/// Why a JWKS (or its discovery document) could not be fetched or used, or why a
/// [`JwksVerifier`](crate::JwksVerifier) could not be built.
///
/// Messages name the URL and the reason, never the body of a response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The JWKS or discovery URL is not an absolute `http` or `https` URL.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The builder is missing a required setting, or the verifier profile it configures
    /// is invalid.
    #[error("invalid JWKS verifier configuration: {0}")]
    Config(String),
    /// The request failed: connection refused, TLS, timeout, or the body broke off.
    #[error("fetching {url} failed: {detail}")]
    Http {
        /// The URL fetched.
        url: String,
        /// The client's error and its causes, as one line.
        detail: String,
        /// The client's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The server answered with a status other than `200 OK`.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The response body is larger than the limit.
    #[error("{url} answered more than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The response is not a JWKS document (not JSON, or not of the JWKS shape, or a key
    /// in it is broken).
    #[error("{url} did not answer a JWKS document: {reason}")]
    NotJwks {
        /// The URL fetched.
        url: String,
        /// What is wrong with the document.
        reason: String,
    },
    /// The JWKS contains no key usable to verify signatures (only symmetric `oct` keys,
    /// or keys of other uses, curves or algorithms).
    #[error("the JWKS at {url} contains no usable signature key")]
    NoUsableKey {
        /// The URL fetched.
        url: String,
    },
    /// The OpenID Connect discovery document is unusable.
    #[error("bad OpenID discovery document at {url}: {reason}")]
    BadDiscovery {
        /// The discovery URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl JwksError {
    pub(crate) fn http(url: &str, e: reqwest::Error) -> Self {
        // The URL is already in our message.
        let e = e.without_url();
        // reqwest's message alone ("error sending request") hides the cause that matters
        // (connection refused, timed out, certificate unknown).
        let mut detail = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            detail.push_str(": ");
            detail.push_str(&c.to_string());
            cause = c.source();
        }
        JwksError::Http {
            url: url.to_owned(),
            detail,
            source: Box::new(e),
        }
    }
}
