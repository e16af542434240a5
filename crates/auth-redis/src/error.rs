//! Redis errors as [`StoreError`]s: unreachable, dropped, timed out or not ready is
//! `Unavailable`; everything else `Backend`.

use std::time::Duration;

use authcore::StoreError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Our own deadline passed: the server is too slow or hangs.
#[derive(Debug, thiserror::Error)]
#[error("Redis did not answer within {0:?}")]
pub(crate) struct TimedOut(pub(crate) Duration);

/// Maps a Redis error.
pub(crate) fn map(err: RedisError) -> StoreError {
    let transient = err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            ) | ErrorKind::ClusterConnectionNotFound
        );
    if transient {
        StoreError::unavailable(err)
    } else {
        StoreError::backend(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_are_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(map(RedisError::from(refused)).is_unavailable());
        let loading =
            RedisError::from((ErrorKind::Server(ServerErrorKind::BusyLoading), "loading"));
        assert!(map(loading).is_unavailable());
        let wrong = RedisError::from((ErrorKind::Server(ServerErrorKind::ResponseError), "ERR"));
        assert!(matches!(map(wrong), StoreError::Backend(_)));
    }
}
