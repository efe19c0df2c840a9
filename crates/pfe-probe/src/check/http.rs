//! The HTTP side of the live check: the `where = "http"` promises
//! (`probe` = `get`, `websocket`, `bosh`, `host-meta`, `upload`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{HttpTarget, Outcome, Promise, host_of};
use crate::xmpp::xml::{self, Element, NS_STREAMS};
use crate::xmpp::{self, HttpRequest, HttpResponse, TlsVerify, UploadSlot};
use pfe_core::catalog::HttpProbe;

const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
const NS_XRD: &str = "http://docs.oasis-open.org/ns/xri/xrd-1.0";
/// Largest body read from a probe.
const MAX_BODY: usize = 64 * 1024;

/// What one HTTP probe saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) detail: Detail,
}

#[derive(Debug, Clone)]
pub(crate) enum Detail {
    Get,
    WebSocket {
        accept_valid: bool,
        protocol: Option<String>,
        /// The `<stream:features>` that followed our `<open/>`.
        features: Option<xmpp::Features>,
        /// A `<stream:error>`, a `<close/>` or the end of the stream
        /// instead of features.
        problem: Option<String>,
    },
    Bosh {
        sid: Option<String>,
        xmpp_version: Option<String>,
        features: Option<xmpp::Features>,
        problem: Option<String>,
    },
    HostMeta {
        links: Vec<(String, String)>,
        problem: Option<String>,
    },
}

pub(crate) type Probe = Result<Seen, String>;

/// The distinct (probe, path) pairs the promises need (uploads aside).
pub(crate) fn planned(promises: &[Promise]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for h in promises.iter().filter_map(|p| p.http.as_ref()) {
        if h.probe == HttpProbe::Upload {
            continue;
        }
        let (kind, path) = (h.probe.as_str().to_string(), h.path.clone());
        if !out.iter().any(|(k, q)| *k == kind && *q == path) {
            out.push((kind, path));
        }
    }
    out
}

