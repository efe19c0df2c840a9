//! Prosody-aware validation: what `pfe validate` and `pfe lint` report.
//!
//! [`check_evaluated`] runs every check that needs only an evaluated config
//! (options, types, modules, conflicts, placement) against the embedded
//! Prosody index ([`crate::index`]); [`check_build`] adds what only the
//! catalog knows (feature metadata, resolution warnings).  Every check has a
//! stable code ([`CODES`], documented in docs/validation.md), and a
//! `-- pfe: allow(CODE)` comment on the line of an assignment, or on the line
//! above it, silences that finding.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

use crate::engine::Build;
use crate::index::{Index, LuaLiteral, ModuleReplacementKind, ReplacementKind};
use crate::sandbox::{Context, Evaluated, Origin, Section, SectionKind, line_span};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One check: its stable code, a short name, and what it means.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

pub const UNKNOWN_OPTION: &str = "PFE001";
pub const WRONG_TYPE: &str = "PFE002";
pub const NO_EFFECT: &str = "PFE003";
pub const GLOBAL_ONLY: &str = "PFE004";
pub const UNKNOWN_MODULE: &str = "PFE005";
pub const NOT_INSTALLED: &str = "PFE006";
pub const DEPRECATED_OPTION: &str = "PFE007";
pub const DEPRECATED_MODULE: &str = "PFE008";
pub const MODULE_CONFLICT: &str = "PFE009";
pub const FEATURE_CONFLICT: &str = "PFE010";
pub const STABILITY: &str = "PFE011";
pub const XEP_WITHOUT_MODULE: &str = "PFE012";
pub const UNKNOWN_FEATURE: &str = "PFE013";
pub const CONFIG_ERROR: &str = "PFE014";
pub const DEPENDENCY_OFF: &str = "PFE015";
pub const BAD_PORT: &str = "PFE016";
pub const NOT_EVALUATED: &str = "PFE017";
pub const DIRECT_LUA_API: &str = "PFE018";
pub const UNDEFINED_NAME: &str = "PFE019";
pub const COMPONENT_CALL_FORM: &str = "PFE020";
pub const MODULE_AND_COMPONENT: &str = "PFE021";
pub const INVALID_HOST_NAME: &str = "PFE022";
pub const BAD_DISCO_ITEMS: &str = "PFE023";
pub const UNKNOWN_SSL_KEY: &str = "PFE024";
pub const PORT_CLASH: &str = "PFE025";
pub const COMPONENT_MODULE_ENABLED: &str = "PFE026";
pub const UNKNOWN_STORAGE_DRIVER: &str = "PFE027";

/// Every code pfe reports.  Codes are never reused or renumbered.
pub const CODES: &[Code] = &[
    Code {
        code: UNKNOWN_OPTION,
        name: "unknown-option",
        severity: Severity::Warning,
        summary: "neither Prosody nor any module pfe knows reads this option (typo? the nearest real option is suggested); not reported when a module unknown to pfe may read it",
    },
    Code {
        code: WRONG_TYPE,
        name: "wrong-type",
        severity: Severity::Error,
        summary: "the value does not have the type its readers expect (string for a boolean, number out of range, value outside an enum, malformed period)",
    },
    Code {
        code: NO_EFFECT,
        name: "no-effect",
        severity: Severity::Warning,
        summary: "no module loaded where the option is set reads it; names the module(s) that would",
    },
    Code {
        code: GLOBAL_ONLY,
        name: "global-only-option",
        severity: Severity::Error,
        summary: "a global-only option is set under a VirtualHost or Component, where Prosody ignores it",
    },
    Code {
        code: UNKNOWN_MODULE,
        name: "unknown-module",
        severity: Severity::Error,
        summary: "the module is unknown to pfe: not in Prosody 13, the installed prosody-modules or the upstream snapshot",
    },
    Code {
        code: NOT_INSTALLED,
        name: "module-not-installed",
        severity: Severity::Error,
        summary: "the module exists in prosody-modules (upstream, or shipped empty) but is not installed on the target",
    },
    Code {
        code: DEPRECATED_OPTION,
        name: "deprecated-option",
        severity: Severity::Warning,
        summary: "the option is deprecated or obsolete; the replacement is named",
    },
    Code {
        code: DEPRECATED_MODULE,
        name: "deprecated-module",
        severity: Severity::Warning,
        summary: "the module is deprecated, renamed, removed or superseded; the replacement is named",
    },
    Code {
        code: MODULE_CONFLICT,
        name: "module-conflict",
        severity: Severity::Error,
        summary: "modules that conflict are loaded on the same host, or a module's `--%` header keeps it from loading",
    },
    Code {
        code: FEATURE_CONFLICT,
        name: "feature-conflict",
        severity: Severity::Error,
        summary: "two enabled features declare a conflict",
    },
    Code {
        code: STABILITY,
        name: "stability",
        severity: Severity::Warning,
        summary: "a feature's stability is not what the environment allows (error) or it is only on as a dependency or through --allow-unstable (warning)",
    },
    Code {
        code: XEP_WITHOUT_MODULE,
        name: "xep-without-module",
        severity: Severity::Warning,
        summary: "an enabled feature lists XEPs but the config loads none of its modules",
    },
    Code {
        code: UNKNOWN_FEATURE,
        name: "unknown-feature-reference",
        severity: Severity::Error,
        summary: "a feature's dependencies or conflicts name a feature that does not exist",
    },
    Code {
        code: CONFIG_ERROR,
        name: "config-error",
        severity: Severity::Error,
        summary: "the configuration could not be evaluated (Lua error, unknown profile or feature, dependency cycle, ...)",
    },
    Code {
        code: DEPENDENCY_OFF,
        name: "dependency-off",
        severity: Severity::Warning,
        summary: "a profile feature was dropped because a feature it needs was switched off",
    },
    Code {
        code: BAD_PORT,
        name: "bad-port",
        severity: Severity::Error,
        summary: "a *_ports option holds something Prosody's portmanager cannot listen on (not an integer 1-65535 or a numeric string, or not one value or a list)",
    },
    Code {
        code: NOT_EVALUATED,
        name: "not-evaluated",
        severity: Severity::Warning,
        summary: "pfe did not run a construct with side effects or that reads Prosody's run-time state (Lua.io, os.execute, require, RunScript, Lua.prosody); the values depending on it are unknown to pfe and not checked",
    },
    Code {
        code: DIRECT_LUA_API,
        name: "direct-lua-api",
        severity: Severity::Warning,
        summary: "a Lua global is used directly in the config (`tonumber`, `string`); Prosody 13 deprecates this: write `Lua.tonumber`",
    },
    Code {
        code: UNDEFINED_NAME,
        name: "undefined-name",
        severity: Severity::Warning,
        summary: "a bare name that is not an option, a directive or a Lua global evaluates to nil (`admins = { ibrahim }`: a missing quote)",
    },
    Code {
        code: COMPONENT_CALL_FORM,
        name: "component-call-form",
        severity: Severity::Error,
        summary: "`Component(\"name\", \"module\")` ignores the module: the component is an external one; write `Component \"name\" \"module\"`",
    },
    Code {
        code: MODULE_AND_COMPONENT,
        name: "module-and-component",
        severity: Severity::Warning,
        summary: "a module is both in modules_enabled (so loaded on every VirtualHost) and loaded as a Component",
    },
    Code {
        code: INVALID_HOST_NAME,
        name: "invalid-host-name",
        severity: Severity::Error,
        summary: "a VirtualHost or Component name is not a valid domain name (empty label, `..`, a space, too long)",
    },
    Code {
        code: BAD_DISCO_ITEMS,
        name: "bad-disco-items",
        severity: Severity::Error,
        summary: "disco_items is malformed (an item that is not a { jid, name } table of strings): mod_disco drops the whole list",
    },
    Code {
        code: UNKNOWN_SSL_KEY,
        name: "unknown-ssl-key",
        severity: Severity::Warning,
        summary: "a key of an `ssl` table that neither Prosody nor LuaSec reads (`protocols` for `protocol`): the setting has no effect",
    },
    Code {
        code: PORT_CLASH,
        name: "port-clash",
        severity: Severity::Error,
        summary: "two services are configured to listen on the same port (`c2s_direct_tls_ports` and `legacy_ssl_ports` both 5223): one of them fails to start",
    },
    Code {
        code: COMPONENT_MODULE_ENABLED,
        name: "component-module-enabled",
        severity: Severity::Error,
        summary: "\"component\" (mod_component, the external component protocol) is in modules_enabled: it is loaded by `Component` sections, never on a VirtualHost",
    },
    Code {
        code: UNKNOWN_STORAGE_DRIVER,
        name: "unknown-storage-driver",
        severity: Severity::Error,
        summary: "default_storage or storage names a storage driver Prosody 13 does not have (`sql2`, removed in 0.10: use `sql`)",
    },
];

