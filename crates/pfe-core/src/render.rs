//! Rendering: one flat, deterministic prosody.cfg.lua from an evaluated
//! config, every option commented with where it was set.

use std::fmt::Write as _;

use miette::Diagnostic;

use crate::emit::{self, comment, lua_string};
use crate::sandbox::{Evaluated, Origin, Section, SectionKind};
use crate::value::{Key, Value};

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum RenderError {
    #[error("{origin}: option '{option}' holds a secret in clear text")]
    #[diagnostic(
        code(pfe::render::secret_in_clear),
        help(
            "read it at start-up instead: Credential(\"{suggestion}\") with CREDENTIALS_DIRECTORY, or ENV_{env} from the environment"
        )
    )]
    SecretInClear {
        origin: String,
        option: String,
        suggestion: String,
        env: String,
    },

    #[error("{origin}: option name '{name}' cannot be written to a Prosody config: {reason}")]
    #[diagnostic(
        code(pfe::render::bad_option_name),
        help(
            "option names are Lua identifiers: ASCII letters, digits and _, not starting with a digit, not a Lua keyword"
        )
    )]
    BadOptionName {
        origin: String,
        name: String,
        reason: String,
    },

    #[error("{origin}: host '{name}' cannot be written to a Prosody config: {reason}")]
    #[diagnostic(
        code(pfe::render::bad_host_name),
        help("a host name is a domain such as example.org or conference.example.org")
    )]
    BadHostName {
        origin: String,
        name: String,
        reason: String,
    },

    #[error("{origin}: option '{option}': {reason}")]
    #[diagnostic(code(pfe::render::bad_reference))]
    BadReference {
        origin: String,
        option: String,
        reason: String,
    },
}

/// What the header of the rendered file says about how it was made.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub profile: String,
    pub environment: String,
    /// The primary domain.
    pub domain: String,
    /// The other served domains, in order.
    pub more_domains: Vec<String>,
    pub features: Vec<String>,
    pub command: String,
}

impl Header {
    /// Every served domain, the primary first.
    pub fn domains(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.domain).chain(&self.more_domains)
    }
}

/// Option names whose plain-string values are secrets.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "password"
        || n.ends_with("_password")
        || n.ends_with("_secret")
        || n == "secret"
        || n.ends_with("_token")
}

fn find_secret(path: &str, v: &Value) -> Option<String> {
    match v {
        Value::Map(entries) => entries.iter().find_map(|(k, v)| match (k, v) {
            (Key::Str(k), Value::Str(s)) if is_secret_name(k) && !s.is_empty() => {
                Some(format!("{path}.{k}"))
            }
            (Key::Str(k), v) => find_secret(&format!("{path}.{k}"), v),
            _ => None,
        }),
        Value::List(items) => items.iter().find_map(|v| find_secret(path, v)),
        _ => None,
    }
}

/// Refuses secrets in clear text anywhere in the config.
pub fn check_secrets(ev: &Evaluated) -> Result<(), RenderError> {
    for section in &ev.sections {
        for (name, opt) in &section.options {
            let found = match &opt.value {
                Value::Str(s) if is_secret_name(name) && !s.is_empty() => Some(name.clone()),
                v => find_secret(name, v),
            };
            if let Some(option) = found {
                let leaf = option.rsplit('.').next().unwrap_or(&option).to_string();
                let base = option.split('.').next().unwrap_or(&option);
                let suggestion = if leaf == "password" {
                    format!("{base}_password")
                } else {
                    leaf.clone()
                };
                return Err(RenderError::SecretInClear {
                    origin: ev.display_origin(opt.origin()),
                    option,
                    env: suggestion.to_uppercase(),
                    suggestion,
                });
            }
        }
    }
    Ok(())
}

/// The first reference in `v` that cannot be written, with the reason.
fn bad_reference(v: &Value) -> Option<String> {
    match v {
        Value::Expr(e) => emit::reference(e).err(),
        Value::Unknown(why) => Some(format!("its value is unknown to pfe ({why})")),
        Value::List(items) => items.iter().find_map(bad_reference),
        Value::Map(entries) => entries.iter().find_map(|(_, v)| bad_reference(v)),
        _ => None,
    }
}

