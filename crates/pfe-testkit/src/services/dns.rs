//! Knot DNS's `knotd` (Debian packages `knot`, and `knot-dnsutils` for
//! `kdig`) as an authoritative server on loopback, plus a small DNS client
//! ([`query`]) for tests.
//!
//! `Knot::start(&[("example.org", zone_text)])` writes each zone's text as a
//! zone file and a `knot.conf` whose every path (rundir with the pid file and
//! control socket, the timer/journal databases, the zone files, the log) is
//! in the harness's temp dir, then runs `knotd -c <dir>/knot.conf` in the
//! foreground, listening on UDP and TCP `127.0.0.1:PORT`. It is ready once
//! every zone's SOA is answered authoritatively (a real UDP query) and TCP
//! accepts. A zone Knot cannot load is an error at once, with Knot's reason.
//!
//! ## Zone text
//!
//! Standard RFC 1035 master-file syntax as Knot reads it. The zone's origin
//! is the zone name unless the text sets `$ORIGIN`; relative names are
//! relative to it. The apex **must** have an SOA (Knot refuses the zone
//! otherwise); [`minimal_zone`] gives an SOA/NS/A header to append records
//! to. Every record type Knot knows is served — among them A, AAAA, CNAME,
//! SRV, TXT, MX, NS, PTR, CAA, TLSA, SSHFP, DNAME, HTTPS/SVCB — and answers
//! are authoritative (AA), with NXDOMAIN for a missing name in a served zone
//! and REFUSED for a name in no served zone. No DNSSEC signing, no zone
//! transfers, no recursion. Zone files are never rewritten by Knot
//! (`zonefile-sync: -1`).

use super::{
    Context, Daemon, Error, PortLease, Probe, Result, StartError, find_binary, lease_port,
    loopback, nonce, retry_on_clash, run_tool, wait_ready, write_file,
};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// Record type numbers.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
}

/// Response codes.
pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const REFUSED: u8 = 5;
}

/// A running knotd; killed and its files removed on drop.
pub struct Knot {
    daemon: Daemon,
    lease: PortLease,
    zones: Vec<(String, PathBuf)>,
    log: PathBuf,
    dir: TempDir,
}