/// Why `v` is not a port Prosody's portmanager listens on: it passes each
/// value through `tonumber`, so an integer or a numeric string, 1–65535.
fn bad_port(v: &Value) -> Option<String> {
    let ok = |n: f64| n.fract() == 0.0 && (1.0..=65535.0).contains(&n);
    match v {
        Value::Int(n) if (1..=65535).contains(n) => None,
        Value::Float(f) if ok(*f) => None,
        Value::Str(s)
            if !s.trim().is_empty()
                && s.trim().chars().all(|c| c.is_ascii_digit())
                && s.trim().parse::<u32>().is_ok_and(|n| ok(f64::from(n))) =>
        {
            None
        }
        Value::Expr(_) | Value::Unknown(_) => None,
        Value::Int(_) | Value::Float(_) => {
            Some(format!("{} is not a port number (1-65535)", v.to_lua(0)))
        }
        Value::Str(s) => Some(format!(
            "{} is not a port number (1-65535)",
            crate::request::shown(&format!("{s:?}"))
        )),
        Value::Bool(_) | Value::List(_) | Value::Map(_) => {
            Some(format!("a {} is not a port number", v.kind()))
        }
    }
}

/// PFE016 for a `*_ports` option: one port or a list of them (`{}`
/// switches the listener off).
fn check_ports(v: &Value) -> Option<String> {
    match v {
        Value::List(items) => items.iter().find_map(bad_port),
        Value::Map(_) => Some("a table with named keys is not a list of ports".into()),
        other => bad_port(other),
    }
}

/// The entry of [`CODES`] for a code (`PFE001`) or name (`unknown-option`).
pub fn code_info(code_or_name: &str) -> Option<&'static Code> {
    CODES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code_or_name) || c.name == code_or_name)
}

/// One problem, with a stable code, where it is, and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    /// The code's short name (`unknown-option`).
    pub name: String,
    pub message: String,
    /// `*` for the global section, else the VirtualHost or Component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The text of `file`, for snippets.
    #[serde(skip)]
    pub source: Option<Arc<str>>,
    /// What the finding is about, and what to underline on the line: an
    /// option, module or host name (`subject` in JSON).
    #[serde(rename = "subject", skip_serializing_if = "Option::is_none")]
    pub needle: Option<String>,
}

impl Finding {
    fn new(severity: Severity, code: &str, message: String) -> Finding {
        Finding {
            severity,
            code: code.into(),
            name: code_info(code).map_or("", |c| c.name).into(),
            message,
            host: None,
            file: None,
            line: None,
            hint: None,
            source: None,
            needle: None,
        }
    }
    pub fn error(code: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, code, message.into())
    }
    pub fn warning(code: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warning, code, message.into())
    }
    pub fn at(mut self, file: impl Into<String>, line: usize) -> Finding {
        self.file = Some(file.into());
        self.line = Some(line);
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }
    pub fn host(mut self, host: impl Into<String>) -> Finding {
        self.host = Some(host.into());
        self
    }
    pub fn with_source(mut self, text: Arc<str>) -> Finding {
        self.source = Some(text);
        self
    }
    fn needle(mut self, needle: &str) -> Finding {
        self.needle = Some(needle.to_string());
        self
    }

    /// `file:line: ` or nothing.
    pub fn place(&self) -> String {
        match (&self.file, self.line) {
            (Some(file), Some(line)) if line > 0 => format!("{file}:{line}: "),
            (Some(file), _) => format!("{file}: "),
            _ => String::new(),
        }
    }

    /// One line (plus an indented hint line), for logs, pipes and tests:
    /// `warning[PFE001]: file:line: message`.
    pub fn to_line(&self) -> String {
        let mut out = format!(
            "{}[{}]: {}{}\n",
            self.severity.as_str(),
            self.code,
            self.place(),
            self.message
        );
        if let Some(h) = &self.hint {
            out += &format!("    hint: {h}\n");
        }
        out
    }

    /// A miette diagnostic with the source snippet, for terminals.
    pub fn to_diagnostic(&self) -> FindingDiagnostic {
        let span = match (&self.source, self.line) {
            (Some(text), Some(line)) => line_span(text, line).map(|whole| {
                let start = whole.offset();
                let on_line = &text[start..start + whole.len()];
                match self
                    .needle
                    .as_deref()
                    .and_then(|n| on_line.find(n).map(|i| (i, n.len())))
                {
                    Some((i, len)) => miette::SourceSpan::new((start + i).into(), len),
                    None => whole,
                }
            }),
            _ => None,
        };
        FindingDiagnostic {
            finding: self.clone(),
            src: match (&self.source, span) {
                (Some(text), Some(_)) => Some(
                    NamedSource::new(self.file.clone().unwrap_or_default(), text.to_string())
                        .with_language("lua"),
                ),
                _ => None,
            },
            span,
        }
    }
}

/// A [`Finding`] as miette renders it.
#[derive(Debug)]
pub struct FindingDiagnostic {
    finding: Finding,
    src: Option<NamedSource<String>>,
    span: Option<miette::SourceSpan>,
}

impl fmt::Display for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match (&self.finding.file, self.finding.line, &self.src) {
            // With a snippet miette shows the place itself.
            (_, _, Some(_)) => String::new(),
            _ => self.finding.place(),
        };
        write!(f, "{place}{}", self.finding.message)
    }
}

impl std::error::Error for FindingDiagnostic {}

impl Diagnostic for FindingDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{}({})",
            self.finding.code, self.finding.name
        )))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.finding
            .hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.src.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.finding.name.clone()),
            span,
        ))))
    }
}

/// Whether these findings fail the run: any error, or any finding at all
/// with `--deny-warnings`.
pub fn failed(findings: &[Finding], deny_warnings: bool) -> bool {
    findings
        .iter()
        .any(|f| f.severity == Severity::Error || deny_warnings)
}

/// Findings as text: one line each (plus a hint line) indented by
/// `indent`, or, for terminals (`graphical`), miette diagnostics with the
/// source snippet.
pub fn render(findings: &[Finding], graphical: bool, indent: &str) -> String {
    let mut out = String::new();
    if graphical {
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode());
        for f in findings {
            let mut s = String::new();
            if handler.render_report(&mut s, &f.to_diagnostic()).is_err() {
                s = f.to_line();
            }
            out += &s;
            if !s.ends_with('\n') {
                out.push('\n');
            }
        }
    } else {
        for f in findings {
            for line in f.to_line().lines() {
                out += indent;
                out += line;
                out.push('\n');
            }
        }
    }
    out
}

/// "2 error(s), 1 warning(s)" or "ok".
pub fn summary(findings: &[Finding]) -> String {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if findings.is_empty() {
        "ok".into()
    } else {
        format!("{errors} error(s), {} warning(s)", findings.len() - errors)
    }
}

