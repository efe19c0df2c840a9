//! The URLs the server hands out, judged from the client's side: the
//! XEP-0363 slot's PUT and GET URLs and the XEP-0156 alt-connections links
//! of host-meta (BOSH, WebSocket). Each must be absolute `https`/`wss`
//! (`http`/`ws` too outside a public environment), lie under
//! `http_external_url` when the config sets it, name a host that resolves
//! here, not name this machine (localhost, 127.0.0.1, ::1) while the server
//! is reached at another address, and answer at that very address: unlike
//! the upload probe, nothing is rewritten to `--http`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::{Outcome, Row, host_of, live};
use crate::xmpp::{self, HttpRequest, TlsVerify};

/// The spec of every client-URL row (URL syntax; the row's feature says
/// which XEP handed the URL out).
pub const SPEC: &str = "RFC 3986";
/// Largest body read from one URL.
const MAX_BODY: usize = 64 * 1024;
/// The longest one name lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// `http_external_url` as the resolved config sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalUrl {
    pub url: String,
    /// Where it was set.
    pub origin: String,
}

/// Where a URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    UploadPut,
    UploadGet,
    Bosh,
    WebSocket,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::UploadPut => "upload slot PUT URL",
            Source::UploadGet => "upload slot GET URL",
            Source::Bosh => "host-meta BOSH URL",
            Source::WebSocket => "host-meta WebSocket URL",
        }
    }

    /// The scheme a public service must use, and the one allowed elsewhere.
    fn schemes(self) -> (&'static str, &'static str) {
        match self {
            Source::WebSocket => ("wss", "ws"),
            _ => ("https", "http"),
        }
    }

    /// The `rel` of an XEP-0156 link, if it is one pfe follows.
    pub fn of_link(rel: &str) -> Option<Source> {
        match rel {
            "urn:xmpp:alt-connections:xbosh" => Some(Source::Bosh),
            "urn:xmpp:alt-connections:websocket" => Some(Source::WebSocket),
            _ => None,
        }
    }
}

/// One URL the server handed out, and the feature that promised it.
#[derive(Clone, Debug)]
pub struct HandedOut {
    pub source: Source,
    pub feature: String,
    pub url: String,
}

/// A URL that passed the offline rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query.
    pub path: String,
    /// The `Host` header: the host, with the port when the URL names one.
    pub authority: String,
}

/// The rules that need no network: absolute, the right scheme for the
/// environment, no user info, and under `http_external_url` when it is set.
pub fn shape(
    source: Source,
    raw: &str,
    public: bool,
    external: Option<&ExternalUrl>,
) -> Result<Shape, String> {
    let (secure, plain) = source.schemes();
    let u = url::Url::parse(raw).map_err(|e| {
        format!("{raw:?} is not an absolute URL ({e}): a client has nothing to resolve it against")
    })?;
    let scheme = u.scheme();
    let tls = if scheme == secure {
        true
    } else if scheme == plain && !public {
        false
    } else if scheme == plain {
        return Err(format!(
            "{raw} is {plain}, not {secure}: a public service hands out encrypted URLs (browsers block {plain} from an {secure} page)"
        ));
    } else {
        return Err(format!("{raw} is not a {secure} (or {plain}) URL"));
    };
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("{raw} carries user info"));
    }
    let host = match u.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => return Err(format!("{raw} names no host")),
    };
    let port = u
        .port_or_known_default()
        .ok_or_else(|| format!("{raw} has no port"))?;
    if let Some(ext) = external {
        under_external(raw, &u, ext)?;
    }
    let authority = match (u.port(), u.host()) {
        (Some(p), Some(url::Host::Ipv6(a))) => format!("[{a}]:{p}"),
        (None, Some(url::Host::Ipv6(a))) => format!("[{a}]"),
        (Some(p), _) => format!("{host}:{p}"),
        (None, _) => host.clone(),
    };
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    Ok(Shape {
        tls,
        host,
        port,
        path,
        authority,
    })
}

