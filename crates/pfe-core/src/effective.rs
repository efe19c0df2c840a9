//! What a Prosody config *means*, host by host: the effective value of each
//! option after configmanager's inheritance (a host's table falls back to
//! the global one) and the index's defaults, normalised the way Prosody's
//! getters read it, and the effective module set of each host as
//! modulemanager's `get_modules_for_host` computes it (autoloaded + global
//! − global disabled, only the inheritable ones on a Component, + the
//! host's own − its disabled, + the component module, + `module:depends`).
//!
//! Built from an [`Evaluated`] config (a file read in Prosody mode, or a
//! catalog selection's generated config read the same way); [`crate::diff`]
//! compares two of them. Typed data only: nothing here prints.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::index::{Index, OptionType, parse_period};
use crate::sandbox::{Evaluated, Origin, SectionKind};
use crate::value::{Key, Value};

/// A place in a file, as users know it (`path:line`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A value as the option's reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Norm {
    Bool(bool),
    /// Lua compares 1 and 1.0 as equal; so does this.
    Num(f64),
    Str(String),
    /// `get_option_set`: unordered, each item once (items by their shown form).
    Set(BTreeSet<String>),
    List(Vec<Norm>),
    Map(BTreeMap<String, Norm>),
    /// `Credential("x")`, `ENV_X` kept as a reference, `FileContents(...)`.
    Ref(String),
    /// Not computed by pfe (depends on `require`, `Lua.io`, ...).
    Unknown(String),
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Norm::Bool(b) => write!(f, "{b}"),
            Norm::Num(n) => {
                if n.is_infinite() {
                    write!(f, "{}", if *n > 0.0 { "never" } else { "-inf" })
                } else if n.fract() == 0.0 && n.abs() < 1e15 {
                    write!(f, "{}", *n as i64)
                } else {
                    write!(f, "{n}")
                }
            }
            Norm::Str(s) => write!(f, "{}", crate::emit::lua_string(s)),
            Norm::Set(items) => {
                write!(f, "set{{")?;
                for (i, s) in items.iter().enumerate() {
                    write!(f, "{}{s}", if i > 0 { ", " } else { " " })?;
                }
                write!(f, "{}}}", if items.is_empty() { "" } else { " " })
            }
            Norm::List(items) => {
                write!(f, "{{")?;
                for (i, s) in items.iter().enumerate() {
                    write!(f, "{}{s}", if i > 0 { ", " } else { " " })?;
                }
                write!(f, "{}}}", if items.is_empty() { "" } else { " " })
            }
            Norm::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    write!(f, "{}{k} = {v}", if i > 0 { ", " } else { " " })?;
                }
                write!(f, "{}}}", if m.is_empty() { "" } else { " " })
            }
            Norm::Ref(r) => write!(f, "{r}"),
            Norm::Unknown(why) => write!(f, "<unknown: {why}>"),
        }
    }
}

/// How a host got the value of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Set in the host's own section.
    Own,
    /// Set in the global section, seen through configmanager's fall-back.
    Inherited,
    /// Not set: the index's default for it.
    Default,
    /// Not set, and the index knows no literal default (none, or computed
    /// at run time).
    DefaultUnknown,
}

/// The effective value of one option on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionValue {
    pub value: Option<Norm>,
    pub state: State,
    pub place: Option<Place>,
}

impl OptionValue {
    /// Same meaning: equal values (defaults included), or both unknown defaults.
    pub fn same(&self, other: &OptionValue) -> bool {
        match (&self.value, &other.value) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        }
    }

    pub fn shown(&self) -> String {
        match (&self.value, self.state) {
            (Some(v), _) => v.to_string(),
            (None, _) => "default unknown".into(),
        }
    }
}

/// Why a module is loaded on a host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "by")]
pub enum Why {
    /// Prosody loads it on every host (modulemanager's autoload list).
    Autoloaded,
    /// Global `modules_enabled`.
    Global,
    /// The host's own `modules_enabled`.
    Host,
    /// The Component's module.
    Component,
    /// `module:depends` of this module (from the index).
    Depends(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleEntry {
    pub why: Why,
    /// Shared: the global modules' places are the same on every host.
    pub place: Option<std::sync::Arc<Place>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "module")]
pub enum HostKind {
    Global,
    VirtualHost,
    Component(String),
}

impl fmt::Display for HostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostKind::Global => write!(f, "global section"),
            HostKind::VirtualHost => write!(f, "VirtualHost"),
            HostKind::Component(m) if m == "component" => write!(f, "external Component"),
            HostKind::Component(m) => write!(f, "Component (mod_{m})"),
        }
    }
}

