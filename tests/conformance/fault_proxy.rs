//! A loopback fault proxy for backend tests: it forwards HTTP/1.1 requests to a real server
//! (moto, OpenBao, a wire fake) and, when told, misbehaves the way networks and overloaded
//! services do: hangs (accepts, never answers), cuts an answer off mid-body, answers with a
//! status such as 429 or 503 without asking the server, or speaks something that is not TLS to
//! an `https://` client.
//!
//! Binds 127.0.0.1 only. Every loop is bounded: the accept loop stops when the proxy drops, a
//! hung connection is held at most [`HOLD`], and each read has a timeout.

#![allow(dead_code, reason = "each backend's tests use the parts they need")]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a hung connection is held open.
pub const HOLD: Duration = Duration::from_secs(60);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How the proxy treats the next requests.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward untouched.
    None,
    /// Read the request, never answer (the connection stays open).
    Hang,
    /// Forward, then send the head and half of the body of the server's answer, and close.
    CutMidBody,
    /// Answer the next `count` requests with `status` and `body` (JSON) without forwarding;
    /// forward after that.
    Status {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
        /// Extra headers (`Retry-After`, `x-amzn-ErrorType`, …).
        headers: Vec<(String, String)>,
        /// How many requests get it (`usize::MAX`: all).
        count: usize,
    },
    /// Answer every new connection with plain-text bytes and close: a TLS handshake fails.
    NotTls,
}

struct Shared {
    fault: Mutex<Fault>,
    requests: AtomicUsize,
    stop: AtomicBool,
    upstream: String,
}

/// A running proxy; stops (and drops its connections) when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`host:port`), passing everything through.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::None),
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            upstream: upstream.to_owned(),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || serve(conn, &s));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
        }
    }

    /// Starts a proxy in front of the server at `url` (`http://host:port[/…]`).
    pub fn in_front_of(url: &str) -> Self {
        let rest = url
            .strip_prefix("http://")
            .expect("the proxy forwards plain HTTP");
        Self::start(rest.split('/').next().unwrap())
    }

    /// Changes how the next requests are treated.
    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    /// Requests seen since the last call (each retry is one); resets the count.
    pub fn take_requests(&self) -> usize {
        self.shared.requests.swap(0, Ordering::SeqCst)
    }

    /// A JSON status answer for the next `count` requests.
    pub fn answer(&self, status: u16, body: &str, count: usize) {
        self.set(Fault::Status {
            status,
            body: body.to_owned(),
            headers: Vec::new(),
            count,
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// One client connection: requests in order, each handled per the fault of the moment.
fn serve(mut client: TcpStream, s: &Shared) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(READ_TIMEOUT));
    if matches!(*s.fault.lock().unwrap(), Fault::NotTls) {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nnot tls");
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let mut upstream: Option<TcpStream> = None;
    // Bounded: a connection serves at most 10,000 requests.
    for _ in 0..10_000 {
        let Some(request) = read_message(&mut client, false) else {
            return;
        };
        s.requests.fetch_add(1, Ordering::SeqCst);
        let fault = {
            let mut f = s.fault.lock().unwrap();
            let now = f.clone();
            if let Fault::Status { count, .. } = &mut *f
                && *count != usize::MAX
            {
                *count -= 1;
                if *count == 0 {
                    *f = Fault::None;
                }
            }
            now
        };
        match fault {
            Fault::None | Fault::NotTls => {
                let Some(answer) = forward(&mut upstream, &s.upstream, &request) else {
                    return;
                };
                if client.write_all(&answer).is_err() {
                    return;
                }
            }
            Fault::Hang => {
                let until = Instant::now() + HOLD;
                while Instant::now() < until && !s.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Fault::CutMidBody => {
                let Some(answer) = forward(&mut upstream, &s.upstream, &request) else {
                    return;
                };
                let head_end = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
                let body_len = answer.len() - head_end;
                let _ = client.write_all(&answer[..head_end + body_len / 2]);
                let _ = client.flush();
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Fault::Status {
                status,
                body,
                headers,
                ..
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in &headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if client.write_all(head.as_bytes()).is_err()
                    || client.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Sends `request` upstream (one upstream connection per client connection) and reads the
/// whole answer.
fn forward(upstream: &mut Option<TcpStream>, addr: &str, request: &[u8]) -> Option<Vec<u8>> {
    for _attempt in 0..2 {
        if upstream.is_none() {
            let conn = TcpStream::connect(addr).ok()?;
            let _ = conn.set_read_timeout(Some(READ_TIMEOUT));
            *upstream = Some(conn);
        }
        let conn = upstream.as_mut().unwrap();
        if conn.write_all(request).is_ok()
            && let Some(answer) = read_message(conn, true)
        {
            return Some(answer);
        }
        // The server closed an idle keep-alive connection: one fresh try.
        *upstream = None;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP/1.1 message (head plus a Content-Length or chunked body; a response with
/// neither is read to EOF). `None` on EOF before a full head, or on a read error.
fn read_message(conn: &mut TcpStream, response: bool) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let no_body = response
        && (head.starts_with("http/1.1 204")
            || head.starts_with("http/1.1 304")
            || head.starts_with("http/1.0 204"));
    if no_body {
        return Some(buf);
    }
    if let Some(len) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        while buf.len() < head_end + len {
            let n = conn.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Some(buf);
    }
    if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        // Until the terminating zero-size chunk and its blank line.
        loop {
            if chunked_complete(&buf[head_end..]) {
                return Some(buf);
            }
            let n = conn.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    if response {
        // Read to EOF.
        loop {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return Some(buf),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
    Some(buf)
}

/// Whether a chunked body is complete.
fn chunked_complete(mut body: &[u8]) -> bool {
    loop {
        let Some(line_end) = find(body, b"\r\n") else {
            return false;
        };
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return false;
        };
        body = &body[line_end + 2..];
        if size == 0 {
            // Trailers (none expected) end with a blank line.
            return find(body, b"\r\n").is_some();
        }
        if body.len() < size + 2 {
            return false;
        }
        body = &body[size + 2..];
    }
}
