//! What Prosody 13 and prosody-modules know: modules, the options they read
//! and their types, global-only and deprecated options.
//!
//! The data is `data/prosody-index.json`, generated from the installed
//! Prosody and prosody-modules by `scripts/gen-prosody-index.py`, embedded in
//! the binary and parsed once on first use ([`Index::builtin`]).  A test
//! regenerates it and fails when the checked-in file is stale.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

const INDEX_JSON: &str = include_str!("../data/prosody-index.json");

/// The whole index.  Fields mirror the JSON; the query methods below are
/// what the validator uses.
#[derive(Debug, Deserialize)]
pub struct Index {
    pub schema_version: u32,
    pub packages: Packages,
    pub prosody_version: Option<String>,
    /// Module name (without `mod_`) to module.
    pub modules: BTreeMap<String, Module>,
    /// Options read by Prosody itself (core/, net/, util/, prosodyctl).
    pub core_options: BTreeMap<String, OptionSpec>,
    /// `core/features.lua`: what `--% requires/conflicts:` headers test.
    pub core_features: BTreeSet<String>,
    /// Modules Prosody loads on every host without being listed.
    pub autoload_modules: BTreeSet<String>,
    /// Global modules that Components inherit.
    pub component_inheritable_modules: BTreeSet<String>,
    /// prosodyctl check's `known_global_options`.
    pub global_only: BTreeSet<String>,
    /// prosodyctl check's name patterns for options that belong in the
    /// global section (`_ports$`, `_interfaces?$`, ...).
    pub global_only_patterns: Vec<GlobalOnlyPattern>,
    /// Names that match a pattern but are not global-only.
    pub global_only_exceptions: BTreeSet<String>,
    pub deprecated: Deprecated,
    /// Pairs of modules prosodyctl says must not be loaded together.
    pub conflicting_modules: Vec<[String; 2]>,
    pub counts: Counts,
    /// option name -> who reads it, built after parsing.
    #[serde(skip)]
    readers: BTreeMap<String, Vec<ReaderKey>>,
}

#[derive(Debug, Deserialize)]
pub struct Packages {
    pub prosody: Option<String>,
    #[serde(rename = "prosody-modules")]
    pub prosody_modules: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Counts {
    pub modules: usize,
    pub core_modules: usize,
    pub community_modules: usize,
    pub options: usize,
    pub module_options: usize,
    pub core_options: usize,
    pub global_only: usize,
    pub deprecated_options: usize,
    pub obsolete_modules: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Core,
    Community,
    /// Installed under /usr/lib/prosody/modules by neither package.
    Local,
}

/// How a module relates to `Component "host" "module"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentUse {
    /// Only makes sense as a Component (muc, http_file_share, proxy65, ...).
    Only,
    /// Works on a Component or on a VirtualHost (pubsub, ...).
    Optional,
}

#[derive(Debug, Deserialize)]
pub struct Module {
    pub name: String,
    pub origin: Origin,
    /// Debian package the file belongs to.
    pub package: Option<String>,
    /// The file Prosody's loader picks for this name.
    pub path: String,
    /// False for modules known from documentation only (mod_http_upload).
    #[serde(default = "yes")]
    pub installed: bool,
    pub options: BTreeMap<String, OptionSpec>,
    /// `module:depends("x")` (literal names only).
    pub depends: Vec<String>,
    /// Calls `module:set_global()`.
    pub set_global: bool,
    /// Defines `module.add_host` (a global module that also works per host).
    pub add_host: bool,
    /// Global and not per host: belongs in the global modules_enabled.
    pub global_only: bool,
    pub component: Option<ComponentUse>,
    /// `--%` header lines.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// Kinds passed to `module:provides` ("auth", "storage", "net", ...).
    #[serde(default)]
    pub provides: Vec<String>,
    #[serde(default)]
    pub net_services: Vec<NetService>,
    /// Files of the same name the loader passes over.
    #[serde(default)]
    pub shadowed: Vec<Shadowed>,
    /// Set for stub modules that only load their successor.
    pub renamed_to: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct NetService {
    pub name: String,
    pub config_prefix: Option<String>,
    pub default_port: Option<u16>,
    pub encryption: Option<String>,
    #[serde(default)]
    pub private: bool,
}

#[derive(Debug, Deserialize)]
pub struct Shadowed {
    pub path: String,
    pub origin: Origin,
    pub reason: String,
    /// Its `--%` header lines (why the loader skipped it).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct GlobalOnlyPattern {
    /// The Lua pattern as prosodyctl writes it.
    pub lua: String,
    /// The same as a regular expression, for other consumers.
    pub regex: String,
    /// A pattern that, when it matches too, cancels this one.
    pub unless: Option<Box<GlobalOnlyPattern>>,
}

impl GlobalOnlyPattern {
    fn matches(&self, name: &str) -> bool {
        lua_pattern_find(&self.lua, name) && !self.unless.as_ref().is_some_and(|u| u.matches(name))
    }
}

#[derive(Debug, Deserialize)]
pub struct Deprecated {
    pub options: BTreeMap<String, Replacement>,
    pub modules: BTreeMap<String, ModuleReplacement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplacementKind {
    /// Use another option (`replacement`, possibly `= value`).
    Option,
    /// Add module `replacement` to `list` (modules_enabled/modules_disabled).
    Module,
    /// Use community module `replacement`.
    Community,
    /// No longer has any effect: remove it.
    Obsolete,
    /// Free-text advice in `message`.
    Text,
}

/// What to use instead of a deprecated or obsolete option.
#[derive(Debug, Clone, Deserialize)]
pub struct Replacement {
    pub kind: ReplacementKind,
    pub replacement: Option<String>,
    pub value: Option<String>,
    /// Further options to set as well (`require_encryption` ->
    /// `c2s_require_encryption` and `s2s_require_encryption`).
    #[serde(default)]
    pub also: Vec<String>,
    /// For [`ReplacementKind::Module`]: the list to add the module to.
    pub list: Option<String>,
    /// prosodyctl's wording ("instead, use ...").
    pub message: String,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleReplacementKind {
    Removed,
    Renamed,
    Deprecated,
    Superseded,
}

/// An obsolete, renamed or superseded module.
#[derive(Debug, Clone, Deserialize)]
pub struct ModuleReplacement {
    pub kind: ModuleReplacementKind,
    pub replacement: Option<String>,
    pub message: String,
    /// "check.lua", "stub module" or "curated".
    pub source: String,
}

/// One place an option is read, with the type that read implies.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawOptionSpec")]
pub struct OptionSpec {
    pub ty: OptionType,
    /// Literal default, as JSON.
    pub default: Option<serde_json::Value>,
    /// How it is read (`get_option_integer`, `configmanager.get`, ...).
    pub getter: Option<String>,
    /// Read from the global section (`config.get("*", ...)`,
    /// `module:context("*")`), so a per-host value is not seen.
    pub global_context: bool,
    /// `get_option_inherited_set`: host value merged with the global one.
    pub inherited: bool,
    /// A pre-0.9 compatibility spelling.
    pub compat: bool,
    /// Other types the same reader also uses for it.
    pub alt_types: Vec<String>,
    /// For core options: the files reading it.
    pub files: Vec<String>,
    /// The type is a curated hint (a bare `config.get` gives none), not
    /// derived from a typed getter.
    pub hinted: bool,
}

#[derive(Deserialize)]
struct RawOptionSpec {
    #[serde(rename = "type")]
    ty: String,
    default: Option<serde_json::Value>,
    getter: Option<String>,
    context: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    values: Option<Vec<EnumValue>>,
    #[serde(default)]
    inherited: bool,
    #[serde(default)]
    compat: bool,
    #[serde(default)]
    alt_types: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    type_source: Option<String>,
}

impl TryFrom<RawOptionSpec> for OptionSpec {
    type Error = String;

