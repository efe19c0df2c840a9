//! Proving the STUN/TURN servers the server hands out (XEP-0215) with the
//! credentials it hands out: a STUN Binding (RFC 8489) to each `stun`
//! entry, and for each `turn` entry an Allocate without credentials (must
//! be refused with 401 and a realm and nonce) followed by an authenticated
//! Allocate (RFC 5766: USERNAME, REALM, NONCE, MESSAGE-INTEGRITY =
//! HMAC-SHA1 keyed with MD5(username:realm:password)) that must succeed;
//! the allocation is released again (Refresh with LIFETIME 0). UDP with
//! retransmission, or TCP; every exchange bounded in time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::Outcome;
use crate::xmpp::ExternalService;

pub const MAGIC_COOKIE: u32 = 0x2112_A442;

const BINDING: u16 = 0x0001;
const ALLOCATE: u16 = 0x0003;
const REFRESH: u16 = 0x0004;
const SUCCESS: u16 = 0x0100;

const A_MAPPED_ADDRESS: u16 = 0x0001;
const A_USERNAME: u16 = 0x0006;
const A_MESSAGE_INTEGRITY: u16 = 0x0008;
const A_ERROR_CODE: u16 = 0x0009;
const A_LIFETIME: u16 = 0x000D;
const A_REALM: u16 = 0x0014;
const A_NONCE: u16 = 0x0015;
const A_XOR_RELAYED_ADDRESS: u16 = 0x0016;
const A_REQUESTED_TRANSPORT: u16 = 0x0019;
const A_XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// The largest STUN message read (UDP datagrams are smaller anyway).
const MAX_MESSAGE: usize = 4096;

/// A STUN message being built.
#[derive(Clone, Debug)]
pub struct Message {
    pub kind: u16,
    pub txid: [u8; 12],
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Message {
    pub fn new(kind: u16) -> Message {
        let mut txid = [0u8; 12];
        getrandom::fill(&mut txid).expect("the OS random source works");
        Message {
            kind,
            txid,
            attrs: Vec::new(),
        }
    }

    pub fn with(mut self, kind: u16, value: impl Into<Vec<u8>>) -> Message {
        self.attrs.push((kind, value.into()));
        self
    }

    fn encode_attrs(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, v) in &self.attrs {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&(v.len() as u16).to_be_bytes());
            out.extend_from_slice(v);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        }
        out
    }

    fn header(&self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + len);
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.txid);
        out
    }

    /// The wire form; with `key`, a MESSAGE-INTEGRITY attribute last.
    pub fn encode(&self, key: Option<&[u8]>) -> Vec<u8> {
        let attrs = self.encode_attrs();
        match key {
            None => {
                let mut out = self.header(attrs.len());
                out.extend_from_slice(&attrs);
                out
            }
            Some(key) => {
                // The length covers the integrity attribute (4 + 20 bytes),
                // the HMAC everything before it.
                let mut out = self.header(attrs.len() + 24);
                out.extend_from_slice(&attrs);
                let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key)
                    .expect("HMAC takes any key length");
                mac.update(&out);
                let tag = mac.finalize().into_bytes();
                out.extend_from_slice(&A_MESSAGE_INTEGRITY.to_be_bytes());
                out.extend_from_slice(&20u16.to_be_bytes());
                out.extend_from_slice(&tag);
                out
            }
        }
    }
}

