//! What a [`JwtVerifier`](crate::JwtVerifier) requires of a token beyond its signature:
//! the accepted issuers, audiences and `typ`s, which registered claims must be present,
//! and where the roles are. The default is authcore's own strict profile (RFC 9068);
//! tokens of other issuers (Keycloak, Auth0, Entra ID) are read by relaxing it.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::crypto::{B64, sha256};
use crate::{AuthError, Claims};
use base64::Engine as _;

/// The `typ` of access tokens (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// A registered claim that authcore's own tokens always carry but tokens of other
/// issuers may leave out. `exp` is not among them: a token without an expiry is never
/// accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisteredClaim {
    /// `iat`: when absent, taken to be `nbf`, or else the Unix epoch.
    Iat,
    /// `nbf`: when absent, the token is valid from `iat`, or else from the Unix epoch.
    Nbf,
    /// `jti`: when absent, a digest of the whole token stands in for it, so that the
    /// token can still be revoked by id.
    Jti,
}

/// Where a token's roles are, for [`Claims::roles`] and so for the adapters'
/// `Authorized<R>`.
///
/// ```
/// use authcore::RolesClaim;
///
/// let authcore = RolesClaim::default(); // a top-level array `roles`
/// let keycloak = RolesClaim::array("realm_access.roles");
/// let oauth = RolesClaim::space_separated("scope"); // "read write" grants read and write
/// # let _ = (authcore, keycloak, oauth);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesClaim {
    path: Vec<String>,
    space_separated: bool,
}

impl Default for RolesClaim {
    fn default() -> Self {
        RolesClaim::array("roles")
    }
}

impl RolesClaim {
    /// An array of strings at a dotted path: `roles`, `groups`, `realm_access.roles`.
    pub fn array(path: &str) -> Self {
        RolesClaim {
            path: path.split('.').map(str::to_owned).collect(),
            space_separated: false,
        }
    }

    /// One string of space-separated values at a dotted path: the OAuth `scope`
    /// (RFC 9068 §2.2.3), Entra ID's `scp`.
    pub fn space_separated(path: &str) -> Self {
        RolesClaim {
            space_separated: true,
            ..RolesClaim::array(path)
        }
    }

    /// Whether this is the top-level `roles` array, without allocating (it is asked on
    /// every verification).
    fn is_default(&self) -> bool {
        !self.space_separated && matches!(self.path.as_slice(), [name] if name == "roles")
    }

    /// The roles of a claims object; absent means none, the wrong JSON type is malformed.
    fn read(&self, claims: &Map<String, Value>) -> Result<Value, AuthError> {
        let (last, parents) = self.path.split_last().ok_or(AuthError::Malformed)?;
        let mut object = claims;
        for name in parents {
            match object.get(name) {
                Some(Value::Object(inner)) => object = inner,
                Some(_) => return Err(AuthError::Malformed),
                None => return Ok(Value::Array(Vec::new())),
            }
        }
        match (object.get(last), self.space_separated) {
            (None, _) => Ok(Value::Array(Vec::new())),
            (Some(Value::String(s)), true) => Ok(Value::Array(
                s.split(' ')
                    .filter(|r| !r.is_empty())
                    .map(|r| Value::String(r.to_owned()))
                    .collect(),
            )),
            (Some(array @ Value::Array(_)), false) => Ok(array.clone()),
            (Some(_), _) => Err(AuthError::Malformed),
        }
    }
}

/// The verifier's profile; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// Accepted `iss` values; the first is the one an issuer puts in its tokens.
    pub(crate) issuers: Vec<String>,
    /// Accepted `aud` values: a token must name one of them.
    pub(crate) audiences: Vec<String>,
    /// Accepted `typ` values, compared case-insensitively, with and without the
    /// `application/` prefix (RFC 7515 §4.1.9).
    pub(crate) types: Vec<String>,
    /// Whether a token without `typ` is accepted.
    pub(crate) untyped: bool,
    /// Registered claims a token may leave out.
    pub(crate) optional: Vec<RegisteredClaim>,
    pub(crate) roles: RolesClaim,
}

impl Profile {
    pub(crate) fn new(issuers: Vec<String>, audiences: Vec<String>) -> Self {
        Profile {
            issuers,
            audiences,
            types: vec![ACCESS_TOKEN_TYP.to_owned()],
            untyped: false,
            optional: Vec::new(),
            roles: RolesClaim::default(),
        }
    }

