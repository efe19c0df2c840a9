//! coturn's `turnserver` (Debian package `coturn`) on loopback, with the
//! TURN REST API shared secret (`--use-auth-secret --static-auth-secret`),
//! plus a STUN Binding client ([`stun_binding`]) for tests.
//!
//! The harness runs, in the foreground:
//!
//! ```text
//! turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port PORT
//!   --no-tls --no-dtls --no-cli --no-rfc5780 --no-multicast-peers --allow-loopback-peers
//!   --use-auth-secret --static-auth-secret SECRET --realm REALM
//!   --log-file DIR/turnserver.log --simple-log --no-stdout-log
//!   --pidfile DIR/turnserver.pid --userdb DIR/turndb
//! ```
//!
//! so it listens for STUN/TURN on UDP *and* TCP `127.0.0.1:PORT`, reads no
//! `/etc/turnserver.conf` (`-n`), and relays from `127.0.0.1` ports in
//! coturn's default range 49152–65535 — to loopback peers too, which coturn
//! refuses without `--allow-loopback-peers`. It is ready once it answers a
//! real STUN Binding request over UDP and accepts a TCP connection.

use super::{
    Context, Daemon, PortLease, Probe, Result, StartError, find_binary, lease_port, loopback,
    nonce, retry_on_clash, wait_ready,
};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The STUN magic cookie (RFC 5389).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// A running turnserver; killed and its files removed on drop.
pub struct Coturn {
    daemon: Daemon,
    lease: PortLease,
    secret: String,
    realm: String,
    log: PathBuf,
    dir: TempDir,
}