// ---------------------------------------------------------------------------
// The checks on an evaluated config.

/// Every check that needs only the evaluated config, per host, against the
/// embedded Prosody index.  `pfe: allow(...)` comments are honoured.
pub fn check_evaluated(ev: &Evaluated, ctx: &Context) -> Vec<Finding> {
    check_evaluated_with(Index::builtin(), ev, ctx)
}

/// [`check_evaluated`] against any index (tests use small ones).
pub fn check_evaluated_with(index: &Index, ev: &Evaluated, _ctx: &Context) -> Vec<Finding> {
    let cx = Checker::new(index, ev);
    let mut out = Vec::new();
    cx.modules(&mut out);
    cx.conflicts(&mut out);
    for section in &ev.sections {
        cx.options(section, &mut out);
    }
    cx.real_world(&mut out);
    finish(ev, out)
}

/// Drops allowed findings and duplicates, orders by place.
fn finish(ev: &Evaluated, findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    let mut lines = LineCache::default();
    let mut out: Vec<Finding> = findings
        .into_iter()
        .filter(|f| !allowed(ev, f, &mut lines))
        .filter(|f| seen.insert((f.code.clone(), f.message.clone(), f.file.clone(), f.line)))
        .collect();
    out.sort_by(|a, b| {
        (&a.file, a.line, &a.code, &a.message).cmp(&(&b.file, b.line, &b.code, &b.message))
    });
    out
}

/// The codes a `pfe: allow(A, B)` comment on this line names (`# pfe:` and
/// `-- pfe:` both work; names such as `unknown-option` too).
pub fn allowed_on_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("pfe:") {
        let after = rest[i + 4..].trim_start();
        rest = &rest[i + 4..];
        let before = line[..line.len() - rest.len() - 4].trim_end();
        if !(before.ends_with("--") || before.ends_with('#')) {
            continue;
        }
        let Some(args) = after.strip_prefix("allow") else {
            continue;
        };
        let args = args.trim_start();
        let Some(args) = args.strip_prefix('(') else {
            continue;
        };
        let Some(end) = args.find(')') else { continue };
        for code in args[..end].split([',', ' ']) {
            let code = code.trim();
            if let Some(c) = code_info(code) {
                out.push(c.code.to_string());
            }
        }
    }
    out
}

/// A text and where each of its lines starts: line `n` without splitting
/// the text into a string per line (a 10,000-host config has 340,000).
struct Lines {
    text: Arc<str>,
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: Arc<str>) -> Lines {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        // As `str::lines`: no line after a final newline.
        if starts.last() == Some(&text.len()) {
            starts.pop();
        }
        Lines { text, starts }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Line `n` (1-based) without its line ending, as `str::lines` gives it.
    fn get(&self, n: usize) -> Option<&str> {
        let start = *self.starts.get(n.checked_sub(1)?)?;
        let rest = &self.text[start..];
        Some(match memchr::memchr(b'\n', rest.as_bytes()) {
            // Only a `\r` before the `\n` belongs to the line ending.
            Some(end) => rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]),
            None => rest,
        })
    }
}

/// Each file's lines, found on first use (by display path).
#[derive(Default)]
struct LineCache {
    by_path: BTreeMap<String, Option<Lines>>,
}

fn allowed(ev: &Evaluated, f: &Finding, cache: &mut LineCache) -> bool {
    let (Some(file), Some(line)) = (&f.file, f.line) else {
        return false;
    };
    let lines = cache.by_path.entry(file.clone()).or_insert_with(|| {
        let text = f.source.clone().or_else(|| {
            ev.files
                .iter()
                .find(|(_, path)| *path == file)
                .and_then(|(id, _)| ev.texts.get(id))
                .cloned()
        });
        text.map(Lines::new)
    });
    let Some(lines) = lines else { return false };
    [line, line.saturating_sub(1)]
        .iter()
        .filter_map(|l| lines.get(*l))
        .any(|l| allowed_on_line(l).contains(&f.code))
}

mod realcfg;

/// What each host loads, and where things were set.
struct Checker<'a> {
    index: &'a Index,
    ev: &'a Evaluated,
    /// Section name → modules Prosody loads there (with dependencies);
    /// sections with the same inputs share one set.
    loaded: HashMap<&'a str, Rc<BTreeSet<String>>>,
    /// Every module loaded on some host.
    loaded_anywhere: BTreeSet<String>,
    /// Whether the config defines any VirtualHost.
    virtual_hosts: bool,
    texts: BTreeMap<&'a str, Arc<str>>,
    /// Each file's lines (item_origin looks near a line).
    lines: BTreeMap<&'a str, Lines>,
    /// The global options naming where Prosody looks for more modules
    /// (`plugin_paths`, `plugin_server`, `installer_plugin_path`), when the
    /// config sets one: a module pfe does not see may be installed there.
    plugin_source: Option<&'a str>,
    /// Per option name, memoised: whether it is global-only, and who
    /// reads it (the same for every host, so computed once).
    global_only: RefCell<HashMap<&'a str, bool>>,
    readers: RefCell<HashMap<&'a str, Rc<Readers<'a>>>>,
}

type Readers<'a> = Vec<(crate::index::Reader<'a>, &'a crate::index::OptionSpec)>;

fn list_of(section: &Section, option: &str) -> Vec<String> {
    section
        .options
        .get(option)
        .map(|o| match &o.value {
            Value::Str(s) => vec![s.clone()],
            v => v.string_list(),
        })
        .unwrap_or_default()
}

fn host_label(section: &Section) -> String {
    match &section.kind {
        SectionKind::Global => "the global section".into(),
        SectionKind::VirtualHost => format!("VirtualHost {:?}", section.name),
        SectionKind::Component { module } => format!("Component {:?} {:?}", section.name, module),
    }
}

