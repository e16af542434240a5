//! Tokens of several issuers, each verified with its own verifier: [`IssuerVerifiers`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use time::Duration;

use super::{KeyRefresh, TokenVerifier};
use crate::crypto::B64;
use crate::{AuthError, Claims};

/// The longest token whose payload [`unverified_issuer`] decodes: larger than any
/// verifier's default limit, so the verifier it selects still gives its own answer.
const MAX_PEEK_LEN: usize = 64 * 1024;

/// The `iss` of a JWS's payload, read **without verifying anything**: only to choose
/// which verifier (and which keys) to verify the token with, or whether a token is worth
/// a key fetch. `None` unless `token` has three parts and its payload is a JSON object
/// with a string `iss`.
pub fn unverified_issuer(token: &str) -> Option<String> {
    with_unverified_issuer(token, str::to_owned)
}

/// `f` of the unverified `iss` of `token` (see [`unverified_issuer`]), read in place.
fn with_unverified_issuer<R>(token: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    #[derive(Deserialize)]
    struct Payload<'a> {
        #[serde(borrow)]
        iss: Option<Cow<'a, str>>,
    }
    if token.len() > MAX_PEEK_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let json = B64.decode(payload).ok()?;
    let payload: Payload<'_> = serde_json::from_slice(&json).ok()?;
    payload.iss.as_deref().map(f)
}

/// A [`TokenVerifier`] for the tokens of several issuers, each with its own verifier (its
/// own keys, audience and profile): a resource server that accepts the tokens of its
/// company's authcore and of a partner's Keycloak, say.
///
/// A token goes to the verifier registered for its `iss`, read unverified
/// ([`unverified_issuer`]); that verifier then checks everything, `iss` included. A token
/// of any other issuer, or without `iss`, is [`AuthError::WrongIssuer`]; one whose payload
/// cannot be read is [`AuthError::Malformed`]. A token of an unknown key is handed to its
/// issuer's verifier only, so one issuer's tokens cannot make another's verifier fetch
/// keys.
///
/// ```
/// use std::sync::Arc;
/// use authcore::{Algorithm, IssuerVerifiers, Jwt, KeySet, SigningKey, TokenIssuer, TokenVerifier};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // In production, each issuer's public keys (a `JwksVerifier` of auth-jwks, say).
/// let ours = Arc::new(Jwt::builder()
///     .keys(KeySet::new(SigningKey::generate(Algorithm::EdDSA)?))
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?);
/// let partner = Arc::new(Jwt::builder()
///     .keys(KeySet::new(SigningKey::generate(Algorithm::ES256)?))
///     .issuer("https://partner.example.org")
///     .audience("api")
///     .build()?);
/// let verifier: IssuerVerifiers = IssuerVerifiers::new()
///     .issuer("https://auth.example.com", ours)
///     .issuer("https://partner.example.org", partner.clone());
///
/// let token = TokenIssuer::<()>::issue(&*partner, "user-7", &[], None, ())?.token;
/// let claims = TokenVerifier::<()>::verify(&verifier, &token)?;
/// assert_eq!(claims.iss, "https://partner.example.org");
/// # Ok(())
/// # }
/// ```
pub struct IssuerVerifiers<E = ()> {
    verifiers: Vec<(String, Arc<dyn TokenVerifier<E>>)>,
}

impl<E> IssuerVerifiers<E> {
    /// No issuer yet: every token is [`AuthError::WrongIssuer`].
    pub fn new() -> Self {
        IssuerVerifiers {
            verifiers: Vec::new(),
        }
    }

    /// Verifies the tokens whose `iss` is `issuer` with `verifier`, which should require
    /// that `iss` itself. A second verifier for the same issuer replaces the first.
    #[must_use]
    pub fn issuer(
        mut self,
        issuer: impl Into<String>,
        verifier: Arc<dyn TokenVerifier<E>>,
    ) -> Self {
        let issuer = issuer.into();
        self.verifiers.retain(|(iss, _)| *iss != issuer);
        self.verifiers.push((issuer, verifier));
        self
    }

    /// The issuers accepted.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.verifiers.iter().map(|(iss, _)| iss.as_str())
    }

    /// The verifier for `token`'s issuer.
    fn select(&self, token: &str) -> Result<&dyn TokenVerifier<E>, AuthError> {
        if token.split('.').count() != 3 {
            return Err(AuthError::Malformed);
        }
        with_unverified_issuer(token, |issuer| {
            self.verifiers
                .iter()
                .find(|(iss, _)| iss == issuer)
                .map(|(_, verifier)| &**verifier)
        })
        .flatten()
        .ok_or(AuthError::WrongIssuer)
    }
}

impl<E> Default for IssuerVerifiers<E> {
    fn default() -> Self {
        IssuerVerifiers::new()
    }
}

