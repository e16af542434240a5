//! The harness of the black-box HTTP contract suite (`docs/http-contract.md`).
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
//!
//! [`Kind::run_to_exit`] runs a demo that is expected not to start, and [`TcpProxy`]
//! stands between a demo and a store so that the store can go away and come back on the
//! same address without stopping the real server (which other tests share).

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
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

    /// The binary, with the contract's variables removed from the inherited environment
    /// and `env` set, run in `workdir` with standard input closed.
    fn command(self, env: &[(&str, &str)], workdir: &Path) -> Command {
        let mut cmd = Command::new(self.binary());
        for name in CONTRACT_ENV {
            cmd.env_remove(name);
        }
        cmd.env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .current_dir(workdir)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the binary with `env` in `workdir` (the contract's variables of the caller's
    /// environment removed first, as for [`Server::start`]) until it exits, killing it
    /// after `timeout`. For configurations that must stop start-up, which
    /// [`Server::start`] cannot run (it panics when no address is printed).
    ///
    /// # Panics
    /// When the binary is missing or cannot start.
    pub fn run_to_exit(self, env: &[(&str, &str)], workdir: &Path, timeout: Duration) -> Exit {
        let tag = random_hex(4);
        let out_path = workdir.join(format!("{}-{tag}.stdout", self.binary_name()));
        let err_path = workdir.join(format!("{}-{tag}.stderr", self.binary_name()));
        let out = std::fs::File::create(&out_path).expect("create a stdout file");
        let err = std::fs::File::create(&err_path).expect("create a stderr file");
        let started = Instant::now();
        let mut child = self
            .command(env, workdir)
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {self}: {e}"));
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if started.elapsed() >= timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        Exit {
            status,
            elapsed: started.elapsed(),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        }
    }
}

/// How a demo run by [`Kind::run_to_exit`] ended.
#[derive(Debug)]
pub struct Exit {
    /// Its exit status; `None` when it was still running at the timeout and was killed.
    pub status: Option<ExitStatus>,
    /// From start to exit (or to the kill).
    pub elapsed: Duration,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
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
        let env: Vec<(&str, &str)> = [("AUTH_ADDR", "127.0.0.1:0")]
            .into_iter()
            .chain(env.iter().copied())
            .collect();
        let mut child = kind
            .command(&env, workdir)
            .stdout(Stdio::piped())
            .stderr(stderr)
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

/// The `host:port` of a URL such as `postgres://user@127.0.0.1:5432/test?…` (the
/// part between `://` and the path, without user information), with port `default_port`
/// added when the URL names none.
///
/// # Panics
/// When the URL has no `://`.
pub fn url_host_port(url: &str, default_port: u16) -> String {
    let (_, _, host_port, _) = split_url(url);
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

/// `url` with its `host[:port]` replaced by `host_port`; scheme, user information, path
/// and query are kept.
///
/// # Panics
/// When the URL has no `://`.
pub fn url_with_host_port(url: &str, host_port: &str) -> String {
    let (scheme, user, _, rest) = split_url(url);
    format!("{scheme}://{user}{host_port}{rest}")
}

/// `(scheme, "user[:password]@" or "", host[:port], path and query)`.
fn split_url(url: &str) -> (&str, &str, &str, &str) {
    let (scheme, after) = url.split_once("://").expect("a URL with ://");
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let at = authority.rfind('@').map_or(0, |i| i + 1);
    let (user, host_port) = authority.split_at(at);
    (scheme, user, host_port, rest)
}

/// How long the proxy waits for the upstream to accept a connection.
const PROXY_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the proxy's accept loop looks at its stop flag.
const PROXY_POLL: Duration = Duration::from_millis(10);
/// How long [`TcpProxy::restart`] retries binding its old port.
const PROXY_REBIND_TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP forwarder from a loopback port to an upstream server, so that a test can make a
/// store shared with other tests (PostgreSQL) "go away" for one demo only, and come back
/// on the same address.
///
/// Plain std threads: one accept loop (on a non-blocking listener it polls every 10 ms,
/// so that [`stop`](TcpProxy::stop) needs no wake-up connection) and two copy threads per
/// connection, one per direction. When either direction ends, both sockets are shut
/// down. [`stop`](TcpProxy::stop) closes the listener and shuts down every open
/// connection, both sides, so the client sees its connections end and new ones refused;
/// [`restart`](TcpProxy::restart) listens again on the same port. Stopped on drop.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    running: Option<Running>,
}

/// One listening period of a [`TcpProxy`].
#[derive(Debug)]
struct Running {
    stop: Arc<AtomicBool>,
    /// Both sockets of every connection accepted so far (clones, kept open until the
    /// stop even when the connection has ended), to shut them down.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    /// The copy threads, joined on stop.
    copiers: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        TcpProxy {
            addr,
            upstream,
            running: Some(Running::spawn(listener, upstream)),
        }
    }

    /// Where the proxy listens (the same address across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener, then shuts down both sockets of every open connection and
    /// waits for the copy threads to end. Afterwards connections to [`addr`](Self::addr)
    /// are refused. Does nothing when already stopped.
    ///
    /// # Panics
    /// When a proxy thread panicked.
    pub fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.stop.store(true, Ordering::SeqCst);
        // The accept thread owns the listener: once it has ended, the port is closed and
        // no connection can be added to `sockets` any more.
        running.accept.join().expect("the proxy's accept thread");
        for socket in lock(&running.sockets).drain(..) {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        let copiers: Vec<_> = lock(&running.copiers).drain(..).collect();
        for copier in copiers {
            copier.join().expect("a proxy copy thread");
        }
    }

    /// Listens again on the same port (retrying for up to five seconds while the port is
    /// still in use). Does nothing when running.
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub fn restart(&mut self) {
        if self.running.is_some() {
            return;
        }
        let deadline = Instant::now() + PROXY_REBIND_TIMEOUT;
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => thread::sleep(PROXY_POLL),
                Err(e) => panic!("cannot bind the proxy again on {}: {e}", self.addr),
            }
        };
        self.running = Some(Running::spawn(listener, self.upstream));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if thread::panicking() {
            // Do not panic again while unwinding: just let the threads see the flag.
            if let Some(running) = self.running.take() {
                running.stop.store(true, Ordering::SeqCst);
                for socket in lock(&running.sockets).drain(..) {
                    let _ = socket.shutdown(std::net::Shutdown::Both);
                }
            }
        } else {
            self.stop();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Running {
    fn spawn(listener: TcpListener, upstream: SocketAddr) -> Running {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let copiers = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, sockets, copiers) = (stop.clone(), sockets.clone(), copiers.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            if let Some(pair) = connect_pair(client, upstream, &sockets) {
                                lock(&copiers).extend(pair);
                            }
                        }
                        Err(_) => thread::sleep(PROXY_POLL),
                    }
                }
                // `listener` is dropped here: the port closes.
            })
        };
        Running {
            stop,
            sockets,
            copiers,
            accept,
        }
    }
}

