//! Password hashing with argon2id (RFC 9106) on threads of the hasher's own
//! (`threads`), the verification of hashes authcore did not make (`legacy`, reported
//! as `unusable` when it cannot be done, and warned about once per user: `warned`), and
//! the password policy (`policy`).

use std::fmt;
use std::sync::{Arc, OnceLock, mpsc};

use argon2::password_hash::{PasswordHash as PhcHash, SaltString};
use argon2::{Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::oneshot;

use crate::AuthError;
use crate::crypto::random_bytes;
use crate::error::ConfigError;

mod legacy;
mod policy;
mod threads;
mod unusable;
mod warned;

pub use policy::{BreachedPasswordCheck, PasswordPolicy};
use threads::{Job, Reservation, start_threads};
pub use unusable::{UnusableHash, UnusableReason};
use warned::WarnedUsers;

/// The most memory a stored argon2 hash may ask for, in KiB (1 GiB), unless the current
/// parameters ask for more.
const MAX_STORED_ARGON2_KIB: u32 = 1 << 20;
/// The most passes a stored argon2 hash may ask for, unless the current parameters do.
const MAX_STORED_ARGON2_PASSES: u32 = 64;
/// The most lanes a stored argon2 hash may ask for, unless the current parameters do.
const MAX_STORED_ARGON2_LANES: u32 = 16;

/// A password hash as a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), or a hash
/// another system made, read from a store (see [`PasswordHasher`]'s "Legacy hashes").
///
/// Its [`Debug`] output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a string read from a store. It is parsed when verified.
    pub fn new(phc: impl Into<String>) -> Self {
        PasswordHash(phc.into())
    }

    /// The PHC string, for storing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// The outcome of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// The password does not match.
    Mismatch,
    /// The password matches and the hash meets the current policy.
    Match,
    /// The password matches but the hash is below the current policy (an older
    /// algorithm, version or cost, or a legacy scheme): store a fresh hash.
    MatchNeedsRehash,
    /// The stored hash cannot be verified: its scheme is unknown or its cargo feature is
    /// off, it is malformed, or its work factor is above the cap. The password is
    /// refused, as for [`Verification::Mismatch`].
    Unusable(UnusableHash),
}

impl Verification {
    /// `true` for both matching outcomes.
    pub fn is_match(self) -> bool {
        matches!(self, Verification::Match | Verification::MatchNeedsRehash)
    }
}

struct Inner {
    params: Params,
    pepper: Option<Vec<u8>>,
    threads: usize,
    background: bool,
    /// Shared with the hashing threads; `None` when they may always use every CPU.
    reservation: Option<Arc<Reservation>>,
    /// The queue of the hashing threads, started on first use; `None` if no thread could
    /// be started.
    jobs: OnceLock<Option<mpsc::Sender<Job>>>,
    dummy: OnceLock<PasswordHash>,
    /// Users already warned about for an unusable stored hash.
    warned: WarnedUsers,
}

