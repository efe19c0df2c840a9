//! `pfe proxy nginx`: an nginx `server` block in front of Prosody's HTTP
//! for `http_external_url` deployments, and a check of an nginx file
//! against the config it fronts (`--verify`).
//!
//! The block serves the external URL's host and path prefix and forwards to
//! Prosody's plain HTTP port (first of `http_ports`, default 5280, on
//! loopback) with the Host Prosody routes by: BOSH (`proxy_read_timeout`
//! longer than `bosh_max_wait`), WebSocket (HTTP/1.1 with the Upgrade and
//! Connection headers, a long read timeout), host-meta, and the upload
//! component's `/file_share/` with `client_max_body_size` equal to its
//! `http_file_share_size_limit` and Host set to the component.
//!
//! Every value goes through [`Emitter`]: a bare word when it is plainly a
//! word, else a double-quoted string with `"` and `\` escaped; control
//! characters and `$` (nginx would interpolate it) are refused, so no input
//! ends a directive or opens a block.

use pfe_core::engine::Build;
use pfe_core::sandbox::{Evaluated, SectionKind};
use pfe_core::value::Value;
use serde::Serialize;

/// Prosody's defaults (mod_bosh, mod_http_file_share, net.http.server).
pub const DEFAULT_BOSH_MAX_WAIT: i64 = 120;
pub const DEFAULT_UPLOAD_LIMIT: i64 = 10 * 1024 * 1024;
pub const DEFAULT_HTTP_PORT: u16 = 5280;
/// nginx's own default client_max_body_size (1m).
pub const NGINX_DEFAULT_BODY: i64 = 1024 * 1024;
/// Read timeout for WebSocket connections (seconds).
pub const WEBSOCKET_READ_TIMEOUT: i64 = 900;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "the config has no http_external_url: set PROSODY_HTTP_EXTERNAL_URL to the public URL nginx serves (e.g. https://xmpp.example.org/)"
    )]
    NoExternalUrl,
    #[error("http_external_url {0:?} is not an http:// or https:// URL with a host")]
    BadExternalUrl(String),
    #[error("{what}: {value:?} cannot be written into nginx's config ({why})")]
    Unsafe {
        what: String,
        value: String,
        why: &'static str,
    },
    #[error("web/http is off: Prosody serves no HTTP to put nginx in front of")]
    NoHttp,
}

/// The one way text enters the nginx file.
pub struct Emitter {
    out: String,
    depth: usize,
}

impl Emitter {
    pub fn new() -> Emitter {
        Emitter {
            out: String::new(),
            depth: 0,
        }
    }

    /// `value` as one nginx token.
    pub fn token(what: &str, value: &str) -> Result<String, ProxyError> {
        let unsafe_ = |why| ProxyError::Unsafe {
            what: what.to_string(),
            value: value.to_string(),
            why,
        };
        if value.chars().any(char::is_control) {
            return Err(unsafe_("control characters such as a newline"));
        }
        if value.contains('$') {
            return Err(unsafe_("nginx expands $ as a variable"));
        }
        if value.is_empty() {
            return Ok("\"\"".into());
        }
        let bare = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-[]=,@+%*~".contains(&b));
        if bare {
            return Ok(value.to_string());
        }
        let mut q = String::from("\"");
        for c in value.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        Ok(q)
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }

    /// A comment line; the text may not hold a newline (refused like a
    /// value, so nothing follows the comment onto a new line).
    pub fn comment(&mut self, text: &str) -> Result<(), ProxyError> {
        if text.chars().any(char::is_control) {
            return Err(ProxyError::Unsafe {
                what: "comment".into(),
                value: text.into(),
                why: "control characters such as a newline",
            });
        }
        self.indent();
        self.out.push_str("# ");
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    /// `name arg…;` — `name` is pfe's own constant, `args` are (what, value).
    pub fn directive(
        &mut self,
        name: &'static str,
        args: &[(&str, &str)],
    ) -> Result<(), ProxyError> {
        self.indent();
        self.out.push_str(name);
        for (what, v) in args {
            self.out.push(' ');
            self.out.push_str(&Emitter::token(what, v)?);
        }
        self.out.push_str(";\n");
        Ok(())
    }

    /// A line of pfe's own (nginx variables such as `$scheme` only come
    /// in this way, never from input).
    pub fn constant(&mut self, line: &'static str) {
        self.indent();
        self.out.push_str(line);
        self.out.push('\n');
    }

    pub fn open(&mut self, name: &'static str, args: &[(&str, &str)]) -> Result<(), ProxyError> {
        self.indent();
        self.out.push_str(name);
        for (what, v) in args {
            self.out.push(' ');
            self.out.push_str(&Emitter::token(what, v)?);
        }
        self.out.push_str(" {\n");
        self.depth += 1;
        Ok(())
    }

    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("}\n");
    }

