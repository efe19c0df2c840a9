//! `pfe entrypoint`: the container's PID 1. Renders the config from the
//! container environment (the variables `pfe env` writes), validates it,
//! refuses to start on bad input naming the variable to fix, writes the
//! config atomically, creates the admin account from a secret, then
//! *becomes* Prosody (`exec prosody --config FILE -F`) so signals from
//! Docker or Kubernetes reach it directly.
//!
//! Two modes:
//!
//! * render (default): PROSODY_DOMAIN is required; PROSODY_PROFILE,
//!   PROSODY_ENVIRONMENT, PROSODY_FEATURES_*, every catalog variable, and
//!   PFE_FEATURES / PFE_SET* / PFE_ALLOW_UNSTABLE decide the config, which
//!   is written to `--config-output` (PFE_CONFIG_OUTPUT, default
//!   /etc/prosody/prosody.cfg.lua);
//! * use a given config unchanged: `--use-config FILE` (PFE_USE_CONFIG; the
//!   Kubernetes manifests mount the rendered config from a ConfigMap) or
//!   PROSODY_LEGACY_MODE=true (a hand-written config mounted at the config
//!   output path: the seed's migration phase 1). It is linted; findings are
//!   shown but do not stop it.
//!
//! Everything is checked before anything is written or started.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, DEFAULT_ENVIRONMENT};
use pfe_core::fsutil;
use pfe_core::resolve::parse_bool;
use pfe_core::sandbox::{Context, Sandbox, SectionKind};
use pfe_core::value::Value;
use pfe_deploy::secrets::{self, Found, Origin};
use pfe_deploy::{DeployError, Problem, env_value, render_problems};

pub const DEFAULT_CONFIG_OUTPUT: &str = pfe_core::layout::CONFIG_PATH;
pub use pfe_deploy::checks::{ADMIN_PASSWORD_VAR, Checks, check_environment, valid_domain};

#[derive(Debug, Clone)]
pub struct Options {
    /// Where the rendered config goes (and, in legacy mode, where the
    /// hand-written one is).
    pub config_output: PathBuf,
    /// Run this config unchanged instead of rendering.
    pub use_config: Option<PathBuf>,
    /// `--set` arguments, applied after PFE_SET*.
    pub sets: Vec<String>,
    /// Check and print, write and start nothing.
    pub dry_run: bool,
    /// Where a private credentials directory is made when secrets need
    /// reshaping (PFE_RUNTIME_DIR, default the temp dir: a tmpfs in the
    /// generated deployments).
    pub runtime_dir: PathBuf,
    pub prosody: PathBuf,
    pub prosodyctl: PathBuf,
}

impl Options {
    /// Defaults, with PFE_RUNTIME_DIR from `env`.
    pub fn new(config_output: PathBuf, env: &HashMap<String, String>) -> Options {
        Options {
            config_output,
            use_config: None,
            sets: Vec::new(),
            dry_run: false,
            runtime_dir: env_value(env, "PFE_RUNTIME_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
            prosody: "prosody".into(),
            prosodyctl: "prosodyctl".into(),
        }
    }
}

/// The admin account to create.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user: String,
    pub host: String,
    pub password: String,
}

/// How Prosody gets its `Credential()` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The config reads none: the environment is left as it is.
    Untouched,
    /// $CREDENTIALS_DIRECTORY already holds them as Prosody needs them.
    Keep(PathBuf),
    /// Copied (reshaped) into a private directory made at start.
    Private(Vec<(String, String)>),
}

/// Everything decided before anything happens.
#[derive(Debug)]
pub struct Plan {
    /// The config Prosody will run.
    pub config_path: PathBuf,
    /// Render mode: the build whose config gets written to `config_path`.
    pub build: Option<Build>,
    pub credentials: Credentials,
    /// Variables set for Prosody (secrets its config reads as ENV_*).
    pub env_set: Vec<(String, String)>,
    /// Variables removed from Prosody's environment (plain secrets).
    pub env_remove: Vec<String>,
    pub admin: Option<Admin>,
    /// Warnings (shown, not fatal).
    pub warnings: Vec<Problem>,
    /// Validation or lint findings text (warnings).
    pub findings: String,
    /// One line about what will run.
    pub summary: String,
    /// TLS certificates.
    pub certificates: CertPlan,
}

/// Whether accounts are Prosody's own (internal_* authentication), as far
/// as a rendered build tells; a given config is assumed to be.
fn own_accounts(build: Option<&Build>) -> bool {
    build.is_none_or(|b| {
        b.evaluated
            .global()
            .options
            .get("authentication")
            .is_none_or(|o| matches!(&o.value, Value::Str(s) if s.starts_with("internal")))
    })
}