/// Run every planned probe at once.
pub(crate) async fn run_all(
    planned: &[(String, String)],
    target: Option<&HttpTarget>,
    timeout: Duration,
) -> BTreeMap<(String, String), Probe> {
    let mut out = BTreeMap::new();
    let Some(target) = target else {
        return out;
    };
    let mut set = tokio::task::JoinSet::new();
    for (kind, path) in planned {
        let (kind, path, target) = (kind.clone(), path.clone(), target.clone());
        set.spawn(async move {
            let r = run_one(&kind, &path, &target, timeout).await;
            ((kind, path), r)
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok((k, v)) = r {
            out.insert(k, v);
        }
    }
    out
}

async fn run_one(kind: &str, path: &str, t: &HttpTarget, timeout: Duration) -> Probe {
    let tls = t.tls.as_ref();
    let e = |e: xmpp::Error| e.to_string();
    match kind {
        "websocket" => {
            let w = xmpp::websocket_session(&t.addr, &t.host, path, host_of(&t.host), tls, timeout)
                .await
                .map_err(e)?;
            let (features, problem) = websocket_stream(&w);
            Ok(Seen {
                status: w.probe.response.status,
                reason: w.probe.response.reason.clone(),
                detail: Detail::WebSocket {
                    accept_valid: w.probe.accept_valid,
                    protocol: w.probe.protocol,
                    features,
                    problem,
                },
            })
        }
        "bosh" => bosh(path, t, timeout).await,
        "host-meta" => {
            let req = HttpRequest {
                method: "GET",
                path,
                host: &t.host,
                headers: &[],
                body: None,
            };
            let x = xmpp::http_request(&t.addr, &req, tls, timeout, Some(MAX_BODY))
                .await
                .map_err(e)?;
            let (links, problem) = match parse_body(&x.body) {
                Ok(el) if el.is("XRD", NS_XRD) => (
                    el.children_named("Link", NS_XRD)
                        .map(|l| {
                            (
                                l.attr("rel").unwrap_or("").to_string(),
                                l.attr("href").unwrap_or("").to_string(),
                            )
                        })
                        .collect(),
                    None,
                ),
                Ok(el) => (
                    Vec::new(),
                    Some(format!("the body is <{}>, not an XRD", el.name)),
                ),
                Err(p) => (Vec::new(), Some(p)),
            };
            Ok(Seen {
                status: x.response.status,
                reason: x.response.reason,
                detail: Detail::HostMeta { links, problem },
            })
        }
        _ => {
            let r = xmpp::http_get(&t.addr, &t.host, path, &[], tls, timeout)
                .await
                .map_err(e)?;
            Ok(Seen {
                status: r.status,
                reason: r.reason,
                detail: Detail::Get,
            })
        }
    }
}

/// The stream features of an RFC 7395 session, or what came instead.
fn websocket_stream(w: &xmpp::WebSocketSession) -> (Option<xmpp::Features>, Option<String>) {
    if !w.probe.upgraded() {
        return (None, None);
    }
    for f in &w.frames {
        let Ok(el) = xml::parse_element(f.trim().as_bytes(), &[]) else {
            return (
                None,
                Some(format!(
                    "an unparsable frame {:?}",
                    xml::snippet(f.as_bytes())
                )),
            );
        };
        if el.is("features", NS_STREAMS) {
            return (Some(xmpp::Features::from_element(&el, f.len())), None);
        }
        if el.is("error", NS_STREAMS) {
            let condition = el
                .children
                .iter()
                .find(|c| c.name != "text")
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let text = el
                .children
                .iter()
                .find(|c| c.name == "text")
                .map(|c| format!(" \"{}\"", c.text))
                .unwrap_or_default();
            return (None, Some(format!("<stream:error> <{condition}/>{text}")));
        }
        if el.name == "close" {
            return (
                None,
                Some("the server sent <close/> instead of stream features".into()),
            );
        }
    }
    let why = if w.closed {
        "the server closed the WebSocket before any stream features"
    } else {
        "no <stream:features> came after <open/>"
    };
    (None, Some(why.into()))
}

/// Parse an XML body (a leading declaration and whitespace allowed).
fn parse_body(body: &[u8]) -> Result<Element, String> {
    let text = String::from_utf8_lossy(body);
    let mut t = text.trim_start();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        t = t[end + 2..].trim_start();
    }
    xml::parse_element(t.trim_end().as_bytes(), &[]).map_err(|e| format!("unparsable body: {e}"))
}

fn random_rid() -> u64 {
    let mut raw = [0u8; 4];
    getrandom::fill(&mut raw).expect("the OS random source works");
    1_000_000 + u64::from(u32::from_le_bytes(raw) % 1_000_000_000)
}

/// Open a BOSH session (XEP-0124) with XMPP over BOSH (XEP-0206), read its
/// stream features, and terminate it.
async fn bosh(path: &str, t: &HttpTarget, timeout: Duration) -> Probe {
    let rid = random_rid();
    let domain = xml::escape(host_of(&t.host));
    let create = format!(
        "<body content='text/xml; charset=utf-8' hold='1' rid='{rid}' to='{domain}' ver='1.6' \
         wait='10' xml:lang='en' xmpp:version='1.0' xmlns='{NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh'/>"
    );
    let headers = [("Content-Type", "text/xml; charset=utf-8")];
    let req = HttpRequest {
        method: "POST",
        path,
        host: &t.host,
        headers: &headers,
        body: Some(create.as_bytes()),
    };
    let tls = t.tls.as_ref();
    let x = xmpp::http_request(&t.addr, &req, tls, timeout, Some(MAX_BODY))
        .await
        .map_err(|e| e.to_string())?;
    let mut detail = Detail::Bosh {
        sid: None,
        xmpp_version: None,
        features: None,
        problem: None,
    };
    if x.response.status == 200 {
        match parse_body(&x.body) {
            Ok(body) if body.is("body", NS_HTTPBIND) => {
                let sid = body.attr("sid").map(str::to_string);
                let version = body
                    .attrs
                    .iter()
                    .find(|(k, _)| k.ends_with(":version"))
                    .map(|(_, v)| v.clone());
                let features = body
                    .child("features", NS_STREAMS)
                    .map(|f| xmpp::Features::from_element(f, 0));
                let problem = body.attr("type").filter(|t| *t == "terminate").map(|_| {
                    format!(
                        "the session was terminated at once (condition {:?})",
                        body.attr("condition").unwrap_or("")
                    )
                });
                if let Some(sid) = &sid {
                    let end = format!(
                        "<body rid='{}' sid='{}' type='terminate' xmlns='{NS_HTTPBIND}'/>",
                        rid + 1,
                        xml::escape(sid)
                    );
                    let req = HttpRequest {
                        body: Some(end.as_bytes()),
                        ..req
                    };
                    let _ = xmpp::http_request(&t.addr, &req, tls, timeout, Some(MAX_BODY)).await;
                }
                detail = Detail::Bosh {
                    sid,
                    xmpp_version: version,
                    features,
                    problem,
                };
            }
            Ok(other) => {
                detail = Detail::Bosh {
                    sid: None,
                    xmpp_version: None,
                    features: None,
                    problem: Some(format!("the body is <{}>, not a BOSH <body/>", other.name)),
                }
            }
            Err(p) => {
                detail = Detail::Bosh {
                    sid: None,
                    xmpp_version: None,
                    features: None,
                    problem: Some(p),
                }
            }
        }
    }
    Ok(Seen {
        status: x.response.status,
        reason: x.response.reason,
        detail,
    })
}

/// SASL (or SASL2) mechanisms a client could log in with.
pub(crate) fn has_mechanisms(f: &xmpp::Features) -> bool {
    !f.sasl_mechanisms.is_empty() || !f.sasl2_mechanisms.is_empty()
}

/// Judge a `where = "http"` promise from its probe.
pub(crate) fn judge(p: &Promise, probe: &Probe) -> Outcome {
    let path = p.http.as_ref().map_or("/", |h| h.path.as_str());
    let seen = match probe {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Fail {
                missing: format!("{path}: {e}"),
            };
        }
    };
    let default_status = match &seen.detail {
        Detail::WebSocket { .. } => 101,
        _ => 200,
    };
    let want: u16 = p
        .extra
        .get("status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_status);
    let got = format!("{} {}", seen.status, seen.reason);
    if seen.status != want {
        return Outcome::Fail {
            missing: format!("{path} answered {got}, expected {want}"),
        };
    }
    match &seen.detail {
        Detail::Get => Outcome::Pass {
            evidence: format!("GET {path} → {got}"),
        },
        Detail::WebSocket {
            accept_valid,
            protocol,
            features,
            problem,
        } => {
            if !accept_valid {
                Outcome::Fail {
                    missing: format!(
                        "GET {path} (Upgrade: websocket) → {got} with a wrong Sec-WebSocket-Accept"
                    ),
                }
            } else if protocol.as_deref() != Some("xmpp") {
                Outcome::Fail {
                    missing: format!(
                        "GET {path} (Upgrade: websocket) → {got}, but the subprotocol is {protocol:?}, not \"xmpp\" (RFC 7395)"
                    ),
                }
            } else if let Some(problem) = problem {
                Outcome::Fail {
                    missing: format!(
                        "GET {path} (Upgrade: websocket) → {got}, but after <open/>: {problem}"
                    ),
                }
            } else {
                match features {
                    Some(f) if has_mechanisms(f) => Outcome::Pass {
                        evidence: format!(
                            "GET {path} (Upgrade: websocket) → {got}, subprotocol xmpp; <open/> answered with stream features {}",
                            f.summary()
                        ),
                    },
                    Some(f) => Outcome::Fail {
                        missing: format!(
                            "WebSocket stream at {path} offers no SASL mechanism (features {}): clients cannot log in",
                            f.summary()
                        ),
                    },
                    None => Outcome::Fail {
                        missing: format!("WebSocket stream at {path}: no stream features"),
                    },
                }
            }
        }
        Detail::Bosh {
            sid,
            xmpp_version,
            features,
            problem,
        } => {
            if let Some(problem) = problem {
                return Outcome::Fail {
                    missing: format!("POST {path} → {got}, but {problem}"),
                };
            }
            let Some(sid) = sid else {
                return Outcome::Fail {
                    missing: format!("POST {path} → {got}, but no BOSH session (no sid)"),
                };
            };
            if p.xep == "XEP-0206" {
                match (xmpp_version.as_deref(), features) {
                    (Some("1.0"), Some(f)) if has_mechanisms(f) => Outcome::Pass {
                        evidence: format!(
                            "BOSH session {sid} at {path}: xmpp:version 1.0, stream features {}",
                            f.summary()
                        ),
                    },
                    (Some("1.0"), Some(f)) => Outcome::Fail {
                        missing: format!(
                            "BOSH session {sid} at {path} offers no SASL mechanism (features {}): clients cannot log in (on plain HTTP Prosody offers none unless consider_bosh_secure)",
                            f.summary()
                        ),
                    },
                    _ => Outcome::Fail {
                        missing: format!(
                            "BOSH session {sid} at {path} carries no XMPP stream (xmpp:version {xmpp_version:?}, features {})",
                            features
                                .as_ref()
                                .map_or("none".to_string(), |f| f.summary())
                        ),
                    },
                }
            } else {
                Outcome::Pass {
                    evidence: format!(
                        "POST {path} → {got}, BOSH session {sid} created and terminated"
                    ),
                }
            }
        }
        Detail::HostMeta { links, problem } => {
            if let Some(problem) = problem {
                return Outcome::Fail {
                    missing: format!("GET {path} → {got}, but {problem}"),
                };
            }
            let alt: Vec<String> = links
                .iter()
                .filter(|(rel, _)| rel.starts_with("urn:xmpp:alt-connections:"))
                .map(|(rel, href)| {
                    format!(
                        "{} {href}",
                        rel.trim_start_matches("urn:xmpp:alt-connections:")
                    )
                })
                .collect();
            if alt.is_empty() {
                Outcome::Fail {
                    missing: format!(
                        "GET {path} → {got}, but the XRD lists no urn:xmpp:alt-connections:* link"
                    ),
                }
            } else {
                Outcome::Pass {
                    evidence: format!("GET {path} → {got}, XRD lists {}", alt.join(", ")),
                }
            }
        }
    }
}

/// An `http`/`https` URL (parsed by the `url` crate) split into
/// (https?, host, port, path with query, authority for the Host header).
/// What a WHATWG parser would repair in silence is None: white space or
/// control characters, backslashes, a missing `//` or an empty host
/// (`http:///p`); so are user info and other schemes.
fn split_url(raw: &str) -> Option<(bool, String, u16, String, String)> {
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    let (scheme, rest) = raw.split_once("://")?;
    if rest.starts_with('/') {
        return None;
    }
    let u = url::Url::parse(raw).ok()?;
    if !scheme.eq_ignore_ascii_case(u.scheme()) {
        return None;
    }
    let https = match u.scheme() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    if !u.username().is_empty() || u.password().is_some() {
        return None;
    }
    let host = u.host_str().filter(|h| !h.is_empty())?.to_string();
    let port = u.port_or_known_default()?;
    let authority = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    Some((https, host, port, path, authority))
}

/// Where to connect for `host:port`: the name itself when it resolves,
/// else the HTTP target's host (like `curl --resolve`), with a note.
/// `localhost` and `*.localhost` (RFC 6761: this machine, i.e. the server's
/// own) go to the HTTP target's host without asking DNS.
async fn connect_addr(host: &str, port: u16, t: &HttpTarget) -> (String, Option<String>) {
    let addr = format!("{host}:{port}");
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        let via = format!("{}:{port}", host_of(&t.addr));
        let note = format!("{host} is the server's own name: reached through {via}");
        return (via, Some(note));
    }
    let lookup = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::lookup_host(addr.clone()),
    );
    let resolves = match lookup.await {
        Ok(Ok(mut it)) => it.next().is_some(),
        _ => false,
    };
    match resolves {
        true => (addr, None),
        false => {
            let via = format!("{}:{port}", host_of(&t.addr));
            let note = format!("{host} does not resolve here: reached through {via}");
            (via, Some(note))
        }
    }
}