    /// Whether the header's `typ` is accepted.
    pub(crate) fn accepts_typ(&self, typ: Option<&str>) -> bool {
        let Some(typ) = typ else {
            return self.untyped;
        };
        // Compare whole strings: slicing a `str` at a byte offset could split a character.
        let bare = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        };
        self.types.iter().any(|t| t.eq_ignore_ascii_case(bare))
    }

    /// Whether `iss` and `aud` are accepted.
    pub(crate) fn check_parties<E>(&self, claims: &Claims<E>) -> Result<(), AuthError> {
        if !self.issuers.contains(&claims.iss) {
            return Err(AuthError::WrongIssuer);
        }
        if !self.audiences.iter().any(|a| claims.aud.contains(a)) {
            return Err(AuthError::WrongAudience);
        }
        Ok(())
    }

    /// Whether claims parse straight into [`Claims`]: authcore's own layout.
    pub(crate) fn is_strict(&self) -> bool {
        self.optional.is_empty() && self.roles.is_default()
    }

    /// The claims of a payload under a relaxed profile: the roles moved to `roles`, and
    /// the optional registered claims filled in when absent.
    pub(crate) fn relaxed_claims<E: DeserializeOwned>(
        &self,
        payload: &str,
        token: &str,
    ) -> Result<Claims<E>, AuthError> {
        let mut claims: Map<String, Value> =
            serde_json::from_str(payload).map_err(|_| AuthError::Malformed)?;
        let roles = self.roles.read(&claims)?;
        claims.insert("roles".to_owned(), roles);
        let optional = |c| self.optional.contains(&c);
        if optional(RegisteredClaim::Nbf) && !claims.contains_key("nbf") {
            let from = claims.get("iat").cloned().unwrap_or(Value::from(0));
            claims.insert("nbf".to_owned(), from);
        }
        if optional(RegisteredClaim::Iat) && !claims.contains_key("iat") {
            let from = claims.get("nbf").cloned().unwrap_or(Value::from(0));
            claims.insert("iat".to_owned(), from);
        }
        if optional(RegisteredClaim::Jti) && !claims.contains_key("jti") {
            let digest = B64.encode(&sha256(token.as_bytes())[..16]);
            claims.insert("jti".to_owned(), Value::String(digest));
        }
        serde_json::from_value(Value::Object(claims)).map_err(|_| AuthError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_is_matched_whole_and_case_insensitively() {
        let p = Profile::new(vec!["i".into()], vec!["a".into()]);
        for (typ, ok) in [
            (Some("at+jwt"), true),
            (Some("AT+JWT"), true),
            (Some("application/at+jwt"), true),
            (Some("Application/At+Jwt"), true),
            (Some("JWT"), false),
            (None, false),
            (Some("applicationé"), false),
            (Some("application/at+jwté"), false),
            (Some("€€€€€€€€€€€€€€"), false),
        ] {
            assert_eq!(p.accepts_typ(typ), ok, "{typ:?}");
        }
        let relaxed = Profile {
            types: vec!["at+jwt".into(), "JWT".into()],
            untyped: true,
            ..p
        };
        assert!(relaxed.accepts_typ(Some("jwt")));
        assert!(relaxed.accepts_typ(None));
        assert!(!relaxed.accepts_typ(Some("id+jwt")));
    }

    #[test]
    fn roles_are_read_where_the_profile_says() {
        let claims: Map<String, Value> = serde_json::from_str(
            r#"{"roles":["a"],"realm_access":{"roles":["b","c"]},"scope":"read  write","n":5}"#,
        )
        .unwrap();
        let read = |r: RolesClaim| r.read(&claims).map_err(|_| ());
        assert_eq!(read(RolesClaim::default()), Ok(serde_json::json!(["a"])));
        assert_eq!(
            read(RolesClaim::array("realm_access.roles")),
            Ok(serde_json::json!(["b", "c"]))
        );
        assert_eq!(
            read(RolesClaim::space_separated("scope")),
            Ok(serde_json::json!(["read", "write"]))
        );
        assert_eq!(read(RolesClaim::array("groups")), Ok(serde_json::json!([])));
        assert_eq!(read(RolesClaim::array("a.b.c")), Ok(serde_json::json!([])));
        assert_eq!(read(RolesClaim::array("scope")), Err(()));
        assert_eq!(read(RolesClaim::space_separated("roles")), Err(()));
        assert_eq!(read(RolesClaim::array("n.roles")), Err(()));
    }
}