/// `u` has `http_external_url`'s host, port and encryption, and lies under
/// its path (`ws`/`wss` count as `http`/`https`).
fn under_external(raw: &str, u: &url::Url, ext: &ExternalUrl) -> Result<(), String> {
    let wrong = |what: &str| {
        Err(format!(
            "{raw} is not under http_external_url = {} (at {}): {what}",
            ext.url, ext.origin
        ))
    };
    let Ok(e) = url::Url::parse(&ext.url) else {
        return wrong("that is not a URL");
    };
    let secure = |s: &str| matches!(s, "https" | "wss");
    if secure(u.scheme()) != secure(e.scheme()) {
        return wrong("another scheme");
    }
    if u.host_str().map(str::to_ascii_lowercase) != e.host_str().map(str::to_ascii_lowercase) {
        return wrong("another host");
    }
    // A ws URL has no known default port in every parser; compare as the
    // client would connect.
    let port = |x: &url::Url| {
        x.port().or(match x.scheme() {
            "https" | "wss" => Some(443),
            "http" | "ws" => Some(80),
            _ => None,
        })
    };
    if port(u) != port(&e) {
        return wrong("another port");
    }
    let base = e.path().trim_end_matches('/');
    let path = u.path();
    if !(path == base || path.starts_with(&format!("{base}/"))) {
        return wrong("another path");
    }
    Ok(())
}

/// A name RFC 6761 reserves for this machine (`localhost`, `*.localhost`).
fn is_localhost_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// The addresses `host` stands for, within `timeout`: `localhost` names
/// are this machine without asking DNS, IP literals are themselves, other
/// names go to the system resolver.
pub async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if is_localhost_name(bare) {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]);
    }
    match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await {
        Ok(Ok(it)) => {
            let v: Vec<SocketAddr> = it.collect();
            if v.is_empty() {
                Err(format!("{bare} does not resolve here (no address)"))
            } else {
                Ok(v)
            }
        }
        Ok(Err(e)) => Err(format!("{bare} does not resolve here: {e}")),
        Err(_) => Err(format!("{bare} did not resolve within {timeout:?}")),
    }
}

/// Every address is this machine's.
pub fn all_loopback(addrs: &[SocketAddr]) -> bool {
    !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
}

/// How the checked server is reached, for the loopback rule.
#[derive(Clone, Debug)]
pub struct Reached {
    /// The `--server` (or `--http`) host.
    pub host: String,
    /// Its addresses are all loopback (or it could not be resolved: then
    /// no URL is blamed for being loopback).
    pub loopback: bool,
}

impl Reached {
    pub async fn of(addr: &str, timeout: Duration) -> Reached {
        let host = host_of(addr).to_string();
        let loopback = match resolve(&host, 0, timeout.min(LOOKUP_TIMEOUT)).await {
            Ok(a) => all_loopback(&a),
            Err(_) => true,
        };
        Reached { host, loopback }
    }
}

/// The loopback rule: a URL naming this machine while the server is
/// reached elsewhere points every client at itself.
pub fn loopback_problem(raw: &str, s: &Shape, addrs: &[SocketAddr], r: &Reached) -> Option<String> {
    (all_loopback(addrs) && !r.loopback).then(|| {
        format!(
            "{raw} names {} (this machine for every client) while the server is reached at {}: \
             behind a reverse proxy, set http_external_url (PROSODY_HTTP_EXTERNAL_URL) to the public URL",
            s.host, r.host
        )
    })
}

/// What a URL must answer.
struct Ask<'a> {
    method: &'static str,
    headers: Vec<(&'a str, &'a str)>,
    /// `Some(200)`: exactly that (the uploaded file must be there);
    /// `None`: any answer below 500 (a proxy's 502 is no answer).
    want: Option<u16>,
}

/// What every URL is judged against.
pub(crate) struct Judge<'a> {
    /// The environment's `public`.
    pub public: bool,
    pub external: Option<&'a ExternalUrl>,
    /// `host:port` the session reached the server at.
    pub server_addr: &'a str,
    /// The XMPP domain (web clients' `Origin` is its site).
    pub domain: &'a str,
    /// The upload probe stored its file: the GET URL must serve it.
    pub stored: bool,
    pub verify: &'a TlsVerify,
    pub deadline: Instant,
}

