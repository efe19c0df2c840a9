//! What the server *serves* over TLS, seen from outside: the certificate
//! on c2s STARTTLS and direct TLS for the domain, on s2s STARTTLS with
//! `to=` every served name (the domain and each component), and on HTTPS
//! with SNI for each HTTP host; whether it covers the name, how long it is
//! valid (error under 1 day, warning under 7 and 31), whether its chain
//! verifies against the trusted CA; and the TLS versions and cipher the
//! c2s listener negotiates against the config's `tls_profile` (TLS 1.0/1.1,
//! which rustls cannot speak, through `openssl s_client`).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::pki_types::CertificateDer;
use rustls::{CipherSuite, ProtocolVersion};

use super::Outcome;
use crate::xmpp::{
    Conn, Limits, NS_TLS, PeerTls, Stage, Timeouts, TlsVerify, client_config_versions, roots_of,
    verify_chain,
};

/// Where a certificate is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    C2sStartTls,
    C2sDirectTls,
    S2sStartTls,
    Https,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::C2sStartTls => "c2s STARTTLS",
            Kind::C2sDirectTls => "c2s direct TLS",
            Kind::S2sStartTls => "s2s STARTTLS",
            Kind::Https => "HTTPS",
        }
    }

    fn alpn(self) -> &'static [&'static [u8]] {
        match self {
            Kind::C2sDirectTls => &[b"xmpp-client"],
            Kind::Https => &[b"http/1.1"],
            _ => &[],
        }
    }
}

/// One TLS endpoint and the name asked for (stream `to=` and SNI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: Kind,
    pub addr: String,
    pub name: String,
}

/// The config's `tls_profile` and what Prosody 13 (core/certmanager.lua)
/// makes of it.
#[derive(Clone, Debug)]
pub struct Profile {
    /// `modern`, `intermediate` (Prosody's default), `old`, `legacy`, or
    /// whatever the config says.
    pub name: String,
    /// Where it was set (or "unset: Prosody's default").
    pub origin: String,
}

impl Profile {
    /// The lowest TLS version the profile allows (`None`: an unknown
    /// profile, which Prosody refuses).
    pub fn floor(&self) -> Option<ProtocolVersion> {
        match self.name.as_str() {
            "modern" => Some(ProtocolVersion::TLSv1_3),
            "intermediate" => Some(ProtocolVersion::TLSv1_2),
            // old: "tlsv1+"; legacy keeps the core defaults, also "tlsv1+".
            "old" | "legacy" => Some(ProtocolVersion::TLSv1_0),
            _ => None,
        }
    }

    /// Whether a TLS 1.2 suite is in the profile's cipher list (TLS 1.3
    /// suites are the three Prosody lists for every profile, which are all
    /// rustls has).
    fn allows_tls12_suite(&self, suite: CipherSuite) -> bool {
        use CipherSuite as C;
        let intermediate = [
            C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            C::TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
            C::TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
            C::TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ];
        match self.name.as_str() {
            "modern" => false,
            "intermediate" => intermediate.contains(&suite),
            // "old" is a superset with CBC suites, "legacy" is OpenSSL's HIGH:
            // everything rustls offers is in both.
            _ => true,
        }
    }
}

/// What one handshake saw.
#[derive(Clone, Debug)]
pub struct Served {
    pub version: Option<ProtocolVersion>,
    pub suite: Option<CipherSuite>,
    pub chain: Vec<CertificateDer<'static>>,
}

impl From<PeerTls> for Served {
    fn from(p: PeerTls) -> Served {
        Served {
            version: p.version,
            suite: p.suite,
            chain: p.chain,
        }
    }
}

fn version_name(v: Option<ProtocolVersion>) -> String {
    match v {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".into(),
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".into(),
        Some(ProtocolVersion::TLSv1_1) => "TLS 1.1".into(),
        Some(ProtocolVersion::TLSv1_0) => "TLS 1.0".into(),
        Some(other) => format!("{other:?}"),
        None => "TLS ?".into(),
    }
}

fn suite_name(s: Option<CipherSuite>) -> String {
    s.map(|s| format!("{s:?}")).unwrap_or_else(|| "?".into())
}