/// Refuses names and references that cannot be written as data: every
/// option name must be a plain identifier, every host name loadable, every
/// `Credential(...)`/`ENV_` reference well-formed. Errors name the file:line
/// that set them.
pub fn check_emittable(ev: &Evaluated, header: &Header) -> Result<(), RenderError> {
    for domain in header.domains() {
        if !ev.sections.iter().skip(1).any(|s| s.name == *domain) {
            emit::host_name(domain).map_err(|reason| RenderError::BadHostName {
                origin: DOMAIN_ORIGIN.into(),
                name: emit::visible(domain),
                reason,
            })?;
        }
    }
    for section in &ev.sections {
        if !matches!(section.kind, SectionKind::Global) {
            emit::host_name(&section.name).map_err(|reason| RenderError::BadHostName {
                origin: section
                    .defined_at
                    .as_ref()
                    .map_or_else(|| "<pfe>".into(), |o| ev.display_origin(o)),
                name: emit::visible(&section.name),
                reason,
            })?;
        }
        for (name, opt) in &section.options {
            emit::option_name(name).map_err(|reason| RenderError::BadOptionName {
                origin: ev.display_origin(opt.origin()),
                name: emit::visible(name),
                reason,
            })?;
            if let Some(reason) = bad_reference(&opt.value) {
                return Err(RenderError::BadReference {
                    origin: ev.display_origin(opt.origin()),
                    option: name.clone(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

fn origin_comment(ev: &Evaluated, history: &[Origin]) -> String {
    let last = history.last().expect("set at least once");
    let mut text = ev.display_origin(last);
    if history.len() > 1 {
        let earlier: Vec<String> = history[..history.len() - 1]
            .iter()
            .rev()
            .map(|o| ev.display_origin(o))
            .collect();
        let _ = write!(text, " (overrides {})", earlier.join(", "));
    }
    comment(&text)
}

/// `name` checked by [`check_emittable`]; checked again here so that no path
/// writes a name that is not an identifier.
fn name_of<'a>(ev: &Evaluated, name: &'a str, origin: &Origin) -> Result<&'a str, RenderError> {
    emit::option_name(name).map_err(|reason| RenderError::BadOptionName {
        origin: ev.display_origin(origin),
        name: emit::visible(name),
        reason,
    })
}

fn render_modules(
    ev: &Evaluated,
    out: &mut String,
    name: &str,
    section: &Section,
    indent: &str,
) -> Result<(), RenderError> {
    let Some(opt) = section.options.get(name) else {
        return Ok(());
    };
    let name = name_of(ev, name, opt.origin())?;
    let Value::List(items) = &opt.value else {
        let _ = writeln!(
            out,
            "{indent}{}\n{indent}{name} = {}",
            origin_comment(ev, &opt.history),
            opt.value.to_lua(0)
        );
        return Ok(());
    };
    // Deduplicate, keeping the first occurrence.
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&Value> = items.iter().filter(|v| seen.insert(v.to_lua(0))).collect();
    if unique.is_empty() && name != "modules_enabled" {
        return Ok(());
    }
    let _ = writeln!(out, "{indent}{name} = {{");
    for item in unique {
        let from = item
            .as_str()
            .and_then(|m| opt.item_origins.get(m))
            .unwrap_or_else(|| opt.origin());
        let _ = writeln!(
            out,
            "{indent}    {}; {}",
            item.to_lua(0),
            comment(&ev.display_origin(from))
        );
    }
    let _ = writeln!(out, "{indent}}}");
    Ok(())
}

fn render_options(
    ev: &Evaluated,
    out: &mut String,
    section: &Section,
    indent: &str,
) -> Result<(), RenderError> {
    render_modules(ev, out, "modules_enabled", section, indent)?;
    render_modules(ev, out, "modules_disabled", section, indent)?;
    for (name, opt) in &section.options {
        if name == "modules_enabled" || name == "modules_disabled" {
            continue;
        }
        let name = name_of(ev, name, opt.origin())?;
        let _ = writeln!(out, "\n{indent}{}", origin_comment(ev, &opt.history));
        let value = opt.value.to_lua(indent.len() / 4);
        let _ = writeln!(out, "{indent}{name} = {value}");
    }
    Ok(())
}

/// Where a served domain comes from, for errors.
const DOMAIN_ORIGIN: &str = "the domain (--domain, --env-file, PROSODY_DOMAINS or PROSODY_DOMAIN)";

fn host_line(name: &str, origin: Option<String>) -> Result<String, RenderError> {
    emit::host_name(name).map_err(|reason| RenderError::BadHostName {
        origin: origin.unwrap_or_else(|| DOMAIN_ORIGIN.into()),
        name: emit::visible(name),
        reason,
    })
}

/// Renders the config. Every served domain is a VirtualHost, in the order
/// given, then the other hosts in definition order.
/// Every piece of text goes through [`crate::emit`]: user text is only ever
/// written inside a string literal or an escaped comment.
pub fn render(ev: &Evaluated, header: &Header) -> Result<String, RenderError> {
    check_secrets(ev)?;
    check_emittable(ev, header)?;
    let mut out = String::new();
    let line = |out: &mut String, text: &str| {
        let _ = writeln!(out, "{}", comment(text));
    };
    let served: Vec<&str> = header.domains().map(String::as_str).collect();
    line(
        &mut out,
        &format!(
            "prosody.cfg.lua for {} — generated by pfe {}",
            served.join(", "),
            env!("CARGO_PKG_VERSION")
        ),
    );
    line(
        &mut out,
        &format!(
            "Profile: {} · Environment: {}",
            header.profile, header.environment
        ),
    );
    if !header.command.is_empty() {
        line(&mut out, &format!("Regenerate with: {}", header.command));
    }
    line(
        &mut out,
        "Do not edit by hand: change the catalog, a local.cfg.lua or --set, then regenerate.",
    );
    line(
        &mut out,
        "Layers, later wins: core → features → profile → environment → local.cfg.lua → --set",
    );
    line(&mut out, "Features, in load order:");
    for chunk in header.features.chunks(4) {
        line(&mut out, &format!("  {}", chunk.join(", ")));
    }
    let _ = writeln!(out, "\n---------- Global section ----------\n");
    render_options(ev, &mut out, ev.global(), "")?;

    // The served domains first, in order (a bare VirtualHost for one no
    // layer wrote to), then the rest in definition order.
    let mut hosts: Vec<Result<&Section, &str>> = served
        .iter()
        .map(|d| ev.sections.iter().skip(1).find(|s| s.name == *d).ok_or(*d))
        .collect();
    hosts.extend(
        ev.sections
            .iter()
            .skip(1)
            .filter(|s| !served.contains(&s.name.as_str()))
            .map(Ok),
    );
    for section in hosts {
        let section = match section {
            Ok(s) => s,
            Err(domain) => {
                let _ = writeln!(
                    out,
                    "\n---------- Virtual host ----------\n\nVirtualHost {}",
                    host_line(domain, None)?
                );
                continue;
            }
        };
        let origin = section.defined_at.as_ref().map(|o| ev.display_origin(o));
        let name = host_line(&section.name, origin.clone())?;
        match &section.kind {
            SectionKind::VirtualHost => {
                let _ = writeln!(out, "\n---------- Virtual host ----------\n");
                if let Some(o) = &origin {
                    line(&mut out, o);
                }
                let _ = writeln!(out, "VirtualHost {name}");
            }
            SectionKind::Component { module } => {
                let _ = writeln!(out, "\n---------- Component ----------\n");
                if let Some(o) = &origin {
                    line(&mut out, o);
                }
                let _ = writeln!(out, "Component {name} {}", lua_string(module));
            }
            SectionKind::Global => unreachable!("the global section is first"),
        }
        let mut host = section.clone();
        // A host's own module list is only worth writing when it has items.
        if host
            .options
            .get("modules_enabled")
            .is_some_and(|m| m.value.as_list().is_some_and(<[Value]>::is_empty))
        {
            host.options.remove("modules_enabled");
        }
        render_options(ev, &mut out, &host, "    ")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sandbox::OptionSetting;

    fn origin(file: &str, line: usize) -> Origin {
        Origin {
            file: file.into(),
            line,
            layer: "core".into(),
        }
    }

    fn evaluated(options: &[(&str, Value, Origin)], file_path: &str) -> Evaluated {
        let mut opts = crate::sorted::SortedMap::new();
        for (name, value, o) in options {
            opts.insert(
                name.to_string(),
                OptionSetting {
                    env: Vec::new(),
                    value: value.clone(),
                    history: vec![origin("set1", 1), o.clone()],
                    item_origins: Default::default(),
                },
            );
        }
        Evaluated {
            events: Vec::new(),
            sections: vec![Section {
                name: "*".into(),
                kind: SectionKind::Global,
                defined_at: None,
                options: opts,
            }],
            logs: Vec::new(),
            files: [
                ("f".to_string(), file_path.to_string()),
                (
                    "set1".to_string(),
                    "--set x=\"a\nLua.os.execute()--\"".to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            texts: BTreeMap::new(),
        }
    }

    /// Runs `text` with nothing in reach but VirtualHost; returns the globals it set.
    fn run(text: &str) -> Vec<String> {
        let lua = mlua::Lua::new();
        let env = lua.create_table().unwrap();
        env.set(
            "VirtualHost",
            lua.create_function(|_, _: String| Ok(())).unwrap(),
        )
        .unwrap();
        lua.load(text)
            .set_environment(env.clone())
            .exec()
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut names: Vec<String> = env
            .pairs::<String, mlua::Value>()
            .map(|p| p.unwrap().0)
            .filter(|k| k != "VirtualHost")
            .collect();
        names.sort();
        names
    }

    #[test]
    fn header_and_provenance_cannot_end_their_comments() {
        let payload = "\nLua.os.execute(\"id\") --\r\u{2028}\u{85}";
        let ev = evaluated(
            &[("motd_text", Value::Str(payload.into()), origin("f", 3))],
            &format!("features/a{payload}.cfg.lua"),
        );
        let header = Header {
            profile: format!("p{payload}"),
            environment: format!("e{payload}"),
            domain: "example.org".into(),
            more_domains: Vec::new(),
            features: vec![format!("f{payload}"), "g".into()],
            command: format!("pfe generate --set 'x=\"a{payload}\"'"),
        };
        let text = render(&ev, &header).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::emit::is_invisible(c)),
            "{text:?}"
        );
        for line in text.lines() {
            assert!(!line.trim_start().starts_with("Lua"), "{text}");
        }
        assert_eq!(run(&text), vec!["motd_text".to_string()]);
    }

    #[test]
    fn option_names_that_are_not_identifiers_are_refused_with_file_line() {
        for name in ["end", "x = 1\nLua.os.execute(\"id\")--", "Include", "a b"] {
            let ev = evaluated(
                &[(name, Value::Str("x".into()), origin("f", 7))],
                "features/evil\n.cfg.lua",
            );
            let header = Header {
                domain: "example.org".into(),
                ..Header::default()
            };
            let err = render(&ev, &header).unwrap_err().to_string();
            assert!(
                err.starts_with("features/evil\\n.cfg.lua:7: option name"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn hostile_references_are_refused() {
        let ev = evaluated(
            &[(
                "secret_ref",
                Value::Expr("ENV_X\nLua.os.execute(\"id\")".into()),
                origin("f", 2),
            )],
            "f.cfg.lua",
        );
        let header = Header {
            domain: "example.org".into(),
            ..Header::default()
        };
        let err = render(&ev, &header).unwrap_err().to_string();
        assert!(err.starts_with("f.cfg.lua:2: option 'secret_ref'"), "{err}");
    }
}