/// One URL, end to end from here.
async fn check_one(h: &HandedOut, j: &Judge<'_>, reached: &Reached, origin: &str) -> Outcome {
    let (public, external, stored, verify, deadline) =
        (j.public, j.external, j.stored, j.verify, j.deadline);
    let fail = |why: String| Outcome::Fail {
        missing: format!("{}: {why}", h.source.label()),
    };
    let s = match shape(h.source, &h.url, public, external) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let left = || deadline.saturating_duration_since(Instant::now());
    let addrs = match resolve(&s.host, s.port, left().min(LOOKUP_TIMEOUT)).await {
        Ok(a) => a,
        Err(e) => return fail(format!("{}: {e}", h.url)),
    };
    if let Some(p) = loopback_problem(&h.url, &s, &addrs, reached) {
        return fail(p);
    }
    let ask = match h.source {
        Source::UploadPut => Ask {
            method: "OPTIONS",
            headers: vec![("Origin", origin), ("Access-Control-Request-Method", "PUT")],
            want: None,
        },
        Source::UploadGet => Ask {
            method: "GET",
            headers: vec![("Origin", origin)],
            want: stored.then_some(200),
        },
        Source::Bosh | Source::WebSocket => Ask {
            method: "GET",
            headers: Vec::new(),
            want: None,
        },
    };
    let req = HttpRequest {
        method: ask.method,
        path: &s.path,
        host: &s.authority,
        headers: &ask.headers,
        body: None,
    };
    let tls = s.tls.then_some(verify);
    let mut errors = Vec::new();
    for a in &addrs {
        let t = left().min(Duration::from_secs(10));
        if t.is_zero() {
            errors.push(format!("{a}: the check's deadline passed"));
            break;
        }
        match xmpp::http_request(&a.to_string(), &req, tls, t, Some(MAX_BODY)).await {
            Ok(x) => {
                let st = x.response.status;
                let ok = match ask.want {
                    Some(w) => st == w,
                    None => st < 500,
                };
                let got = format!("{} {}", st, x.response.reason);
                return if ok {
                    Outcome::Pass {
                        evidence: format!(
                            "{} {} → {got} at {a}{}{}",
                            ask.method,
                            h.url,
                            if s.tls { " over TLS" } else { "" },
                            external
                                .map(|e| format!(", under http_external_url {}", e.url))
                                .unwrap_or_default()
                        ),
                    }
                } else {
                    fail(format!(
                        "{} {} answered {got} at {a}, expected {}",
                        ask.method,
                        h.url,
                        match ask.want {
                            Some(w) => format!("{w} (the file the upload probe stored)"),
                            None => "an answer below 500 (a proxy with no backend?)".into(),
                        }
                    ))
                };
            }
            Err(e) => errors.push(format!("{a}: {e}")),
        }
    }
    fail(format!(
        "{} does not answer from here: {}",
        h.url,
        errors.join("; ")
    ))
}

