//! `pfe migrate FILE -o DIR`: an existing Prosody config (with its
//! Includes, evaluated as `pfe lint` does) turned into a catalog tree:
//! the nearest built-in profile and environment, the feature switches that
//! reproduce its module sets (a profile that `extends` the built-in one
//! when they differ), a `local.cfg.lua` with everything no feature covers
//! (each item commented with its file:line), and an `.env` selecting it.
//!
//! The tree is proven before it is kept: it is built, read back as Prosody
//! reads it and compared with the original ([`crate::diff`]); every
//! difference left must be one the report names, else it is listed as
//! unexplained. Nothing here prints; the CLI renders the [`Report`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::diff::{self, Difference, Subject};
use crate::effective::{Effective, Place, State};
use crate::emit;
use crate::engine::{self, Build, Request};
use crate::index::{Index, ReplacementKind};
use crate::sandbox::{Evaluated, OptionSetting, Origin, SectionKind};
use crate::value::{Key, Value};

/// The profile `migrate` writes when the feature set differs.
pub const PROFILE_NAME: &str = "migrated";

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Drop options nothing reads (invented or dead) instead of keeping them.
    pub drop_dead: bool,
    /// Replace DIR when it exists.
    pub force: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigrateError {
    #[error("{0}")]
    #[diagnostic(
        code(pfe::migrate::load),
        help("the config must load as Prosody 13 reads it: `pfe lint FILE` shows every problem")
    )]
    Load(String),
    #[error("{dir} exists and is not empty")]
    #[diagnostic(
        code(pfe::migrate::exists),
        help("give another -o DIR, or --force to replace it")
    )]
    Exists { dir: String },
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(code(pfe::migrate::write))]
    Write { path: String, reason: String },
    #[error("no built-in profile and environment build for this config: {0}")]
    #[diagnostic(code(pfe::migrate::build))]
    Build(String),
    #[error("the migrated tree does not build: {0}")]
    #[diagnostic(
        code(pfe::migrate::verify),
        help("please report this: migrate must write a tree that builds")
    )]
    Verify(String),
}

/// One thing the report names: where it was in the original and what
/// happened to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// `*` for the global section.
    pub host: String,
    /// "option NAME", "module mod_NAME", "host".
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    pub note: String,
    /// For a renamed option: "option NEW", what it is written as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A secret found in clear text, moved out to `Credential(name)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Secret {
    pub item: Item,
    pub credential: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub profile: String,
    pub environment: String,
    /// The built-in profile it starts from.
    pub base_profile: String,
    pub domain: String,
    pub with: Vec<String>,
    pub without: Vec<String>,
    /// Features on in the migrated build.
    pub recognised: Vec<String>,
    /// Kept in local.cfg.lua.
    pub residue: Vec<Item>,
    /// Options nothing reads: kept and flagged (dropped with --drop-dead).
    pub flagged: Vec<Item>,
    pub dropped: Vec<Item>,
    pub renamed: Vec<Item>,
    pub secrets: Vec<Secret>,
    /// Differences the catalog cannot express (a host a feature adds, an
    /// option whose default is unknown set by a feature).
    pub unexpressed: Vec<Item>,
    /// What `pfe diff ORIGINAL <tree>` still shows.
    pub remaining: Vec<Difference>,
    /// Of those, the ones no item of this report explains (should be none).
    pub unexplained: Vec<Difference>,
    /// The variables of `.env`.
    pub env: Vec<(String, String)>,
    pub files: Vec<String>,
    /// (host, "option NAME" | "module mod_NAME" | "host") of every item above.
    #[serde(skip)]
    pub explained: BTreeSet<(String, String)>,
}

fn subject_key(host: &str, s: &Subject) -> (String, String) {
    let what = match s {
        Subject::Host | Subject::HostKind => "host".to_string(),
        Subject::Option(o) => format!("option {o}"),
        Subject::Module(m) => format!("module mod_{m}"),
    };
    (host.to_string(), what)
}

/// Names that hold secrets when they are set in clear text.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "password" || n == "secret" || n.ends_with("_password") || n.ends_with("_secret")
}

