//! The demo servers as child processes: which binary, its environment and working
//! directory, start-up, requests as a user, and stopping.

use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::record;
use crate::{Request, Response, email, random_hex, send};

/// How long a demo may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a demo may take to exit after `SIGTERM` before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variables of the contract's table: removed from every demo's
/// environment before the test's own are set, so the caller's shell cannot leak in.
const CONTRACT_ENV: [&str; 13] = [
    "AUTH_ADDR",
    "AUTH_JWKS_URL",
    "AUTH_JWKS_COOLDOWN",
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
    /// `example-resource-server`: verifies the tokens of an auth demo through its JWKS.
    /// Not in [`Kind::ALL`], which lists the auth demos.
    ResourceServer,
}

impl Kind {
    /// Every auth demo: each test runs its cases against all of them.
    pub const ALL: [Kind; 3] = [Kind::Axum, Kind::Actix, Kind::Rocket];

    /// The binary's name, `example-…`.
    pub fn binary_name(self) -> &'static str {
        match self {
            Kind::Axum => "example-axum",
            Kind::Actix => "example-actix",
            Kind::Rocket => "example-rocket",
            Kind::ResourceServer => "example-resource-server",
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