    fn try_from(raw: RawOptionSpec) -> Result<Self, String> {
        let ty = match raw.ty.as_str() {
            "boolean" => OptionType::Boolean,
            "string" => OptionType::String,
            "number" => OptionType::Number {
                min: raw.min,
                max: raw.max,
            },
            "integer" => OptionType::Integer {
                min: raw.min.map(|v| v as i64),
                max: raw.max.map(|v| v as i64),
            },
            "period" => OptionType::Period {
                min: raw.min,
                max: raw.max,
            },
            "enum" => OptionType::Enum(raw.values.unwrap_or_default()),
            "set" => OptionType::Set,
            "array" => OptionType::Array,
            "path" => OptionType::Path,
            "scalar" => OptionType::Scalar,
            "table" => OptionType::Table,
            "any" => OptionType::Any,
            other => return Err(format!("unknown option type {other:?}")),
        };
        Ok(OptionSpec {
            ty,
            default: raw.default,
            getter: raw.getter,
            global_context: raw.context.as_deref() == Some("global"),
            inherited: raw.inherited,
            compat: raw.compat,
            alt_types: raw.alt_types,
            files: raw.files,
            hinted: raw.type_source.as_deref() == Some("hint"),
        })
    }
}

/// An allowed value of a `get_option_enum` option.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EnumValue {
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
}

impl fmt::Display for EnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnumValue::Bool(b) => write!(f, "{b}"),
            EnumValue::Integer(i) => write!(f, "{i}"),
            EnumValue::Float(x) => write!(f, "{x}"),
            EnumValue::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// The type an option's reader expects, from the typed getter it uses.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionType {
    /// true/false (Prosody also takes "true"/"false" and 1/0).
    Boolean,
    /// Any scalar; numbers are turned into strings.
    String,
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// Seconds, or a duration string like "7 days", "1w", "never".
    Period {
        min: Option<f64>,
        max: Option<f64>,
    },
    Enum(Vec<EnumValue>),
    /// A list (or a single value, taken as a one-item list).
    Set,
    Array,
    /// A file path (a string).
    Path,
    /// A single value; a list gives its first item.
    Scalar,
    /// A table: list or map (from a `{}` default of plain `get_option`).
    Table,
    Any,
}

impl OptionType {
    /// The type in a few words, for messages.
    pub fn describe(&self) -> String {
        match self {
            OptionType::Boolean => "boolean".into(),
            OptionType::String => "string".into(),
            OptionType::Number { min, max } => format!("number{}", bounds(*min, *max)),
            OptionType::Integer { min, max } => {
                format!(
                    "integer{}",
                    bounds(min.map(|v| v as f64), max.map(|v| v as f64))
                )
            }
            OptionType::Period { .. } => "period".into(),
            OptionType::Enum(values) => format!("one of {}", list_values(values)),
            OptionType::Set => "set".into(),
            OptionType::Array => "list".into(),
            OptionType::Path => "path".into(),
            OptionType::Scalar => "single value".into(),
            OptionType::Table => "table".into(),
            OptionType::Any => "any".into(),
        }
    }