/// Whether a comma-separated CORS header value lists `item`
/// (case-insensitive; `*` lists everything).
fn cors_lists(value: Option<&str>, item: &str) -> bool {
    value.is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|x| x == "*" || x.eq_ignore_ascii_case(item))
    })
}

/// `Access-Control-Allow-Origin` allows `origin` (itself or `*`).
fn cors_origin_ok(r: &HttpResponse, origin: &str) -> bool {
    r.header("Access-Control-Allow-Origin")
        .is_some_and(|v| v.trim() == "*" || v.trim() == origin)
}

/// The CORS preflight a web client sends before its PUT: `OPTIONS` with
/// `Origin`, `Access-Control-Request-Method: PUT` and the request headers;
/// the answer must allow that origin, PUT and every header.
async fn preflight(
    addr: &str,
    path: &str,
    authority: &str,
    origin: &str,
    headers: &[&str],
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<String, String> {
    let wanted = headers.join(", ").to_ascii_lowercase();
    let req = HttpRequest {
        method: "OPTIONS",
        path,
        host: authority,
        headers: &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", &wanted),
        ],
        body: None,
    };
    let r = xmpp::http_request(addr, &req, tls, timeout, Some(MAX_BODY))
        .await
        .map_err(|e| format!("the CORS preflight (OPTIONS with Origin {origin}): {e}"))?
        .response;
    let mut missing = Vec::new();
    if !cors_origin_ok(&r, origin) {
        missing.push(format!(
            "Access-Control-Allow-Origin {:?}",
            r.header("Access-Control-Allow-Origin")
        ));
    }
    let methods = r.header("Access-Control-Allow-Methods");
    if !cors_lists(methods, "PUT") {
        missing.push(format!("PUT in Access-Control-Allow-Methods {methods:?}"));
    }
    let allowed = r.header("Access-Control-Allow-Headers");
    for h in headers {
        if !cors_lists(allowed, h) {
            missing.push(format!("{h} in Access-Control-Allow-Headers {allowed:?}"));
        }
    }
    if !(200..300).contains(&r.status) || !missing.is_empty() {
        return Err(format!(
            "the CORS preflight (OPTIONS with Origin {origin}, PUT) answered {} {} without {} (web clients cannot upload)",
            r.status,
            r.reason,
            if missing.is_empty() {
                "success".to_string()
            } else {
                missing.join(", ")
            }
        ));
    }
    Ok(format!(
        "preflight {} allows {origin}, PUT, {}",
        r.status,
        headers.join(", ")
    ))
}

