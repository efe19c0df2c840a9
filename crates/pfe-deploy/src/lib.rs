//! Deployment artifacts around the rendered config: the container
//! entrypoint (`pfe entrypoint`), Docker Compose files (`pfe compose`) and
//! Kubernetes manifests (`pfe k8s`).
//!
//! All three read the same inputs as `pfe generate` and `pfe env` — the
//! catalog's variable list (`config/variables.cfg.lua`) — and express
//! pfe's command-line choices as environment variables the entrypoint
//! understands:
//!
//! | variable | same as |
//! |---|---|
//! | `PFE_FEATURES=web/admin,-mobile/push` | `--with web/admin --without mobile/push` |
//! | `PFE_SET`, `PFE_SET_<N>` = `[HOST:]KEY=VALUE` | `--set` (applied in name order, numbers compared as numbers) |
//! | `PFE_ALLOW_UNSTABLE=true` | `--allow-unstable` |
//! | `PFE_CONFIG_OUTPUT=FILE` | `pfe entrypoint --config-output FILE` |
//! | `PFE_USE_CONFIG=FILE` | `pfe entrypoint --use-config FILE` |

// Errors carry source snippets for miette; they are built once, on the cold
// path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod checks;
pub mod compose;
pub mod k8s;
pub mod nginx;
pub mod resources;
pub mod secrets;
pub mod yaml;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use miette::Diagnostic;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_core::fsutil::{self, WriteError};
use pfe_core::sandbox::{Context, Sandbox};
use pfe_core::validate;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing wrong with the inputs, named after what to fix (usually a
/// variable).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub level: Level,
    /// What to fix: a variable (`PROSODY_DOMAIN`), a file, a profile.
    pub subject: String,
    pub message: String,
    pub help: String,
}

impl Problem {
    pub fn error(subject: impl Into<String>, message: impl Into<String>, help: String) -> Problem {
        Problem {
            level: Level::Error,
            subject: subject.into(),
            message: message.into(),
            help,
        }
    }

    pub fn warning(
        subject: impl Into<String>,
        message: impl Into<String>,
        help: String,
    ) -> Problem {
        Problem {
            level: Level::Warning,
            ..Problem::error(subject, message, help)
        }
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// `warning: SUBJECT: MESSAGE (hint: HELP)`, one line each.
pub fn render_problems(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        let level = match p.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        out += &format!("{level}: {p}");
        if !p.help.is_empty() {
            out += &format!("\n  hint: {}", p.help);
        }
        out.push('\n');
    }
    out
}

fn input_summary(problems: &[Problem]) -> String {
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
    let mut out = format!(
        "{} problem{} in the input; nothing was written or started",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for p in errors {
        out += &format!("\n  {p}");
        if !p.help.is_empty() {
            out += &format!("\n    hint: {}", p.help);
        }
    }
    out
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum DeployError {
    #[error("{}", input_summary(.problems))]
    #[diagnostic(code(pfe::deploy::input))]
    Input { problems: Vec<Problem> },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Build(#[from] engine::Error),
    #[error("the rendered config has errors; nothing was written or started\n{report}")]
    #[diagnostic(
        code(pfe::deploy::invalid),
        help("`pfe validate PROFILE ENVIRONMENT` shows them with context")
    )]
    Invalid { report: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] WriteError),
    #[error("cannot {what} {}: {reason}", path.display())]
    #[diagnostic(code(pfe::deploy::io))]
    Io {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("prosodyctl {action} failed ({status}): {output}")]
    #[diagnostic(
        code(pfe::deploy::prosodyctl),
        help("the admin account comes from PROSODY_ADMINS (first entry) and its password secret")
    )]
    Prosodyctl {
        action: String,
        status: String,
        output: String,
    },
    #[error("cannot run {program}: {reason}")]
    #[diagnostic(
        code(pfe::deploy::exec),
        help(
            "install Prosody 13 (scripts/install-deps.sh, or use the image from docker/Dockerfile)"
        )
    )]
    Exec { program: String, reason: String },
    #[error("internal error: {0}")]
    #[diagnostic(code(pfe::deploy::internal))]
    Internal(String),
}

impl DeployError {
    pub fn input(problems: Vec<Problem>) -> DeployError {
        DeployError::Input { problems }
    }
}

/// A variable's value when it is set to something other than blanks.
pub fn env_value<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