fn admin_jid(env: &HashMap<String, String>) -> Option<String> {
    env_value(env, "PROSODY_ADMINS")?
        .split(|c: char| c == ',' || c.is_whitespace())
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

/// Decides everything; writes and starts nothing.
pub fn plan(
    catalog: &Catalog,
    env: &HashMap<String, String>,
    opts: &Options,
) -> Result<Plan, DeployError> {
    let legacy = env_value(env, "PROSODY_LEGACY_MODE").and_then(parse_bool) == Some(true);
    let (use_config, use_config_subject) = match (&opts.use_config, legacy) {
        (Some(p), _) => (Some(p.clone()), "PFE_USE_CONFIG"),
        (None, true) => (Some(opts.config_output.clone()), "PROSODY_LEGACY_MODE"),
        (None, false) => (None, ""),
    };
    let render = use_config.is_none();
    let mut problems = check_environment(
        catalog,
        env,
        Checks {
            render,
            require_domain: render,
            require_db_host: true,
        },
    )?;
    let errors = |p: &[Problem]| p.iter().any(Problem::is_error);
    let environment = env_value(env, "PROSODY_ENVIRONMENT")
        .unwrap_or(DEFAULT_ENVIRONMENT)
        .trim()
        .to_string();

    // Secrets: every secret variable is looked up first (so a plain
    // variable is judged even when this config does not need it, and in the
    // same report as the other problems).
    let meta = Sandbox::new(HashMap::new(), &Context::default()).map_err(engine::Error::from)?;
    let variables = catalog.variables(&meta).map_err(engine::Error::from)?;
    let mut specs = secrets::specs(&variables);
    if !specs.iter().any(|s| s.var == ADMIN_PASSWORD_VAR) {
        specs.push(secrets::Spec {
            var: ADMIN_PASSWORD_VAR.into(),
            credential: secrets::credential_name(ADMIN_PASSWORD_VAR),
        });
    }
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    for s in &specs {
        if let Some(f) = secrets::lookup(
            &s.credential,
            Some(&s.var),
            env,
            &environment,
            &mut problems,
        ) {
            found.insert(s.credential.clone(), f);
        }
    }

    let findings;
    let mut given_evaluated = None;
    let (build, config_path, text) = if let Some(path) = use_config {
        if errors(&problems) {
            return Err(DeployError::input(problems));
        }
        let text = match pfe_core::fsutil::read_bounded_text(&path, pfe_core::fsutil::Kind::Config)
        {
            Ok(t) => t,
            Err(e) => {
                let help = if legacy {
                    "mount your hand-written prosody.cfg.lua there, set PFE_CONFIG_OUTPUT to its path, or set PROSODY_LEGACY_MODE=false to render one".to_string()
                } else {
                    "mount the rendered config there (pfe k8s puts it in a ConfigMap)".to_string()
                };
                problems.push(Problem::error(
                    use_config_subject,
                    format!("cannot read the config {}: {}", path.display(), e.reason()),
                    help,
                ));
                return Err(DeployError::input(problems));
            }
        };
        match pfe_core::lint::lint_file(&path, env.clone()) {
            Ok(lint) => {
                findings = pfe_core::validate::render(&lint.findings, false, "");
                given_evaluated = lint.evaluated;
            }
            Err(e) => findings = format!("warning: cannot lint {}: {e}\n", path.display()),
        }
        (None, path, text)
    } else {
        if errors(&problems) {
            return Err(DeployError::input(problems));
        }
        let req =
            pfe_deploy::request_from_env(env, &opts.sets, pfe_deploy::compose::ENTRYPOINT_COMMAND)
                .map_err(DeployError::input)?;
        let (build, warnings) = pfe_deploy::build_checked(catalog, &req)?;
        findings = warnings;
        let text = build.config.clone();
        (Some(build), opts.config_output.clone(), text)
    };

    let refs = secrets::scan(&text);
    for c in &refs.credentials {
        if !found.contains_key(c) && !specs.iter().any(|s| &s.credential == c) {
            // A credential no catalog variable describes (a hand-written config).
            if let Some(f) = secrets::lookup(c, None, env, &environment, &mut problems) {
                found.insert(c.clone(), f);
            }
        }
    }
    let mut creds: Vec<&Found> = Vec::new();
    let mut missing_cred = Vec::new();
    for c in &refs.credentials {
        match found.get(c) {
            Some(f) => creds.push(f),
            None => missing_cred.push(c.clone()),
        }
    }
    for c in missing_cred {
        let var = specs
            .iter()
            .find(|s| s.credential == c)
            .map(|s| s.var.clone());
        let already = var.as_ref().is_some_and(|v| {
            problems
                .iter()
                .any(|p| p.is_error() && p.subject.starts_with(v.as_str()))
        });
        if already {
            continue;
        }
        let subject = var
            .clone()
            .unwrap_or_else(|| "CREDENTIALS_DIRECTORY".into());
        let file_hint = var
            .map(|v| format!(" or name a file with {v}_FILE"))
            .unwrap_or_default();
        problems.push(Problem::error(
            subject,
            format!("the config reads Credential(\"{c}\") but no such secret was given"),
            format!("put it in $CREDENTIALS_DIRECTORY/{c} (a compose/Kubernetes secret at /run/secrets){file_hint}"),
        ));
    }
    let mut env_set = Vec::new();
    for s in &specs {
        if refs.env.contains(&s.var) {
            match found.get(&s.credential) {
                Some(f) => env_set.push((s.var.clone(), f.value.clone())),
                None => problems.push(Problem::warning(
                    s.var.clone(),
                    format!("the config reads ENV_{} but the secret is not given", s.var),
                    format!(
                        "put it in $CREDENTIALS_DIRECTORY/{} or name a file with {}_FILE",
                        s.credential, s.var
                    ),
                )),
            }
        }
    }
    let env_remove: Vec<String> = specs
        .iter()
        .map(|s| s.var.clone())
        .filter(|v| env.contains_key(v) && !env_set.iter().any(|(k, _)| k == v))
        .collect();

    // Credentials Prosody reads with Credential().
    let credentials = if creds.is_empty() {
        Credentials::Untouched
    } else {
        let dir = secrets::credentials_dir(env);
        let as_is = dir.as_ref().is_some_and(|d| {
            creds.iter().all(|f| {
                !f.trimmed
                    && matches!(&f.origin, Origin::Directory(p) if p.parent() == Some(d.as_path()))
            })
        });
        match dir {
            Some(d) if as_is => Credentials::Keep(d),
            _ => Credentials::Private(
                creds
                    .iter()
                    .map(|f| (f.credential.clone(), f.value.clone()))
                    .collect(),
            ),
        }
    };

    // The admin account.
    let mut admin = None;
    if let Some(pw) = found.get("admin_password") {
        match admin_jid(env) {
            None => problems.push(Problem::error(
                "PROSODY_ADMINS",
                "is not set, but an admin password was given",
                "set PROSODY_ADMINS=admin@<domain>; the first JID gets the password".into(),
            )),
            Some(jid) => match jid.split_once('@') {
                Some((user, host))
                    if !user.is_empty() && !host.is_empty() && !host.contains('/') =>
                {
                    if let Some(b) = &build {
                        // The rendered config always has the domain's VirtualHost.
                        let mut hosts: Vec<&str> = vec![b.domain.as_str()];
                        hosts.extend(
                            b.evaluated
                                .sections
                                .iter()
                                .filter(|s| s.kind == SectionKind::VirtualHost)
                                .map(|s| s.name.as_str())
                                .filter(|n| *n != b.domain),
                        );
                        if !hosts.contains(&host) {
                            problems.push(Problem::error(
                                "PROSODY_ADMINS",
                                format!("the first admin {jid} is not on a served domain ({})", hosts.join(", ")),
                                "accounts can only be created on the VirtualHost: use admin@<PROSODY_DOMAIN>".into(),
                            ));
                        }
                        let auth = b
                            .evaluated
                            .global()
                            .options
                            .get("authentication")
                            .and_then(|o| match &o.value {
                                Value::Str(s) => Some(s.clone()),
                                _ => None,
                            })
                            .unwrap_or_else(|| "internal_hashed".into());
                        if !auth.starts_with("internal") {
                            problems.push(Problem::error(
                                ADMIN_PASSWORD_VAR,
                                format!("an admin password was given, but accounts are not Prosody's own (authentication = \"{auth}\")"),
                                "remove the admin password secret; the admin logs in with the directory password".into(),
                            ));
                        }
                    }
                    admin = Some(Admin {
                        user: user.to_string(),
                        host: host.to_string(),
                        password: pw.value.clone(),
                    });
                }
                _ => problems.push(Problem::error(
                    "PROSODY_ADMINS",
                    format!("{jid:?} is not a bare JID (user@domain)"),
                    "give admin@chat.example.org".into(),
                )),
            },
        }
    }

    let certificates = plan_certificates(
        build
            .as_ref()
            .map(|b| &b.evaluated)
            .or(given_evaluated.as_ref()),
        build.as_ref().map(|b| b.domain.as_str()),
        &config_path,
        env,
        build
            .as_ref()
            .map_or(environment.as_str(), |b| b.environment.id.as_str()),
        opts.dry_run,
        &mut problems,
    );

    if admin.is_none()
        && let Some(jid) = admin_jid(env)
        && own_accounts(build.as_ref())
    {
        problems.push(Problem::warning(
            "PROSODY_ADMINS",
            format!("names {jid}, but no admin password was found, so no account is created"),
            format!(
                "put the password in the secret admin_password ($CREDENTIALS_DIRECTORY/admin_password, default {}/admin_password) or name a file with {ADMIN_PASSWORD_VAR}_FILE",
                secrets::DEFAULT_CREDENTIALS_DIR
            ),
        ));
    }

    if errors(&problems) {
        return Err(DeployError::input(problems));
    }
    let summary = match &build {
        Some(b) => format!(
            "profile {}, environment {}, {}; config {}",
            b.profile.id,
            b.environment.id,
            b.domains_text(),
            config_path.display()
        ),
        None => format!(
            "{} config {} used as is",
            if legacy { "legacy mode:" } else { "given" },
            config_path.display()
        ),
    };
    Ok(Plan {
        config_path,
        build,
        credentials,
        env_set,
        env_remove,
        admin,
        warnings: problems,
        findings,
        summary,
        certificates,
    })
}

/// The environment changes Prosody and prosodyctl run with.
fn apply_env(cmd: &mut Command, plan: &Plan, creds_dir: Option<&Path>) {
    for v in &plan.env_remove {
        cmd.env_remove(v);
    }
    for (k, v) in &plan.env_set {
        cmd.env(k, v);
    }
    if let Some(d) = creds_dir {
        cmd.env("CREDENTIALS_DIRECTORY", d);
    }
}

/// `prosodyctl --config FILE register USER HOST` with the password on
/// stdin (never on a command line). Replaces the password of an existing
/// account, so the secret stays the source of truth.
pub fn register(
    prosodyctl: &Path,
    config: &Path,
    admin: &Admin,
    setup: impl FnOnce(&mut Command),
) -> Result<(), DeployError> {
    use crate::server::{self, ServerError};
    let timeout = Duration::from_secs(120);
    server::register_account(
        prosodyctl,
        config,
        &admin.user,
        &admin.host,
        &admin.password,
        timeout,
        setup,
    )
    .map_err(|e| match e {
        ServerError::Spawn { program, source } => DeployError::Exec {
            program,
            reason: source.to_string(),
        },
        ServerError::Prosodyctl {
            action,
            status,
            output,
        } => DeployError::Prosodyctl {
            action,
            status,
            output,
        },
        other => DeployError::Prosodyctl {
            action: format!("register {} {}", admin.user, admin.host),
            status: "failed".into(),
            output: other.to_string(),
        },
    })
}

/// Writes the config, prepares credentials, creates the admin account and
/// execs Prosody. Returns only on failure.
pub fn execute(
    plan: &Plan,
    opts: &Options,
    note: &mut dyn FnMut(&str),
) -> Result<Infallible, DeployError> {
    let self_signed = prepare_certificates(&plan.certificates, note)?;
    let mut config_path = plan.config_path.clone();
    match (&plan.build, &self_signed) {
        (Some(b), None) => {
            fsutil::write_atomic(&config_path, b.config.as_bytes(), Some(0o640), true)?
        }
        (Some(b), Some(dir)) => fsutil::write_atomic(
            &config_path,
            point_certificates(&b.config, dir).as_bytes(),
            Some(0o640),
            true,
        )?,
        (None, Some(dir)) => {
            // A given config is not ours to change: run a copy that points
            // at the certificates (in the runtime directory, a tmpfs).
            let text = std::fs::read_to_string(&config_path).map_err(|e| DeployError::Io {
                what: "read",
                path: config_path.clone(),
                reason: e.to_string(),
            })?;
            let copy = tempfile::Builder::new()
                .prefix("pfe-config-")
                .tempdir_in(&opts.runtime_dir)
                .map_err(|e| DeployError::Io {
                    what: "create a directory in",
                    path: opts.runtime_dir.clone(),
                    reason: e.to_string(),
                })?
                .keep()
                .join("prosody.cfg.lua");
            fsutil::write_atomic(
                &copy,
                point_certificates(&text, dir).as_bytes(),
                Some(0o640),
                false,
            )?;
            note(&format!(
                "pfe entrypoint: running a copy of {} with certificates = {}: {}",
                config_path.display(),
                dir.display(),
                copy.display()
            ));
            config_path = copy;
        }
        (None, None) => {}
    }
    let creds_dir = match &plan.credentials {
        Credentials::Untouched => None,
        Credentials::Keep(d) => Some(d.clone()),
        Credentials::Private(files) => {
            let io = |e: std::io::Error| DeployError::Io {
                what: "create a credentials directory in",
                path: opts.runtime_dir.clone(),
                reason: e.to_string(),
            };
            let dir = tempfile::Builder::new()
                .prefix("pfe-credentials-")
                .tempdir_in(&opts.runtime_dir)
                .map_err(io)?
                .keep();
            for (name, value) in files {
                fsutil::write_atomic(&dir.join(name), value.as_bytes(), Some(0o400), false)?;
            }
            Some(dir)
        }
    };
    if let Some(admin) = &plan.admin {
        register(&opts.prosodyctl, &config_path, admin, |cmd| {
            apply_env(cmd, plan, creds_dir.as_deref())
        })?;
        note(&format!(
            "pfe entrypoint: admin account {}@{} ready",
            admin.user, admin.host
        ));
    }
    note(&format!(
        "pfe entrypoint: {}; starting prosody",
        plan.summary
    ));
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new(&opts.prosody);
    cmd.arg("--config").arg(&config_path).arg("-F");
    apply_env(&mut cmd, plan, creds_dir.as_deref());
    let err = cmd.exec();
    Err(DeployError::Exec {
        program: opts.prosody.display().to_string(),
        reason: err.to_string(),
    })
}

/// What it would do (`--dry-run`), as text for the CLI to show.
pub fn describe(plan: &Plan) -> String {
    let mut out = format!("pfe entrypoint (dry run): {}\n", plan.summary);
    match &plan.credentials {
        Credentials::Untouched => {}
        Credentials::Keep(d) => out += &format!("  credentials: {} as is\n", d.display()),
        Credentials::Private(files) => {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            out += &format!(
                "  credentials: {} copied to a private directory\n",
                names.join(", ")
            );
        }
    }
    for (k, _) in &plan.env_set {
        out += &format!("  {k}: from its secret file\n");
    }
    match &plan.certificates {
        CertPlan::Unchecked | CertPlan::Missing => {}
        CertPlan::Found { dir } => out += &format!("  certificates: {}\n", dir.display()),
        CertPlan::SelfSigned {
            missing,
            dir,
            reuse,
            ..
        } => {
            out += &format!(
                "  certificates: none for {}; would {} self-signed ones in {}\n",
                missing.join(", "),
                if *reuse { "reuse the" } else { "generate" },
                dir.display()
            )
        }
    }
    if let Some(a) = &plan.admin {
        out += &format!(
            "  admin account: {}@{} (password from its secret)\n",
            a.user, a.host
        );
    }
    out += "  nothing written, nothing started\n";
    out
}

/// The warnings of a plan, one per line.
pub fn warnings_text(plan: &Plan) -> String {
    let mut out = plan.findings.clone();
    out += &render_problems(&plan.warnings);
    out
}

// ---- Certificates ----------------------------------------------------------

/// Where self-signed certificates go in development and testing when the
/// certificates directory has none (PFE_SELF_SIGNED_DIR, default
/// `<data_path>/certs`: the data volume, writable when the root file system
/// is read-only).
pub const SELF_SIGNED_DIR_VAR: &str = "PFE_SELF_SIGNED_DIR";

/// What the entrypoint does about TLS certificates before Prosody starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertPlan {
    /// Not checked: the config names its own certificate files (`ssl`), or
    /// it could not be evaluated.
    Unchecked,
    /// Every served name has a certificate and key Prosody finds in `dir`.
    Found { dir: PathBuf },
    /// Some name has none (or a dry run in production, which would refuse);
    /// nothing more to do.
    Missing,
    /// development/testing: self-signed certificates in `dir` (generated
    /// for each name of `generate` with its sub-names, unless `reuse`), and
    /// the config's `certificates` pointed there.
    SelfSigned {
        missing: Vec<String>,
        searched: PathBuf,
        dir: PathBuf,
        generate: Vec<(String, Vec<String>)>,
        reuse: bool,
    },
}