    /// Checks a config value against the type, the way Prosody's getters
    /// read it.  `Nil` and `Expr` (a `Credential(...)`/`ENV_X` reference,
    /// resolved only at run time) always pass.
    pub fn check(&self, value: &LuaLiteral) -> Result<(), String> {
        use LuaLiteral as L;
        if matches!(value, L::Nil | L::Expr(_)) {
            return Ok(());
        }
        match self {
            OptionType::Any => Ok(()),
            OptionType::Boolean => match value {
                L::Bool(_) => Ok(()),
                L::String(s) if s == "true" || s == "false" => Ok(()),
                L::Integer(0 | 1) => Ok(()),
                L::Float(f) if *f == 0.0 || *f == 1.0 => Ok(()),
                other => Err(format!("expected boolean, got {}", other.describe())),
            },
            OptionType::String | OptionType::Path => match value {
                L::String(_) | L::Integer(_) | L::Float(_) => Ok(()),
                other => Err(format!("expected string, got {}", other.describe())),
            },
            OptionType::Scalar => match value {
                L::List(_) | L::Map(_) => {
                    Err(format!("expected a single value, got {}", value.describe()))
                }
                _ => Ok(()),
            },
            OptionType::Number { min, max } => {
                let what = format!("a number{}", between(*min, *max));
                let n = value
                    .as_number()
                    .ok_or_else(|| format!("expected {what}, got {}", value.describe()))?;
                in_bounds(n, *min, *max)
                    .then_some(())
                    .ok_or_else(|| format!("expected {what}, got {}", fmt_num(n)))
            }
            OptionType::Integer { min, max } => {
                let (minf, maxf) = (min.map(|v| v as f64), max.map(|v| v as f64));
                let what = format!("an integer{}", between(minf, maxf));
                let n = value
                    .as_number()
                    .ok_or_else(|| format!("expected {what}, got {}", value.describe()))?;
                if n.fract() != 0.0 {
                    return Err(format!("expected {what}, got {}", fmt_num(n)));
                }
                in_bounds(n, minf, maxf)
                    .then_some(())
                    .ok_or_else(|| format!("expected {what}, got {}", fmt_num(n)))
            }
            OptionType::Period { min, max } => {
                let secs = match value {
                    L::Bool(false) => return Ok(()), // "never"
                    L::Integer(i) => *i as f64,
                    L::Float(f) => *f,
                    L::String(s) if s == "never" => return Ok(()),
                    L::String(s) => parse_period(s)?,
                    other => {
                        return Err(format!(
                            "expected a period (seconds, or e.g. \"7 days\"), got {}",
                            other.describe()
                        ));
                    }
                };
                if secs < 0.0 {
                    return Ok(()); // Prosody treats a negative period as infinity
                }
                in_bounds(secs, *min, *max).then_some(()).ok_or_else(|| {
                    format!(
                        "expected a period{}, got {} seconds",
                        between(*min, *max),
                        fmt_num(secs)
                    )
                })
            }
            OptionType::Enum(values) => {
                let ok = values.iter().any(|v| match (v, value) {
                    (EnumValue::Bool(a), L::Bool(b)) => a == b,
                    (EnumValue::String(a), L::String(b)) => a == b,
                    (EnumValue::Integer(a), L::Integer(b)) => a == b,
                    (EnumValue::Integer(a), L::Float(b)) => *a as f64 == *b,
                    (EnumValue::Float(a), L::Float(b)) => a == b,
                    (EnumValue::Float(a), L::Integer(b)) => *a == *b as f64,
                    _ => false,
                });
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "expected one of {}, got {}",
                        list_values(values),
                        value.to_lua()
                    ))
                }
            }
            OptionType::Set | OptionType::Array => match value {
                L::Map(entries) if !entries.is_empty() => Err(format!(
                    "expected a list, got a table with keys ({})",
                    entries
                        .iter()
                        .take(3)
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Ok(()),
            },
            OptionType::Table => match value {
                L::List(_) | L::Map(_) => Ok(()),
                other => Err(format!("expected a table, got {}", other.describe())),
            },
        }
    }
}

fn in_bounds(n: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn between(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!(" between {} and {}", fmt_num(a), fmt_num(b)),
        (Some(a), None) => format!(" >= {}", fmt_num(a)),
        (None, Some(b)) => format!(" <= {}", fmt_num(b)),
        (None, None) => String::new(),
    }
}

fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (None, None) => String::new(),
        _ => format!(" ({})", between(min, max).trim_start()),
    }
}