/// A parsed response.
#[derive(Clone, Debug)]
pub struct Response {
    pub kind: u16,
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Response {
    pub fn attr(&self, t: u16) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.as_slice())
    }

    pub fn is_success(&self) -> bool {
        self.kind & 0x0110 == SUCCESS
    }

    /// `(code, reason)` of an error response.
    pub fn error(&self) -> Option<(u16, String)> {
        let v = self.attr(A_ERROR_CODE)?;
        if v.len() < 4 {
            return None;
        }
        let code = u16::from(v[2] & 0x7) * 100 + u16::from(v[3]);
        Some((code, String::from_utf8_lossy(&v[4..]).into_owned()))
    }

    pub fn text(&self, t: u16) -> Option<String> {
        self.attr(t)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// An (XOR-)address attribute.
    pub fn address(&self, t: u16) -> Option<SocketAddr> {
        let v = self.attr(t)?;
        let xor = t != A_MAPPED_ADDRESS;
        if v.len() < 8 {
            return None;
        }
        let cookie = MAGIC_COOKIE.to_be_bytes();
        let mut port = u16::from_be_bytes([v[2], v[3]]);
        if xor {
            port ^= (MAGIC_COOKIE >> 16) as u16;
        }
        match v[1] {
            1 => {
                let mut ip = [v[4], v[5], v[6], v[7]];
                if xor {
                    for (b, c) in ip.iter_mut().zip(cookie) {
                        *b ^= c;
                    }
                }
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
            }
            2 if v.len() >= 20 => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&v[4..20]);
                if xor {
                    // The cookie, then the transaction id; not kept here,
                    // so IPv6 XOR addresses are shown as sent.
                    for (b, c) in ip.iter_mut().zip(cookie) {
                        *b ^= c;
                    }
                }
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
            }
            _ => None,
        }
    }
}

/// Parses a STUN message answering `txid` (`Ok(None)`: someone else's).
pub fn parse(buf: &[u8], txid: &[u8; 12]) -> Result<Option<Response>, String> {
    if buf.len() < 20 {
        return Err(format!("a {}-byte reply is no STUN message", buf.len()));
    }
    if u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) != MAGIC_COOKIE {
        return Err("the reply has no STUN magic cookie".into());
    }
    if &buf[8..20] != txid {
        return Ok(None);
    }
    let kind = u16::from_be_bytes([buf[0], buf[1]]);
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let body = buf
        .get(20..20 + len)
        .ok_or("the reply is shorter than its length field")?;
    let mut attrs = Vec::new();
    let mut i = 0;
    while i + 4 <= body.len() {
        let t = u16::from_be_bytes([body[i], body[i + 1]]);
        let l = usize::from(u16::from_be_bytes([body[i + 2], body[i + 3]]));
        let v = body
            .get(i + 4..i + 4 + l)
            .ok_or("an attribute runs past the message")?;
        attrs.push((t, v.to_vec()));
        i += 4 + l.div_ceil(4) * 4;
    }
    Ok(Some(Response { kind, attrs }))
}

/// One transport to a STUN/TURN server.
pub enum Channel {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Channel {
    /// Connects to `server` over `transport` (`udp` or `tcp`).
    pub async fn open(server: SocketAddr, tcp: bool, timeout: Duration) -> Result<Channel, String> {
        if tcp {
            match tokio::time::timeout(timeout, TcpStream::connect(server)).await {
                Ok(Ok(s)) => Ok(Channel::Tcp(s)),
                Ok(Err(e)) => Err(format!("cannot connect to {server}/tcp: {e}")),
                Err(_) => Err(format!("no TCP connection to {server} within {timeout:?}")),
            }
        } else {
            let local: SocketAddr = if server.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let s = UdpSocket::bind(local)
                .await
                .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
            s.connect(server)
                .await
                .map_err(|e| format!("cannot address {server}/udp: {e}"))?;
            Ok(Channel::Udp(s))
        }
    }