fn credential_name(host: &str, option: &str) -> String {
    let base = if host == "*" {
        option.to_string()
    } else {
        format!("{host}_{option}")
    };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `v` with clear-text secrets replaced by `Credential(...)`; the names used.
fn move_secrets(host: &str, option: &str, v: &Value, found: &mut Vec<String>) -> Value {
    match v {
        Value::Str(_) if is_secret_name(option) => {
            let name = credential_name(host, option);
            found.push(name.clone());
            Value::Expr(format!("Credential({})", emit::lua_string(&name)))
        }
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| match (k, x) {
                    (Key::Str(ks), Value::Str(_)) if is_secret_name(ks) => {
                        let name = credential_name(host, &format!("{option}_{ks}"));
                        found.push(name.clone());
                        (
                            k.clone(),
                            Value::Expr(format!("Credential({})", emit::lua_string(&name))),
                        )
                    }
                    _ => (k.clone(), x.clone()),
                })
                .collect(),
        ),
        v => v.clone(),
    }
}

fn has_unknown(v: &Value) -> Option<&str> {
    match v {
        Value::Unknown(why) => Some(why),
        Value::List(l) => l.iter().find_map(has_unknown),
        Value::Map(m) => m.iter().find_map(|(_, x)| has_unknown(x)),
        _ => None,
    }
}

/// `value` as the config wrote it: `ENV_X` when the whole value is one
/// variable's, else the value.
fn as_written(o: &OptionSetting, env: &HashMap<String, String>) -> Value {
    if let [var] = o.env.as_slice()
        && let Value::Str(s) = &o.value
        && env.get(var) == Some(s)
        && emit::is_identifier(var)
    {
        return Value::Expr(format!("ENV_{var}"));
    }
    o.value.clone()
}

/// What one section of local.cfg.lua holds.
#[derive(Default)]
struct Section {
    header: Option<String>,
    lines: Vec<String>,
    add: Vec<(String, Option<Place>)>,
    disable: Vec<(String, Option<Place>)>,
    /// For a host: the build's own modules_enabled, kept when adding.
    base_list: Vec<String>,
}

fn place_of(ev: &Evaluated, o: &Origin) -> Place {
    Place {
        file: emit::visible(ev.files.get(&*o.file).map_or(&*o.file, String::as_str)),
        line: o.line,
    }
}

struct Ctx<'a> {
    ev: &'a Evaluated,
    index: &'a Index,
    env: &'a HashMap<String, String>,
    opts: &'a Options,
    report: Report,
    /// (host, what) of every reported item.
    reported: BTreeSet<(String, String)>,
}

impl Ctx<'_> {
    fn note(&mut self, list: fn(&mut Report) -> &mut Vec<Item>, item: Item) {
        self.reported.insert((item.host.clone(), item.what.clone()));
        list(&mut self.report).push(item);
    }

    /// The assignment of `name = value` for `host`, or None when it is not
    /// kept (the report says why).
    fn option_line(&mut self, host: &str, name: &str, o: &OptionSetting) -> Option<String> {
        let place = place_of(self.ev, o.origin());
        let item = |note: String| Item {
            host: host.to_string(),
            what: format!("option {name}"),
            place: Some(place.clone()),
            note,
            ..Default::default()
        };
        if let Err(why) = emit::option_name(name) {
            self.note(|r| &mut r.dropped, item(why));
            return None;
        }
        if let Some(why) = has_unknown(&o.value) {
            self.note(
                |r| &mut r.dropped,
                item(format!(
                    "its value is not computed by pfe ({why}): set it again by hand"
                )),
            );
            return None;
        }
        let mut target = name.to_string();
        if let Some(r) = self.index.deprecated(name) {
            match (r.kind, &r.replacement, &r.value) {
                (ReplacementKind::Option, Some(new), None) if r.also.is_empty() => {
                    self.note(
                        |r| &mut r.renamed,
                        Item {
                            to: Some(format!("option {new}")),
                            ..item(format!("deprecated: written as {new}"))
                        },
                    );
                    self.reported
                        .insert((host.to_string(), format!("option {new}")));
                    target = new.clone();
                }
                (ReplacementKind::Obsolete, _, _) if self.opts.drop_dead => {
                    self.note(
                        |r| &mut r.dropped,
                        item(format!("no longer has any effect ({})", r.message)),
                    );
                    return None;
                }
                (ReplacementKind::Obsolete, _, _) => {
                    self.note(
                        |r| &mut r.flagged,
                        item(format!(
                            "no longer has any effect ({}); kept (--drop-dead drops it)",
                            r.message
                        )),
                    );
                }
                _ => {}
            }
        } else if !self.index.option_known(name) {
            if self.opts.drop_dead {
                self.note(
                    |r| &mut r.dropped,
                    item("nothing in Prosody 13 or prosody-modules reads it".into()),
                );
                return None;
            }
            self.note(
                |r| &mut r.flagged,
                item("nothing in Prosody 13 or prosody-modules reads it; kept (--drop-dead drops it)".into()),
            );
        }
        let mut secrets = Vec::new();
        let value = move_secrets(host, &target, &as_written(o, self.env), &mut secrets);
        for credential in secrets {
            self.reported
                .insert((host.to_string(), format!("option {name}")));
            self.report.secrets.push(Secret {
                item: item(format!(
                    "create the file {credential} in $CREDENTIALS_DIRECTORY (or the container's secrets) holding the value"
                )),
                credential,
            });
        }
        Some(format!(
            "{} = {} {}",
            target,
            value.to_lua(0),
            emit::comment(&place.to_string())
        ))
    }
}

