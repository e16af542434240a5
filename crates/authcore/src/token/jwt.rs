//! JWT access tokens (RFC 7519, RFC 9068) in the JWS compact serialization (RFC 7515 §7.1).
//!
//! The compact token is parsed here, once and strictly: exactly three base64url segments
//! without padding, a header that names an algorithm pinned to the selected key, no
//! critical extensions, and claims of the right JSON types. Keys carried in the token
//! (`jwk`, `jku`, `x5u`, `x5c`) are never read. This follows RFC 8725 §3.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::crypto::{B64, random_id};
use crate::error::ConfigError;
use crate::jwks::Jwks;
use crate::keys::{KeySet, SigningKey, VerificationKey};
use crate::token::profile::{ACCESS_TOKEN_TYP, Profile, RegisteredClaim, RolesClaim};
use crate::token::{IssuedToken, TokenIssuer, TokenVerifier};
use crate::{Audience, AuthError, Claims};

/// The `typ` authcore writes (RFC 9068 §2.1).
const TYP: &str = ACCESS_TOKEN_TYP;
/// The longest signature we accept: RSA-8192.
const MAX_SIGNATURE: usize = 1024;

/// The header authcore writes. Verifiers recognise it byte for byte.
#[derive(Serialize)]
struct OwnHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

fn own_header_b64(key: &VerificationKey) -> String {
    let header = OwnHeader {
        alg: key.algorithm().as_str(),
        typ: TYP,
        kid: key.kid(),
    };
    // A struct of strings always serializes.
    B64.encode(serde_json::to_vec(&header).unwrap_or_default())
}

/// The header members a verifier reads. Everything else, including `jwk`, `jku`, `x5u`
/// and `x5c`, is ignored.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// Parses a decoded header or payload, which must be UTF-8 JSON as a whole (RFC 7515
/// §5.2 steps 3–4, RFC 7519 §7.2 step 10). `serde_json::from_slice` alone would not do:
/// it skips the members it ignores without validating their UTF-8.
fn utf8_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, AuthError> {
    let text = std::str::from_utf8(bytes).map_err(|_| AuthError::Malformed)?;
    serde_json::from_str(text).map_err(|_| AuthError::Malformed)
}

/// Builds a [`Jwt`] (issuer and verifier) or a verify-only [`JwtVerifier`].
///
/// ```
/// use authcore::{Algorithm, Jwt, KeySet, SigningKey, TokenIssuer, TokenVerifier};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SigningKey::hmac(Algorithm::HS256, b"an example secret of at least 32 bytes")?;
/// let jwt = Jwt::builder()
///     .keys(KeySet::new(key))
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .access_ttl(time::Duration::minutes(15))
///     .build()?;
/// let issued = TokenIssuer::<()>::issue(&jwt, "user-1", &["admin".to_owned()], None, ())?;
/// let claims: authcore::Claims = jwt.verify(&issued.token)?;
/// assert_eq!(claims.sub, "user-1");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct JwtBuilder {
    keys: Option<KeySet>,
    issuer: Option<String>,
    audience: Option<String>,
    /// Accepted besides `issuer` and `audience`, and the rest of the verifier's profile.
    also_issuers: Vec<String>,
    also_audiences: Vec<String>,
    also_types: Vec<String>,
    untyped: bool,
    optional: Vec<RegisteredClaim>,
    roles: RolesClaim,
    access_ttl: Duration,
    leeway: Duration,
    max_token_len: usize,
    clock: Arc<dyn Clock>,
}

impl Default for JwtBuilder {
    fn default() -> Self {
        JwtBuilder {
            keys: None,
            issuer: None,
            audience: None,
            also_issuers: Vec::new(),
            also_audiences: Vec::new(),
            also_types: Vec::new(),
            untyped: false,
            optional: Vec::new(),
            roles: RolesClaim::default(),
            access_ttl: Duration::minutes(15),
            leeway: Duration::seconds(30),
            max_token_len: 8 * 1024,
            clock: Arc::new(SystemClock),
        }
    }
}