/// A TLS handshake with `ep` offering `versions`, any certificate
/// accepted (it is judged afterwards), within `timeout`.
pub async fn handshake(
    ep: &Endpoint,
    versions: &[&'static rustls::SupportedProtocolVersion],
    timeout: Duration,
) -> Result<Served, String> {
    let config = client_config_versions(&TlsVerify::InsecureAcceptAny, ep.kind.alpn(), versions)
        .map_err(|e| e.to_string())?;
    let work = async {
        let mut conn = Conn::connect(&ep.addr, Timeouts::all(timeout), Limits::default()).await?;
        if matches!(ep.kind, Kind::C2sStartTls | Kind::S2sStartTls) {
            let ns = if ep.kind == Kind::S2sStartTls {
                "jabber:server"
            } else {
                "jabber:client"
            };
            conn.open_stream_ns(ns, &ep.name, None).await?;
            let f = conn.read_features(Stage::FeaturesPreTls).await?;
            if !f.starttls {
                return Err(crate::xmpp::Error::FeatureMissing {
                    stage: Stage::StartTls,
                    feature: "<starttls/>".into(),
                    offered: f.summary(),
                });
            }
            conn.send(Stage::StartTls, &format!("<starttls xmlns='{NS_TLS}'/>"))
                .await?;
            let (el, _) = conn
                .next_element(Stage::StartTls, "<proceed/> in answer to <starttls/>")
                .await?;
            if !el.is("proceed", NS_TLS) {
                return Err(crate::xmpp::Error::Protocol {
                    stage: Stage::StartTls,
                    expected: "<proceed/>".into(),
                    got: format!("<{}/>", el.name),
                });
            }
        }
        conn.start_tls_with(config, &ep.name).await?;
        Ok(conn.peer_tls())
    };
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(Ok(Some(p))) => Ok(p.into()),
        Ok(Ok(None)) => Err("no TLS session".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no TLS handshake within {timeout:?}")),
    }
}

/// What pfe reads from a served leaf certificate.
#[derive(Clone, Debug)]
pub struct LeafInfo {
    pub subject: String,
    pub names: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    pub not_after_text: String,
}

/// Parses a DER certificate.
pub fn leaf_info(der: &[u8]) -> Result<LeafInfo, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("bad X.509: {e}"))?;
    let names = pfe_core::x509::names(&cert);
    let v = cert.validity();
    Ok(LeafInfo {
        subject: cert.subject().to_string(),
        names,
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
        not_after_text: v.not_after.to_string(),
    })
}

/// Whether a certificate for `names` covers `host` (RFC 6125: `*` matches
/// exactly one left-most label).
pub use pfe_core::x509::covers;

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const DAY: i64 = 86_400;

/// Judges what `ep` served: the name, the validity period, the chain
/// against `verify`.
pub fn judge_served(ep: &Endpoint, served: &Served, verify: &TlsVerify) -> Outcome {
    judge_at(ep, served, verify, now_unix())
}