/// One section as Prosody sees it.
#[derive(Debug, Clone)]
pub struct Host {
    /// `*` for the global section.
    pub name: String,
    pub kind: HostKind,
    pub defined: Option<Place>,
    /// The section's own options, normalised, with where each was set.
    pub own: BTreeMap<String, (Norm, Option<Place>)>,
    /// The effective module set (for `*`: autoloaded + global − disabled).
    pub modules: BTreeMap<String, ModuleEntry>,
    /// Modules a `modules_disabled` of this host (or the global one) takes out.
    pub disabled: BTreeMap<String, Option<Place>>,
}

/// A whole config, host by host.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The global section first, then hosts in definition order.
    pub hosts: Vec<Host>,
    by_name: HashMap<String, usize>,
    /// Per option name: the default as its reader sees it (None: unknown).
    defaults: HashMap<String, Option<Norm>>,
}

/// How one option is read: the first typed reader's type (Prosody's own
/// reader first), and its literal default.
fn reader_of(index: &Index, name: &str) -> (Option<OptionType>, Option<serde_json::Value>) {
    let readers = index.option(name);
    let ty = readers
        .iter()
        .map(|(_, s)| &s.ty)
        .find(|t| !matches!(t, OptionType::Any))
        .cloned();
    let default = readers.iter().find_map(|(_, s)| s.default.clone());
    (ty, default)
}

pub(crate) fn json_to_value(j: &serde_json::Value) -> Option<Value> {
    Some(match j {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().filter_map(json_to_value).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .filter_map(|(k, v)| Some((Key::Str(k.clone()), json_to_value(v)?)))
                .collect(),
        ),
    })
}

/// A value the way no typed getter changes it.
fn plain(v: &Value) -> Norm {
    match v {
        Value::Bool(b) => Norm::Bool(*b),
        Value::Int(i) => Norm::Num(*i as f64),
        Value::Float(f) => Norm::Num(*f),
        Value::Str(s) => Norm::Str(s.clone()),
        Value::List(l) => Norm::List(l.iter().map(plain).collect()),
        Value::Map(m) => {
            // A map whose keys are exactly 1..n is a list (Lua cannot tell).
            let n = m.len();
            let listy = m
                .iter()
                .enumerate()
                .all(|(i, (k, _))| *k == Key::Int(i as i64 + 1));
            if listy && n > 0 {
                return Norm::List(m.iter().map(|(_, v)| plain(v)).collect());
            }
            Norm::Map(
                m.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Key::Int(i) => format!("[{i}]"),
                            Key::Str(s) => s.clone(),
                        };
                        (k, plain(v))
                    })
                    .collect(),
            )
        }
        Value::Expr(e) => Norm::Ref(e.clone()),
        Value::Unknown(why) => Norm::Unknown(why.clone()),
    }
}

