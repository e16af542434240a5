//! Fetching documents over HTTP(S): a bounded body, a timeout, and `Cache-Control`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::JwksError;

/// The largest response body read: a JWKS of a few keys is a few KiB.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The HTTP client: rustls with the aws-lc-rs provider and the Mozilla roots of
/// `webpki-roots`; no system TLS library is used.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, JwksError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JwksError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("auth-jwks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| JwksError::Config(format!("HTTP client: {e}")))
}

/// Parses an absolute `http` or `https` URL.
pub(crate) fn http_url(url: &str) -> Result<Url, JwksError> {
    let parsed = Url::parse(url).map_err(|_| JwksError::BadUrl {
        url: url.to_owned(),
        reason: "not an absolute URL",
    })?;
    let bad = |reason| JwksError::BadUrl {
        url: redacted(&parsed),
        reason,
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(parsed)
}

/// A `200 OK` body and the response's `Cache-Control: max-age`, if any.
pub(crate) struct Fetched {
    pub(crate) body: String,
    pub(crate) max_age: Option<Duration>,
}

/// GETs `url`, reading at most [`MAX_BODY`] bytes of a `200 OK` answer.
pub(crate) async fn get(client: &reqwest::Client, url: &Url) -> Result<Fetched, JwksError> {
    let name = &redacted(url);
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/jwk-set+json, application/json")
        .send()
        .await
        .map_err(|e| JwksError::http(name, e))?;
    if response.status() != StatusCode::OK {
        return Err(JwksError::Status {
            url: name.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let too_large = || JwksError::TooLarge {
        url: name.to_owned(),
        limit: MAX_BODY,
    };
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let max_age = max_age(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| JwksError::http(name, e))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body).map_err(|_| JwksError::NotJwks {
        url: name.to_owned(),
        reason: "the body is not UTF-8".to_owned(),
    })?;
    Ok(Fetched { body, max_age })
}

/// `url` as it may be shown: a password in it is replaced.
pub(crate) fn redacted(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Only URLs with a host can carry a password, and those accept a new one.
    let _ = shown.set_password(Some("redacted"));
    shown.to_string()
}

/// The `max-age` of a `Cache-Control` header. `None` (the default lifetime applies) when
/// there is none, or when the server forbids caching (`no-cache`, `no-store`,
/// `max-age=0`): the keys must be kept anyway, and fetching them for every request would
/// be worse than keeping them a while. Unparsable directives are ignored.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                return None;
            }
            if name.eq_ignore_ascii_case("max-age")
                && let Some(secs) = arg.and_then(|a| a.parse::<u64>().ok())
            {
                found = Some(Duration::from_secs(secs));
            }
        }
    }
    found.filter(|age| !age.is_zero())
}

/// The members of an OpenID Provider's metadata that are read (OpenID Connect Discovery
/// 1.0 §3).
#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: Option<String>,
    jwks_uri: Option<String>,
}

/// The discovery URL of `issuer`: `{issuer}/.well-known/openid-configuration`.
pub(crate) fn discovery_url(issuer: &str) -> Result<Url, JwksError> {
    http_url(issuer)?;
    http_url(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

/// Fetches the discovery document at `url` and returns its `jwks_uri`, after checking
/// that its `issuer` is `issuer` (OpenID Connect Discovery 1.0 §4.3).
pub(crate) async fn discover(
    client: &reqwest::Client,
    url: &Url,
    issuer: &str,
) -> Result<Url, JwksError> {
    let bad = |reason: String| JwksError::BadDiscovery {
        url: redacted(url),
        reason,
    };
    let fetched = get(client, url).await.map_err(|e| match e {
        JwksError::NotJwks { reason, .. } => bad(reason),
        other => other,
    })?;
    let metadata: ProviderMetadata = serde_json::from_str(&fetched.body)
        .map_err(|_| bad("not a JSON object with string members".to_owned()))?;
    match metadata.issuer.as_deref() {
        Some(found) if found == issuer => {}
        Some(found) => {
            return Err(bad(format!(
                "its issuer {found:?} is not the configured {issuer:?}"
            )));
        }
        None => return Err(bad("no issuer".to_owned())),
    }
    let jwks_uri = metadata
        .jwks_uri
        .ok_or_else(|| bad("no jwks_uri".to_owned()))?;
    http_url(&jwks_uri).map_err(|e| bad(format!("jwks_uri: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(CACHE_CONTROL, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn cache_control() {
        assert_eq!(max_age(&headers(&[])), None);
        assert_eq!(
            max_age(&headers(&["public, max-age=300"])),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age(&headers(&["Max-Age = \"7\""])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(max_age(&headers(&["max-age=60", "no-cache"])), None);
        assert_eq!(max_age(&headers(&["no-store"])), None);
        assert_eq!(max_age(&headers(&["max-age=0"])), None);
        assert_eq!(max_age(&headers(&["max-age=-1"])), None);
        assert_eq!(max_age(&headers(&["max-age=lots"])), None);
    }

    #[test]
    fn urls() {
        assert!(http_url("https://a.example/jwks").is_ok());
        assert!(http_url("http://127.0.0.1:8080/jwks").is_ok());
        for bad in [
            "",
            "/jwks",
            "ftp://a.example/",
            "file:///etc/passwd",
            "jwks",
        ] {
            assert!(
                matches!(http_url(bad), Err(JwksError::BadUrl { .. })),
                "{bad}"
            );
        }
        let secret = Url::parse("https://user:pw@a.example/jwks").unwrap();
        assert_eq!(redacted(&secret), "https://user:redacted@a.example/jwks");
        assert_eq!(
            discovery_url("https://a.example/realms/x/")
                .map(String::from)
                .ok()
                .as_deref(),
            Some("https://a.example/realms/x/.well-known/openid-configuration")
        );
    }
}
