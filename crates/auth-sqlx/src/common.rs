//! What both dialects share: the SQL text (one set of statements, `$n` placeholders, which
//! SQLite accepts too), row conversions and settings.

use std::borrow::Cow;
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
    Ok(
        User::new(id, email, PasswordHash::new(hash), from_unix(created_at)?)
            .with_roles(serde_json::from_str(&roles).map_err(StoreError::backend)?)
            .with_disabled(disabled),
    )
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

/// Which database the statements are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Emails compare through the column's `COLLATE NOCASE`; a refresh token and its
    /// family are inserted by two statements in one transaction.
    #[cfg(feature = "sqlite")]
    Sqlite,
    /// Emails compare as `lower(email) = lower($1)`, served by the unique index on
    /// `lower(email)`; a refresh token and its family are inserted by one statement.
    #[cfg(feature = "postgres")]
    Postgres,
}

/// The name of authcore's own migrations table. sqlx's `_sqlx_migrations` belongs to the
/// application (see `crate::migrations`).
pub(crate) const MIGRATIONS_TABLE: &str = "_authcore_migrations";

/// Every statement of a store, built once when the store is built: the table names are
/// schema-qualified when a schema is configured, so the statements do not depend on the
/// connections' `search_path`, whoever made the pool.
#[derive(Debug)]
pub(crate) struct Sql {
    /// The schema that holds authcore's tables, if one is configured (PostgreSQL).
    pub(crate) schema: Option<String>,
    pub(crate) users: UserSql,
    /// The family of a new refresh token, unless it exists (SQLite's first statement;
    /// PostgreSQL's `insert_token` does both).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) insert_family: String,
    pub(crate) insert_token: String,
    pub(crate) consume: String,
    pub(crate) select_token: String,
    pub(crate) revoke_family: String,
    pub(crate) revoke_user: String,
    pub(crate) purge_tokens: String,
    pub(crate) purge_families: String,
    pub(crate) revoke: String,
    pub(crate) purge_revocations: String,
    pub(crate) active_revocations: String,
    /// `is_revoked` for one and for two ids, the counts authcore asks for.
    is_revoked: [String; 2],
    /// The revocations table, for `is_revoked` with more ids.
    revocations: String,
    pub(crate) migrations: MigrationSql,
}

impl Sql {
    /// The statements for `flavor`, with the tables in `schema` (validated here) and the
    /// users in `users_table` (validated here; qualified with the schema unless it is
    /// qualified already).
    pub(crate) fn new(
        flavor: Flavor,
        schema: Option<&str>,
        users_table: &str,
    ) -> Result<Self, StoreError> {
        validate_table(users_table)?;
        let prefix = match schema {
            Some(schema) => {
                validate_schema(schema)?;
                format!("{schema}.")
            }
            None => String::new(),
        };
        let users = if users_table.contains('.') {
            users_table.to_owned()
        } else {
            format!("{prefix}{users_table}")
        };
        let families = format!("{prefix}authcore_refresh_families");
        let tokens = format!("{prefix}authcore_refresh_tokens");
        let revocations = format!("{prefix}authcore_revocations");
        // Columns are qualified by the bare table name, which both databases accept for a
        // schema-qualified table too.
        let insert_family = format!(
            "INSERT INTO {families} (id, user_id, revoked) VALUES ($1, $2, FALSE) \
             ON CONFLICT (id) DO NOTHING"
        );
        let token_columns = "(token_hash, family_id, user_id, issued_at, expires_at, spent_at)";
        let insert_token = match flavor {
            #[cfg(feature = "sqlite")]
            Flavor::Sqlite => {
                format!("INSERT INTO {tokens} {token_columns} VALUES ($1, $2, $3, $4, $5, NULL)")
            }
            // The family's `ON CONFLICT DO NOTHING` leaves a revoked family revoked, so
            // the token is then never consumable.
            #[cfg(feature = "postgres")]
            Flavor::Postgres => format!(
                "WITH family AS (\
                 INSERT INTO {families} (id, user_id, revoked) VALUES ($2, $3, FALSE) \
                 ON CONFLICT (id) DO NOTHING) \
                 INSERT INTO {tokens} {token_columns} VALUES ($1, $2, $3, $4, $5, NULL)"
            ),
        };
        Ok(Sql {
            schema: schema.map(str::to_owned),
            users: UserSql::new(users, flavor),
            insert_family,
            insert_token,
            // Spends a live token of a live family in one conditional statement: of
            // concurrent callers, only the first to take the row lock (PostgreSQL) or the
            // write lock (SQLite) still finds `spent_at IS NULL`.
            consume: format!(
                "UPDATE {tokens} SET spent_at = $2 \
                 WHERE token_hash = $1 AND spent_at IS NULL AND expires_at > $2 \
                 AND EXISTS (SELECT 1 FROM {families} f \
                 WHERE f.id = authcore_refresh_tokens.family_id AND NOT f.revoked) \
                 RETURNING family_id, user_id, issued_at, expires_at"
            ),
            // Why `consume` found nothing: unknown, expired, spent, or a revoked family.
            select_token: format!(
                "SELECT family_id, user_id, issued_at, expires_at, spent_at \
                 FROM {tokens} WHERE token_hash = $1"
            ),
            // Marks a family revoked, creating it if no token was inserted yet.
            revoke_family: format!(
                "INSERT INTO {families} (id, user_id, revoked) VALUES ($1, '', TRUE) \
                 ON CONFLICT (id) DO UPDATE SET revoked = TRUE"
            ),
            revoke_user: format!(
                "UPDATE {families} SET revoked = TRUE \
                 WHERE user_id = $1 AND NOT revoked RETURNING id"
            ),
            purge_tokens: format!("DELETE FROM {tokens} WHERE expires_at <= $1"),
            purge_families: format!(
                "DELETE FROM {families} WHERE NOT EXISTS \
                 (SELECT 1 FROM {tokens} t WHERE t.family_id = authcore_refresh_families.id)"
            ),
            // Inserts or extends a revocation; an earlier `expires_at` never shortens it.
            revoke: format!(
                "INSERT INTO {revocations} (id, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET expires_at = CASE \
                 WHEN excluded.expires_at > authcore_revocations.expires_at \
                 THEN excluded.expires_at ELSE authcore_revocations.expires_at END"
            ),
            purge_revocations: format!("DELETE FROM {revocations} WHERE expires_at <= $1"),
            // Revocations still in force, for `RevocationMirror::load`.
            active_revocations: format!(
                "SELECT id, expires_at FROM {revocations} WHERE expires_at > $1"
            ),
            is_revoked: [
                is_revoked_sql(&revocations, 1),
                is_revoked_sql(&revocations, 2),
            ],
            revocations,
            migrations: MigrationSql::new(&prefix),
        })
    }

