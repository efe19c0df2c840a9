//! `pfe compose`: a Compose Specification base file (`compose.yaml`) for a
//! profile and an overlay per environment (`compose.<env>.yaml`).
//!
//! The base file is the same whichever environment it was generated with:
//! variables some environment sets (PROSODY_LOG_LEVEL, …) and
//! PROSODY_ENVIRONMENT go into the overlay. Every catalog variable is
//! written `${NAME:-value}`, so a shell variable or an env file (`pfe env`)
//! overrides it at `docker compose up`; values with a `$` are written
//! literally (`$$`). Secrets are compose secrets read from files under
//! `./secrets/`, mounted at /run/secrets, where Prosody's `Credential()`
//! finds them (CREDENTIALS_DIRECTORY=/run/secrets).

use std::collections::HashMap;
use std::path::PathBuf;

use super::resources::{self, compose_cpus, compose_memory};
use super::secrets;
use super::yaml::{self, Map, Yaml, flow, strings};
use super::{DeployError, EnvVar, Problem, env_value};
use crate::catalog::Catalog;
use crate::engine::{Build, Request};

/// What `pfe entrypoint` puts in the config header; generated deployments
/// build with it so the container renders byte for byte the same config.
pub const ENTRYPOINT_COMMAND: &str = "pfe entrypoint";

/// Where the image keeps things (docker/Dockerfile).
pub const DATA_DIR: &str = "/var/lib/prosody";
pub const CERTS_DIR: &str = "/etc/prosody/certs";
pub const SECRETS_DIR: &str = "/run/secrets";
pub const CONFIG_PATH: &str = "/etc/prosody/prosody.cfg.lua";
/// Where a `--config-dir` catalog tree is mounted in the container.
pub const CATALOG_MOUNT: &str = "/etc/pfe/catalog";
/// PostgreSQL image for the `db` service (the major version pfe's tests use).
pub const POSTGRES_IMAGE: &str = "postgres:15";

#[derive(Debug, Clone)]
pub struct Options {
    /// Image name without tag; the tag is `${PROSODY_VERSION:-<default>}`.
    pub image: String,
    /// `--config-dir`, absolute: mounted read-only into the container.
    pub config_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            image: "prosody".into(),
            config_dir: None,
        }
    }
}

/// The generated files and notes for the operator.
#[derive(Debug, Clone)]
pub struct Output {
    /// (file name, text): compose.yaml, compose.<env>.yaml.
    pub files: Vec<(String, String)>,
    /// Secret files the operator must create (paths relative to the output).
    pub secret_files: Vec<String>,
    /// Validation warnings of the rendered config.
    pub warnings: String,
}

fn interpolated(v: &EnvVar) -> String {
    if v.value.contains('$') {
        v.value.replace('$', "$$")
    } else if v.overridable {
        format!("${{{}:-{}}}", v.name, v.value)
    } else {
        v.value.clone()
    }
}

fn env_map(vars: &[EnvVar]) -> Map {
    let mut m = Map::new();
    let mut group = String::new();
    for v in vars {
        if v.group != group {
            group = v.group.clone();
            m.insert_commented(&group, &v.name, interpolated(v));
        } else {
            m.insert(&v.name, interpolated(v));
        }
    }
    m
}

/// Whether storage is PostgreSQL per the (given) environment.
pub fn is_postgres(env: &HashMap<String, String>) -> bool {
    env_value(env, "PROSODY_STORAGE").is_some_and(|s| {
        let s = s.trim().to_ascii_lowercase();
        s == "postgres" || s == "postgresql"
    })
}