/// The certificate and key files Prosody tries for `name` in `dir`, in its
/// order (core/certmanager.lua `find_cert`).
pub fn expected_files(dir: &Path, name: &str) -> Vec<(PathBuf, PathBuf)> {
    vec![
        (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        ),
        (
            dir.join(name).join("fullchain.pem"),
            dir.join(name).join("privkey.pem"),
        ),
        (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.pem")),
        ),
    ]
}

fn readable(p: &Path) -> bool {
    p.is_file() && std::fs::File::open(p).is_ok()
}

/// The certificate and key Prosody finds for `name` in `dir` by file name:
/// for the name, then each parent domain (Prosody falls back to them, so
/// `example.org.crt` serves `conference.example.org`). Both must be
/// readable (by this process, which runs as Prosody's user).
pub fn find_certificate(dir: &Path, name: &str) -> Option<(PathBuf, PathBuf)> {
    let mut n = name;
    loop {
        if let Some(found) = expected_files(dir, n)
            .into_iter()
            .find(|(c, k)| readable(c) && readable(k))
        {
            return Some(found);
        }
        n = n.split_once('.')?.1;
    }
}

/// Certificate files under `dir` (3 levels, as Prosody indexes them) that
/// are not named after a host: Prosody may match them by their subject
/// names, which pfe does not read.
fn other_certificates(dir: &Path, depth: u32) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if depth == 0 {
        return out;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && !name.starts_with('.') {
            out.extend(other_certificates(&p, depth - 1));
        } else if name.ends_with(".crt") || name.contains("fullchain") {
            let key = PathBuf::from(
                p.to_string_lossy()
                    .replace("fullchain", "privkey")
                    .trim_end_matches(".crt")
                    .to_string()
                    + if name.ends_with(".crt") { ".key" } else { "" },
            );
            if readable(&p) && readable(&key) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The names a config serves (VirtualHosts and Components), the global
/// section's `certificates` directory (relative to the config's directory;
/// Prosody's default `certs`) and `data_path`.
fn served(
    ev: &pfe_core::sandbox::Evaluated,
    domain: Option<&str>,
    config_path: &Path,
) -> (Vec<String>, PathBuf, PathBuf) {
    let mut names: Vec<String> = domain.map(str::to_ascii_lowercase).into_iter().collect();
    for s in &ev.sections {
        let n = s.name.to_ascii_lowercase();
        if s.kind != SectionKind::Global && !names.contains(&n) {
            names.push(n);
        }
    }
    let global = ev.global();
    let opt = |k: &str| match global.options.get(k).map(|o| &o.value) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let base = config_path.parent().unwrap_or(Path::new("/"));
    let certs = base.join(opt("certificates").unwrap_or_else(|| "certs".into()));
    let data = opt("data_path").map_or_else(
        || PathBuf::from(pfe_deploy::compose::DATA_DIR),
        |d| base.join(d),
    );
    (names, certs, data)
}

fn expected_text(dir: &Path, name: &str) -> String {
    let f = expected_files(dir, name);
    format!(
        "{} and {} (or {} and {})",
        f[0].0.display(),
        f[0].1.display(),
        f[1].0.display(),
        f[1].1.display()
    )
}

/// Decides, before anything is written or started, whether every served
/// name has a certificate Prosody will find. Production and staging refuse
/// to start without (a warning in a dry run, which an image build runs
/// without certificates); development and testing get self-signed ones.
fn plan_certificates(
    ev: Option<&pfe_core::sandbox::Evaluated>,
    domain: Option<&str>,
    config_path: &Path,
    env: &HashMap<String, String>,
    environment: &str,
    dry_run: bool,
    problems: &mut Vec<Problem>,
) -> CertPlan {
    let Some(ev) = ev else {
        return CertPlan::Unchecked;
    };
    if ev.global().options.contains_key("ssl") {
        return CertPlan::Unchecked;
    }
    let (names, certs, data) = served(ev, domain, config_path);
    // One certificate per name that is not under another served name; its
    // sub-names go in as well (`*.name` covers one level only).
    let roots = crate::server::certificate_roots(&names);
    let missing: Vec<String> = names
        .iter()
        .filter(|n| {
            let own = ev.section(n).is_some_and(|s| {
                s.options.contains_key("ssl") || s.options.contains_key("certificate")
            });
            !own && find_certificate(&certs, n).is_none()
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return CertPlan::Found { dir: certs };
    }
    let others = other_certificates(&certs, 3);
    let lenient = secrets::LENIENT_ENVIRONMENTS.contains(&environment);
    if !others.is_empty() {
        problems.push(Problem::warning(
            certs.display().to_string(),
            format!(
                "has no certificate named for {}; Prosody may still match {} by its subject names",
                missing.join(", "),
                others
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "name it after the host: {}",
                expected_text(&certs, &missing[0])
            ),
        ));
        return CertPlan::Found { dir: certs };
    }
    if !lenient {
        for (root, subs) in &roots {
            let lacking: Vec<&String> = std::iter::once(root)
                .chain(subs)
                .filter(|n| missing.contains(n))
                .collect();
            if lacking.is_empty() {
                continue;
            }
            let also = if subs.is_empty() {
                String::new()
            } else {
                format!(" (also serving {})", subs.join(", "))
            };
            let message = format!(
                "no certificate and key for {}: the {environment} environment does not start without one{}",
                lacking
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if dry_run {
                    " (this dry run would be refused)"
                } else {
                    ""
                }
            );
            let help = format!(
                "mount {}{also}, readable by Prosody's user (uid 999 in the image)",
                expected_text(&certs, root)
            );
            let subject = certs.display().to_string();
            problems.push(if dry_run {
                Problem::warning(subject, message, help)
            } else {
                Problem::error(subject, message, help)
            });
        }
        return CertPlan::Missing;
    }
    let dir = env_value(env, SELF_SIGNED_DIR_VAR)
        .map(|d| PathBuf::from(d.trim()))
        .unwrap_or_else(|| data.join("certs"));
    let reuse = names.iter().all(|n| find_certificate(&dir, n).is_some());
    CertPlan::SelfSigned {
        missing,
        searched: certs,
        dir,
        generate: roots,
        reuse,
    }
}

/// Makes the self-signed certificates of `plan` (unless reused); returns
/// the `certificates` directory to point the config at, if any.
fn prepare_certificates(
    plan: &CertPlan,
    note: &mut dyn FnMut(&str),
) -> Result<Option<PathBuf>, DeployError> {
    let CertPlan::SelfSigned {
        missing,
        searched,
        dir,
        generate,
        reuse,
    } = plan
    else {
        return Ok(None);
    };
    if !*reuse {
        for (name, subs) in generate {
            let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
            crate::server::generate_cert(dir, name, &subs).map_err(|e| DeployError::Io {
                what: "write a self-signed certificate in",
                path: dir.clone(),
                reason: format!("{e}; set {SELF_SIGNED_DIR_VAR} to a writable directory"),
            })?;
        }
    }
    note(&format!(
        "pfe entrypoint: no certificate for {} in {}; {} self-signed certificate for {} in {} (clients must accept it; mount real ones for production)",
        missing.join(", "),
        searched.display(),
        if *reuse { "reusing the" } else { "generated a" },
        generate
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        dir.display()
    ));
    Ok(Some(dir.clone()))
}

/// `config` with `certificates = "<dir>"` as its last global option.
fn point_certificates(config: &str, dir: &Path) -> String {
    crate::server::insert_global(
        config,
        "pfe entrypoint: self-signed certificates (development/testing)",
        &[(
            "certificates".into(),
            pfe_core::value::lua_string(&dir.to_string_lossy()),
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        for d in [
            "chat.example.org",
            "localhost",
            "xn--bcher-kva.example",
            "bücher.example",
        ] {
            assert!(valid_domain(d), "{d}");
        }
        for d in [
            "",
            "https://x.org",
            "a b",
            "user@x.org",
            "x.org:5222",
            ".x.org",
            "x..org",
            "x.org/",
        ] {
            assert!(!valid_domain(d), "{d}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn plan_errors(pairs: &[(&str, &str)]) -> Vec<Problem> {
        let opts = Options::new("/nonexistent/prosody.cfg.lua".into(), &HashMap::new());
        match plan(&Catalog::builtin(), &env(pairs), &opts) {
            Err(DeployError::Input { problems }) => {
                problems.into_iter().filter(Problem::is_error).collect()
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(p) => panic!("no error; plan {}", p.summary),
        }
    }

    #[test]
    fn bad_inputs_name_the_variable() {
        let subjects = |p: Vec<Problem>| p.into_iter().map(|p| p.subject).collect::<Vec<_>>();
        assert_eq!(subjects(plan_errors(&[])), vec!["PROSODY_DOMAIN"]);
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_STORAGE", "postgres")
            ])),
            vec!["PROSODY_DB_HOST"]
        );
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_STORAGE", "mysql")
            ])),
            vec!["PROSODY_STORAGE"]
        );
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_FEATURES_MOBILE_PUSH", "maybe"),
                ("PROSODY_FEATURES_AUTH_FAST", "yes"),
            ])),
            vec!["PROSODY_FEATURES_AUTH_FAST", "PROSODY_FEATURES_MOBILE_PUSH"]
        );
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_DB_PASSWORD", "pw")
            ])),
            vec!["PROSODY_DB_PASSWORD"]
        );
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_PROFILE", "standrad")
            ])),
            vec!["PROSODY_PROFILE"]
        );
        assert_eq!(
            subjects(plan_errors(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_ENVIRONMENT", "development"),
                ("PROSODY_ADMIN_PASSWORD", "pw"),
            ])),
            vec!["PROSODY_ADMINS"]
        );
    }

    #[test]
    fn development_accepts_a_plain_password_with_a_warning() {
        let opts = Options::new("/nonexistent/prosody.cfg.lua".into(), &HashMap::new());
        let p = plan(
            &Catalog::builtin(),
            &env(&[
                ("PROSODY_DOMAIN", "x.org"),
                ("PROSODY_ENVIRONMENT", "development"),
                ("PROSODY_STORAGE", "postgres"),
                ("PROSODY_DB_HOST", "db"),
                ("PROSODY_DB_PASSWORD", "pw"),
                ("PROSODY_ADMINS", "root@x.org"),
                ("PROSODY_ADMIN_PASSWORD", "adminpw"),
            ]),
            &opts,
        )
        .unwrap();
        assert_eq!(
            p.credentials,
            Credentials::Private(vec![("db_password".into(), "pw".into())])
        );
        assert_eq!(p.admin.as_ref().unwrap().user, "root");
        assert!(p.env_remove.contains(&"PROSODY_DB_PASSWORD".to_string()));
        let warned: Vec<&str> = p.warnings.iter().map(|w| w.subject.as_str()).collect();
        assert_eq!(
            warned,
            vec!["PROSODY_ADMIN_PASSWORD", "PROSODY_DB_PASSWORD"]
        );
    }

    #[test]
    fn certificates_are_found_as_prosody_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(find_certificate(d, "x.org"), None);
        // <name>/fullchain.pem + privkey.pem (certbot's layout).
        std::fs::create_dir_all(d.join("x.org")).unwrap();
        std::fs::write(d.join("x.org/fullchain.pem"), "c").unwrap();
        assert_eq!(find_certificate(d, "x.org"), None, "no key");
        std::fs::write(d.join("x.org/privkey.pem"), "k").unwrap();
        let found = find_certificate(d, "conference.x.org").unwrap();
        assert_eq!(
            found.0,
            d.join("x.org/fullchain.pem"),
            "a parent's certificate"
        );
        // <name>.crt + .key wins, and serves only its own sub-domains.
        std::fs::write(d.join("up.x.org.crt"), "c").unwrap();
        std::fs::write(d.join("up.x.org.key"), "k").unwrap();
        assert_eq!(
            find_certificate(d, "a.up.x.org").unwrap().0,
            d.join("up.x.org.crt")
        );
        assert_eq!(find_certificate(d, "y.org"), None);
        assert_eq!(find_certificate(d, "localhost"), None);
    }

    #[test]
    fn production_plans_refuse_and_development_plans_self_signed() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::new(dir.path().join("prosody.cfg.lua"), &HashMap::new());
        let data = dir.path().join("data");
        let data_set = format!(
            "data_path={}",
            pfe_core::value::lua_string(&data.to_string_lossy())
        );
        let mut env = env(&[("PROSODY_DOMAIN", "x.org"), ("PFE_SET", &data_set)]);
        match plan(&Catalog::builtin(), &env, &opts) {
            Err(DeployError::Input { problems }) => {
                let p = problems.iter().find(|p| p.is_error()).unwrap();
                assert_eq!(p.subject, dir.path().join("certs").display().to_string());
                assert!(
                    p.help
                        .contains(&format!("{}/certs/x.org.crt", dir.path().display())),
                    "{p}"
                );
            }
            other => panic!("{other:?}"),
        }
        env.insert("PROSODY_ENVIRONMENT".into(), "testing".into());
        let p = plan(&Catalog::builtin(), &env, &opts).unwrap();
        match p.certificates {
            CertPlan::SelfSigned {
                dir: d,
                generate,
                reuse,
                ..
            } => {
                assert_eq!(d, data.join("certs"));
                assert!(!reuse);
                assert_eq!(generate.len(), 1, "{generate:?}");
                assert_eq!(generate[0].0, "x.org");
            }
            other => panic!("{other:?}"),
        }
    }
}
