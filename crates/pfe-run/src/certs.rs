//! `pfe certs`: for every name a config serves, the certificate and key
//! Prosody 13 will pick (core/certmanager.lua, mirrored below), and what is
//! wrong with them before a client finds out: a name the certificate does
//! not cover, an expired or soon expiring certificate, a key that is not the
//! certificate's, files Prosody's user cannot read.
//!
//! Prosody's lookup for a host (`find_host_cert`), repeated for each parent
//! domain until one answers:
//! 1. the index of the `certificates` directory (3 levels deep): files named
//!    `*.crt` or containing `fullchain`, starting with a PEM certificate,
//!    with a key file next to them (`.crt`→`.key`, `fullchain`→`privkey`),
//!    not expired, by their subject names (the host itself or `*.<parent>`);
//! 2. by file name in the host's `certificate` option or the global
//!    `certificates` directory: `<name>.crt`+`<name>.key`,
//!    `<name>/fullchain.pem`+`<name>/privkey.pem`, `<name>.pem` (both);
//!
//! A host whose `ssl` option names its files uses those.
//!
//! Reads files only (bounded); no network, no printing.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use pfe_core::fsutil::{self, Kind};
use pfe_core::sandbox::{Evaluated, SectionKind};
use pfe_core::value::{Key, Value};
use rcgen::PublicKeyData as _;
use serde::Serialize;

/// The image's `prosody` user and group (docker/Dockerfile).
pub const PROSODY_UID: u32 = 999;
pub const PROSODY_GID: u32 = 999;

/// Below this many seconds of validity left a certificate is an error.
pub const ERROR_SECS: i64 = 86_400;
/// Warning thresholds in days (the first that applies is reported).
pub const WARN_DAYS: [i64; 2] = [7, 31];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

/// One thing found about one name's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Prosody finds no certificate and key for the name.
    Missing { tried: Vec<PathBuf> },
    /// The file is not a PEM certificate (or cannot be read at all).
    Unparsable { path: PathBuf, reason: String },
    /// The certificate's subject names do not include the name.
    NotCovered { names: Vec<String> },
    /// Valid until `not_after` (RFC 3339), `days` left (negative: expired).
    Expiry {
        not_after: String,
        days: i64,
        secs: i64,
    },
    /// Not valid before `not_before`.
    NotYetValid { not_before: String },
    /// The key's public key matches the certificate's.
    KeyMatches,
    /// The key belongs to another certificate.
    KeyMismatch { key: PathBuf },
    /// The key could not be compared (format pfe does not read, e.g. a
    /// traditional `RSA PRIVATE KEY`).
    KeyNotChecked { key: PathBuf, reason: String },
    /// uid/gid `uid` cannot read `path` (mode, owner, a directory on the way).
    Unreadable {
        path: PathBuf,
        uid: u32,
        reason: String,
    },
}

impl Finding {
    pub fn severity(&self) -> Severity {
        match self {
            Finding::Missing { .. }
            | Finding::Unparsable { .. }
            | Finding::NotCovered { .. }
            | Finding::NotYetValid { .. }
            | Finding::KeyMismatch { .. }
            | Finding::Unreadable { .. } => Severity::Error,
            Finding::Expiry { secs, days, .. } => {
                if *secs < ERROR_SECS {
                    Severity::Error
                } else if *days < WARN_DAYS[1] {
                    Severity::Warning
                } else {
                    Severity::Ok
                }
            }
            Finding::KeyNotChecked { .. } => Severity::Warning,
            Finding::KeyMatches => Severity::Ok,
        }
    }