    /// `SELECT 1 … WHERE id IN ($1, …, $n) LIMIT 1`: one round trip for all ids. Built at
    /// start-up for the one or two ids authcore asks about, at the call for more.
    pub(crate) fn is_revoked(&self, n: usize) -> Cow<'_, str> {
        match n.checked_sub(1).and_then(|i| self.is_revoked.get(i)) {
            Some(sql) => Cow::Borrowed(sql),
            None => Cow::Owned(is_revoked_sql(&self.revocations, n)),
        }
    }
}

/// The statements of authcore's migration bookkeeping (see `crate::migrations`).
#[derive(Debug)]
pub(crate) struct MigrationSql {
    /// Creates authcore's migrations table unless it exists.
    pub(crate) create_table: String,
    /// `(version, checksum)` of every applied migration.
    pub(crate) applied: String,
    /// Records an applied migration: `(version, description, checksum, installed_at)`.
    pub(crate) record: String,
    /// The name to look sqlx's table up by, to find a record of a previous authcore
    /// version there.
    pub(crate) legacy_table: String,
    /// The checksum of a successful sqlx record with version `$1` and description `$2`.
    pub(crate) legacy_checksum: String,
    /// Deletes the sqlx record with version `$1`, description `$2` and checksum `$3`.
    pub(crate) legacy_delete: String,
}

