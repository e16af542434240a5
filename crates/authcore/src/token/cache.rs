//! A bounded cache of verified access tokens, so that a client presenting the same token
//! again skips the signature, the base64 and the JSON: the [`Authenticator`]'s fast path.
//!
//! [`Authenticator`]: crate::Authenticator

use std::fmt;

use time::OffsetDateTime;

use crate::claims::Claims;
use crate::slots::Slots;

/// What the [`Authenticator`](crate::Authenticator) needs of a cache, without requiring
/// `E: Clone` of every authenticator.
pub(crate) trait ClaimsCache<E>: Send + Sync {
    /// The claims stored for exactly `token`, if they are in force at `now`.
    fn get(&self, token: &str, now: OffsetDateTime) -> Option<Claims<E>>;
    /// Stores the claims of a token that has just verified.
    fn put(&self, token: &str, claims: &Claims<E>);
}

/// A direct-mapped table of `slots` entries, each a verified token and its claims.
///
/// A slot is chosen from the token's last 8 bytes (its signature, random for every token
/// that verified: only those are stored), and a hit requires the whole token to be equal,
/// byte for byte, so a token that was never verified can never be answered from here. A
/// hit also requires `nbf <= now < exp`, without the verifier's leeway: near its expiry a
/// token goes back to the verifier, which applies it. A newer token simply replaces the
/// slot's older one.
pub(crate) struct VerifiedTokens<E> {
    slots: Slots<Option<Entry<E>>>,
}

struct Entry<E> {
    token: Box<str>,
    claims: Claims<E>,
}

impl<E> VerifiedTokens<E> {
    /// A table of `slots` entries, rounded up to a power of two.
    pub(crate) fn new(slots: usize) -> Self {
        VerifiedTokens {
            slots: Slots::new(slots),
        }
    }

    /// The token's last 8 bytes: its signature, random for every token stored.
    fn hash(token: &str) -> u64 {
        let bytes = token.as_bytes();
        let mut tail = [0u8; 8];
        let n = bytes.len().min(8);
        tail[..n].copy_from_slice(&bytes[bytes.len() - n..]);
        u64::from_le_bytes(tail)
    }
}

impl<E> fmt::Debug for VerifiedTokens<E> {
    // never the tokens
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl<E: Clone + Send + Sync> ClaimsCache<E> for VerifiedTokens<E> {
    fn get(&self, token: &str, now: OffsetDateTime) -> Option<Claims<E>> {
        let slot = self.slots.lock(Self::hash(token));
        let entry = slot.as_ref()?;
        let in_force = entry.claims.nbf <= now && now < entry.claims.exp;
        (in_force && *entry.token == *token).then(|| entry.claims.clone())
    }

    fn put(&self, token: &str, claims: &Claims<E>) {
        let entry = Entry {
            token: token.into(),
            claims: claims.clone(),
        };
        *self.slots.lock(Self::hash(token)) = Some(entry);
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::claims::Audience;

    fn claims(sub: &str, now: OffsetDateTime) -> Claims {
        Claims::builder("iss", sub, Audience::One("aud".into()))
            .issued_at(now)
            .expires_at(now + Duration::minutes(15))
            .jti(format!("jti-{sub}"))
            .roles(["admin"])
            .build()
            .unwrap()
    }

    #[test]
    fn a_hit_needs_the_whole_token_and_claims_in_force() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokens::new(1000);
        assert_eq!(cache.slots.len(), 1024);
        cache.put("header.payload.signature1", &claims("ada", now));
        let hit = cache.get("header.payload.signature1", now).unwrap();
        assert_eq!(hit, claims("ada", now));

        // the same last 8 bytes (so the same slot), another token: a miss
        assert!(cache.get("other.payload.signature1", now).is_none());
        assert!(cache.get("signature1", now).is_none());
        // in force only from nbf up to, not including, exp
        assert!(
            cache
                .get("header.payload.signature1", now - Duration::seconds(1))
                .is_none()
        );
        assert!(
            cache
                .get("header.payload.signature1", now + Duration::minutes(15))
                .is_none()
        );
        assert!(
            cache
                .get(
                    "header.payload.signature1",
                    now + Duration::minutes(15) - Duration::seconds(1)
                )
                .is_some()
        );
    }

    #[test]
    fn a_newer_token_replaces_the_slots_older_one() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokens::new(1);
        cache.put("a.b.first-signature", &claims("ada", now));
        cache.put("a.b.second-signature", &claims("bob", now));
        assert!(cache.get("a.b.first-signature", now).is_none());
        assert_eq!(cache.get("a.b.second-signature", now).unwrap().sub, "bob");
        // short tokens still find a slot
        cache.put("x", &claims("x", now));
        assert_eq!(cache.get("x", now).unwrap().sub, "x");
    }

    #[test]
    fn tokens_spread_over_the_slots() {
        let cache = VerifiedTokens::<()>::new(64);
        let used: std::collections::HashSet<usize> = (0..64)
            .map(|i| {
                let signature = crate::crypto::random_id::<32>().unwrap();
                let token = format!("h.p.{signature}{i}");
                cache.slots.index(VerifiedTokens::<()>::hash(&token))
            })
            .collect();
        // 64 random signatures in 64 slots: about 40 distinct; far fewer means a bad index
        assert!(used.len() > 25, "{} slots used", used.len());
    }

    #[test]
    fn debug_shows_no_token() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokens::new(4);
        cache.put("secret-token-value", &claims("ada", now));
        let debug = format!("{cache:?}");
        assert!(
            !debug.contains("secret-token-value") && debug.contains("slots: 4"),
            "{debug}"
        );
    }
}