fn host_header(name: &str, kind: &SectionKind) -> Result<String, String> {
    let quoted = emit::host_name(name)?;
    Ok(match kind {
        SectionKind::Component { module } if module == "component" => format!("Component {quoted}"),
        SectionKind::Component { module } => {
            format!("Component {quoted} {}", emit::lua_string(module))
        }
        _ => format!("VirtualHost {quoted}"),
    })
}

/// The served domain: the first VirtualHost pfe accepts as a domain.
fn pick_domain(ev: &Evaluated) -> String {
    ev.sections
        .iter()
        .filter(|s| s.kind == SectionKind::VirtualHost)
        .find_map(|s| crate::request::check_domain(&s.name).ok())
        .unwrap_or_else(|| engine::DEFAULT_DOMAIN.to_string())
}

fn build(
    catalog: &Catalog,
    profile: &str,
    environment: &str,
    domain: &str,
    with: &[String],
    without: &[String],
    env: &HashMap<String, String>,
) -> Result<Build, engine::Error> {
    let req = Request {
        domain: Some(domain.to_string()),
        with: with.to_vec(),
        without: without.to_vec(),
        env: env.clone(),
        all_features: true,
        command: "pfe generate".into(),
        ..Request::new(profile, environment)
    };
    engine::build(catalog, &req)
}

