//! `pfe diff`: the semantic difference between two configs, host by host
//! ([`crate::effective`]): options after inheritance and defaults, module
//! sets as Prosody computes them, the hosts and what kind each is. Order of
//! `modules_enabled`, comments, formatting, Include structure and the
//! syntax used do not count, because none of them survive evaluation.

use std::collections::BTreeSet;

use crate::effective::{Effective, Host, ModuleEntry, OptionValue, Place, State, Why};
use crate::index::Index;

/// What differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Subject {
    /// The host exists on one side only.
    Host,
    /// VirtualHost on one side, Component on the other, or another module.
    HostKind,
    Option(String),
    Module(String),
}

/// One side of a difference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Side {
    /// The value as the reader sees it, "loaded"/"not loaded", "absent", ...
    pub shown: String,
    /// How it got there: "own", "inherited from the global section",
    /// "default", "default unknown", "autoloaded", "global modules_enabled", ...
    pub how: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// `*` for the global section.
    pub host: String,
    #[serde(flatten)]
    pub subject: Subject,
    pub a: Side,
    pub b: Side,
}

fn option_side(v: &OptionValue) -> Side {
    Side {
        shown: v.shown(),
        how: match v.state {
            State::Own => "set".into(),
            State::Inherited => "inherited from the global section".into(),
            State::Default => "default".into(),
            State::DefaultUnknown => "not set; default unknown".into(),
        },
        place: v.place.clone(),
    }
}

fn module_side(h: &Host, m: &str) -> Side {
    match h.modules.get(m) {
        Some(ModuleEntry { why, place }) => Side {
            shown: "loaded".into(),
            how: match why {
                Why::Autoloaded => "autoloaded by Prosody".into(),
                Why::Global => "global modules_enabled".into(),
                Why::Host => "the host's modules_enabled".into(),
                Why::Component => "the Component's module".into(),
                Why::Depends(by) => format!("module:depends of mod_{by}"),
            },
            place: place.as_deref().cloned(),
        },
        None => match h.disabled.get(m) {
            Some(place) => Side {
                shown: "not loaded".into(),
                how: "modules_disabled".into(),
                place: place.clone(),
            },
            None => Side {
                shown: "not loaded".into(),
                how: if matches!(h.kind, crate::effective::HostKind::Component(_)) {
                    "not listed (a Component inherits only tls, saslauth, dialback, iq, s2s, s2s_bidi, smacks, server_contact_info)".into()
                } else {
                    "not listed".into()
                },
                place: None,
            },
        },
    }
}

fn absent() -> Side {
    Side {
        shown: "absent".into(),
        how: "no such host".into(),
        place: None,
    }
}

/// Every difference between `a` and `b`, the global section first, then
/// hosts by name; within a host options, then modules, by name.
///
/// An option or module a host gets from the global section on both sides
/// is reported once, under `*`, not again for every host.
pub fn diff(a: &Effective, b: &Effective, index: &Index) -> Vec<Difference> {
    let mut out = Vec::new();
    let names: BTreeSet<&str> = a.option_names().union(&b.option_names()).copied().collect();
    let hosts: BTreeSet<&str> = a
        .hosts
        .iter()
        .chain(&b.hosts)
        .map(|h| h.name.as_str())
        .filter(|n| *n != "*")
        .collect();
    let order = std::iter::once("*").chain(hosts);
    let (ga, gb) = (a.global(), b.global());
    for host in order {
        let (ha, hb) = match (a.host(host), b.host(host)) {
            (Some(x), Some(y)) => (x, y),
            (x, y) => {
                let side = |h: Option<&Host>| match h {
                    Some(h) => Side {
                        shown: h.kind.to_string(),
                        how: "defined".into(),
                        place: h.defined.clone(),
                    },
                    None => absent(),
                };
                out.push(Difference {
                    host: host.to_string(),
                    subject: Subject::Host,
                    a: side(x),
                    b: side(y),
                });
                continue;
            }
        };
        if ha.kind != hb.kind {
            out.push(Difference {
                host: host.to_string(),
                subject: Subject::HostKind,
                a: Side {
                    shown: ha.kind.to_string(),
                    how: "defined".into(),
                    place: ha.defined.clone(),
                },
                b: Side {
                    shown: hb.kind.to_string(),
                    how: "defined".into(),
                    place: hb.defined.clone(),
                },
            });
        }
        for name in &names {
            if host != "*" && !ha.own.contains_key(*name) && !hb.own.contains_key(*name) {
                // Both inherit (or default): the `*` entry says it.
                continue;
            }
            let va = a.option(host, name, index);
            let vb = b.option(host, name, index);
            if !va.same(&vb) {
                out.push(Difference {
                    host: host.to_string(),
                    subject: Subject::Option(name.to_string()),
                    a: option_side(&va),
                    b: option_side(&vb),
                });
            }
        }
        let modules: BTreeSet<&str> = ha
            .modules
            .keys()
            .chain(hb.modules.keys())
            .map(String::as_str)
            .collect();
        for m in modules {
            let (ina, inb) = (ha.modules.contains_key(m), hb.modules.contains_key(m));
            if ina == inb {
                continue;
            }
            if host != "*" {
                // Explained by the global section, when each side's host
                // follows its own global set and those differ.
                let (gina, ginb) = (ga.modules.contains_key(m), gb.modules.contains_key(m));
                let follows = |h: &Host, inh: bool, ging: bool| {
                    inh == ging
                        && !matches!(h.kind, crate::effective::HostKind::Component(_))
                        && !h.disabled.contains_key(m)
                        && h.modules.get(m).is_none_or(|e| {
                            matches!(e.why, Why::Global | Why::Autoloaded | Why::Depends(_))
                        })
                };
                if gina != ginb && follows(ha, ina, gina) && follows(hb, inb, ginb) {
                    continue;
                }
            }
            out.push(Difference {
                host: host.to_string(),
                subject: Subject::Module(m.to_string()),
                a: module_side(ha, m),
                b: module_side(hb, m),
            });
        }
    }
    out
}