/// Hashes and verifies passwords with argon2id.
///
/// Defaults to the OWASP parameters m = 19 MiB, t = 2, p = 1. The async methods run the
/// hash on the hasher's own threads, `max_concurrent` of them (default: the number of
/// CPUs), started on first use. So a login flood neither starves the executor nor
/// exhausts memory: excess requests wait in the queue without holding a thread or a
/// 19 MiB buffer, and a request whose caller has gone (a dropped future) is skipped.
/// The threads run at the lowest CPU priority (see
/// [`PasswordHasherBuilder::background_priority`]), and while other requests are served
/// they keep one CPU free for them ([`PasswordHasherBuilder::reserve_cpu`]), so that a
/// login flood does not hold up the rest of the service.
///
/// The async methods work under any executor (the result comes back on a channel).
///
/// Cheap to clone; clones share the threads.
///
/// # Legacy hashes
///
/// [`verify`](PasswordHasher::verify) also checks hashes another system made, for users
/// brought over from it, each scheme behind a cargo feature of authcore (off by default):
/// `bcrypt` (`$2a$`, `$2b$`, `$2y$`), `pbkdf2` (Django's `pbkdf2_sha256$…` and PHC
/// `$pbkdf2-sha256$…`) and `scrypt` (PHC `$scrypt$…`). The scheme is recognized by the
/// stored string's prefix. A match is [`Verification::MatchNeedsRehash`], so
/// [`Authenticator::login`](crate::Authenticator::login) replaces the hash with an
/// argon2id one at once. authcore never makes such a hash, and the pepper does not apply
/// to them. A stored string that cannot be verified (a scheme unknown or whose feature is
/// off, a malformed string, or a work factor above the cap: bcrypt cost 16, PBKDF2
/// 10,000,000 iterations, scrypt `ln` 20 with at most 256 MiB of memory and 2 GiB mixed)
/// is [`Verification::Unusable`] after a dummy argon2 verification, so that it costs what
/// a wrong password costs: the login fails as for a wrong password, and is logged at
/// `warn` with the scheme's name (never the hash) the first time for each user. So is an
/// argon2 hash that is malformed, or asks for more than the current parameters and more
/// than 1 GiB, 64 passes or 16 lanes. Until it is upgraded, a legacy hash takes its own
/// time to verify, which may differ from argon2id's.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("pepper", &self.inner.pepper.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// Configures a [`PasswordHasher`].
#[derive(Clone)]
#[must_use]
pub struct PasswordHasherBuilder {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    pepper: Option<Vec<u8>>,
    max_concurrent: usize,
    background: bool,
    reserve_cpu: bool,
}

impl fmt::Debug for PasswordHasherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasherBuilder")
            .field("m_cost_kib", &self.m_cost_kib)
            .field("t_cost", &self.t_cost)
            .field("p_cost", &self.p_cost)
            .field("max_concurrent", &self.max_concurrent)
            .field("background", &self.background)
            .field("reserve_cpu", &self.reserve_cpu)
            .finish_non_exhaustive()
    }
}

impl PasswordHasherBuilder {
    /// argon2 memory cost in KiB. Default 19456 (19 MiB).
    pub fn memory_kib(mut self, kib: u32) -> Self {
        self.m_cost_kib = kib;
        self
    }

    /// argon2 iterations. Default 2.
    pub fn iterations(mut self, t: u32) -> Self {
        self.t_cost = t;
        self
    }

    /// argon2 lanes. Default 1.
    pub fn parallelism(mut self, p: u32) -> Self {
        self.p_cost = p;
        self
    }

    /// A secret mixed into every hash (argon2's `K`), kept outside the database. Changing
    /// it invalidates every stored hash.
    pub fn pepper(mut self, pepper: impl Into<Vec<u8>>) -> Self {
        self.pepper = Some(pepper.into());
        self
    }

    /// How many hashes may run at once: the number of hashing threads. Default: the
    /// number of CPUs.
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// Whether the hashing threads run at the lowest CPU priority (nice 19; Linux only).
    /// Default `true`: with every CPU hashing during a login flood, authenticated
    /// requests are still served at once, and logins take the CPU time left over. Turn
    /// it off when logins must compete equally with the rest of the process.
    pub fn background_priority(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Whether the hashing threads keep one CPU free while the
    /// [`Authenticator`](crate::Authenticator) serves other requests (Linux, with two
    /// CPUs or more). Default `true`.
    ///
    /// A low priority is not enough to keep a login flood from delaying other requests:
    /// a request thread woken on a CPU that is hashing may still wait for the scheduler's
    /// next tick, milliseconds. So from the first authenticated request or refresh until
    /// 250 ms after the last one, each hash starts on every CPU of the process but the
    /// first, and requests find that one free. When only logins arrive, hashing uses
    /// every CPU again. The cost: under mixed load, logins get one CPU fewer.
    pub fn reserve_cpu(mut self, reserve: bool) -> Self {
        self.reserve_cpu = reserve;
        self
    }

    /// Builds the hasher.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for argon2 parameters out of range or `max_concurrent == 0`.
    pub fn build(self) -> Result<PasswordHasher, ConfigError> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|_| ConfigError::Invalid("argon2 parameters out of range"))?;
        if self.max_concurrent == 0 {
            return Err(ConfigError::Invalid("max_concurrent must be at least 1"));
        }
        if let Some(pepper) = &self.pepper {
            Argon2::new_with_secret(
                pepper,
                argon2::Algorithm::Argon2id,
                Version::V0x13,
                params.clone(),
            )
            .map_err(|_| ConfigError::Invalid("the pepper is too long"))?;
        }
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params,
                pepper: self.pepper,
                threads: self.max_concurrent,
                background: self.background,
                reservation: self.reserve_cpu.then(Arc::default),
                jobs: OnceLock::new(),
                dummy: OnceLock::new(),
                warned: WarnedUsers::default(),
            }),
        })
    }
}

