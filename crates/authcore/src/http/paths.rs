//! [`RoutePaths`]: where the token routes are mounted, validated once for every adapter.

use crate::ConfigError;

/// The paths of the token routes, as every adapter mounts them (`auth_axum::TokenRoutes`,
/// `auth_actix::TokenRoutes`, `auth_rocket::TokenRoutes`). The defaults are
/// `POST /token`, `POST /token/refresh`, `POST /logout` and `GET /.well-known/jwks.json`.
/// Public self-registration is off unless asked for: it writes to the application's users,
/// so an application opens it knowingly, with [`RoutePathsBuilder::register`]
/// (`POST /users` in authcore's demos). [`RoutePaths::builder`] chooses every path, and
/// checks them once, the same way for every framework.
///
/// ```
/// use authcore::http::RoutePaths;
///
/// assert_eq!(RoutePaths::default().register(), None); // registration: off unless asked for
/// let paths = RoutePaths::builder()
///     .register("/auth/signup")
///     .token("/auth/token")
///     .refresh("/auth/token/refresh")
///     .logout("/auth/logout")
///     .without_jwks()
///     .build()?;
/// assert_eq!(paths.token(), "/auth/token");
/// assert_eq!(paths.jwks(), None);
///
/// assert!(RoutePaths::builder().token("/token/{id}").build().is_err());
/// # Ok::<(), authcore::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePaths {
    register: Option<String>,
    token: String,
    refresh: String,
    logout: String,
    jwks: Option<String>,
}

impl Default for RoutePaths {
    fn default() -> Self {
        RoutePaths {
            register: None,
            token: "/token".to_owned(),
            refresh: "/token/refresh".to_owned(),
            logout: "/logout".to_owned(),
            jwks: Some("/.well-known/jwks.json".to_owned()),
        }
    }
}

impl RoutePaths {
    /// A builder starting from the default paths.
    pub fn builder() -> RoutePathsBuilder {
        RoutePathsBuilder {
            paths: RoutePaths::default(),
        }
    }

    /// `POST`: registration ([`register`](super::register)), unless left out.
    pub fn register(&self) -> Option<&str> {
        self.register.as_deref()
    }

    /// `POST`: login ([`token`](super::token)).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `POST`: refresh ([`refresh`](super::refresh)).
    pub fn refresh(&self) -> &str {
        &self.refresh
    }

    /// `POST`: logout ([`logout`](super::logout)).
    pub fn logout(&self) -> &str {
        &self.logout
    }

    /// `GET`: the JWKS ([`jwks`](super::jwks)), unless left out.
    pub fn jwks(&self) -> Option<&str> {
        self.jwks.as_deref()
    }
}

/// Builds [`RoutePaths`]; paths left unset keep their defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct RoutePathsBuilder {
    paths: RoutePaths,
}

impl RoutePathsBuilder {
    /// Opens public self-registration at `path` (`/users` in authcore's demos); it is off
    /// by default.
    pub fn register(mut self, path: impl Into<String>) -> Self {
        self.paths.register = Some(path.into());
        self
    }

    /// Leaves the registration route out again (the default): an application whose users
    /// are created elsewhere (an admin tool, another service, an existing directory)
    /// mounts no public self-registration.
    pub fn without_register(mut self) -> Self {
        self.paths.register = None;
        self
    }

    /// The login path (default `/token`).
    pub fn token(mut self, path: impl Into<String>) -> Self {
        self.paths.token = path.into();
        self
    }

    /// The refresh path (default `/token/refresh`).
    pub fn refresh(mut self, path: impl Into<String>) -> Self {
        self.paths.refresh = path.into();
        self
    }

    /// The logout path (default `/logout`).
    pub fn logout(mut self, path: impl Into<String>) -> Self {
        self.paths.logout = path.into();
        self
    }

    /// The JWKS path (default `/.well-known/jwks.json`, where clients look for it).
    pub fn jwks(mut self, path: impl Into<String>) -> Self {
        self.paths.jwks = Some(path.into());
        self
    }

    /// Leaves the JWKS route out (a service with a shared secret has no public key).
    pub fn without_jwks(mut self) -> Self {
        self.paths.jwks = None;
        self
    }

    /// Checks the paths: each must be a static absolute path that every framework mounts
    /// as written, and no two may be the same.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if a path does not start with `/`, has an empty, `.` or
    /// `..` segment or a trailing `/`, holds a character outside letters, digits and
    /// ``-._~!$&'()+,;=:@`` (so no capture, wildcard, query, fragment or percent-escape),
    /// or equals another path.
    pub fn build(self) -> Result<RoutePaths, ConfigError> {
        let p = &self.paths;
        let all: Vec<&str> = [&p.token, &p.refresh, &p.logout]
            .into_iter()
            .chain(&p.register)
            .chain(&p.jwks)
            .map(String::as_str)
            .collect();
        for path in &all {
            check(path)?;
        }
        for (i, path) in all.iter().enumerate() {
            if all[..i].contains(path) {
                return Err(ConfigError::Invalid("two token routes share a path"));
            }
        }
        Ok(self.paths)
    }
}

/// One path's rules; see [`RoutePathsBuilder::build`].
fn check(path: &str) -> Result<(), ConfigError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(ConfigError::Invalid(
            "a token route path must start with `/`",
        ));
    };
    if rest.is_empty() {
        return Ok(());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@".contains(c);
    for segment in rest.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(ConfigError::Invalid(
                "a token route path has an empty, `.` or `..` segment, or a trailing `/`",
            ));
        }
        if !segment.chars().all(allowed) {
            return Err(ConfigError::Invalid(
                "a token route path must be static: letters, digits and -._~!$&'()+,;=:@ only",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_and_valid_paths_build() {
        let paths = RoutePaths::builder().build().unwrap();
        assert_eq!(paths, RoutePaths::default());
        assert_eq!(paths.register(), None);
        assert_eq!(paths.jwks(), Some("/.well-known/jwks.json"));
        let paths = RoutePaths::builder()
            .register("/")
            .token("/api/v1/oauth2:token")
            .refresh("/a-b_c.d~e/@x")
            .build()
            .unwrap();
        assert_eq!(paths.token(), "/api/v1/oauth2:token");
    }

    #[test]
    fn invalid_paths_are_refused() {
        for bad in [
            "",
            "token",
            "//token",
            "/token/",
            "/a//b",
            "/./a",
            "/a/..",
            "/{id}",
            "/token/{id}",
            "/*rest",
            "/<id>",
            "/to ken",
            "/jwks?x=1",
            "/a#b",
            "/%7Bid%7D",
            "/é",
            "/a\tb",
            "/a\\b",
        ] {
            assert!(
                RoutePaths::builder().token(bad).build().is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn two_routes_cannot_share_a_path() {
        assert!(
            RoutePaths::builder()
                .register("/users")
                .token("/users")
                .build()
                .is_err()
        );
        assert!(RoutePaths::builder().jwks("/logout").build().is_err());
        // Without the JWKS route, its default path is free.
        let paths = RoutePaths::builder()
            .without_jwks()
            .logout("/.well-known/jwks.json")
            .build()
            .unwrap();
        assert_eq!(paths.jwks(), None);
        let paths = RoutePaths::builder()
            .register("/users")
            .without_register()
            .token("/users")
            .build()
            .unwrap();
        assert_eq!(paths.register(), None);
    }
}
