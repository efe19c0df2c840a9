//! A bounded XML-stream connection: TCP or TLS transport, the framer, and
//! every read/write under a per-read timeout and an overall deadline.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::error::{Error, Result, Stage};
use super::features::Features;
use super::tls::{TlsVerify, client_config, handshake_error, server_name};
use super::xml::{self, Element, Frame, FrameError, NS_STREAMS, StreamHeader};

/// Time bounds of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (and TLS handshake) bound.
    pub connect: Duration,
    /// Longest wait for any single read.
    pub read: Duration,
    /// Deadline for everything from connect on (reset with
    /// [`crate::xmpp::Client::extend_deadline`]).
    pub overall: Duration,
}

impl Default for Timeouts {
    /// connect 5 s, read 10 s, overall 30 s.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(10),
            overall: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// All three bounds set to `d`.
    pub fn all(d: Duration) -> Self {
        Timeouts {
            connect: d,
            read: d,
            overall: d,
        }
    }
}

/// Size bounds of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest top-level element (stanza) accepted.
    pub max_stanza: usize,
    /// Largest `<stream:features>` accepted.
    pub max_features: usize,
}

impl Default for Limits {
    /// 256 KiB stanzas, 64 KiB features.
    fn default() -> Self {
        Limits {
            max_stanza: 256 * 1024,
            max_features: 64 * 1024,
        }
    }
}

/// A TCP stream that asks the kernel to acknowledge every received segment
/// at once (Linux `TCP_QUICKACK`, re-armed before each read). Servers that
/// write a TLS flight or a header and features in several small writes
/// without `TCP_NODELAY` otherwise stall on Nagle + delayed ACK (~40 ms per
/// round on loopback).
pub(crate) struct Tcp(TcpStream);

impl Tcp {
    fn quickack(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let one: libc::c_int = 1;
            // SAFETY: valid fd owned by self.0; option value is a c_int.
            unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.quickack();
        Pin::new(&mut this.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

pub(crate) enum Transport {
    Plain(Tcp),
    Tls(Box<TlsStream<Tcp>>),
    Gone,
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "transport lost after a failed TLS upgrade",
    )
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// Connect a TCP socket within `timeout`.
pub(crate) async fn tcp_connect(addr: &str, timeout: Duration) -> Result<Tcp> {
    let fut = TcpStream::connect(addr);
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(Tcp(s))
        }
        Ok(Err(source)) => Err(Error::Connect {
            stage: Stage::Connect,
            addr: addr.to_string(),
            source,
        }),
        Err(_) => Err(Error::Timeout {
            stage: Stage::Connect,
            expected: format!("TCP connection to {addr}"),
            waited: timeout,
            received: String::new(),
        }),
    }
}

/// TLS-wrap `tcp` within `timeout`.
pub(crate) async fn tls_wrap(
    tcp: Tcp,
    verify: &TlsVerify,
    domain: &str,
    alpn: &[&[u8]],
    timeout: Duration,
) -> Result<TlsStream<Tcp>> {
    tls_wrap_with(tcp, client_config(verify, alpn)?, domain, timeout).await
}

/// TLS-wrap `tcp` with this rustls config within `timeout`.
pub(crate) async fn tls_wrap_with(
    tcp: Tcp,
    config: std::sync::Arc<rustls::ClientConfig>,
    domain: &str,
    timeout: Duration,
) -> Result<TlsStream<Tcp>> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = server_name(domain)?;
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(handshake_error(domain, e)),
        Err(_) => Err(Error::Timeout {
            stage: Stage::TlsHandshake,
            expected: "the TLS handshake to complete (is this port really TLS?)".into(),
            waited: timeout,
            received: String::new(),
        }),
    }
}

/// What a TLS server presented.
#[derive(Clone, Debug)]
pub(crate) struct PeerTls {
    pub(crate) version: Option<rustls::ProtocolVersion>,
    pub(crate) suite: Option<rustls::CipherSuite>,
    /// The leaf first, then what else the server sent.
    pub(crate) chain: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// A connection carrying an XML stream.
pub(crate) struct Conn {
    transport: Transport,
    framer: xml::Framer,
    pub(crate) timeouts: Timeouts,
    pub(crate) limits: Limits,
    deadline: Instant,
    rbuf: Vec<u8>,
}

impl Conn {
    /// Connect TCP to `addr`; the overall deadline starts now.
    pub(crate) async fn connect(addr: &str, timeouts: Timeouts, limits: Limits) -> Result<Conn> {
        let deadline = Instant::now() + timeouts.overall;
        let connect = timeouts.connect.min(timeouts.overall);
        let tcp = tcp_connect(addr, connect).await?;
        Ok(Conn {
            transport: Transport::Plain(tcp),
            framer: xml::Framer::new(limits.max_stanza),
            timeouts,
            limits,
            deadline,
            rbuf: vec![0u8; 16 * 1024],
        })
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls(_))
    }