impl Knot {
    /// knotd serving each `(zone name, zone-file text)`.
    pub fn start(zones: &[(&str, &str)]) -> Result<Knot> {
        let knotd = find_binary("knotd", "knot")?;
        if zones.is_empty() {
            return Err(Error::new("Knot::start needs at least one zone"));
        }
        let dir = tempfile::Builder::new()
            .prefix("pfe-knot-")
            .tempdir()
            .context(|| "cannot create a temp dir for knot".into())?;
        let d = dir.path().to_path_buf();
        for sub in ["run", "db", "zones"] {
            let p = d.join(sub);
            std::fs::create_dir(&p).context(|| format!("cannot create {}", p.display()))?;
        }
        let mut zone_conf = String::new();
        let mut served = vec![];
        for (i, (name, text)) in zones.iter().enumerate() {
            let fqdn = normalize(name);
            if fqdn == "."
                || !fqdn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            {
                return Err(Error::new(format!(
                    "Knot::start: zone name {name:?} must be a plain domain name"
                )));
            }
            let file = d.join(format!("zones/zone-{i}.zone"));
            write_file(&file, text)?;
            zone_conf.push_str(&format!(
                "  - domain: \"{fqdn}\"\n    file: \"{}\"\n",
                file.display()
            ));
            served.push((fqdn, file));
        }
        let log = d.join("knot.log");
        let conf = d.join("knot.conf");
        let (daemon, lease) = retry_on_clash("knotd", || {
            let lease = lease_port(true)?;
            // tcp-reuseport stays off (the default): Knot binds UDP with
            // SO_REUSEPORT, so only the TCP bind fails on a taken port.
            write_file(
                &conf,
                format!(
                    "# Written by pfe-testkit for one test run.\n\
                     server:\n\
                     \x20   rundir: \"{d}/run\"\n\
                     \x20   listen: 127.0.0.1@{port}\n\
                     \x20   udp-workers: 1\n\
                     \x20   tcp-workers: 1\n\
                     \x20   background-workers: 1\n\
                     \x20   tcp-reuseport: off\n\
                     log:\n\
                     \x20 - target: \"{log}\"\n\
                     \x20   any: info\n\
                     database:\n\
                     \x20   storage: \"{d}/db\"\n\
                     template:\n\
                     \x20 - id: default\n\
                     \x20   storage: \"{d}/zones\"\n\
                     \x20   zonefile-sync: -1\n\
                     \x20   zonefile-load: whole\n\
                     \x20   journal-content: none\n\
                     zone:\n{zone_conf}",
                    d = d.display(),
                    port = lease.port,
                    log = log.display(),
                ),
            )?;
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(&conf);
            let mut daemon = Daemon::spawn(
                "knotd",
                cmd,
                &d.join("knotd.out"),
                vec![log.clone()],
                libc::SIGKILL,
            )?;
            let addr = loopback(lease.port);
            let apexes: Vec<String> = served.iter().map(|(z, _)| z.clone()).collect();
            wait_ready(
                &mut daemon,
                &[
                    "failed to parse zone",
                    "zone event 'load' failed",
                    "critical:",
                ],
                || {
                    for apex in &apexes {
                        match query_once(addr, apex, rtype::SOA, Duration::from_millis(300)) {
                            Ok(r) if r.rcode == rcode::NOERROR && r.authoritative => {}
                            Ok(r) => {
                                return Probe::NotYet(format!(
                                    "SOA {apex}: rcode {} aa {}",
                                    r.rcode, r.authoritative
                                ));
                            }
                            Err(e) => return Probe::NotYet(format!("SOA {apex}: {e}")),
                        }
                    }
                    match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                        Ok(_) => Probe::Ready,
                        Err(e) => Probe::NotYet(format!("TCP connect: {e}")),
                    }
                },
            )?;
            Ok::<_, StartError>((daemon, lease))
        })?;
        Ok(Knot {
            daemon,
            lease,
            zones: served,
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

    /// A query over UDP to this server (see [`query`]).
    pub fn query(&self, name: &str, qtype: u16) -> io::Result<DnsReply> {
        query(self.addr(), name, qtype)
    }

    /// Runs `kdig @127.0.0.1 -p PORT +time=2 +retry=1 <args>` and returns
    /// its standard output (e.g. `kdig(&["+short", "SRV", "_xmpp-client._tcp.example.org"])`).
    pub fn kdig(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(find_binary("kdig", "knot-dnsutils")?);
        cmd.arg("@127.0.0.1")
            .args(["-p", &self.lease.port.to_string(), "+time=2", "+retry=1"])
            .args(args);
        let out = run_tool(cmd, None)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The zone file written for `zone` (as given to `start`).
    pub fn zone_file(&self, zone: &str) -> Option<&Path> {
        let z = normalize(zone);
        self.zones
            .iter()
            .find(|(n, _)| *n == z)
            .map(|(_, p)| p.as_path())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The tail of knotd's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

/// `$ORIGIN`, `$TTL 300`, an SOA (serial 1), `NS ns1` and `ns1 A 127.0.0.1`
/// for `origin`: append records after it.
pub fn minimal_zone(origin: &str) -> String {
    let o = normalize(origin);
    format!(
        "$ORIGIN {o}\n$TTL 300\n\
         @ IN SOA ns1.{o} hostmaster.{o} 1 3600 600 86400 300\n\
         @ IN NS ns1.{o}\n\
         ns1 IN A 127.0.0.1\n"
    )
}

/// Lower-case, with a trailing dot.
fn normalize(name: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    format!("{n}.")
}

// ---- a small DNS client ----------------------------------------------------

/// A parsed DNS response.
#[derive(Debug, Clone)]
pub struct DnsReply {
    pub rcode: u8,
    /// The AA flag.
    pub authoritative: bool,
    /// The TC flag.
    pub truncated: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
}

impl DnsReply {
    /// The answers' data of type `t`.
    pub fn answers_of(&self, t: u16) -> Vec<&RData> {
        self.answers
            .iter()
            .filter(|r| r.rtype == t)
            .map(|r| &r.data)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Lower-case with a trailing dot.
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR: the target (lower-case, trailing dot).
    Name(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Mx {
        preference: u16,
        exchange: String,
    },
    /// TXT: the character-strings.
    Txt(Vec<Vec<u8>>),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
    },
    Other(Vec<u8>),
}

/// Queries `server` over UDP for `name`/`qtype` (class IN, no recursion
/// desired): up to 3 tries, 1 s apart.
pub fn query(server: SocketAddr, name: &str, qtype: u16) -> io::Result<DnsReply> {
    let mut last = None;
    for _ in 0..3 {
        match query_once(server, name, qtype, Duration::from_secs(1)) {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                last = Some(e)
            }
            r => return r,
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no DNS answer")))
}

fn query_once(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> io::Result<DnsReply> {
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    sock.connect(server)?;
    sock.set_read_timeout(Some(timeout))?;
    let id = (nonce() & 0xffff) as u16;
    sock.send(&build_query(id, name, qtype)?)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.recv(&mut buf)?;
        if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            return parse_reply(&buf[..n]);
        }
    }
}

/// A query message: header (id, no flags, one question), QNAME, QTYPE, IN.
pub fn build_query(id: u16, name: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("DNS label {label:?} is longer than 63 bytes"),
            ));
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    Ok(m)
}

/// Parses a response message (answers and authority; additional skipped).
pub fn parse_reply(m: &[u8]) -> io::Result<DnsReply> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("DNS: {what}"));
    if m.len() < 12 {
        return Err(bad("message shorter than a header"));
    }
    if m[2] & 0x80 == 0 {
        return Err(bad("not a response"));
    }
    let count = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]) as usize;
    let (qd, an, ns) = (count(4), count(6), count(8));
    let mut pos = 12;
    for _ in 0..qd {
        let (_, p) = read_name(m, pos).ok_or_else(|| bad("bad question name"))?;
        pos = p + 4;
    }
    let read_records = |n: usize, pos: &mut usize| -> io::Result<Vec<Record>> {
        let mut out = vec![];
        for _ in 0..n {
            let (name, p) = read_name(m, *pos).ok_or_else(|| bad("bad record name"))?;
            let fixed = m.get(p..p + 10).ok_or_else(|| bad("truncated record"))?;
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
            let start = p + 10;
            let rd = m
                .get(start..start + len)
                .ok_or_else(|| bad("truncated rdata"))?;
            let data = parse_rdata(m, start, rd, rtype).ok_or_else(|| bad("bad rdata"))?;
            out.push(Record {
                name,
                rtype,
                ttl,
                data,
            });
            *pos = start + len;
        }
        Ok(out)
    };
    let answers = read_records(an, &mut pos)?;
    let authority = read_records(ns, &mut pos)?;
    Ok(DnsReply {
        rcode: m[3] & 0x0f,
        authoritative: m[2] & 0x04 != 0,
        truncated: m[2] & 0x02 != 0,
        answers,
        authority,
    })
}

