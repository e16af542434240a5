//! The token routes of the HTTP contract (`docs/http-contract.md` in the repository) as
//! framework-neutral handlers: bytes and a few header values in, a complete [`Response`]
//! out. An adapter reads the body (at most [`MAX_BODY_BYTES`]), calls one of these and
//! writes the response; every decision, status code and body is made here, once, for
//! every framework.

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{JSON, TOKEN_RESPONSE_HEADERS, error_response, status};
use crate::{AuthError, Authenticator, TokenPair, User};

/// The largest request body the token routes accept. Larger bodies are a `400
/// invalid_request`; adapters should stop reading past this.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A complete HTTP response as plain data.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers besides `Content-Type`, which is [`JSON`] whenever there is a body.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body, if any.
    pub body: Option<String>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Token responses carry secrets in the body.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Response {
    /// The response for an error.
    pub fn error(err: &AuthError) -> Self {
        let mapped = error_response(err);
        Response {
            status: mapped.status,
            headers: mapped.headers().collect(),
            body: Some(mapped.body_json()),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: String) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    /// `Content-Type` for the body, when there is one.
    pub fn content_type(&self) -> Option<&'static str> {
        self.body.as_ref().map(|_| JSON)
    }

    fn token(pair: &TokenPair) -> Self {
        let mut response = Response::json(status::OK, to_json(pair));
        response.headers.extend(
            TOKEN_RESPONSE_HEADERS
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned())),
        );
        response
    }
}

fn to_json(value: &impl serde::Serialize) -> String {
    // Our response types hold only strings and numbers.
    serde_json::to_string(value).unwrap_or_default()
}

fn respond<T>(result: Result<T, AuthError>, ok: impl FnOnce(T) -> Response) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(err) => Response::error(&err),
    }
}

/// The public view of a user: `{id, email, roles}`.
#[derive(Debug, serde::Serialize)]
#[non_exhaustive]
pub struct UserView<'a> {
    /// User id.
    pub id: &'a str,
    /// Email address.
    pub email: &'a str,
    /// Roles.
    pub roles: &'a [String],
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(user: &'a User) -> Self {
        UserView {
            id: &user.id,
            email: &user.email,
            roles: &user.roles,
        }
    }
}

/// `{id, email, roles}` of a user, for `201` of `POST /users` and for `/me`.
pub fn user_json(user: &User) -> String {
    to_json(&UserView::from(user))
}

enum Format {
    Json,
    Form,
}

fn format_of(content_type: Option<&str>) -> Result<Format, AuthError> {
    let Some(content_type) = content_type else {
        return Ok(Format::Json);
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(Format::Json)
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(Format::Form)
    } else {
        Err(AuthError::InvalidRequest)
    }
}

/// Parses a JSON or form body into `T`. Malformed bodies, a JSON value that is not an
/// object, missing fields, wrong types, unknown content types and oversized bodies are all
/// [`AuthError::InvalidRequest`].
///
/// # Errors
/// [`AuthError::InvalidRequest`].
pub fn parse_body<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, AuthError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AuthError::InvalidRequest);
    }
    match format_of(content_type)? {
        Format::Json if !is_json_object(body) => Err(AuthError::InvalidRequest),
        Format::Json => serde_json::from_slice(body).map_err(|_| AuthError::InvalidRequest),
        Format::Form => serde_urlencoded::from_bytes(body).map_err(|_| AuthError::InvalidRequest),
    }
}

/// Whether a JSON text starts an object. serde's derived `Deserialize` also accepts a
/// struct as an array of its fields (`["a@b.c", "pw"]`), which no client of ours sends:
/// every body the routes read must be an object.
fn is_json_object(body: &[u8]) -> bool {
    // JSON whitespace (RFC 8259 §2): space, tab, LF, CR.
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(alias = "username")]
    email: String,
    password: String,
    #[serde(default)]
    grant_type: Option<String>,
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
    #[serde(default)]
    grant_type: Option<String>,
}

fn check_grant(grant_type: Option<&str>, expected: &str) -> Result<(), AuthError> {
    match grant_type {
        None => Ok(()),
        Some(g) if g == expected => Ok(()),
        Some(_) => Err(AuthError::InvalidRequest),
    }
}

/// `POST /users` with `{email, password}`: `201 {id, email, roles}`.
pub async fn register<E: Send + Sync + 'static>(
    auth: &Authenticator<E>,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let result = async {
        let c: Credentials = parse_body(content_type, body)?;
        auth.register(&c.email, &c.password).await
    }
    .await;
    respond(result, |user| {
        Response::json(status::CREATED, user_json(&user))
    })
}

/// `POST /token` with `{email, password}` or the form
/// `grant_type=password&username=…&password=…` (RFC 6749 §4.3.2): `200` with a token
/// pair and `Cache-Control: no-store`.
pub async fn token<E: Send + Sync + 'static>(
    auth: &Authenticator<E>,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let result = async {
        let c: Credentials = parse_body(content_type, body)?;
        check_grant(c.grant_type.as_deref(), "password")?;
        auth.login(&c.email, &c.password).await
    }
    .await;
    respond(result, |pair| Response::token(&pair))
}

/// `POST /token/refresh` with `{refresh_token}` or the form
/// `grant_type=refresh_token&refresh_token=…` (RFC 6749 §6): a new pair.
pub async fn refresh<E: Send + Sync + 'static>(
    auth: &Authenticator<E>,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let result = async {
        let r: RefreshBody = parse_body(content_type, body)?;
        check_grant(r.grant_type.as_deref(), "refresh_token")?;
        auth.refresh(&r.refresh_token).await
    }
    .await;
    respond(result, |pair| Response::token(&pair))
}