fn scalar(v: &Value) -> Option<&Value> {
    match v {
        Value::List(l) => l.first(),
        v => Some(v),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// `v` as a reader of type `ty` gets it (Prosody 13's moduleapi getters).
/// Values a getter would refuse are kept as they are, so they still compare.
pub fn normalise(ty: Option<&OptionType>, v: &Value) -> Norm {
    if let Value::Expr(e) = v {
        return Norm::Ref(e.clone());
    }
    if let Value::Unknown(why) = v {
        return Norm::Unknown(why.clone());
    }
    match ty {
        Some(OptionType::Boolean) => match scalar(v) {
            Some(Value::Bool(b)) => Norm::Bool(*b),
            Some(Value::Str(s)) if s == "true" => Norm::Bool(true),
            Some(Value::Str(s)) if s == "false" => Norm::Bool(false),
            Some(Value::Int(1)) => Norm::Bool(true),
            Some(Value::Int(0)) => Norm::Bool(false),
            _ => plain(v),
        },
        Some(OptionType::String | OptionType::Path | OptionType::Enum(_)) => match scalar(v) {
            Some(Value::Str(s)) => Norm::Str(s.clone()),
            Some(Value::Int(i)) => Norm::Str(i.to_string()),
            Some(Value::Float(f)) => Norm::Str(f.to_string()),
            Some(Value::Bool(b)) => Norm::Str(b.to_string()),
            _ => plain(v),
        },
        Some(OptionType::Number { .. } | OptionType::Integer { .. }) => {
            match scalar(v).and_then(number) {
                Some(n) => Norm::Num(n),
                None => plain(v),
            }
        }
        Some(OptionType::Period { .. }) => match scalar(v) {
            Some(Value::Bool(false)) => Norm::Num(f64::INFINITY),
            Some(Value::Str(s)) if s == "never" => Norm::Num(f64::INFINITY),
            Some(Value::Int(i)) => Norm::Num(*i as f64),
            Some(Value::Float(f)) => Norm::Num(*f),
            Some(Value::Str(s)) => match parse_period(s) {
                Ok(n) => Norm::Num(n),
                Err(_) => Norm::Str(s.clone()),
            },
            _ => plain(v),
        },
        Some(OptionType::Set) => {
            let items: Vec<Norm> = match plain(v) {
                Norm::List(l) => l,
                Norm::Map(m) if m.is_empty() => Vec::new(),
                other => vec![other],
            };
            Norm::Set(items.iter().map(|n| n.to_string()).collect())
        }
        Some(OptionType::Array) => match plain(v) {
            Norm::List(l) => Norm::List(l),
            Norm::Map(m) if m.is_empty() => Norm::List(Vec::new()),
            other => Norm::List(vec![other]),
        },
        Some(OptionType::Scalar) => scalar(v).map_or_else(|| plain(v), plain),
        _ => match plain(v) {
            // `{}` is both an empty list and an empty map.
            Norm::Map(m) if m.is_empty() => Norm::List(Vec::new()),
            n => n,
        },
    }
}

/// What configmanager sets itself on a section (`VirtualHost`, `Component`):
/// part of the host's kind, not options to compare.
pub const CONFIGMANAGER_OPTIONS: [&str; 3] = ["component_module", "load_global_modules", "defined"];

/// Options that are lists of module names, handled as module sets.
pub const MODULE_OPTIONS: [&str; 2] = ["modules_enabled", "modules_disabled"];

/// Where things are, computed once per file and section (a config may
/// have thousands of hosts).
struct Locator<'a> {
    ev: &'a Evaluated,
    places: Option<(&'a Evaluated, HashMap<&'a str, usize>)>,
    files: std::cell::RefCell<HashMap<String, String>>,
}

impl<'a> Locator<'a> {
    fn new(ev: &'a Evaluated, places: Option<&'a Evaluated>) -> Locator<'a> {
        Locator {
            ev,
            places: places.map(|p| {
                let idx = p
                    .sections
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.name.as_str(), i))
                    .collect();
                (p, idx)
            }),
            files: Default::default(),
        }
    }

    fn place(&self, ev: &Evaluated, o: &Origin) -> Place {
        let mut files = self.files.borrow_mut();
        let file = files
            .entry(o.file.to_string())
            .or_insert_with(|| {
                crate::emit::visible(ev.files.get(&*o.file).map_or(&*o.file, String::as_str))
            })
            .clone();
        Place { file, line: o.line }
    }

    /// Where `option` (or one `item` of it) of `host` was set: in the
    /// config the values came from, or, for a build, in its catalog files.
    fn locate(&self, host: &str, option: &str, item: Option<&str>, fallback: &Origin) -> Place {
        if let Some((p, idx)) = &self.places
            && let Some(&i) = idx.get(host)
            && let Some(o) = p.sections[i].options.get(option)
        {
            let origin = match item {
                Some(i) => o.item_origins.get(i).unwrap_or(o.origin()),
                None => o.origin(),
            };
            return self.place(p, origin);
        }
        self.place(self.ev, fallback)
    }

    fn defined(&self, host: &str, fallback: Option<&Origin>) -> Option<Place> {
        if let Some((p, idx)) = &self.places
            && let Some(&i) = idx.get(host)
            && let Some(o) = &p.sections[i].defined_at
        {
            return Some(self.place(p, o));
        }
        fallback.map(|o| self.place(self.ev, o))
    }
}

/// The module names a section lists in `option`, with where each came from.
fn listed<'s>(s: &'s crate::sandbox::Section, option: &str) -> Vec<(&'s str, &'s Origin)> {
    let Some(o) = s.options.get(option) else {
        return Vec::new();
    };
    let items: Vec<&str> = match &o.value {
        Value::List(l) => l.iter().filter_map(|v| v.as_str()).collect(),
        Value::Str(s) => vec![s.as_str()],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|i| (i, o.item_origins.get(i).unwrap_or(o.origin())))
        .collect()
}

