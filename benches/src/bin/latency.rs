//! Measures the latency of one HTTP route at a fixed request rate, for `benches/http.sh`
//! and `benches/compare.sh`: `GET /me` idle and while logins load the server.
//!
//! ```text
//! latency [--rate N] [--seconds S] [--header 'Name: value']... http://127.0.0.1:PORT/path
//! ```
//!
//! One keep-alive connection sends a request every 1/N s (default N = 2000, for S = 10
//! seconds) and prints `requests=… p50_us=… p99_us=… p999_us=… max_us=…`. Any response
//! other than 2xx, or any connection error, fails the run.
//!
//! Why not wrk's percentiles: wrk corrects for coordinated omission by assuming that
//! requests were due at the run's own average interval, and adds a synthetic sample for
//! each interval a slow response covered. One connection that answers in 10 µs under
//! load and in 70 µs idle is corrected with intervals 7× apart, so the same 4 ms stall
//! weighs 7× more under load, and the two p99s cannot be compared. Here the schedule is
//! the same in both runs. A request that is due while an earlier response is still
//! outstanding counts its latency from when it was due (the server made it wait); one
//! that is sent late because this client overslept counts from when it was sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("latency: {message}");
            ExitCode::from(2)
        }
    }
}

struct Options {
    rate: u32,
    seconds: u32,
    headers: Vec<String>,
    /// `host:port`
    authority: String,
    path: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut rate, mut seconds, mut headers, mut url) = (2000, 10, Vec::new(), None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--rate" => rate = number(&value("--rate")?)?,
            "--seconds" => seconds = number(&value("--seconds")?)?,
            "--header" => headers.push(value("--header")?),
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let url = url.ok_or("usage: latency [--rate N] [--seconds S] [--header H]... URL")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Ok(Options {
        rate,
        seconds,
        headers,
        authority: authority.to_owned(),
        path: if path.is_empty() { "/" } else { path }.to_owned(),
    })
}

fn number(text: &str) -> Result<u32, String> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number, got {text:?}")),
    }
}

fn run(args: impl Iterator<Item = String>) -> Result<String, String> {
    let mut latencies = measure(&parse(args)?)?;
    latencies.sort_unstable();
    let at = |fraction: f64| {
        // the smallest latency that `fraction` of the requests do not exceed
        let rank = (fraction * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1].as_micros()
    };
    Ok(format!(
        "requests={} p50_us={} p99_us={} p999_us={} max_us={}",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    ))
}

/// The latency of every request of the schedule, in the order they were sent.
fn measure(options: &Options) -> Result<Vec<Duration>, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", options.authority);
    let mut stream = TcpStream::connect(&options.authority).map_err(fail)?;
    stream.set_nodelay(true).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n",
        options.path, options.authority
    );
    for header in &options.headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");

    let interval = Duration::from_secs(1) / options.rate;
    let total = options.rate as usize * options.seconds as usize;
    let mut latencies = Vec::with_capacity(total);
    let mut buffer = Vec::with_capacity(4096);
    let mut due = Instant::now();
    for _ in 0..total {
        let now = Instant::now();
        // late because the previous response was: the server made this request wait
        let sent = if now >= due {
            due
        } else {
            std::thread::sleep(due - now);
            Instant::now()
        };
        stream.write_all(request.as_bytes()).map_err(fail)?;
        read_response(&mut stream, &mut buffer).map_err(|e| format!("{}: {e}", options.path))?;
        latencies.push(sent.elapsed());
        due += interval;
    }
    Ok(latencies)
}

/// Reads one response with a `Content-Length` body (what the demos send) into `buffer`,
/// leaving any bytes after it; fails on a status other than 2xx.
fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0; 16 * 1024];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).map_err(|e| e.to_string())?;
            let status = head.split(' ').nth(1).unwrap_or("");
            if !status.starts_with('2') {
                return Err(format!("status {status}"));
            }
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .ok_or("a response without Content-Length")?;
            let size = end + 4 + length;
            if buffer.len() >= size {
                buffer.drain(..size);
                return Ok(());
            }
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn parses_the_url_and_options() {
        let o = parse(args(&[
            "--rate",
            "50",
            "--header",
            "A: b",
            "http://127.0.0.1:8080/me",
        ]))
        .unwrap();
        assert_eq!((o.rate, o.seconds), (50, 10));
        assert_eq!(o.headers, ["A: b"]);
        assert_eq!(
            (o.authority.as_str(), o.path.as_str()),
            ("127.0.0.1:8080", "/me")
        );
        assert_eq!(parse(args(&["http://h:1"])).unwrap().path, "/");
        assert!(parse(args(&["https://h:1/"])).is_err());
        assert!(parse(args(&["--rate", "0", "http://h:1/"])).is_err());
        assert!(parse(args(&["--rate"])).is_err());
        assert!(parse(args(&[])).is_err());
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";

    /// A one-connection server on loopback that answers each request with `responses`,
    /// in turn, each after its delay.
    fn serve(responses: Vec<(Duration, &'static str)>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut read = Vec::new();
            let mut chunk = [0; 1024];
            for (delay, response) in responses {
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut chunk).unwrap();
                    if n == 0 {
                        return;
                    }
                    read.extend_from_slice(&chunk[..n]);
                }
                let end = read.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                read.drain(..end + 4);
                std::thread::sleep(delay);
                stream.write_all(response.as_bytes()).unwrap();
            }
        });
        format!("http://{address}/me")
    }

    #[test]
    fn measures_every_request_of_the_schedule() {
        let url = serve(vec![(Duration::ZERO, OK); 20]);
        let report = run(args(&["--rate", "20", "--seconds", "1", &url])).unwrap();
        assert!(report.starts_with("requests=20 p50_us="), "{report}");
    }

    /// Requests due while a slow response is outstanding count from when they were due,
    /// so one 200 ms stall at 20 requests per second shows in four requests, not one.
    #[test]
    fn a_stall_counts_for_every_request_it_delays() {
        let mut responses = vec![(Duration::ZERO, OK); 20];
        responses[0].0 = Duration::from_millis(200);
        let url = serve(responses);
        let options = parse(args(&["--rate", "20", "--seconds", "1", &url])).unwrap();
        let latencies = measure(&options).unwrap();
        assert_eq!(latencies.len(), 20);
        let ms = |l: &Duration| l.as_millis();
        assert!(ms(&latencies[0]) >= 200, "{latencies:?}");
        // due at 50, 100 and 150 ms, sent when the first answer came at about 200 ms
        for (i, latency) in latencies.iter().enumerate().take(4).skip(1) {
            let at_least = 200 - 50 * i as u128;
            assert!(ms(latency) + 5 >= at_least, "{i}: {latencies:?}");
        }
        // on schedule again: sent when due, not charged for the client's own sleep
        assert!(latencies[6..].iter().all(|l| ms(l) < 40), "{latencies:?}");
    }

    #[test]
    fn fails_on_an_error_status() {
        const DENIED: &str = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
        let url = serve(vec![(Duration::ZERO, OK), (Duration::ZERO, DENIED)]);
        let error = run(args(&["--rate", "100", "--seconds", "1", &url])).unwrap_err();
        assert_eq!(error, "/me: status 401");
    }

    #[test]
    fn fails_without_a_content_length() {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        let url = serve(vec![(Duration::ZERO, chunked)]);
        let error = run(args(&["--rate", "100", "--seconds", "1", &url])).unwrap_err();
        assert_eq!(error, "/me: a response without Content-Length");
    }
}
