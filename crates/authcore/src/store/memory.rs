//! In-memory stores: for tests, demos and single-process services that accept losing
//! sessions on restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::password::PasswordHash;
use crate::store::{
    Consumed, NewUser, RefreshTokenRecord, RefreshTokenStore, RevocationStore, TokenHash, User,
    UserStore,
};

fn poisoned() -> StoreError {
    StoreError::backend("in-memory store lock poisoned")
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    m.lock().map_err(|_| poisoned())
}

#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<String, User>,
    id_by_email: HashMap<String, String>,
}

/// An in-memory [`UserStore`]. Emails compare case-insensitively.
#[derive(Debug, Default)]
pub struct MemoryUserStore {
    users: Mutex<Users>,
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryUserStore::default()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut User)) -> Result<(), StoreError> {
        let mut users = lock(&self.users)?;
        let user = users.by_id.get_mut(id).ok_or(StoreError::NotFound)?;
        f(user);
        Ok(())
    }
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let users = lock(&self.users)?;
        Ok(users
            .id_by_email
            .get(&email.to_lowercase())
            .and_then(|id| users.by_id.get(id))
            .cloned())
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users)?.by_id.get(id).cloned())
    }

    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let key = new.email.to_lowercase();
        let mut users = lock(&self.users)?;
        if users.id_by_email.contains_key(&key) {
            return Err(StoreError::Conflict);
        }
        let user = User {
            id: crate::store::new_user_id()?,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            disabled: false,
            created_at: OffsetDateTime::now_utc(),
        };
        users.id_by_email.insert(key, user.id.clone());
        users.by_id.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        self.update(id, |u| u.password_hash = hash.clone())
    }

    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        self.update(id, |u| u.roles = roles.to_vec())
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        self.update(id, |u| u.disabled = disabled)
    }
}

#[derive(Debug)]
struct Entry {
    record: RefreshTokenRecord,
    spent: bool,
}

#[derive(Debug, Default)]
struct Refresh {
    tokens: HashMap<TokenHash, Entry>,
    /// family id → (user id, revoked)
    families: HashMap<String, (String, bool)>,
}

/// An in-memory [`RefreshTokenStore`]. One mutex makes `consume` atomic.
#[derive(Debug, Default)]
pub struct MemoryRefreshTokenStore {
    inner: Mutex<Refresh>,
}

impl MemoryRefreshTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryRefreshTokenStore::default()
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner)?;
        inner
            .families
            .entry(record.family_id.clone())
            .or_insert_with(|| (record.user_id.clone(), false));
        inner.tokens.insert(
            record.token_hash,
            Entry {
                record,
                spent: false,
            },
        );
        Ok(())
    }

    async fn consume(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Consumed, StoreError> {
        let mut inner = lock(&self.inner)?;
        let Refresh { tokens, families } = &mut *inner;
        let Some(entry) = tokens.get_mut(hash) else {
            return Ok(Consumed::Invalid);
        };
        if entry.record.expires_at <= now {
            return Ok(Consumed::Invalid);
        }
        if entry.spent {
            return Ok(Consumed::Reused(entry.record.clone()));
        }
        if families
            .get(&entry.record.family_id)
            .is_none_or(|(_, revoked)| *revoked)
        {
            return Ok(Consumed::Invalid);
        }
        entry.spent = true;
        Ok(Consumed::Rotated(entry.record.clone()))
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner)?;
        match inner.families.get_mut(family_id) {
            Some((_, revoked)) => *revoked = true,
            None => {
                inner
                    .families
                    .insert(family_id.to_owned(), (String::new(), true));
            }
        }
        Ok(())
    }

    async fn revoke_user(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let mut inner = lock(&self.inner)?;
        let mut revoked = Vec::new();
        for (family, (owner, is_revoked)) in &mut inner.families {
            if owner == user_id && !*is_revoked {
                *is_revoked = true;
                revoked.push(family.clone());
            }
        }
        Ok(revoked)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut inner = lock(&self.inner)?;
        let before = inner.tokens.len();
        inner.tokens.retain(|_, e| e.record.expires_at > now);
        let Refresh { tokens, families } = &mut *inner;
        families.retain(|family, _| tokens.values().any(|e| &e.record.family_id == family));
        Ok((before - inner.tokens.len()) as u64)
    }
}

/// An in-memory [`RevocationStore`]. Reads take a shared lock; expired entries are swept
/// as the map grows.
#[derive(Debug, Default)]
pub struct MemoryRevocationStore {
    revoked: RwLock<HashMap<String, OffsetDateTime>>,
}

impl MemoryRevocationStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryRevocationStore::default()
    }

    // The operations, synchronous: the trait's async methods and the
    // `RevocationMirror` (which must not box a second future per request) both call them.

    pub(crate) fn insert(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let mut map = self.revoked.write().map_err(|_| poisoned())?;
        if map.len() >= 1024 && map.len().is_power_of_two() {
            let now = OffsetDateTime::now_utc();
            map.retain(|_, until| *until > now);
        }
        let until = map.entry(id.to_owned()).or_insert(expires_at);
        *until = (*until).max(expires_at);
        Ok(())
    }

    pub(crate) fn contains_any(&self, ids: &[&str]) -> Result<bool, StoreError> {
        let map = self.revoked.read().map_err(|_| poisoned())?;
        Ok(ids.iter().any(|id| map.contains_key(*id)))
    }

    pub(crate) fn purge(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut map = self.revoked.write().map_err(|_| poisoned())?;
        let before = map.len();
        map.retain(|_, until| *until > now);
        Ok((before - map.len()) as u64)
    }

    pub(crate) fn live(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let map = self.revoked.read().map_err(|_| poisoned())?;
        Ok(map
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(id, until)| (id.clone(), *until))
            .collect())
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocationStore {
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.insert(id, expires_at)
    }

    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        self.contains_any(ids)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.purge(now)
    }

    async fn active(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        self.live(now)
    }
}
