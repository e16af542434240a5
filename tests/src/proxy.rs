//! Store URLs and the TCP proxy that makes a store go away for one demo only.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};

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
