//! Access-token claims (RFC 7519 §4.1, RFC 9068 §2.2).

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// The claims of an access token.
///
/// Registered claims follow RFC 7519 §4.1 and the access-token profile of RFC 9068 §2.2:
/// times are [`OffsetDateTime`] in the API and NumericDate seconds on the wire. `roles` and
/// `sid` (the session, i.e. the refresh-token family the token was issued with) are
/// authcore's own; `extra` is the application's part, flattened into the same JSON object.
///
/// Claims are built by a [`TokenIssuer`](crate::TokenIssuer) and read after
/// verification; a claim of the wrong JSON type (a string `exp`, a numeric `sub`) makes the
/// whole token [`Malformed`](crate::AuthError::Malformed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims<E = ()> {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience: one or many.
    pub aud: Audience,
    /// Issued at.
    #[serde(with = "time::serde::timestamp")]
    pub iat: OffsetDateTime,
    /// Not before.
    #[serde(with = "time::serde::timestamp")]
    pub nbf: OffsetDateTime,
    /// Expiry. Required: a token without `exp` is malformed.
    #[serde(with = "time::serde::timestamp")]
    pub exp: OffsetDateTime,
    /// Unique token id, the key of revocation.
    pub jti: String,
    /// Roles granted to the subject when the token was issued.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Session id: the refresh-token family this token belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Application-defined claims, flattened into the token's JSON object.
    #[serde(flatten)]
    pub extra: E,
}

impl Claims<()> {
    /// Starts claims for `sub`, issued by `iss` for `aud`. Usually a
    /// [`TokenIssuer`](crate::TokenIssuer) does this for you; one of your own builds its
    /// claims here.
    ///
    /// ```
    /// use authcore::Claims;
    /// use time::{Duration, OffsetDateTime};
    ///
    /// # fn main() -> Result<(), authcore::ConfigError> {
    /// let now = OffsetDateTime::now_utc();
    /// let claims = Claims::builder("https://auth.example.com", "user-1", "api")
    ///     .issued_at(now)
    ///     .expires_at(now + Duration::minutes(15))
    ///     .jti("9f1c2a7e")
    ///     .roles(["admin"])
    ///     .build()?;
    /// assert_eq!(claims.nbf, claims.iat);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(
        iss: impl Into<String>,
        sub: impl Into<String>,
        aud: impl Into<Audience>,
    ) -> ClaimsBuilder<()> {
        ClaimsBuilder {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            iat: None,
            nbf: None,
            exp: None,
            jti: None,
            roles: Vec::new(),
            sid: None,
            extra: (),
        }
    }
}

/// Builds [`Claims`]; see [`Claims::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClaimsBuilder<E = ()> {
    iss: String,
    sub: String,
    aud: Audience,
    iat: Option<OffsetDateTime>,
    nbf: Option<OffsetDateTime>,
    exp: Option<OffsetDateTime>,
    jti: Option<String>,
    roles: Vec<String>,
    sid: Option<String>,
    extra: E,
}

impl<E> ClaimsBuilder<E> {
    /// `iat`. Required.
    pub fn issued_at(mut self, iat: OffsetDateTime) -> Self {
        self.iat = Some(iat);
        self
    }

    /// `nbf`. Default: `iat`.
    pub fn not_before(mut self, nbf: OffsetDateTime) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// `exp`. Required.
    pub fn expires_at(mut self, exp: OffsetDateTime) -> Self {
        self.exp = Some(exp);
        self
    }

