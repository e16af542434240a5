//! The harness of the black-box HTTP contract suite (`shared/http-contract.md`).
//!
//! [`Server::start`] runs one of the demo binaries (`example-axum`, `example-actix`,
//! `example-rocket`) on a free loopback port, [`Server::send`] talks to it with a tiny
//! HTTP/1.1 client over [`TcpStream`] (so tests can also send bytes no HTTP library
//! would), and the JWT helpers forge tokens. `cargo test` does not build other
//! packages' binaries, so run `cargo build --workspace` first; a missing binary fails
//! the suite with that advice.
//!
//! Every response status is logged in one global list; [`assert_no_5xx`] fails on any
//! `5xx` that the request did not declare as an expected `503`.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// How long a demo may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a demo may take to exit after `SIGTERM` before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The environment variables of the contract's table: removed from every demo's
/// environment before the test's own are set, so the caller's shell cannot leak in.
const CONTRACT_ENV: [&str; 11] = [
    "AUTH_ADDR",
    "AUTH_DATABASE_URL",
    "AUTH_REDIS_URL",
    "AUTH_JWT_SECRET",
    "AUTH_JWT_KEY_FILE",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_ACCESS_TTL",
    "AUTH_REFRESH_TTL",
    "AUTH_ADMIN_EMAIL",
    "AUTH_ADMIN_PASSWORD",
];

/// One demo server implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `example-axum`.
    Axum,
    /// `example-actix`.
    Actix,
    /// `example-rocket`.
    Rocket,
}

impl Kind {
    /// Every demo: each test runs its cases against all of them.
    pub const ALL: [Kind; 3] = [Kind::Axum, Kind::Actix, Kind::Rocket];

    /// The binary's name, `example-…`.
    pub fn binary_name(self) -> &'static str {
        match self {
            Kind::Axum => "example-axum",
            Kind::Actix => "example-actix",
            Kind::Rocket => "example-rocket",
        }
    }

    /// The binary's path: next to the test executable's `deps/` directory.
    ///
    /// # Panics
    /// When the binary has not been built, with the command that builds it.
    pub fn binary(self) -> PathBuf {
        let exe = std::env::current_exe().expect("the test executable's path");
        // <target>/<profile>/deps/<test>-<hash>  →  <target>/<profile>/<binary>
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in <target>/<profile>/deps");
        let path = dir.join(format!(
            "{}{}",
            self.binary_name(),
            std::env::consts::EXE_SUFFIX
        ));
        assert!(
            path.is_file(),
            "{} not found: the contract suite runs the demo binaries, which `cargo test` does \
             not build; run `cargo build --workspace` first (same profile and target directory)",
            path.display()
        );
        path
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary_name())
    }
}

/// A fresh random lowercase hex string of `bytes` random bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique e-mail address for one test user.
pub fn email(tag: &str) -> String {
    format!("{tag}-{}@example.com", random_hex(6))
}

/// A directory under the system temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `authcore-contract-<tag>-<random>`.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("authcore-contract-{tag}-{}", random_hex(6)));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `sqlite://<dir>/<name>?mode=rwc`.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback TCP port (bound once and released, so it may rarely be taken again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// Sends `SIGTERM` to `child`, waits up to five seconds, then kills it.
pub fn terminate(child: &mut Child) -> ExitStatus {
    if let Ok(Some(status)) = child.try_wait() {
        return status;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().expect("wait for a killed child")
}

/// A running demo server, stopped (`SIGTERM`, then `SIGKILL` after five seconds) on drop.
#[derive(Debug)]
pub struct Server {
    /// Which demo.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `kind` in `workdir` with `AUTH_ADDR=127.0.0.1:0` and `env`, and waits
    /// (up to 20 s) for its `listening on http://ADDR` line. Its standard error goes
    /// to `<workdir>/<binary>-<port>.log`.
    ///
    /// # Panics
    /// When the binary is missing, cannot start, or prints no address in time.
    pub fn start(kind: Kind, env: &[(&str, &str)], workdir: &Path) -> Server {
        let log = workdir.join(format!("{}-{}.log", kind.binary_name(), random_hex(4)));
        let stderr = std::fs::File::create(&log).expect("create the server log");
        let mut cmd = Command::new(kind.binary());
        for name in CONTRACT_ENV {
            cmd.env_remove(name);
        }
        cmd.env("AUTH_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {kind}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining, so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let status = terminate(&mut child);
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "{kind} printed no address within {START_TIMEOUT:?} ({other:?}, {status}); \
                     its log:\n{log}"
                );
            }
        };
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("{kind}: unexpected first line {line:?}"));
        Server {
            kind,
            addr,
            child,
            log,
        }
    }

    /// Stops the server with `SIGTERM` and returns its exit status.
    pub fn stop(mut self) -> ExitStatus {
        terminate(&mut self.child)
    }

    /// The server's standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `request`, logs the status, and returns the response.
    ///
    /// # Panics
    /// When the connection fails or the response cannot be parsed.
    pub fn send(&self, request: &Request) -> Response {
        let response = send(self.addr, request)
            .unwrap_or_else(|e| panic!("{}: {} {}: {e}", self.kind, request.method, request.path));
        record(
            format!(
                "{} {} {} -> {}",
                self.kind, request.method, request.path, response.status
            ),
            response.status,
            request.allow_503,
        );
        response
    }

    /// `GET path`, with a bearer token when given.
    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(&Request::new("GET", path).bearer(token))
    }

    /// `POST path` with a JSON body, with a bearer token when given.
    pub fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(&Request::new("POST", path).json(body).bearer(token))
    }

    /// `POST /users`; asserts `201`.
    pub fn register(&self, email: &str, password: &str) -> Value {
        let r = self.post_json(
            "/users",
            &serde_json::json!({ "email": email, "password": password }),
            None,
        );
        assert_eq!(r.status, 201, "{}: register: {}", self.kind, r.text());
        r.json()
    }

    /// `POST /token` (JSON); asserts `200` and returns the body.
    pub fn login(&self, email: &str, password: &str) -> Tokens {
        let r = self.post_json(
            "/token",
            &serde_json::json!({ "email": email, "password": password }),
            None,
        );
        assert_eq!(r.status, 200, "{}: login: {}", self.kind, r.text());
        Tokens::from_response(self.kind, &r)
    }

    /// Registers a fresh user and logs in.
    pub fn user(&self, tag: &str) -> (String, Tokens) {
        let email = email(tag);
        self.register(&email, PASSWORD);
        let tokens = self.login(&email, PASSWORD);
        (email, tokens)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery";

/// An access and refresh token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `access_token`.
    pub access: String,
    /// `refresh_token`.
    pub refresh: String,
}