impl JwtBuilder {
    /// The keys: one signing key (for [`JwtBuilder::build`]) and the verification keys.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The `iss` put in every token and required of every token. Required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` put in every token; verification requires tokens to contain it. Required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Also accepts tokens whose `iss` is `issuer` (the one set by
    /// [`JwtBuilder::issuer`] is still the one put in tokens). For a verifier of tokens
    /// that several issuers sign with the same keys.
    pub fn accept_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.also_issuers.push(issuer.into());
        self
    }

    /// Also accepts tokens whose `aud` names `audience`.
    pub fn accept_audience(mut self, audience: impl Into<String>) -> Self {
        self.also_audiences.push(audience.into());
        self
    }

    /// Also accepts tokens whose header `typ` is `typ` (case-insensitively, with or
    /// without `application/`). By default only `at+jwt` (RFC 9068 §2.1) is accepted;
    /// many issuers' access tokens say `JWT`.
    pub fn accept_typ(mut self, typ: impl Into<String>) -> Self {
        self.also_types.push(typ.into());
        self
    }

    /// Also accepts tokens without a `typ` header.
    pub fn accept_untyped(mut self) -> Self {
        self.untyped = true;
        self
    }

    /// Accepts tokens without `claim`, which authcore's own tokens always carry; see
    /// [`RegisteredClaim`] for what stands in for it. `exp` is always required.
    pub fn optional_claim(mut self, claim: RegisteredClaim) -> Self {
        if !self.optional.contains(&claim) {
            self.optional.push(claim);
        }
        self
    }

    /// Where the roles are in a token. Default: the top-level array `roles`.
    pub fn roles_claim(mut self, roles: RolesClaim) -> Self {
        self.roles = roles;
        self
    }

    /// Access-token lifetime. Default 15 minutes.
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Clock-skew tolerance for `exp` and `nbf`. Default 30 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Tokens longer than this are rejected before any decoding. Default 8 KiB.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// The clock for `iat`, `exp` and `nbf`. Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn common(&self) -> Result<(String, String), ConfigError> {
        let issuer = self
            .issuer
            .clone()
            .ok_or(ConfigError::Invalid("an issuer is required"))?;
        let audience = self
            .audience
            .clone()
            .ok_or(ConfigError::Invalid("an audience is required"))?;
        if self.leeway.is_negative() {
            return Err(ConfigError::Invalid("the leeway must not be negative"));
        }
        Ok((issuer, audience))
    }

    fn profile(&self, issuer: String, audience: String) -> Profile {
        let mut profile = Profile::new(
            std::iter::once(issuer)
                .chain(self.also_issuers.iter().cloned())
                .collect(),
            std::iter::once(audience)
                .chain(self.also_audiences.iter().cloned())
                .collect(),
        );
        profile.types.extend(self.also_types.iter().cloned());
        profile.untyped = self.untyped;
        profile.optional.clone_from(&self.optional);
        profile.roles = self.roles.clone();
        profile
    }

    fn verifier_from(
        &self,
        keys: Vec<VerificationKey>,
        issuer: String,
        audience: String,
    ) -> Result<JwtVerifier, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one verification key is required",
            ));
        }
        let own_headers = keys.iter().map(own_header_b64).collect();
        Ok(JwtVerifier {
            keys,
            own_headers,
            profile: self.profile(issuer, audience),
            leeway: self.leeway.whole_seconds(),
            max_token_len: self.max_token_len,
            clock: Arc::clone(&self.clock),
        })
    }

    /// Builds an issuer and verifier.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] without keys, a signing key, an issuer or an audience, or
    /// with a non-positive TTL or a negative leeway.
    pub fn build(self) -> Result<Jwt, ConfigError> {
        let (issuer, audience) = self.common()?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(ConfigError::Invalid("keys are required"))?;
        if keys.signing_key().is_none() {
            return Err(ConfigError::Invalid("a signing key is required"));
        }
        if !self.access_ttl.is_positive() {
            return Err(ConfigError::Invalid(
                "the access-token lifetime must be positive",
            ));
        }
        let mut this = self;
        let (signing, verification) = this
            .keys
            .take()
            .ok_or(ConfigError::Invalid("keys are required"))?
            .into_parts();
        let key = signing.ok_or(ConfigError::Invalid("a signing key is required"))?;
        let public = verification.iter().filter_map(|k| k.public_jwk()).collect();
        let verifier = this.verifier_from(verification, issuer.clone(), audience.clone())?;
        let header_b64 = own_header_b64(&key.verification_key());
        Ok(Jwt {
            issuer: JwtIssuer {
                key,
                header_b64,
                issuer,
                audience,
                access_ttl: this.access_ttl,
                clock: Arc::clone(&this.clock),
            },
            verifier,
            jwks: Jwks { keys: public },
        })
    }

    /// Builds a verify-only [`JwtVerifier`]; a signing key, if present, is used only for
    /// its verification key.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] without verification keys, an issuer or an audience.
    pub fn build_verifier(mut self) -> Result<JwtVerifier, ConfigError> {
        let (issuer, audience) = self.common()?;
        let (_, verification) = self
            .keys
            .take()
            .ok_or(ConfigError::Invalid("keys are required"))?
            .into_parts();
        self.verifier_from(verification, issuer, audience)
    }
}