impl PasswordHasher {
    /// Starts a builder with the OWASP defaults.
    pub fn builder() -> PasswordHasherBuilder {
        PasswordHasherBuilder {
            m_cost_kib: Params::DEFAULT_M_COST,
            t_cost: 2,
            p_cost: 1,
            pepper: None,
            max_concurrent: std::thread::available_parallelism().map_or(2, usize::from),
            background: true,
            reserve_cpu: true,
        }
    }

    fn argon2(&self, params: Params) -> Result<Argon2<'_>, AuthError> {
        match &self.inner.pepper {
            Some(pepper) => {
                Argon2::new_with_secret(pepper, argon2::Algorithm::Argon2id, Version::V0x13, params)
                    .map_err(|e| AuthError::Internal(e.to_string().into()))
            }
            None => Ok(Argon2::new(
                argon2::Algorithm::Argon2id,
                Version::V0x13,
                params,
            )),
        }
    }

    /// Hashes `password` with a fresh 128-bit salt. Blocking: takes tens of milliseconds.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if the random generator or argon2 fails.
    pub fn hash(&self, password: &str) -> Result<PasswordHash, AuthError> {
        let salt = SaltString::encode_b64(&random_bytes::<16>()?)
            .map_err(|e| AuthError::Internal(e.to_string().into()))?;
        let hash = self
            .argon2(self.inner.params.clone())?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Internal(e.to_string().into()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Verifies `password` against `hash` (constant-time comparison) and reports whether
    /// the hash is below the current parameters. Blocking. An argon2 hash, or a legacy
    /// one (see "Legacy hashes" above); a stored string that cannot be verified is
    /// [`Verification::Unusable`], after a dummy verification that costs what a wrong
    /// password costs.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if argon2 fails on a valid hash.
    pub fn verify(&self, password: &str, hash: &PasswordHash) -> Result<Verification, AuthError> {
        let stored = hash.as_str();
        let verification = if stored.starts_with("$argon2") {
            self.verify_argon2(password, stored)?
        } else {
            match legacy::verify(password.as_bytes(), stored) {
                Ok(true) => Verification::MatchNeedsRehash,
                Ok(false) => Verification::Mismatch,
                Err(unusable) => Verification::Unusable(unusable),
            }
        };
        if let Verification::Unusable(_) = verification {
            self.verify_dummy(password);
        }
        Ok(verification)
    }

    /// Whether a stored argon2 hash's parameters are above what is verified: more than
    /// the current parameters and than 1 GiB of memory, 64 passes or 16 lanes. An
    /// allocation of the memory a stored string asks for could abort the process.
    fn above_argon2_cap(&self, stored: &Params) -> bool {
        let policy = &self.inner.params;
        stored.m_cost() > policy.m_cost().max(MAX_STORED_ARGON2_KIB)
            || stored.t_cost() > policy.t_cost().max(MAX_STORED_ARGON2_PASSES)
            || stored.p_cost() > policy.p_cost().max(MAX_STORED_ARGON2_LANES)
    }

    /// [`PasswordHasher::verify`] of an argon2 PHC string.
    fn verify_argon2(&self, password: &str, stored: &str) -> Result<Verification, AuthError> {
        let malformed =
            Verification::Unusable(UnusableHash::new("$argon2", UnusableReason::Malformed));
        let Ok(parsed) = PhcHash::new(stored) else {
            return Ok(malformed);
        };
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Ok(malformed);
        }
        let Ok(stored) = Params::try_from(&parsed) else {
            return Ok(malformed);
        };
        if self.above_argon2_cap(&stored) {
            return Ok(Verification::Unusable(UnusableHash::new(
                "$argon2",
                UnusableReason::CostTooHigh,
            )));
        }
        let matches = match self
            .argon2(stored.clone())?
            .verify_password(password.as_bytes(), &parsed)
        {
            Ok(()) => true,
            Err(argon2::password_hash::Error::Password) => false,
            Err(_) => return Ok(malformed),
        };
        if !matches {
            return Ok(Verification::Mismatch);
        }
        let policy = &self.inner.params;
        let below = parsed.algorithm.as_str() != "argon2id"
            || parsed.version != Some(Version::V0x13 as u32)
            || stored.m_cost() < policy.m_cost()
            || stored.t_cost() < policy.t_cost()
            || stored.p_cost() < policy.p_cost();
        Ok(if below {
            Verification::MatchNeedsRehash
        } else {
            Verification::Match
        })
    }

    /// Verifies `password` against a hash of a random password with the current
    /// parameters, so that an unknown account costs the same time as a wrong password.
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self.inner.dummy.get_or_init(|| {
            let random = crate::crypto::random_id::<16>().unwrap_or_default();
            self.hash(&random)
                .unwrap_or_else(|_| PasswordHash(String::new()))
        });
        let _ = self.verify_argon2(password, dummy.as_str());
    }

    /// Whether a refused login of `user_id` for an unusable stored hash is the first
    /// for that user (or the first since the bounded memory of them started again): it
    /// is then logged at `warn`.
    pub(crate) fn first_unusable_hash_of(&self, user_id: &str) -> bool {
        self.inner.warned.first_time(user_id)
    }

    /// Runs `f` on one of the hashing threads and waits for its result. When the returned
    /// future is dropped before a thread takes the job, the job is skipped.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let (tx, rx) = oneshot::channel();
        let this = self.clone();
        let job: Job = Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(f(&this));
            }
        });
        let inner = &self.inner;
        inner
            .jobs
            .get_or_init(|| {
                start_threads(inner.threads, inner.background, inner.reservation.clone())
            })
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| {
                AuthError::Internal("cannot start the password hashing threads".into())
            })?;
        rx.await
            .map_err(|_| AuthError::Internal("a password hashing job panicked".into()))
    }

    /// Tells the hashing threads that a request other than a login is being served (see
    /// [`PasswordHasherBuilder::reserve_cpu`]).
    pub(crate) fn note_request(&self) {
        if let Some(reservation) = &self.inner.reservation {
            reservation.note_request();
        }
    }

    /// Whether a request has been noted since the hashing threads last looked.
    #[cfg(test)]
    pub(crate) fn request_noted(&self) -> bool {
        self.inner
            .reservation
            .as_ref()
            .is_some_and(|r| r.requests.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// [`PasswordHasher::hash`] off the async executor, bounded.
    ///
    /// # Errors
    /// As [`PasswordHasher::hash`].
    pub async fn hash_async(&self, password: &str) -> Result<PasswordHash, AuthError> {
        let password = password.to_owned();
        self.bounded(move |h| h.hash(&password)).await?
    }

    /// [`PasswordHasher::verify`] off the async executor, bounded.
    ///
    /// # Errors
    /// As [`PasswordHasher::verify`].
    pub async fn verify_async(
        &self,
        password: &str,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        let (password, hash) = (password.to_owned(), hash.clone());
        self.bounded(move |h| h.verify(&password, &hash)).await?
    }

    /// [`PasswordHasher::verify_dummy`] off the async executor, bounded.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if the blocking task fails.
    pub async fn verify_dummy_async(&self, password: &str) -> Result<(), AuthError> {
        let password = password.to_owned();
        self.bounded(move |h| h.verify_dummy(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::threads::RESERVATION_WINDOW;
    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::builder()
            .memory_kib(64)
            .iterations(1)
            .build()
            .unwrap()
    }

    #[test]
    fn hash_and_verify_round_trip() {
        let h = fast();
        let hash = h.hash("correct horse").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            h.verify("correct horse", &hash).unwrap(),
            Verification::Match
        );
        assert_eq!(
            h.verify("correct horsE", &hash).unwrap(),
            Verification::Mismatch
        );
        assert_ne!(h.hash("correct horse").unwrap(), hash, "salts must differ");
        assert!(!format!("{hash:?}").contains("argon2"));
    }

    #[test]
    fn default_parameters_are_owasp() {
        let hash = PasswordHasher::default().hash("pw").unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
    }

    #[test]
    fn weaker_hashes_need_rehash() {
        let weak = fast().hash("pw").unwrap();
        let strong = PasswordHasher::builder()
            .memory_kib(128)
            .iterations(2)
            .build()
            .unwrap();
        assert_eq!(
            strong.verify("pw", &weak).unwrap(),
            Verification::MatchNeedsRehash
        );
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            Version::V0x13,
            Params::new(128, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(b"0123456789abcdef").unwrap())
        .unwrap()
        .to_string();
        assert_eq!(
            strong.verify("pw", &PasswordHash::new(argon2i)).unwrap(),
            Verification::MatchNeedsRehash
        );
    }

    #[test]
    fn pepper_is_required_to_verify() {
        let peppered = PasswordHasher::builder()
            .memory_kib(64)
            .iterations(1)
            .pepper(*b"pepper-pepper")
            .build()
            .unwrap();
        let hash = peppered.hash("pw").unwrap();
        assert!(peppered.verify("pw", &hash).unwrap().is_match());
        assert!(!fast().verify("pw", &hash).unwrap().is_match());
        assert!(!format!("{peppered:?}").contains("pepper-pepper"));
    }

    /// A stored argon2 hash asking for terabytes is refused, not allocated.
    #[test]
    fn absurd_argon2_parameters_are_refused() {
        for params in [
            "m=4294967295,t=1,p=1",
            "m=64,t=4294967295,p=1",
            "m=2048,t=1,p=255",
        ] {
            let stored = format!("$argon2id$v=19${params}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
            let Ok(Verification::Unusable(unusable)) =
                fast().verify("pw", &PasswordHash::new(stored))
            else {
                panic!("{params} was verified");
            };
            assert_eq!(unusable.reason(), UnusableReason::CostTooHigh);
        }
    }

    #[test]
    fn corrupt_hashes_are_unusable() {
        for (stored, scheme) in [
            ("nonsense", "unknown"),
            ("$argon2id$v=19$m=64,t=1,p=1$nonsense", "$argon2"),
            (
                "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "$argon2",
            ),
        ] {
            let Ok(Verification::Unusable(unusable)) =
                fast().verify("pw", &PasswordHash::new(stored))
            else {
                panic!("{stored} is not unusable");
            };
            assert_eq!(unusable.scheme(), scheme, "{stored}");
            assert!(!Verification::Unusable(unusable).is_match());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_hashing_is_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for limit in [1, 3] {
            let h = PasswordHasher::builder()
                .memory_kib(64)
                .iterations(1)
                .max_concurrent(limit)
                .build()
                .unwrap();
            let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let tasks: Vec<_> = (0..12)
                .map(|_| {
                    let (h, now, peak) = (h.clone(), now.clone(), peak.clone());
                    tokio::spawn(async move {
                        h.bounded(move |_| {
                            let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(inside, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            now.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap();
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(
                peak.load(Ordering::SeqCst),
                limit,
                "at most {limit} hashes at once, and the bound is reached"
            );
        }
    }

    /// The hashing threads run at nice 19 unless told otherwise (Linux, where the nice
    /// value is per thread).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_priority() {
        use rustix::process::getpriority_process;
        use rustix::thread::gettid;
        let nice = |h: PasswordHasher| async move {
            h.bounded(|_| getpriority_process(Some(gettid())).unwrap())
                .await
                .unwrap()
        };
        let fast = || PasswordHasher::builder().memory_kib(64).iterations(1);
        assert_eq!(nice(fast().build().unwrap()).await, 19);
        let here = getpriority_process(Some(gettid())).unwrap();
        let equal = fast().background_priority(false).build().unwrap();
        assert_eq!(nice(equal).await, here);
    }

    /// While requests are served, a hash runs on every CPU of the process but one; with
    /// none for the window, on all of them again (Linux, with two CPUs or more).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_keeps_a_cpu_free_while_requests_are_served() {
        use rustix::thread::sched_getaffinity;
        let all = sched_getaffinity(None).unwrap().count();
        if all < 2 {
            eprintln!("skipped: this process may run on one CPU only");
            return;
        }
        let cpus = |h: PasswordHasher| async move {
            h.bounded(|_| sched_getaffinity(None).unwrap().count())
                .await
                .unwrap()
        };
        let one_thread = || {
            PasswordHasher::builder()
                .memory_kib(64)
                .iterations(1)
                .max_concurrent(1)
        };
        let hasher = one_thread().build().unwrap();
        assert_eq!(cpus(hasher.clone()).await, all, "only logins so far");
        hasher.note_request();
        assert_eq!(cpus(hasher.clone()).await, all - 1);
        tokio::time::sleep(RESERVATION_WINDOW + Duration::from_millis(50)).await;
        assert_eq!(cpus(hasher).await, all, "no request for the window");

        let unreserved = one_thread().reserve_cpu(false).build().unwrap();
        unreserved.note_request();
        assert_eq!(cpus(unreserved).await, all);
    }

    /// A job whose caller has gone before a thread took it is skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_jobs_are_skipped() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::mpsc::channel;
        let h = PasswordHasher::builder()
            .memory_kib(64)
            .iterations(1)
            .max_concurrent(1)
            .build()
            .unwrap();
        // occupy the only thread until told to go on
        let (go, wait) = channel::<()>();
        let (started, running) = channel::<()>();
        let busy = tokio::spawn({
            let h = h.clone();
            async move {
                h.bounded(move |_| {
                    started.send(()).unwrap();
                    wait.recv().unwrap();
                })
                .await
                .unwrap();
            }
        });
        tokio::task::spawn_blocking(move || running.recv().unwrap())
            .await
            .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        // polled once (which queues the job), then dropped
        let flag = ran.clone();
        let abandoned = h.bounded(move |_| flag.store(true, Ordering::SeqCst));
        let timed_out = tokio::time::timeout(std::time::Duration::ZERO, abandoned).await;
        assert!(
            timed_out.is_err(),
            "the job cannot have run: the thread is busy"
        );
        go.send(()).unwrap();
        busy.await.unwrap();
        // a job queued after the abandoned one runs, so the abandoned one was passed over
        h.bounded(|_| ()).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job ran");
    }

    /// Hashing runs on the hasher's threads: a single-threaded executor keeps serving
    /// other tasks while a burst of verifications is in flight.
    #[tokio::test(flavor = "current_thread")]
    async fn hashing_does_not_block_the_executor() {
        let h = PasswordHasher::builder()
            .memory_kib(4096)
            .iterations(3)
            .max_concurrent(2)
            .build()
            .unwrap();
        let hash = h.hash("pw").unwrap();
        let burst: Vec<_> = (0..6)
            .map(|_| {
                let (h, hash) = (h.clone(), hash.clone());
                tokio::spawn(async move { h.verify_async("pw", &hash).await.unwrap() })
            })
            .collect();
        let mut ticks = 0;
        while !burst.iter().all(tokio::task::JoinHandle::is_finished) {
            tokio::task::yield_now().await;
            ticks += 1;
        }
        assert!(ticks > 10, "the executor was starved: {ticks} ticks");
        for t in burst {
            assert!(t.await.unwrap().is_match());
        }
        h.verify_dummy_async("pw").await.unwrap();
    }
}