/// The environment builds see: the caller's, without the variables that
/// select a build (the .env written decides those).
fn neutral_env(env: &HashMap<String, String>) -> HashMap<String, String> {
    env.iter()
        .filter(|(k, _)| !k.starts_with("PROSODY_") && !k.starts_with("PFE_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Where a module is loaded in the original.
fn loaded_anywhere(orig: &Effective, m: &str) -> bool {
    orig.hosts.iter().any(|h| h.modules.contains_key(m))
}

/// Rounds of write, prove, take in what is left.
pub const MAX_ROUNDS: usize = 4;

type Files = Vec<(PathBuf, String)>;

/// Writes a round's files and returns what `pfe diff` still finds.
pub type Prover<'a> = dyn FnMut(&Files, &Report) -> Result<Vec<Difference>, MigrateError> + 'a;

/// Plans the migration of the evaluated config `ev` into a catalog tree.
/// `prove` writes the files of a round and returns what `pfe diff` still
/// finds between the original and the tree.
pub fn plan(
    ev: &Evaluated,
    env: &HashMap<String, String>,
    opts: &Options,
    prove: &mut Prover<'_>,
) -> Result<(Files, Report), MigrateError> {
    let index = Index::builtin();
    let builtin = Catalog::builtin();
    let orig = Effective::from_evaluated(ev, index, None);
    let domain = pick_domain(ev);
    let env = neutral_env(env);

    // 1. The nearest built-in profile × environment.
    let mut best: Option<(usize, String, String, Build)> = None;
    for p in builtin.profiles() {
        for e in builtin.environments() {
            let Ok(b) = build(&builtin, &p, &e, &domain, &[], &[], &env) else {
                continue;
            };
            let Ok(eff) = diff::effective_of_build(&b, index) else {
                continue;
            };
            let n = diff::diff(&orig, &eff, index).len();
            if best.as_ref().is_none_or(|(m, ..)| n < *m) {
                best = Some((n, p.clone(), e.clone(), b));
            }
        }
    }
    let Some((_, base_profile, environment, base)) = best else {
        return Err(MigrateError::Build(format!(
            "no profile builds for the domain {domain}"
        )));
    };

    // 2. Feature switches reproducing the module sets.
    let mut with = Vec::new();
    let mut without = Vec::new();
    for (id, f) in &base.features {
        let on = base.resolution.order.contains(id);
        let modules: Vec<&String> = f.modules.iter().collect();
        if modules.is_empty() {
            continue;
        }
        let all = modules.iter().all(|m| loaded_anywhere(&orig, m));
        let none = modules.iter().all(|m| !loaded_anywhere(&orig, m));
        if !on && all {
            with.push(id.clone());
        } else if on && none {
            without.push(id.clone());
        }
    }
    // Keep a switch only when the catalog accepts it (dependencies,
    // conflicts, stability) and it brings the build nearer the original.
    let mut kept_with: Vec<String> = Vec::new();
    let mut kept_without: Vec<String> = Vec::new();
    let distance = |b: &Build| {
        diff::effective_of_build(b, index)
            .map(|e| diff::diff(&orig, &e, index).len())
            .unwrap_or(usize::MAX)
    };
    let mut best_n = distance(&base);
    let mut current = base;
    let candidates = with
        .into_iter()
        .map(|f| (true, f))
        .chain(without.into_iter().map(|f| (false, f)));
    for (on, f) in candidates {
        let (mut w, mut wo) = (kept_with.clone(), kept_without.clone());
        if on {
            w.push(f);
        } else {
            wo.push(f);
        }
        if let Ok(b) = build(
            &builtin,
            &base_profile,
            &environment,
            &domain,
            &w,
            &wo,
            &env,
        ) {
            let n = distance(&b);
            if n < best_n {
                best_n = n;
                current = b;
                kept_with = w;
                kept_without = wo;
            }
        }
    }
    let switched = !kept_with.is_empty() || !kept_without.is_empty();
    let profile = if switched {
        PROFILE_NAME.to_string()
    } else {
        base_profile.clone()
    };
    let recognised = current.resolution.order.clone();
    let features: Vec<String> = {
        let mut f: Vec<String> = current
            .profile
            .features
            .iter()
            .filter(|f| !kept_without.contains(f))
            .cloned()
            .collect();
        f.extend(kept_with.iter().cloned());
        f
    };
    let target =
        diff::effective_of_build(&current, index).map_err(|f| MigrateError::Build(f.message))?;

    // 3. The residue: every difference the switches leave.
    let mut cx = Ctx {
        ev,
        index,
        env: &env,
        opts,
        report: Report::default(),
        reported: BTreeSet::new(),
    };
    // Each round writes the tree, proves it, and takes in what the proof
    // still finds (a global value written back changes what hosts inherit,
    // a module disabled no longer pulls its module:depends).
    let mut diffs = diff::diff(&orig, &target, index);
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    let mut whole_hosts: BTreeSet<String> = BTreeSet::new();
    let mut round = 0;
    loop {
        for d in &diffs {
            match &d.subject {
                Subject::Host => {
                    let Some(s) = ev.section(&d.host) else {
                        cx.note(
                            |r| &mut r.unexpressed,
                            Item {
                                host: d.host.clone(),
                                what: "host".into(),
                                place: d.b.place.clone(),
                                note: "added by the catalog; the original has no such host".into(),
                                ..Default::default()
                            },
                        );
                        continue;
                    };
                    whole_hosts.insert(d.host.clone());
                    let header = match host_header(&s.name, &s.kind) {
                        Ok(h) => h,
                        Err(why) => {
                            cx.note(
                                |r| &mut r.dropped,
                                Item {
                                    host: d.host.clone(),
                                    what: "host".into(),
                                    place: d.a.place.clone(),
                                    note: format!("its name cannot be written: {why}"),
                                    ..Default::default()
                                },
                            );
                            continue;
                        }
                    };
                    let mut sec = Section {
                        header: Some(header),
                        ..Default::default()
                    };
                    for (name, o) in &s.options {
                        if crate::effective::CONFIGMANAGER_OPTIONS.contains(&name.as_str())
                            && name != "component_module"
                        {
                            continue;
                        }
                        if name == "component_module" {
                            continue;
                        }
                        if let Some(line) = cx.option_line(&s.name, name, o) {
                            sec.lines.push(line);
                        }
                    }
                    cx.reported.insert((d.host.clone(), "host".into()));
                    cx.report.residue.push(Item {
                        host: d.host.clone(),
                        what: "host".into(),
                        place: d.a.place.clone(),
                        note: "no feature defines it: kept whole".into(),
                        ..Default::default()
                    });
                    sections.insert(d.host.clone(), sec);
                }
                Subject::HostKind => {
                    cx.note(
                        |r| &mut r.unexpressed,
                        Item {
                            host: d.host.clone(),
                            what: "host".into(),
                            place: d.a.place.clone(),
                            note: format!(
                                "{} in the original, {} in the catalog",
                                d.a.shown, d.b.shown
                            ),
                            ..Default::default()
                        },
                    );
                }
                Subject::Option(name) => {
                    if whole_hosts.contains(&d.host) {
                        continue;
                    }
                    let own = ev
                        .section(&d.host)
                        .and_then(|s| s.options.get(name))
                        .or_else(|| ev.global().options.get(name));
                    let sec = sections.entry(d.host.clone()).or_default();
                    if sec.header.is_none() && d.host != "*" {
                        let kind = ev
                            .section(&d.host)
                            .map(|s| s.kind.clone())
                            .unwrap_or(SectionKind::VirtualHost);
                        sec.header = host_header(&d.host, &kind).ok();
                    }
                    let line = match own {
                        Some(o) if orig.option(&d.host, name, index).state != State::Default => {
                            cx.option_line(&d.host, name, o)
                        }
                        _ => {
                            // Unset in the original, set by the catalog:
                            // unset it again (nil in local.cfg.lua removes it).
                            let set_by =
                                d.b.place
                                    .as_ref()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default();
                            cx.reported
                                .insert((d.host.clone(), format!("option {name}")));
                            cx.report.residue.push(Item {
                                host: d.host.clone(),
                                what: format!("option {name}"),
                                place: d.b.place.clone(),
                                note: "unset in the original: unset again (the catalog sets it)"
                                    .into(),
                                ..Default::default()
                            });
                            emit::option_name(name).ok().map(|n| {
                                format!(
                                    "{n} = nil {}",
                                    emit::comment(&format!(
                                        "unset in the original; the catalog sets it at {set_by}"
                                    ))
                                )
                            })
                        }
                    };
                    if let Some(l) = line {
                        let sec = sections.entry(d.host.clone()).or_default();
                        if !sec.lines.contains(&l) {
                            if !cx.reported.contains(&subject_key(&d.host, &d.subject)) {
                                cx.reported.insert(subject_key(&d.host, &d.subject));
                            }
                            if !cx
                                .report
                                .residue
                                .iter()
                                .any(|i| i.host == d.host && i.what == format!("option {name}"))
                                && !cx
                                    .report
                                    .renamed
                                    .iter()
                                    .any(|i| i.host == d.host && i.what == format!("option {name}"))
                            {
                                cx.report.residue.push(Item {
                                    host: d.host.clone(),
                                    what: format!("option {name}"),
                                    place: d.a.place.clone(),
                                    note: "kept in local.cfg.lua".into(),
                                    ..Default::default()
                                });
                            }
                            sec.lines.push(l);
                        }
                    }
                }
                Subject::Module(m) => {
                    if whole_hosts.contains(&d.host) {
                        continue;
                    }
                    let loaded_in_orig = d.a.shown == "loaded";
                    let sec = sections.entry(d.host.clone()).or_default();
                    if sec.header.is_none() && d.host != "*" {
                        let kind = ev
                            .section(&d.host)
                            .map(|s| s.kind.clone())
                            .unwrap_or(SectionKind::VirtualHost);
                        sec.header = host_header(&d.host, &kind).ok();
                        sec.base_list = current
                            .evaluated
                            .section(&d.host)
                            .and_then(|s| s.options.get("modules_enabled"))
                            .map(|o| o.value.string_list())
                            .unwrap_or_default();
                    }
                    let what = if loaded_in_orig { "loaded" } else { "disabled" };
                    if loaded_in_orig {
                        if !sec.add.iter().any(|(x, _)| x == m) {
                            sec.add.push((m.clone(), d.a.place.clone()));
                        }
                    } else if !sec.disable.iter().any(|(x, _)| x == m) {
                        sec.disable.push((m.clone(), d.b.place.clone()));
                    }
                    cx.reported.insert(subject_key(&d.host, &d.subject));
                    cx.report.residue.push(Item {
                        host: d.host.clone(),
                        what: format!("module mod_{m}"),
                        place: if loaded_in_orig {
                            d.a.place.clone()
                        } else {
                            d.b.place.clone()
                        },
                        note: format!("{what} in local.cfg.lua (no feature switch covers it)"),
                        ..Default::default()
                    });
                }
            }
        }

        // 4. The files.
        let shown = |p: &Option<Place>| {
            p.as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "Prosody".into())
        };
        let mut local = String::new();
        local += &emit::comment(
            "local.cfg.lua written by `pfe migrate`: what no feature of the catalog covers.",
        );
        local += "\n";
        local +=
            &emit::comment("Each item names the file:line of the original config it comes from.");
        local += "\n";
        let order: Vec<String> = std::iter::once("*".to_string())
            .chain(sections.keys().filter(|h| *h != "*").cloned())
            .collect();
        for host in order {
            let Some(sec) = sections.get(&host) else {
                continue;
            };
            local += "\n";
            if host != "*" {
                let Some(h) = &sec.header else { continue };
                local += h;
                local += "\n";
            }
            for l in &sec.lines {
                local += l;
                local += "\n";
            }
            let list = |items: &[(String, Option<Place>)]| {
                items
                    .iter()
                    .map(|(m, p)| {
                        format!(
                            "    {}; {}\n",
                            emit::lua_string(m),
                            emit::comment(&shown(p))
                        )
                    })
                    .collect::<String>()
            };
            if host == "*" {
                if !sec.add.is_empty() {
                    local += "modules_enabled = modules_enabled or {}\nmodules_enabled:append {\n";
                    local += &list(&sec.add);
                    local += "}\n";
                }
                if !sec.disable.is_empty() {
                    local +=
                        "modules_disabled = modules_disabled or {}\nmodules_disabled:append {\n";
                    local += &list(&sec.disable);
                    local += "}\n";
                }
            } else {
                if !sec.add.is_empty() {
                    local += "modules_enabled = {\n";
                    for m in &sec.base_list {
                        local += &format!("    {};\n", emit::lua_string(m));
                    }
                    local += &list(&sec.add);
                    local += "}\n";
                }
                if !sec.disable.is_empty() {
                    local += "modules_disabled = {\n";
                    local += &list(&sec.disable);
                    local += "}\n";
                }
            }
        }
        let mut files = vec![(PathBuf::from("local.cfg.lua"), local)];
        if switched {
            let mut entries: Vec<(Key, Value)> = vec![
                (Key::Str("name".into()), Value::Str("Migrated".into())),
                (
                    Key::Str("description".into()),
                    Value::Str(format!(
                        "Migrated from an existing config, based on {base_profile}"
                    )),
                ),
                (Key::Str("extends".into()), Value::Str(base_profile.clone())),
                (
                    Key::Str("features".into()),
                    Value::List(features.iter().map(|f| Value::Str(f.clone())).collect()),
                ),
            ];
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut text = emit::comment(&format!(
                "Profile written by `pfe migrate`: {base_profile} with the feature switches that reproduce the original's modules."
            ));
            text += "\n";
            for w in &kept_with {
                text += &emit::comment(&format!("+ {w}"));
                text += "\n";
            }
            for w in &kept_without {
                text += &emit::comment(&format!("- {w}"));
                text += "\n";
            }
            text += &format!("\nprofile_info = {}\n", Value::Map(entries).to_lua(0));
            files.push((
                PathBuf::from(format!("profiles/{PROFILE_NAME}/profile.cfg.lua")),
                text,
            ));
        }
        let vars = vec![
            ("PROSODY_PROFILE".to_string(), profile.clone()),
            ("PROSODY_ENVIRONMENT".to_string(), environment.clone()),
            ("PROSODY_DOMAIN".to_string(), domain.clone()),
        ];
        let mut dotenv =
            String::from("# Written by `pfe migrate`: the selection of the migrated tree.\n");
        for (k, v) in &vars {
            dotenv += &format!("{k}={v}\n");
        }
        files.push((PathBuf::from(".env"), dotenv));

        let mut report = cx.report.clone();
        report.profile = profile.clone();
        report.environment = environment.clone();
        report.base_profile = base_profile.clone();
        report.domain = domain.clone();
        report.with = kept_with.clone();
        report.without = kept_without.clone();
        report.recognised = recognised.clone();
        report.env = vars;
        report.files = files.iter().map(|(p, _)| p.display().to_string()).collect();
        report.files.sort();
        report.explained = cx.reported.clone();
        let remaining = prove(&files, &report)?;
        let unexplained = unexplained_of(&remaining, &report.explained);
        round += 1;
        if unexplained.is_empty() || round >= MAX_ROUNDS {
            report.unexplained = unexplained;
            report.remaining = remaining;
            return Ok((files, report));
        }
        diffs = unexplained;
    }
}

/// The differences no item of the report explains.
fn unexplained_of(
    remaining: &[Difference],
    explained: &BTreeSet<(String, String)>,
) -> Vec<Difference> {
    let hosts: BTreeSet<&String> = explained
        .iter()
        .filter(|(_, w)| w == "host")
        .map(|(h, _)| h)
        .collect();
    remaining
        .iter()
        .filter(|d| {
            !hosts.contains(&d.host) && !explained.contains(&subject_key(&d.host, &d.subject))
        })
        .cloned()
        .collect()
}

/// Builds the tree at `dir` as `report` selects it and compares it with
/// the original: what `pfe diff ORIGINAL <tree>` shows.
pub fn prove(
    orig: &Effective,
    dir: &Path,
    report: &Report,
    env: &HashMap<String, String>,
) -> Result<Vec<Difference>, MigrateError> {
    let index = Index::builtin();
    let catalog = Catalog::load(Some(dir)).map_err(|e| MigrateError::Verify(e.to_string()))?;
    let b = build(
        &catalog,
        &report.profile,
        &report.environment,
        &report.domain,
        &[],
        &[],
        &neutral_env(env),
    )
    .map_err(|e| MigrateError::Verify(e.to_string()))?;
    let eff = diff::effective_of_build(&b, index).map_err(|f| MigrateError::Verify(f.message))?;
    Ok(diff::diff(orig, &eff, index))
}

/// `pfe migrate FILE -o DIR`: evaluates FILE, plans, writes the tree to a
/// directory beside DIR, proves it, then puts it in DIR's place (replacing
/// DIR only with `force`). Nothing is left half-written.
pub fn migrate(
    file: &Path,
    dir: &Path,
    env: &HashMap<String, String>,
    opts: &Options,
) -> Result<Report, MigrateError> {
    let exists_nonempty = dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
    if exists_nonempty && !opts.force {
        return Err(MigrateError::Exists {
            dir: dir.display().to_string(),
        });
    }
    let ev = crate::lint::evaluate_file(file, env.clone()).map_err(|f| {
        let at = match (&f.file, f.line) {
            (Some(p), Some(l)) if l > 0 => format!("{p}:{l}: "),
            (Some(p), _) => format!("{p}: "),
            _ => String::new(),
        };
        MigrateError::Load(format!("{at}{}", f.message))
    })?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "migrated".into());
    std::fs::create_dir_all(parent).map_err(|e| MigrateError::Write {
        path: parent.display().to_string(),
        reason: e.to_string(),
    })?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.pfe-migrate-"))
        .tempdir_in(parent)
        .map_err(|e| MigrateError::Write {
            path: parent.display().to_string(),
            reason: e.to_string(),
        })?;
    let orig = Effective::from_evaluated(&ev, Index::builtin(), None);
    let root = staging.path().to_path_buf();
    let mut write_and_prove = |files: &Files, report: &Report| {
        for (rel, text) in files {
            let path = root.join(rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| MigrateError::Write {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            crate::fsutil::write_atomic(&path, text.as_bytes(), None, true).map_err(|e| {
                MigrateError::Write {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            })?;
        }
        prove(&orig, &root, report, env)
    };
    let (_files, mut report) = plan(&ev, env, opts, &mut write_and_prove)?;
    // Places in the staging directory are places in DIR once it is moved.
    let staged_name = root.display().to_string();
    let final_name = dir.display().to_string();
    for d in report
        .remaining
        .iter_mut()
        .chain(report.unexplained.iter_mut())
    {
        for p in [&mut d.a.place, &mut d.b.place].into_iter().flatten() {
            if let Some(rest) = p.file.strip_prefix(&staged_name) {
                p.file = format!("{final_name}{rest}");
            }
        }
    }
    let write_err = |e: std::io::Error| MigrateError::Write {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let staged = staging.keep();
    if dir.exists() {
        let old = parent.join(format!(".{name}.pfe-old-{}", std::process::id()));
        std::fs::rename(dir, &old).map_err(write_err)?;
        if let Err(e) = std::fs::rename(&staged, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(write_err(e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&staged, dir).map_err(write_err)?;
    }
    Ok(report)
}
