//! The one request resolver: turns what the user chose (command-line flags)
//! and what the environment says (process variables, `--env-file`) into the
//! [`Request`] every command builds from — `generate`, `env`, `explain`,
//! `compose`, `k8s`, `validate`, `check`, `run` and the container
//! entrypoint alike — with the same defaults everywhere:
//!
//! | input | flag | variable | default |
//! |---|---|---|---|
//! | profile | `PROFILE` | `PROSODY_PROFILE` | `standard` |
//! | environment | `ENVIRONMENT` | `PROSODY_ENVIRONMENT` | `production` |
//! | domains | `--domain` (repeatable) | `PROSODY_DOMAINS`, else `PROSODY_DOMAIN` | the catalog's, else `localhost` |
//! | features | `--with`, `--without` | `PFE_FEATURES` (flags win per feature) | the profile's |
//! | options | `--set` (after) | `PFE_SET`, `PFE_SET_<N>` | — |
//! | unstable features | `--allow-unstable` | `PFE_ALLOW_UNSTABLE` | off |
//!
//! A variable set to blanks counts as unset. Every input keeps its
//! [`Origin`] (the flag, the variable, or the env file it came from) so an
//! error names what the user actually set, with invisible characters shown
//! escaped ([`shown`]). The domains are validated here, once, for every
//! command ([`check_domain`], [`domain_list`]), and no variable may exceed
//! [`MAX_VARIABLE_BYTES`].
//!
//! Several domains: `--domain` may be repeated, or `PROSODY_DOMAINS` holds
//! a list (entries separated by commas and/or white space; an empty entry
//! between two commas is refused). The first is the primary domain
//! (`pfe.domain`, PROSODY_DOMAIN for the catalog). Flags win over both
//! variables; `PROSODY_DOMAINS` wins over `PROSODY_DOMAIN`, and when both
//! are set the primary must be the same domain (after nameprep), else the
//! request is refused naming both ([`RequestError::DomainsDisagree`]).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;

use miette::Diagnostic;

use crate::engine::{DEFAULT_ENVIRONMENT, DEFAULT_PROFILE, Request};
use crate::resolve::parse_bool;

/// The largest value pfe accepts in one variable (process environment or
/// env file): far above any real setting, far below what could exhaust
/// memory once copied into the Lua sandbox.
pub const MAX_VARIABLE_BYTES: usize = 1024 * 1024;
/// The longest domain name (RFC 1035, in bytes).
pub const MAX_DOMAIN_BYTES: usize = 253;
/// The longest label of a domain name (RFC 1035, in bytes).
pub const MAX_LABEL_BYTES: usize = 63;

/// Where an input came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origin {
    /// A command-line flag or argument, as the user wrote it (`--domain`).
    Flag(String),
    /// A process environment variable.
    Var(String),
    /// A variable read from an env file (`--env-file`).
    EnvFile { name: String, file: String },
    /// pfe's own default, or the catalog's.
    #[default]
    Default,
}

impl Origin {
    pub fn flag(f: &str) -> Origin {
        Origin::Flag(f.to_string())
    }

    /// The variable this came from, if any.
    pub fn variable(&self) -> Option<&str> {
        match self {
            Origin::Var(n) | Origin::EnvFile { name: n, .. } => Some(n),
            _ => None,
        }
    }

    /// The input with its value, as the user wrote it: `--set x=1`,
    /// `PFE_SET_3=x=1`, `PFE_SET_3=x=1 (in prod.env:3)`. Invisible characters
    /// are escaped.
    pub fn with_value(&self, value: &str) -> String {
        let v = shown(value);
        match self {
            Origin::Flag(f) => format!("{f} {v}"),
            Origin::Var(n) => format!("{n}={v}"),
            Origin::EnvFile { name, file } => format!("{name}={v} (in {})", shown(file)),
            Origin::Default => format!("'{v}'"),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Var(n) => write!(f, "{n}"),
            Origin::EnvFile { name, file } => write!(f, "{name} (in {})", shown(file)),
            Origin::Default => write!(f, "the default"),
        }
    }
}

