//! Rendering: one flat, deterministic prosody.cfg.lua from an evaluated
//! config, every option commented with where it was set.

use std::fmt::Write as _;

use miette::Diagnostic;

use crate::sandbox::{Evaluated, Origin, Section, SectionKind};
use crate::value::{Key, Value, lua_string};

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
}

/// What the header of the rendered file says about how it was made.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub profile: String,
    pub environment: String,
    pub domain: String,
    pub features: Vec<String>,
    pub command: String,
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

fn origin_comment(ev: &Evaluated, history: &[Origin]) -> String {
    let last = history.last().expect("set at least once");
    let mut text = format!("-- {}", ev.display_origin(last));
    if history.len() > 1 {
        let earlier: Vec<String> = history[..history.len() - 1]
            .iter()
            .rev()
            .map(|o| ev.display_origin(o))
            .collect();
        let _ = write!(text, " (overrides {})", earlier.join(", "));
    }
    text
}

fn render_modules(ev: &Evaluated, out: &mut String, name: &str, section: &Section, indent: &str) {
    let Some(opt) = section.options.get(name) else {
        return;
    };
    let Value::List(items) = &opt.value else {
        let _ = writeln!(
            out,
            "{indent}{}\n{indent}{name} = {}",
            origin_comment(ev, &opt.history),
            opt.value.to_lua(0)
        );
        return;
    };
    // Deduplicate, keeping the first occurrence.
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&Value> = items.iter().filter(|v| seen.insert(v.to_lua(0))).collect();
    if unique.is_empty() && name != "modules_enabled" {
        return;
    }
    let _ = writeln!(out, "{indent}{name} = {{");
    for item in unique {
        let from = item
            .as_str()
            .and_then(|m| opt.item_origins.get(m))
            .map(|o| format!(" -- {}", ev.display_origin(o)))
            .unwrap_or_else(|| format!(" -- {}", ev.display_origin(opt.origin())));
        let _ = writeln!(out, "{indent}    {};{from}", item.to_lua(0));
    }
    let _ = writeln!(out, "{indent}}}");
}

fn render_options(ev: &Evaluated, out: &mut String, section: &Section, indent: &str) {
    render_modules(ev, out, "modules_enabled", section, indent);
    render_modules(ev, out, "modules_disabled", section, indent);
    for (name, opt) in &section.options {
        if name == "modules_enabled" || name == "modules_disabled" {
            continue;
        }
        let _ = writeln!(out, "\n{indent}{}", origin_comment(ev, &opt.history));
        let value = opt.value.to_lua(indent.len() / 4);
        let _ = writeln!(out, "{indent}{name} = {value}");
    }
}

/// Renders the config. `main_host` is always present as a VirtualHost.
pub fn render(ev: &Evaluated, header: &Header) -> Result<String, RenderError> {
    check_secrets(ev)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- prosody.cfg.lua for {} — generated by pfe {}",
        header.domain,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "-- Profile: {} · Environment: {}",
        header.profile, header.environment
    );
    if !header.command.is_empty() {
        let _ = writeln!(out, "-- Regenerate with: {}", header.command);
    }
    let _ = writeln!(
        out,
        "-- Do not edit by hand: change the catalog, a local.cfg.lua or --set, then regenerate."
    );
    let _ = writeln!(
        out,
        "-- Layers, later wins: core → features → profile → environment → local.cfg.lua → --set"
    );
    let _ = writeln!(out, "-- Features, in load order:");
    for chunk in header.features.chunks(4) {
        let _ = writeln!(out, "--   {}", chunk.join(", "));
    }
    let _ = writeln!(out, "\n---------- Global section ----------\n");
    render_options(ev, &mut out, ev.global(), "");

    let mut hosts: Vec<&Section> = ev.sections.iter().skip(1).collect();
    if !hosts.iter().any(|s| s.name == header.domain) {
        let _ = writeln!(
            out,
            "\n---------- Virtual host ----------\n\nVirtualHost {}",
            lua_string(&header.domain)
        );
    }
    // The main host first, then the rest in definition order.
    hosts.sort_by_key(|s| s.name != header.domain);
    for section in hosts {
        match &section.kind {
            SectionKind::VirtualHost => {
                let _ = writeln!(out, "\n---------- Virtual host ----------\n");
                if let Some(o) = &section.defined_at {
                    let _ = writeln!(out, "-- {}", ev.display_origin(o));
                }
                let _ = writeln!(out, "VirtualHost {}", lua_string(&section.name));
            }
            SectionKind::Component { module } => {
                let _ = writeln!(out, "\n---------- Component ----------\n");
                if let Some(o) = &section.defined_at {
                    let _ = writeln!(out, "-- {}", ev.display_origin(o));
                }
                let _ = writeln!(
                    out,
                    "Component {} {}",
                    lua_string(&section.name),
                    lua_string(module)
                );
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
        render_options(ev, &mut out, &host, "    ");
    }
    Ok(out)
}