/// The meaning of the config file at `path` (with its Includes), read as
/// Prosody 13 reads it with `env` as its environment. The error is the
/// finding that says why it does not load, with file:line.
pub fn effective_of_file(
    path: &std::path::Path,
    env: std::collections::HashMap<String, String>,
    index: &Index,
) -> Result<Effective, crate::validate::Finding> {
    let ev = crate::lint::evaluate_file(path, env)?;
    Ok(Effective::from_evaluated(&ev, index, None))
}

/// The meaning of a catalog build: its generated config read as Prosody 13
/// reads it (in the environment the build saw), located in the catalog
/// files the build came from.
pub fn effective_of_build(
    build: &crate::engine::Build,
    index: &Index,
) -> Result<Effective, crate::validate::Finding> {
    let src = crate::sandbox::Source {
        id: "generated".into(),
        path: format!("<generated {}/{}>", build.profile.id, build.environment.id),
        text: build.config.clone(),
    };
    let ev = crate::lint::evaluate_source(src, build.env.clone())?;
    Ok(Effective::from_evaluated(
        &ev,
        index,
        Some(&build.evaluated),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(text: &str) -> Effective {
        let src = crate::sandbox::Source {
            id: "t.cfg.lua".into(),
            path: "t.cfg.lua".into(),
            text: text.into(),
        };
        let ev = crate::lint::evaluate_source(src, Default::default()).unwrap();
        Effective::from_evaluated(&ev, Index::builtin(), None)
    }

    fn d(a: &str, b: &str) -> Vec<Difference> {
        diff(&eff(a), &eff(b), Index::builtin())
    }

    #[test]
    fn syntax_order_and_defaults_do_not_count() {
        let a = "modules_enabled = { \"roster\", \"ping\" }\n-- c\nVirtualHost \"a.example\"\nComponent \"c.a.example\" \"muc\"\n";
        let b = "modules_enabled = { \"ping\";\n \"roster\" }\nVirtualHost \"a.example\" {}\nComponent \"c.a.example\" { component_module = \"muc\" }\n";
        assert_eq!(d(a, b), vec![]);
        // An option set to its default equals an option left unset.
        assert_eq!(d("", "archive_expires_after = \"1w\"\n"), vec![]);
        assert_eq!(
            d(
                "archive_expires_after = 604800\n",
                "archive_expires_after = \"1 week\"\n"
            ),
            vec![]
        );
    }

    #[test]
    fn real_differences_are_located() {
        let got = d(
            "VirtualHost \"a.example\"\n  c2s_require_encryption = false\n",
            "VirtualHost \"a.example\"\n",
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].subject,
            Subject::Option("c2s_require_encryption".into())
        );
        assert_eq!(got[0].a.place.as_ref().unwrap().to_string(), "t.cfg.lua:2");
        let got = d(
            "modules_enabled = { \"ping\" }\nVirtualHost \"a.example\"\n",
            "VirtualHost \"a.example\"\n",
        );
        // Reported once, under the global section.
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].host, "*");
        assert_eq!(got[0].subject, Subject::Module("ping".into()));
    }
}
