//! A scriptable HTTP/1.1 server on loopback, standing in for the Anthropic API, an
//! OpenAI-compatible server, Slack, Discord, LINE or any webhook in tests.
//!
//! Responses are served in the order they were pushed; when the script runs out, the
//! fallback response (404 unless set) is served. Every request is recorded with its headers
//! (names lower-cased) and body, so tests can check the exact wire format a client sent.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, e.g. `/v1/messages`.
    pub path: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub struct MockResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    /// Close the connection after this many body bytes, to simulate a truncated body.
    truncate_at: Option<usize>,
}

impl MockResponse {
    /// A response with this status and body and `content-type: application/json`.
    pub fn json(status: u16, body: impl Into<String>) -> MockResponse {
        MockResponse::new(status, body).header("content-type", "application/json")
    }

    /// A response with this status and body and no content type.
    pub fn new(status: u16, body: impl Into<String>) -> MockResponse {
        MockResponse {
            status,
            headers: Vec::new(),
            body: body.into().into_bytes(),
            delay: Duration::ZERO,
            truncate_at: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> MockResponse {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits this long before answering (for client timeouts).
    pub fn delay(mut self, delay: Duration) -> MockResponse {
        self.delay = delay;
        self
    }

    /// Announces the full length but sends only `bytes` bytes of the body, then closes.
    pub fn truncated(mut self, bytes: usize) -> MockResponse {
        self.truncate_at = Some(bytes);
        self
    }
}

#[derive(Debug)]
struct Shared {
    script: VecDeque<MockResponse>,
    fallback: MockResponse,
    requests: Vec<RecordedRequest>,
}

/// The server; it stops when dropped.
#[derive(Debug)]
pub struct MockHttpServer {
    url: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MockHttpServer {
    /// Starts a server on `127.0.0.1` with a free port.
    pub fn start() -> MockHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let shared = Arc::new(Mutex::new(Shared {
            script: VecDeque::new(),
            fallback: MockResponse::json(404, r#"{"error":"no scripted response"}"#),
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    // One thread per connection, so a delayed answer does not hold up others.
                    std::thread::spawn(move || serve(stream, &shared));
                }
            })
        };
        MockHttpServer {
            url,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues a response for the next unanswered request.
    pub fn push(&self, response: MockResponse) -> &MockHttpServer {
        self.lock().script.push_back(response);
        self
    }

    /// The response served once the script is exhausted.
    pub fn set_fallback(&self, response: MockResponse) {
        self.lock().fallback = response;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for MockHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    // Keep-alive: answer requests on this connection until the client closes it.
    while let Some(request) = read_request(&mut reader) {
        let response = {
            let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
            shared.requests.push(request);
            shared
                .script
                .pop_front()
                .unwrap_or_else(|| shared.fallback.clone())
        };
        if !response.delay.is_zero() {
            std::thread::sleep(response.delay);
        }
        if write_response(&mut writer, &response).is_err() || response.truncate_at.is_some() {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<RecordedRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize = find("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
    })
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).ok()?;
        let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn write_response(writer: &mut TcpStream, response: &MockResponse) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n", response.body.len()));
    if response.truncate_at.is_some() {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    let body = match response.truncate_at {
        Some(n) => &response.body[..n.min(response.body.len())],
        None => &response.body[..],
    };
    writer.write_all(body)?;
    writer.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn raw_request(url: &str, request: &str) -> String {
        let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        out
    }

    #[test]
    fn scripted_responses_and_recording() {
        let server = MockHttpServer::start();
        server.push(MockResponse::json(429, "{}").header("retry-after", "1"));
        let answer = raw_request(
            server.url(),
            "POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(answer.contains("retry-after: 1"), "{answer}");
        let answer = raw_request(server.url(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].path, "/v1/messages");
        assert_eq!(requests[0].header("x-api-key"), Some("k"));
        assert_eq!(requests[0].body_text(), "{}");
    }

    #[test]
    fn truncated_body() {
        let server = MockHttpServer::start();
        server.push(MockResponse::json(200, r#"{"long":"body"}"#).truncated(5));
        let answer = raw_request(server.url(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(answer.contains("content-length: 15"), "{answer}");
        assert!(answer.ends_with("{\"lon"), "{answer}");
    }
}