fn judge_at(ep: &Endpoint, served: &Served, verify: &TlsVerify, now: i64) -> Outcome {
    let at = format!("{} {} for {}", ep.kind.label(), ep.addr, ep.name);
    let Some(leaf) = served.chain.first() else {
        return Outcome::Fail {
            missing: format!("{at}: the server presented no certificate"),
        };
    };
    let info = match leaf_info(leaf) {
        Ok(i) => i,
        Err(e) => {
            return Outcome::Fail {
                missing: format!("{at}: the served certificate cannot be read: {e}"),
            };
        }
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if !covers(&info.names, &ep.name) {
        errors.push(format!(
            "the served certificate does not cover {} (it names {})",
            ep.name,
            if info.names.is_empty() {
                "nothing".to_string()
            } else {
                info.names.join(", ")
            }
        ));
    }
    let left = info.not_after - now;
    if info.not_before > now {
        errors.push(format!(
            "the served certificate is not valid yet (from {} s from now)",
            info.not_before - now
        ));
    }
    if left < 0 {
        errors.push(format!(
            "the served certificate EXPIRED on {} ({} days ago)",
            info.not_after_text,
            (-left) / DAY
        ));
    } else if left < DAY {
        errors.push(format!(
            "the served certificate expires in {} hours ({}), under 1 day",
            left / 3600,
            info.not_after_text
        ));
    } else if left < 7 * DAY {
        warnings.push(format!(
            "WARNING: expires in {} days ({}), under 7",
            left / DAY,
            info.not_after_text
        ));
    } else if left < 31 * DAY {
        warnings.push(format!(
            "warning: expires in {} days ({}), under 31",
            left / DAY,
            info.not_after_text
        ));
    }
    let chain = match roots_of(verify) {
        Err(e) => {
            errors.push(format!("the trusted CA cannot be read: {e}"));
            String::new()
        }
        Ok(None) => "chain not verified (--insecure)".to_string(),
        Ok(Some((roots, origin))) => match verify_chain(roots, &served.chain, &ep.name) {
            Ok(()) => format!("chain verified against {origin}"),
            Err(e) => {
                errors.push(format!(
                    "the served chain does not verify against {origin}: {e}"
                ));
                String::new()
            }
        },
    };
    let tls = format!(
        "{} {}",
        version_name(served.version),
        suite_name(served.suite)
    );
    if errors.is_empty() {
        let mut evidence = format!(
            "{at}: {tls}; certificate {} names {}, valid until {} ({} days); {chain}",
            info.subject,
            info.names.join(", "),
            info.not_after_text,
            left / DAY
        );
        for w in warnings {
            evidence += &format!("; {w}");
        }
        Outcome::Pass { evidence }
    } else {
        Outcome::Fail {
            missing: format!("{at}: {} ({tls})", errors.join("; ")),
        }
    }
}

/// What `openssl s_client` made of one legacy version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Legacy {
    Accepted(String),
    Refused(String),
    /// openssl is missing or cannot offer that version itself.
    Unknown(String),
}

/// `openssl s_client` offering only `flag` (`-tls1` or `-tls1_1`) to a c2s
/// STARTTLS or direct-TLS endpoint, at OpenSSL security level 0 (so the
/// client side is not what refuses), killed after `timeout`.
pub fn openssl_probe(ep: &Endpoint, flag: &str, timeout: Duration) -> Legacy {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &ep.addr, "-servername", &ep.name])
        .args([flag, "-cipher", "DEFAULT:@SECLEVEL=0", "-brief"]);
    if ep.kind == Kind::C2sStartTls {
        cmd.args(["-starttls", "xmpp", "-xmpphost", &ep.name]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Legacy::Unknown(format!(
                "cannot run openssl s_client ({e}; apt install openssl)"
            ));
        }
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut text = String::new();
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut buf = Vec::new();
        let _ = pipe.take(64 * 1024).read_to_end(&mut buf);
        text += &String::from_utf8_lossy(&buf);
    }
    let Some(status) = status else {
        return Legacy::Unknown(format!(
            "openssl s_client {flag} gave no answer within {timeout:?}"
        ));
    };
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .map(|l| l.trim().to_string())
    };
    if status.success()
        && let Some(v) = line("Protocol version:")
    {
        let cipher = line("Ciphersuite:").unwrap_or_default();
        return Legacy::Accepted(format!("{v}, {cipher}"));
    }
    if text.contains("no protocols available") {
        return Legacy::Unknown(format!(
            "this openssl cannot offer {flag} (no protocols available)"
        ));
    }
    let why = text
        .lines()
        .find(|l| l.contains("alert") || l.contains("error:") || l.contains("errno"))
        .unwrap_or("handshake failed")
        .trim()
        .to_string();
    Legacy::Refused(why)
}

/// What the c2s listener negotiates, version by version.
#[derive(Clone, Debug)]
pub struct VersionFacts {
    /// rustls offering 1.2 and 1.3.
    pub best: Result<Served, String>,
    /// rustls offering 1.2 only.
    pub tls12: Result<Served, String>,
    /// openssl offering 1.1, then 1.0.
    pub tls11: Legacy,
    pub tls10: Legacy,
}

/// Probes `ep` with each version within `timeout`.
pub async fn probe_versions(ep: &Endpoint, timeout: Duration) -> VersionFacts {
    let best = handshake(ep, rustls::DEFAULT_VERSIONS, timeout).await;
    let tls12 = handshake(ep, &[&rustls::version::TLS12], timeout).await;
    let ep2 = ep.clone();
    let legacy = tokio::task::spawn_blocking(move || {
        (
            openssl_probe(&ep2, "-tls1_1", timeout),
            openssl_probe(&ep2, "-tls1", timeout),
        )
    })
    .await
    .unwrap_or_else(|e| {
        let u = Legacy::Unknown(format!("the openssl probe failed: {e}"));
        (u.clone(), u)
    });
    VersionFacts {
        best,
        tls12,
        tls11: legacy.0,
        tls10: legacy.1,
    }
}