impl<'a> Checker<'a> {
    fn new(index: &'a Index, ev: &'a Evaluated) -> Checker<'a> {
        let texts = ev
            .texts
            .iter()
            .map(|(id, t)| (id.as_str(), t.clone()))
            .collect();
        let lines = ev
            .texts
            .iter()
            .map(|(id, t)| (id.as_str(), Lines::new(t.clone())))
            .collect();
        let mut cx = Checker {
            index,
            ev,
            loaded: HashMap::with_capacity(ev.sections.len()),
            loaded_anywhere: BTreeSet::new(),
            virtual_hosts: ev
                .sections
                .iter()
                .any(|s| s.kind == SectionKind::VirtualHost),
            texts,
            lines,
            plugin_source: None,
            global_only: RefCell::default(),
            readers: RefCell::default(),
        };
        let global = ev.global();
        cx.plugin_source = ["plugin_paths", "plugin_server", "installer_plugin_path"]
            .into_iter()
            .find(|o| {
                global.options.get(*o).is_some_and(|s| match &s.value {
                    Value::List(l) => !l.is_empty(),
                    Value::Map(m) => !m.is_empty(),
                    Value::Str(s) => !s.is_empty(),
                    Value::Bool(b) => *b,
                    _ => true,
                })
            });
        let mut global_mods: BTreeSet<String> = index.autoload_modules.iter().cloned().collect();
        global_mods.extend(list_of(global, "modules_enabled"));
        for m in list_of(global, "modules_disabled") {
            global_mods.remove(&m);
        }
        // What decides a section's modules; hosts with the same inputs (most
        // of them, in a config with thousands) share the computed set.
        let mut memo: HashMap<String, Rc<BTreeSet<String>>> = HashMap::new();
        for section in &ev.sections {
            let get = |name: &str| {
                section
                    .options
                    .get(name)
                    .or_else(|| global.options.get(name))
                    .map(|o| &o.value)
            };
            let mut key = match &section.kind {
                SectionKind::Global => "G".to_string(),
                SectionKind::VirtualHost => "V".to_string(),
                SectionKind::Component { module } => format!("C{module}"),
            };
            if section.kind != SectionKind::Global {
                for option in ["modules_enabled", "modules_disabled"] {
                    key.push('\0');
                    for m in list_of(section, option) {
                        key.push_str(&m);
                        key.push('\x01');
                    }
                }
            }
            for option in [
                "authentication",
                "authorization",
                "default_storage",
                "storage",
            ] {
                key.push('\0');
                if let Some(v) = get(option) {
                    key.push_str(&v.to_lua(0));
                }
            }
            if let Some(mods) = memo.get(&key) {
                cx.loaded.insert(section.name.as_str(), mods.clone());
                continue;
            }
            let mut mods = match &section.kind {
                SectionKind::Global => global_mods.clone(),
                SectionKind::VirtualHost => global_mods.clone(),
                SectionKind::Component { .. } => global_mods
                    .intersection(&index.component_inheritable_modules)
                    .cloned()
                    .collect(),
            };
            if section.kind != SectionKind::Global {
                mods.extend(list_of(section, "modules_enabled"));
                for m in list_of(section, "modules_disabled") {
                    mods.remove(&m);
                }
            }
            if let SectionKind::Component { module } = &section.kind {
                mods.insert(module.clone());
            }
            // Providers Prosody loads for the host's authentication and storage.
            let get = |name: &str| {
                section
                    .options
                    .get(name)
                    .or_else(|| global.options.get(name))
                    .map(|o| &o.value)
            };
            if !matches!(section.kind, SectionKind::Component { .. }) {
                let auth = get("authentication")
                    .and_then(Value::as_str)
                    .unwrap_or("internal_hashed");
                mods.insert(format!("auth_{auth}"));
            }
            // core/usermanager.lua initialize_host loads the authorization
            // provider on every host, Components included (so `admins`
            // under a Component is read by authz_internal).
            let authz = get("authorization")
                .and_then(Value::as_str)
                .unwrap_or("internal");
            mods.insert(format!("authz_{authz}"));
            let mut drivers = vec![
                get("default_storage")
                    .and_then(Value::as_str)
                    .unwrap_or("internal")
                    .to_string(),
            ];
            match get("storage") {
                Some(Value::Str(s)) => drivers.push(s.clone()),
                Some(Value::Map(m)) => {
                    drivers.extend(m.iter().filter_map(|(_, v)| v.as_str().map(String::from)))
                }
                _ => {}
            }
            for d in drivers {
                mods.insert(format!("storage_{d}"));
            }
            // module:depends, transitively.
            let mut stack: Vec<String> = mods.iter().cloned().collect();
            while let Some(m) = stack.pop() {
                if let Some(module) = index.module(&m) {
                    for d in &module.depends {
                        if mods.insert(d.clone()) {
                            stack.push(d.clone());
                        }
                    }
                }
            }
            cx.loaded_anywhere.extend(mods.iter().cloned());
            let mods = Rc::new(mods);
            memo.insert(key, mods.clone());
            cx.loaded.insert(section.name.as_str(), mods);
        }
        cx
    }

    /// [`Index::is_global_only`], once per option name.
    fn is_global_only(&self, name: &'a str) -> bool {
        *self
            .global_only
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| self.index.is_global_only(name))
    }

    /// [`Index::option`], once per option name.
    fn readers_of(&self, name: &'a str) -> Rc<Readers<'a>> {
        self.readers
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| Rc::new(self.index.option(name)))
            .clone()
    }

    /// A finding at an origin, with the file's display path and text.
    fn located(&self, f: Finding, origin: &Origin, section: &Section) -> Finding {
        let path = self
            .ev
            .files
            .get(&*origin.file)
            .cloned()
            .unwrap_or_else(|| origin.file.to_string());
        let mut f = f.at(path, origin.line).host(section.name.clone());
        if let Some(t) = self.texts.get(&*origin.file) {
            f = f.with_source(t.clone());
        }
        f
    }

    /// The line naming `item` (`"mam"`) nearest to `origin`: a list spread
    /// over lines reports the module's own line.
    fn item_origin(&self, origin: &Origin, item: &str) -> Origin {
        const WINDOW: usize = 60;
        let mut o = origin.clone();
        let Some(lines) = self.lines.get(&*origin.file) else {
            return o;
        };
        let quoted = [format!("\"{item}\""), format!("'{item}'")];
        let names_it = |l: usize| {
            let code = lines.get(l).unwrap_or("").split("--").next().unwrap_or("");
            quoted.iter().any(|q| code.contains(q.as_str()))
        };
        // Most lists name their items on the line that sets them.
        if origin.line >= 1 && origin.line <= lines.len() && names_it(origin.line) {
            return o;
        }
        // Only lines within WINDOW of the origin qualify: look there alone,
        // so a file with thousands of hosts is not scanned once per item.
        let from = origin.line.saturating_sub(WINDOW).max(1);
        let to = (origin.line + WINDOW).min(lines.len());
        let best = (from..=to)
            .filter(|l| names_it(*l))
            .min_by_key(|l| (l.abs_diff(origin.line), *l > origin.line));
        if let Some(line) = best {
            o.line = line;
        }
        o
    }

    /// Modules named in modules_enabled (and Component lines): unknown, not
    /// installed, deprecated.
    fn modules(&self, out: &mut Vec<Finding>) {
        for section in &self.ev.sections {
            let mut named: Vec<(String, Origin)> = Vec::new();
            if let SectionKind::Component { module } = &section.kind
                && let Some(o) = &section.defined_at
            {
                named.push((module.clone(), o.clone()));
            }
            if let Some(opt) = section.options.get("modules_enabled") {
                for item in opt.value.string_list() {
                    let o = opt
                        .item_origins
                        .get(&item)
                        .cloned()
                        .unwrap_or_else(|| opt.origin().clone());
                    let o = self.item_origin(&o, &item);
                    named.push((item, o));
                }
            }
            for (name, origin) in named {
                if let Some(f) = self.module_finding(&name) {
                    out.push(self.located(f.needle(&name), &origin, section));
                }
            }
        }
    }

    fn module_finding(&self, name: &str) -> Option<Finding> {
        let index = self.index;
        let Some(module) = index.module(name) else {
            if let Some(r) = index.obsolete_module(name) {
                // Known, but not available: say what it became and what
                // replaces it, in the index's own terms.
                let hint = match &r.replacement {
                    Some(rep) => format!("use mod_{rep} instead ({})", r.message),
                    None => r.message.clone(),
                };
                return Some(
                    Finding::error(
                        UNKNOWN_MODULE,
                        format!(
                            "mod_{name} {}, and neither Prosody 13 nor prosody-modules ships it any more",
                            replacement_words(r.kind)
                        ),
                    )
                    .hint(hint),
                );
            }
            if self.plugin_source.is_some() {
                // modulemanager also searches the config's own plugin
                // directories: a module pfe does not know may be there.
                return None;
            }
            let snapshot = index.upstream_snapshot();
            let searched = if snapshot.is_empty() {
                "Prosody 13 and the installed prosody-modules".to_string()
            } else {
                format!("Prosody 13, the installed prosody-modules or {snapshot}")
            };
            let mut f = Finding::error(
                UNKNOWN_MODULE,
                format!(
                    "unknown module '{name}': mod_{name} is unknown to pfe (not in {searched})"
                ),
            );
            f = match index.suggest_module(name) {
                Some(s) => f.hint(format!("did you mean '{s}'?")),
                None => f.hint(
                    "check the name (without the mod_ prefix); a module of your own or a newer community module in plugin_paths can be allowed with `-- pfe: allow(PFE005)`",
                ),
            };
            return Some(f);
        };
        if !module.installed
            && let Some(source) = self.plugin_source
        {
            // The config names its own module directories, which pfe does
            // not read: the module may well be installed there. Only a
            // superseded module is still worth a word.
            let r = index.obsolete_module(name)?;
            let hint = match &r.replacement {
                Some(rep) => format!("use mod_{rep} instead ({})", r.message),
                None => r.message.clone(),
            };
            return Some(
                Finding::warning(
                    DEPRECATED_MODULE,
                    format!(
                        "mod_{name} {}; Prosody 13 and Debian's prosody-modules do not ship it (the directories of '{source}' may)",
                        replacement_words(r.kind)
                    ),
                )
                .hint(hint),
            );
        }
        if !module.installed {
            let install = match &module.upstream {
                Some(_) => {
                    "install it from prosody-modules into plugin_paths (it is not in Debian's prosody-modules package), or use a module the target has"
                }
                None => {
                    "install it from prosody-modules into plugin_paths, or use a module the target has"
                }
            };
            let mut hint = install.to_string();
            if let Some(r) = index.obsolete_module(name) {
                hint = match &r.replacement {
                    Some(rep) => format!("use mod_{rep} instead ({})", r.message),
                    None => format!("{}: {}", r.message, install),
                };
            }
            let from = match &module.upstream {
                Some(src) => src.describe(),
                None => "prosody-modules".to_string(),
            };
            let message = match index.obsolete_module(name) {
                Some(r) => format!(
                    "mod_{name} {} and is not installed on the target (a community module from {from})",
                    replacement_words(r.kind)
                ),
                None => format!(
                    "mod_{name} is a community module from {from} that is not installed on the target"
                ),
            };
            return Some(Finding::error(NOT_INSTALLED, message).hint(hint));
        }
        if let Some(r) = index.obsolete_module(name) {
            let hint = match &r.replacement {
                Some(rep) => format!("use mod_{rep} instead ({})", r.message),
                None => r.message.clone(),
            };
            return Some(
                Finding::warning(
                    DEPRECATED_MODULE,
                    format!("mod_{name} {}", replacement_words(r.kind)),
                )
                .hint(hint),
            );
        }
        None
    }

    /// Modules loaded where an option set in `section` applies that pfe
    /// does not know (a module of the user's own, or a community module
    /// newer than the index): they could read any option.
    fn unknown_modules_for(&self, section: &Section) -> BTreeSet<&str> {
        let sections: Vec<&Section> = if section.kind == SectionKind::Global {
            self.ev.sections.iter().collect()
        } else {
            vec![section]
        };
        sections
            .iter()
            .flat_map(|s| self.loaded[s.name.as_str()].iter())
            .filter(|m| !self.index.module_exists(m) && self.index.obsolete_module(m).is_none())
            .map(String::as_str)
            .collect()
    }

    /// Modules that must not be loaded together, and `--%` headers that
    /// keep a module from loading.
    fn conflicts(&self, out: &mut Vec<Finding>) {
        let index = self.index;
        // A module set found clean once is clean on every host sharing it.
        let mut clean: BTreeSet<*const BTreeSet<String>> = BTreeSet::new();
        for section in &self.ev.sections {
            if section.kind == SectionKind::Global && self.has_virtual_hosts() {
                continue; // the hosts carry the global modules
            }
            let mods: &BTreeSet<String> = &self.loaded[section.name.as_str()];
            if clean.contains(&(mods as *const _)) {
                continue;
            }
            let before = out.len();
            let place = |m: &str| self.module_place(section, m);
            for [a, b] in &index.conflicting_modules {
                if mods.contains(a) && mods.contains(b) {
                    let f = Finding::error(
                        MODULE_CONFLICT,
                        format!(
                            "mod_{a} and mod_{b} conflict but both are loaded on {}",
                            self.loaded_on(section)
                        ),
                    )
                    .hint(format!(
                        "remove one of them from modules_enabled (mod_{b} replaces mod_{a})"
                    ));
                    out.push(self.located(f.needle(b), &place(b), section));
                }
            }
            for m in mods {
                let Some(module) = index.module(m) else {
                    continue;
                };
                for c in &module.conflicts {
                    let other = c.strip_prefix("mod_").unwrap_or(c);
                    if index.core_features.contains(c.as_str()) {
                        let f = Finding::error(
                            MODULE_CONFLICT,
                            format!("mod_{m} will not load: it conflicts with Prosody's built-in feature '{c}'"),
                        )
                        .hint("remove it from modules_enabled: Prosody 13 has this built in");
                        out.push(self.located(f, &place(m), section));
                    } else if other != m && mods.contains(other) {
                        let f = Finding::error(
                            MODULE_CONFLICT,
                            format!("mod_{m} declares a conflict with mod_{other}, and both are loaded on {}", self.loaded_on(section)),
                        )
                        .hint("remove one of them from modules_enabled");
                        out.push(self.located(f, &place(m), section));
                    }
                }
                for r in &module.requires {
                    if !index.core_features.contains(r.as_str()) {
                        let f = Finding::error(
                            MODULE_CONFLICT,
                            format!("mod_{m} will not load: it requires '{r}', which Prosody 13 does not have"),
                        )
                        .hint("remove it from modules_enabled");
                        out.push(self.located(f, &place(m), section));
                    }
                }
            }
            if out.len() == before {
                clean.insert(mods as *const _);
            }
        }
    }

    /// "VirtualHost \"x\"", or for the global section standing for the
    /// served host, "every host".
    fn loaded_on(&self, section: &Section) -> String {
        match section.kind {
            SectionKind::Global => "every host (global modules_enabled)".into(),
            _ => host_label(section),
        }
    }

    fn has_virtual_hosts(&self) -> bool {
        self.virtual_hosts
    }

    /// Where module `m` was enabled for this section: its modules_enabled
    /// item, else the global one, else the section's definition.
    fn module_place(&self, section: &Section, m: &str) -> Origin {
        for s in [section, self.ev.global()] {
            if let Some(opt) = s.options.get("modules_enabled")
                && opt.value.string_list().iter().any(|x| x == m)
            {
                let o = opt
                    .item_origins
                    .get(m)
                    .cloned()
                    .unwrap_or_else(|| opt.origin().clone());
                return self.item_origin(&o, m);
            }
        }
        section.defined_at.clone().unwrap_or_else(|| Origin {
            file: "<config>".into(),
            line: 0,
            layer: "".into(),
        })
    }

    fn options(&self, section: &'a Section, out: &mut Vec<Finding>) {
        let index = self.index;
        let is_global = section.kind == SectionKind::Global;
        for (name, setting) in &section.options {
            let origin = setting.origin();
            let at = |f: Finding| self.located(f.needle(name), origin, section);
            // Only findings need it: not formatted for every option of every host.
            let where_ = || {
                if is_global {
                    String::new()
                } else {
                    format!(" (under {})", host_label(section))
                }
            };
            if let Some(r) = index.deprecated(name) {
                let (msg, hint) = match r.kind {
                    ReplacementKind::Obsolete => (
                        format!("option '{name}' is obsolete and has no effect{}", where_()),
                        "remove it".to_string(),
                    ),
                    _ => (
                        format!("option '{name}' is deprecated{}", where_()),
                        r.message.clone(),
                    ),
                };
                out.push(at(Finding::warning(DEPRECATED_OPTION, msg).hint(hint)));
                continue;
            }
            if !index.option_known(name) {
                // A module pfe does not know may read it: only a near miss
                // of a known option is still reported, with a note.
                let unknown_mods = self.unknown_modules_for(section);
                let own_prefix = unknown_mods
                    .iter()
                    .any(|m| name.starts_with(&format!("{m}_")) || name == *m);
                if !unknown_mods.is_empty() && (own_prefix || index.suggest_option(name).is_none())
                {
                    continue;
                }
                let mut msg = format!(
                    "unknown option '{name}'{}: neither Prosody 13 nor any prosody-modules module pfe knows reads it",
                    where_()
                );
                if !unknown_mods.is_empty() {
                    let list: Vec<String> =
                        unknown_mods.iter().map(|m| format!("mod_{m}")).collect();
                    msg += &format!(" (unless {}, unknown to pfe, does)", list.join(" or "));
                }
                let mut f = Finding::warning(UNKNOWN_OPTION, msg);
                f = f.hint(suggest_unknown_option(index, name).unwrap_or_else(|| {
                    "remove it, or allow it with `-- pfe: allow(PFE001)` if a module of your own reads it".into()
                }));
                out.push(at(f));
                continue;
            }
            let ignored_here = !is_global && self.is_global_only(name);
            if ignored_here {
                out.push(at(Finding::error(
                    GLOBAL_ONLY,
                    format!(
                        "option '{name}' is global-only: Prosody ignores it under {}",
                        host_label(section)
                    ),
                )
                .hint(
                    "move it to the global section, above every VirtualHost and Component",
                )));
            }
            if name.ends_with("_ports")
                && let Some(e) = check_ports(&setting.value)
            {
                out.push(at(Finding::error(
                    BAD_PORT,
                    format!("option '{name}'{}: {e}", where_()),
                )
                .hint(format!(
                    "give integers 1-65535 (or numeric strings), one or a list: {name} = {{ 5222 }}; an empty list {{}} switches the listener off"
                ))));
            } else if let Err(e) =
                Index::check_with_readers(&self.readers_of(name), &LuaLiteral::from(&setting.value))
            {
                out.push(at(Finding::error(
                    WRONG_TYPE,
                    format!("option '{name}'{}: {e}", where_()),
                )));
            }
            if ignored_here {
                continue;
            }
            if let Some(f) = self.effect(section, name) {
                out.push(at(f));
            }
        }
    }

    /// PFE003: whether any module loaded where the option applies reads it.
    fn effect(&self, section: &'a Section, name: &'a str) -> Option<Finding> {
        let index = self.index;
        let readers = self.readers_of(name);
        if readers
            .iter()
            .any(|(r, _)| matches!(r, crate::index::Reader::Core))
        {
            return None;
        }
        let is_global = section.kind == SectionKind::Global;
        // A global module (mod_http, mod_s2s, ...) reads its options from
        // the global section once, whichever host loaded it.
        let global_reader_loaded = readers.iter().any(|(r, spec)| {
            matches!(r, crate::index::Reader::Module(m)
                if spec.global_context && self.loaded_anywhere.contains(&m.name))
        });
        if is_global && global_reader_loaded {
            return None;
        }
        // The sections the value reaches: the host itself, or every host
        // that does not set its own (the global section alone if none).
        // With no VirtualHost (pfe's catalog: the renderer adds the served
        // one) the global section stands for it.
        let targets: Vec<&Section> = if is_global {
            let mut hosts: Vec<&Section> = self
                .ev
                .sections
                .iter()
                .filter(|s| s.kind != SectionKind::Global && !s.options.contains_key(name))
                .collect();
            if !self.has_virtual_hosts() {
                hosts.push(section);
            }
            hosts
        } else {
            vec![section]
        };
        let mut global_context_only = false;
        for t in &targets {
            let mods = &self.loaded[t.name.as_str()];
            for (r, spec) in readers.iter() {
                if let crate::index::Reader::Module(m) = r
                    && mods.contains(&m.name)
                {
                    if is_global || !spec.global_context {
                        return None;
                    }
                    global_context_only = true;
                }
            }
        }
        if !is_global && global_reader_loaded {
            global_context_only = true;
        }
        let reads_it = |s: &Section| {
            let mods = &self.loaded[s.name.as_str()];
            readers
                .iter()
                .any(|(r, _)| r.name() != "core" && mods.contains(r.name()))
        };
        let overriding: Vec<&Section> = if is_global {
            self.ev
                .sections
                .iter()
                .filter(|s| s.kind != SectionKind::Global && s.options.contains_key(name))
                .filter(|s| reads_it(s))
                .collect()
        } else {
            Vec::new()
        };
        if is_global && !targets.is_empty() && !overriding.is_empty() {
            // The hosts that read it all set their own value; the others
            // do not load a module that reads it.
            let hosts: Vec<String> = overriding.iter().take(3).map(|s| host_label(s)).collect();
            let more = if overriding.len() > 3 {
                format!(" and {} more", overriding.len() - 3)
            } else {
                String::new()
            };
            return Some(
                Finding::warning(
                    NO_EFFECT,
                    format!(
                        "option '{name}' has no effect in the global section: every host that loads a module reading it sets its own value ({}{more})",
                        hosts.join(", ")
                    ),
                )
                .hint("remove the global assignment (the hosts' values override it)"),
            );
        }
        if is_global && targets.is_empty() {
            // Every host sets its own value: the global one is dead.
            return Some(
                Finding::warning(
                    NO_EFFECT,
                    format!("option '{name}' has no effect: every host sets its own value"),
                )
                .hint("remove the global assignment"),
            );
        }
        let where_ = if is_global {
            "the config".to_string()
        } else {
            host_label(section)
        };
        if global_context_only {
            let hint = if self.ev.global().options.contains_key(name) {
                "remove it: the global section's value is the one that is read"
            } else {
                "move it to the global section"
            };
            return Some(
                Finding::warning(
                    NO_EFFECT,
                    format!("option '{name}' has no effect under {where_}: its modules read it from the global section only"),
                )
                .hint(hint),
            );
        }
        let names: Vec<String> = readers
            .iter()
            .map(|(r, _)| match r {
                crate::index::Reader::Module(m) if !m.installed => {
                    format!("mod_{} (not installed)", m.name)
                }
                _ => format!("mod_{}", r.name()),
            })
            .collect();
        let mut hint = format!(
            "enable {} (modules_enabled), or remove the option",
            names.join(" or ")
        );
        // A loaded module that reads a similar option: its successor, or
        // the option sharing the longest ending (`..._size_limit`).
        let loaded: BTreeSet<&String> = targets
            .iter()
            .flat_map(|t| self.loaded[t.name.as_str()].iter())
            .collect();
        let successors: Vec<&str> = readers
            .iter()
            .filter_map(|(r, _)| index.obsolete_module(r.name()))
            .filter_map(|r| r.replacement.as_deref())
            .filter(|rep| loaded.iter().any(|m| m.as_str() == *rep))
            .collect();
        let pick = |mods: &mut dyn Iterator<Item = &str>| -> Option<(String, String)> {
            let mut best: Option<(usize, String, String)> = None;
            for m in mods {
                let Some(module) = index.module(m) else {
                    continue;
                };
                for opt in module.options.keys() {
                    let score = common_suffix_words(name, opt);
                    if score >= 2 && best.as_ref().is_none_or(|b| score > b.0) {
                        best = Some((score, m.to_string(), opt.clone()));
                    }
                }
            }
            best.map(|(_, m, o)| (m, o))
        };
        let similar = pick(&mut successors.iter().copied())
            .or_else(|| pick(&mut loaded.iter().map(|m| m.as_str())));
        let mut msg = format!(
            "option '{name}' has no effect: no module loaded in {where_} reads it (read by {})",
            names.join(", ")
        );
        if let Some((m, opt)) = similar {
            msg = format!(
                "option '{name}' has no effect: it is read by {}, not by the enabled mod_{m}, whose option is '{opt}'",
                names.join(", ")
            );
            hint = format!("set '{opt}' instead, or enable {}", names.join(" or "));
        }
        Some(Finding::warning(NO_EFFECT, msg).hint(hint))
    }
}