/// XEP-0363 end to end as a web client does it: the CORS preflight, PUT
/// `body` to the slot's URL, then GET it back, both with `Origin` and both
/// answered with `Access-Control-Allow-Origin`.
pub(crate) async fn upload(
    service: &str,
    slot: &UploadSlot,
    body: &[u8],
    t: &HttpTarget,
    verify: &TlsVerify,
    timeout: Duration,
) -> Outcome {
    let fail = |missing: String| Outcome::Fail {
        missing: format!("upload slot from {service}: {missing}"),
    };
    let Some((https, host, port, path, authority)) = split_url(&slot.put_url) else {
        return fail(format!("unusable PUT URL {:?}", slot.put_url));
    };
    let (addr, note) = connect_addr(&host, port, t).await;
    let tls = https.then_some(verify);
    // Web clients are served from the domain's own site.
    let origin = format!("https://{}", t.host);
    let mut headers: Vec<(&str, &str)> = slot
        .put_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.push(("Content-Type", "text/plain"));
    let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    let started = std::time::Instant::now();
    let cors = match preflight(&addr, &path, &authority, &origin, &names, tls, timeout).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    headers.push(("Origin", &origin));
    let put = HttpRequest {
        method: "PUT",
        path: &path,
        host: &authority,
        headers: &headers,
        body: Some(body),
    };
    let remaining = timeout.saturating_sub(started.elapsed());
    let r = match xmpp::http_request(&addr, &put, tls, remaining, Some(MAX_BODY)).await {
        Ok(r) => r.response,
        Err(e) => return fail(format!("PUT {}: {e}", slot.put_url)),
    };
    if !matches!(r.status, 200 | 201) {
        return fail(format!(
            "PUT {} answered {} {}",
            slot.put_url, r.status, r.reason
        ));
    }
    let put_status = format!("{} {}", r.status, r.reason);
    if !cors_origin_ok(&r, &origin) {
        return fail(format!(
            "PUT {} → {put_status} without Access-Control-Allow-Origin for {origin} (got {:?}): a web client cannot read the answer",
            slot.put_url,
            r.header("Access-Control-Allow-Origin")
        ));
    }
    let Some((https, host, port, path, authority)) = split_url(&slot.get_url) else {
        return fail(format!("unusable GET URL {:?}", slot.get_url));
    };
    let (addr, _) = connect_addr(&host, port, t).await;
    let get = HttpRequest {
        method: "GET",
        path: &path,
        host: &authority,
        headers: &[("Origin", &origin)],
        body: None,
    };
    let remaining = timeout.saturating_sub(started.elapsed());
    let x = match xmpp::http_request(
        &addr,
        &get,
        https.then_some(verify),
        remaining,
        Some(body.len() + 1024),
    )
    .await
    {
        Ok(x) => x,
        Err(e) => return fail(format!("PUT → {put_status}, but GET {}: {e}", slot.get_url)),
    };
    if x.response.status != 200 || x.body != body {
        return fail(format!(
            "PUT → {put_status}, but GET {} answered {} {} with {} bytes (expected the {} uploaded)",
            slot.get_url,
            x.response.status,
            x.response.reason,
            x.body.len(),
            body.len()
        ));
    }
    if !cors_origin_ok(&x.response, &origin) {
        return fail(format!(
            "PUT → {put_status}, GET → 200, but GET without Access-Control-Allow-Origin for {origin} (got {:?}): a web client cannot read the file",
            x.response.header("Access-Control-Allow-Origin")
        ));
    }
    Outcome::Pass {
        evidence: format!(
            "slot from {service}; CORS {cors}; PUT {} → {put_status}; GET → 200, the {} bytes came back; both with Access-Control-Allow-Origin for {origin}{}",
            slot.put_url,
            body.len(),
            note.map(|n| format!(" ({n})")).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("https://upload.localhost:5281/file_share/x/a.txt?q=1"),
            Some((
                true,
                "upload.localhost".into(),
                5281,
                "/file_share/x/a.txt?q=1".into(),
                "upload.localhost:5281".into()
            ))
        );
        assert_eq!(
            split_url("http://example.org").map(|u| (u.2, u.3)),
            Some((80, "/".into()))
        );
        assert_eq!(
            split_url("http://[::1]:8080/p").map(|u| u.1),
            Some("[::1]".into())
        );
        assert_eq!(split_url("ftp://x/y"), None);
        assert_eq!(split_url("http:///p"), None);
        assert_eq!(split_url("http:h/p"), None);
        assert_eq!(split_url("http://h\\p"), None);
        assert_eq!(split_url("http://h:99999/"), None);
        assert_eq!(split_url("http://user@h/"), None);
        assert_eq!(split_url("http://h/a b"), None);
        assert_eq!(split_url("http://h/a\r\nX: y"), None);
        // The fragment stays on this side; the Host header carries the port.
        assert_eq!(
            split_url("http://h:8080/p?x=1#frag").map(|u| (u.3, u.4)),
            Some(("/p?x=1".into(), "h:8080".into()))
        );
    }

    #[test]
    fn xml_bodies_with_declarations_parse() {
        let el = parse_body(
            b"<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\
              <Link rel='urn:xmpp:alt-connections:websocket' href='ws://h/xmpp-websocket'/></XRD>\n",
        )
        .unwrap();
        assert!(el.is("XRD", NS_XRD));
        assert_eq!(el.children.len(), 1);
    }
}
