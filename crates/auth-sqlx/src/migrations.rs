//! The schema, embedded at compile time from `migrations/{sqlite,postgres}/`, and
//! authcore's own bookkeeping of it.
//!
//! The application's migrations are usually sqlx's, recorded in `_sqlx_migrations`, and
//! sqlx's migrator refuses to run when that table holds a version it does not know. So
//! authcore records its migrations in a table of its own, `_authcore_migrations` (in the
//! store's schema, if one is set), with the same semantics as sqlx's migrator: a version, a
//! SHA-384 checksum of the SQL that must not change once applied, one transaction per
//! migration that holds the SQL and its record, and one migrating instance at a time (a
//! transaction-scoped advisory lock on PostgreSQL, SQLite's write lock taken by
//! `BEGIN IMMEDIATE`). It never writes to `_sqlx_migrations`, but for one thing: a
//! previous authcore version recorded its migration there, as version 1 described
//! `authcore`, and that record, if its checksum is the embedded migration's, moves into
//! authcore's table.
//!
//! The migrations are sqlx [`Migration`]s, built from public sqlx types, for their
//! checksum: the very one sqlx's migrator recorded for the same files, which makes the
//! previous version's record recognisable.

use std::borrow::Cow;
use std::fmt::Write as _;

use authcore::StoreError;
use sqlx::migrate::{Migration, MigrationType};

/// `(version, description, sql)` of each migration, oldest first. Files are named
/// `<version>_<description>.sql`, as sqlx-cli expects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub(crate) &'static [(i64, &'static str, &'static str)]);

#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: Embedded = Embedded(&[(
    1,
    "authcore",
    include_str!("../migrations/sqlite/0001_authcore.sql"),
)]);

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: Embedded = Embedded(&[(
    1,
    "authcore",
    include_str!("../migrations/postgres/0001_authcore.sql"),
)]);

/// The record a previous authcore version left in `_sqlx_migrations`: its only
/// migration, `0001_authcore.sql`.
const LEGACY: (i64, &str) = (1, "authcore");

impl Embedded {
    /// The migrations with their checksums.
    pub(crate) fn resolve(self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect()
    }
}

/// The embedded migration a previous authcore version recorded in `_sqlx_migrations`.
pub(crate) fn legacy(migrations: &[Migration]) -> Option<&Migration> {
    migrations
        .iter()
        .find(|m| (m.version, &*m.description) == LEGACY)
}

/// A checksum as recorded in `_authcore_migrations`: lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Why the recorded migrations do not fit the embedded ones.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MigrationError {
    /// A newer authcore migrated the database.
    #[error("the database holds an authcore migration this version does not know")]
    Unknown,
    /// An applied migration's SQL was changed since.
    #[error("an applied authcore migration differs from the embedded one")]
    Changed,
}

/// Checks the applied `(version, checksum)` pairs against the embedded migrations.
pub(crate) fn check(applied: &[(i64, String)], migrations: &[Migration]) -> Result<(), StoreError> {
    for (version, checksum) in applied {
        let known = migrations
            .iter()
            .find(|m| m.version == *version)
            .ok_or_else(|| StoreError::backend(MigrationError::Unknown))?;
        if hex(&known.checksum) != *checksum {
            return Err(StoreError::backend(MigrationError::Changed));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Vec<Migration> {
        #[cfg(feature = "postgres")]
        return POSTGRES.resolve();
        #[cfg(not(feature = "postgres"))]
        return SQLITE.resolve();
    }

    #[test]
    fn applied_migrations_are_checked() {
        let migrations = embedded();
        let first = hex(&migrations[0].checksum);
        assert_eq!(first.len(), 96, "SHA-384 in hex");
        assert!(check(&[], &migrations).is_ok());
        assert!(check(&[(1, first.clone())], &migrations).is_ok());
        assert!(check(&[(1, "0".repeat(96))], &migrations).is_err());
        assert!(check(&[(1, first), (2, String::new())], &migrations).is_err());
        assert_eq!(legacy(&migrations).map(|m| m.version), Some(1));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
