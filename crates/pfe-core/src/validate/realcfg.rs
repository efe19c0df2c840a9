//! Checks for mistakes found in real-world configs (PFE017–PFE027): what the
//! Prosody-mode evaluation noticed ([`crate::sandbox::EvalEvent`]) and
//! problems prosodyctl catches, or that neither tool did before.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::sandbox::EventKind;
use crate::value::Key;

/// The keys an `ssl` table may have: LuaSec's context parameters
/// (`ssl.newcontext`) and what Prosody's util/sslconfig.lua handles.
const SSL_KEYS: &[&str] = &[
    "mode",
    "protocol",
    "key",
    "certificate",
    "password",
    "cafile",
    "capath",
    "verify",
    "verifyext",
    "options",
    "depth",
    "ciphers",
    "ciphersuites",
    "curve",
    "curveslist",
    "dhparam",
    "alpn",
    "dane",
    "sigalgs",
];

/// Why `host` is not a valid domain name as Prosody checks it (prosodyctl's
/// `jid_split` then `idna.to_ascii`: UTS #46 with STD3 rules), or None.
pub(super) fn invalid_host(host: &str) -> Option<String> {
    let h = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let h = h.split_once('/').map_or(h, |(h, _)| h);
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.is_empty() {
        return Some("the name is empty".into());
    }
    if h.len() > 253 {
        return Some("the name is longer than 253 characters".into());
    }
    for label in h.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (`..`, or a dot at the start)".into());
        }
        if label.len() > 63 {
            return Some(format!("the label '{label}' is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!("the label '{label}' contains {c:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("the label '{label}' starts or ends with '-'"));
        }
    }
    None
}

/// Why `disco_items` is malformed as mod_disco checks it, or None.
fn bad_disco_items(v: &Value) -> Option<String> {
    let items: Vec<&Value> = match v {
        Value::List(l) => l.iter().collect(),
        Value::Map(m) => m.iter().map(|(_, v)| v).collect(),
        Value::Unknown(_) | Value::Expr(_) => return None,
        other => return Some(format!("it is a {}, not a list", other.kind())),
    };
    for item in items {
        match item {
            Value::List(l) => match (l.first(), l.get(1)) {
                (Some(Value::Str(_)), None | Some(Value::Str(_))) => {}
                (Some(Value::Str(_)), Some(other)) => {
                    return Some(format!("an item's name is a {}", other.kind()));
                }
                (Some(Value::Unknown(_) | Value::Expr(_)), _) => {}
                _ => return Some("an item's first entry is not a JID string".into()),
            },
            Value::Map(m) => {
                let first = m.iter().find(|(k, _)| *k == Key::Int(1)).map(|(_, v)| v);
                if !matches!(first, Some(Value::Str(_))) {
                    return Some("an item's first entry is not a JID string".into());
                }
            }
            Value::Unknown(_) | Value::Expr(_) => {}
            other => {
                return Some(format!(
                    "the item {} is not a {{ jid, name }} table",
                    other.to_lua(0)
                ));
            }
        }
    }
    None
}

/// The reasons of the [`Value::Unknown`]s in `v`.
fn unknowns_in<'v>(v: &'v Value, out: &mut BTreeSet<&'v str>) {
    match v {
        Value::Unknown(why) => {
            out.insert(why.as_str());
        }
        Value::List(l) => l.iter().for_each(|x| unknowns_in(x, out)),
        Value::Map(m) => m.iter().for_each(|(_, x)| unknowns_in(x, out)),
        _ => {}
    }
}