    /// One line for people.
    pub fn message(&self) -> String {
        let show = |p: &Path| fsutil_visible(p);
        match self {
            Finding::Missing { tried } => format!(
                "no certificate and key Prosody would use; tried {}",
                tried.iter().map(|p| show(p)).collect::<Vec<_>>().join(", ")
            ),
            Finding::Unparsable { path, reason } => {
                format!("{} is not a usable certificate: {reason}", show(path))
            }
            Finding::NotCovered { names } => format!(
                "the certificate does not cover this name; it is for {}",
                if names.is_empty() {
                    "no DNS name".to_string()
                } else {
                    names.join(", ")
                }
            ),
            Finding::Expiry {
                not_after,
                days,
                secs,
            } => {
                if *secs <= 0 {
                    format!("expired on {not_after}")
                } else if *secs < ERROR_SECS {
                    format!("expires within a day ({not_after})")
                } else if *days < WARN_DAYS[0] {
                    format!(
                        "expires in {days} days ({not_after}), less than {}",
                        WARN_DAYS[0]
                    )
                } else if *days < WARN_DAYS[1] {
                    format!(
                        "expires in {days} days ({not_after}), less than {}",
                        WARN_DAYS[1]
                    )
                } else {
                    format!("valid until {not_after} ({days} days)")
                }
            }
            Finding::NotYetValid { not_before } => format!("not valid before {not_before}"),
            Finding::KeyMatches => "the key matches the certificate".into(),
            Finding::KeyMismatch { key } => format!(
                "the key {} does not belong to this certificate (its public key differs)",
                show(key)
            ),
            Finding::KeyNotChecked { key, reason } => {
                format!("the key {} was not compared: {reason}", show(key))
            }
            Finding::Unreadable { path, uid, reason } => {
                format!("{} is not readable by uid {uid}: {reason}", show(path))
            }
        }
    }
}

fn fsutil_visible(p: &Path) -> String {
    pfe_core::emit::visible(&p.to_string_lossy())
}

/// How Prosody came to the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selected {
    /// The directory index, by the certificate's subject names.
    Index,
    /// By file name.
    FileName,
    /// The host's `ssl` option.
    SslOption,
}

/// One served name and its certificate.
#[derive(Debug, Clone, Serialize)]
pub struct NameReport {
    pub name: String,
    /// `domain`, `virtualhost` or `component <module>`.
    pub role: String,
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub selected: Option<Selected>,
    /// For the name itself or a parent domain (`for_name`).
    pub for_name: Option<String>,
    pub findings: Vec<Finding>,
}

impl NameReport {
    pub fn severity(&self) -> Severity {
        self.findings
            .iter()
            .map(Finding::severity)
            .max()
            .unwrap_or(Severity::Ok)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The `certificates` directory searched.
    pub dir: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub names: Vec<NameReport>,
}

impl Report {
    pub fn severity(&self) -> Severity {
        self.names
            .iter()
            .map(NameReport::severity)
            .max()
            .unwrap_or(Severity::Ok)
    }
}

/// What to check against.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `certificates` directory (default: the config's, relative to
    /// `config_dir`).
    pub dir: Option<PathBuf>,
    /// Where the config lives (relative paths in it are relative to this);
    /// the image's /etc/prosody by default.
    pub config_dir: PathBuf,
    /// The user Prosody runs as.
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch to judge expiry at (now by default).
    pub now: Option<i64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dir: None,
            config_dir: Path::new(pfe_core::layout::CONFIG_PATH)
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf(),
            uid: PROSODY_UID,
            gid: PROSODY_GID,
            now: None,
        }
    }
}

/// The names a config serves: the VirtualHosts and Components, in order,
/// with their role.
pub fn served_names(ev: &Evaluated) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in &ev.sections {
        let role = match &s.kind {
            SectionKind::Global => continue,
            SectionKind::VirtualHost => "virtualhost".to_string(),
            SectionKind::Component { module } => format!("component {module}"),
        };
        let n = s.name.to_ascii_lowercase();
        if !out.iter().any(|(m, _)| *m == n) {
            out.push((n, role));
        }
    }
    out
}

