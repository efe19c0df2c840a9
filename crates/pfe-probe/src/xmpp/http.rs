//! A tiny bounded HTTP/1.1 probe (status line and headers only).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::{Error, Result, Stage};
use super::stream::{tcp_connect, tls_wrap};
use super::tls::TlsVerify;

/// Largest response head (status line + headers) we read.
pub const MAX_HEAD: usize = 64 * 1024;

/// Status and headers of an HTTP response (the body is not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// e.g. `HTTP/1.1`
    pub version: String,
    /// e.g. 200
    pub status: u16,
    /// e.g. `OK`
    pub reason: String,
    /// Header (name, value) pairs in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Time from connect to the end of the head.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Result of [`websocket_probe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketProbe {
    /// The raw response.
    pub response: HttpResponse,
    /// `Sec-WebSocket-Accept` matches our key.
    pub accept_valid: bool,
    /// `Sec-WebSocket-Protocol` chosen by the server.
    pub protocol: Option<String>,
}

impl WebSocketProbe {
    /// 101 Switching Protocols with a valid accept key.
    pub fn upgraded(&self) -> bool {
        self.response.status == 101 && self.accept_valid
    }
}

fn http_err(detail: impl Into<String>) -> Error {
    Error::Http {
        detail: detail.into(),
    }
}

/// `GET path` on `addr` (`host:port`) with `Host: host`, plain or TLS
/// (`tls`), with extra request `headers`; returns status and headers.
/// Sends `Connection: close` unless `headers` set `Connection`.
pub async fn http_get(
    addr: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<HttpResponse> {
    let req = HttpRequest {
        method: "GET",
        path,
        host,
        headers,
        body: None,
    };
    Ok(http_request(addr, &req, tls, timeout, None).await?.response)
}

/// One HTTP/1.1 request for [`http_request`].
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, `PUT`, `HEAD`, ...
    pub method: &'a str,
    /// Absolute path (and query), starting with `/`.
    pub path: &'a str,
    /// The `Host` header (`name` or `name:port`); its name is also the TLS
    /// server name.
    pub host: &'a str,
    /// Extra headers (`Connection: close` is added unless one sets `Connection`).
    pub headers: &'a [(&'a str, &'a str)],
    /// A body, sent with `Content-Length`.
    pub body: Option<&'a [u8]>,
}

/// A response head and the body that came with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpExchange {
    /// Status and headers.
    pub response: HttpResponse,
    /// The body (`Content-Length`, chunked or up to the close), empty when
    /// not read.
    pub body: Vec<u8>,
}