    pub fn blank(&mut self) {
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

impl Default for Emitter {
    fn default() -> Emitter {
        Emitter::new()
    }
}

/// The external URL, split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalUrl {
    pub https: bool,
    pub host: String,
    pub port: Option<u16>,
    /// Starts and ends with `/`.
    pub prefix: String,
}

pub fn parse_external_url(url: &str) -> Result<ExternalUrl, ProxyError> {
    let bad = || ProxyError::BadExternalUrl(url.to_string());
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') || path.contains(['?', '#']) {
        return Err(bad());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            if p.is_empty() || !h.contains(']') && h.contains(':') {
                return Err(bad());
            }
            (h, Some(p.parse::<u16>().map_err(|_| bad())?))
        }
        _ => (authority, None),
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    if !ok {
        return Err(bad());
    }
    let mut prefix = path.to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(ExternalUrl {
        https,
        host: host.to_ascii_lowercase(),
        port,
        prefix,
    })
}

/// What the block is made from (all from the resolved config).
#[derive(Debug, Clone, Serialize)]
pub struct ProxyPlan {
    pub external: ExternalUrl,
    pub external_url: String,
    pub domain: String,
    /// `127.0.0.1:<http port>`.
    pub upstream: String,
    pub bosh: bool,
    pub bosh_max_wait: i64,
    pub websocket: bool,
    /// (component name, size limit in bytes).
    pub upload: Option<(String, i64)>,
    pub trusted_proxies: Vec<String>,
}

fn int_opt(ev: &Evaluated, section: &str, key: &str) -> Option<i64> {
    match ev.section(section)?.options.get(key).map(|o| &o.value) {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::Float(f)) => Some(*f as i64),
        _ => None,
    }
}

fn first_port(ev: &Evaluated, key: &str) -> Option<u16> {
    match ev.global().options.get(key).map(|o| &o.value) {
        Some(Value::List(l)) => l.iter().find_map(|v| match v {
            Value::Int(i) => u16::try_from(*i).ok(),
            _ => None,
        }),
        _ => None,
    }
}

/// Reads what the block needs from `build`.
pub fn plan(build: &Build, upstream: Option<&str>) -> Result<ProxyPlan, ProxyError> {
    let ev = &build.evaluated;
    let on = |f: &str| build.resolution.order.iter().any(|x| x == f);
    if !on("web/http") {
        return Err(ProxyError::NoHttp);
    }
    let url = ev
        .global()
        .options
        .get("http_external_url")
        .and_then(|o| o.value.as_str())
        .filter(|s| !s.is_empty())
        .ok_or(ProxyError::NoExternalUrl)?
        .to_string();
    let external = parse_external_url(&url)?;
    let upload = ev.sections.iter().find_map(|s| match &s.kind {
        SectionKind::Component { module } if module == "http_file_share" => Some((
            s.name.clone(),
            int_opt(ev, &s.name, "http_file_share_size_limit").unwrap_or(DEFAULT_UPLOAD_LIMIT),
        )),
        _ => None,
    });
    let trusted_proxies = match ev.global().options.get("trusted_proxies").map(|o| &o.value) {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec!["127.0.0.1".into(), "::1".into()],
    };
    Ok(ProxyPlan {
        external,
        external_url: url,
        domain: build.domain.clone(),
        upstream: upstream.map(str::to_string).unwrap_or_else(|| {
            format!(
                "127.0.0.1:{}",
                first_port(ev, "http_ports").unwrap_or(DEFAULT_HTTP_PORT)
            )
        }),
        bosh: on("web/bosh"),
        bosh_max_wait: int_opt(ev, "*", "bosh_max_wait").unwrap_or(DEFAULT_BOSH_MAX_WAIT),
        websocket: on("web/websocket"),
        upload,
        trusted_proxies,
    })
}

/// Where nginx listens and its certificate (https external URLs).
#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// `[ADDRESS:]PORT`; default the external URL's port (443/80).
    pub listen: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