    pub(crate) fn tls_info(&self) -> Option<String> {
        let Transport::Tls(t) = &self.transport else {
            return None;
        };
        let c = t.get_ref().1;
        let version = c.protocol_version().map(|v| format!("{v:?}"));
        let suite = c
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()));
        Some(match (version, suite) {
            (Some(v), Some(s)) => format!("{v} {s}"),
            (v, s) => v.or(s).unwrap_or_else(|| "TLS".into()),
        })
    }

    /// RFC 9266 `tls-exporter` channel-binding data (TLS 1.3 only: under
    /// TLS 1.2 the exporter is not unique to the connection without
    /// extended master secret, which rustls does not report).
    pub(crate) fn tls_exporter(&self) -> Option<Vec<u8>> {
        let Transport::Tls(t) = &self.transport else {
            return None;
        };
        let c = t.get_ref().1;
        if c.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return None;
        }
        c.export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
            .ok()
    }

    pub(crate) fn extend_deadline(&mut self, d: Duration) {
        self.deadline = Instant::now() + d;
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The TLS version, cipher suite and certificate chain the server
    /// presented (`None`: not encrypted).
    pub(crate) fn peer_tls(&self) -> Option<PeerTls> {
        let Transport::Tls(t) = &self.transport else {
            return None;
        };
        let c = t.get_ref().1;
        Some(PeerTls {
            version: c.protocol_version(),
            suite: c.negotiated_cipher_suite().map(|s| s.suite()),
            chain: c
                .peer_certificates()
                .map(|l| l.iter().map(|d| d.clone().into_owned()).collect())
                .unwrap_or_default(),
        })
    }

    /// Upgrade the (plain) transport to TLS.
    pub(crate) async fn start_tls(
        &mut self,
        verify: &TlsVerify,
        domain: &str,
        alpn: &[&[u8]],
    ) -> Result<()> {
        self.start_tls_with(client_config(verify, alpn)?, domain)
            .await
    }

    /// Upgrade the (plain) transport to TLS with this rustls config.
    pub(crate) async fn start_tls_with(
        &mut self,
        config: std::sync::Arc<rustls::ClientConfig>,
        domain: &str,
    ) -> Result<()> {
        let Transport::Plain(tcp) = std::mem::replace(&mut self.transport, Transport::Gone) else {
            return Err(Error::Tls {
                stage: Stage::TlsHandshake,
                detail: "the stream is already encrypted (or was lost)".into(),
            });
        };
        let t = self.timeouts.connect.min(self.remaining());
        let tls = tls_wrap_with(tcp, config, domain, t).await?;
        self.transport = Transport::Tls(Box::new(tls));
        self.framer.restart();
        Ok(())
    }

    /// Write all of `data` (bounded by the read timeout and the deadline).
    pub(crate) async fn send(&mut self, stage: Stage, data: &str) -> Result<()> {
        let t = self.timeouts.read.min(self.remaining());
        let fut = async {
            self.transport.write_all(data.as_bytes()).await?;
            self.transport.flush().await
        };
        match tokio::time::timeout(t, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::Io { stage, source }),
            Err(_) => Err(Error::Timeout {
                stage,
                expected: "the server to accept our data (write blocked)".into(),
                waited: t,
                received: String::new(),
            }),
        }
    }

    /// The next frame; waits at most the read timeout per read and never
    /// past the deadline.
    pub(crate) async fn next_frame(&mut self, stage: Stage, expected: &str) -> Result<Frame> {
        let started = Instant::now();
        loop {
            match self.framer.next_frame() {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(FrameError::TooLarge { limit, seen }) => {
                    return Err(Error::TooLarge {
                        stage,
                        what: format!("data received while waiting for {expected}"),
                        limit,
                        seen,
                    });
                }
                Err(e @ FrameError::Malformed { .. }) => {
                    return Err(Error::Xml {
                        stage,
                        expected: expected.to_string(),
                        detail: e.to_string(),
                    });
                }
            }
            let t = self.timeouts.read.min(self.remaining());
            let timeout_err = |this: &Self| Error::Timeout {
                stage,
                expected: expected.to_string(),
                waited: started.elapsed(),
                received: xml::snippet(this.framer.pending()),
            };
            if t.is_zero() {
                return Err(timeout_err(self));
            }
            match tokio::time::timeout(t, self.transport.read(&mut self.rbuf)).await {
                Ok(Ok(0)) => {
                    return Err(Error::Closed {
                        stage,
                        expected: expected.to_string(),
                        received: xml::snippet(self.framer.pending()),
                    });
                }
                Ok(Ok(n)) => {
                    let (buf, framer) = (&self.rbuf, &mut self.framer);
                    framer.push(&buf[..n]);
                }
                Ok(Err(source)) => {
                    let closed = matches!(
                        source.kind(),
                        io::ErrorKind::ConnectionReset
                            | io::ErrorKind::UnexpectedEof
                            | io::ErrorKind::BrokenPipe
                    );
                    if closed {
                        return Err(Error::Closed {
                            stage,
                            expected: format!("{expected} ({source})"),
                            received: xml::snippet(self.framer.pending()),
                        });
                    }
                    return Err(Error::Io { stage, source });
                }
                Err(_) => return Err(timeout_err(self)),
            }
        }
    }

    /// The next top-level element; a stream error, a stream close or a
    /// second header become errors.
    pub(crate) async fn next_element(
        &mut self,
        stage: Stage,
        expected: &str,
    ) -> Result<(Element, usize)> {
        match self.next_frame(stage, expected).await? {
            Frame::Element(el, n) => {
                if el.is("error", NS_STREAMS) {
                    return Err(stream_error(stage, &el));
                }
                Ok((el, n))
            }
            Frame::Close => Err(Error::Closed {
                stage,
                expected: format!("{expected} (the server sent </stream:stream>)"),
                received: String::new(),
            }),
            Frame::Header(_) => Err(Error::Protocol {
                stage,
                expected: expected.to_string(),
                got: "a second stream header".into(),
            }),
        }
    }

    /// Send our stream header and wait for the server's.
    pub(crate) async fn open_stream(
        &mut self,
        to: &str,
        from: Option<&str>,
    ) -> Result<StreamHeader> {
        self.open_stream_ns("jabber:client", to, from).await
    }

    /// [`Conn::open_stream`] in the namespace `ns` (`jabber:server` for s2s).
    pub(crate) async fn open_stream_ns(
        &mut self,
        ns: &str,
        to: &str,
        from: Option<&str>,
    ) -> Result<StreamHeader> {
        self.framer.restart();
        let from = from
            .map(|f| format!(" from='{}'", xml::escape(f)))
            .unwrap_or_default();
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='{}' xmlns:stream='{NS_STREAMS}' \
             to='{}'{from} version='1.0' xml:lang='en'>",
            xml::escape(ns),
            xml::escape(to)
        );
        self.send(Stage::StreamHeader, &header).await?;
        match self
            .next_frame(Stage::StreamHeader, "the server's <stream:stream> header")
            .await?
        {
            Frame::Header(h) => {
                if h.attr("version") != Some("1.0") {
                    return Err(Error::Protocol {
                        stage: Stage::StreamHeader,
                        expected: "a stream header with version='1.0'".into(),
                        got: format!("version={:?}", h.attr("version")),
                    });
                }
                Ok(h)
            }
            other => Err(Error::Protocol {
                stage: Stage::StreamHeader,
                expected: "the server's <stream:stream> header".into(),
                got: format!("{other:?}"),
            }),
        }
    }

    /// Wait for `<stream:features>` (bounded by `max_features`).
    pub(crate) async fn read_features(&mut self, stage: Stage) -> Result<Features> {
        let saved = self.framer.limit();
        self.framer.set_limit(self.limits.max_features);
        let res = self.next_element(stage, "<stream:features>").await;
        self.framer.set_limit(saved);
        let (el, n) = res.map_err(|e| match e {
            Error::TooLarge {
                stage, limit, seen, ..
            } => Error::TooLarge {
                stage,
                what: "<stream:features>".into(),
                limit,
                seen,
            },
            e => e,
        })?;
        if !el.is("features", NS_STREAMS) {
            return Err(Error::Protocol {
                stage,
                expected: "<stream:features>".into(),
                got: describe(&el),
            });
        }
        Ok(Features::from_element(&el, n))
    }

    /// Close politely: send `</stream:stream>`, wait (briefly, bounded) for
    /// the server's close, then shut the socket down. Errors are ignored.
    pub(crate) async fn close(&mut self, wait: Duration) {
        let wait = wait.min(self.remaining());
        let _ = tokio::time::timeout(wait, async {
            if self.transport.write_all(b"</stream:stream>").await.is_err() {
                return;
            }
            let _ = self.transport.flush().await;
            loop {
                match self.framer.next_frame() {
                    Ok(Some(Frame::Close)) | Err(_) => break,
                    Ok(Some(_)) => continue,
                    Ok(None) => {}
                }
                match self.transport.read(&mut self.rbuf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.framer.push(&self.rbuf[..n]),
                }
            }
            let _ = self.transport.shutdown().await;
        })
        .await;
    }
}

/// `<name xmlns='ns' ...>` for messages.
pub(crate) fn describe(el: &Element) -> String {
    let s = el.to_string();
    if s.len() > 300 {
        let cut: String = s.chars().take(300).collect();
        format!("{cut}…")
    } else {
        s
    }
}

const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

pub(crate) fn stream_error(stage: Stage, el: &Element) -> Error {
    let condition = el
        .children
        .iter()
        .find(|c| c.ns == NS_STREAM_ERRORS && c.name != "text")
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "undefined-condition".into());
    let text = el
        .child("text", NS_STREAM_ERRORS)
        .map(|t| t.text.clone())
        .filter(|t| !t.is_empty());
    Error::StreamError {
        stage,
        condition,
        text,
    }
}
