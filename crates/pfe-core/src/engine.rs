//! The pipeline every command shares: read the catalog's metadata, resolve
//! features, evaluate the layers in order, render.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use miette::Diagnostic;

use crate::catalog::{
    Catalog, CatalogError, EnvironmentInfo, FeatureInfo, ProfileInfo, Variable, implicit_toggle,
};
use crate::render::{self, Header, RenderError};
use crate::request::{self, Origin, Origins, RequestError};
use crate::resolve::{self, Resolution, ResolveError};
use crate::sandbox::{Context, Evaluated, Sandbox, SandboxError, Source};
use crate::value::is_identifier;

/// Used when neither `--domain`, PROSODY_DOMAINS nor PROSODY_DOMAIN says otherwise.
pub const DEFAULT_DOMAIN: &str = "localhost";
pub const DEFAULT_PROFILE: &str = "standard";
pub const DEFAULT_ENVIRONMENT: &str = "production";

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lua(#[from] SandboxError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Request(#[from] RequestError),
    #[error("{origin}: unknown {kind} '{name}'{}", .suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    #[diagnostic(
        code(pfe::catalog::unknown),
        help("`pfe {list}` shows the {kind}s the catalog has; unset {origin} for the default")
    )]
    UnknownChoice {
        origin: String,
        kind: &'static str,
        name: String,
        suggestion: Option<String>,
        list: &'static str,
    },
    #[error("{arg}: {reason}")]
    #[diagnostic(
        code(pfe::set),
        help(
            "write --set [HOST:]OPTION=LUA_VALUE, e.g. --set 'c2s_ports={{15222}}' or --set 'conference:enabled=false'; strings need quotes: --set 'pidfile=\"/tmp/p.pid\"'"
        )
    )]
    BadSet {
        /// The input as the user wrote it, e.g. `--set 'x'` or `PFE_SET_3=x`.
        arg: String,
        reason: String,
    },
    #[error("{input}: no VirtualHost or Component is named '{host}'")]
    #[diagnostic(
        code(pfe::set::host),
        help(
            "HOST is a served domain, a host the catalog defines (conference.example.org), a sub-domain without the domain (conference: that component of every served domain), or * for the global section"
        )
    )]
    UnknownSetHost { input: String, host: String },
    #[error("{origin}: the served domain '{domain}' is defined as a Component at {defined_at}")]
    #[diagnostic(
        code(pfe::domain::component),
        help(
            "a served domain is a VirtualHost; remove it from the domains or rename the component"
        )
    )]
    DomainIsComponent {
        origin: Origin,
        domain: String,
        defined_at: String,
    },
}

/// Everything that decides a generated config.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub profile: String,
    pub environment: String,
    /// `--domain` (the primary domain); falls back to PROSODY_DOMAINS, then
    /// PROSODY_DOMAIN, then the catalog default.
    pub domain: Option<String>,
    /// The other served domains, in order, after `domain` (a repeated
    /// `--domain`, the rest of PROSODY_DOMAINS); only read with `domain`.
    pub more_domains: Vec<String>,
    pub with: Vec<String>,
    pub without: Vec<String>,
    /// Raw `--set` arguments.
    pub sets: Vec<String>,
    /// Process environment merged with `--env-file` (process wins).
    pub env: HashMap<String, String>,
    pub allow_unstable: bool,
    /// Read every feature's metadata, not only what this build can need
    /// (`pfe env`, `explain` and `validate` want them all).
    pub all_features: bool,
    /// How to regenerate, for the file header.
    pub command: String,
    /// Where each input came from, for error messages.
    pub origins: Origins,
}

impl Request {
    /// The feature and option flags of this request as a command line shows
    /// them: ` --with F --without G --set 'K=V'` (for "regenerate with" notes).
    pub fn selection_flags(&self) -> String {
        let mut out = String::new();
        for w in &self.with {
            out += &format!(" --with {w}");
        }
        for w in &self.without {
            out += &format!(" --without {w}");
        }
        for s in &self.sets {
            out += &format!(" --set '{s}'");
        }
        out
    }

    pub fn new(profile: &str, environment: &str) -> Request {
        Request {
            profile: profile.into(),
            environment: environment.into(),
            ..Request::default()
        }
    }
}

/// The outcome of the pipeline.
#[derive(Debug, Clone)]
pub struct Build {
    pub profile: ProfileInfo,
    pub environment: EnvironmentInfo,
    pub features: BTreeMap<String, FeatureInfo>,
    pub variables: Vec<Variable>,
    pub resolution: Resolution,
    pub evaluated: Evaluated,
    /// The primary domain: `domains[0]`.
    pub domain: String,
    /// Every served domain, the primary first; each is a VirtualHost.
    pub domains: Vec<String>,
    /// The environment the files saw through os.getenv.
    pub env: HashMap<String, String>,
    pub config: String,
}

