//! Time sources. Everything that compares times takes a [`Clock`], so tests steer time
//! instead of sleeping.

use std::fmt::Debug;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock (UTC).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