/// Signs access tokens with one [`SigningKey`].
#[derive(Debug)]
pub struct JwtIssuer {
    key: SigningKey,
    header_b64: String,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl JwtIssuer {
    /// The claims of a new token: `iss`, `aud`, `iat = nbf = now`, `exp = now + ttl` and a
    /// fresh 128-bit `jti`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if the random generator fails.
    pub fn claims<E>(
        &self,
        subject: &str,
        roles: &[String],
        session: Option<&str>,
        extra: E,
    ) -> Result<Claims<E>, AuthError> {
        // NumericDate has whole seconds; truncate so the claims equal their round trip.
        let now = self
            .clock
            .now()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| self.clock.now());
        Ok(Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: Audience::One(self.audience.clone()),
            iat: now,
            nbf: now,
            exp: now + self.access_ttl,
            jti: random_id::<16>()?,
            roles: roles.to_vec(),
            sid: session.map(str::to_owned),
            extra,
        })
    }

    /// Signs `claims` as a compact JWS with header `{"alg","typ":"at+jwt","kid"}`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if the claims do not serialize or signing fails.
    pub fn sign<E: Serialize>(&self, claims: &Claims<E>) -> Result<String, AuthError> {
        let payload = serde_json::to_vec(claims).map_err(|e| AuthError::Internal(Box::new(e)))?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 400);
        token.push_str(&self.header_b64);
        token.push('.');
        B64.encode_string(&payload, &mut token);
        let mut signature = String::with_capacity(344);
        self.key
            .sign_into(token.as_bytes(), &mut signature)
            .map_err(|e| AuthError::Internal(Box::new(e)))?;
        token.push('.');
        token.push_str(&signature);
        Ok(token)
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl<E: Serialize> TokenIssuer<E> for JwtIssuer {
    fn issue(
        &self,
        subject: &str,
        roles: &[String],
        session: Option<&str>,
        extra: E,
    ) -> Result<IssuedToken, AuthError> {
        let claims = self.claims(subject, roles, session, extra)?;
        let token = self.sign(&claims)?;
        Ok(IssuedToken {
            token,
            jti: claims.jti,
            expires_at: claims.exp,
        })
    }

    fn access_ttl(&self) -> Duration {
        self.access_ttl
    }
}

/// Verifies access tokens against a set of keys selected by `kid`.
#[derive(Debug)]
pub struct JwtVerifier {
    keys: Vec<VerificationKey>,
    /// The base64url header authcore writes for each key, in the order of `keys`.
    own_headers: Vec<String>,
    profile: Profile,
    leeway: i64,
    max_token_len: usize,
    clock: Arc<dyn Clock>,
}

impl JwtVerifier {
    /// Starts a builder; see [`JwtBuilder::build_verifier`].
    pub fn builder() -> JwtBuilder {
        JwtBuilder::default()
    }