fn location(
    e: &mut Emitter,
    plan: &ProxyPlan,
    path: &str,
    host: &str,
    extra: impl FnOnce(&mut Emitter) -> Result<(), ProxyError>,
) -> Result<(), ProxyError> {
    let public = format!("{}{}", plan.external.prefix, path.trim_start_matches('/'));
    e.open("location", &[("location", &public)])?;
    e.directive(
        "proxy_pass",
        &[(
            "upstream",
            &format!("http://{}/{}", plan.upstream, path.trim_start_matches('/')),
        )],
    )?;
    e.directive("proxy_set_header", &[("header", "Host"), ("host", host)])?;
    e.constant("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
    e.constant("proxy_set_header X-Forwarded-Proto $scheme;");
    extra(e)?;
    e.close();
    Ok(())
}

/// The nginx `server` block for `plan`.
pub fn render(plan: &ProxyPlan, listen: &Listen) -> Result<String, ProxyError> {
    let mut e = Emitter::new();
    e.comment(&format!(
        "pfe proxy nginx: {} in front of Prosody's HTTP at {}",
        Emitter::token("http_external_url", &plan.external_url)?,
        Emitter::token("upstream", &plan.upstream)?
    ))?;
    e.comment(&format!(
        "Prosody trusts X-Forwarded-For from trusted_proxies = {}: nginx must connect from one of them",
        plan.trusted_proxies
            .iter()
            .map(|t| Emitter::token("trusted_proxies", t))
            .collect::<Result<Vec<_>, _>>()?
            .join(", ")
    ))?;
    e.comment("Check it again after edits: pfe proxy nginx --verify FILE")?;
    e.open("server", &[])?;
    let port = plan
        .external
        .port
        .unwrap_or(if plan.external.https { 443 } else { 80 })
        .to_string();
    let listen_at = listen.listen.clone().unwrap_or(port);
    if plan.external.https {
        e.directive("listen", &[("--listen", &listen_at), ("listen", "ssl")])?;
        let cert = listen
            .certificate
            .clone()
            .unwrap_or_else(|| format!("/etc/nginx/certs/{}.crt", plan.external.host));
        let key = listen
            .key
            .clone()
            .unwrap_or_else(|| format!("/etc/nginx/certs/{}.key", plan.external.host));
        e.directive("ssl_certificate", &[("--certificate", &cert)])?;
        e.directive("ssl_certificate_key", &[("--key", &key)])?;
    } else {
        e.directive("listen", &[("--listen", &listen_at)])?;
    }
    e.directive(
        "server_name",
        &[("http_external_url host", &plan.external.host)],
    )?;
    e.blank();
    let domain = plan.domain.clone();
    if plan.bosh {
        e.comment(&format!(
            "BOSH: longer than bosh_max_wait ({} s) so nginx never cuts a held request",
            plan.bosh_max_wait
        ))?;
        let t = format!("{}s", plan.bosh_max_wait + 30);
        location(&mut e, plan, "/http-bind", &domain, |e| {
            e.directive("proxy_read_timeout", &[("timeout", &t)])?;
            e.directive("proxy_buffering", &[("", "off")])
        })?;
    }
    if plan.websocket {
        e.comment("WebSocket: HTTP/1.1 upgrade")?;
        let t = format!("{WEBSOCKET_READ_TIMEOUT}s");
        location(&mut e, plan, "/xmpp-websocket", &domain, |e| {
            e.directive("proxy_http_version", &[("", "1.1")])?;
            e.constant("proxy_set_header Upgrade $http_upgrade;");
            e.directive("proxy_set_header", &[("", "Connection"), ("", "Upgrade")])?;
            e.directive("proxy_read_timeout", &[("timeout", &t)])
        })?;
    }
    e.comment("XEP-0156 connection discovery")?;
    location(&mut e, plan, "/.well-known/host-meta", &domain, |_| Ok(()))?;
    location(&mut e, plan, "/.well-known/host-meta.json", &domain, |_| {
        Ok(())
    })?;
    if let Some((host, limit)) = &plan.upload {
        e.comment(&format!(
            "XEP-0363 uploads: client_max_body_size = http_file_share_size_limit of {host}"
        ))?;
        let l = limit.to_string();
        location(&mut e, plan, "/file_share/", host, |e| {
            e.directive("client_max_body_size", &[("", &l)])?;
            e.directive("proxy_request_buffering", &[("", "off")])
        })?;
    }
    e.close();
    Ok(e.finish())
}

// ---- --verify --------------------------------------------------------------

/// A directive of an nginx file: its words and, for blocks, children.
#[derive(Debug, Clone)]
pub struct Node {
    pub words: Vec<String>,
    pub line: usize,
    pub children: Option<Vec<Node>>,
}

/// Parses nginx syntax (words, quotes, `;`, `{}`, comments) into a tree.
pub fn parse(text: &str) -> Result<Vec<Node>, String> {
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    let mut heads: Vec<(Vec<String>, usize)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            ';' => {
                let node = Node {
                    words: std::mem::take(&mut words),
                    line: start,
                    children: None,
                };
                stack.last_mut().expect("a level").push(node);
            }
            '{' => {
                heads.push((std::mem::take(&mut words), start));
                stack.push(Vec::new());
            }
            '}' => {
                let (w, l) = heads.pop().ok_or(format!("line {line}: unexpected }}"))?;
                let children = stack.pop().expect("a level");
                stack.last_mut().expect("a level").push(Node {
                    words: w,
                    line: l,
                    children: Some(children),
                });
            }
            '"' | '\'' => {
                if words.is_empty() {
                    start = line;
                }
                let mut w = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {line}: unterminated quote")),
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                w.push(n);
                            }
                        }
                        Some(q) if q == c => break,
                        Some(o) => {
                            if o == '\n' {
                                line += 1;
                            }
                            w.push(o);
                        }
                    }
                }
                words.push(w);
            }
            _ => {
                if words.is_empty() {
                    start = line;
                }
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || ";{}#\"'".contains(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                words.push(w);
            }
        }
    }
    if !heads.is_empty() || stack.len() != 1 {
        return Err("unclosed {".into());
    }
    Ok(stack.pop().expect("the top level"))
}