/// Judges the negotiated versions and cipher against the profile: nothing
/// below the profile's floor is accepted, the best version is TLS 1.3, a
/// TLS 1.2 handshake (where the profile allows it) uses one of its suites.
/// A server stricter than its profile (the system's OpenSSL refusing TLS
/// 1.0 under "old") passes with a note.
pub fn judge_versions(ep: &Endpoint, profile: &Profile, f: &VersionFacts) -> Outcome {
    let at = format!("{} {}", ep.kind.label(), ep.addr);
    let because = format!("tls_profile = {:?} ({})", profile.name, profile.origin);
    let Some(floor) = profile.floor() else {
        return Outcome::Fail {
            missing: format!(
                "{because} is not one Prosody 13 knows (modern, intermediate, old, legacy): it refuses to create TLS contexts"
            ),
        };
    };
    let rank = |v: ProtocolVersion| match v {
        ProtocolVersion::TLSv1_0 => 0,
        ProtocolVersion::TLSv1_1 => 1,
        ProtocolVersion::TLSv1_2 => 2,
        ProtocolVersion::TLSv1_3 => 3,
        _ => -1,
    };
    let allowed = |v: ProtocolVersion| rank(v) >= rank(floor);
    let mut errors = Vec::new();
    let mut seen = Vec::new();
    match &f.best {
        Ok(s) => {
            seen.push(format!(
                "best {} {}",
                version_name(s.version),
                suite_name(s.suite)
            ));
            if s.version != Some(ProtocolVersion::TLSv1_3) {
                errors.push(format!(
                    "the best version negotiated is {}, not TLS 1.3",
                    version_name(s.version)
                ));
            }
        }
        Err(e) => errors.push(format!("no TLS handshake: {e}")),
    }
    match &f.tls12 {
        Ok(s) => {
            let suite = s.suite;
            seen.push(format!("TLS 1.2 accepted ({})", suite_name(suite)));
            if !allowed(ProtocolVersion::TLSv1_2) {
                errors.push("TLS 1.2 is accepted, below the profile's TLS 1.3".into());
            } else if let Some(suite) = suite
                && !profile.allows_tls12_suite(suite)
            {
                errors.push(format!(
                    "TLS 1.2 negotiated {suite:?}, not in the profile's cipher list"
                ));
            }
        }
        Err(e) => {
            seen.push("TLS 1.2 refused".into());
            if allowed(ProtocolVersion::TLSv1_2) && profile.name != "modern" {
                seen.push(format!(
                    "(stricter than the profile, which allows it: {})",
                    short(e)
                ));
            }
        }
    }
    for (v, name, legacy) in [
        (ProtocolVersion::TLSv1_1, "TLS 1.1", &f.tls11),
        (ProtocolVersion::TLSv1_0, "TLS 1.0", &f.tls10),
    ] {
        match legacy {
            Legacy::Accepted(how) => {
                seen.push(format!("{name} accepted ({how})"));
                if !allowed(v) {
                    errors.push(format!(
                        "{name} is accepted ({how}), below the profile's {}",
                        version_name(Some(floor))
                    ));
                }
            }
            Legacy::Refused(why) => {
                seen.push(format!("{name} refused"));
                if allowed(v) {
                    seen.push(format!(
                        "(stricter than the profile, which allows it: {})",
                        short(why)
                    ));
                }
            }
            Legacy::Unknown(why) => seen.push(format!("{name} not probed: {why}")),
        }
    }
    if errors.is_empty() {
        Outcome::Pass {
            evidence: format!("{at}: {} [{because}]", seen.join(", ")),
        }
    } else {
        Outcome::Fail {
            missing: format!(
                "{at}: {} (seen: {}) [{because}]",
                errors.join("; "),
                seen.join(", ")
            ),
        }
    }
}