fn list_values(values: &[EnumValue]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A config value reduced to what type checks need.
#[derive(Debug, Clone, PartialEq)]
pub enum LuaLiteral {
    Nil,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    List(Vec<LuaLiteral>),
    Map(Vec<(String, LuaLiteral)>),
    /// An expression resolved at run time (`Credential("x")`, `ENV_X`):
    /// never checked.
    Expr(String),
}

impl LuaLiteral {
    /// "string \"yes\"", "integer 5", "a list", ... for messages.
    pub fn describe(&self) -> String {
        match self {
            LuaLiteral::Nil => "nil".into(),
            LuaLiteral::Bool(b) => format!("boolean {b}"),
            LuaLiteral::Integer(i) => format!("integer {i}"),
            LuaLiteral::Float(f) => format!("number {f}"),
            LuaLiteral::String(s) => format!("string {s:?}"),
            LuaLiteral::List(_) => "a list".into(),
            LuaLiteral::Map(_) => "a table".into(),
            LuaLiteral::Expr(e) => format!("expression {e}"),
        }
    }

    /// Short Lua rendering of scalars, for messages.
    pub fn to_lua(&self) -> String {
        match self {
            LuaLiteral::Nil => "nil".into(),
            LuaLiteral::Bool(b) => b.to_string(),
            LuaLiteral::Integer(i) => i.to_string(),
            LuaLiteral::Float(f) => f.to_string(),
            LuaLiteral::String(s) => format!("{s:?}"),
            LuaLiteral::List(_) => "a list".into(),
            LuaLiteral::Map(_) => "a table".into(),
            LuaLiteral::Expr(e) => e.clone(),
        }
    }

    /// The number Lua's `tonumber` makes of it (numbers and numeric strings).
    fn as_number(&self) -> Option<f64> {
        match self {
            LuaLiteral::Integer(i) => Some(*i as f64),
            LuaLiteral::Float(f) => Some(*f),
            LuaLiteral::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        }
    }
}

impl From<&crate::value::Value> for LuaLiteral {
    fn from(v: &crate::value::Value) -> Self {
        use crate::value::{Key, Value};
        match v {
            Value::Bool(b) => LuaLiteral::Bool(*b),
            Value::Int(i) => LuaLiteral::Integer(*i),
            Value::Float(f) => LuaLiteral::Float(*f),
            Value::Str(s) => LuaLiteral::String(s.clone()),
            Value::List(l) => LuaLiteral::List(l.iter().map(LuaLiteral::from).collect()),
            Value::Map(m) => LuaLiteral::Map(
                m.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Key::Int(i) => i.to_string(),
                            Key::Str(s) => s.clone(),
                        };
                        (key, LuaLiteral::from(v))
                    })
                    .collect(),
            ),
            Value::Expr(e) => LuaLiteral::Expr(e.clone()),
        }
    }
}

/// Parses a period string as `module:get_option_period` does (Prosody 13,
/// util/human/io.lua `parse_duration`): the first run of digits, optional
/// spaces, then a unit `[smhdwy]?[io]?n?` that must be one of s, min, h, ho,
/// d, w, mon, y ("7 days", "1w", "2 hours", "5 minutes", "3 months").
/// A bare number of seconds ("3600") is accepted as Prosody does (it logs
/// that the unit is ambiguous but uses it); an ambiguous unit like "10m"
/// (months or minutes?) is an error.
pub fn parse_period(s: &str) -> Result<f64, String> {
    const DAY: f64 = 86400.0;
    let lower = s.to_lowercase();
    let bytes = lower.as_bytes();
    let Some(start) = bytes.iter().position(u8::is_ascii_digit) else {
        return Err(format!(
            "expected a period (seconds, or e.g. \"7 days\"), got string {s:?}"
        ));
    };
    let mut i = start;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let n: f64 = lower[start..i].parse().unwrap_or(f64::INFINITY);
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let unit_start = i;
    if i < bytes.len() && b"smhdwy".contains(&bytes[i]) {
        i += 1;
    }
    if i < bytes.len() && b"io".contains(&bytes[i]) {
        i += 1;
    }
    let lax_end = i;
    if i < bytes.len() && bytes[i] == b'n' {
        i += 1;
    }
    let mult = |unit: &str| match unit {
        "s" => Some(1.0),
        "min" => Some(60.0),
        "h" | "ho" => Some(3600.0),
        "d" => Some(DAY),
        "w" => Some(7.0 * DAY),
        "mon" => Some(31.0 * DAY),
        "y" => Some(365.2425 * DAY),
        _ => None,
    };
    if let Some(m) = mult(&lower[unit_start..i]) {
        return Ok(n * m);
    }
    let lax = &lower[unit_start..lax_end];
    let trimmed = lower.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(n); // a bare number of seconds
    }
    let digits = lower[start..unit_start].trim_end();
    match lax {
        "m" | "mo" | "mi" => Err(format!(
            "ambiguous period {s:?}: write \"{digits} months\" or \"{digits} minutes\""
        )),
        _ => Err(format!(
            "expected a period (seconds, or e.g. \"7 days\"), got string {s:?}"
        )),
    }
}

/// Who reads an option: Prosody itself or a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    Core,
    Module(&'a Module),
}

impl Reader<'_> {
    /// "core" or the module's name.
    pub fn name(&self) -> &str {
        match self {
            Reader::Core => "core",
            Reader::Module(m) => &m.name,
        }
    }
}

impl PartialEq for Module {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Module {}

/// Internal, owner-free form of [`Reader`] kept in the lookup table.
#[derive(Debug, Clone)]
enum ReaderKey {
    Core,
    Module(String),
}

/// Why an option belongs in the global section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalOnly<'a> {
    /// Listed in prosodyctl's `known_global_options`.
    Listed,
    /// Its name matches this prosodyctl pattern (Lua syntax).
    Pattern(&'a str),
}

static BUILTIN: OnceLock<Index> = OnceLock::new();

impl Index {
    /// The index embedded at build time, parsed on first use.
    pub fn builtin() -> &'static Index {
        BUILTIN
            .get_or_init(|| Index::from_json(INDEX_JSON).expect("data/prosody-index.json is valid"))
    }

    /// Parses an index in the format of `data/prosody-index.json`.
    pub fn from_json(json: &str) -> Result<Index, serde_json::Error> {
        let mut index: Index = serde_json::from_str(json)?;
        index.build_readers();
        Ok(index)
    }

    fn build_readers(&mut self) {
        let mut readers: BTreeMap<String, Vec<ReaderKey>> = BTreeMap::new();
        for name in self.core_options.keys() {
            readers
                .entry(name.clone())
                .or_default()
                .push(ReaderKey::Core);
        }
        for module in self.modules.values() {
            for name in module.options.keys() {
                readers
                    .entry(name.clone())
                    .or_default()
                    .push(ReaderKey::Module(module.name.clone()));
            }
        }
        self.readers = readers;
    }