fn parse_rdata(m: &[u8], start: usize, rd: &[u8], rtype: u16) -> Option<RData> {
    let u16_at = |i: usize| Some(u16::from_be_bytes([*rd.get(i)?, *rd.get(i + 1)?]));
    Some(match rtype {
        rtype::A if rd.len() == 4 => RData::A(Ipv4Addr::new(rd[0], rd[1], rd[2], rd[3])),
        rtype::AAAA if rd.len() == 16 => {
            RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(rd).ok()?))
        }
        rtype::CNAME | rtype::NS | rtype::PTR => RData::Name(read_name(m, start)?.0),
        rtype::SRV => RData::Srv {
            priority: u16_at(0)?,
            weight: u16_at(2)?,
            port: u16_at(4)?,
            target: read_name(m, start + 6)?.0,
        },
        rtype::MX => RData::Mx {
            preference: u16_at(0)?,
            exchange: read_name(m, start + 2)?.0,
        },
        rtype::TXT => {
            let mut strings = vec![];
            let mut i = 0;
            while i < rd.len() {
                let l = rd[i] as usize;
                strings.push(rd.get(i + 1..i + 1 + l)?.to_vec());
                i += 1 + l;
            }
            RData::Txt(strings)
        }
        rtype::SOA => {
            let (mname, p) = read_name(m, start)?;
            let (rname, p) = read_name(m, p)?;
            let s = m.get(p..p + 4)?;
            RData::Soa {
                mname,
                rname,
                serial: u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
            }
        }
        _ => RData::Other(rd.to_vec()),
    })
}

/// A (possibly compressed) name at `pos`: (lower-case name with trailing
/// dot, position after it).
fn read_name(m: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *m.get(pos)? as usize;
        if len == 0 {
            if name.is_empty() {
                name.push('.');
            }
            return Some((name, end.unwrap_or(pos + 1)));
        }
        if len & 0xC0 == 0xC0 {
            let ptr = ((len & 0x3F) << 8) | *m.get(pos + 1)? as usize;
            end.get_or_insert(pos + 2);
            pos = ptr;
            continue;
        }
        let label = m.get(pos + 1..pos + 1 + len)?;
        name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        name.push('.');
        pos += 1 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_with_compression() {
        let q = build_query(0x1234, "_xmpp-client._tcp.Example.org", rtype::SRV).unwrap();
        assert_eq!(&q[..4], &[0x12, 0x34, 0, 0]);
        // The query as an answer: flags QR|AA, one SRV answer whose owner and
        // target are compressed pointers into the question.
        let mut r = q.clone();
        r[2] = 0x84;
        r[7] = 1;
        r.extend_from_slice(&[0xC0, 12]); // owner -> question name
        r.extend_from_slice(&[0, 33, 0, 1, 0, 0, 1, 44]);
        r.extend_from_slice(&[0, 13, 0, 5, 0, 0, 0x14, 0x66, 4, b'x', b'm', b'p', b'p']);
        let org = 12 + 1 + 12 + 1 + 4 + 1 + 7; // offset of "org" label
        r.extend_from_slice(&[0xC0, org as u8]);
        let reply = parse_reply(&r).unwrap();
        assert!(reply.authoritative);
        assert_eq!(reply.rcode, rcode::NOERROR);
        assert_eq!(reply.answers[0].name, "_xmpp-client._tcp.example.org.");
        assert_eq!(reply.answers[0].ttl, 300);
        assert_eq!(
            reply.answers[0].data,
            RData::Srv {
                priority: 5,
                weight: 0,
                port: 5222,
                target: "xmpp.org.".into()
            }
        );
    }

    #[test]
    fn minimal_zone_has_an_soa() {
        let z = minimal_zone("Example.ORG.");
        assert!(z.starts_with("$ORIGIN example.org.\n"));
        assert!(z.contains("IN SOA ns1.example.org. hostmaster.example.org. 1 "));
    }
}