/// The hint for an unknown option: the nearest real option, or what to do.
///
/// 1. A name starting with a module's name (`sasl2_require_encryption`)
///    gets that module's option with the same ending
///    (`c2s_require_encryption`), deprecated spellings skipped;
/// 2. `<module>_enabled` / `enable_<module>` says modules are switched on
///    by modules_enabled;
/// 3. a typo (edit distance) of a known option, keeping the module prefix;
/// 4. a name that extends a known option (`debug_mode` → `debug`);
/// 5. otherwise, what the prefix module does read.
pub fn suggest_unknown_option(index: &Index, name: &str) -> Option<String> {
    let words: Vec<&str> = name.split('_').collect();
    let prefix_module = (1..words.len())
        .rev()
        .map(|n| words[..n].join("_"))
        .find(|m| index.module_exists(m));
    if let Some(m) = &prefix_module {
        let module = index.module(m)?;
        let best = module
            .options
            .keys()
            .filter(|o| index.deprecated(o).is_none() && *o != name)
            .map(|o| (common_suffix_words(name, o), o))
            .filter(|(n, o)| *n >= 2 || (*n >= 1 && o.split('_').count() == 1))
            .max_by_key(|(n, o)| (*n, std::cmp::Reverse(o.len())));
        if let Some((_, o)) = best {
            return Some(format!("did you mean '{o}'? (mod_{m} reads '{o}')"));
        }
    }
    for (i, w) in words.iter().enumerate() {
        let rest = words[i + 1..].join("_");
        let module = if *w == "enable" || *w == "enabled" {
            if *w == "enabled" {
                words[..i].join("_")
            } else {
                rest.clone()
            }
        } else {
            continue;
        };
        if index.module_exists(&module) {
            return Some(format!(
                "modules are switched on and off with modules_enabled / modules_disabled, not an option: add \"{module}\" to modules_enabled"
            ));
        }
    }
    if let Some(s) = index.suggest_option(name) {
        let keeps_prefix = prefix_module
            .as_ref()
            .is_none_or(|m| s.starts_with(&format!("{m}_")));
        if keeps_prefix {
            return Some(format!("did you mean '{s}'?"));
        }
    }
    for n in (1..words.len()).rev() {
        let head = words[..n].join("_");
        if head.len() >= 5 && index.option_known(&head) && index.deprecated(&head).is_none() {
            return Some(format!("did you mean '{head}'?"));
        }
    }
    let m = prefix_module?;
    let module = index.module(&m)?;
    if module.options.is_empty() {
        Some(format!("mod_{m} reads no options: remove it"))
    } else {
        let list: Vec<&str> = module
            .options
            .keys()
            .filter(|o| index.deprecated(o).is_none())
            .map(String::as_str)
            .take(8)
            .collect();
        Some(format!("mod_{m} reads: {}", list.join(", ")))
    }
}