pub use pfe_core::request::{env_sets, parse_features};

/// Moves the request's domains (flags) into the container's variables:
/// PROSODY_DOMAIN the primary one and, with several, PROSODY_DOMAINS the
/// whole list (a single domain leaves PROSODY_DOMAINS unset), so that the
/// entrypoint resolves the same domains. Without flags the variables stay.
pub fn domains_into_env(req: &mut Request) {
    let Some(d) = req.domain.take() else {
        return;
    };
    let more = std::mem::take(&mut req.more_domains);
    if more.is_empty() {
        req.env.remove("PROSODY_DOMAINS");
    } else {
        let all: Vec<&str> = std::iter::once(d.as_str())
            .chain(more.iter().map(String::as_str))
            .collect();
        req.env.insert("PROSODY_DOMAINS".into(), all.join(","));
    }
    req.env.insert("PROSODY_DOMAIN".into(), d);
}

/// A request error as a [`Problem`] naming the input to fix.
pub fn request_problem(e: &pfe_core::request::RequestError) -> Problem {
    use pfe_core::request::RequestError as E;
    let subject = match e {
        E::Domain { origin, .. }
        | E::TooLarge { origin, .. }
        | E::NotBoolean { origin, .. }
        | E::BadFeature { origin, .. }
        | E::DuplicateDomain { origin, .. }
        | E::EmptyDomain { origin, .. } => origin.to_string(),
        E::DomainsDisagree { domains, .. } => domains.clone(),
        E::NotUnicode { name } => name.clone(),
    };
    let text = e.to_string();
    let message = text
        .strip_prefix(&format!("{subject}: "))
        .or_else(|| text.strip_prefix(&format!("{subject} ")))
        .unwrap_or(&text)
        .to_string();
    let help = Diagnostic::help(e)
        .map(|h| h.to_string())
        .unwrap_or_default();
    Problem::error(subject, message, help)
}

/// The request the entrypoint builds from a container environment, through
/// the one request resolver ([`pfe_core::request::resolve`]): PROSODY_PROFILE /
/// PROSODY_ENVIRONMENT (or the defaults), PROSODY_DOMAIN, PFE_FEATURES,
/// PFE_SET*, `extra_sets` (the entrypoint's --set), PFE_ALLOW_UNSTABLE.
pub fn request_from_env(
    env: &HashMap<String, String>,
    extra_sets: &[String],
    command: &str,
) -> Result<Request, Vec<Problem>> {
    use pfe_core::request::{self, Environment, Selection};
    let env = Environment::from_map(env).map_err(|e| vec![request_problem(&e)])?;
    let sel = Selection {
        sets: extra_sets.to_vec(),
        ..Selection::default()
    };
    let mut req = request::resolve(&sel, &env, command).map_err(|e| vec![request_problem(&e)])?;
    req.command = command.to_string();
    Ok(req)
}

/// Builds and validates: engine errors and validation errors stop here,
/// before anything is written. Returns the build and the warnings text.
pub fn build_checked(catalog: &Catalog, req: &Request) -> Result<(Build, String), DeployError> {
    let build = engine::build(catalog, req)?;
    let findings = validate::check_build(&build);
    let report = validate::render(&findings, false, "");
    if validate::failed(&findings, false) {
        return Err(DeployError::Invalid { report });
    }
    let mut warnings = report;
    for w in &build.resolution.warnings {
        warnings += &format!("warning: {w}\n");
    }
    Ok((build, warnings))
}

/// Variables that describe the container (image tag, resource limits), not
/// Prosody: generators use them, they are not passed into the container.
pub const DEPLOYMENT_ONLY: &[&str] = &[
    "PROSODY_VERSION",
    "PROSODY_MEMORY_LIMIT",
    "PROSODY_CPU_LIMIT",
    "PROSODY_MEMORY_RESERVE",
    "PROSODY_CPU_RESERVE",
];

/// Checks the names of PROSODY_* inputs against what the catalog knows;
/// unknown ones are warnings (typos), with a suggestion.
pub fn unknown_variables(build_vars: &[String], env: &HashMap<String, String>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with("PROSODY_")).collect();
    names.sort();
    for n in names {
        if build_vars.iter().any(|k| k == n) {
            continue;
        }
        let hint = pfe_core::suggest::did_you_mean(n, build_vars.iter().map(String::as_str))
            .map(|s| format!("did you mean {s}? "))
            .unwrap_or_default();
        out.push(Problem::warning(
            n.clone(),
            "is not a variable pfe knows; it has no effect",
            format!("{hint}`pfe docs` lists every variable"),
        ));
    }
    out
}