/// Where each part of a [`Request`] came from.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    pub profile: Origin,
    pub environment: Origin,
    pub domain: Origin,
    /// Each feature of `with` and `without`: `--with`, `--without`, `PFE_FEATURES`.
    pub features: BTreeMap<String, Origin>,
    /// One per `Request::sets`, in order; missing entries are `--set`.
    pub sets: Vec<Origin>,
    pub allow_unstable: Origin,
}

impl Origins {
    pub fn set(&self, i: usize) -> Origin {
        self.sets
            .get(i)
            .cloned()
            .unwrap_or_else(|| Origin::flag("--set"))
    }

    /// Who asked for (or against) `feature`; `fallback` when not recorded.
    pub fn feature(&self, feature: &str, fallback: &str) -> String {
        self.features
            .get(feature)
            .map_or_else(|| fallback.to_string(), Origin::to_string)
    }
}

/// `s` with every control or invisible character escaped (`\n`,
/// `\u{feff}`), so a message shows what is really there and cannot be split
/// or hidden: the emitter's [`crate::emit::visible`].
pub fn shown(s: &str) -> String {
    crate::emit::visible(s)
}

/// Characters that separate a domain from something else (scheme, port,
/// path, user, list, quoting, IPv6 brackets) and can never be part of one.
const DOMAIN_SEPARATORS: &str = "/@:\\\"'<>&,;*?[]{}()=%#!$^`|~+";

/// Checks that `d` is a domain name Prosody can serve and returns it in the
/// form Prosody compares host names in (nameprep: lower case, NFKC), or why
/// not. Labels are 1–63 bytes, the whole at most 253; no white space,
/// control or invisible characters, no separators (so no `[::1]` IPv6
/// literal: Prosody's `VirtualHost` wants a name), no leading or trailing
/// dot or hyphen in a label.
pub fn check_domain(d: &str) -> Result<String, String> {
    if d.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = d
        .chars()
        .find(|c| crate::emit::is_invisible(*c) || c.is_whitespace())
    {
        let what = if c == ' ' {
            "a space".to_string()
        } else {
            format!("'{}'", shown(&c.to_string()))
        };
        return Err(format!(
            "it contains {what}, a white-space or invisible character"
        ));
    }
    if d.starts_with('[') {
        return Err("an IP literal is not a host name; give the DNS name of the server".into());
    }
    if let Some(c) = d.chars().find(|c| DOMAIN_SEPARATORS.contains(*c)) {
        return Err(format!(
            "it contains '{c}'; give the bare domain (no scheme, port, path, user or list)"
        ));
    }
    let prepped = stringprep::nameprep(d)
        .map_err(|e| format!("it is not a valid internationalized domain name ({e})"))?
        .into_owned();
    if prepped.len() > MAX_DOMAIN_BYTES {
        return Err(format!(
            "it is {} bytes long; a domain name has at most {MAX_DOMAIN_BYTES}",
            prepped.len()
        ));
    }
    for label in prepped.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (a leading, trailing or doubled '.')".into());
        }
        if label.len() > MAX_LABEL_BYTES {
            return Err(format!(
                "a label is {} bytes long; each part between dots has at most {MAX_LABEL_BYTES}",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label '{label}' starts or ends with '-'"));
        }
    }
    Ok(prepped)
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum RequestError {
    #[error("{}: '{}' is not a domain name: {reason}", .origin, shown(.value))]
    #[diagnostic(
        code(pfe::request::domain),
        help("give the bare domain Prosody serves, e.g. chat.example.org")
    )]
    Domain {
        origin: Origin,
        value: String,
        reason: String,
    },
    #[error("{}: '{}' is listed twice{}", .origin, shown(.value), .same_as.as_ref().map(|s| format!(" (as '{}')", shown(s))).unwrap_or_default())]
    #[diagnostic(
        code(pfe::request::duplicate_domain),
        help(
            "name each served domain once; names are compared as Prosody compares them (lower case, nameprep)"
        )
    )]
    DuplicateDomain {
        origin: Origin,
        value: String,
        /// The earlier entry it equals, when written differently.
        same_as: Option<String>,
    },
    #[error("{origin}: an empty entry in the list of domains ('{}')", shown(.value))]
    #[diagnostic(
        code(pfe::request::empty_domain),
        help(
            "separate domains with commas and/or spaces, e.g. PROSODY_DOMAINS=a.example,b.example; remove the doubled, leading or trailing comma"
        )
    )]
    EmptyDomain { origin: Origin, value: String },
    #[error("{domains} starts with '{}' but {domain} is '{}'", shown(.first), shown(.single))]
    #[diagnostic(
        code(pfe::request::domains_disagree),
        help(
            "PROSODY_DOMAINS wins, and its first entry is the primary domain: unset PROSODY_DOMAIN or set it to that first entry"
        )
    )]
    DomainsDisagree {
        /// Where PROSODY_DOMAINS came from, as shown.
        domains: String,
        /// Where PROSODY_DOMAIN came from, as shown.
        domain: String,
        first: String,
        single: String,
    },
    #[error(
        "{origin} is {bytes} bytes long; pfe accepts at most {} bytes (1 MiB) in one variable",
        MAX_VARIABLE_BYTES
    )]
    #[diagnostic(
        code(pfe::request::too_large),
        help("a setting this large is a mistake; put large data in a file the config names")
    )]
    TooLarge { origin: Origin, bytes: usize },
    #[error("{name} is not valid UTF-8")]
    #[diagnostic(code(pfe::request::not_unicode), help("pfe reads text variables only"))]
    NotUnicode { name: String },
    #[error("{}: '{}' is not a boolean", .origin, shown(.value))]
    #[diagnostic(code(pfe::request::boolean), help("set it to true or false"))]
    NotBoolean { origin: Origin, value: String },
    #[error("{}: '{}' is not a feature name", .origin, shown(.value))]
    #[diagnostic(
        code(pfe::request::feature),
        help(
            "name features as `pfe features` lists them, e.g. web/admin; PFE_FEATURES separates them with commas, - or ! switches one off"
        )
    )]
    BadFeature { origin: Origin, value: String },
}

