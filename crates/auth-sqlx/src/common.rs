//! What both dialects share: the SQL text (one set of statements, `$n` placeholders, which
//! SQLite accepts too), row conversions and settings.

use std::time::Duration;

use authcore::PasswordHash;
use authcore::StoreError;
use authcore::store::{RefreshTokenRecord, TokenHash, User};
use authcore::time::OffsetDateTime;

use crate::error::invalid;

/// Default per-call deadline, pool acquire timeout and pool size.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 10;
pub(crate) const DEFAULT_USERS_TABLE: &str = "authcore_users";

/// Unix seconds, rounded down: expiry and `now` round alike, so comparisons hold.
pub(crate) fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Unix seconds, rounded up: a revocation never ends before its instant.
pub(crate) fn unix_ceil(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

pub(crate) fn from_unix(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(StoreError::backend)
}

/// The current time in whole seconds, as stored.
pub(crate) fn now_secs() -> Result<OffsetDateTime, StoreError> {
    from_unix(unix(OffsetDateTime::now_utc()))
}

/// Roles as a JSON array of strings.
pub(crate) fn encode_roles(roles: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(roles).map_err(StoreError::backend)
}

/// `(id, email, password_hash, roles, disabled, created_at)`.
pub(crate) type UserRow = (String, String, String, String, bool, i64);

pub(crate) fn user_from_row(row: UserRow) -> Result<User, StoreError> {
    let (id, email, hash, roles, disabled, created_at) = row;
    Ok(User {
        id,
        email,
        password_hash: PasswordHash::new(hash),
        roles: serde_json::from_str(&roles).map_err(StoreError::backend)?,
        disabled,
        created_at: from_unix(created_at)?,
    })
}

/// `(family_id, user_id, issued_at, expires_at)`.
pub(crate) type TokenRow = (String, String, i64, i64);

pub(crate) fn record_from_row(
    hash: &TokenHash,
    row: TokenRow,
) -> Result<RefreshTokenRecord, StoreError> {
    let (family_id, user_id, issued_at, expires_at) = row;
    Ok(RefreshTokenRecord {
        token_hash: *hash,
        family_id,
        user_id,
        issued_at: from_unix(issued_at)?,
        expires_at: from_unix(expires_at)?,
    })
}

/// How the users table compares emails.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EmailMatch {
    /// The column's `COLLATE NOCASE` does it (SQLite).
    #[cfg(feature = "sqlite")]
    Collation,
    /// `lower(email) = lower($1)`, served by the unique index on `lower(email)`.
    #[cfg(feature = "postgres")]
    Lower,
}

/// The user statements, for a configurable table name.
#[derive(Debug)]
pub(crate) struct UserSql {
    pub(crate) table: String,
    pub(crate) find_by_email: String,
    pub(crate) find_by_id: String,
    pub(crate) create: String,
    pub(crate) update_password_hash: String,
    pub(crate) set_roles: String,
    pub(crate) set_disabled: String,
}

impl UserSql {
    pub(crate) fn new(table: &str, email: EmailMatch) -> Result<Self, StoreError> {
        validate_table(table)?;
        let cols = "id, email, password_hash, roles, disabled, created_at";
        let by_email = match email {
            #[cfg(feature = "sqlite")]
            EmailMatch::Collation => "email = $1",
            #[cfg(feature = "postgres")]
            EmailMatch::Lower => "lower(email) = lower($1)",
        };
        Ok(UserSql {
            table: table.to_owned(),
            find_by_email: format!("SELECT {cols} FROM {table} WHERE {by_email}"),
            find_by_id: format!("SELECT {cols} FROM {table} WHERE id = $1"),
            create: format!("INSERT INTO {table} ({cols}) VALUES ($1, $2, $3, $4, $5, $6)"),
            update_password_hash: format!("UPDATE {table} SET password_hash = $2 WHERE id = $1"),
            set_roles: format!("UPDATE {table} SET roles = $2 WHERE id = $1"),
            set_disabled: format!("UPDATE {table} SET disabled = $2 WHERE id = $1"),
        })
    }
}

/// A table name goes into SQL text, so only plain (optionally schema-qualified)
/// identifiers are accepted.
fn validate_table(name: &str) -> Result<(), StoreError> {
    let ident = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && part.len() <= 63
    };
    let mut parts = name.split('.');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(table), None, None) => ident(table),
        (Some(schema), Some(table), None) => ident(schema) && ident(table),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "the users table must be a plain identifier, optionally schema-qualified",
        ))
    }
}

/// A schema name for PostgreSQL's `search_path`.
#[cfg(feature = "postgres")]
pub(crate) fn validate_schema(name: &str) -> Result<(), StoreError> {
    if !name.contains('.') && validate_table(name).is_ok() {
        Ok(())
    } else {
        Err(invalid("the schema must be a plain identifier"))
    }
}