/// PROSODY_FEATURES_* variables no feature of the catalog or the build
/// reads (typos), as warnings with a suggestion.
pub fn unknown_toggles(
    catalog: &Catalog,
    build: &Build,
    env: &HashMap<String, String>,
) -> Vec<Problem> {
    let mut known: Vec<String> = catalog
        .features()
        .iter()
        .map(|f| pfe_core::catalog::implicit_toggle(f))
        .collect();
    for f in build.features.values() {
        known.extend(f.all_toggles());
    }
    let toggles: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("PROSODY_FEATURES_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    unknown_variables(&known, &toggles)
}

/// Secrets given as plain variables to a generator: never written out.
pub fn ignored_secrets(build: &Build) -> Vec<Problem> {
    build
        .variables
        .iter()
        .filter(|v| v.secret && env_value(&build.env, &v.name).is_some())
        .map(|v| {
            let c = secrets::credential_name(&v.name);
            Problem::warning(
                v.name.clone(),
                "is set but not written: generated files never contain secrets",
                format!("put the value in the secret {c} (compose: ./secrets/{c}; Kubernetes: a key of the Secret)"),
            )
        })
        .collect()
}

/// One environment variable of a generated container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    /// A catalog variable an operator may override at deploy time (compose
    /// writes `${NAME:-value}`).
    pub overridable: bool,
    /// The catalog group it belongs to (for comments).
    pub group: String,
}

/// The environment of the Prosody container, split into what holds for the
/// profile whatever the environment (base) and what the environment decides
/// (overlay: PROSODY_ENVIRONMENT and every variable some environment sets).
#[derive(Debug, Clone, Default)]
pub struct ContainerEnv {
    pub base: Vec<EnvVar>,
    pub overlay: Vec<EnvVar>,
}

impl ContainerEnv {
    /// Base and overlay merged as compose merges them (overlay wins).
    pub fn merged(&self) -> HashMap<String, String> {
        self.base
            .iter()
            .chain(&self.overlay)
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }
}

/// The variables every catalog environment may set (`environment_info.variables`).
pub fn environment_set_variables(
    catalog: &Catalog,
    req: &Request,
) -> Result<BTreeSet<String>, DeployError> {
    let sb = Sandbox::new(
        req.env.clone(),
        &Context {
            domain: engine::DEFAULT_DOMAIN.into(),
            domains: Vec::new(),
            profile: req.profile.clone(),
            environment: req.environment.clone(),
        },
    )
    .map_err(engine::Error::from)?;
    let mut keys = BTreeSet::new();
    for e in catalog.environments() {
        let info = catalog
            .environment_info(&sb, &e)
            .map_err(engine::Error::from)?;
        keys.extend(info.variables.keys().cloned());
    }
    Ok(keys)
}

