//! The schema, embedded at compile time from `migrations/{sqlite,postgres}/` and run
//! through sqlx's migrator, which records each applied migration (version and SHA-384
//! checksum) in `_sqlx_migrations`, exactly as `sqlx::migrate!` or `sqlx migrate run`
//! would for the same directory. It is built from public sqlx types rather than with
//! `sqlx::migrate!`, which would pull in sqlx's proc-macro crate and build both database
//! drivers a second time for the compiler host.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

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

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
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
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}