/// nginx sizes: `10m`, `512k`, `1g`, bytes; 0 = unlimited.
pub fn parse_size(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    let (n, mul) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1024),
        'm' => (&s[..s.len() - 1], 1024 * 1024),
        'g' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s.as_str(), 1),
    };
    n.parse::<i64>().ok().map(|v| v * mul)
}

/// nginx times: `90s`, `2m`, `1h`, seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    let (n, mul) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1),
        'm' => (&s[..s.len() - 1], 60),
        'h' => (&s[..s.len() - 1], 3600),
        _ => (s.as_str(), 1),
    };
    n.parse::<i64>().ok().map(|v| v * mul)
}

/// One finding of `--verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// file line of the directive (or the location) concerned.
    pub line: usize,
    pub message: String,
}

fn find<'a>(nodes: &'a [Node], name: &str) -> Option<&'a Node> {
    nodes
        .iter()
        .rev()
        .find(|n| n.words.first().is_some_and(|w| w == name))
}

/// The `location` whose path is `path` in any server block, with the
/// directives that apply in it (its own, else the server's, else http's).
fn locate<'a>(tree: &'a [Node], path: &str) -> Option<(&'a Node, Vec<&'a [Node]>)> {
    fn walk<'a>(nodes: &'a [Node], path: &str, scopes: &mut Vec<&'a [Node]>) -> Option<&'a Node> {
        for n in nodes {
            let Some(children) = &n.children else {
                continue;
            };
            if n.words.first().is_some_and(|w| w == "location")
                && n.words.last().is_some_and(|w| w == path)
            {
                scopes.push(children);
                return Some(n);
            }
            scopes.push(children);
            if let Some(hit) = walk(children, path, scopes) {
                return Some(hit);
            }
            scopes.pop();
        }
        None
    }
    let mut scopes = vec![tree];
    let hit = walk(tree, path, &mut scopes)?;
    scopes.reverse();
    Some((hit, scopes))
}

fn lookup<'a>(scopes: &[&'a [Node]], name: &str) -> Option<&'a Node> {
    scopes.iter().find_map(|s| find(s, name))
}