fn str_opt(ev: &Evaluated, host: &str, key: &str) -> Option<String> {
    let get = |s: &pfe_core::sandbox::Section| match s.options.get(key).map(|o| &o.value) {
        Some(Value::Str(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    };
    ev.section(host).and_then(get)
}

fn ssl_files(ev: &Evaluated, host: &str) -> Option<(PathBuf, PathBuf)> {
    let section = ev.section(host).or_else(|| Some(ev.global()))?;
    let find = |s: &pfe_core::sandbox::Section| -> Option<(PathBuf, PathBuf)> {
        let Some(Value::Map(m)) = s.options.get("ssl").map(|o| &o.value) else {
            return None;
        };
        let get = |k: &str| {
            m.iter().find_map(|(key, v)| match (key, v) {
                (Key::Str(s), Value::Str(p)) if s == k => Some(PathBuf::from(p)),
                _ => None,
            })
        };
        Some((get("certificate")?, get("key")?))
    };
    find(section).or_else(|| find(ev.global()))
}

/// A certificate file as Prosody's index sees it.
struct Indexed {
    path: PathBuf,
    key: PathBuf,
    names: Vec<String>,
}

fn matching_key(cert: &Path) -> PathBuf {
    let s = cert.to_string_lossy();
    let s = match s.strip_suffix(".crt") {
        Some(stem) => format!("{stem}.key"),
        None => s.into_owned(),
    };
    PathBuf::from(s.replace("fullchain", "privkey"))
}

fn index(dir: &Path, depth: u32, now: i64, out: &mut Vec<Indexed>) {
    if depth == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') {
                index(&p, depth - 1, now, out);
            }
            continue;
        }
        if !(name.ends_with(".crt") || name.contains("fullchain")) {
            continue;
        }
        let key = matching_key(&p);
        if !key.is_file() {
            continue;
        }
        let Ok(bytes) = fsutil::read_bounded(&p, Kind::CaFile) else {
            continue;
        };
        if !bytes.starts_with(b"-----BEGIN CERTIFICATE-----") {
            continue;
        }
        let Ok(info) = parse_cert(&bytes) else {
            continue;
        };
        if info.not_after <= now || info.not_before > now {
            continue;
        }
        out.push(Indexed {
            path: p,
            key,
            names: info.names,
        });
    }
}

/// What pfe reads from a certificate.
struct CertInfo {
    names: Vec<String>,
    not_before: i64,
    not_after: i64,
    not_before_text: String,
    not_after_text: String,
    public_key: Vec<u8>,
}

fn parse_cert(bytes: &[u8]) -> Result<CertInfo, String> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(bytes).map_err(|e| format!("no PEM certificate ({e})"))?;
    if pem.label != "CERTIFICATE" {
        return Err(format!(
            "the first PEM block is {:?}, not CERTIFICATE",
            pem.label
        ));
    }
    let cert = pem.parse_x509().map_err(|e| format!("bad X.509: {e}"))?;
    let names = pfe_core::x509::names(&cert);
    let v = cert.validity();
    let text = |t: &x509_parser::time::ASN1Time| rfc3339(t.timestamp());
    Ok(CertInfo {
        names,
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
        not_before_text: text(&v.not_before),
        not_after_text: text(&v.not_after),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
    })
}

/// Whether a certificate for `names` covers `host` (RFC 6125: `*` matches
/// exactly one left-most label).
pub use pfe_core::x509::covers;

/// The files Prosody tries by name for `name` in `dir` (its `crt_try` /
/// `key_try`, without the "" entry, which only applies to an explicit
/// `certificate` path).
pub fn name_candidates(dir: &Path, name: &str) -> Vec<(PathBuf, PathBuf)> {
    vec![
        (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        ),
        (
            dir.join(name).join("fullchain.pem"),
            dir.join(name).join("privkey.pem"),
        ),
        (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.pem")),
        ),
    ]
}