    /// Sends `msg` and waits for its answer until `deadline`; over UDP it
    /// is sent again after 500 ms, 1 s, 2 s, ... (RFC 8489's RTO).
    pub async fn exchange(
        &mut self,
        msg: &Message,
        key: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Response, String> {
        let wire = msg.encode(key);
        let left = || deadline.saturating_duration_since(Instant::now());
        match self {
            Channel::Udp(s) => {
                let mut rto = Duration::from_millis(500);
                let mut buf = vec![0u8; MAX_MESSAGE];
                loop {
                    if left().is_zero() {
                        return Err("no answer (UDP, retransmitted until the deadline)".into());
                    }
                    s.send(&wire)
                        .await
                        .map_err(|e| format!("cannot send: {e}"))?;
                    let wait_until = Instant::now() + rto.min(left());
                    loop {
                        let t = wait_until.saturating_duration_since(Instant::now());
                        match tokio::time::timeout(t, s.recv(&mut buf)).await {
                            Err(_) => break,
                            Ok(Err(e)) => return Err(format!("no answer: {e}")),
                            Ok(Ok(n)) => {
                                if let Some(r) = parse(&buf[..n], &msg.txid)? {
                                    return Ok(r);
                                }
                            }
                        }
                    }
                    rto *= 2;
                }
            }
            Channel::Tcp(s) => {
                let work = async {
                    s.write_all(&wire).await?;
                    loop {
                        let mut head = [0u8; 20];
                        s.read_exact(&mut head).await?;
                        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
                        if len > MAX_MESSAGE {
                            return Err(std::io::Error::other(format!(
                                "a {len}-byte STUN message is too large"
                            )));
                        }
                        let mut body = vec![0u8; len];
                        s.read_exact(&mut body).await?;
                        let mut all = head.to_vec();
                        all.extend(body);
                        match parse(&all, &msg.txid) {
                            Ok(Some(r)) => return Ok(r),
                            Ok(None) => continue,
                            Err(e) => return Err(std::io::Error::other(e)),
                        }
                    }
                };
                match tokio::time::timeout(left(), work).await {
                    Ok(Ok(r)) => Ok(r),
                    Ok(Err(e)) => Err(format!("no answer: {e}")),
                    Err(_) => Err("no answer within the deadline (TCP)".into()),
                }
            }
        }
    }
}

/// The long-term credential key (RFC 5389 §15.4).
pub fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    Md5::digest(format!("{username}:{realm}:{password}").as_bytes()).to_vec()
}

fn name(s: &ExternalService) -> String {
    format!(
        "{} {}:{}/{}",
        s.kind,
        s.host,
        s.port.unwrap_or(3478),
        s.transport.as_deref().unwrap_or("udp")
    )
}

async fn resolve(s: &ExternalService, deadline: Instant) -> Result<SocketAddr, String> {
    let host = s.host.trim_start_matches('[').trim_end_matches(']');
    let port = s.port.unwrap_or(3478);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let t = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(t, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| format!("{host} has no address")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!("{host} did not resolve in time")),
    }
}

/// A STUN Binding to a `stun` entry: the mapped address.
pub async fn binding(s: &ExternalService, deadline: Instant) -> Result<String, String> {
    let addr = resolve(s, deadline).await?;
    let tcp = s.transport.as_deref() == Some("tcp");
    let t = deadline.saturating_duration_since(Instant::now());
    let mut ch = Channel::open(addr, tcp, t).await?;
    let r = ch.exchange(&Message::new(BINDING), None, deadline).await?;
    if !r.is_success() {
        return Err(format!(
            "the Binding request was answered with an error: {:?}",
            r.error()
        ));
    }
    let mapped = r
        .address(A_XOR_MAPPED_ADDRESS)
        .or_else(|| r.address(A_MAPPED_ADDRESS))
        .ok_or("the Binding response carries no (XOR-)MAPPED-ADDRESS")?;
    Ok(format!(
        "{}: Binding answered, mapped address {mapped}",
        name(s)
    ))
}

fn allocate() -> Message {
    // REQUESTED-TRANSPORT: UDP (17), then three bytes RFFU.
    Message::new(ALLOCATE).with(A_REQUESTED_TRANSPORT, vec![17, 0, 0, 0])
}

fn show_error(r: &Response) -> String {
    match r.error() {
        Some((code, reason)) if reason.is_empty() => format!("{code}"),
        Some((code, reason)) => format!("{code} {reason}"),
        None => format!("message type {:#06x}", r.kind),
    }
}