/// "was removed", "is deprecated", ... from the index's deprecated data.
fn replacement_words(kind: ModuleReplacementKind) -> &'static str {
    match kind {
        ModuleReplacementKind::Removed => "was removed",
        ModuleReplacementKind::Renamed => "was renamed",
        ModuleReplacementKind::Deprecated => "is deprecated",
        ModuleReplacementKind::Superseded => "is superseded",
    }
}

/// How many `_`-separated words two names share at their end.
fn common_suffix_words(a: &str, b: &str) -> usize {
    a.rsplit('_')
        .zip(b.rsplit('_'))
        .take_while(|(x, y)| x == y)
        .count()
}

// ---------------------------------------------------------------------------
// The catalog: feature metadata and resolution.

/// The line of the first line containing `needle` in `text` (1 if none).
fn line_containing(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// The findings of one profile × environment pair.
#[derive(Debug, Clone)]
pub struct PairFindings {
    pub profile: String,
    pub environment: String,
    pub findings: Vec<Finding>,
}

/// Builds and checks every pair; each is independent (its own Lua
/// sandboxes), so they are spread over the cores. Results keep the order of
/// `jobs`.
pub fn check_pairs(
    catalog: &crate::catalog::Catalog,
    jobs: &[(String, String, crate::engine::Request)],
) -> Vec<PairFindings> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(p, e, req)| PairFindings {
                            profile: p.clone(),
                            environment: e.clone(),
                            findings: match crate::engine::build(catalog, req) {
                                Ok(build) => check_build(&build),
                                Err(err) => vec![check_build_error(&err)],
                            },
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a validate worker panicked"))
            .collect()
    })
}