impl MigrationSql {
    fn new(prefix: &str) -> Self {
        let table = format!("{prefix}{MIGRATIONS_TABLE}");
        let legacy = format!("{prefix}_sqlx_migrations");
        MigrationSql {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 version BIGINT PRIMARY KEY NOT NULL, \
                 description TEXT NOT NULL, \
                 checksum TEXT NOT NULL, \
                 installed_at BIGINT NOT NULL)"
            ),
            applied: format!("SELECT version, checksum FROM {table} ORDER BY version"),
            record: format!(
                "INSERT INTO {table} (version, description, checksum, installed_at) \
                 VALUES ($1, $2, $3, $4)"
            ),
            legacy_checksum: format!(
                "SELECT checksum FROM {legacy} WHERE version = $1 AND description = $2 AND success"
            ),
            legacy_delete: format!(
                "DELETE FROM {legacy} WHERE version = $1 AND description = $2 AND checksum = $3"
            ),
            legacy_table: legacy,
        }
    }
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
    /// `table` is validated and qualified already.
    fn new(table: String, flavor: Flavor) -> Self {
        let cols = "id, email, password_hash, roles, disabled, created_at";
        let by_email = match flavor {
            #[cfg(feature = "sqlite")]
            Flavor::Sqlite => "email = $1",
            #[cfg(feature = "postgres")]
            Flavor::Postgres => "lower(email) = lower($1)",
        };
        UserSql {
            find_by_email: format!("SELECT {cols} FROM {table} WHERE {by_email}"),
            find_by_id: format!("SELECT {cols} FROM {table} WHERE id = $1"),
            create: format!("INSERT INTO {table} ({cols}) VALUES ($1, $2, $3, $4, $5, $6)"),
            update_password_hash: format!("UPDATE {table} SET password_hash = $2 WHERE id = $1"),
            set_roles: format!("UPDATE {table} SET roles = $2 WHERE id = $1"),
            set_disabled: format!("UPDATE {table} SET disabled = $2 WHERE id = $1"),
            table,
        }
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

/// A schema name goes into SQL text, before each table name: a plain identifier only.
fn validate_schema(name: &str) -> Result<(), StoreError> {
    if !name.contains('.') && validate_table(name).is_ok() {
        Ok(())
    } else {
        Err(invalid("the schema must be a plain identifier"))
    }
}

/// `SELECT 1 FROM {table} WHERE id IN ($1, …, $n) LIMIT 1`.
fn is_revoked_sql(table: &str, n: usize) -> String {
    let mut sql = format!("SELECT 1 FROM {table} WHERE id IN (");
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
        assert!(validate_schema("app").is_ok());
        assert!(validate_schema("app.x").is_err());
    }

    #[test]
    fn statements_name_the_schema() {
        #[cfg(feature = "postgres")]
        let flavor = Flavor::Postgres;
        #[cfg(not(feature = "postgres"))]
        let flavor = Flavor::Sqlite;
        let sql = Sql::new(flavor, Some("auth"), DEFAULT_USERS_TABLE).unwrap();
        assert_eq!(sql.users.table, "auth.authcore_users");
        assert_eq!(
            sql.is_revoked(2),
            "SELECT 1 FROM auth.authcore_revocations WHERE id IN ($1, $2) LIMIT 1"
        );
        assert_eq!(
            sql.is_revoked(3),
            "SELECT 1 FROM auth.authcore_revocations WHERE id IN ($1, $2, $3) LIMIT 1"
        );
        let m = &sql.migrations;
        let statements = [
            &sql.users.find_by_email,
            &sql.users.find_by_id,
            &sql.users.create,
            &sql.users.update_password_hash,
            &sql.users.set_roles,
            &sql.users.set_disabled,
            &sql.insert_family,
            &sql.insert_token,
            &sql.consume,
            &sql.select_token,
            &sql.revoke_family,
            &sql.revoke_user,
            &sql.purge_tokens,
            &sql.purge_families,
            &sql.revoke,
            &sql.purge_revocations,
            &sql.active_revocations,
            &m.create_table,
            &m.applied,
            &m.record,
            &m.legacy_checksum,
            &m.legacy_delete,
        ];
        for statement in statements {
            // every table a statement reads or writes is named with the schema
            let words: Vec<&str> = statement.split_whitespace().collect();
            for pair in words.windows(2) {
                let table = !pair[1].starts_with('(') && pair[1] != "SET";
                if matches!(pair[0], "FROM" | "INTO" | "UPDATE" | "EXISTS") && table {
                    assert!(pair[1].starts_with("auth."), "{statement}");
                }
            }
        }
        assert_eq!(m.legacy_table, "auth._sqlx_migrations");
        assert!(m.create_table.contains("auth._authcore_migrations ("));

        // a qualified users table stays where it is; an unqualified one joins the schema
        let sql = Sql::new(flavor, Some("auth"), "app.accounts").unwrap();
        assert_eq!(sql.users.table, "app.accounts");
        let sql = Sql::new(flavor, Some("auth"), "accounts").unwrap();
        assert_eq!(sql.users.table, "auth.accounts");
        // without a schema, names are bare
        let sql = Sql::new(flavor, None, DEFAULT_USERS_TABLE).unwrap();
        assert_eq!(
            sql.is_revoked(1),
            "SELECT 1 FROM authcore_revocations WHERE id IN ($1) LIMIT 1"
        );
        assert_eq!(sql.migrations.legacy_table, "_sqlx_migrations");
        for bad in ["a.b", "a;b", "", "1a"] {
            assert!(
                Sql::new(flavor, Some(bad), DEFAULT_USERS_TABLE).is_err(),
                "{bad}"
            );
        }
        assert!(Sql::new(flavor, None, "a b").is_err());
    }

    #[test]
    fn seconds_round_as_documented() {
        let t = OffsetDateTime::from_unix_timestamp(100).unwrap();
        assert_eq!((unix(t), unix_ceil(t)), (100, 100));
        let t = t + authcore::time::Duration::milliseconds(1);
        assert_eq!((unix(t), unix_ceil(t)), (100, 101));
    }
}