    /// A module by name (without `mod_`).
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.get(name)
    }

    /// Whether Prosody or prosody-modules has a module of that name
    /// (including documented-only ones such as `http_upload`).
    pub fn module_exists(&self, name: &str) -> bool {
        self.modules.contains_key(name)
    }

    /// Whether the module comes from prosody-modules.
    pub fn is_community(&self, name: &str) -> bool {
        self.module(name)
            .is_some_and(|m| m.origin == Origin::Community)
    }

    /// Whether anything reads an option of that name.
    pub fn option_known(&self, name: &str) -> bool {
        self.readers.contains_key(name)
    }

    /// Everyone reading the option, with the type each read implies.
    /// Prosody itself ([`Reader::Core`]) comes first, then modules by name.
    pub fn option(&self, name: &str) -> Vec<(Reader<'_>, &OptionSpec)> {
        let Some(list) = self.readers.get(name) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|key| match key {
                ReaderKey::Core => self.core_options.get(name).map(|s| (Reader::Core, s)),
                ReaderKey::Module(m) => {
                    let module = self.modules.get(m)?;
                    module
                        .options
                        .get(name)
                        .map(|s| (Reader::Module(module), s))
                }
            })
            .collect()
    }

    /// Names of who reads the option: "core" and/or module names.
    pub fn readers_of(&self, name: &str) -> Vec<&str> {
        self.readers
            .get(name)
            .map(|list| {
                list.iter()
                    .map(|key| match key {
                        ReaderKey::Core => "core",
                        ReaderKey::Module(m) => m.as_str(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks a value for an option against the types its readers expect:
    /// passes when one of them accepts it (readers may disagree), otherwise
    /// gives the first reader's message.  Untyped reads ([`OptionType::Any`])
    /// do not count when a typed one exists; unknown options pass.
    pub fn check_option(&self, name: &str, value: &LuaLiteral) -> Result<(), String> {
        let mut first_err = None;
        for (_, spec) in self.option(name) {
            if spec.ty == OptionType::Any {
                continue;
            }
            match spec.ty.check(value) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Whether prosodyctl wants the option in the global section only.
    pub fn is_global_only(&self, option: &str) -> bool {
        self.global_only_reason(option).is_some()
    }

    /// Why the option is global-only: listed, or matching a name pattern.
    pub fn global_only_reason(&self, option: &str) -> Option<GlobalOnly<'_>> {
        if self.global_only.contains(option) {
            return Some(GlobalOnly::Listed);
        }
        if self.global_only_exceptions.contains(option) {
            return None;
        }
        self.global_only_patterns
            .iter()
            .find(|p| p.matches(option))
            .map(|p| GlobalOnly::Pattern(p.lua.as_str()))
    }

    /// What to do instead of a deprecated or obsolete option.
    pub fn deprecated(&self, option: &str) -> Option<&Replacement> {
        self.deprecated.options.get(option)
    }

    /// Replacement for an obsolete, renamed or superseded module.
    pub fn obsolete_module(&self, name: &str) -> Option<&ModuleReplacement> {
        self.deprecated.modules.get(name)
    }

    /// "Did you mean": the closest known option name, or None when the
    /// name is known or nothing is close enough.
    pub fn suggest_option(&self, name: &str) -> Option<&str> {
        if self.option_known(name) {
            return None;
        }
        closest(name, self.readers.keys().map(String::as_str))
    }

    /// "Did you mean": the closest module name (a `mod_` prefix is
    /// ignored; a removed or renamed module gives its successor), or None
    /// when the name is known or nothing is close.
    pub fn suggest_module(&self, name: &str) -> Option<&str> {
        if self.module_exists(name) {
            return None;
        }
        let bare = name.strip_prefix("mod_").unwrap_or(name);
        if let Some((known, _)) = self.modules.get_key_value(bare) {
            return Some(known.as_str());
        }
        // A removed or renamed module: its successor.
        if let Some(r) = self
            .obsolete_module(bare)
            .and_then(|r| r.replacement.as_deref())
        {
            return Some(r);
        }
        closest(bare, self.modules.keys().map(String::as_str))
    }
}

/// The candidate with the smallest optimal-string-alignment (Damerau-
/// Levenshtein) distance, within a threshold that grows with the length:
/// 1 edit up to 4 characters, 2 up to 12, 3 beyond.  Ties go to the
/// candidate sharing the longest prefix, then the alphabetically first.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    let limit = match len {
        0 => return None,
        1..=4 => 1,
        5..=12 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, std::cmp::Reverse<usize>, &'a str)> = None;
    for cand in candidates {
        let d = osa_distance(&lower, cand);
        if d > limit || d >= len {
            continue;
        }
        let prefix = lower
            .chars()
            .zip(cand.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let key = (d, std::cmp::Reverse(prefix), cand);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, _, c)| c)
}

/// Optimal string alignment distance (Damerau-Levenshtein with adjacent
/// transpositions, no substring edited twice).
fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// `string.find(s, pattern)` for the subset of Lua patterns prosodyctl
/// uses: anchors, `.`, `%x` classes, `[sets]` and the `? * + -`
/// quantifiers (no captures, `%b` or `%f`).
fn lua_pattern_find(pattern: &str, s: &str) -> bool {
    let p = pattern.as_bytes();
    let s = s.as_bytes();
    if let Some(rest) = p.strip_prefix(b"^") {
        return lua_match(rest, s, 0).is_some();
    }
    (0..=s.len()).any(|start| lua_match(p, s, start).is_some())
}

/// End of the single-character class starting at `p[i]` (lstrlib's
/// `classEnd`): `%x`, `[set]` (a `]` right after `[` or `[^` is literal)
/// or one character.
fn class_end(p: &[u8], i: usize) -> usize {
    match p[i] {
        b'%' => (i + 2).min(p.len()),
        b'[' => {
            let mut j = i + 1;
            if p.get(j) == Some(&b'^') {
                j += 1;
            }
            loop {
                if j >= p.len() {
                    return p.len();
                }
                let c = p[j];
                j += 1;
                if c == b'%' && j < p.len() {
                    j += 1;
                }
                if j >= p.len() {
                    return p.len();
                }
                if p[j] == b']' {
                    return j + 1;
                }
            }
        }
        _ => i + 1,
    }
}

fn class_matches(class: u8, c: u8) -> bool {
    let r = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'd' => c.is_ascii_digit(),
        b'l' => c.is_ascii_lowercase(),
        b's' => c.is_ascii_whitespace() || c == 0x0b,
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'p' => c.is_ascii_punctuation(),
        b'c' => c.is_ascii_control(),
        _ => return class == c,
    };
    if class.is_ascii_uppercase() { !r } else { r }
}

fn single_matches(p: &[u8], start: usize, end: usize, c: u8) -> bool {
    match p[start] {
        b'.' => true,
        b'%' => class_matches(p[start + 1], c),
        b'[' => {
            let mut i = start + 1;
            let negate = p.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let last = end - 1; // index of the closing ']'
            let mut found = false;
            while i < last {
                if p[i] == b'%' && i + 1 < last {
                    found |= class_matches(p[i + 1], c);
                    i += 2;
                } else if i + 2 < last && p[i + 1] == b'-' {
                    found |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    found |= p[i] == c;
                    i += 1;
                }
            }
            found != negate
        }
        other => other == c,
    }
}

fn lua_match(p: &[u8], s: &[u8], si: usize) -> Option<usize> {
    if p.is_empty() {
        return Some(si);
    }
    if p == b"$" {
        return (si == s.len()).then_some(si);
    }
    let ep = class_end(p, 0);
    let here = si < s.len() && single_matches(p, 0, ep, s[si]);
    match p.get(ep) {
        Some(b'?') => {
            if here && let Some(r) = lua_match(&p[ep + 1..], s, si + 1) {
                return Some(r);
            }
            lua_match(&p[ep + 1..], s, si)
        }
        Some(b'*') | Some(b'+') => {
            let min = usize::from(p[ep] == b'+');
            let mut count = 0;
            while si + count < s.len() && single_matches(p, 0, ep, s[si + count]) {
                count += 1;
            }
            (min..=count)
                .rev()
                .find_map(|k| lua_match(&p[ep + 1..], s, si + k))
        }
        Some(b'-') => {
            let mut k = 0;
            loop {
                if let Some(r) = lua_match(&p[ep + 1..], s, si + k) {
                    return Some(r);
                }
                if si + k < s.len() && single_matches(p, 0, ep, s[si + k]) {
                    k += 1;
                } else {
                    return None;
                }
            }
        }
        _ => {
            if here {
                lua_match(&p[ep..], s, si + 1)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn idx() -> &'static Index {
        Index::builtin()
    }

    fn s(v: &str) -> LuaLiteral {
        LuaLiteral::String(v.into())
    }

    #[test]
    fn builtin_parses_and_counts_match() {
        let i = idx();
        assert_eq!(i.schema_version, 1);
        assert_eq!(i.counts.modules, i.modules.len());
        assert_eq!(i.counts.core_options, i.core_options.len());
        assert_eq!(i.counts.options, i.readers.len());
        assert!(i.counts.options >= 400, "only {} options", i.counts.options);
        assert!(i.packages.prosody.as_deref().unwrap().starts_with("13."));
    }

    #[test]
    fn option_lookups() {
        let i = idx();
        // read by mod_tls, mod_saslauth, ... as a boolean
        let readers = i.option("c2s_require_encryption");
        assert!(!readers.is_empty());
        assert!(i.readers_of("c2s_require_encryption").contains(&"saslauth"));
        let (_, spec) = readers
            .iter()
            .find(|(r, _)| r.name() == "saslauth")
            .unwrap();
        assert_eq!(spec.ty, OptionType::Boolean);

        // a core option, read by Prosody itself
        assert_eq!(i.readers_of("pidfile"), vec!["core"]);
        assert!(matches!(i.option("pidfile")[0].0, Reader::Core));
        let daemonize = &i.core_options["daemonize"];
        assert_eq!(daemonize.ty, OptionType::Boolean);
        assert!(daemonize.hinted);

        // mod_http_upload: documented-only module, its options stay known
        assert!(i.option_known("http_upload_file_size_limit"));
        assert_eq!(
            i.readers_of("http_upload_file_size_limit"),
            vec!["http_upload"]
        );
        assert_eq!(i.suggest_option("http_upload_file_size_limit"), None);
        assert!(!i.module("http_upload").unwrap().installed);

        // port options implied by network services
        assert!(i.readers_of("c2s_ports").contains(&"c2s"));
        assert!(i.readers_of("https_ports").contains(&"http"));

        // typed getters with bounds and enums
        let turn = &i.module("turn_external").unwrap().options["turn_external_port"];
        assert_eq!(
            turn.ty,
            OptionType::Integer {
                min: Some(1),
                max: Some(65535)
            }
        );
        let policy = &i.module("mam").unwrap().options["default_archive_policy"];
        assert!(
            matches!(&policy.ty, OptionType::Enum(v) if v.contains(&EnumValue::String("roster".into())))
        );
        assert!(i.option("no_such_option_anywhere").is_empty());
    }

    #[test]
    fn typo_suggestions() {
        let i = idx();
        assert_eq!(
            i.suggest_option("c2s_require_encrption"),
            Some("c2s_require_encryption")
        );
        assert_eq!(i.suggest_option("c2s_require_encryption"), None);
        assert_eq!(i.suggest_option("admnis"), Some("admins"));
        assert_eq!(i.suggest_option("completely_unrelated_thing_xyz"), None);
        assert_eq!(i.suggest_module("carbon"), Some("carbons"));
        assert_eq!(i.suggest_module("mod_carbons"), Some("carbons"));
        assert_eq!(i.suggest_module("carbons"), None);
        assert_eq!(i.suggest_module("zzzzzzzz"), None);
        assert_eq!(i.suggest_module("mam_muc"), Some("muc_mam"));
        assert_eq!(i.suggest_module("privacy"), Some("blocklist"));
    }

    #[test]
    fn modules_core_and_community() {
        let i = idx();
        assert!(i.module_exists("sasl2"));
        assert!(i.is_community("sasl2"));
        assert_eq!(
            i.module("sasl2").unwrap().package.as_deref(),
            Some("prosody-modules")
        );
        assert!(i.module_exists("mam"));
        assert!(!i.is_community("mam"));
        let mam = i.module("mam").unwrap();
        assert_eq!(mam.origin, Origin::Core);
        assert!(mam.options.contains_key("archive_expires_after"));
        assert!(matches!(
            mam.options["archive_expires_after"].ty,
            OptionType::Period { .. }
        ));
        assert!(!i.module_exists("carbon"));
        assert_eq!(i.module("muc").unwrap().component, Some(ComponentUse::Only));
        assert!(i.module("admin_socket").unwrap().global_only);
        assert!(!i.module("c2s").unwrap().global_only); // global, but per host too
        // community mod_flags conflicts with the core feature: core wins
        let flags = i.module("flags").unwrap();
        assert_eq!(flags.origin, Origin::Core);
        assert_eq!(flags.shadowed[0].origin, Origin::Community);
        assert_eq!(flags.shadowed[0].metadata["conflicts"], "mod_flags");
        assert!(i.autoload_modules.contains("c2s"));
    }

    #[test]
    fn global_only_options() {
        let i = idx();
        assert!(i.is_global_only("log"));
        assert!(i.is_global_only("pidfile"));
        assert_eq!(i.global_only_reason("log"), Some(GlobalOnly::Listed));
        assert_eq!(
            i.global_only_reason("c2s_ports"),
            Some(GlobalOnly::Pattern("_ports?$"))
        );
        assert!(i.is_global_only("c2s_ports"));
        assert!(i.is_global_only("http_interfaces"));
        assert!(i.is_global_only("interfaces"));
        assert!(i.is_global_only("https_ssl"));
        assert!(!i.is_global_only("c2s_ssl")); // [cs]2s_ssl is per host
        assert!(!i.is_global_only("turn_external_port")); // prosodyctl's exception
        assert!(!i.is_global_only("c2s_require_encryption"));
        assert!(!i.is_global_only("admins"));
    }

    #[test]
    fn deprecated_options_and_modules() {
        let i = idx();
        let r = i.deprecated("anonymous_login").unwrap();
        assert_eq!(r.kind, ReplacementKind::Option);
        assert_eq!(r.replacement.as_deref(), Some("authentication"));
        assert_eq!(r.value.as_deref(), Some("anonymous"));
        let r = i.deprecated("legacy_ssl_ports").unwrap();
        assert_eq!(r.replacement.as_deref(), Some("c2s_direct_tls_ports"));
        let r = i.deprecated("require_encryption").unwrap();
        assert_eq!(r.replacement.as_deref(), Some("c2s_require_encryption"));
        assert_eq!(r.also, vec!["s2s_require_encryption".to_string()]);
        assert_eq!(
            i.deprecated("setuid").unwrap().kind,
            ReplacementKind::Obsolete
        );
        assert!(i.deprecated("c2s_require_encryption").is_none());
        let m = i.obsolete_module("pep_plus").unwrap();
        assert_eq!(m.replacement.as_deref(), Some("pep"));
        assert!(i.obsolete_module("posix").is_some());
        assert!(i.obsolete_module("mam").is_none());
    }

    #[test]
    fn type_checks() {
        let b = OptionType::Boolean;
        assert!(b.check(&LuaLiteral::Bool(true)).is_ok());
        assert!(b.check(&s("false")).is_ok());
        assert_eq!(
            b.check(&s("yes")).unwrap_err(),
            "expected boolean, got string \"yes\""
        );
        let port = OptionType::Integer {
            min: Some(1),
            max: Some(65535),
        };
        assert!(port.check(&LuaLiteral::Integer(5222)).is_ok());
        assert_eq!(
            port.check(&LuaLiteral::Integer(70000)).unwrap_err(),
            "expected an integer between 1 and 65535, got 70000"
        );
        assert!(port.check(&LuaLiteral::Float(1.5)).is_err());
        assert!(port.check(&s("x")).is_err());
        let e = OptionType::Enum(vec![
            EnumValue::String("roster".into()),
            EnumValue::String("always".into()),
            EnumValue::String("never".into()),
        ]);
        assert!(e.check(&s("never")).is_ok());
        assert_eq!(
            e.check(&s("sometimes")).unwrap_err(),
            "expected one of \"roster\", \"always\", \"never\", got \"sometimes\""
        );
        // references are resolved at run time: never checked
        assert!(b.check(&LuaLiteral::Expr("ENV_X".into())).is_ok());
        assert!(
            port.check(&LuaLiteral::Expr("Credential(\"p\")".into()))
                .is_ok()
        );
        assert!(e.check(&LuaLiteral::Nil).is_ok());
        // strings take numbers, not booleans or lists
        assert!(OptionType::String.check(&LuaLiteral::Integer(5)).is_ok());
        assert!(OptionType::String.check(&LuaLiteral::Bool(true)).is_err());
        assert!(OptionType::Path.check(&LuaLiteral::List(vec![])).is_err());
        // sets take lists or a single value, not maps
        assert!(
            OptionType::Set
                .check(&LuaLiteral::List(vec![s("a")]))
                .is_ok()
        );
        assert!(OptionType::Set.check(&s("a")).is_ok());
        assert!(
            OptionType::Set
                .check(&LuaLiteral::Map(vec![("k".into(), s("v"))]))
                .is_err()
        );
        assert!(OptionType::Table.check(&s("x")).is_err());
        assert!(OptionType::Any.check(&LuaLiteral::Bool(false)).is_ok());
        let n = OptionType::Number {
            min: Some(0.0),
            max: None,
        };
        assert!(n.check(&s("10")).is_ok());
        assert_eq!(
            n.check(&LuaLiteral::Integer(-1)).unwrap_err(),
            "expected a number >= 0, got -1"
        );
        // through the index: every reader's type
        let i = idx();
        assert!(i.check_option("c2s_require_encryption", &s("yes")).is_err());
        assert!(
            i.check_option("c2s_require_encryption", &LuaLiteral::Bool(true))
                .is_ok()
        );
        assert!(
            i.check_option("default_archive_policy", &s("sometimes"))
                .is_err()
        );
        assert!(
            i.check_option("default_archive_policy", &LuaLiteral::Bool(false))
                .is_ok()
        );
        assert!(i.check_option("unknown_option_xyz", &s("anything")).is_ok());
    }

    #[test]
    fn periods() {
        let p = OptionType::Period {
            min: None,
            max: None,
        };
        for ok in [
            "1y",
            "7d",
            "1w",
            "3600",
            "7 days",
            "2 hours",
            "5 minutes",
            "3 months",
            "never",
        ] {
            assert!(p.check(&s(ok)).is_ok(), "{ok}");
        }
        assert!(p.check(&LuaLiteral::Integer(3600)).is_ok());
        assert!(p.check(&LuaLiteral::Bool(false)).is_ok());
        assert!(p.check(&LuaLiteral::Bool(true)).is_err());
        assert!(p.check(&s("forever")).is_err());
        assert!(p.check(&s("10m")).unwrap_err().contains("ambiguous"));
        assert!(p.check(&s("1.5 hours")).is_err());
        assert_eq!(parse_period("1w"), Ok(604800.0));
        assert_eq!(parse_period("2 hours"), Ok(7200.0));
        assert_eq!(parse_period("5 minutes"), Ok(300.0));
        assert_eq!(parse_period("1 Hour"), Ok(3600.0));
        assert_eq!(parse_period("3600"), Ok(3600.0));
        assert_eq!(parse_period("30 seconds"), Ok(30.0));
        assert_eq!(parse_period("1 month"), Ok(31.0 * 86400.0));
        let bounded = OptionType::Period {
            min: Some(60.0),
            max: None,
        };
        assert!(bounded.check(&s("30 seconds")).is_err());
    }

    #[test]
    fn lua_patterns() {
        assert!(lua_pattern_find("_ports?$", "c2s_ports"));
        assert!(lua_pattern_find("_ports?$", "c2s_port"));
        assert!(!lua_pattern_find("_ports?$", "c2s_ports_x"));
        assert!(lua_pattern_find("^interfaces?", "interfaces"));
        assert!(!lua_pattern_find("^interfaces?", "local_interfaces"));
        assert!(lua_pattern_find("^[cs]2s_ssl$", "s2s_ssl"));
        assert!(!lua_pattern_find("^[cs]2s_ssl$", "x2s_ssl"));
        assert!(lua_pattern_find("^%a+%d*$", "abc12"));
        assert!(lua_pattern_find("a.-b", "axxb"));
        assert!(lua_pattern_find("[^%s]+", "x"));
    }

    #[test]
    fn from_config_value() {
        use crate::value::{Key, Value};
        let v = Value::Map(vec![(Key::Str("a".into()), Value::Int(1))]);
        assert_eq!(
            LuaLiteral::from(&v),
            LuaLiteral::Map(vec![("a".into(), LuaLiteral::Integer(1))])
        );
        assert_eq!(
            LuaLiteral::from(&Value::Expr("ENV_X".into())),
            LuaLiteral::Expr("ENV_X".into())
        );
    }

    /// The checked-in index must match what the installed Prosody gives.
    /// Never skipped: without Prosody this fails and says how to install it.
    #[test]
    fn index_is_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            Path::new("/usr/lib/prosody/core/moduleapi.lua").exists(),
            "Prosody is not installed at /usr/lib/prosody, so data/prosody-index.json \
             cannot be checked: run scripts/install-deps.sh"
        );
        let out = Command::new("python3")
            .arg(root.join("scripts/gen-prosody-index.py"))
            .arg("--check")
            .current_dir(root)
            .output()
            .expect("python3 runs scripts/gen-prosody-index.py");
        assert!(
            out.status.success(),
            "data/prosody-index.json is stale; run scripts/gen-prosody-index.py\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