/// Checks an nginx file (its text) against `plan`: the paths are proxied,
/// WebSocket upgrades, BOSH outlasts bosh_max_wait, and uploads Prosody
/// grants fit under nginx's body limit.
pub fn verify(plan: &ProxyPlan, text: &str) -> Result<Vec<Mismatch>, String> {
    let tree = parse(text)?;
    let mut out = Vec::new();
    let p = |path: &str| format!("{}{}", plan.external.prefix, path.trim_start_matches('/'));
    let mut need = |path: String, what: &str| -> Option<(usize, Vec<&[Node]>)> {
        match locate(&tree, &path) {
            Some((n, scopes)) => Some((n.line, scopes)),
            None => {
                out.push(Mismatch {
                    line: 0,
                    message: format!("no `location {path}` for {what}"),
                });
                None
            }
        }
    };
    let mut found = Vec::new();
    if plan.bosh
        && let Some((line, scopes)) = need(p("/http-bind"), "BOSH")
    {
        found.push(("bosh", line, scopes));
    }
    if plan.websocket
        && let Some((line, scopes)) = need(p("/xmpp-websocket"), "WebSocket")
    {
        found.push(("ws", line, scopes));
    }
    if plan.upload.is_some()
        && let Some((line, scopes)) = need(p("/file_share/"), "XEP-0363 uploads")
    {
        found.push(("upload", line, scopes));
    }
    for (what, line, scopes) in found {
        match what {
            "bosh" => {
                let t = lookup(&scopes, "proxy_read_timeout");
                let secs = t
                    .and_then(|n| n.words.get(1))
                    .and_then(|w| parse_time(w))
                    .unwrap_or(60);
                if secs <= plan.bosh_max_wait {
                    out.push(Mismatch {
                        line: t.map_or(line, |n| n.line),
                        message: format!(
                            "BOSH: proxy_read_timeout is {secs} s, not longer than Prosody's bosh_max_wait ({} s): nginx cuts held requests",
                            plan.bosh_max_wait
                        ),
                    });
                }
            }
            "ws" => {
                let headers: Vec<&Node> = scopes
                    .first()
                    .map(|s| {
                        s.iter()
                            .filter(|n| n.words.first().is_some_and(|w| w == "proxy_set_header"))
                            .collect()
                    })
                    .unwrap_or_default();
                for h in ["upgrade", "connection"] {
                    if !headers
                        .iter()
                        .any(|n| n.words.get(1).is_some_and(|w| w.eq_ignore_ascii_case(h)))
                    {
                        out.push(Mismatch {
                            line,
                            message: format!(
                                "WebSocket: no `proxy_set_header {}`: the upgrade never reaches Prosody",
                                if h == "upgrade" { "Upgrade $http_upgrade" } else { "Connection \"Upgrade\"" }
                            ),
                        });
                    }
                }
                let v = lookup(&scopes, "proxy_http_version");
                if v.and_then(|n| n.words.get(1)).is_none_or(|w| w != "1.1") {
                    out.push(Mismatch {
                        line,
                        message: "WebSocket: proxy_http_version is not 1.1 (nginx proxies HTTP/1.0 by default, which cannot upgrade)".into(),
                    });
                }
            }
            _ => {
                let (host, limit) = plan.upload.clone().expect("upload is planned");
                let n = lookup(&scopes, "client_max_body_size");
                let size = n
                    .and_then(|n| n.words.get(1))
                    .and_then(|w| parse_size(w))
                    .unwrap_or(NGINX_DEFAULT_BODY);
                if size != 0 && size < limit {
                    out.push(Mismatch {
                        line: n.map_or(line, |n| n.line),
                        message: format!(
                            "uploads: nginx's client_max_body_size ({size} bytes) is below Prosody's http_file_share_size_limit of {host} ({limit} bytes): uploads Prosody grants a slot for are refused by nginx (413)"
                        ),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_break_out() {
        assert_eq!(Emitter::token("x", "a.b:80").unwrap(), "a.b:80");
        assert_eq!(Emitter::token("x", "a b;c{").unwrap(), "\"a b;c{\"");
        assert_eq!(Emitter::token("x", "a\"b\\").unwrap(), "\"a\\\"b\\\\\"");
        assert!(Emitter::token("x", "a\nb").is_err());
        assert!(Emitter::token("x", "$host").is_err());
        // What parse reads back is what went in.
        for v in ["a b;c{}", "q\"uo\\te", "#not a comment", "'single'"] {
            let text = format!("x {};", Emitter::token("x", v).unwrap());
            let tree = parse(&text).unwrap();
            assert_eq!(tree.len(), 1, "{text}");
            assert_eq!(tree[0].words, ["x", v], "{text}");
        }
    }

    #[test]
    fn external_urls() {
        let u = parse_external_url("https://xmpp.x.org/").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.prefix.as_str()),
            (true, "xmpp.x.org", None, "/")
        );
        let u = parse_external_url("http://127.0.0.1:8080/chat").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (Some(8080), "/chat/"));
        assert!(parse_external_url("ftp://x").is_err());
        assert!(parse_external_url("https://a b/").is_err());
        assert!(parse_external_url("https://u@x/").is_err());
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(parse_size("10m"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("512K"), Some(512 * 1024));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_time("2m"), Some(120));
        assert_eq!(parse_time("150s"), Some(150));
        assert_eq!(parse_time("30"), Some(30));
    }
}