impl Build {
    /// `domain a.org`, or `domains a.org, b.org` when it serves several.
    pub fn domains_text(&self) -> String {
        match self.domains.as_slice() {
            [] | [_] => format!("domain {}", self.domain),
            all => format!("domains {}", all.join(", ")),
        }
    }

    /// The ports of a global `*_ports` option as rendered (a list, or one
    /// number; numeric strings count, as in Prosody's portmanager), in order
    /// and without repeats; empty when the option is unset or `{}`.
    pub fn ports(&self, option: &str) -> Vec<u16> {
        use crate::value::Value;
        let one = |v: &Value| match v {
            Value::Int(i) => u16::try_from(*i).ok().filter(|p| *p > 0),
            Value::Str(s) => s.trim().parse().ok().filter(|p| *p > 0),
            _ => None,
        };
        let mut out: Vec<u16> = Vec::new();
        match self
            .evaluated
            .global()
            .options
            .get(option)
            .map(|o| &o.value)
        {
            Some(Value::List(l)) => {
                for p in l.iter().filter_map(one) {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
            Some(v) => out.extend(one(v)),
            None => {}
        }
        out
    }
}

/// One parsed `--set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The sections it sets: `*` (global), or host names.
    pub scopes: Vec<String>,
    pub key: String,
    pub expr: String,
}

/// Parses `[HOST:]KEY=VALUE` for the served `domains` (the primary first).
/// A HOST with a dot, or a served domain, is that host; a HOST without a
/// dot is that sub-domain of every served domain (`conference` →
/// `conference.<d>` for each); `*` is the global section.
pub fn parse_set(arg: &str, domains: &[String]) -> Result<Setting, Error> {
    parse_set_from(arg, domains, &Origin::flag("--set"))
}

/// [`parse_set`] for an input from `origin` (`--set`, `PFE_SET_3`), which
/// errors name. A HOST must be a valid host name.
pub fn parse_set_from(arg: &str, domains: &[String], origin: &Origin) -> Result<Setting, Error> {
    let bad = |reason: &str| Error::BadSet {
        arg: origin.with_value(arg),
        reason: request::shown(reason),
    };
    let (lhs, expr) = arg.split_once('=').ok_or_else(|| bad("missing '='"))?;
    let (scopes, key) = match lhs.split_once(':') {
        Some((host, key)) => {
            let host = host.trim();
            let scopes = if host == "*" || host.is_empty() {
                vec!["*".to_string()]
            } else {
                let host = request::check_domain(host)
                    .map_err(|r| bad(&format!("'{host}' is not a host name: {r}")))?;
                if host.contains('.') || domains.contains(&host) {
                    vec![host]
                } else {
                    domains
                        .iter()
                        .map(|d| {
                            let full = format!("{host}.{d}");
                            request::check_domain(&full)
                                .map_err(|r| bad(&format!("'{full}' is not a host name: {r}")))
                        })
                        .collect::<Result<_, _>>()?
                }
            };
            (scopes, key.trim())
        }
        None => (vec!["*".to_string()], lhs.trim()),
    };
    if !is_identifier(key) {
        return Err(bad(&format!("'{key}' is not an option name")));
    }
    if expr.trim().is_empty() {
        return Err(bad("the value is empty"));
    }
    Ok(Setting {
        scopes,
        key: key.to_string(),
        expr: expr.to_string(),
    })
}

/// An unknown profile or environment that came from a variable (or an env
/// file) says so: the user may not know it is set.
fn name_choice_origin(e: CatalogError, origin: &Origin) -> Error {
    match (e, origin.variable()) {
        (
            CatalogError::Unknown {
                kind,
                name,
                suggestion,
                list,
            },
            Some(_),
        ) => Error::UnknownChoice {
            origin: origin.to_string(),
            kind,
            name: request::shown(&name),
            suggestion,
            list,
        },
        (
            CatalogError::Unknown {
                kind,
                name,
                suggestion,
                list,
            },
            None,
        ) => CatalogError::Unknown {
            kind,
            name: request::shown(&name),
            suggestion,
            list,
        }
        .into(),
        (e, _) => e.into(),
    }
}

/// Resolution names `--with`/`--without` for every feature the request
/// asked about; say where each really came from (`PFE_FEATURES`, a file).
fn name_feature_origin(e: ResolveError, origins: &Origins) -> Error {
    let fix = |name: &str, by: String| {
        if by == "--with" || by == "--without" {
            origins.feature(name, &by)
        } else {
            by
        }
    };
    match e {
        ResolveError::UnknownFeature {
            name,
            by,
            suggestion,
        } => ResolveError::UnknownFeature {
            by: fix(&name, by),
            name: request::shown(&name),
            suggestion,
        },
        ResolveError::DisabledDependency {
            feature,
            by,
            needs,
            disabled_by,
        } => ResolveError::DisabledDependency {
            by: fix(&feature, by),
            disabled_by: fix(&needs, disabled_by),
            feature,
            needs,
        },
        other => other,
    }
    .into()
}

/// Builds the environment the catalog sees: catalog defaults (except feature
/// toggles), then profile and environment variables, then the caller's
/// environment, then the choices pfe made.
fn effective_env(
    variables: &[Variable],
    profile: &ProfileInfo,
    environment: &EnvironmentInfo,
    given: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = HashMap::new();
    for v in variables {
        if let Some(d) = &v.default
            && !v.name.starts_with("PROSODY_FEATURES_")
        {
            env.insert(v.name.clone(), d.clone());
        }
    }
    for (k, v) in profile.variables.iter().chain(environment.variables.iter()) {
        env.insert(k.clone(), v.clone());
    }
    for (k, v) in given {
        env.insert(k.clone(), v.clone());
    }
    env
}

/// A profile or environment and the ones it `extends`, base first.
fn extends_chain(
    kind: &str,
    id: &str,
    path: &str,
    first_parent: Option<String>,
    parent_of: impl Fn(&str) -> Result<Option<String>, Error>,
) -> Result<Vec<String>, Error> {
    let mut chain = vec![id.to_string()];
    let mut current = first_parent;
    while let Some(parent) = current {
        if chain.contains(&parent) {
            chain.push(parent);
            return Err(CatalogError::Metadata {
                path: path.to_string(),
                line: 1,
                message: format!(
                    "{kind}s extend each other in a circle: {}",
                    chain.join(" → ")
                ),
                help: Some("remove `extends` from one of them".into()),
            }
            .into());
        }
        current = parent_of(&parent)?;
        chain.push(parent);
    }
    chain.reverse();
    Ok(chain)
}

/// The metadata resolution needs, and every feature name. Evaluating a
/// feature file is the costliest step of a build, so unless the request asks
/// for all, only the features that can be enabled are read: the profile's,
/// `--with`, those switched on by their implicit variable, and their
/// dependencies. A PROSODY_FEATURES_* variable that is not an implicit
/// toggle may be any feature's `toggles` entry, so then all are read.
fn feature_metadata(
    catalog: &Catalog,
    sb: &Sandbox,
    profile: &ProfileInfo,
    req: &Request,
    env: &HashMap<String, String>,
) -> Result<(BTreeMap<String, FeatureInfo>, BTreeSet<String>), Error> {
    let names: BTreeSet<String> = catalog.features().into_iter().collect();
    let implicit: BTreeMap<String, &String> =
        names.iter().map(|n| (implicit_toggle(n), n)).collect();
    let other_toggle_set = env.iter().any(|(k, v)| {
        k.starts_with("PROSODY_FEATURES_") && !v.trim().is_empty() && !implicit.contains_key(k)
    });
    if req.all_features || other_toggle_set {
        return Ok((catalog.feature_infos(sb)?, names));
    }
    let mut pending: Vec<String> = profile.features.iter().chain(&req.with).cloned().collect();
    for (var, name) in &implicit {
        if env.get(var).and_then(|v| resolve::parse_bool(v)) == Some(true) {
            pending.push((*name).clone());
        }
    }
    let mut features = BTreeMap::new();
    while let Some(f) = pending.pop() {
        if features.contains_key(&f) || !names.contains(&f) {
            continue; // done, or unknown: resolution reports it
        }
        let info = catalog.feature_info(sb, &f)?;
        pending.extend(info.dependencies.iter().cloned());
        features.insert(f, info);
    }
    Ok((features, names))
}

/// The served domains of `req`, the primary first, validated: the flags
/// (`req.domain` and `req.more_domains`), else the variables the caller
/// set (PROSODY_DOMAINS, else PROSODY_DOMAIN: [`request::domains_from_variables`]),
/// else those the catalog sets in `env` (its PROSODY_DOMAINS wins over its
/// PROSODY_DOMAIN), else [`DEFAULT_DOMAIN`].
fn served_domains(req: &Request, env: &HashMap<String, String>) -> Result<Vec<String>, Error> {
    if let Some(d) = &req.domain {
        let origin = match &req.origins.domain {
            Origin::Default => Origin::flag("--domain"),
            o => o.clone(),
        };
        let all: Vec<String> = std::iter::once(d.clone())
            .chain(req.more_domains.iter().cloned())
            .collect();
        return Ok(request::domain_list(&origin, &all)?);
    }
    if let Some((d, _)) = request::domains_from_variables(
        |n| req.env.get(n).map(String::as_str),
        |n| Origin::Var(n.to_string()),
    )? {
        return Ok(d);
    }
    let list_set = env
        .get("PROSODY_DOMAINS")
        .is_some_and(|v| !v.trim().is_empty());
    let from_catalog = request::domains_from_variables(
        |n| {
            if n == "PROSODY_DOMAIN" && list_set {
                None
            } else {
                env.get(n).map(String::as_str)
            }
        },
        |n| Origin::Flag(format!("{n} (set by the catalog)")),
    )?;
    Ok(from_catalog.map_or_else(|| vec![DEFAULT_DOMAIN.to_string()], |(d, _)| d))
}

pub fn build(catalog: &Catalog, req: &Request) -> Result<Build, Error> {
    let first = req
        .domain
        .clone()
        .or_else(|| req.env.get("PROSODY_DOMAIN").cloned())
        .unwrap_or_else(|| DEFAULT_DOMAIN.into());
    let base_ctx = Context {
        domains: vec![first.clone()],
        domain: first,
        profile: req.profile.clone(),
        environment: req.environment.clone(),
    };
    // One sandbox for everything, so each file is compiled once; what
    // os.getenv and pfe.* answer is updated once the profile is known.
    let sb = Sandbox::new(req.env.clone(), &base_ctx)?;
    let profile = catalog
        .profile_info(&sb, &req.profile)
        .map_err(|e| name_choice_origin(e, &req.origins.profile))?;
    let mut environment = catalog
        .environment_info(&sb, &req.environment)
        .map_err(|e| name_choice_origin(e, &req.origins.environment))?;
    // An environment that `extends` another runs after it and inherits its
    // variables (its own win).
    let environments = extends_chain(
        "environment",
        &environment.id,
        &environment.path,
        environment.extends.clone(),
        |e| Ok(catalog.environment_info(&sb, e)?.extends),
    )?;
    let mut variables_chain = BTreeMap::new();
    for name in &environments {
        variables_chain.extend(catalog.environment_info(&sb, name)?.variables);
    }
    environment.variables = variables_chain;
    let variables = catalog.variables(&sb)?;

    let mut env = effective_env(&variables, &profile, &environment, &req.env);
    let domains = served_domains(req, &env)?;
    let domain = domains[0].clone();
    env.insert("PROSODY_DOMAIN".into(), domain.clone());
    // The catalog sees the list only when there is one: a single domain is
    // PROSODY_DOMAIN alone, as it always was.
    if domains.len() > 1 {
        env.insert("PROSODY_DOMAINS".into(), domains.join(","));
    } else {
        env.remove("PROSODY_DOMAINS");
    }
    env.insert("PROSODY_PROFILE".into(), req.profile.clone());
    env.insert("PROSODY_ENVIRONMENT".into(), req.environment.clone());
    let settings = req
        .sets
        .iter()
        .enumerate()
        .map(|(i, s)| parse_set_from(s, &domains, &req.origins.set(i)))
        .collect::<Result<Vec<_>, _>>()?;

    let ctx = Context {
        domain: domain.clone(),
        domains: domains.clone(),
        ..base_ctx
    };
    sb.set_env(env.clone());
    sb.set_context(&ctx)?;
    let (features, known) = feature_metadata(catalog, &sb, &profile, req, &env)?;
    let resolution = resolve::resolve(
        &profile,
        &environment,
        &features,
        &resolve::Request {
            with: req.with.clone(),
            without: req.without.clone(),
            env: env.clone(),
            allow_unstable: req.allow_unstable,
            known: Some(known),
        },
    )
    .map_err(|e| name_feature_origin(e, &req.origins))?;
    sb.set_features(&resolution.order);

    sb.set_layer("core");
    for src in catalog.core_files() {
        sb.eval_layer(src)?;
    }
    for f in &resolution.order {
        sb.set_layer(&format!("feature {f}"));
        sb.eval_layer(catalog.feature_file(f)?)?;
    }
    sb.set_layer("profile");
    let profiles = extends_chain(
        "profile",
        &profile.id,
        &profile.path,
        profile.extends.clone(),
        |p| Ok(catalog.profile_info(&sb, p)?.extends),
    )?;
    for name in profiles {
        sb.eval_layer(catalog.profile_file(&name)?)?;
    }
    sb.set_layer("environment");
    for name in &environments {
        sb.eval_layer(catalog.environment_file(name)?)?;
    }
    if let Some(local) = catalog.local_file() {
        sb.set_layer("local");
        sb.eval_layer(local)?;
    }
    sb.set_layer("--set");
    for (i, (s, raw)) in settings.iter().zip(&req.sets).enumerate() {
        // Provenance comments say `--set` whatever the input (so a container
        // given PFE_SET_* renders the same file); errors name the input.
        let origin = Source {
            id: format!("--set#{}", i + 1),
            path: format!("--set {}", request::shown(raw)),
            text: raw.clone(),
        };
        // A host option goes to a host the layers defined, or to a served
        // domain (written by the renderer); any other is refused, never
        // dropped in silence.
        for scope in &s.scopes {
            if scope != "*" && sb.host_kind(scope).is_none() {
                if domains.contains(scope) {
                    sb.define_virtualhost(scope, &origin)?;
                } else {
                    return Err(Error::UnknownSetHost {
                        input: req.origins.set(i).with_value(raw),
                        host: request::shown(scope),
                    });
                }
            }
            sb.assign(scope, &s.key, &s.expr, &origin)
                .map_err(|mut e| {
                    let named = req.origins.set(i).with_value(raw);
                    if e.path == origin.path && named != e.path {
                        e.src = e
                            .src
                            .map(|_| miette::NamedSource::new(named.clone(), raw.clone()));
                        e.path = named;
                    }
                    e
                })?;
        }
    }
    let evaluated = sb.finish()?;
    for d in &domains {
        if let Some(section) = evaluated.section(d)
            && matches!(section.kind, crate::sandbox::SectionKind::Component { .. })
        {
            return Err(Error::DomainIsComponent {
                origin: match &req.origins.domain {
                    Origin::Default => Origin::flag("--domain"),
                    o => o.clone(),
                },
                domain: request::shown(d),
                defined_at: section
                    .defined_at
                    .as_ref()
                    .map_or_else(|| "<pfe>".into(), |o| evaluated.display_origin(o)),
            });
        }
    }
    // Every served domain is a VirtualHost of the build, whether or not a
    // layer wrote to it, so that every consumer (certificates, DNS, checks)
    // sees the same hosts the rendered file has.
    let mut evaluated = evaluated;
    let mut at = 1;
    for d in &domains {
        if evaluated.section(d).is_none() {
            evaluated.sections.insert(
                at,
                crate::sandbox::Section {
                    name: d.clone(),
                    kind: crate::sandbox::SectionKind::VirtualHost,
                    defined_at: None,
                    options: Default::default(),
                },
            );
            at += 1;
        }
    }
    let header = Header {
        profile: req.profile.clone(),
        environment: req.environment.clone(),
        domain: domain.clone(),
        more_domains: domains[1..].to_vec(),
        features: resolution.order.clone(),
        command: req.command.clone(),
    };
    let config = render::render(&evaluated, &header)?;
    Ok(Build {
        profile,
        environment,
        features,
        variables,
        resolution,
        evaluated,
        domain,
        domains,
        env,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn set_arguments_parse_scopes() {
        let one = domains(&["example.org"]);
        assert_eq!(
            parse_set("c2s_ports={15222}", &one).unwrap(),
            Setting {
                scopes: vec!["*".into()],
                key: "c2s_ports".into(),
                expr: "{15222}".into()
            }
        );
        assert_eq!(
            parse_set("conference:enabled=false", &one).unwrap().scopes,
            vec!["conference.example.org"]
        );
        assert_eq!(
            parse_set("example.org:x=1", &one).unwrap().scopes,
            vec!["example.org"]
        );
        assert!(parse_set("no equals", &one).is_err());
        assert!(parse_set("bad key=1", &one).is_err());
        assert!(parse_set("k=", &one).is_err());
    }

    #[test]
    fn set_scopes_with_several_domains() {
        let two = domains(&["a.org", "localhost"]);
        // A sub-domain without the domain: that host of every served domain.
        assert_eq!(
            parse_set("conference:x=1", &two).unwrap().scopes,
            vec!["conference.a.org", "conference.localhost"]
        );
        // A served domain, even without a dot, is itself.
        assert_eq!(
            parse_set("localhost:x=1", &two).unwrap().scopes,
            vec!["localhost"]
        );
        // A full host name is that host only (nameprepped).
        assert_eq!(
            parse_set("Conference.LocalHost:x=1", &two).unwrap().scopes,
            vec!["conference.localhost"]
        );
        assert_eq!(parse_set("*:x=1", &two).unwrap().scopes, vec!["*"]);
    }
}