/// `POST /logout` with a bearer token: `204`; the token and its session stop working.
pub async fn logout<E: Send + Sync + 'static>(
    auth: &Authenticator<E>,
    authorization: Option<&[u8]>,
) -> Response {
    let result = async {
        let claims = auth.authenticate(authorization).await?;
        auth.logout(&claims).await
    }
    .await;
    respond(result, |()| Response {
        status: status::NO_CONTENT,
        headers: Vec::new(),
        body: None,
    })
}

/// `GET /.well-known/jwks.json`: the JWKS, or `404` when only shared secrets are
/// configured.
pub fn jwks<E: Send + Sync + 'static>(auth: &Authenticator<E>) -> Response {
    match auth.jwks_json() {
        Some(json) => Response::json(status::OK, json.to_owned()),
        None => Response::json(
            status::NOT_FOUND,
            r#"{"error":"not_found","error_description":"no public keys are configured"}"#
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestAuth;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON_CT: Option<&str> = Some("application/json; charset=utf-8");

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
    }

    #[tokio::test]
    async fn token_routes_follow_the_contract() {
        let t = TestAuth::new();
        let a = &*t.auth;
        let r = register(
            a,
            JSON_CT,
            br#"{"email":"Ada@Example.com","password":"correct horse"}"#,
        )
        .await;
        assert_eq!(r.status, 201);
        let user = body(&r);
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["roles"], serde_json::json!([]));
        assert_eq!(user.as_object().unwrap().len(), 3);
        assert_eq!(
            register(
                a,
                None,
                br#"{"email":"ada@example.com","password":"correct horse"}"#
            )
            .await
            .status,
            409
        );
        assert_eq!(
            register(a, None, br#"{"email":"nope","password":"correct horse"}"#)
                .await
                .status,
            422
        );
        assert_eq!(
            register(a, None, br#"{"email":"b@example.com","password":"short"}"#)
                .await
                .status,
            422
        );

        let r = token(
            a,
            FORM,
            b"grant_type=password&username=ada%40example.com&password=correct+horse",
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers
                .contains(&("cache-control", "no-store".to_owned()))
        );
        assert_eq!(r.content_type(), Some("application/json"));
        let pair = body(&r);
        assert_eq!(pair["token_type"], "Bearer");
        let r = token(
            a,
            None,
            br#"{"email":"ada@example.com","password":"wrong horse"}"#,
        )
        .await;
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (401, Some("invalid_grant"))
        );

        let refresh_body = format!(
            r#"{{"refresh_token":"{}"}}"#,
            pair["refresh_token"].as_str().unwrap()
        );
        let r = refresh(a, JSON_CT, refresh_body.as_bytes()).await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers
                .contains(&("cache-control", "no-store".to_owned()))
        );
        let r = refresh(a, JSON_CT, refresh_body.as_bytes()).await;
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (401, Some("invalid_grant"))
        );

        let access = token(
            a,
            None,
            br#"{"email":"ada@example.com","password":"correct horse"}"#,
        )
        .await;
        let header = format!("Bearer {}", body(&access)["access_token"].as_str().unwrap());
        let r = logout(a, Some(header.as_bytes())).await;
        assert_eq!((r.status, r.body.as_ref()), (204, None));
        let r = logout(a, Some(header.as_bytes())).await;
        assert_eq!(r.status, 401);
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| *k == "www-authenticate" && v.contains("invalid_token"))
        );
        let r = logout(a, None).await;
        assert_eq!(r.headers, vec![("www-authenticate", "Bearer".to_owned())]);

        assert_eq!(jwks(a).status, 404, "HS256 only: nothing to publish");
        assert!(!format!("{access:?}").contains("access_token"));
    }

    #[tokio::test]
    async fn malformed_bodies_are_400_invalid_request() {
        let t = TestAuth::new();
        let a = &*t.auth;
        let cases: [(Option<&str>, &[u8]); 11] = [
            (None, b"not json"),
            // A struct's fields as an array: serde accepts it, the contract does not.
            (None, br#"["a@example.com", "correct horse", null]"#),
            (JSON_CT, br#" ["a@example.com", "correct horse"]"#),
            (None, br#""a@example.com""#),
            (None, b"{}"),
            (None, br#"{"email":5,"password":"x"}"#),
            (None, br#"{"email":"a@b.c"}"#),
            (None, b""),
            (FORM, b"username=a"),
            (
                Some("text/plain"),
                br#"{"email":"a@b.c","password":"xxxxxxxx"}"#,
            ),
            (None, &[b' '; MAX_BODY_BYTES + 1]),
        ];
        for (ct, b) in cases {
            for r in [
                token(a, ct, b).await,
                register(a, ct, b).await,
                refresh(a, ct, b).await,
            ] {
                assert_eq!(
                    r.status,
                    400,
                    "{ct:?} {:?}",
                    String::from_utf8_lossy(&b[..b.len().min(80)])
                );
                assert_eq!(body(&r)["error"], "invalid_request");
            }
        }
        let other_grant = b"grant_type=client_credentials&username=a%40b.c&password=xxxxxxxx";
        assert_eq!(token(a, FORM, other_grant).await.status, 400);
        assert_eq!(
            refresh(a, FORM, b"grant_type=password&refresh_token=x")
                .await
                .status,
            400
        );
    }
}