impl<E> fmt::Debug for IssuerVerifiers<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerVerifiers")
            .field("issuers", &self.issuers().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<E> TokenVerifier<E> for IssuerVerifiers<E> {
    fn verify(&self, token: &str) -> Result<Claims<E>, AuthError> {
        self.select(token)?.verify(token)
    }

    /// The longest leeway of the issuers' verifiers: revocations must outlive every one.
    fn leeway(&self) -> Duration {
        self.verifiers
            .iter()
            .map(|(_, verifier)| verifier.leeway())
            .max()
            .unwrap_or(super::DEFAULT_REVOCATION_LEEWAY)
    }

    fn refresh_keys<'a>(&'a self, token: &'a str) -> Option<KeyRefresh<'a>> {
        self.select(token).ok()?.refresh_keys(token)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{Algorithm, Jwt, KeySet, SigningKey, TokenIssuer};

    fn jwt(issuer: &str, alg: Algorithm) -> Arc<Jwt> {
        Arc::new(
            Jwt::builder()
                .keys(KeySet::new(SigningKey::generate(alg).unwrap()))
                .issuer(issuer)
                .audience("api")
                .build()
                .unwrap(),
        )
    }

    fn token(jwt: &Jwt) -> String {
        TokenIssuer::<()>::issue(jwt, "user-1", &[], None, ())
            .unwrap()
            .token
    }

    /// Counts the key refreshes it is asked for.
    struct Refreshing(Arc<Jwt>, AtomicUsize);

    impl TokenVerifier for Refreshing {
        fn verify(&self, token: &str) -> Result<Claims, AuthError> {
            TokenVerifier::<()>::verify(&*self.0, token)
        }

        fn leeway(&self) -> Duration {
            Duration::minutes(9)
        }

        fn refresh_keys<'a>(&'a self, _: &'a str) -> Option<KeyRefresh<'a>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Some(Box::pin(async {}))
        }
    }

    #[test]
    fn reads_the_unverified_issuer() {
        let payload = |json: &str| format!("e30.{}.c2ln", B64.encode(json));
        assert_eq!(
            unverified_issuer(&payload(r#"{"iss":"https:\/\/a.example","sub":"x"}"#)).as_deref(),
            Some("https://a.example")
        );
        for bad in [
            payload(r#"{"sub":"x"}"#),
            payload(r#"{"iss":7}"#),
            payload("[]"),
            payload("not json"),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "a.!!!.c".to_owned(),
            String::new(),
            payload(&format!(
                r#"{{"iss":"x","pad":"{}"}}"#,
                "a".repeat(MAX_PEEK_LEN)
            )),
        ] {
            assert_eq!(unverified_issuer(&bad), None, "{bad:.40}");
        }
    }

    #[test]
    fn each_issuer_is_verified_with_its_own_verifier() {
        let a = jwt("https://a.example", Algorithm::EdDSA);
        let b = jwt("https://b.example", Algorithm::ES256);
        let stranger = jwt("https://c.example", Algorithm::EdDSA);
        let refreshing = Arc::new(Refreshing(b.clone(), AtomicUsize::new(0)));
        let verifier: IssuerVerifiers = IssuerVerifiers::new()
            .issuer("https://a.example", a.clone())
            .issuer("https://b.example", refreshing.clone());
        let verify = |token: &str| TokenVerifier::<()>::verify(&verifier, token);

        assert_eq!(verify(&token(&a)).unwrap().iss, "https://a.example");
        assert_eq!(verify(&token(&b)).unwrap().iss, "https://b.example");
        assert!(matches!(
            verify(&token(&stranger)),
            Err(AuthError::WrongIssuer)
        ));
        assert!(matches!(verify("a.b"), Err(AuthError::Malformed)));
        assert!(matches!(
            verify("e30.e30.c2ln"),
            Err(AuthError::WrongIssuer)
        ));

        // A token claiming a's issuer but signed with b's key: a's keys refuse it.
        let forged = {
            let claims = TokenVerifier::<()>::verify(&*b, &token(&b)).unwrap();
            let mut claims = serde_json::to_value(claims).unwrap();
            claims["iss"] = "https://a.example".into();
            let header = token(&b).split('.').next().unwrap().to_owned();
            let payload = B64.encode(claims.to_string());
            let signature = token(&b).rsplit('.').next().unwrap().to_owned();
            format!("{header}.{payload}.{signature}")
        };
        assert!(verify(&forged).is_err());

        // Key refreshes go to the token's issuer only.
        assert!(TokenVerifier::<()>::refresh_keys(&verifier, &token(&a)).is_none());
        assert!(TokenVerifier::<()>::refresh_keys(&verifier, &token(&stranger)).is_none());
        assert!(TokenVerifier::<()>::refresh_keys(&verifier, &token(&b)).is_some());
        assert_eq!(refreshing.1.load(Ordering::SeqCst), 1);

        // The longest leeway wins, so revocations outlive every issuer's tokens.
        assert_eq!(TokenVerifier::<()>::leeway(&verifier), Duration::minutes(9));
        assert_eq!(
            verifier.issuers().collect::<Vec<_>>(),
            ["https://a.example", "https://b.example"]
        );
    }
}