/// Send `req` to `addr` (`host:port`), plain or TLS (`tls`), and read the
/// response head, and its body too when `max_body` is given (a larger body
/// is an [`Error::TooLarge`]). Everything within `timeout`.
pub async fn http_request(
    addr: &str,
    req: &HttpRequest<'_>,
    tls: Option<&TlsVerify>,
    timeout: Duration,
    max_body: Option<usize>,
) -> Result<HttpExchange> {
    let bad = |s: &str| s.contains(['\r', '\n']);
    for (k, v) in req.headers {
        if bad(k) || bad(v) || k.contains(':') {
            return Err(Error::Config(format!("invalid HTTP header {k:?}: {v:?}")));
        }
    }
    if !req.path.starts_with('/') || req.path.contains([' ', '\r', '\n']) {
        return Err(Error::Config(format!("invalid HTTP path {:?}", req.path)));
    }
    if req.method.is_empty()
        || !req.method.bytes().all(|b| b.is_ascii_uppercase())
        || bad(req.host)
        || req.host.contains(' ')
    {
        return Err(Error::Config(format!(
            "invalid HTTP request line {} (Host {:?})",
            req.method, req.host
        )));
    }
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pfe-probe\r\n",
        req.method, req.path, req.host
    );
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        head.push_str("Connection: close\r\n");
    }
    for (k, v) in req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = req.body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if let Some(b) = req.body {
        bytes.extend_from_slice(b);
    }
    let what = format!("{} {}", req.method, req.path);
    let no_body = req.method == "HEAD";
    let started = Instant::now();
    let work = async {
        let tcp = tcp_connect(addr, timeout).await?;
        match tls {
            None => exchange(tcp, &bytes, started, timeout, max_body, no_body).await,
            Some(v) => {
                let name = req.host.rsplit_once(':').map_or(req.host, |(h, _)| h);
                let name = name.trim_start_matches('[').trim_end_matches(']');
                let remaining = timeout.saturating_sub(started.elapsed());
                let s = tls_wrap(tcp, v, name, &[b"http/1.1"], remaining).await?;
                exchange(s, &bytes, started, timeout, max_body, no_body).await
            }
        }
    };
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Http,
            expected: format!("an HTTP response to {what}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
    started: Instant,
    timeout: Duration,
    max_body: Option<usize>,
    no_body: bool,
) -> Result<HttpExchange> {
    let remaining = || timeout.saturating_sub(started.elapsed());
    let io = |source| Error::Io {
        stage: Stage::Http,
        source,
    };
    match tokio::time::timeout(remaining(), s.write_all(req)).await {
        Ok(r) => r.map_err(io)?,
        Err(_) => return Err(http_err("timed out sending the request")),
    }
    let mut data = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    // Read more into `data`; Ok(false) at end of stream.
    macro_rules! read_more {
        ($expected:expr) => {
            match tokio::time::timeout(remaining(), s.read(&mut buf)).await {
                Ok(r) => {
                    let n = r.map_err(io)?;
                    data.extend_from_slice(&buf[..n]);
                    n > 0
                }
                Err(_) => {
                    return Err(Error::Timeout {
                        stage: Stage::Http,
                        expected: $expected.into(),
                        waited: started.elapsed(),
                        received: super::xml::snippet(&data),
                    });
                }
            }
        };
    }
    let end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if data.len() > MAX_HEAD {
            return Err(Error::TooLarge {
                stage: Stage::Http,
                what: "the HTTP response head".into(),
                limit: MAX_HEAD,
                seen: data.len(),
            });
        }
        if !read_more!("the HTTP response head (ending in a blank line)") {
            return Err(Error::Closed {
                stage: Stage::Http,
                expected: "a complete HTTP response head".into(),
                received: super::xml::snippet(&data),
            });
        }
    };
    let elapsed = started.elapsed();
    let response = parse_head(&data[..end], elapsed)?;
    let mut body = Vec::new();
    let bodiless = no_body || matches!(response.status, 100..=199 | 204 | 304);
    if let (Some(limit), false) = (max_body, bodiless) {
        data.drain(..end + 4);
        let too_large = |seen: usize| Error::TooLarge {
            stage: Stage::Http,
            what: "the HTTP response body".into(),
            limit,
            seen,
        };
        let chunked = response
            .header("Transfer-Encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let length = response
            .header("Content-Length")
            .map(|l| {
                l.trim()
                    .parse::<usize>()
                    .map_err(|_| http_err(format!("bad Content-Length {l:?}")))
            })
            .transpose()?;
        if chunked {
            // size CRLF data CRLF ... 0 CRLF [trailers] CRLF
            let mut pos = 0;
            loop {
                let Some(eol) = data[pos..].windows(2).position(|w| w == b"\r\n") else {
                    if data.len() - pos > 1024 {
                        return Err(http_err("malformed chunk size line"));
                    }
                    if !read_more!("the next chunk of the HTTP body") {
                        return Err(http_err("the body ended inside a chunk header"));
                    }
                    continue;
                };
                let line = String::from_utf8_lossy(&data[pos..pos + eol]).into_owned();
                let size_hex = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_hex, 16)
                    .map_err(|_| http_err(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    break;
                }
                if body.len() + size > limit {
                    return Err(too_large(body.len() + size));
                }
                let start = pos + eol + 2;
                while data.len() < start + size + 2 {
                    if !read_more!("the rest of an HTTP body chunk") {
                        return Err(http_err("the body ended inside a chunk"));
                    }
                }
                body.extend_from_slice(&data[start..start + size]);
                pos = start + size + 2;
            }
        } else if let Some(n) = length {
            if n > limit {
                return Err(too_large(n));
            }
            while data.len() < n {
                if !read_more!(format!("{n} bytes of HTTP body")) {
                    return Err(Error::Closed {
                        stage: Stage::Http,
                        expected: format!("{n} bytes of HTTP body ({} came)", data.len()),
                        received: String::new(),
                    });
                }
            }
            body = data[..n].to_vec();
        } else {
            // Neither: the body runs to the close (we sent Connection: close).
            loop {
                if data.len() > limit {
                    return Err(too_large(data.len()));
                }
                if !read_more!("the end of the HTTP body (connection close)") {
                    break;
                }
            }
            body = std::mem::take(&mut data);
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
    Ok(HttpExchange { response, body })
}

fn parse_head(head: &[u8], elapsed: Duration) -> Result<HttpResponse> {
    let text = String::from_utf8_lossy(head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    let status = parts.next().and_then(|c| c.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(http_err(format!(
            "expected an HTTP/1.x status line, got {status_line:?}"
        )));
    };
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| http_err(format!("malformed header line {l:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(HttpResponse {
        version,
        status,
        reason,
        headers,
        elapsed,
    })
}

/// The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2).
pub fn websocket_accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    B64.encode(h.finalize())
}

/// Ask for a WebSocket upgrade with subprotocol `xmpp` (RFC 7395) on
/// `path`, and check the server's answer. Does not speak WebSocket after.
pub async fn websocket_probe(
    addr: &str,
    host: &str,
    path: &str,
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<WebSocketProbe> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the OS random source works");
    let key = B64.encode(raw);
    let response = http_get(
        addr,
        host,
        path,
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &key),
            ("Sec-WebSocket-Protocol", "xmpp"),
        ],
        tls,
        timeout,
    )
    .await?;
    let accept_valid = response.header("Sec-WebSocket-Accept") == Some(&websocket_accept(&key));
    let protocol = response
        .header("Sec-WebSocket-Protocol")
        .map(str::to_string);
    Ok(WebSocketProbe {
        response,
        accept_valid,
        protocol,
    })
}