/// Checks a successful build: [`check_evaluated`], the features' metadata
/// and the resolution's warnings.
pub fn check_build(build: &Build) -> Vec<Finding> {
    let ctx = Context {
        domain: build.domain.clone(),
        domains: build.domains.clone(),
        profile: build.profile.id.clone(),
        environment: build.environment.id.clone(),
    };
    let ev = &build.evaluated;
    let mut out = check_evaluated(ev, &ctx);
    let mut extra = Vec::new();
    let text_of = |path: &str| -> Option<Arc<str>> {
        ev.files
            .iter()
            .find(|(_, p)| *p == path)
            .and_then(|(id, _)| ev.texts.get(id))
            .cloned()
    };
    let feature_at = |f: Finding, id: &str, field: &str| -> Finding {
        let Some(info) = build.features.get(id) else {
            return f;
        };
        match text_of(&info.path) {
            Some(t) => {
                let line = line_containing(&t, field);
                f.at(info.path.clone(), line).with_source(t)
            }
            None => f.at(info.path.clone(), 1),
        }
    };

    // Dependencies and conflicts naming features that do not exist.
    for (id, info) in &build.features {
        for (field, list) in [
            ("dependencies", &info.dependencies),
            ("conflicts", &info.conflicts),
        ] {
            for dep in list {
                if !build.features.contains_key(dep) {
                    let mut f = Finding::error(
                        UNKNOWN_FEATURE,
                        format!(
                            "feature {id} lists '{dep}' in its {field}, but no such feature exists"
                        ),
                    );
                    f = match crate::suggest::did_you_mean(
                        dep,
                        build.features.keys().map(String::as_str),
                    ) {
                        Some(s) => f.hint(format!("did you mean '{s}'?")),
                        None => f.hint("`pfe features` lists the features of the catalog"),
                    };
                    extra.push(feature_at(f, id, field));
                }
            }
        }
    }

    // XEPs promised by an enabled feature none of whose modules is loaded.
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    for s in &ev.sections {
        loaded.extend(list_of(s, "modules_enabled"));
        if let SectionKind::Component { module } = &s.kind {
            loaded.insert(module.clone());
        }
    }
    for id in &build.resolution.order {
        let info = &build.features[id];
        if info.xeps.is_empty() || info.modules.iter().any(|m| loaded.contains(m)) {
            continue;
        }
        let f = Finding::warning(
            XEP_WITHOUT_MODULE,
            format!(
                "feature {id} promises {} but the config loads none of its modules ({})",
                info.xeps.join(", "),
                if info.modules.is_empty() {
                    "it lists none".to_string()
                } else {
                    info.modules.join(", ")
                }
            ),
        )
        .hint("enable one of the feature's modules, or drop the XEPs it cannot provide from feature_info.xeps");
        extra.push(feature_at(f, id, "xeps"));
    }

    // Resolution warnings, each pointed at the field of its feature.
    for w in &build.resolution.warnings {
        use crate::resolve::ResolveWarning as W;
        let (code, field) = match w {
            W::DependencyOff { .. } => (DEPENDENCY_OFF, "dependencies"),
            W::AllowedUnstable { .. } | W::BetaAsDependency { .. } => (STABILITY, "stability"),
        };
        let feature = w.feature();
        let f = Finding::warning(code, w.to_string());
        extra.push(if build.features.contains_key(feature) {
            feature_at(f, feature, field)
        } else {
            f.at(build.profile.path.clone(), 1)
        });
    }
    out.extend(finish(ev, extra));
    out
}

