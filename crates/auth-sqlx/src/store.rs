//! The three store traits, written once for both dialects: the statements are shared
//! (see `common`), and this macro expands them for `SqliteStore` and `PostgresStore`,
//! whose pools are different types. Every call runs under the store's query timeout.

macro_rules! impl_stores {
    ($store:ty) => {
        #[authcore::async_trait]
        impl authcore::UserStore for $store {
            async fn find_by_email(
                &self,
                email: &str,
            ) -> Result<Option<authcore::User>, authcore::StoreError> {
                self.find_user(&self.sql.users.find_by_email, email).await
            }

            async fn find_by_id(
                &self,
                id: &str,
            ) -> Result<Option<authcore::User>, authcore::StoreError> {
                self.find_user(&self.sql.users.find_by_id, id).await
            }

            async fn create(
                &self,
                new: authcore::store::NewUser,
            ) -> Result<authcore::User, authcore::StoreError> {
                let user = authcore::User::new(
                    authcore::store::new_user_id()?,
                    new.email,
                    new.password_hash,
                    crate::common::now_secs()?,
                )
                .with_roles(new.roles);
                let roles = crate::common::encode_roles(&user.roles)?;
                self.written(async {
                    sqlx::query(&self.sql.users.create)
                        .bind(&user.id)
                        .bind(&user.email)
                        .bind(user.password_hash.as_str())
                        .bind(roles)
                        .bind(false)
                        .bind(crate::common::unix(user.created_at))
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)
                })
                .await?;
                Ok(user)
            }

            async fn update_password_hash(
                &self,
                id: &str,
                hash: &authcore::PasswordHash,
            ) -> Result<(), authcore::StoreError> {
                self.update(
                    sqlx::query(&self.sql.users.update_password_hash)
                        .bind(id)
                        .bind(hash.as_str()),
                )
                .await
            }

            async fn set_roles(
                &self,
                id: &str,
                roles: &[String],
            ) -> Result<(), authcore::StoreError> {
                let roles = crate::common::encode_roles(roles)?;
                self.update(sqlx::query(&self.sql.users.set_roles).bind(id).bind(roles))
                    .await
            }

            async fn set_disabled(
                &self,
                id: &str,
                disabled: bool,
            ) -> Result<(), authcore::StoreError> {
                self.update(
                    sqlx::query(&self.sql.users.set_disabled)
                        .bind(id)
                        .bind(disabled),
                )
                .await
            }
        }

        #[authcore::async_trait]
        impl authcore::RefreshTokenStore for $store {
            async fn insert(
                &self,
                record: authcore::store::RefreshTokenRecord,
            ) -> Result<(), authcore::StoreError> {
                self.written(self.insert_token(&record)).await
            }

            async fn consume(
                &self,
                hash: &authcore::store::TokenHash,
                now: authcore::time::OffsetDateTime,
            ) -> Result<authcore::store::Consumed, authcore::StoreError> {
                use crate::common::{TokenRow, record_from_row, unix};
                use authcore::store::Consumed;
                let (hex, now) = (hash.to_hex(), unix(now));
                self.written(async {
                    let spent = sqlx::query_as::<_, TokenRow>(&self.sql.consume)
                        .bind(&hex)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    if let Some(row) = spent {
                        return Ok(Consumed::Rotated(record_from_row(hash, row)?));
                    }
                    let found = sqlx::query_as::<_, (String, String, i64, i64, Option<i64>)>(
                        &self.sql.select_token,
                    )
                    .bind(&hex)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::error::db)?;
                    Ok(match found {
                        Some((family, user, issued, expires, Some(_))) if expires > now => {
                            Consumed::Reused(record_from_row(
                                hash,
                                (family, user, issued, expires),
                            )?)
                        }
                        // Unknown, expired, or live in a revoked (or purged) family.
                        _ => Consumed::Invalid,
                    })
                })
                .await
            }

            async fn revoke_family(&self, family_id: &str) -> Result<(), authcore::StoreError> {
                self.written(async {
                    sqlx::query(&self.sql.revoke_family)
                        .bind(family_id)
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    Ok(())
                })
                .await
            }

            async fn revoke_user(
                &self,
                user_id: &str,
            ) -> Result<Vec<String>, authcore::StoreError> {
                self.written(async {
                    sqlx::query_scalar::<_, String>(&self.sql.revoke_user)
                        .bind(user_id)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(crate::error::db)
                })
                .await
            }

            async fn purge_expired(
                &self,
                now: authcore::time::OffsetDateTime,
            ) -> Result<u64, authcore::StoreError> {
                self.written(async {
                    let done = sqlx::query(&self.sql.purge_tokens)
                        .bind(crate::common::unix(now))
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    sqlx::query(&self.sql.purge_families)
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    Ok(done.rows_affected())
                })
                .await
            }
        }

        #[authcore::async_trait]
        impl authcore::RevocationStore for $store {
            async fn revoke(
                &self,
                id: &str,
                expires_at: authcore::time::OffsetDateTime,
            ) -> Result<(), authcore::StoreError> {
                self.written(async {
                    sqlx::query(&self.sql.revoke)
                        .bind(id)
                        .bind(crate::common::unix_ceil(expires_at))
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    Ok(())
                })
                .await
            }

            async fn is_revoked(&self, ids: &[&str]) -> Result<bool, authcore::StoreError> {
                if ids.is_empty() {
                    return Ok(false);
                }
                let sql = self.sql.is_revoked(ids.len());
                self.bounded(async {
                    let mut query = sqlx::query_scalar::<_, i32>(&sql);
                    for id in ids {
                        query = query.bind(*id);
                    }
                    let hit = query
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    Ok(hit.is_some())
                })
                .await
            }

            async fn purge_expired(
                &self,
                now: authcore::time::OffsetDateTime,
            ) -> Result<u64, authcore::StoreError> {
                self.written(async {
                    let done = sqlx::query(&self.sql.purge_revocations)
                        .bind(crate::common::unix(now))
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    Ok(done.rows_affected())
                })
                .await
            }

            async fn active(
                &self,
                now: authcore::time::OffsetDateTime,
            ) -> Result<Vec<(String, authcore::time::OffsetDateTime)>, authcore::StoreError> {
                self.bounded(async {
                    let rows = sqlx::query_as::<_, (String, i64)>(&self.sql.active_revocations)
                        .bind(crate::common::unix(now))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(crate::error::db)?;
                    rows.into_iter()
                        .map(|(id, until)| Ok((id, crate::common::from_unix(until)?)))
                        .collect()
                })
                .await
            }
        }

        impl $store {
            /// Runs one of the user lookups, which all bind a single text key.
            async fn find_user(
                &self,
                sql: &str,
                key: &str,
            ) -> Result<Option<authcore::User>, authcore::StoreError> {
                self.bounded(async {
                    sqlx::query_as::<_, crate::common::UserRow>(sql)
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(crate::error::db)?
                        .map(crate::common::user_from_row)
                        .transpose()
                })
                .await
            }

            async fn bounded<T>(
                &self,
                fut: impl std::future::Future<Output = Result<T, authcore::StoreError>>,
            ) -> Result<T, authcore::StoreError> {
                crate::error::bounded(self.query_timeout, fut).await
            }

            /// Runs a call that writes, under the query timeout, after waiting for the
            /// store's turn to write (`write_turn`): the wait counts against the timeout.
            async fn written<T>(
                &self,
                fut: impl std::future::Future<Output = Result<T, authcore::StoreError>>,
            ) -> Result<T, authcore::StoreError> {
                self.bounded(async {
                    let _turn = self.write_turn().await;
                    fut.await
                })
                .await
            }

            /// Runs an `UPDATE` of one user; no row is [`StoreError::NotFound`].
            async fn update<'q, A>(
                &self,
                query: sqlx::query::Query<'q, <Self as crate::store::Dialect>::Db, A>,
            ) -> Result<(), authcore::StoreError>
            where
                A: sqlx::IntoArguments<'q, <Self as crate::store::Dialect>::Db> + 'q,
            {
                self.written(async {
                    let done = query.execute(&self.pool).await.map_err(crate::error::db)?;
                    if done.rows_affected() == 0 {
                        Err(authcore::StoreError::NotFound)
                    } else {
                        Ok(())
                    }
                })
                .await
            }

            /// Deletes expired refresh tokens and revocations (`expires_at <= now`) in one
            /// call; returns how many. Run it periodically, or call
            /// [`Authenticator::purge_expired`](authcore::Authenticator::purge_expired).
            ///
            /// # Errors
            /// [`StoreError::Unavailable`] if the database cannot be reached in time;
            /// [`StoreError::Backend`] for other database failures.
            pub async fn purge_expired(
                &self,
                now: authcore::time::OffsetDateTime,
            ) -> Result<u64, authcore::StoreError> {
                Ok(authcore::RefreshTokenStore::purge_expired(self, now).await?
                    + authcore::RevocationStore::purge_expired(self, now).await?)
            }

            /// Creates or updates authcore's tables: runs the embedded migrations that are
            /// not applied yet, each in a transaction of its own, and records them in
            /// authcore's own `_authcore_migrations` table (in the store's schema, if one is
            /// set). The application's `_sqlx_migrations` is left alone, so the application
            /// can migrate the same database with sqlx, before or after. Safe to call at
            /// every start-up and from several instances at once.
            ///
            /// A database migrated by a previous authcore version holds authcore's record
            /// (version 1, `authcore`) in `_sqlx_migrations`, where it stops the
            /// application's own sqlx migrator: if its checksum is the embedded migration's,
            /// it moves into `_authcore_migrations`, once.
            ///
            /// # Errors
            /// [`StoreError::Unavailable`] if the database cannot be reached;
            /// [`StoreError::Backend`] if a migration fails, or the recorded migrations
            /// differ from the embedded ones or include one this version does not know.
            pub async fn migrate(&self) -> Result<(), authcore::StoreError> {
                use crate::error::db;
                let migrations = <Self as crate::store::Dialect>::MIGRATIONS.resolve();
                let sql = &self.sql.migrations;
                let _turn = self.write_turn().await;
                // One connection for every step, as sqlx's migrator: a pool returns a
                // connection in a background task, and the next step would open another.
                let mut conn = self.pool.acquire().await.map_err(db)?;

                // A record of the previous authcore version's in sqlx's table moves here.
                let (mut tx, applied) = self.migration_step(&mut conn).await?;
                let legacy_table: i64 =
                    sqlx::query_scalar(<Self as crate::store::Dialect>::TABLE_EXISTS)
                        .bind(&sql.legacy_table)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                if let Some(legacy) =
                    crate::migrations::legacy(&migrations).filter(|_| legacy_table > 0)
                {
                    let found: Option<Vec<u8>> = sqlx::query_scalar(&sql.legacy_checksum)
                        .bind(legacy.version)
                        .bind(&*legacy.description)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    if found.as_deref() == Some(&*legacy.checksum) {
                        if !applied.iter().any(|(v, _)| *v == legacy.version) {
                            self.record(&mut tx, legacy).await?;
                        }
                        sqlx::query(&sql.legacy_delete)
                            .bind(legacy.version)
                            .bind(&*legacy.description)
                            .bind(&*legacy.checksum)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                }
                tx.commit().await.map_err(db)?;

                for migration in &migrations {
                    let (mut tx, applied) = self.migration_step(&mut conn).await?;
                    crate::migrations::check(&applied, &migrations)?;
                    if !applied.iter().any(|(v, _)| *v == migration.version) {
                        if let (Some(scope), Some(schema)) =
                            (<Self as crate::store::Dialect>::SCOPE, &self.sql.schema)
                        {
                            sqlx::query(scope)
                                .bind(schema)
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                        }
                        // All statements of the file, through `Executor::execute`: the
                        // generic `RawSql::execute` would make this future fail `Send`
                        // (a higher-ranked lifetime error), and `tokio::spawn` refuse it.
                        sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(&migration.sql))
                            .await
                            .map_err(db)?;
                        self.record(&mut tx, migration).await?;
                    }
                    tx.commit().await.map_err(db)?;
                }
                Ok(())
            }

            /// Begins one step of [`migrate`](Self::migrate) on `conn`: a transaction that
            /// holds the migration lock, in which authcore's migrations table exists.
            /// Returns it with the `(version, checksum)` of each migration applied so far.
            async fn migration_step<'c>(
                &self,
                conn: &'c mut sqlx::pool::PoolConnection<<Self as crate::store::Dialect>::Db>,
            ) -> Result<
                (
                    sqlx::Transaction<'c, <Self as crate::store::Dialect>::Db>,
                    Vec<(i64, String)>,
                ),
                authcore::StoreError,
            > {
                use crate::error::db;
                let sql = &self.sql.migrations;
                let mut tx = sqlx::Connection::begin_with(
                    &mut **conn,
                    <Self as crate::store::Dialect>::BEGIN,
                )
                .await
                .map_err(db)?;
                if let Some(lock) = <Self as crate::store::Dialect>::MIGRATION_LOCK {
                    sqlx::query(lock).execute(&mut *tx).await.map_err(db)?;
                }
                sqlx::query(&sql.create_table)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let applied = sqlx::query_as(&sql.applied)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                Ok((tx, applied))
            }

            /// Records `migration` as applied, in authcore's migrations table.
            async fn record(
                &self,
                tx: &mut sqlx::Transaction<'_, <Self as crate::store::Dialect>::Db>,
                migration: &sqlx::migrate::Migration,
            ) -> Result<(), authcore::StoreError> {
                sqlx::query(&self.sql.migrations.record)
                    .bind(migration.version)
                    .bind(&*migration.description)
                    .bind(crate::migrations::hex(&migration.checksum))
                    .bind(crate::common::unix(
                        authcore::time::OffsetDateTime::now_utc(),
                    ))
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db)?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_stores;

/// What differs per database, as types and constants.
pub(crate) trait Dialect {
    type Db: sqlx::Database;
    const MIGRATIONS: crate::migrations::Embedded;
    /// Begins a transaction of `migrate`.
    const BEGIN: &'static str;
    /// Takes the lock that serializes `migrate` calls, until the transaction ends, if
    /// `BEGIN` does not.
    const MIGRATION_LOCK: Option<&'static str>;
    /// Makes the schema (bound as `$1`) the one unqualified names in a migration's SQL
    /// mean, until the transaction ends; run when the store has a schema.
    const SCOPE: Option<&'static str>;
    /// Counts the tables named `$1` (0 or 1), as a `BIGINT`.
    const TABLE_EXISTS: &'static str;
}