/// The unauthenticated and the authenticated Allocate of a `turn` entry.
pub async fn allocate_both(s: &ExternalService, deadline: Instant) -> Outcome {
    let at = name(s);
    let fail = |m: String| Outcome::Fail {
        missing: format!("{at}: {m}"),
    };
    let (Some(user), Some(pass)) = (s.username.as_deref(), s.password.as_deref()) else {
        return fail(
            "the server hands out no username/password for it (is the TURN secret configured?)"
                .into(),
        );
    };
    let addr = match resolve(s, deadline).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let tcp = s.transport.as_deref() == Some("tcp");
    let t = deadline.saturating_duration_since(Instant::now());
    let mut ch = match Channel::open(addr, tcp, t).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // 1. Without credentials: must be refused with 401, realm and nonce.
    let r = match ch.exchange(&allocate(), None, deadline).await {
        Ok(r) => r,
        Err(e) => return fail(format!("Allocate without credentials: {e}")),
    };
    if r.is_success() {
        return fail(
            "an Allocate WITHOUT credentials succeeded: the TURN server is an open relay".into(),
        );
    }
    let (Some((401, _)), Some(realm), Some(mut nonce)) = (
        r.error(),
        r.text(A_REALM),
        r.attr(A_NONCE).map(<[u8]>::to_vec),
    ) else {
        return fail(format!(
            "an Allocate without credentials was answered with {} (expected 401 with REALM and NONCE)",
            show_error(&r)
        ));
    };
    let key = long_term_key(user, &realm, pass);
    // 2. With the handed-out credentials (once more on a stale nonce).
    let mut answer = None;
    for _ in 0..2 {
        let m = allocate()
            .with(A_USERNAME, user.as_bytes().to_vec())
            .with(A_REALM, realm.as_bytes().to_vec())
            .with(A_NONCE, nonce.clone());
        let r = match ch.exchange(&m, Some(&key), deadline).await {
            Ok(r) => r,
            Err(e) => return fail(format!("authenticated Allocate: {e}")),
        };
        if let (Some((438, _)), Some(n)) = (r.error(), r.attr(A_NONCE)) {
            nonce = n.to_vec();
            continue;
        }
        answer = Some(r);
        break;
    }
    let Some(r) = answer else {
        return fail("the nonce stayed stale".into());
    };
    if !r.is_success() {
        let e = show_error(&r);
        return match r.error() {
            Some((401 | 441, _)) => fail(format!(
                "the TURN server rejects the credentials Prosody hands out: the secrets differ \
                 (an Allocate as {user:?} in realm {realm:?} with MESSAGE-INTEGRITY was answered {e}; \
                 the without-credentials Allocate got 401 as it should)"
            )),
            _ => fail(format!(
                "the authenticated Allocate as {user:?} was answered {e}"
            )),
        };
    }
    let relayed = r
        .address(A_XOR_RELAYED_ADDRESS)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "?".into());
    // 3. Release the allocation.
    let release = Message::new(REFRESH)
        .with(A_LIFETIME, 0u32.to_be_bytes().to_vec())
        .with(A_USERNAME, user.as_bytes().to_vec())
        .with(A_REALM, realm.as_bytes().to_vec())
        .with(A_NONCE, nonce);
    let released = match ch.exchange(&release, Some(&key), deadline).await {
        Ok(r) if r.is_success() => "released".to_string(),
        Ok(r) => format!("release answered {}", show_error(&r)),
        Err(e) => format!("release: {e}"),
    };
    Outcome::Pass {
        evidence: format!(
            "{at}: Allocate without credentials refused (401, realm {realm:?}); Allocate with \
             the handed-out credentials ({user:?}) relayed {relayed}; {released}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_integrity_covers_the_header() {
        let m = allocate().with(A_USERNAME, b"1700000000:alice".to_vec());
        let wire = m.encode(Some(b"key"));
        // 20-byte header + REQUESTED-TRANSPORT (8) + USERNAME (4 + 16) + MI (24)
        assert_eq!(wire.len(), 20 + 8 + 20 + 24);
        assert_eq!(
            usize::from(u16::from_be_bytes([wire[2], wire[3]])),
            wire.len() - 20
        );
        let r = parse(&wire, &m.txid).unwrap().unwrap();
        assert_eq!(r.kind, ALLOCATE);
        assert_eq!(r.text(A_USERNAME).unwrap(), "1700000000:alice");
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(b"key").unwrap();
        mac.update(&wire[..wire.len() - 24]);
        assert_eq!(
            r.attr(A_MESSAGE_INTEGRITY).unwrap(),
            &mac.finalize().into_bytes()[..]
        );
        // Someone else's transaction is not ours.
        assert!(parse(&wire, &[0; 12]).unwrap().is_none());
        assert!(parse(&wire[..10], &m.txid).is_err());
    }
}