/// An env file's variables, in order, and the line each is set on (the
/// last setting wins).
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub path: String,
    pub vars: Vec<(String, String)>,
    pub lines: HashMap<String, usize>,
}

impl EnvFile {
    /// `path:line` of `name`, or the path.
    fn place(&self, name: &str) -> String {
        match self.lines.get(name) {
            Some(l) => format!("{}:{l}", self.path),
            None => self.path.clone(),
        }
    }
}

/// The variables pfe reads: the process environment over an env file, each
/// with where it came from.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: HashMap<String, String>,
    /// Variables that came from an env file: name → `file:line`.
    from_file: HashMap<String, String>,
}

/// Variables pfe (or a catalog) is documented to read: these must be valid.
fn ours(name: &str) -> bool {
    name.starts_with("PROSODY_") || name.starts_with("PFE_")
}

impl Environment {
    /// The process environment over `file` (its path and variables, in
    /// order). A variable over [`MAX_VARIABLE_BYTES`], or not UTF-8, is an
    /// error naming it when pfe reads it (PROSODY_*, PFE_*, or anything in
    /// the env file) and is left out otherwise.
    pub fn new(
        process: impl IntoIterator<Item = (OsString, OsString)>,
        file: Option<EnvFile>,
    ) -> Result<Environment, RequestError> {
        let mut env = Environment::default();
        if let Some(f) = file {
            for (k, v) in &f.vars {
                let place = f.place(k);
                let origin = Origin::EnvFile {
                    name: k.clone(),
                    file: place.clone(),
                };
                if v.len() > MAX_VARIABLE_BYTES {
                    return Err(RequestError::TooLarge {
                        origin,
                        bytes: v.len(),
                    });
                }
                env.from_file.insert(k.clone(), place);
                env.vars.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in process {
            let (k, v) = match (k.into_string(), v.into_string()) {
                (Ok(k), Ok(v)) => (k, v),
                (Ok(k), Err(_)) if ours(&k) => return Err(RequestError::NotUnicode { name: k }),
                _ => continue,
            };
            if v.len() > MAX_VARIABLE_BYTES {
                if ours(&k) {
                    return Err(RequestError::TooLarge {
                        origin: Origin::Var(k),
                        bytes: v.len(),
                    });
                }
                continue;
            }
            env.from_file.remove(&k);
            env.vars.insert(k, v);
        }
        Ok(env)
    }

    /// Every variable counts as set in the process (the container entrypoint,
    /// libraries and tests). Oversized values are refused as in [`Environment::new`].
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Environment, RequestError> {
        for (k, v) in vars {
            if v.len() > MAX_VARIABLE_BYTES {
                return Err(RequestError::TooLarge {
                    origin: Origin::Var(k.clone()),
                    bytes: v.len(),
                });
            }
        }
        Ok(Environment {
            vars: vars.clone(),
            from_file: HashMap::new(),
        })
    }

    pub fn origin(&self, name: &str) -> Origin {
        match self.from_file.get(name) {
            Some(file) => Origin::EnvFile {
                name: name.to_string(),
                file: file.clone(),
            },
            None => Origin::Var(name.to_string()),
        }
    }

    /// A variable's value when it is set to something other than blanks.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// What the command line chose; `None` and empty lists leave the choice to
/// the environment.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub profile: Option<String>,
    pub environment: Option<String>,
    /// `--domain`, as often as given: the first is the primary domain.
    pub domains: Vec<String>,
    /// The flag the domains came from [default: `--domain`].
    pub domain_flag: Option<String>,
    pub with: Vec<String>,
    pub without: Vec<String>,
    pub sets: Vec<String>,
    pub allow_unstable: bool,
}

/// Splits `PFE_FEATURES` ("web/admin, -mobile/push !admin/debug +x") into
/// (with, without).
pub fn parse_features(value: &str) -> (Vec<String>, Vec<String>) {
    let mut with = Vec::new();
    let mut without = Vec::new();
    for item in value.split(|c: char| c == ',' || c.is_whitespace()) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if let Some(f) = item.strip_prefix('-').or_else(|| item.strip_prefix('!')) {
            without.push(f.to_string());
        } else {
            with.push(item.strip_prefix('+').unwrap_or(item).to_string());
        }
    }
    (with, without)
}

/// `PFE_SET`, `PFE_SET_1`, `PFE_SET_2`, …, `PFE_SET_10`, `PFE_SET_X`: in
/// name order with numbers compared as numbers; blank ones are skipped.
pub fn env_sets(env: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut sets: Vec<(String, String)> = env
        .iter()
        .filter(|(k, v)| {
            (k.as_str() == "PFE_SET" || k.starts_with("PFE_SET_")) && !v.trim().is_empty()
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let key = |name: &str| {
        let suffix = name.strip_prefix("PFE_SET").unwrap_or("");
        let suffix = suffix.strip_prefix('_').unwrap_or(suffix);
        (
            !suffix.is_empty(),
            suffix.parse::<u64>().unwrap_or(u64::MAX),
            name.to_string(),
        )
    };
    sets.sort_by_key(|(k, _)| key(k));
    sets
}

/// A feature name as the catalog spells them: no blanks, controls or quotes.
fn plausible_feature(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c))
}

/// Validates a domain given by `origin`, returning the nameprepped form.
pub fn domain_from(origin: &Origin, value: &str) -> Result<String, RequestError> {
    check_domain(value).map_err(|reason| RequestError::Domain {
        origin: origin.clone(),
        value: value.to_string(),
        reason,
    })
}

/// The entries of a `PROSODY_DOMAINS` value, as written: separated by
/// commas and/or white space. An empty entry (two commas with nothing but
/// blanks between, a leading or trailing comma) is an error; an all-blank
/// value has no entries.
pub fn split_domain_list(origin: &Origin, value: &str) -> Result<Vec<String>, RequestError> {
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in value.split(',') {
        if part.trim().is_empty() {
            return Err(RequestError::EmptyDomain {
                origin: origin.clone(),
                value: value.to_string(),
            });
        }
        out.extend(part.split_whitespace().map(str::to_string));
    }
    Ok(out)
}

/// Validates each of `values` given by `origin` with [`check_domain`] and
/// returns them nameprepped, in order; a domain given twice (after
/// nameprep: `A.org` and `a.org`) is refused.
pub fn domain_list(origin: &Origin, values: &[String]) -> Result<Vec<String>, RequestError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let d = domain_from(origin, v)?;
        if let Some(j) = out.iter().position(|o| *o == d) {
            return Err(RequestError::DuplicateDomain {
                origin: origin.clone(),
                value: v.clone(),
                same_as: (values[j] != *v).then(|| values[j].clone()),
            });
        }
        out.push(d);
    }
    Ok(out)
}