impl Tokens {
    /// Reads a `200` token response.
    pub fn from_response(kind: Kind, r: &Response) -> Tokens {
        let body = r.json();
        let field = |name: &str| {
            body[name]
                .as_str()
                .unwrap_or_else(|| panic!("{kind}: no string {name} in {body}"))
                .to_owned()
        };
        Tokens {
            access: field("access_token"),
            refresh: field("refresh_token"),
        }
    }
}

/// An HTTP/1.1 request; header values are bytes, so they need not be UTF-8.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The request target.
    pub path: String,
    /// Headers besides `Host`, `Connection` and `Content-Length`.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether a `503` is an expected answer (see [`assert_no_5xx`]).
    pub allow_503: bool,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            allow_503: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Adds `Authorization: Bearer <token>` when given.
    pub fn bearer(self, token: Option<&str>) -> Request {
        match token {
            Some(t) => self.header("Authorization", format!("Bearer {t}")),
            None => self,
        }
    }

    /// Sets a JSON body.
    pub fn json(self, body: &Value) -> Request {
        self.raw_body("application/json", body.to_string())
    }

    /// Sets a body of the given content type.
    pub fn raw_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self.header("Content-Type", content_type)
    }

    /// Marks a `503` as expected.
    pub fn allow_503(mut self) -> Request {
        self.allow_503 = true;
        self
    }

    fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            self.method, self.path
        )
        .into_bytes();
        if !self.body.is_empty() || self.method != "GET" {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {:?} (status {})", self.text(), self.status)
        })
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response
/// to end of file.
///
/// # Errors
/// An I/O error, or `InvalidData` for a response that does not parse.
pub fn send(addr: SocketAddr, request: &Request) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    // A server may answer (say, 400 to an oversized body) and close before reading
    // everything: a failed write is not the end, the answer may be waiting.
    let write = stream.write_all(&request.to_bytes(addr));
    let _ = stream.flush();
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    if raw.is_empty() {
        write?;
        read?;
    }
    parse_response(&raw)
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| invalid("non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| invalid("no status line"))?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(invalid("not HTTP/1.x"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status code"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| invalid("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            return Err(invalid("body shorter than Content-Length"));
        }
        body.truncate(len);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("bad chunk"))?;
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or_else(|| invalid("bad chunk size"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(invalid("short chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

struct Entry {
    what: String,
    status: u16,
    allow_503: bool,
}

static STATUSES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn record(what: String, status: u16, allow_503: bool) {
    STATUSES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Entry {
            what,
            status,
            allow_503,
        });
}

/// Fails when any response so far, from any test, was a `5xx` other than an expected
/// `503`. Every test calls it at its end.
///
/// # Panics
/// Listing the offending requests.
pub fn assert_no_5xx() {
    let log = STATUSES.lock().unwrap_or_else(|e| e.into_inner());
    let bad: Vec<&str> = log
        .iter()
        .filter(|e| e.status >= 500 && !(e.status == 503 && e.allow_503))
        .map(|e| e.what.as_str())
        .collect();
    assert!(bad.is_empty(), "unexpected server errors: {bad:#?}");
}

/// How many responses were logged (a sanity check that the log is used).
pub fn logged() -> usize {
    STATUSES.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
///
/// # Panics
/// When it is not base64url.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// The JSON of a compact JWT's part 0 (header) or 1 (claims).
///
/// # Panics
/// When the token is not a JWS of JSON parts.
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&unb64(part)).expect("a JSON JWT part")
}

/// HMAC-SHA-256 of `data` with `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, data).as_ref().to_vec()
}

/// A compact JWS of `header` and `claims`, signed with HMAC-SHA-256 under `key`
/// whatever `header.alg` says.
pub fn forge_hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = hmac_sha256(key, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("a sane clock")
}

/// Distinct values, to check uniqueness (of `jti`, say).
pub fn distinct<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> usize {
    items.into_iter().collect::<HashSet<_>>().len()
}