/// What [`websocket_session`] saw: the upgrade, then the XMPP frames
/// (RFC 7395) the server sent in answer to our `<open/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketSession {
    /// The upgrade itself.
    pub probe: WebSocketProbe,
    /// Text frames received after `<open/>`, in order (at most a few,
    /// up to the first `<stream:features>`, error or close).
    pub frames: Vec<String>,
    /// The server closed the WebSocket (close frame or end of stream).
    pub closed: bool,
}

/// Largest WebSocket frame read by [`websocket_session`].
const MAX_WS_FRAME: usize = 64 * 1024;

/// Upgrade to WebSocket with subprotocol `xmpp` on `path`, then open an
/// XMPP stream to `domain` (RFC 7395 `<open/>`) and read the server's frames
/// up to its `<stream:features>` (or an error, or a close). Closes the
/// stream politely afterwards. Bounded by `timeout`.
pub async fn websocket_session(
    addr: &str,
    host: &str,
    path: &str,
    domain: &str,
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<WebSocketSession> {
    if !path.starts_with('/')
        || path.contains([' ', '\r', '\n'])
        || host.contains([' ', '\r', '\n'])
    {
        return Err(Error::Config(format!(
            "invalid WebSocket path {path:?} or host {host:?}"
        )));
    }
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the OS random source works");
    let key = B64.encode(raw);
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pfe-probe\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Protocol: xmpp\r\n\r\n"
    );
    let open = format!(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{}' version='1.0'/>",
        super::xml::escape(domain)
    );
    let started = Instant::now();
    let work = async {
        let tcp = tcp_connect(addr, timeout).await?;
        match tls {
            None => ws_exchange(tcp, head.as_bytes(), &key, &open, started).await,
            Some(v) => {
                let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
                let name = name.trim_start_matches('[').trim_end_matches(']');
                let s = tls_wrap(tcp, v, name, &[b"http/1.1"], timeout).await?;
                ws_exchange(s, head.as_bytes(), &key, &open, started).await
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Http,
            expected: format!("the XMPP stream over WebSocket at {path}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}

/// One masked client frame (RFC 6455 §5.2).
fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut mask = [0u8; 4];
    getrandom::fill(&mut mask).expect("the OS random source works");
    let mut out = vec![0x80 | opcode];
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

async fn ws_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    head: &[u8],
    key: &str,
    open: &str,
    started: Instant,
) -> Result<WebSocketSession> {
    let io = |source| Error::Io {
        stage: Stage::Http,
        source,
    };
    s.write_all(head).await.map_err(io)?;
    let mut data = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if data.len() > MAX_HEAD {
            return Err(Error::TooLarge {
                stage: Stage::Http,
                what: "the HTTP response head".into(),
                limit: MAX_HEAD,
                seen: data.len(),
            });
        }
        let n = s.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            return Err(Error::Closed {
                stage: Stage::Http,
                expected: "a complete HTTP response head".into(),
                received: super::xml::snippet(&data),
            });
        }
        data.extend_from_slice(&buf[..n]);
    };
    let response = parse_head(&data[..end], started.elapsed())?;
    data.drain(..end + 4);
    let accept_valid = response.header("Sec-WebSocket-Accept") == Some(&websocket_accept(key));
    let protocol = response
        .header("Sec-WebSocket-Protocol")
        .map(str::to_string);
    let probe = WebSocketProbe {
        response,
        accept_valid,
        protocol,
    };
    let mut out = WebSocketSession {
        probe,
        frames: Vec::new(),
        closed: false,
    };
    if !out.probe.upgraded() {
        return Ok(out);
    }
    s.write_all(&ws_frame(1, open.as_bytes()))
        .await
        .map_err(io)?;
    // Read frames: text frames are XMPP elements; stop at features, an
    // error, a close, or after a few frames.
    let mut message: Vec<u8> = Vec::new();
    'frames: while out.frames.len() < 8 {
        // Need at least the 2-byte header, then the extended length.
        let (hdr, len) = loop {
            if data.len() >= 2 {
                let l7 = (data[1] & 0x7f) as usize;
                let masked = data[1] & 0x80 != 0;
                let ext = match l7 {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                };
                let hdr = 2 + ext + if masked { 4 } else { 0 };
                if data.len() >= hdr {
                    let len = match l7 {
                        126 => u16::from_be_bytes([data[2], data[3]]) as usize,
                        127 => {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(&data[2..10]);
                            usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX)
                        }
                        n => n,
                    };
                    if len > MAX_WS_FRAME || message.len() + len > MAX_WS_FRAME {
                        return Err(Error::TooLarge {
                            stage: Stage::Http,
                            what: "a WebSocket frame".into(),
                            limit: MAX_WS_FRAME,
                            seen: len,
                        });
                    }
                    break (hdr, len);
                }
            }
            let n = s.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                out.closed = true;
                break 'frames;
            }
            data.extend_from_slice(&buf[..n]);
        };
        while data.len() < hdr + len {
            let n = s.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                out.closed = true;
                break 'frames;
            }
            data.extend_from_slice(&buf[..n]);
        }
        let (fin, opcode) = (data[0] & 0x80 != 0, data[0] & 0x0f);
        let payload: Vec<u8> = data[hdr..hdr + len].to_vec();
        data.drain(..hdr + len);
        match opcode {
            8 => {
                out.closed = true;
                break;
            }
            9 => {
                s.write_all(&ws_frame(10, &payload)).await.map_err(io)?;
                continue;
            }
            0..=2 => message.extend_from_slice(&payload),
            _ => continue,
        }
        if !fin {
            continue;
        }
        let text = String::from_utf8_lossy(&std::mem::take(&mut message)).into_owned();
        let done = text.contains("features") || text.contains("error") || text.contains("<close");
        out.frames.push(text);
        if done {
            break;
        }
    }
    if !out.closed {
        let close = "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>";
        let _ = s.write_all(&ws_frame(1, close.as_bytes())).await;
        let _ = s.write_all(&ws_frame(8, &1000u16.to_be_bytes())).await;
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_accept_example() {
        assert_eq!(
            websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