/// Validates the settings every builder shares.
pub(crate) fn validate_pool(
    max_connections: u32,
    acquire_timeout: Duration,
    query_timeout: Duration,
) -> Result<(), StoreError> {
    if max_connections == 0 {
        return Err(invalid("max_connections must be at least 1"));
    }
    if acquire_timeout.is_zero() || query_timeout.is_zero() {
        return Err(invalid("timeouts must be positive"));
    }
    Ok(())
}

#[cfg(feature = "sqlite")]
pub(crate) const INSERT_FAMILY: &str = "INSERT INTO authcore_refresh_families (id, user_id, revoked) \
     VALUES ($1, $2, FALSE) ON CONFLICT (id) DO NOTHING";

#[cfg(feature = "sqlite")]
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO authcore_refresh_tokens \
     (token_hash, family_id, user_id, issued_at, expires_at, spent_at) \
     VALUES ($1, $2, $3, $4, $5, NULL)";

/// Spends a live token of a live family in one conditional statement: of concurrent
/// callers, only the first to take the row lock (PostgreSQL) or the write lock (SQLite)
/// still finds `spent_at IS NULL`.
pub(crate) const CONSUME: &str = "UPDATE authcore_refresh_tokens SET spent_at = $2 \
     WHERE token_hash = $1 AND spent_at IS NULL AND expires_at > $2 \
     AND EXISTS (SELECT 1 FROM authcore_refresh_families f \
                 WHERE f.id = authcore_refresh_tokens.family_id AND NOT f.revoked) \
     RETURNING family_id, user_id, issued_at, expires_at";

/// Why [`CONSUME`] found nothing: unknown, expired, spent, or a revoked family.
pub(crate) const SELECT_TOKEN: &str = "SELECT family_id, user_id, issued_at, expires_at, spent_at \
     FROM authcore_refresh_tokens WHERE token_hash = $1";

/// Marks a family revoked, creating it if no token was inserted yet.
pub(crate) const REVOKE_FAMILY: &str = "INSERT INTO authcore_refresh_families (id, user_id, revoked) \
     VALUES ($1, '', TRUE) ON CONFLICT (id) DO UPDATE SET revoked = TRUE";

pub(crate) const REVOKE_USER: &str = "UPDATE authcore_refresh_families SET revoked = TRUE \
     WHERE user_id = $1 AND NOT revoked RETURNING id";

pub(crate) const PURGE_TOKENS: &str = "DELETE FROM authcore_refresh_tokens WHERE expires_at <= $1";

pub(crate) const PURGE_FAMILIES: &str = "DELETE FROM authcore_refresh_families WHERE NOT EXISTS \
     (SELECT 1 FROM authcore_refresh_tokens t WHERE t.family_id = authcore_refresh_families.id)";

/// Inserts or extends a revocation; an earlier `expires_at` never shortens it.
pub(crate) const REVOKE: &str = "INSERT INTO authcore_revocations (id, expires_at) VALUES ($1, $2) \
     ON CONFLICT (id) DO UPDATE SET expires_at = CASE \
     WHEN excluded.expires_at > authcore_revocations.expires_at THEN excluded.expires_at \
     ELSE authcore_revocations.expires_at END";

pub(crate) const PURGE_REVOCATIONS: &str =
    "DELETE FROM authcore_revocations WHERE expires_at <= $1";

/// Revocations still in force, for [`authcore::store::RevocationMirror::load`].
pub(crate) const ACTIVE_REVOCATIONS: &str =
    "SELECT id, expires_at FROM authcore_revocations WHERE expires_at > $1";

/// `SELECT 1 … WHERE id IN ($1, …, $n) LIMIT 1`: one round trip for all ids.
pub(crate) fn is_revoked_sql(n: usize) -> String {
    let mut sql = String::from("SELECT 1 FROM authcore_revocations WHERE id IN (");
    for i in 1..=n {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push_str(") LIMIT 1");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_identifiers() {
        for ok in ["users", "app.users", "_t1", "Accounts"] {
            assert!(validate_table(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1users",
            "users;drop",
            "a.b.c",
            "a b",
            "\"users\"",
            "app.",
        ] {
            assert!(validate_table(bad).is_err(), "{bad}");
        }
        #[cfg(feature = "postgres")]
        {
            assert!(validate_schema("app").is_ok());
            assert!(validate_schema("app.x").is_err());
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            is_revoked_sql(2),
            "SELECT 1 FROM authcore_revocations WHERE id IN ($1, $2) LIMIT 1"
        );
    }

    #[test]
    fn seconds_round_as_documented() {
        let t = OffsetDateTime::from_unix_timestamp(100).unwrap();
        assert_eq!((unix(t), unix_ceil(t)), (100, 100));
        let t = t + authcore::time::Duration::milliseconds(1);
        assert_eq!((unix(t), unix_ceil(t)), (100, 101));
    }
}