/// The domains the variables name, with where they came from, or None when
/// neither PROSODY_DOMAINS nor PROSODY_DOMAIN is set (blank counts as
/// unset). `value` reads a variable, `origin` says where it came from.
/// PROSODY_DOMAINS wins; when PROSODY_DOMAIN is set too, it must be the
/// same domain as the first of PROSODY_DOMAINS.
pub fn domains_from_variables<'a>(
    value: impl Fn(&str) -> Option<&'a str>,
    origin: impl Fn(&str) -> Origin,
) -> Result<Option<(Vec<String>, Origin)>, RequestError> {
    let value = |name: &str| value(name).filter(|v| !v.trim().is_empty());
    let single = match value("PROSODY_DOMAIN") {
        Some(d) => {
            let o = origin("PROSODY_DOMAIN");
            Some((domain_from(&o, d.trim())?, o, d.trim()))
        }
        None => None,
    };
    let Some(list) = value("PROSODY_DOMAINS") else {
        return Ok(single.map(|(d, o, _)| (vec![d], o)));
    };
    let o = origin("PROSODY_DOMAINS");
    let domains = domain_list(&o, &split_domain_list(&o, list)?)?;
    if let Some((d, single_origin, written)) = single
        && domains.first() != Some(&d)
    {
        return Err(RequestError::DomainsDisagree {
            domains: o.to_string(),
            domain: single_origin.to_string(),
            first: domains.first().cloned().unwrap_or_default(),
            single: written.to_string(),
        });
    }
    Ok(Some((domains, o)))
}