impl Coturn {
    /// turnserver with the REST API `secret` and `realm`.
    pub fn start(secret: &str, realm: &str) -> Result<Coturn> {
        let turnserver = find_binary("turnserver", "coturn")?;
        let dir = tempfile::Builder::new()
            .prefix("pfe-coturn-")
            .tempdir()
            .context(|| "cannot create a temp dir for coturn".into())?;
        let d = dir.path().to_path_buf();
        let log = d.join("turnserver.log");
        let (daemon, lease) = retry_on_clash("turnserver", || {
            let lease = lease_port(true)?;
            let mut cmd = Command::new(&turnserver);
            cmd.arg("-n")
                .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
                .arg("--listening-port")
                .arg(lease.port.to_string())
                .args(["--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780"])
                .args(["--no-multicast-peers", "--allow-loopback-peers"])
                .args(["--use-auth-secret", "--static-auth-secret", secret])
                .args(["--realm", realm])
                .arg("--log-file")
                .arg(&log)
                .args(["--simple-log", "--no-stdout-log"])
                .arg("--pidfile")
                .arg(d.join("turnserver.pid"))
                .arg("--userdb")
                .arg(d.join("turndb"));
            let mut daemon = Daemon::spawn(
                "turnserver",
                cmd,
                &d.join("turnserver.out"),
                vec![log.clone()],
                libc::SIGKILL,
            )?;
            let addr = loopback(lease.port);
            // coturn retries a taken port forever: its log says "Cannot bind"
            // (and errno=98, which wait_ready treats as a clash).
            wait_ready(&mut daemon, &["cannot bind"], || {
                match probe_binding(addr, Duration::from_millis(300)) {
                    Ok(_) => {}
                    Err(e) => return Probe::NotYet(format!("STUN binding over UDP: {e}")),
                }
                match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                    Ok(_) => Probe::Ready,
                    Err(e) => Probe::NotYet(format!("TCP connect: {e}")),
                }
            })?;
            Ok::<_, StartError>((daemon, lease))
        })?;
        Ok(Coturn {
            daemon,
            lease,
            secret: secret.to_string(),
            realm: realm.to_string(),
            log,
            dir,
        })
    }

    /// `127.0.0.1:PORT`, for UDP and TCP alike.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.lease.port)
    }

    pub fn port(&self) -> u16 {
        self.lease.port
    }

    /// `turn:127.0.0.1:PORT` (add `?transport=tcp` for TCP).
    pub fn turn_uri(&self) -> String {
        format!("turn:127.0.0.1:{}", self.lease.port)
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// turnserver's log (`--log-file`, no rollover).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The tail of turnserver's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

/// One Binding request on a fresh socket connected to `server` (so a closed
/// port fails at once with ConnectionRefused), one wait of `timeout`.
fn probe_binding(server: SocketAddr, timeout: Duration) -> io::Result<SocketAddr> {
    let sock = UdpSocket::bind(unspecified_for(server))?;
    sock.connect(server)?;
    sock.set_read_timeout(Some(timeout))?;
    let txid = new_transaction_id();
    sock.send(&binding_request(&txid))?;
    let mut buf = [0u8; 1500];
    loop {
        let n = sock.recv(&mut buf)?;
        match parse_binding_response(&buf[..n], &txid) {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => continue, // not ours
            r => return r,
        }
    }
}

fn unspecified_for(server: SocketAddr) -> SocketAddr {
    match server {
        SocketAddr::V4(a) if a.ip().is_loopback() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        SocketAddr::V4(_) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
        SocketAddr::V6(a) if a.ip().is_loopback() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 0),
        SocketAddr::V6(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
    }
}

/// Sends a STUN Binding request (RFC 5389) over UDP from a fresh socket and
/// returns the XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) of the success
/// response: the client's address as the server saw it. Retransmits 4 times
/// (500 ms apart); an error response is an error naming its code. The
/// socket is connected, so a closed port fails at once (ConnectionRefused).
pub fn stun_binding(server: SocketAddr) -> io::Result<SocketAddr> {
    let sock = UdpSocket::bind(unspecified_for(server))?;
    sock.connect(server)?;
    stun_binding_on(&sock, server)
}

/// [`stun_binding`] from a socket of the caller's (so the caller knows the
/// local address to compare the mapped address with). The socket may be
/// unconnected or connected to `server`; replies from other peers or with
/// another transaction id are ignored.
pub fn stun_binding_on(sock: &UdpSocket, server: SocketAddr) -> io::Result<SocketAddr> {
    let txid = new_transaction_id();
    let req = binding_request(&txid);
    let old = sock.read_timeout()?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let result = (|| {
        let mut buf = [0u8; 1500];
        for _ in 0..4 {
            sock.send_to(&req, server)?;
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) if from == server => {
                        match parse_binding_response(&buf[..n], &txid) {
                            Err(e) if e.kind() == io::ErrorKind::InvalidInput => continue,
                            r => return r,
                        }
                    }
                    Ok(_) => continue,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no STUN Binding response from {server} after 4 tries"),
        ))
    })();
    sock.set_read_timeout(old)?;
    result
}

/// A fresh 96-bit transaction id.
pub fn new_transaction_id() -> [u8; 12] {
    let a = nonce().to_be_bytes();
    let b = nonce().to_be_bytes();
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&a);
    id[8..].copy_from_slice(&b[..4]);
    id
}

/// A Binding request: type 0x0001, length 0, the magic cookie, `txid`.
pub fn binding_request(txid: &[u8; 12]) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..2].copy_from_slice(&0x0001u16.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[8..20].copy_from_slice(txid);
    m
}

