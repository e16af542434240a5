//! JSON Web Key Sets (RFC 7517 §5) for publishing public verification keys.

use serde::{Deserialize, Serialize};

/// A JWK Set document: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// `true` if the set holds no key (only shared secrets are configured).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings into a `String` cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"keys":[]}"#.to_owned())
    }
}

/// One public key (RFC 7517 §4) of type `RSA`, `EC` (P-256) or `OKP` (Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Key id, matched against a token's `kid` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is used with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; always `sig` here.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Curve, for `EC` and `OKP` keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Public key or x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate of an `EC` key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}