/// `find_cert`: the candidates of `name` under `base` (a directory, or an
/// explicit file), the first whose certificate and key are both files.
fn find_by_name(base: &Path, name: &str, tried: &mut Vec<PathBuf>) -> Option<(PathBuf, PathBuf)> {
    let mut cands = Vec::new();
    if base.is_file() {
        let k = matching_key(base);
        cands.push((base.to_path_buf(), k));
    }
    cands.extend(name_candidates(base, name));
    for (c, k) in cands {
        tried.push(c.clone());
        if c.is_file() && k.is_file() {
            return Some((c, k));
        }
    }
    None
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Checks every name `ev` serves (plus `domain` first, when given).
pub fn check(ev: &Evaluated, domain: Option<&str>, opts: &Options) -> Report {
    let now = opts.now.unwrap_or_else(now_secs);
    let resolve = |p: &str| opts.config_dir.join(p);
    let dir = opts.dir.clone().unwrap_or_else(|| {
        str_opt(ev, "*", "certificates").map_or_else(|| resolve("certs"), |d| resolve(&d))
    });
    let mut indexed = Vec::new();
    index(&dir, 3, now, &mut indexed);
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in indexed.iter().enumerate() {
        for n in &c.names {
            by_name.entry(n.clone()).or_insert(i);
        }
    }
    let mut names = served_names(ev);
    if let Some(d) = domain {
        let d = d.to_ascii_lowercase();
        if let Some(pos) = names.iter().position(|(n, _)| *n == d) {
            names[pos].1 = "domain".into();
        } else {
            names.insert(0, (d, "domain".into()));
        }
    }
    let reports = names
        .into_iter()
        .map(|(name, role)| {
            let mut r = NameReport {
                name: name.clone(),
                role,
                certificate: None,
                key: None,
                selected: None,
                for_name: None,
                findings: Vec::new(),
            };
            let mut tried = Vec::new();
            let found = if let Some((c, k)) = ssl_files(ev, &name)
                .map(|(c, k)| (resolve(&c.to_string_lossy()), resolve(&k.to_string_lossy())))
            {
                Some((c, k, Selected::SslOption, name.clone()))
            } else {
                let mut host = Some(name.as_str());
                let mut hit = None;
                while let Some(h) = host {
                    let wildcard = h.split_once('.').map(|(_, rest)| format!("*.{rest}"));
                    let idx = by_name
                        .get(h)
                        .or_else(|| wildcard.as_ref().and_then(|w| by_name.get(w)));
                    if let Some(&i) = idx {
                        hit = Some((
                            indexed[i].path.clone(),
                            indexed[i].key.clone(),
                            Selected::Index,
                            h.to_string(),
                        ));
                        break;
                    }
                    let base = str_opt(ev, h, "certificate").map_or(dir.clone(), |c| resolve(&c));
                    if let Some((c, k)) = find_by_name(&base, h, &mut tried) {
                        hit = Some((c, k, Selected::FileName, h.to_string()));
                        break;
                    }
                    host = h.split_once('.').map(|(_, rest)| rest);
                }
                hit
            };
            let Some((cert, key, how, for_name)) = found else {
                r.findings.push(Finding::Missing { tried });
                return r;
            };
            examine(&name, &cert, &key, now, opts, &mut r.findings);
            r.certificate = Some(cert);
            r.key = Some(key);
            r.selected = Some(how);
            r.for_name = Some(for_name);
            r
        })
        .collect();
    Report {
        dir,
        uid: opts.uid,
        gid: opts.gid,
        names: reports,
    }
}

fn examine(name: &str, cert: &Path, key: &Path, now: i64, opts: &Options, out: &mut Vec<Finding>) {
    for p in [cert, key] {
        if let Err(reason) = readable_by(p, opts.uid, opts.gid) {
            out.push(Finding::Unreadable {
                path: p.to_path_buf(),
                uid: opts.uid,
                reason,
            });
        }
    }
    let info = match fsutil::read_bounded(cert, Kind::CaFile) {
        Err(e) => Err(e.reason()),
        Ok(bytes) => parse_cert(&bytes),
    };
    let info = match info {
        Ok(i) => i,
        Err(reason) => {
            out.push(Finding::Unparsable {
                path: cert.to_path_buf(),
                reason,
            });
            return;
        }
    };
    if !covers(&info.names, name) {
        out.push(Finding::NotCovered {
            names: info.names.clone(),
        });
    }
    if info.not_before > now {
        out.push(Finding::NotYetValid {
            not_before: info.not_before_text.clone(),
        });
    }
    let secs = info.not_after - now;
    out.push(Finding::Expiry {
        not_after: info.not_after_text.clone(),
        days: secs.div_euclid(86_400),
        secs,
    });
    out.push(compare_key(key, &info.public_key));
}

fn compare_key(key: &Path, public: &[u8]) -> Finding {
    let not_checked = |reason: String| Finding::KeyNotChecked {
        key: key.to_path_buf(),
        reason,
    };
    let text = match fsutil::read_bounded_text(key, Kind::Secret) {
        Ok(t) => t,
        Err(e) => return not_checked(e.reason()),
    };
    // A `.pem` holding both: the key block is the one that says PRIVATE KEY.
    let Some(start) = text.find("-----BEGIN ").and_then(|_| {
        text.match_indices("-----BEGIN ")
            .map(|(i, _)| i)
            .find(|&i| {
                text[i..].starts_with("-----BEGIN PRIVATE KEY-----")
                    || text[i..]
                        .lines()
                        .next()
                        .is_some_and(|l| l.contains("PRIVATE KEY"))
            })
    }) else {
        return not_checked("no PEM private key in the file".into());
    };
    let block = &text[start..];
    if !block.starts_with("-----BEGIN PRIVATE KEY-----") {
        let label = block.lines().next().unwrap_or_default().trim_matches('-');
        return not_checked(format!(
            "{label} is not PKCS#8 (convert with `openssl pkcs8 -topk8 -nocrypt`)"
        ));
    }
    let end = block
        .find("-----END PRIVATE KEY-----")
        .map_or(block.len(), |e| e + "-----END PRIVATE KEY-----".len());
    match rcgen::KeyPair::from_pem(&block[..end]) {
        Ok(kp) if kp.der_bytes() == public => Finding::KeyMatches,
        Ok(_) => Finding::KeyMismatch {
            key: key.to_path_buf(),
        },
        Err(e) => not_checked(format!("cannot read the key: {e}")),
    }
}

/// Whether `uid`/`gid` may read `path`: every directory on the way
/// searchable, the file readable, by the owner, group or other bits (root
/// reads everything). ACLs and supplementary groups are not considered.
pub fn readable_by(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    if uid == 0 {
        return Ok(());
    }
    let allowed = |md: &std::fs::Metadata, bit: u32| {
        let mode = md.mode();
        if md.uid() == uid {
            mode & (bit << 6) != 0
        } else if md.gid() == gid {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut dir = PathBuf::new();
    let comps: Vec<_> = abs.components().collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        dir.push(c);
        let md = std::fs::metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !allowed(&md, 0o1) {
            return Err(format!(
                "the directory {} (owner {}:{}, mode {:o}) is not searchable by it",
                dir.display(),
                md.uid(),
                md.gid(),
                md.mode() & 0o7777
            ));
        }
    }
    let md = std::fs::metadata(&abs).map_err(|e| e.to_string())?;
    if !allowed(&md, 0o4) {
        return Err(format!(
            "owner {}:{}, mode {:o}",
            md.uid(),
            md.gid(),
            md.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn wildcards_cover_one_label() {
        let n = vec!["x.org".to_string(), "*.x.org".to_string()];
        assert!(covers(&n, "x.org"));
        assert!(covers(&n, "upload.X.org"));
        assert!(!covers(&n, "a.upload.x.org"));
        assert!(!covers(&n, "y.org"));
        assert!(!covers(&["*.x.org".to_string()], "x.org"));
    }

    #[test]
    fn keys_are_found_next_to_certificates_as_prosody_does() {
        assert_eq!(
            matching_key(Path::new("/c/x.crt")),
            PathBuf::from("/c/x.key")
        );
        assert_eq!(
            matching_key(Path::new("/c/x/fullchain.pem")),
            PathBuf::from("/c/x/privkey.pem")
        );
        assert_eq!(
            matching_key(Path::new("/c/x.pem")),
            PathBuf::from("/c/x.pem")
        );
    }

    use pfe_core::catalog::Catalog;
    use pfe_core::engine::{self, Request};
    use std::os::unix::fs::PermissionsExt as _;

    const DAY: i64 = 86_400;

    fn build(domain: &str) -> Evaluated {
        let mut req = Request::new("standard", "production");
        req.domain = Some(domain.into());
        engine::build(&Catalog::builtin(), &req).unwrap().evaluated
    }

    /// A self-signed certificate for `names`, valid from `from` to `until`
    /// days around now, written as `<dir>/<file>.crt` + `.key` (0644/0640).
    fn make(dir: &Path, file: &str, names: &[&str], from: i64, until: i64) -> rcgen::KeyPair {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let now = time_now();
        params.not_before =
            rcgen::date_time_ymd(1970, 1, 1) + time::Duration::seconds(now + from * DAY);
        params.not_after =
            rcgen::date_time_ymd(1970, 1, 1) + time::Duration::seconds(now + until * DAY);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{file}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
        key
    }

    fn time_now() -> i64 {
        now_secs()
    }

    fn opts(dir: &Path) -> Options {
        // The test runs as whoever runs it: judge readability for that user.
        let uid = unsafe { libc::geteuid() };
        let gid = unsafe { libc::getegid() };
        chmod(dir, 0o755);
        Options {
            dir: Some(dir.to_path_buf()),
            uid: if uid == 0 { PROSODY_UID } else { uid },
            gid: if uid == 0 { PROSODY_GID } else { gid },
            ..Options::default()
        }
    }

    fn errors(r: &NameReport) -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| f.severity() == Severity::Error)
            .map(Finding::message)
            .collect()
    }

    fn by_name<'a>(r: &'a Report, n: &str) -> &'a NameReport {
        r.names.iter().find(|x| x.name == n).unwrap()
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_good_set_passes_and_names_every_component() {
        let t = tempfile::tempdir().unwrap();
        make(t.path(), "x.org", &["x.org", "*.x.org"], -1, 90);
        let r = check(&build("x.org"), Some("x.org"), &opts(t.path()));
        let names: Vec<&str> = r.names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["x.org", "conference.x.org", "upload.x.org"]);
        for n in &r.names {
            assert_eq!(n.severity(), Severity::Ok, "{}: {:?}", n.name, n.findings);
            assert_eq!(
                n.certificate.as_deref(),
                Some(t.path().join("x.org.crt").as_path())
            );
            assert!(n.findings.contains(&Finding::KeyMatches));
        }
        // The index finds it by its subject names for the components.
        assert_eq!(by_name(&r, "upload.x.org").selected, Some(Selected::Index));
    }

    #[test]
    fn a_certificate_without_upload_is_caught() {
        let t = tempfile::tempdir().unwrap();
        make(t.path(), "x.org", &["x.org", "conference.x.org"], -1, 90);
        let r = check(&build("x.org"), Some("x.org"), &opts(t.path()));
        assert_eq!(by_name(&r, "x.org").severity(), Severity::Ok);
        assert_eq!(by_name(&r, "conference.x.org").severity(), Severity::Ok);
        let up = by_name(&r, "upload.x.org");
        // Prosody falls back to the parent's file, which lacks the name.
        assert_eq!(up.for_name.as_deref(), Some("x.org"));
        assert_eq!(
            errors(up),
            ["the certificate does not cover this name; it is for x.org, conference.x.org"]
        );
        assert_eq!(r.severity(), Severity::Error);
    }

    #[test]
    fn expired_and_expiring_certificates_are_graded() {
        let t = tempfile::tempdir().unwrap();
        make(t.path(), "x.org", &["x.org"], -30, -2);
        make(t.path(), "conference.x.org", &["conference.x.org"], -1, 3);
        make(t.path(), "upload.x.org", &["upload.x.org"], -1, 20);
        let r = check(&build("x.org"), Some("x.org"), &opts(t.path()));
        let x = by_name(&r, "x.org");
        // Expired: not in Prosody's index, still picked by its file name.
        assert_eq!(x.selected, Some(Selected::FileName));
        let e = errors(x);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("expired on "), "{e:?}");
        let warn = |n: &str| {
            let r = by_name(&r, n);
            assert_eq!(r.severity(), Severity::Warning, "{:?}", r.findings);
            r.findings
                .iter()
                .find(|f| f.severity() == Severity::Warning)
                .unwrap()
                .message()
        };
        assert!(warn("conference.x.org").contains("less than 7"));
        assert!(warn("upload.x.org").contains("less than 31"));
        // Under a day is an error.
        let t2 = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["x.org".to_string()]).unwrap();
        params.not_after =
            rcgen::date_time_ymd(1970, 1, 1) + time::Duration::seconds(time_now() + 3600);
        let key = rcgen::KeyPair::generate().unwrap();
        std::fs::write(
            t2.path().join("x.org.crt"),
            params.self_signed(&key).unwrap().pem(),
        )
        .unwrap();
        std::fs::write(t2.path().join("x.org.key"), key.serialize_pem()).unwrap();
        let r = check(&build("x.org"), Some("x.org"), &opts(t2.path()));
        assert!(errors(by_name(&r, "x.org"))[0].starts_with("expires within a day"));
    }

    #[test]
    fn a_key_that_does_not_match_is_caught() {
        let t = tempfile::tempdir().unwrap();
        make(t.path(), "x.org", &["x.org", "*.x.org"], -1, 90);
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(t.path().join("x.org.key"), other.serialize_pem()).unwrap();
        let r = check(&build("x.org"), Some("x.org"), &opts(t.path()));
        let key = t.path().join("x.org.key");
        assert_eq!(
            errors(by_name(&r, "x.org")),
            [format!(
                "the key {} does not belong to this certificate (its public key differs)",
                key.display()
            )]
        );
    }

    #[test]
    fn openssl_certificates_in_certbot_layout_are_read() {
        let t = tempfile::tempdir().unwrap();
        let live = t.path().join("x.org");
        std::fs::create_dir(&live).unwrap();
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "60",
                "-subj",
                "/CN=x.org",
            ])
            .args([
                "-addext",
                "subjectAltName=DNS:x.org,DNS:conference.x.org,DNS:upload.x.org",
            ])
            .arg("-keyout")
            .arg(live.join("privkey.pem"))
            .arg("-out")
            .arg(live.join("fullchain.pem"))
            .output()
            .expect("openssl (Debian package openssl; bash scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let o = opts(t.path());
        chmod(&live, 0o755);
        // openssl writes the key 0600: only its owner reads it, which (when
        // that is not Prosody's user) is the classic failure.
        if o.uid == PROSODY_UID {
            let r = check(&build("x.org"), Some("x.org"), &o);
            let e = errors(by_name(&r, "x.org"));
            assert_eq!(
                e,
                [format!(
                    "{}/privkey.pem is not readable by uid 999: owner 0:0, mode 600",
                    live.display()
                )]
            );
        }
        chmod(&live.join("privkey.pem"), 0o644);
        let r = check(&build("x.org"), Some("x.org"), &o);
        for n in &r.names {
            assert_eq!(n.severity(), Severity::Ok, "{}: {:?}", n.name, n.findings);
            assert!(
                n.findings.contains(&Finding::KeyMatches),
                "{:?}",
                n.findings
            );
            assert_eq!(
                n.certificate.as_deref(),
                Some(live.join("fullchain.pem").as_path())
            );
        }
    }

    #[test]
    fn unreadable_keys_and_missing_certificates_are_named() {
        let t = tempfile::tempdir().unwrap();
        make(t.path(), "x.org", &["x.org", "*.x.org"], -1, 90);
        let key = t.path().join("x.org.key");
        chmod(&key, 0o600);
        // Judged for a user that neither owns the file nor is in its group.
        let o = Options {
            uid: 4242,
            gid: 4242,
            ..opts(t.path())
        };
        chmod(t.path(), 0o755);
        let r = check(&build("x.org"), Some("x.org"), &o);
        let e = errors(by_name(&r, "x.org"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(&format!(
                "{} is not readable by uid 4242: owner ",
                key.display()
            )) && e[0].ends_with("mode 600"),
            "{e:?}"
        );
        chmod(&key, 0o644);
        chmod(t.path(), 0o700);
        let e = errors(by_name(&check(&build("x.org"), Some("x.org"), &o), "x.org"));
        assert!(
            e.iter().any(|m| m.contains("is not searchable by it")),
            "{e:?}"
        );
        chmod(t.path(), 0o755);

        let empty = tempfile::tempdir().unwrap();
        let r = check(&build("x.org"), Some("x.org"), &opts(empty.path()));
        let e = errors(by_name(&r, "upload.x.org"));
        assert!(
            e[0].starts_with("no certificate and key Prosody would use; tried ")
                && e[0].contains(&format!("{}/upload.x.org.crt", empty.path().display()))
                && e[0].contains(&format!("{}/x.org/fullchain.pem", empty.path().display())),
            "{e:?}"
        );
    }
}
