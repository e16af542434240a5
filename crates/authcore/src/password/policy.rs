//! The password policy, in the spirit of NIST SP 800-63B §3.1.1.2: a length in code
//! points, no composition rules, and an optional check against breached passwords.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::AuthError;
use crate::error::{PasswordRejection, StoreError};

/// Checks a candidate password against a corpus of breached passwords (for example the
/// k-anonymity range API of Have I Been Pwned).
#[async_trait]
pub trait BreachedPasswordCheck: Send + Sync + 'static {
    /// `true` if `password` is known to be breached.
    ///
    /// # Errors
    /// A [`StoreError`] if the corpus cannot be queried; registration then fails with
    /// [`AuthError::Unavailable`] or [`AuthError::Internal`].
    async fn is_breached(&self, password: &str) -> Result<bool, StoreError>;
}

/// What a new password must satisfy: NIST SP 800-63B §3.1.1.2. Length is counted in
/// Unicode code points; there are no composition rules and no truncation.
#[derive(Clone)]
#[must_use]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    breached: Option<Arc<dyn BreachedPasswordCheck>>,
}

impl fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("max_chars", &self.max_chars)
            .field("breached_check", &self.breached.is_some())
            .finish()
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 8,
            max_chars: 1024,
            breached: None,
        }
    }
}

impl PasswordPolicy {
    /// 8..=1024 code points, no breached-password check.
    pub fn new() -> Self {
        PasswordPolicy::default()
    }

    /// Minimum length in code points.
    pub fn min_chars(mut self, n: usize) -> Self {
        self.min_chars = n;
        self
    }

    /// Maximum length in code points.
    pub fn max_chars(mut self, n: usize) -> Self {
        self.max_chars = n;
        self
    }

    /// Adds a breached-password check.
    pub fn breached_check(mut self, check: Arc<dyn BreachedPasswordCheck>) -> Self {
        self.breached = Some(check);
        self
    }

    /// Checks a new password.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`] with the reason; a failing breached check as
    /// [`AuthError::Unavailable`] or [`AuthError::Internal`].
    pub async fn check(&self, password: &str) -> Result<(), AuthError> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(AuthError::WeakPassword(PasswordRejection::TooShort));
        }
        if chars > self.max_chars {
            return Err(AuthError::WeakPassword(PasswordRejection::TooLong));
        }
        if let Some(check) = &self.breached
            && check.is_breached(password).await?
        {
            return Err(AuthError::WeakPassword(PasswordRejection::Breached));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policy_counts_code_points_without_composition_rules() {
        let p = PasswordPolicy::new();
        assert!(p.check("aaaaaaaa").await.is_ok());
        assert!(matches!(
            p.check("ééééééé").await,
            Err(AuthError::WeakPassword(PasswordRejection::TooShort))
        ));
        // 8 code points, 32 bytes: accepted (not truncated, not counted in bytes).
        assert!(p.check("😀😀😀😀😀😀😀😀").await.is_ok());
        assert!(p.check(&"x".repeat(1024)).await.is_ok());
        assert!(matches!(
            p.check(&"x".repeat(1025)).await,
            Err(AuthError::WeakPassword(PasswordRejection::TooLong))
        ));
    }

    #[tokio::test]
    async fn breached_hook() {
        struct Corpus;
        #[async_trait]
        impl BreachedPasswordCheck for Corpus {
            async fn is_breached(&self, password: &str) -> Result<bool, StoreError> {
                Ok(password == "password1")
            }
        }
        let p = PasswordPolicy::new().breached_check(Arc::new(Corpus));
        assert!(matches!(
            p.check("password1").await,
            Err(AuthError::WeakPassword(PasswordRejection::Breached))
        ));
        assert!(p.check("password2").await.is_ok());
    }
}