fn short(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str], not_after: time::OffsetDateTime) -> Vec<u8> {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.not_before = at(946_684_800);
        p.not_after = not_after;
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    fn at(ts: i64) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    fn ep(name: &str) -> Endpoint {
        Endpoint {
            kind: Kind::S2sStartTls,
            addr: "127.0.0.1:5269".into(),
            name: name.into(),
        }
    }

    fn served(der: Vec<u8>) -> Served {
        Served {
            version: Some(ProtocolVersion::TLSv1_3),
            suite: Some(CipherSuite::TLS13_AES_128_GCM_SHA256),
            chain: vec![CertificateDer::from(der)],
        }
    }

    #[test]
    fn names_validity_and_chain_are_judged() {
        let now = 2_000_000_000;
        let good = cert(&["localhost", "*.localhost"], at(now + 90 * DAY));
        let v = TlsVerify::InsecureAcceptAny;
        let o = judge_at(&ep("upload.localhost"), &served(good.clone()), &v, now);
        assert!(
            matches!(&o, Outcome::Pass { evidence } if evidence.contains("90 days")),
            "{o:?}"
        );
        let o = judge_at(&ep("upload.example.org"), &served(good), &v, now);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("does not cover upload.example.org")),
            "{o:?}"
        );
        let expired = cert(&["localhost"], at(now - 3 * DAY));
        let o = judge_at(&ep("localhost"), &served(expired), &v, now);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("EXPIRED") && missing.contains("3 days ago")),
            "{o:?}"
        );
        let hours = cert(&["localhost"], at(now + 5 * 3600));
        let o = judge_at(&ep("localhost"), &served(hours), &v, now);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("under 1 day")),
            "{o:?}"
        );
        let week = cert(&["localhost"], at(now + 3 * DAY));
        let o = judge_at(&ep("localhost"), &served(week), &v, now);
        assert!(
            matches!(&o, Outcome::Pass { evidence } if evidence.contains("WARNING: expires in 3 days")),
            "{o:?}"
        );
        let month = cert(&["localhost"], at(now + 20 * DAY));
        let o = judge_at(&ep("localhost"), &served(month), &v, now);
        assert!(
            matches!(&o, Outcome::Pass { evidence } if evidence.contains("under 31")),
            "{o:?}"
        );
        // A chain checked against another CA fails, naming it.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let v = TlsVerify::CaPem(other.cert.pem().into_bytes());
        let mine = cert(&["localhost"], at(now_unix() + 90 * DAY));
        let o = judge_served(&ep("localhost"), &served(mine), &v);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("does not verify against")),
            "{o:?}"
        );
    }

    #[test]
    fn versions_below_the_profile_fail() {
        let e = Endpoint {
            kind: Kind::C2sStartTls,
            addr: "127.0.0.1:5222".into(),
            name: "localhost".into(),
        };
        let s = |v, c| {
            Ok(Served {
                version: Some(v),
                suite: Some(c),
                chain: vec![],
            })
        };
        let facts = VersionFacts {
            best: s(
                ProtocolVersion::TLSv1_3,
                CipherSuite::TLS13_AES_256_GCM_SHA384,
            ),
            tls12: s(
                ProtocolVersion::TLSv1_2,
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ),
            tls11: Legacy::Refused("alert protocol version".into()),
            tls10: Legacy::Refused("alert protocol version".into()),
        };
        let p = |n: &str| Profile {
            name: n.into(),
            origin: "test".into(),
        };
        assert!(matches!(
            judge_versions(&e, &p("intermediate"), &facts),
            Outcome::Pass { .. }
        ));
        let o = judge_versions(&e, &p("modern"), &facts);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("TLS 1.2 is accepted, below")),
            "{o:?}"
        );
        let o = judge_versions(&e, &p("old"), &facts);
        assert!(
            matches!(&o, Outcome::Pass { evidence } if evidence.contains("stricter")),
            "{o:?}"
        );
        let mut legacy = facts.clone();
        legacy.tls10 = Legacy::Accepted("Protocol version: TLSv1".into());
        let o = judge_versions(&e, &p("intermediate"), &legacy);
        assert!(
            matches!(&o, Outcome::Fail { missing } if missing.contains("TLS 1.0 is accepted")),
            "{o:?}"
        );
        assert!(matches!(
            judge_versions(&e, &p("fancy"), &facts),
            Outcome::Fail { .. }
        ));
    }
}