/// The container environment for `build`: every non-secret catalog variable
/// with a value (catalog default, profile, environment, or given), in the
/// catalog's order, plus pfe's own PFE_* equivalents of `req`'s flags and
/// `extra` (fixed values such as CREDENTIALS_DIRECTORY).
pub fn container_env(
    catalog: &Catalog,
    build: &Build,
    req: &Request,
    extra: &[(&str, String)],
) -> Result<ContainerEnv, DeployError> {
    let env_keys = environment_set_variables(catalog, req)?;
    let mut out = ContainerEnv::default();
    for var in &build.variables {
        if var.secret || DEPLOYMENT_ONLY.contains(&var.name.as_str()) {
            continue;
        }
        let Some(value) = build.env.get(&var.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let fixed = var.name == "PROSODY_PROFILE" || var.name == "PROSODY_ENVIRONMENT";
        let v = EnvVar {
            name: var.name.clone(),
            value: value.clone(),
            overridable: !fixed,
            group: var.group.clone(),
        };
        if var.name == "PROSODY_ENVIRONMENT" || env_keys.contains(&var.name) {
            out.overlay.push(v);
        } else {
            out.base.push(v);
        }
    }
    let mut pfe = |name: &str, value: String| {
        out.base.push(EnvVar {
            name: name.to_string(),
            value,
            overridable: false,
            group: "pfe".into(),
        })
    };
    let mut features: Vec<String> = req.with.clone();
    features.extend(req.without.iter().map(|f| format!("-{f}")));
    if !features.is_empty() {
        pfe("PFE_FEATURES", features.join(","));
    }
    for (i, s) in req.sets.iter().enumerate() {
        pfe(&format!("PFE_SET_{}", i + 1), s.clone());
    }
    if req.allow_unstable {
        pfe("PFE_ALLOW_UNSTABLE", "true".into());
    }
    for (k, v) in extra {
        pfe(k, v.clone());
    }
    Ok(out)
}

/// Proves that a container started with `env` renders exactly `build`'s
/// config (what the entrypoint will do), so a generated deployment can never
/// run something other than what pfe showed.
pub fn check_reproducible(
    catalog: &Catalog,
    build: &Build,
    command: &str,
    env: &HashMap<String, String>,
) -> Result<(), DeployError> {
    let req = request_from_env(env, &[], command).map_err(DeployError::input)?;
    let again = engine::build(catalog, &req)?;
    if again.config != build.config {
        let diff: Vec<String> = build
            .config
            .lines()
            .zip(again.config.lines())
            .filter(|(a, b)| a != b)
            .take(3)
            .map(|(a, b)| format!("  wanted: {a}\n  got:    {b}"))
            .collect();
        return Err(DeployError::Internal(format!(
            "the container environment does not reproduce the config; first differences:\n{}",
            diff.join("\n")
        )));
    }
    Ok(())
}

/// Writes `files` (name, text) into `dir` (created if missing). Without
/// `force`, any existing target is an error before anything is written.
pub fn write_files(dir: &Path, files: &[(String, String)], force: bool) -> Result<(), DeployError> {
    // Every target is checked before anything is written: an existing file
    // without `force`, or a device, FIFO or directory even with it.
    for (name, _) in files {
        fsutil::check_target(&dir.join(name), force)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| DeployError::Io {
        what: "create directory",
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for (name, text) in files {
        fsutil::write_atomic(&dir.join(name), text.as_bytes(), Some(0o644), force)?;
    }
    Ok(())
}

/// `pfe` and its version, for file headers.
pub fn generator() -> String {
    format!("pfe {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_variable_splits_with_and_without() {
        let (w, wo) = parse_features("web/admin, -mobile/push !admin/debug\n+admin/api");
        assert_eq!(w, vec!["web/admin", "admin/api"]);
        assert_eq!(wo, vec!["mobile/push", "admin/debug"]);
    }

    #[test]
    fn set_variables_sort_numerically() {
        let env: HashMap<String, String> = [
            ("PFE_SET_10", "j=10"),
            ("PFE_SET_2", "b=2"),
            ("PFE_SET", "a=0"),
            ("PFE_SET_X", "x=1"),
            ("PFE_SETTINGS", "no=1"),
            ("PFE_SET_3", " "),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let order: Vec<String> = env_sets(&env).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            order,
            vec!["PFE_SET", "PFE_SET_2", "PFE_SET_10", "PFE_SET_X"]
        );
    }

    #[test]
    fn problems_render_one_per_line() {
        let p = vec![
            Problem::error("PROSODY_DOMAIN", "is not set", "set it".into()),
            Problem::warning("PROSODY_X", "unknown", String::new()),
        ];
        assert_eq!(
            render_problems(&p),
            "error: PROSODY_DOMAIN: is not set\n  hint: set it\nwarning: PROSODY_X: unknown\n"
        );
        let e = DeployError::input(p);
        assert_eq!(
            e.to_string(),
            "1 problem in the input; nothing was written or started\n  PROSODY_DOMAIN: is not set\n    hint: set it"
        );
    }

    #[test]
    fn existing_files_stop_the_write_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yaml"), "old").unwrap();
        let files = vec![
            ("a.yaml".to_string(), "a".to_string()),
            ("b.yaml".to_string(), "b".to_string()),
        ];
        let err = write_files(dir.path(), &files, false).unwrap_err();
        assert!(err.to_string().contains("b.yaml already exists"), "{err}");
        assert!(!dir.path().join("a.yaml").exists());
        write_files(dir.path(), &files, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("b.yaml")).unwrap(),
            "b"
        );
    }
}