/// A build that failed, as a finding with the code of what went wrong.
pub fn check_build_error(err: &crate::engine::Error) -> Finding {
    use crate::engine::Error as E;
    use crate::resolve::ResolveError as R;
    let (code, file, line) = match err {
        E::Resolve(R::Conflict { .. }) => (FEATURE_CONFLICT, None, None),
        E::Resolve(R::Stability { .. }) => (STABILITY, None, None),
        E::Resolve(R::UnknownFeature { by, .. }) if by.contains("dependencies of") => {
            (UNKNOWN_FEATURE, None, None)
        }
        E::Lua(e) => (CONFIG_ERROR, Some(e.path.clone()), Some(e.line)),
        _ => (CONFIG_ERROR, None, None),
    };
    let message = match err {
        // The sandbox's text starts with file:line, which the finding has.
        E::Lua(e) => e.message.clone(),
        other => other.to_string(),
    };
    let mut f = Finding::error(code, message);
    if let (Some(file), Some(line)) = (file, line) {
        f = f.at(file, line);
        if let E::Lua(e) = err
            && let Some(src) = &e.src
        {
            f = f.with_source(Arc::from(src.inner().as_str()));
        }
    }
    if let Some(help) = err.help() {
        f = f.hint(help.to_string());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Line n is what `str::lines` gives as its n-th line, and there are
        /// as many.
        #[test]
        fn lines_are_those_of_str_lines(text in "(a|b|\r|\n|é){0,40}") {
            let lines = Lines::new(Arc::from(text.as_str()));
            let want: Vec<&str> = text.lines().collect();
            proptest::prop_assert_eq!(lines.len(), want.len());
            for (i, w) in want.iter().enumerate() {
                proptest::prop_assert_eq!(lines.get(i + 1), Some(*w));
            }
            proptest::prop_assert_eq!(lines.get(0), None);
            proptest::prop_assert_eq!(lines.get(want.len() + 1), None);
        }
    }

    #[test]
    fn allow_comments() {
        assert_eq!(
            allowed_on_line("x = 1 -- pfe: allow(PFE001)"),
            vec!["PFE001"]
        );
        assert_eq!(
            allowed_on_line("# pfe: allow(PFE001, no-effect)"),
            vec!["PFE001", "PFE003"]
        );
        assert_eq!(allowed_on_line("--pfe:allow(pfe002)"), vec!["PFE002"]);
        assert!(allowed_on_line("x = \"pfe: allow(PFE001)\"").is_empty());
        assert!(allowed_on_line("-- pfe: allow(NOPE)").is_empty());
    }

    #[test]
    fn codes_are_unique_and_named() {
        let mut seen = BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            assert!(c.code.starts_with("PFE") && c.code.len() == 6);
            assert_eq!(code_info(c.name).unwrap().code, c.code);
        }
    }

    fn lint_text(index: &Index, text: &str) -> Vec<Finding> {
        let ctx = Context::default();
        let sb = crate::sandbox::Sandbox::new(Default::default(), &ctx).unwrap();
        sb.eval(&crate::sandbox::Source {
            id: "t.cfg.lua".into(),
            path: "t.cfg.lua".into(),
            text: text.into(),
        })
        .unwrap();
        check_evaluated_with(index, &sb.finish().unwrap(), &ctx)
    }

    /// `--% conflicts:` / `--% requires:` headers of loaded modules (the
    /// installed index has none on loadable modules, so a doctored one).
    #[test]
    fn module_headers_keep_modules_from_loading() {
        let mut json: serde_json::Value =
            serde_json::from_str(include_str!("../../../data/prosody-index.json")).unwrap();
        json["modules"]["carbons"]["conflicts"] = serde_json::json!(["mod_flags"]);
        json["modules"]["ping"]["requires"] = serde_json::json!(["time-travel"]);
        json["modules"]["csi_simple"]["conflicts"] = serde_json::json!(["mod_csi_battery_saver"]);
        let index = Index::from_json(&json.to_string()).unwrap();
        let base = "modules_enabled = { \"disco\", \"roster\", \"saslauth\", \"tls\", ";
        let f = lint_text(
            &index,
            &format!("{base}\"carbons\", \"ping\" }}\nVirtualHost \"x.example\"\n"),
        );
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert!(f.iter().all(|f| f.code == MODULE_CONFLICT), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("mod_carbons will not load") && m.contains("mod_flags")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("mod_ping will not load") && m.contains("time-travel")),
            "{msgs:?}"
        );
        let f = lint_text(
            &index,
            &format!(
                "{base}\"csi_simple\" }}\nVirtualHost \"x.example\"\n    modules_enabled = {{ \"csi_battery_saver\" }}\n"
            ),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message
                .contains("mod_csi_simple declares a conflict with mod_csi_battery_saver")
        );
        assert_eq!(f[0].host.as_deref(), Some("x.example"));
        // The real index: no loadable module is kept out by its header.
        let f = lint_text(
            Index::builtin(),
            &format!("{base}\"carbons\", \"ping\" }}\nVirtualHost \"x.example\"\n"),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    /// Module wording from the index's deprecated data, and the upstream
    /// part: an absent removed module "was removed" (never "no longer
    /// exists" for a deprecated one), an upstream-only one is PFE006 with
    /// its source, and without the upstream part it is unknown to pfe.
    #[test]
    fn module_wording() {
        let base = "modules_enabled = { \"disco\", \"roster\", \"saslauth\", \"tls\", ";
        let cfg = |m: &str| format!("{base}\"{m}\" }}\nVirtualHost \"x.example\"\n");
        let f = lint_text(Index::builtin(), &cfg("privacy"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, UNKNOWN_MODULE);
        assert!(f[0].message.starts_with("mod_privacy was removed"), "{f:?}");
        assert!(f[0].hint.as_deref().unwrap().contains("mod_blocklist"));

        let f = lint_text(Index::builtin(), &cfg("limit_auth"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, NOT_INSTALLED);
        assert!(f[0].message.contains("upstream prosody-modules"), "{f:?}");

        // Only the installed part: the same module is unknown to pfe, and
        // its options are not called unknown (it may read them).
        let local = Index::from_json(include_str!("../../../data/prosody-index.json")).unwrap();
        let f = lint_text(
            &local,
            &format!("limit_auth_max = 3\n{}", cfg("limit_auth")),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, UNKNOWN_MODULE);
        assert!(f[0].message.contains("unknown to pfe"), "{f:?}");
        assert!(!f[0].message.contains("upstream"), "{f:?}");

        // An obsolete module with an installed stub is PFE008, same words.
        let f = lint_text(Index::builtin(), &cfg("pep_plus"));
        assert_eq!(f[0].code, DEPRECATED_MODULE, "{f:?}");
    }

    /// `admins` under a Component is read by the authorization provider
    /// core/usermanager.lua loads there.
    #[test]
    fn component_loads_authz() {
        let f = lint_text(
            Index::builtin(),
            "modules_enabled = { \"disco\" }\nVirtualHost \"x.example\"\nComponent \"c.x.example\" \"muc\"\n    admins = { \"a@x.example\" }\n",
        );
        assert!(f.is_empty(), "{f:?}");
        let f = lint_text(
            Index::builtin(),
            "modules_enabled = { \"disco\" }\nVirtualHost \"x.example\"\nComponent \"c.x.example\" \"muc\"\n    authorization = \"nonexistent_zz\"\n    admins = { \"a@x.example\" }\n",
        );
        assert!(f.iter().any(|f| f.code == NO_EFFECT), "{f:?}");
    }

    #[test]
    fn suffix_words() {
        assert_eq!(
            common_suffix_words("http_upload_file_size_limit", "http_file_share_size_limit"),
            2
        );
        assert_eq!(common_suffix_words("a_b", "c_d"), 0);
    }
}