/// The request for `sel` in `env`. `command` starts the "regenerate with"
/// line of the file header (`pfe generate`); the selection is appended.
pub fn resolve(sel: &Selection, env: &Environment, command: &str) -> Result<Request, RequestError> {
    let mut origins = Origins::default();
    let pick = |flag: &Option<String>, flag_name: &str, var: &str, default: &str| {
        if let Some(v) = flag {
            (v.clone(), Origin::flag(flag_name))
        } else if let Some(v) = env.value(var) {
            (v.trim().to_string(), env.origin(var))
        } else {
            (default.to_string(), Origin::Default)
        }
    };
    let (profile, o) = pick(&sel.profile, "PROFILE", "PROSODY_PROFILE", DEFAULT_PROFILE);
    origins.profile = o;
    let (environment, o) = pick(
        &sel.environment,
        "ENVIRONMENT",
        "PROSODY_ENVIRONMENT",
        DEFAULT_ENVIRONMENT,
    );
    origins.environment = o;

    let domains = if sel.domains.is_empty() {
        match domains_from_variables(|n| env.value(n), |n| env.origin(n))? {
            Some((d, origin)) => {
                origins.domain = origin;
                d
            }
            None => Vec::new(),
        }
    } else {
        let origin = Origin::Flag(sel.domain_flag.clone().unwrap_or_else(|| "--domain".into()));
        let d = domain_list(&origin, &sel.domains)?;
        origins.domain = origin;
        d
    };
    let mut domains = domains.into_iter();
    let domain = domains.next();
    let more_domains: Vec<String> = domains.collect();

    // Features: PFE_FEATURES, then the flags (which win for the features they name).
    let mut with = Vec::new();
    let mut without = Vec::new();
    if let Some(v) = env.value("PFE_FEATURES") {
        let origin = env.origin("PFE_FEATURES");
        let (w, wo) = parse_features(v);
        for f in w.iter().chain(&wo) {
            if !plausible_feature(f) {
                return Err(RequestError::BadFeature {
                    origin,
                    value: f.clone(),
                });
            }
        }
        for f in w {
            if !sel.with.contains(&f) && !sel.without.contains(&f) {
                origins.features.insert(f.clone(), origin.clone());
                with.push(f);
            }
        }
        for f in wo {
            if !sel.with.contains(&f) && !sel.without.contains(&f) {
                origins.features.insert(f.clone(), origin.clone());
                without.push(f);
            }
        }
    }
    for (list, flag, out) in [
        (&sel.with, "--with", &mut with),
        (&sel.without, "--without", &mut without),
    ] {
        for f in list {
            origins.features.insert(f.clone(), Origin::flag(flag));
            out.push(f.clone());
        }
    }

    let allow_unstable = if sel.allow_unstable {
        origins.allow_unstable = Origin::flag("--allow-unstable");
        true
    } else if let Some(v) = env.value("PFE_ALLOW_UNSTABLE") {
        let origin = env.origin("PFE_ALLOW_UNSTABLE");
        let b = parse_bool(v).ok_or_else(|| RequestError::NotBoolean {
            origin: origin.clone(),
            value: v.to_string(),
        })?;
        origins.allow_unstable = origin;
        b
    } else {
        false
    };

    let mut sets = Vec::new();
    for (name, value) in env_sets(&env.vars) {
        origins.sets.push(env.origin(&name));
        sets.push(value);
    }
    for s in &sel.sets {
        origins.sets.push(Origin::flag("--set"));
        sets.push(s.clone());
    }

    let mut req = Request {
        command: format!("{command} {profile} {environment}"),
        profile,
        environment,
        domain,
        more_domains,
        with,
        without,
        sets,
        env: env.vars.clone(),
        allow_unstable,
        all_features: false,
        origins,
    };
    req.command += &req.selection_flags();
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_map(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn domains_are_checked_and_nameprepped() {
        for (d, want) in [
            ("chat.example.org", "chat.example.org"),
            ("localhost", "localhost"),
            ("Chat.Example.ORG", "chat.example.org"),
            ("bücher.example", "bücher.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert_eq!(check_domain(d).as_deref(), Ok(want), "{d}");
        }
        let long_label = format!("{}.org", "a".repeat(64));
        let long_name = ["abcdefghi"; 30].join(".");
        for d in [
            "",
            "a b",
            "a,b",
            "a\"b",
            "[::1]",
            "x\nLua.os.execute('id')",
            "https://x.org",
            "user@x.org",
            "x.org:5222",
            ".x.org",
            "x..org",
            "x.org.",
            "-x.org",
            "x-.org",
            "x.org/",
            "\u{feff}x.org",
            "x\u{200b}.org",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(check_domain(d).is_err(), "{d:?} accepted");
        }
    }

    #[test]
    fn invisible_characters_are_shown() {
        assert_eq!(shown("plain ü"), "plain ü");
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown("\u{feff}X"), "\\u{feff}X");
        assert_eq!(shown("a\\b\tc"), "a\\\\b\\tc");
    }

    #[test]
    fn blank_variables_are_unset_and_defaults_are_shared() {
        let r = resolve(
            &Selection::default(),
            &env(&[("PROSODY_PROFILE", " "), ("PROSODY_ENVIRONMENT", "")]),
            "pfe generate",
        )
        .unwrap();
        assert_eq!(r.profile, DEFAULT_PROFILE);
        assert_eq!(r.environment, DEFAULT_ENVIRONMENT);
        assert_eq!(r.origins.profile, Origin::Default);
        let r = resolve(
            &Selection::default(),
            &env(&[("PROSODY_PROFILE", " minimal ")]),
            "pfe generate",
        )
        .unwrap();
        assert_eq!(r.profile, "minimal");
        assert_eq!(r.origins.profile, Origin::Var("PROSODY_PROFILE".into()));
    }

    #[test]
    fn inputs_keep_their_origin() {
        let e = env(&[
            ("PFE_FEATURES", "web/admin,-mobile/push"),
            ("PFE_SET_3", "x=1"),
            ("PFE_SET", "y=2"),
        ]);
        let sel = Selection {
            without: vec!["web/admin".into()],
            sets: vec!["z=3".into()],
            ..Default::default()
        };
        let r = resolve(&sel, &e, "pfe generate").unwrap();
        assert!(r.with.is_empty(), "the flag wins: {:?}", r.with);
        assert_eq!(r.without, vec!["mobile/push", "web/admin"]);
        assert_eq!(r.origins.feature("mobile/push", "?"), "PFE_FEATURES");
        assert_eq!(r.origins.feature("web/admin", "?"), "--without");
        assert_eq!(r.sets, vec!["y=2", "x=1", "z=3"]);
        assert_eq!(r.origins.set(1), Origin::Var("PFE_SET_3".into()));
        assert_eq!(r.origins.set(2), Origin::flag("--set"));
    }

    #[test]
    fn bad_inputs_name_their_origin() {
        let e = env(&[("PROSODY_DOMAIN", "a b")]);
        let err = resolve(&Selection::default(), &e, "pfe").unwrap_err();
        assert!(
            err.to_string().starts_with("PROSODY_DOMAIN: 'a b'"),
            "{err}"
        );
        let sel = Selection {
            domains: vec!["x\ny".into()],
            ..Default::default()
        };
        let err = resolve(&sel, &e, "pfe").unwrap_err();
        assert!(err.to_string().starts_with("--domain: 'x\\ny'"), "{err}");
        let e = env(&[("PFE_FEATURES", "web/admin,\"x")]);
        let err = resolve(&Selection::default(), &e, "pfe").unwrap_err();
        assert!(err.to_string().starts_with("PFE_FEATURES:"), "{err}");
        let e = env(&[("PFE_ALLOW_UNSTABLE", "maybe")]);
        let err = resolve(&Selection::default(), &e, "pfe").unwrap_err();
        assert!(err.to_string().starts_with("PFE_ALLOW_UNSTABLE:"), "{err}");
    }

    fn domains_of(sel: &Selection, e: &Environment) -> Result<(Vec<String>, Origin), String> {
        resolve(sel, e, "pfe")
            .map(|r| {
                let mut all: Vec<String> = r.domain.into_iter().collect();
                all.extend(r.more_domains);
                (all, r.origins.domain)
            })
            .map_err(|e| e.to_string())
    }

    fn flags(d: &[&str]) -> Selection {
        Selection {
            domains: d.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn domain_lists_parse_with_commas_and_blanks() {
        let none = Selection::default();
        for (value, want) in [
            ("a.org", vec!["a.org"]),
            ("a.org,b.org", vec!["a.org", "b.org"]),
            ("a.org, b.org", vec!["a.org", "b.org"]),
            (" a.org  b.org\tc.org ", vec!["a.org", "b.org", "c.org"]),
            ("a.org ,\nB.Org", vec!["a.org", "b.org"]),
        ] {
            let (got, origin) = domains_of(&none, &env(&[("PROSODY_DOMAINS", value)])).unwrap();
            assert_eq!(got, want, "{value:?}");
            assert_eq!(origin, Origin::Var("PROSODY_DOMAINS".into()));
        }
        // Blank is unset: the single variable, then nothing.
        let (got, _) = domains_of(
            &none,
            &env(&[("PROSODY_DOMAINS", "  "), ("PROSODY_DOMAIN", "x.org")]),
        )
        .unwrap();
        assert_eq!(got, vec!["x.org"]);
        assert_eq!(
            domains_of(&none, &env(&[])).unwrap().0,
            Vec::<String>::new()
        );
    }

    #[test]
    fn bad_domain_lists_are_refused_naming_the_input() {
        let none = Selection::default();
        for (value, start) in [
            ("a.org,,b.org", "PROSODY_DOMAINS: an empty entry"),
            (",a.org", "PROSODY_DOMAINS: an empty entry"),
            ("a.org,", "PROSODY_DOMAINS: an empty entry"),
            ("a.org, ,b.org", "PROSODY_DOMAINS: an empty entry"),
            (
                "a.org,b.org,a.org",
                "PROSODY_DOMAINS: 'a.org' is listed twice",
            ),
            (
                "a.org A.ORG",
                "PROSODY_DOMAINS: 'A.ORG' is listed twice (as 'a.org')",
            ),
            (
                "a.org,https://b.org",
                "PROSODY_DOMAINS: 'https://b.org' is not a domain name",
            ),
            (
                "a.org;b.org",
                "PROSODY_DOMAINS: 'a.org;b.org' is not a domain name",
            ),
            (
                "a.org,x..org",
                "PROSODY_DOMAINS: 'x..org' is not a domain name",
            ),
        ] {
            let err = domains_of(&none, &env(&[("PROSODY_DOMAINS", value)])).unwrap_err();
            assert!(err.starts_with(start), "{value:?}: {err}");
        }
        let err = domains_of(&flags(&["a.org", "b.org", "B.org"]), &env(&[])).unwrap_err();
        assert!(
            err.starts_with("--domain: 'B.org' is listed twice (as 'b.org')"),
            "{err}"
        );
        let err = domains_of(&flags(&["a.org", ""]), &env(&[])).unwrap_err();
        assert!(
            err.starts_with("--domain: '' is not a domain name"),
            "{err}"
        );
    }

    #[test]
    fn domain_precedence_flags_then_domains_then_domain() {
        let both = env(&[
            ("PROSODY_DOMAINS", "a.org,b.org"),
            ("PROSODY_DOMAIN", "A.org"),
        ]);
        // Flags win over both variables, whatever they say.
        let (got, origin) = domains_of(&flags(&["z.org"]), &both).unwrap();
        assert_eq!(
            (got, origin),
            (vec!["z.org".to_string()], Origin::flag("--domain"))
        );
        // PROSODY_DOMAINS wins; PROSODY_DOMAIN agrees after nameprep.
        let (got, origin) = domains_of(&Selection::default(), &both).unwrap();
        assert_eq!(got, vec!["a.org", "b.org"]);
        assert_eq!(origin, Origin::Var("PROSODY_DOMAINS".into()));
        // ... and when it disagrees, both are named.
        let err = domains_of(
            &Selection::default(),
            &env(&[
                ("PROSODY_DOMAINS", "a.org,b.org"),
                ("PROSODY_DOMAIN", "b.org"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "PROSODY_DOMAINS starts with 'a.org' but PROSODY_DOMAIN is 'b.org'"
        );
        // A bad PROSODY_DOMAIN is refused even beside a good list.
        let err = domains_of(
            &Selection::default(),
            &env(&[("PROSODY_DOMAINS", "a.org"), ("PROSODY_DOMAIN", "a b")]),
        )
        .unwrap_err();
        assert!(err.starts_with("PROSODY_DOMAIN: 'a b'"), "{err}");
        // The single variable alone works as it always did.
        let (got, origin) = domains_of(
            &Selection::default(),
            &env(&[("PROSODY_DOMAIN", " Chat.Example.ORG ")]),
        )
        .unwrap();
        assert_eq!(got, vec!["chat.example.org"]);
        assert_eq!(origin, Origin::Var("PROSODY_DOMAIN".into()));
    }

    proptest::proptest! {
        /// Any list of distinct valid domains, joined by any mix of commas
        /// and blanks, reads back as itself; repeating one is refused.
        #[test]
        fn domain_lists_round_trip(
            labels in proptest::collection::btree_set("[a-z][a-z0-9-]{0,8}[a-z0-9]", 1..6),
            seps in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(","),
                    proptest::strategy::Just(" "),
                    proptest::strategy::Just(", "),
                    proptest::strategy::Just(" ,\t"),
                    proptest::strategy::Just("\n"),
                ],
                6,
            ),
            dup in 0usize..6,
        ) {
            let domains: Vec<String> = labels.iter().map(|l| format!("{l}.example")).collect();
            let mut text = domains[0].clone();
            for (i, d) in domains.iter().enumerate().skip(1) {
                text += seps[i % seps.len()];
                text += d;
            }
            let (got, _) = domains_of(&Selection::default(), &env(&[("PROSODY_DOMAINS", &text)])).unwrap();
            proptest::prop_assert_eq!(&got, &domains);
            let again = format!("{text},{}", domains[dup % domains.len()].to_uppercase());
            let err = domains_of(&Selection::default(), &env(&[("PROSODY_DOMAINS", &again)])).unwrap_err();
            proptest::prop_assert!(err.contains("is listed twice"), "{}", err);
        }
    }

    #[test]
    fn oversized_variables_are_refused_by_name() {
        let big = "x".repeat(MAX_VARIABLE_BYTES + 1);
        let err = Environment::new(
            [(OsString::from("PROSODY_ADMINS"), OsString::from(&big))],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("PROSODY_ADMINS is"), "{err}");
        let env =
            Environment::new([(OsString::from("UNRELATED"), OsString::from(&big))], None).unwrap();
        assert!(!env.vars.contains_key("UNRELATED"));
        let file = EnvFile {
            path: "prod.env".into(),
            vars: vec![("OTHER".to_string(), big.clone())],
            lines: [("OTHER".to_string(), 3)].into_iter().collect(),
        };
        let err = Environment::new([], Some(file)).unwrap_err();
        assert!(
            err.to_string().starts_with("OTHER (in prod.env:3) is"),
            "{err}"
        );
    }
}
