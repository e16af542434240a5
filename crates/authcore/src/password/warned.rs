//! The users already warned about: a login refused for a stored hash that cannot be
//! verified is logged at `warn` once per user, at `info` after that.

use std::collections::HashSet;
use std::sync::Mutex;

/// How many user ids are remembered. When the set is full it starts again empty, so a
/// user may be warned about again after this many others: the memory stays bounded
/// whatever the number of such users.
pub(crate) const WARNED_USERS: usize = 4096;

/// A bounded set of the user ids already warned about.
#[derive(Debug, Default)]
pub(crate) struct WarnedUsers {
    ids: Mutex<HashSet<String>>,
}

impl WarnedUsers {
    /// Whether `user_id` is warned about for the first time (since the set last
    /// started again); remembers it.
    pub(crate) fn first_time(&self, user_id: &str) -> bool {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.contains(user_id) {
            return false;
        }
        if ids.len() >= WARNED_USERS {
            ids.clear();
        }
        ids.insert(user_id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_once_and_the_set_stays_bounded() {
        let warned = WarnedUsers::default();
        assert!(warned.first_time("u-1"));
        assert!(!warned.first_time("u-1"));
        for i in 0..WARNED_USERS * 2 {
            warned.first_time(&format!("other-{i}"));
            assert!(warned.ids.lock().unwrap().len() <= WARNED_USERS);
        }
        assert!(
            warned.first_time("u-1"),
            "forgotten once the set started again"
        );
    }
}