/// The rows of the handed-out URLs, all at once, bounded by the deadline.
pub(crate) async fn rows(urls: &[HandedOut], j: &Judge<'_>) -> Vec<Row> {
    if urls.is_empty() {
        return Vec::new();
    }
    let reached = Reached::of(
        j.server_addr,
        j.deadline.saturating_duration_since(Instant::now()),
    )
    .await;
    let origin = format!("https://{}", j.domain);
    let outcomes =
        live::futures_join(urls.iter().map(|h| check_one(h, j, &reached, &origin))).await;
    urls.iter()
        .zip(outcomes)
        .map(|(h, o)| {
            live::row(
                &h.feature,
                SPEC,
                format!("{} reachable from the client's side", h.source.label()),
                o,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(url: &str) -> ExternalUrl {
        ExternalUrl {
            url: url.into(),
            origin: "features/web/http.cfg.lua:51".into(),
        }
    }

    #[test]
    fn schemes_follow_the_environment() {
        let put = Source::UploadPut;
        let s = shape(put, "https://x.example:8443/file_share/a?b=1", true, None).unwrap();
        assert_eq!(
            (s.tls, s.host.as_str(), s.port, s.path.as_str()),
            (true, "x.example", 8443, "/file_share/a?b=1")
        );
        assert_eq!(s.authority, "x.example:8443");
        assert!(shape(put, "http://x.example/f", false, None).is_ok());
        let e = shape(put, "http://x.example/f", true, None).unwrap_err();
        assert!(e.contains("not https"), "{e}");
        let e = shape(Source::WebSocket, "ws://x.example/ws", true, None).unwrap_err();
        assert!(e.contains("not wss"), "{e}");
        assert!(shape(Source::WebSocket, "wss://x.example/ws", true, None).is_ok());
        let e = shape(put, "/file_share/a", false, None).unwrap_err();
        assert!(e.contains("not an absolute URL"), "{e}");
        assert!(shape(put, "ftp://x.example/f", false, None).is_err());
        assert!(shape(put, "https://u:p@x.example/f", false, None).is_err());
        let v6 = shape(put, "https://[::1]:5281/f", false, None).unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority.as_str()),
            ("::1", "[::1]:5281")
        );
    }

    #[test]
    fn urls_must_lie_under_http_external_url() {
        let e = ext("https://xmpp.example.org/chat/");
        let ok = |u: &str| shape(Source::UploadGet, u, true, Some(&e));
        assert!(ok("https://xmpp.example.org/chat/file_share/a").is_ok());
        assert!(ok("https://xmpp.example.org:443/chat/x").is_ok());
        assert!(
            shape(
                Source::WebSocket,
                "wss://xmpp.example.org/chat/xmpp-websocket",
                true,
                Some(&e)
            )
            .is_ok()
        );
        for (url, why) in [
            ("https://upload.example.org/chat/f", "another host"),
            ("https://xmpp.example.org:5281/chat/f", "another port"),
            ("https://xmpp.example.org/file_share/f", "another path"),
            ("https://xmpp.example.org/chatter/f", "another path"),
        ] {
            let err = ok(url).unwrap_err();
            assert!(
                err.contains(why)
                    && err.contains("http_external_url = https://xmpp.example.org/chat/"),
                "{url}: {err}"
            );
        }
        let plain = ext("http://127.0.0.1:8080/");
        let err = shape(
            Source::UploadPut,
            "https://127.0.0.1:8080/f",
            false,
            Some(&plain),
        )
        .unwrap_err();
        assert!(err.contains("another scheme"), "{err}");
    }

    #[test]
    fn localhost_urls_fail_only_when_the_server_is_reached_elsewhere() {
        let s = shape(Source::UploadPut, "https://localhost:5281/f", false, None).unwrap();
        let addrs = pfe_block_on(resolve(&s.host, s.port, LOOKUP_TIMEOUT)).unwrap();
        assert!(all_loopback(&addrs));
        let here = Reached {
            host: "127.0.0.1".into(),
            loopback: true,
        };
        assert_eq!(
            loopback_problem("https://localhost:5281/f", &s, &addrs, &here),
            None
        );
        let away = Reached {
            host: "xmpp.example.org".into(),
            loopback: false,
        };
        let p = loopback_problem("https://localhost:5281/f", &s, &addrs, &away).unwrap();
        assert!(
            p.contains("https://localhost:5281/f names localhost")
                && p.contains("reached at xmpp.example.org")
                && p.contains("http_external_url"),
            "{p}"
        );
        let public = [SocketAddr::from(([192, 0, 2, 1], 443))];
        assert_eq!(loopback_problem("https://x/", &s, &public, &away), None);
        // upload.localhost is this machine without asking DNS.
        let sub = pfe_block_on(resolve("upload.localhost", 80, LOOKUP_TIMEOUT)).unwrap();
        assert!(all_loopback(&sub));
        assert!(pfe_block_on(resolve("no-such-host.invalid", 80, LOOKUP_TIMEOUT)).is_err());
    }

    fn pfe_block_on<F: std::future::Future>(f: F) -> F::Output {
        crate::block_on(f).expect("a runtime")
    }
}
