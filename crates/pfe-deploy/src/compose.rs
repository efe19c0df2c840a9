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

use crate::resources::{self, compose_cpus, compose_memory};
use crate::secrets;
use crate::yaml::{self, Map, Yaml, flow, strings};
use crate::{DeployError, EnvVar, Problem, env_value};
use pfe_core::catalog::Catalog;
use pfe_core::engine::{Build, Request};

/// What `pfe entrypoint` puts in the config header; generated deployments
/// build with it so the container renders byte for byte the same config.
pub const ENTRYPOINT_COMMAND: &str = "pfe entrypoint";

/// PROSODY_HTTP_INTERFACES in a container: Prosody 13 binds plain HTTP to
/// loopback only, which a published port cannot reach.
pub const CONTAINER_HTTP_INTERFACES: &str = "*";

/// Sets PROSODY_HTTP_INTERFACES to [`CONTAINER_HTTP_INTERFACES`] unless the
/// caller chose.
pub fn container_http_interfaces(env: &mut HashMap<String, String>) {
    if env_value(env, "PROSODY_HTTP_INTERFACES").is_none() {
        env.insert(
            "PROSODY_HTTP_INTERFACES".into(),
            CONTAINER_HTTP_INTERFACES.into(),
        );
    }
}

pub use pfe_core::layout::{CATALOG_MOUNT, CERTS_DIR, CONFIG_PATH, DATA_DIR, SECRETS_DIR};
/// PostgreSQL image for the `db` service (the major version pfe's tests use).
pub const POSTGRES_IMAGE: &str = "postgres:15";