impl Effective {
    /// The meaning of `ev`. `places`, when given, is where the same config
    /// came from (a catalog build: its options and modules are located in
    /// the catalog files rather than in the generated text).
    pub fn from_evaluated(ev: &Evaluated, index: &Index, places: Option<&Evaluated>) -> Effective {
        let mut types: HashMap<String, Option<OptionType>> = HashMap::new();
        let mut defaults: HashMap<String, Option<Norm>> = HashMap::new();
        let loc = Locator::new(ev, places);
        let global = ev.global();

        // The global part of every host's module set, once: autoloaded +
        // global modules_enabled − global modules_disabled, and what of it a
        // Component inherits.
        let mut base: BTreeMap<String, ModuleEntry> = BTreeMap::new();
        let mut base_disabled: BTreeMap<String, Option<Place>> = BTreeMap::new();
        for m in &index.autoload_modules {
            base.insert(
                m.clone(),
                ModuleEntry {
                    why: Why::Autoloaded,
                    place: None,
                },
            );
        }
        for (m, o) in listed(global, "modules_enabled") {
            base.insert(
                m.to_string(),
                ModuleEntry {
                    why: Why::Global,
                    place: Some(loc.locate("*", "modules_enabled", Some(m), o).into()),
                },
            );
        }
        for (m, o) in listed(global, "modules_disabled") {
            if base.remove(m).is_some() {
                base_disabled.insert(
                    m.to_string(),
                    Some(loc.locate("*", "modules_disabled", Some(m), o)),
                );
            }
        }
        let mut component_base = base.clone();
        component_base.retain(|m, _| index.component_inheritable_modules.contains(m));

        // module:depends, transitively, once per module.
        let mut closures: HashMap<String, std::rc::Rc<[(String, String)]>> = HashMap::new();
        let mut closure = |m: &str| -> std::rc::Rc<[(String, String)]> {
            if let Some(c) = closures.get(m) {
                return c.clone();
            }
            let mut out: Vec<(String, String)> = Vec::new();
            let mut seen: BTreeSet<String> = BTreeSet::from([m.to_string()]);
            let mut todo = vec![m.to_string()];
            while let Some(x) = todo.pop() {
                for d in index
                    .module(&x)
                    .map(|m| m.depends.as_slice())
                    .unwrap_or(&[])
                {
                    if seen.insert(d.clone()) {
                        out.push((d.clone(), x.clone()));
                        todo.push(d.clone());
                    }
                }
            }
            let out: std::rc::Rc<[(String, String)]> = out.into();
            closures.insert(m.to_string(), out.clone());
            out
        };

        let mut hosts = Vec::with_capacity(ev.sections.len());
        for s in &ev.sections {
            let kind = match &s.kind {
                SectionKind::Global => HostKind::Global,
                SectionKind::VirtualHost => HostKind::VirtualHost,
                // `Component "x" { component_module = "muc" }` is what
                // `Component "x" "muc"` does: configmanager keeps the module
                // as this option, and modulemanager reads it back.
                SectionKind::Component { module } => HostKind::Component(
                    s.options
                        .get("component_module")
                        .and_then(|o| o.value.as_str())
                        .unwrap_or(module)
                        .to_string(),
                ),
            };
            let mut own = BTreeMap::new();
            for (name, o) in &s.options {
                if MODULE_OPTIONS.contains(&name.as_str())
                    || (s.name != "*" && CONFIGMANAGER_OPTIONS.contains(&name.as_str()))
                {
                    continue;
                }
                let ty = types.entry(name.clone()).or_insert_with(|| {
                    let (ty, default) = reader_of(index, name);
                    let d = default
                        .as_ref()
                        .and_then(json_to_value)
                        .map(|v| normalise(ty.as_ref(), &v));
                    defaults.insert(name.clone(), d);
                    ty
                });
                let norm = normalise(ty.as_ref(), &o.value);
                own.insert(
                    name.clone(),
                    (norm, Some(loc.locate(&s.name, name, None, o.origin()))),
                );
            }
            // modulemanager.get_modules_for_host
            let is_component = matches!(kind, HostKind::Component(_));
            let mut modules = if is_component {
                component_base.clone()
            } else {
                base.clone()
            };
            let mut disabled = base_disabled.clone();
            if s.name != "*" {
                for (m, o) in listed(s, "modules_enabled") {
                    if !modules.contains_key(m) {
                        let at = loc.locate(&s.name, "modules_enabled", Some(m), o);
                        modules.insert(
                            m.to_string(),
                            ModuleEntry {
                                why: Why::Host,
                                place: Some(at.into()),
                            },
                        );
                    }
                }
                for (m, o) in listed(s, "modules_disabled") {
                    if modules.remove(m).is_some() {
                        let at = loc.locate(&s.name, "modules_disabled", Some(m), o);
                        disabled.insert(m.to_string(), Some(at));
                    }
                }
            }
            if modules.contains_key("vcard") && modules.contains_key("vcard_legacy") {
                modules.remove("vcard");
            }
            if let HostKind::Component(m) = &kind {
                modules.insert(
                    m.clone(),
                    ModuleEntry {
                        why: Why::Component,
                        place: loc.defined(&s.name, s.defined_at.as_ref()).map(Into::into),
                    },
                );
            }
            let names: Vec<String> = modules.keys().cloned().collect();
            for m in names {
                for (d, by) in closure(&m).iter() {
                    if !modules.contains_key(d) {
                        let at = modules.get(by).and_then(|e| e.place.clone());
                        modules.insert(
                            d.clone(),
                            ModuleEntry {
                                why: Why::Depends(by.clone()),
                                place: at,
                            },
                        );
                    }
                }
            }
            hosts.push(Host {
                name: s.name.clone(),
                kind,
                defined: loc.defined(&s.name, s.defined_at.as_ref()),
                own,
                modules,
                disabled,
            });
        }
        let by_name = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), i))
            .collect();
        Effective {
            hosts,
            by_name,
            defaults,
        }
    }

    pub fn global(&self) -> &Host {
        &self.hosts[0]
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.by_name.get(name).map(|&i| &self.hosts[i])
    }

    /// The default of an option as its reader sees it (None: unknown).
    pub fn default_of(&self, name: &str, index: &Index) -> Option<Norm> {
        if let Some(d) = self.defaults.get(name) {
            return d.clone();
        }
        let (ty, default) = reader_of(index, name);
        default
            .as_ref()
            .and_then(json_to_value)
            .map(|v| normalise(ty.as_ref(), &v))
    }

    /// The effective value of `option` on `host`: its own, else the global
    /// one (configmanager's fall-back, for VirtualHosts and Components
    /// alike), else the default.
    pub fn option(&self, host: &str, option: &str, index: &Index) -> OptionValue {
        let h = self.host(host);
        if let Some((v, p)) = h.and_then(|h| h.own.get(option)) {
            return OptionValue {
                value: Some(v.clone()),
                state: State::Own,
                place: p.clone(),
            };
        }
        if host != "*"
            && let Some((v, p)) = self.global().own.get(option)
        {
            return OptionValue {
                value: Some(v.clone()),
                state: State::Inherited,
                place: p.clone(),
            };
        }
        match self.default_of(option, index) {
            Some(d) => OptionValue {
                value: Some(d),
                state: State::Default,
                place: None,
            },
            None => OptionValue {
                value: None,
                state: State::DefaultUnknown,
                place: None,
            },
        }
    }

    /// Every option name set anywhere in this config.
    pub fn option_names(&self) -> BTreeSet<&str> {
        self.hosts
            .iter()
            .flat_map(|h| h.own.keys().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_normalise() {
        let period = OptionType::Period {
            min: None,
            max: None,
        };
        assert_eq!(
            normalise(Some(&period), &Value::Str("1w".into())),
            Norm::Num(604800.0)
        );
        assert_eq!(
            normalise(Some(&period), &Value::Int(604800)),
            Norm::Num(604800.0)
        );
        assert_eq!(
            normalise(
                Some(&OptionType::Set),
                &Value::List(vec![
                    Value::Str("b".into()),
                    Value::Str("a".into()),
                    Value::Str("b".into())
                ])
            ),
            normalise(
                Some(&OptionType::Set),
                &Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])
            )
        );
        assert_ne!(
            normalise(
                Some(&OptionType::Array),
                &Value::List(vec![Value::Str("b".into()), Value::Str("a".into())])
            ),
            normalise(
                Some(&OptionType::Array),
                &Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])
            )
        );
        assert_eq!(
            normalise(Some(&OptionType::Boolean), &Value::Str("true".into())),
            Norm::Bool(true)
        );
        assert_eq!(
            normalise(None, &Value::Int(2)),
            normalise(None, &Value::Float(2.0))
        );
    }
}