/// Connects `client` to `upstream`, records both sockets and starts the two copy
/// threads; `None` (the client's connection closed) when the upstream cannot be reached.
fn connect_pair(
    client: TcpStream,
    upstream: SocketAddr,
    sockets: &Mutex<Vec<TcpStream>>,
) -> Option<[JoinHandle<()>; 2]> {
    // Accepted sockets may inherit the listener's non-blocking mode on some systems.
    client.set_nonblocking(false).ok()?;
    let server = TcpStream::connect_timeout(&upstream, PROXY_CONNECT_TIMEOUT).ok()?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client2, server2) = (client.try_clone().ok()?, server.try_clone().ok()?);
    lock(sockets).extend([client.try_clone().ok()?, server.try_clone().ok()?]);
    Some([copy(client, server), copy(server2, client2)])
}

/// Copies `from` into `to` until either ends, then shuts both down.
fn copy(mut from: TcpStream, mut to: TcpStream) -> JoinHandle<()> {
    thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = from.shutdown(std::net::Shutdown::Both);
        let _ = to.shutdown(std::net::Shutdown::Both);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let url = "postgres://user:pw@db.example:6543/test?sslmode=disable";
        assert_eq!(url_host_port(url, 5432), "db.example:6543");
        assert_eq!(
            url_with_host_port(url, "127.0.0.1:1"),
            "postgres://user:pw@127.0.0.1:1/test?sslmode=disable"
        );
        assert_eq!(
            url_host_port("postgres://postgres@[::1]/t", 5432),
            "[::1]:5432"
        );
        assert_eq!(url_host_port("redis://127.0.0.1", 6379), "127.0.0.1:6379");
    }

    /// One line through the proxy and back from an echo server.
    fn echo(addr: SocketAddr) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"ping\n")?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line)
    }

    #[test]
    fn proxy_stops_and_restarts_on_the_same_port() {
        let upstream = TcpListener::bind("127.0.0.1:0").expect("bind");
        let upstream_addr = upstream.local_addr().expect("address");
        thread::spawn(move || {
            for stream in upstream.incoming().flatten() {
                thread::spawn(move || {
                    let mut writer = stream.try_clone().expect("clone");
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        let _ = writer.write_all(format!("{line}\n").as_bytes());
                    }
                });
            }
        });
        let mut proxy = TcpProxy::start(upstream_addr);
        let addr = proxy.addr();
        assert_eq!(echo(addr).expect("echo"), "ping\n");

        // an open connection is cut, and new ones are refused
        let mut open = TcpStream::connect(addr).expect("connect");
        open.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        open.write_all(b"ping\n").expect("write");
        let mut line = [0u8; 5];
        open.read_exact(&mut line)
            .expect("the echo, so the connection is through");
        proxy.stop();
        let mut buf = [0u8; 8];
        assert!(matches!(open.read(&mut buf), Ok(0) | Err(_)));
        assert!(TcpStream::connect(addr).is_err());

        proxy.restart();
        assert_eq!(proxy.addr(), addr);
        assert_eq!(echo(addr).expect("echo after the restart"), "ping\n");
    }
}