fn port_numbers(v: &Value) -> Vec<i64> {
    let one = |v: &Value| match v {
        Value::Int(n) => Some(*n),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    match v {
        Value::List(l) => l.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

impl Checker<'_> {
    fn at_origin(&self, f: Finding, origin: &Origin, host: &str) -> Finding {
        let path = self
            .ev
            .files
            .get(&*origin.file)
            .cloned()
            .unwrap_or_else(|| origin.file.to_string());
        let mut f = f.at(path, origin.line).host(host.to_string());
        if let Some(t) = self.texts.get(&*origin.file) {
            f = f.with_source(t.clone());
        }
        f
    }

    pub(super) fn real_world(&self, out: &mut Vec<Finding>) {
        self.events(out);
        self.hosts_and_components(out);
        for section in &self.ev.sections {
            self.section_values(section, out);
        }
        self.port_clashes(out);
    }

    /// PFE017–PFE020 from what the evaluation noticed.
    fn events(&self, out: &mut Vec<Finding>) {
        let set_anywhere: BTreeSet<&str> = self
            .ev
            .sections
            .iter()
            .flat_map(|s| s.options.keys().map(String::as_str))
            .collect();
        // What the unknown values that reached an option stand for: a
        // construct pfe did not run matters only when something depends on
        // it (`local pposix = require "util.pposix"` used only when an
        // ENV_ variable is unset is not worth a word).
        let mut reached = BTreeSet::new();
        for s in &self.ev.sections {
            for o in s.options.values() {
                unknowns_in(&o.value, &mut reached);
            }
        }
        let mut seen = BTreeSet::new();
        for e in &self.ev.events {
            let key = (&*e.origin.file, e.origin.line, e.name.as_str());
            let f = match &e.kind {
                EventKind::Env { .. } => continue,
                EventKind::Refused { .. } if !reached.contains(e.name.as_str()) => continue,
                EventKind::Refused { why } => Finding::warning(
                    NOT_EVALUATED,
                    format!("pfe did not run `{}` ({why}): the values that depend on it are unknown to pfe and not checked", e.name),
                )
                .hint("Prosody runs it at start-up; compute the value in the config's deployment instead, or allow this with `-- pfe: allow(PFE017)`"),
                EventKind::UnknownHost { why } => Finding::warning(
                    NOT_EVALUATED,
                    format!("a host's name depends on `{why}`, which pfe did not run: the host is checked as {}", e.name),
                )
                .hint("give the host name literally, or through an ENV_ variable"),
                EventKind::LuaApi => {
                    if !seen.insert(key) {
                        continue;
                    }
                    Finding::warning(
                        DIRECT_LUA_API,
                        format!("direct use of the Lua API is deprecated: `{}` is a Lua global, not a config option", e.name),
                    )
                    .hint(format!("write `Lua.{}` (Prosody 13 warns about this)", e.name))
                }
                EventKind::NilName { scope } => {
                    if self.index.option_known(&e.name) || set_anywhere.contains(e.name.as_str()) {
                        continue;
                    }
                    if !seen.insert(key) {
                        continue;
                    }
                    let in_scope = if scope == "*" {
                        String::new()
                    } else {
                        format!(" (in {scope:?})")
                    };
                    Finding::warning(
                        UNDEFINED_NAME,
                        format!("'{}' is not defined{in_scope}: it is not an option, a directive or a Lua global, so it evaluates to nil", e.name),
                    )
                    .hint(format!("quote it if it is a value (\"{}\"), or define it first", e.name))
                }
                EventKind::ComponentCallForm { module } => Finding::error(
                    COMPONENT_CALL_FORM,
                    format!("Component({:?}, {module:?}) ignores {module:?}: Component takes one argument, so this is an external component (mod_component), not mod_{module}", e.name),
                )
                .hint(format!("write Component {:?} {module:?}", e.name)),
            };
            out.push(self.at_origin(f.needle(&e.name), &e.origin, "*"));
        }
    }

    /// PFE021, PFE022, PFE026.
    fn hosts_and_components(&self, out: &mut Vec<Finding>) {
        let global = self.ev.global();
        let global_mods = global.options.get("modules_enabled");
        let global_list: BTreeSet<String> = global_mods
            .map(|o| o.value.string_list().into_iter().collect())
            .unwrap_or_default();
        for section in &self.ev.sections {
            if section.kind != SectionKind::Global
                && !section.name.starts_with("<unknown host")
                && let Some(why) = invalid_host(&section.name)
                && let Some(o) = &section.defined_at
            {
                let f = Finding::error(
                    INVALID_HOST_NAME,
                    format!("{} is not a valid host name: {why}", host_label(section)),
                )
                .hint("use a valid domain name; clients and remote servers cannot reach this one");
                out.push(self.located(f.needle(&section.name), o, section));
            }
            if let SectionKind::Component { module } = &section.kind
                && module != "component"
                && global_list.contains(module)
                && let Some(o) = &section.defined_at
            {
                let f = Finding::warning(
                    MODULE_AND_COMPONENT,
                    format!(
                        "mod_{module} is in the global modules_enabled and also loaded as {}: it runs on every VirtualHost as well as on the Component",
                        host_label(section)
                    ),
                )
                .hint(format!("remove {module:?} from modules_enabled"));
                out.push(self.located(f.needle(module), o, section));
            }
            if !matches!(section.kind, SectionKind::Component { .. })
                && let Some(opt) = section.options.get("modules_enabled")
                && opt.value.string_list().iter().any(|m| m == "component")
            {
                let o = opt
                    .item_origins
                    .get("component")
                    .cloned()
                    .unwrap_or_else(|| opt.origin().clone());
                let o = self.item_origin(&o, "component");
                let f = Finding::error(
                    COMPONENT_MODULE_ENABLED,
                    format!(
                        "\"component\" is in the modules_enabled of {}: mod_component serves external components and is loaded by Component sections, not on a VirtualHost",
                        self.loaded_on(section)
                    ),
                )
                .hint("remove it from modules_enabled; define the external component with Component \"name\" and component_secret");
                out.push(self.located(f.needle("component"), &o, section));
            }
        }
    }

    /// PFE023, PFE024, PFE027 on one section's values.
    fn section_values(&self, section: &Section, out: &mut Vec<Finding>) {
        if let Some(opt) = section.options.get("disco_items")
            && let Some(why) = bad_disco_items(&opt.value)
        {
            let f = Finding::error(
                BAD_DISCO_ITEMS,
                format!("disco_items is malformed ({why}): mod_disco logs an error and drops the whole list"),
            )
            .hint("give a list of { \"jid\", \"name\" } pairs: disco_items = { { \"proxy.example.org\", \"File proxy\" } }");
            out.push(self.located(f.needle("disco_items"), opt.origin(), section));
        }
        if let Some(opt) = section.options.get("ssl")
            && let Value::Map(entries) = &opt.value
        {
            for (k, _) in entries {
                let Key::Str(k) = k else { continue };
                if k.starts_with('_') || SSL_KEYS.contains(&k.as_str()) {
                    continue;
                }
                let near = crate::suggest::closest(k, SSL_KEYS.iter().copied());
                let hint = match near {
                    Some(n) => format!("did you mean '{n}'? (ssl.{n})"),
                    None => format!("remove it; the keys are {}", SSL_KEYS.join(", ")),
                };
                let f = Finding::warning(
                    UNKNOWN_SSL_KEY,
                    format!(
                        "ssl.{k} is not a TLS setting Prosody or LuaSec reads: it has no effect"
                    ),
                )
                .hint(hint);
                out.push(self.located(f.needle(k), opt.origin(), section));
            }
        }
        for option in ["default_storage", "storage"] {
            let Some(opt) = section.options.get(option) else {
                continue;
            };
            let drivers: Vec<&str> = match &opt.value {
                Value::Str(s) => vec![s.as_str()],
                Value::Map(m) if option == "storage" => {
                    m.iter().filter_map(|(_, v)| v.as_str()).collect()
                }
                _ => Vec::new(),
            };
            for d in drivers {
                if d == "null" || self.index.module_exists(&format!("storage_{d}")) {
                    continue;
                }
                let hint = match d {
                    "sql2" => {
                        "use \"sql\" (mod_storage_sql2 became mod_storage_sql in Prosody 0.10)"
                            .to_string()
                    }
                    "sql1" | "sqlite" | "sqlite3" | "postgres" | "postgresql" | "mysql" => {
                        "use \"sql\" and set sql = { driver = ... }".to_string()
                    }
                    _ => match crate::suggest::closest(d, ["internal", "sql", "memory", "none"]) {
                        Some(n) => format!("did you mean \"{n}\"?"),
                        None => "use \"internal\" or \"sql\", or install mod_storage_<name>".into(),
                    },
                };
                let f = Finding::error(
                    UNKNOWN_STORAGE_DRIVER,
                    format!("{option} names the storage driver \"{d}\", but there is no mod_storage_{d} in Prosody 13 or prosody-modules"),
                )
                .hint(hint);
                out.push(self.located(f.needle(d), opt.origin(), section));
            }
        }
    }

    /// PFE025: the same port on two services (global `*_ports`).
    fn port_clashes(&self, out: &mut Vec<Finding>) {
        let global = self.ev.global();
        let mut by_port: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (name, opt) in &global.options {
            if !name.ends_with("_ports") {
                continue;
            }
            for p in port_numbers(&opt.value) {
                let v = by_port.entry(p).or_default();
                if !v.contains(&name.as_str()) {
                    v.push(name);
                }
            }
        }
        for (port, names) in by_port {
            if names.len() < 2 {
                continue;
            }
            let last = names[names.len() - 1];
            let opt = &global.options[last];
            let f = Finding::error(
                PORT_CLASH,
                format!(
                    "port {port} is given to {}: only one service can listen on it, the other fails to start",
                    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" and ")
                ),
            )
            .hint(if names.contains(&"legacy_ssl_ports") {
                "remove legacy_ssl_ports: c2s_direct_tls_ports replaces it".to_string()
            } else {
                "give each service its own port".to_string()
            });
            out.push(self.located(f.needle(last), opt.origin(), global));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_as_idna_checks_them() {
        for bad in [
            "conference.jabber..example.org",
            "a b.org",
            "-x.org",
            "x_y.org",
            ".x.org",
            "[::1]",
        ] {
            assert!(invalid_host(bad).is_some(), "{bad}");
        }
        for good in [
            "example.org",
            "example.org.",
            "localhost",
            "ÄÖ.de",
            "1.2.3.4",
            "user@host.org",
        ] {
            assert_eq!(invalid_host(good), None, "{good}");
        }
    }

    #[test]
    fn disco_items_as_mod_disco_checks_them() {
        let s = |x: &str| Value::Str(x.into());
        let ok = Value::List(vec![Value::List(vec![s("a.org"), s("A")])]);
        assert_eq!(bad_disco_items(&ok), None);
        let flat = Value::List(vec![s("a.org"), Value::List(vec![s("b.org")])]);
        assert!(bad_disco_items(&flat).is_some());
        let bad_name = Value::List(vec![Value::List(vec![s("a.org"), Value::Int(1)])]);
        assert!(bad_disco_items(&bad_name).is_some());
    }
}
