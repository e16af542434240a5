//! sqlx errors as [`StoreError`]s: unreachable or slow is `Unavailable`, a unique
//! violation is `Conflict`, everything else `Backend`.

use std::future::Future;
use std::time::Duration;

use authcore::{ConfigError, StoreError};
use sqlx::error::DatabaseError;

/// Our own deadline passed: the database is too slow or hangs.
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer within {0:?}")]
pub(crate) struct TimedOut(pub(crate) Duration);

/// An invalid builder setting, as the `Backend` error the connect methods return.
pub(crate) fn invalid(reason: &'static str) -> StoreError {
    StoreError::backend(ConfigError::Invalid(reason))
}

/// Maps a sqlx error.
pub(crate) fn db(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::unavailable(err),
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(e) if is_transient(&**e) => StoreError::unavailable(err),
        _ => StoreError::backend(err),
    }
}

/// Database errors that mean "not now" rather than "wrong": a busy or locked SQLite file,
/// a PostgreSQL server that is shutting down, starting, full, or cancelled the statement at
/// its `statement_timeout`.
fn is_transient(err: &dyn DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if err
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // Extended result codes: the primary code is the low byte. SQLITE_BUSY = 5,
        // SQLITE_LOCKED = 6.
        let code = err.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
        return matches!(code & 0xff, 5 | 6);
    }
    #[cfg(feature = "postgres")]
    if let Some(e) = err.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = e.code();
        // 08: connection exception; 53300 too_many_connections; 57014 query_canceled
        // (statement_timeout); 57P01-03 admin/crash shutdown, cannot connect now;
        // 55P03 lock_not_available.
        return code.starts_with("08")
            || matches!(
                code,
                "53300" | "57014" | "57P01" | "57P02" | "57P03" | "55P03"
            );
    }
    let _ = err;
    false
}

/// Runs `fut` with a deadline; a late answer is [`StoreError::Unavailable`].
pub(crate) async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| Err(StoreError::unavailable(TimedOut(timeout))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(db(sqlx::Error::Io(refused)).is_unavailable());
        assert!(db(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(db(sqlx::Error::PoolClosed).is_unavailable());
        assert!(matches!(
            db(sqlx::Error::RowNotFound),
            StoreError::Backend(_)
        ));
        assert!(matches!(
            db(sqlx::Error::Protocol("x".into())),
            StoreError::Backend(_)
        ));
    }

    #[tokio::test]
    async fn late_answers_are_unavailable() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let err = bounded(Duration::from_millis(10), slow).await.unwrap_err();
        assert!(err.is_unavailable());
        assert!(
            bounded(Duration::from_secs(1), async { Ok(1) })
                .await
                .is_ok()
        );
    }
}