    /// Selects the key for a header and checks `alg` and `typ`. Returns the key and
    /// whether `typ` is right, which is reported only once the signature has verified.
    fn select_key(&self, header_b64: &str) -> Result<(&VerificationKey, bool), AuthError> {
        if let Some(i) = self.own_headers.iter().position(|h| h == header_b64) {
            return Ok((&self.keys[i], true));
        }
        let json = B64.decode(header_b64).map_err(|_| AuthError::Malformed)?;
        let header: Header<'_> = utf8_json(&json)?;
        if header.crit.is_some() {
            // We implement no JWS extension, so every critical one is unknown (RFC 7515 §4.1.11).
            return Err(AuthError::Malformed);
        }
        let key = match header.kid.as_deref() {
            Some(kid) => self.keys.iter().find(|k| k.kid() == kid),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)?;
        if header.alg != key.algorithm().as_str() {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        Ok((key, self.profile.accepts_typ(header.typ.as_deref())))
    }

    fn check_claims<E>(&self, claims: &Claims<E>) -> Result<(), AuthError> {
        let now = self.clock.now().unix_timestamp();
        if now >= claims.exp.unix_timestamp().saturating_add(self.leeway) {
            return Err(AuthError::Expired);
        }
        if claims.nbf.unix_timestamp() > now.saturating_add(self.leeway) {
            return Err(AuthError::NotYetValid);
        }
        self.profile.check_parties(claims)
    }
}

impl<E: DeserializeOwned> TokenVerifier<E> for JwtVerifier {
    fn verify(&self, token: &str) -> Result<Claims<E>, AuthError> {
        if token.len() > self.max_token_len {
            return Err(AuthError::TokenTooLarge);
        }
        let mut parts = token.splitn(3, '.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        if signature_b64.contains('.') {
            return Err(AuthError::Malformed);
        }
        let (key, typ_ok) = self.select_key(header_b64)?;

        let mut signature = [0u8; MAX_SIGNATURE];
        let len = B64
            .decode_slice(signature_b64, &mut signature)
            .map_err(|_| AuthError::Malformed)?;
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        if !key.verify(signing_input, &signature[..len]) {
            return Err(AuthError::BadSignature);
        }
        if !typ_ok {
            return Err(AuthError::WrongType);
        }

        let payload = B64.decode(payload_b64).map_err(|_| AuthError::Malformed)?;
        let claims: Claims<E> = if self.profile.is_strict() {
            utf8_json(&payload)?
        } else {
            let text = std::str::from_utf8(&payload).map_err(|_| AuthError::Malformed)?;
            self.profile.relaxed_claims(text, token)?
        };
        self.check_claims(&claims)?;
        Ok(claims)
    }

    fn leeway(&self) -> Duration {
        Duration::seconds(self.leeway)
    }
}

/// An access-token issuer and verifier sharing one configuration.
#[derive(Debug)]
pub struct Jwt {
    issuer: JwtIssuer,
    verifier: JwtVerifier,
    jwks: Jwks,
}

impl Jwt {
    /// Starts a builder.
    pub fn builder() -> JwtBuilder {
        JwtBuilder::default()
    }

    /// The issuing half.
    pub fn issuer(&self) -> &JwtIssuer {
        &self.issuer
    }

    /// The verifying half.
    pub fn verifier(&self) -> &JwtVerifier {
        &self.verifier
    }

    /// The public verification keys as a JWKS (RFC 7517); empty with only HMAC keys.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

impl<E: Serialize> TokenIssuer<E> for Jwt {
    fn issue(
        &self,
        subject: &str,
        roles: &[String],
        session: Option<&str>,
        extra: E,
    ) -> Result<IssuedToken, AuthError> {
        self.issuer.issue(subject, roles, session, extra)
    }

    fn access_ttl(&self) -> Duration {
        self.issuer.access_ttl
    }
}

impl<E: DeserializeOwned> TokenVerifier<E> for Jwt {
    fn verify(&self, token: &str) -> Result<Claims<E>, AuthError> {
        self.verifier.verify(token)
    }

    fn leeway(&self) -> Duration {
        TokenVerifier::<E>::leeway(&self.verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `verify` fuzz target: a multi-byte character at byte 12 of `typ`
    /// panicked before the signature was checked.
    #[test]
    fn typ_with_multibyte_characters_does_not_panic() {
        let key = crate::SigningKey::hmac(crate::Algorithm::HS256, &[7; 32]).unwrap();
        let verifier = JwtVerifier::builder()
            .keys(KeySet::new(key))
            .issuer("i")
            .audience("a")
            .build_verifier()
            .unwrap();
        for typ in [
            "applicationé",
            "applicationéat+jwt",
            "é",
            "application/at+jwté",
            "€€€€€€€€€€€€€€",
        ] {
            assert!(!verifier.profile.accepts_typ(Some(typ)), "{typ}");
        }
        assert!(verifier.profile.accepts_typ(Some("Application/AT+JWT")));
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uw6kifQ.e.e";
        assert!(matches!(
            TokenVerifier::<()>::verify(&verifier, token),
            Err(AuthError::Malformed)
        ));
    }
}