/// A parsed OCI image reference: `[registry[:port]/]path[:tag][@digest]`
/// (the grammar of github.com/distribution/reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry (with port) and repository path, e.g. `host:5000/team/prosody`.
    pub name: String,
    pub tag: Option<String>,
    /// `algorithm:hex`, e.g. `sha256:…`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `reference`; the error says what is wrong with it.
    pub fn parse(reference: &str) -> Result<ImageRef, String> {
        if reference.is_empty() {
            return Err("is empty".into());
        }
        if let Some(c) = reference
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "{reference:?} contains {c:?}; an image reference has no spaces or control characters"
            ));
        }
        if reference.len() > 255 + 128 + 80 {
            return Err(format!("{reference:?} is too long"));
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (reference, None),
        };
        if let Some(d) = digest {
            let ok = d.split_once(':').is_some_and(|(alg, hex)| {
                !alg.is_empty()
                    && alg.starts_with(|c: char| c.is_ascii_lowercase())
                    && alg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                    && hex.len() >= 32
                    && hex
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                    && (alg != "sha256" || hex.len() == 64)
            });
            if !ok {
                return Err(format!(
                    "the digest {d:?} is not like sha256:<64 lowercase hex digits>"
                ));
            }
        }
        // The tag's ':' is after the last '/' (a registry port's is before).
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(format!(
                    "the tag {t:?} is not valid (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
                ));
            }
        }
        if name.is_empty() {
            return Err(format!("{reference:?} has no repository name"));
        }
        let parts: Vec<&str> = name.split('/').collect();
        let has_registry = parts.len() > 1
            && (parts[0].contains(['.', ':'])
                || parts[0] == "localhost"
                || parts[0].chars().any(|c| c.is_ascii_uppercase()));
        let path = if has_registry {
            let (host, port) = match parts[0].split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (parts[0], None),
            };
            let host_ok = !host.is_empty()
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            let port_ok = port.is_none_or(|p| {
                !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())
            });
            if !host_ok || !port_ok {
                return Err(format!(
                    "the registry {:?} is not a host name with an optional port (host:5000)",
                    parts[0]
                ));
            }
            &parts[1..]
        } else {
            &parts[..]
        };
        for comp in path {
            let ok = !comp.is_empty()
                && comp.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && comp.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && comp
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && !comp.contains("..")
                && !comp.contains("___");
            if !ok {
                return Err(format!(
                    "the repository part {comp:?} is not valid: lowercase letters, digits and separators (., _, -) between them"
                ));
            }
        }
        Ok(ImageRef {
            name: name.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// The reference with `default_tag` appended only when it names neither
    /// a tag nor a digest.
    pub fn with_default_tag(&self, default_tag: &str) -> String {
        let mut out = self.name.clone();
        match (&self.tag, &self.digest) {
            (Some(t), _) => out += &format!(":{t}"),
            (None, None) => out += &format!(":{default_tag}"),
            (None, Some(_)) => {}
        }
        if let Some(d) = &self.digest {
            out += &format!("@{d}");
        }
        out
    }
}

/// `--image` parsed, or an input error naming `--image`.
pub fn image_reference(image: &str, default_tag: &str) -> Result<String, DeployError> {
    ImageRef::parse(image)
        .map(|r| r.with_default_tag(default_tag))
        .map_err(|e| {
            DeployError::input(vec![Problem::error(
                "--image",
                format!("the image reference {e}"),
                "give NAME, NAME:TAG, REGISTRY[:PORT]/NAME[:TAG] or NAME@sha256:DIGEST (lowercase repository)".into(),
            )])
        })
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Image reference. Without a tag or digest, the tag is
    /// `${PROSODY_VERSION:-latest}`; a given tag or digest is kept as is.
    pub image: String,
    /// `--config-dir`, absolute: mounted read-only into the container.
    pub config_dir: Option<PathBuf>,
}

/// The image compose and Kubernetes name without `--image`.
pub const DEFAULT_IMAGE: &str = "prosody";

impl Default for Options {
    fn default() -> Options {
        Options {
            image: DEFAULT_IMAGE.into(),
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

/// The `environment:` map; `raw` gives values written as they are (compose
/// interpolation such as `${NAME:?message}`), by variable name.
fn env_map(vars: &[EnvVar], raw: &[(&str, String)]) -> Map {
    let mut m = Map::new();
    let mut group = String::new();
    for v in vars {
        let value = raw
            .iter()
            .find(|(n, _)| *n == v.name)
            .map_or_else(|| interpolated(v), |(_, r)| r.clone());
        if v.group != group {
            group = v.group.clone();
            m.insert_commented(&group, &v.name, value);
        } else {
            m.insert(&v.name, value);
        }
    }
    m
}

/// What compose.yaml sets PROSODY_DOMAIN to without `--domain`: the
/// shell's (or env file's) PROSODY_DOMAIN, and `docker compose up` stops
/// with this message while it is unset or empty.
pub const REQUIRED_DOMAIN: &str =
    "${PROSODY_DOMAIN:?set PROSODY_DOMAIN to the XMPP domain to serve}";

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

/// The ports the container listens on: (name, port). Direct TLS
/// (XEP-0368) comes from the rendered `c2s_direct_tls_ports`, so whatever
/// set it (the profile's PROSODY_C2S_DIRECT_TLS_PORT, `local.cfg.lua`,
/// `--set`) is published, and nothing when it is off; every port of the
/// list is published (`c2s-tls`, `c2s-tls-2`, ...).
pub fn listening_ports(build: &Build) -> Vec<(String, u16)> {
    let on = |f: &str| build.resolution.order.iter().any(|x| x == f);
    let mut ports = vec![
        ("c2s".to_string(), port(build, "PROSODY_C2S_PORT", 5222)),
        ("s2s".to_string(), port(build, "PROSODY_S2S_PORT", 5269)),
    ];
    for (i, p) in build.ports("c2s_direct_tls_ports").into_iter().enumerate() {
        let name = match i {
            0 => "c2s-tls".to_string(),
            n => format!("c2s-tls-{}", n + 1),
        };
        ports.push((name, p));
    }
    if on("web/http") {
        ports.push(("http".into(), port(build, "PROSODY_HTTP_PORT", 5280)));
        ports.push(("https".into(), port(build, "PROSODY_HTTPS_PORT", 5281)));
    }
    if on("services/proxy65") {
        ports.push(("proxy65".into(), port(build, "PROSODY_PROXY65_PORT", 5000)));
    }
    ports
}

/// Ports compose.yaml leaves to the environment overlay, because whether
/// they are open depends on the environment (direct TLS: the standard and
/// enterprise profiles open it, the development environment closes it), and
/// compose.yaml is the same for every environment.
fn is_environment_port(name: &str) -> bool {
    name.starts_with("c2s-tls")
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

/// `pfe healthcheck` with no `--server`: inside the container it probes the
/// c2s port of the config the entrypoint wrote, so a PROSODY_C2S_PORT set at
/// `up` time is followed (see `pfe healthcheck --help`).
fn healthcheck() -> Map {
    Map::new()
        .with(
            "test",
            flow(["CMD".to_string(), "pfe".into(), "healthcheck".into()]),
        )
        .with("interval", "30s")
        .with("timeout", "10s")
        .with("retries", 3i64)
        .with("start_period", "60s")
}

fn regenerate(req: &Request, domain_given: bool, domains: &[String]) -> String {
    let mut cmd = format!("pfe compose {} {}", req.profile, req.environment);
    if domain_given {
        for d in domains {
            cmd += &format!(" --domain {d}");
        }
    }
    cmd + &req.selection_flags() + " -o DIR --force"
}

/// Renders compose.yaml and compose.<env>.yaml for `req` (whose `env` is
/// the caller's environment). Nothing is written.
pub fn render(catalog: &Catalog, req: &Request, opts: &Options) -> Result<Output, DeployError> {
    let image = image_reference(&opts.image, "${PROSODY_VERSION:-latest}")?;
    let mut req = req.clone();
    req.command = ENTRYPOINT_COMMAND.into();
    let postgres = is_postgres(&req.env);
    if postgres && env_value(&req.env, "PROSODY_DB_HOST").is_none() {
        // The db service of this file.
        req.env.insert("PROSODY_DB_HOST".into(), "db".into());
    }
    container_http_interfaces(&mut req.env);
    let domain_given = req.domain.is_some()
        || env_value(&req.env, "PROSODY_DOMAIN").is_some()
        || env_value(&req.env, "PROSODY_DOMAINS").is_some();
    crate::domains_into_env(&mut req);
    let problems = crate::checks::check_environment(
        catalog,
        &req.env,
        crate::checks::Checks {
            render: true,
            require_domain: false,
            require_db_host: false,
        },
    )?;
    if problems.iter().any(Problem::is_error) {
        return Err(DeployError::input(problems));
    }
    let (build, mut warnings) = crate::build_checked(catalog, &req)?;
    warnings += &crate::render_problems(&problems);
    warnings += &crate::render_problems(&crate::ignored_secrets(&build));
    let resources = resources::container_resources(&build.profile, &resource_env(&build, &req))
        .map_err(DeployError::input)?;

    let mut extra = vec![("CREDENTIALS_DIRECTORY", SECRETS_DIR.to_string())];
    if opts.config_dir.is_some() {
        extra.push(("PFE_CONFIG_DIR", CATALOG_MOUNT.to_string()));
    }
    let env = crate::container_env(catalog, &build, &req, &extra)?;
    crate::check_reproducible(catalog, &build, ENTRYPOINT_COMMAND, &env.merged())?;

    let base_env = env.base.clone();
    // No default domain: compose interpolates the shell's PROSODY_DOMAIN and
    // refuses to start until the operator sets it.
    let mut raw_env = Vec::new();
    if !domain_given && base_env.iter().any(|v| v.name == "PROSODY_DOMAIN") {
        raw_env.push(("PROSODY_DOMAIN", REQUIRED_DOMAIN.to_string()));
    }

    let secrets_needed = needed_secrets(&build);
    let profile = &build.profile.id;
    let environment = &build.environment.id;

    // The prosody service.
    let mut svc = Map::new()
        .with("image", image)
        .with("restart", "unless-stopped")
        .with_comment(
            "pfe entrypoint runs as PID 1's child: init reaps and forwards signals",
            "init",
            true,
        )
        .with("environment", env_map(&base_env, &raw_env))
        .with(
            "ports",
            strings(
                listening_ports(&build)
                    .iter()
                    .filter(|(n, _)| !is_environment_port(n))
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
        "certificates: ./certs/<domain>.crt and .key (or <domain>/fullchain.pem and privkey.pem),\nreadable by the image's prosody user (uid 999); production and staging refuse to start\nwithout them, development and testing make a self-signed one in prosody_data",
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
    svc.insert("healthcheck", healthcheck());
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

    let regen = regenerate(&req, domain_given, &build.domains);
    let base_header = vec![
        format!(
            "compose.yaml — Prosody, profile {profile}; generated by {}.",
            crate::generator()
        ),
        "Start it with an environment overlay:".to_string(),
        format!("  docker compose -f compose.yaml -f compose.{environment}.yaml up -d"),
        format!("Regenerate with: {regen}"),
        "${NAME:-default} values can be overridden from the shell or an env file (pfe env).".into(),
    ];
    let mut overlay_svc = Map::new().with("environment", env_map(&env.overlay, &[]));
    let env_ports: Vec<String> = listening_ports(&build)
        .iter()
        .filter(|(n, _)| is_environment_port(n))
        .map(|(_, p)| format!("{p}:{p}"))
        .collect();
    if !env_ports.is_empty() {
        overlay_svc.insert_commented(
            "direct TLS (XEP-0368, c2s_direct_tls_ports): open in this environment;\nCompose adds these to compose.yaml's ports",
            "ports",
            strings(env_ports),
        );
    }
    let overlay = Map::new().with("services", Map::new().with("prosody", overlay_svc));
    let overlay_header = vec![
        format!(
            "compose.{environment}.yaml — the {environment} environment for compose.yaml (profile {profile}); generated by {}.",
            crate::generator()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_keep_their_tag_or_digest() {
        let tag = |r: &str| ImageRef::parse(r).unwrap().with_default_tag("latest");
        assert_eq!(tag("prosody"), "prosody:latest");
        assert_eq!(tag("localhost/prosody:test"), "localhost/prosody:test");
        assert_eq!(
            tag("registry.example.org:5000/team/prosody"),
            "registry.example.org:5000/team/prosody:latest"
        );
        assert_eq!(tag("host:5000/prosody:13.0"), "host:5000/prosody:13.0");
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            tag(&format!("prosody@{digest}")),
            format!("prosody@{digest}")
        );
        assert_eq!(
            tag(&format!("ghcr.io/x/prosody:13@{digest}")),
            format!("ghcr.io/x/prosody:13@{digest}")
        );
        let r = ImageRef::parse("host:5000/prosody").unwrap();
        assert_eq!((r.name.as_str(), r.tag), ("host:5000/prosody", None));
    }

    #[test]
    fn invalid_image_references_are_refused() {
        for bad in [
            "",
            "pro sody",
            "prosody\n",
            "Prosody",
            "team/Prosody:1",
            "prosody:",
            "prosody:a:b",
            "prosody:-x",
            "prosody@sha256:abc",
            "host:port/prosody",
            "/prosody",
            "prosody/",
            "a//b",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let e = image_reference("a b", "latest").unwrap_err().to_string();
        assert!(e.contains("--image"), "{e}");
    }
}