    /// `jti`, unique per token: the key of its revocation. Required.
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// The roles. Default: none.
    pub fn roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The session (`sid`). Default: none.
    pub fn session(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// The application's claims.
    pub fn extra<E2>(self, extra: E2) -> ClaimsBuilder<E2> {
        ClaimsBuilder {
            iss: self.iss,
            sub: self.sub,
            aud: self.aud,
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: self.jti,
            roles: self.roles,
            sid: self.sid,
            extra,
        }
    }

    /// The claims.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`](crate::ConfigError::Invalid) without `iat`, `exp` or
    /// `jti`.
    pub fn build(self) -> Result<Claims<E>, crate::ConfigError> {
        let missing = crate::ConfigError::Invalid;
        let iat = self.iat.ok_or(missing("claims need an iat"))?;
        Ok(Claims {
            iss: self.iss,
            sub: self.sub,
            aud: self.aud,
            iat,
            nbf: self.nbf.unwrap_or(iat),
            exp: self.exp.ok_or(missing("claims need an exp"))?,
            jti: self.jti.ok_or(missing("claims need a jti"))?,
            roles: self.roles,
            sid: self.sid,
            extra: self.extra,
        })
    }
}

impl<E> Claims<E> {
    /// `true` if the token grants `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// `true` if the token grants every one of `roles`.
    pub fn has_roles<S: AsRef<str>>(&self, roles: &[S]) -> bool {
        roles.iter().all(|r| self.has_role(r.as_ref()))
    }
}

/// The `aud` claim: a single string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// One audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// `true` if `aud` is (or contains) `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(all) => all.iter().any(|a| a == audience),
        }
    }
}

impl From<&str> for Audience {
    fn from(aud: &str) -> Self {
        Audience::One(aud.to_owned())
    }
}

impl From<String> for Audience {
    fn from(aud: String) -> Self {
        Audience::One(aud)
    }
}

impl From<Vec<String>> for Audience {
    fn from(aud: Vec<String>) -> Self {
        Audience::Many(aud)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Audience::One(a) => s.serialize_str(a),
            Audience::Many(all) => all.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<Er: de::Error>(self, v: &str) -> Result<Audience, Er> {
                Ok(Audience::One(v.to_owned()))
            }
            fn visit_string<Er: de::Error>(self, v: String) -> Result<Audience, Er> {
                Ok(Audience::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(a) = seq.next_element::<String>()? {
                    all.push(a);
                }
                Ok(Audience::Many(all))
            }
        }
        d.deserialize_any(AudVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Claims {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        Claims::builder("iss", "42", "api")
            .issued_at(t)
            .expires_at(t + time::Duration::minutes(15))
            .jti("j1")
            .roles(["admin"])
            .build()
            .unwrap()
    }

    #[test]
    fn wire_format_uses_numeric_dates_and_flattens_extra() {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        struct Tenant {
            tenant: String,
        }
        let c = sample();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["exp"], 1_700_000_900);
        assert_eq!(json["nbf"], 1_700_000_000);
        assert_eq!(json["aud"], "api");
        assert!(json.get("sid").is_none());

        let with_extra = Claims::builder(
            c.iss.clone(),
            c.sub.clone(),
            Audience::Many(vec!["a".into(), "b".into()]),
        )
        .issued_at(c.iat)
        .expires_at(c.exp)
        .jti("j2")
        .extra(Tenant {
            tenant: "acme".into(),
        })
        .build()
        .unwrap();
        let json = serde_json::to_string(&with_extra).unwrap();
        assert!(json.contains(r#""tenant":"acme""#), "{json}");
        let back: Claims<Tenant> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, with_extra);
        assert!(back.aud.contains("b") && !back.aud.contains("c"));
    }

    #[test]
    fn wrong_json_types_are_rejected() {
        let good = serde_json::to_value(sample()).unwrap();
        for (claim, bad) in [
            ("exp", serde_json::json!("1700000900")),
            ("sub", serde_json::json!(42)),
            ("aud", serde_json::json!(7)),
            ("roles", serde_json::json!("admin")),
            ("iat", serde_json::json!(1.5e300)),
        ] {
            let mut v = good.clone();
            v[claim] = bad;
            assert!(
                serde_json::from_value::<Claims>(v).is_err(),
                "{claim} accepted"
            );
        }
        let mut v = good;
        v.as_object_mut().unwrap().remove("exp");
        assert!(
            serde_json::from_value::<Claims>(v).is_err(),
            "missing exp accepted"
        );
    }

    #[test]
    fn roles() {
        let c = sample();
        assert!(c.has_role("admin"));
        assert!(!c.has_role("Admin"));
        assert!(c.has_roles(&["admin"]));
        assert!(!c.has_roles(&["admin", "ops"]));
    }
}