/// The port a PROSODY_*_PORT variable sets, or Prosody's default.
pub fn port(build: &Build, var: &str, default: u16) -> u16 {
    build
        .env
        .get(var)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The ports the container listens on: (name, port).
pub fn listening_ports(build: &Build) -> Vec<(&'static str, u16)> {
    let on = |f: &str| build.resolution.order.iter().any(|x| x == f);
    let mut ports = vec![
        ("c2s", port(build, "PROSODY_C2S_PORT", 5222)),
        ("s2s", port(build, "PROSODY_S2S_PORT", 5269)),
    ];
    if env_value(&build.env, "PROSODY_C2S_DIRECT_TLS_PORT").is_some() {
        ports.push(("c2s-tls", port(build, "PROSODY_C2S_DIRECT_TLS_PORT", 5223)));
    }
    if on("web/http") {
        ports.push(("http", port(build, "PROSODY_HTTP_PORT", 5280)));
        ports.push(("https", port(build, "PROSODY_HTTPS_PORT", 5281)));
    }
    if on("services/proxy65") {
        ports.push(("proxy65", port(build, "PROSODY_PROXY65_PORT", 5000)));
    }
    ports
}

/// The secrets a deployment of `build` mounts: (credential, required).
/// Credential() references are required; ENV_ references of secret
/// variables and the admin password (when PROSODY_ADMINS is set) are not.
pub fn needed_secrets(build: &Build) -> Vec<(String, bool)> {
    let refs = secrets::scan(&build.config);
    let specs = secrets::specs(&build.variables);
    let mut out: Vec<(String, bool)> = refs.credentials.iter().map(|c| (c.clone(), true)).collect();
    for s in &specs {
        if refs.env.contains(&s.var) && !out.iter().any(|(c, _)| *c == s.credential) {
            out.push((s.credential.clone(), false));
        }
    }
    if env_value(&build.env, "PROSODY_ADMINS").is_some()
        && specs.iter().any(|s| s.var == "PROSODY_ADMIN_PASSWORD")
        && !out.iter().any(|(c, _)| c == "admin_password")
    {
        out.push(("admin_password".into(), false));
    }
    out.sort();
    out
}

/// The environment pfe resolves resources from: the profile's variables
/// and the caller's (not an environment's, so the base file stays the same
/// for every environment).
fn resource_env(build: &Build, req: &Request) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = build.profile.variables.clone().into_iter().collect();
    env.extend(req.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

fn healthcheck(build: &Build) -> Map {
    Map::new()
        .with(
            "test",
            flow([
                "CMD".to_string(),
                "pfe".into(),
                "healthcheck".into(),
                "--server".into(),
                format!("127.0.0.1:{}", port(build, "PROSODY_C2S_PORT", 5222)),
            ]),
        )
        .with("interval", "30s")
        .with("timeout", "10s")
        .with("retries", 3i64)
        .with("start_period", "60s")
}

fn regenerate(req: &Request, domain_given: bool, domain: &str) -> String {
    let mut cmd = format!("pfe compose {} {}", req.profile, req.environment);
    if domain_given {
        cmd += &format!(" --domain {domain}");
    }
    cmd + &req.selection_flags() + " -o DIR --force"
}

/// Renders compose.yaml and compose.<env>.yaml for `req` (whose `env` is
/// the caller's environment). Nothing is written.
pub fn render(catalog: &Catalog, req: &Request, opts: &Options) -> Result<Output, DeployError> {
    let mut req = req.clone();
    req.command = ENTRYPOINT_COMMAND.into();
    let postgres = is_postgres(&req.env);
    if postgres && env_value(&req.env, "PROSODY_DB_HOST").is_none() {
        // The db service of this file.
        req.env.insert("PROSODY_DB_HOST".into(), "db".into());
    }
    let domain_given = req.domain.is_some() || env_value(&req.env, "PROSODY_DOMAIN").is_some();
    if let Some(d) = &req.domain {
        req.env.insert("PROSODY_DOMAIN".into(), d.clone());
        req.domain = None;
    }
    let problems = super::entrypoint::check_environment(
        catalog,
        &req.env,
        super::entrypoint::Checks {
            render: true,
            require_domain: false,
            require_db_host: false,
        },
    )?;
    if problems.iter().any(Problem::is_error) {
        return Err(DeployError::input(problems));
    }
    let (build, mut warnings) = super::build_checked(catalog, &req)?;
    warnings += &super::render_problems(&problems);
    warnings += &super::render_problems(&super::ignored_secrets(&build));
    let resources = resources::container_resources(&build.profile, &resource_env(&build, &req))
        .map_err(DeployError::input)?;

    let mut extra = vec![("CREDENTIALS_DIRECTORY", SECRETS_DIR.to_string())];
    if opts.config_dir.is_some() {
        extra.push(("PFE_CONFIG_DIR", CATALOG_MOUNT.to_string()));
    }
    let env = super::container_env(catalog, &build, &req, &extra)?;
    super::check_reproducible(catalog, &build, ENTRYPOINT_COMMAND, &env.merged())?;

    let mut base_env = env.base.clone();
    if !domain_given && let Some(v) = base_env.iter_mut().find(|v| v.name == "PROSODY_DOMAIN") {
        // No default: compose refuses to start until the operator sets it.
        v.value = "${PROSODY_DOMAIN:?set PROSODY_DOMAIN to the XMPP domain to serve}".into();
        v.overridable = false;
    }

    let secrets_needed = needed_secrets(&build);
    let profile = &build.profile.id;
    let environment = &build.environment.id;

    // The prosody service.
    let mut svc = Map::new()
        .with(
            "image",
            format!("{}:${{PROSODY_VERSION:-latest}}", opts.image),
        )
        .with("restart", "unless-stopped")
        .with_comment(
            "pfe entrypoint runs as PID 1's child: init reaps and forwards signals",
            "init",
            true,
        )
        .with("environment", env_map(&base_env))
        .with(
            "ports",
            strings(
                listening_ports(&build)
                    .iter()
                    .map(|(_, p)| format!("{p}:{p}")),
            ),
        );
    let mut volumes = vec![
        format!("prosody_data:{DATA_DIR}"),
        format!("./certs:{CERTS_DIR}:ro"),
    ];
    if let Some(dir) = &opts.config_dir {
        volumes.push(format!("{}:{CATALOG_MOUNT}:ro", dir.display()));
    }
    svc.insert_commented(
        "certificates: ./certs/<domain>.crt and .key (or <domain>/fullchain.pem and privkey.pem),\nreadable by the image's prosody user (uid 999)",
        "volumes",
        strings(volumes),
    );
    svc.insert_commented(
        "secrets are copied here if they need reshaping, never to disk",
        "tmpfs",
        strings(["/tmp"]),
    );
    if !secrets_needed.is_empty() {
        svc.insert(
            "secrets",
            strings(secrets_needed.iter().map(|(c, _)| c.clone())),
        );
    }
    svc.insert("cap_drop", strings(["ALL"]));
    svc.insert("security_opt", strings(["no-new-privileges:true"]));
    svc.insert("healthcheck", healthcheck(&build));
    if let Some(r) = resources {
        let limits = |mem_var: &str, mem: u64, cpu_var: &str, cpu: u32| {
            Map::new()
                .with("memory", format!("${{{mem_var}:-{}}}", compose_memory(mem)))
                .with("cpus", format!("${{{cpu_var}:-{}}}", compose_cpus(cpu)))
        };
        svc.insert_commented(
            &format!(
                "from profile {profile}'s resource_requirements ({} / {}); reservations a quarter of the\nmemory and half of the CPU",
                build.profile.resources.memory.as_deref().unwrap_or("-"),
                build.profile.resources.cpu.as_deref().unwrap_or("-"),
            ),
            "deploy",
            Map::new().with(
                "resources",
                Map::new()
                    .with(
                        "limits",
                        limits("PROSODY_MEMORY_LIMIT", r.memory_limit, "PROSODY_CPU_LIMIT", r.cpu_limit),
                    )
                    .with(
                        "reservations",
                        limits(
                            "PROSODY_MEMORY_RESERVE",
                            r.memory_reserve,
                            "PROSODY_CPU_RESERVE",
                            r.cpu_reserve,
                        ),
                    ),
            ),
        );
    }
    let mut services = Map::new();
    let mut top_volumes = Map::new().with("prosody_data", Map::new());
    if postgres {
        svc.insert(
            "depends_on",
            Map::new().with("db", Map::new().with("condition", "service_healthy")),
        );
        let by_name = |n: &str| {
            env.base
                .iter()
                .find(|v| v.name == n)
                .map(interpolated)
                .unwrap_or_default()
        };
        let (db_name, db_user) = (by_name("PROSODY_DB_NAME"), by_name("PROSODY_DB_USER"));
        services.insert("prosody", svc);
        services.insert_commented(
            "PostgreSQL for PROSODY_STORAGE=postgres; its password is the db_password secret",
            "db",
            Map::new()
                .with("image", POSTGRES_IMAGE)
                .with("restart", "unless-stopped")
                .with(
                    "environment",
                    Map::new()
                        .with("POSTGRES_DB", db_name.clone())
                        .with("POSTGRES_USER", db_user.clone())
                        .with(
                            "POSTGRES_PASSWORD_FILE",
                            format!("{SECRETS_DIR}/db_password"),
                        ),
                )
                .with("secrets", strings(["db_password"]))
                .with("volumes", strings(["prosody_db:/var/lib/postgresql/data"]))
                .with(
                    "healthcheck",
                    Map::new()
                        .with(
                            "test",
                            flow([
                                "CMD-SHELL".to_string(),
                                format!("pg_isready -U {db_user} -d {db_name}"),
                            ]),
                        )
                        .with("interval", "10s")
                        .with("timeout", "5s")
                        .with("retries", 5i64),
                ),
        );
        top_volumes.insert("prosody_db", Map::new());
    } else {
        services.insert("prosody", svc);
    }

    let mut root = Map::new()
        .with("services", services)
        .with("volumes", top_volumes);
    let mut secret_files = Vec::new();
    if !secrets_needed.is_empty() {
        let mut s = Map::new();
        for (c, required) in &secrets_needed {
            let file = format!("./secrets/{c}");
            if *required {
                s.insert(c, Map::new().with("file", file.clone()));
            } else {
                s.insert_commented(
                    "optional for Prosody: drop it (here and above) if you do not use it",
                    c,
                    Map::new().with("file", file.clone()),
                );
            }
            secret_files.push(file);
        }
        root.insert_commented(
            "one line each, readable by uid 999 (chmod 0444 or chown 999); never commit them",
            "secrets",
            s,
        );
    }

    let regen = regenerate(&req, domain_given, &build.domain);
    let base_header = vec![
        format!(
            "compose.yaml — Prosody, profile {profile}; generated by {}.",
            super::generator()
        ),
        "Start it with an environment overlay:".to_string(),
        format!("  docker compose -f compose.yaml -f compose.{environment}.yaml up -d"),
        format!("Regenerate with: {regen}"),
        "${NAME:-default} values can be overridden from the shell or an env file (pfe env).".into(),
    ];
    let overlay = Map::new().with(
        "services",
        Map::new().with(
            "prosody",
            Map::new().with("environment", env_map(&env.overlay)),
        ),
    );
    let overlay_header = vec![
        format!(
            "compose.{environment}.yaml — the {environment} environment for compose.yaml (profile {profile}); generated by {}.",
            super::generator()
        ),
        format!("  docker compose -f compose.yaml -f compose.{environment}.yaml up -d"),
    ];
    Ok(Output {
        files: vec![
            (
                "compose.yaml".into(),
                yaml::document(&base_header, &Yaml::Map(root)),
            ),
            (
                format!("compose.{environment}.yaml"),
                yaml::document(&overlay_header, &Yaml::Map(overlay)),
            ),
        ],
        secret_files,
        warnings,
    })
}