/// Parses a Binding response to `txid`. A message that is not a STUN
/// response to `txid` is an `InvalidInput` error (skip it); an error
/// response (0x0111) or a success without a mapped address is `Other`.
pub fn parse_binding_response(msg: &[u8], txid: &[u8; 12]) -> io::Result<SocketAddr> {
    let not_ours = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, m.to_string());
    if msg.len() < 20 || msg[0] & 0xC0 != 0 {
        return Err(not_ours("not a STUN message"));
    }
    let kind = u16::from_be_bytes([msg[0], msg[1]]);
    let len = u16::from_be_bytes([msg[2], msg[3]]) as usize;
    if u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]) != MAGIC_COOKIE {
        return Err(not_ours("no STUN magic cookie"));
    }
    if &msg[8..20] != txid {
        return Err(not_ours("another transaction id"));
    }
    if msg.len() < 20 + len || !len.is_multiple_of(4) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "STUN length {len} does not fit the {} bytes received",
                msg.len()
            ),
        ));
    }
    let mut attrs = vec![];
    let mut i = 20;
    while i + 4 <= 20 + len {
        let t = u16::from_be_bytes([msg[i], msg[i + 1]]);
        let l = u16::from_be_bytes([msg[i + 2], msg[i + 3]]) as usize;
        let v = msg
            .get(i + 4..i + 4 + l)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "truncated attribute"))?;
        attrs.push((t, v));
        i += 4 + l.div_ceil(4) * 4;
    }
    match kind {
        0x0101 => {}
        0x0111 => {
            let reason = attrs
                .iter()
                .find(|(t, _)| *t == 0x0009)
                .filter(|(_, v)| v.len() >= 4)
                .map(|(_, v)| {
                    format!(
                        "{} {}",
                        u16::from(v[2] & 7) * 100 + u16::from(v[3]),
                        String::from_utf8_lossy(&v[4..])
                    )
                })
                .unwrap_or_else(|| "without ERROR-CODE".into());
            return Err(io::Error::other(format!(
                "STUN Binding error response: {reason}"
            )));
        }
        k => return Err(not_ours(&format!("STUN message type {k:#06x}"))),
    }
    if let Some((_, v)) = attrs.iter().find(|(t, _)| *t == 0x0020) {
        return decode_address(v, Some(txid));
    }
    if let Some((_, v)) = attrs.iter().find(|(t, _)| *t == 0x0001) {
        return decode_address(v, None);
    }
    Err(io::Error::other(
        "STUN Binding success response without (XOR-)MAPPED-ADDRESS",
    ))
}

/// MAPPED-ADDRESS, or XOR-MAPPED-ADDRESS when `xor_txid` is given.
fn decode_address(v: &[u8], xor_txid: Option<&[u8; 12]>) -> io::Result<SocketAddr> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad STUN address attribute");
    if v.len() < 4 {
        return Err(bad());
    }
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut port = u16::from_be_bytes([v[2], v[3]]);
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&cookie);
    if let Some(t) = xor_txid {
        port ^= (MAGIC_COOKIE >> 16) as u16;
        key[4..].copy_from_slice(t);
    }
    let xor = |i: usize, b: u8| if xor_txid.is_some() { b ^ key[i] } else { b };
    let ip = match (v[1], v.len()) {
        (0x01, 8) => {
            let mut o = [0u8; 4];
            for (i, b) in v[4..8].iter().enumerate() {
                o[i] = xor(i, *b);
            }
            IpAddr::from(o)
        }
        (0x02, 20) => {
            let mut o = [0u8; 16];
            for (i, b) in v[4..20].iter().enumerate() {
                o[i] = xor(i, *b);
            }
            IpAddr::from(o)
        }
        _ => return Err(bad()),
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 2.2: the IPv4 sample response (192.0.2.1:32853).
    #[test]
    fn decodes_the_rfc5769_ipv4_response() {
        let msg: [u8; 80] = [
            0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
            0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
            0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
            0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
            0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
        ];
        let txid: [u8; 12] = msg[8..20].try_into().unwrap();
        assert_eq!(
            parse_binding_response(&msg, &txid).unwrap(),
            "192.0.2.1:32853".parse().unwrap()
        );
        let other = [0u8; 12];
        assert_eq!(
            parse_binding_response(&msg, &other).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    /// RFC 5769 2.3: the IPv6 sample response
    /// (2001:db8:1234:5678:11:2233:4455:6677, port 32853).
    #[test]
    fn decodes_the_rfc5769_ipv6_response() {
        let msg: [u8; 92] = [
            0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
            0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02,
            0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
            0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6,
            0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
            0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
        ];
        let txid: [u8; 12] = msg[8..20].try_into().unwrap();
        assert_eq!(
            parse_binding_response(&msg, &txid).unwrap(),
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                .parse()
                .unwrap()
        );
    }

    #[test]
    fn request_has_the_header_layout() {
        let id = new_transaction_id();
        let r = binding_request(&id);
        assert_eq!(&r[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
        assert_eq!(&r[8..], &id);
        assert_ne!(new_transaction_id(), id);
    }
}
