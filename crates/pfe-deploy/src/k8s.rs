//! `pfe k8s`: Kubernetes manifests for one profile × environment.
//!
//! * `configmap.yaml` — the rendered prosody.cfg.lua (what `pfe generate`
//!   prints), mounted at /etc/prosody/prosody.cfg.lua; the entrypoint runs
//!   it unchanged (PFE_USE_CONFIG), so what was reviewed is what runs;
//! * `service.yaml` — a Service for c2s, s2s and HTTP, and the headless
//!   Service the StatefulSet needs;
//! * `statefulset.yaml` — one Prosody pod, data on a PersistentVolumeClaim
//!   (volumeClaimTemplates) sized from the profile's storage, resources from
//!   the profile, exec probes running `pfe healthcheck`, non-root with a
//!   read-only root file system, secrets projected from the Secret
//!   `<name>-secrets` at /run/secrets (references only, never values) and
//!   the TLS certificate from the Secret `<name>-tls`.
//!
//! Apply with `kubectl apply -f DIR`. Validated with kubernetes-validate
//! against Kubernetes [`KUBERNETES_VERSIONS`].

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

use crate::compose::{
    CERTS_DIR, CONFIG_PATH, DATA_DIR, SECRETS_DIR, image_reference, listening_ports, needed_secrets,
};
use crate::resources::{self, k8s_bytes, k8s_cpu};
use crate::yaml::{self, Map, Yaml, strings};
use crate::{DeployError, Problem, env_value};
use pfe_core::catalog::Catalog;
use pfe_core::engine::{Build, Request};

/// The Kubernetes versions the manifests are validated against
/// (kubernetes-validate --strict), oldest to newest.
pub const KUBERNETES_VERSIONS: &[&str] = &[
    "1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0",
];

/// The image's prosody user and group (docker/Dockerfile).
pub const UID: i64 = 999;

#[derive(Debug, Clone)]
pub struct Options {
    /// Image reference; without a tag or digest, the tag is PROSODY_VERSION
    /// (default latest); a given tag or digest is kept as is.
    pub image: String,
    /// Name of the StatefulSet and prefix of the other objects.
    pub name: String,
}

/// The StatefulSet's name without `--name`, prefix of the other objects.
pub const DEFAULT_NAME: &str = "prosody";

impl Default for Options {
    fn default() -> Options {
        Options {
            image: super::compose::DEFAULT_IMAGE.into(),
            name: DEFAULT_NAME.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Output {
    /// (file name, text): configmap.yaml, service.yaml, statefulset.yaml.
    pub files: Vec<(String, String)>,
    /// The Secret keys to create: (key, required).
    pub secrets: Vec<(String, bool)>,
    pub warnings: String,
}

/// Whether `name` is a DNS-1123 label (what object names must be).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 52
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn labels(opts: &Options, build: &Build) -> Map {
    Map::new()
        .with("app.kubernetes.io/name", "prosody")
        .with("app.kubernetes.io/instance", opts.name.clone())
        .with("app.kubernetes.io/managed-by", "pfe")
        .with("pfe/profile", build.profile.id.clone())
        .with("pfe/environment", build.environment.id.clone())
}

fn selector(opts: &Options) -> Map {
    Map::new()
        .with("app.kubernetes.io/name", "prosody")
        .with("app.kubernetes.io/instance", opts.name.clone())
}

fn metadata(name: String, opts: &Options, build: &Build) -> Map {
    Map::new()
        .with("name", name)
        .with("labels", labels(opts, build))
}

/// `pfe healthcheck` with no `--server`: it probes the c2s port of the
/// mounted config (PFE_USE_CONFIG), whatever port that config sets.
fn probe(period: i64, timeout: i64, failures: i64) -> Map {
    Map::new()
        .with(
            "exec",
            Map::new().with(
                "command",
                strings([
                    "pfe".to_string(),
                    "healthcheck".into(),
                    "--timeout".into(),
                    format!("{}", (timeout * 1000 - 500).max(1000)),
                ]),
            ),
        )
        .with("periodSeconds", period)
        .with("timeoutSeconds", timeout)
        .with("failureThreshold", failures)
}

fn regenerate(req: &Request, opts: &Options, domains: &[String]) -> String {
    let mut cmd = format!("pfe k8s {} {}", req.profile, req.environment);
    for d in domains {
        cmd += &format!(" --domain {d}");
    }
    if opts.name != "prosody" {
        cmd += &format!(" --name {}", opts.name);
    }
    if opts.image != "prosody" {
        cmd += &format!(" --image {}", opts.image);
    }
    cmd + &req.selection_flags() + " -o DIR --force"
}

/// Renders the manifests for `req` (whose `env` is the caller's
/// environment). Nothing is written.
pub fn render(catalog: &Catalog, req: &Request, opts: &Options) -> Result<Output, DeployError> {
    if !valid_name(&opts.name) {
        return Err(DeployError::input(vec![Problem::error(
            "--name",
            format!("{:?} is not a valid Kubernetes object name", opts.name),
            "use lowercase letters, digits and '-', starting with a letter (at most 52 characters)"
                .into(),
        )]));
    }
    let mut req = req.clone();
    // Checked before anything else; the default tag comes from the build.
    image_reference(&opts.image, "latest")?;
    crate::domains_into_env(&mut req);
    crate::compose::container_http_interfaces(&mut req.env);
    let mut problems = crate::checks::check_environment(
        catalog,
        &req.env,
        crate::checks::Checks {
            render: true,
            require_domain: true,
            require_db_host: true,
        },
    )?;
    if let Some(p) = problems.iter_mut().find(|p| p.subject == "PROSODY_DOMAIN") {
        p.help = format!(
            "pass --domain chat.example.org (or set PROSODY_DOMAIN); {}",
            p.help
        );
    }
    if problems.iter().any(Problem::is_error) {
        return Err(DeployError::input(problems));
    }
    let domains = match env_value(&req.env, "PROSODY_DOMAINS") {
        Some(list) => list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        None => vec![
            env_value(&req.env, "PROSODY_DOMAIN")
                .unwrap_or("")
                .trim()
                .to_string(),
        ],
    };
    req.command = regenerate(&req, opts, &domains);
    let (build, mut warnings) = crate::build_checked(catalog, &req)?;
    warnings += &crate::render_problems(&problems);
    warnings += &crate::render_problems(&crate::ignored_secrets(&build));
    let mut res_env: HashMap<String, String> =
        build.profile.variables.clone().into_iter().collect();
    res_env.extend(req.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let resources =
        resources::container_resources(&build.profile, &res_env).map_err(DeployError::input)?;
    let storage = resources::storage(&build.profile).map_err(|p| DeployError::input(vec![p]))?;
    let secrets = needed_secrets(&build);
    let image = image_reference(
        &opts.image,
        env_value(&build.env, "PROSODY_VERSION")
            .unwrap_or("latest")
            .trim(),
    )?;
    if let Err(e) = crate::compose::ImageRef::parse(&image) {
        return Err(DeployError::input(vec![Problem::error(
            "PROSODY_VERSION",
            format!("makes the image reference {e}"),
            "set it to an image tag such as 13 or 13.0.2".into(),
        )]));
    }
    let name = &opts.name;
    let header = |what: &str| {
        vec![
            format!(
                "{what} for Prosody, profile {}, environment {}, {}; generated by {}.",
                build.profile.id,
                build.environment.id,
                build.domains_text(),
                crate::generator()
            ),
            format!("Regenerate with: {}", req.command),
        ]
    };

    // ConfigMap.
    let configmap = Map::new()
        .with("apiVersion", "v1")
        .with("kind", "ConfigMap")
        .with("metadata", metadata(format!("{name}-config"), opts, &build))
        .with(
            "data",
            Map::new().with("prosody.cfg.lua", build.config.clone()),
        );

    // Services.
    let ports = listening_ports(&build);
    let service_ports = Yaml::Seq(
        ports
            .iter()
            .map(|(n, p)| {
                Map::new()
                    .with("name", n.as_str())
                    .with("port", i64::from(*p))
                    .with("targetPort", n.as_str())
                    .with("protocol", "TCP")
                    .into()
            })
            .collect(),
    );
    let service = Map::new()
        .with("apiVersion", "v1")
        .with("kind", "Service")
        .with("metadata", metadata(name.clone(), opts, &build))
        .with(
            "spec",
            Map::new()
                .with_comment(
                    "clients and other servers connect here; use LoadBalancer (or a TCP-capable\ningress) to reach 5222/5269 from outside the cluster",
                    "type",
                    "ClusterIP",
                )
                .with("selector", selector(opts))
                .with("ports", service_ports.clone()),
        );
    let headless = Map::new()
        .with("apiVersion", "v1")
        .with("kind", "Service")
        .with(
            "metadata",
            metadata(format!("{name}-headless"), opts, &build),
        )
        .with(
            "spec",
            Map::new()
                .with_comment("the StatefulSet's governing Service", "clusterIP", "None")
                .with("selector", selector(opts))
                .with("ports", service_ports),
        );

    // The container.
    let mut env = Vec::new();
    let mut push_env = |n: &str, v: String| {
        env.push(Yaml::Map(Map::new().with("name", n).with("value", v)));
    };
    for v in [
        "PROSODY_PROFILE",
        "PROSODY_ENVIRONMENT",
        "PROSODY_DOMAIN",
        "PROSODY_DOMAINS",
        "PROSODY_ADMINS",
    ] {
        if let Some(val) = env_value(&build.env, v) {
            push_env(v, val.to_string());
        }
    }
    // Non-secret ENV_* references are read by Prosody at start.
    let refs = crate::secrets::scan(&build.config);
    for r in &refs.env {
        if let Some(var) = build.variables.iter().find(|v| &v.name == r && !v.secret)
            && let Some(val) = env_value(&build.env, &var.name)
        {
            push_env(&var.name, val.to_string());
        }
    }
    push_env("PFE_USE_CONFIG", CONFIG_PATH.into());
    if !secrets.is_empty() {
        push_env("CREDENTIALS_DIRECTORY", SECRETS_DIR.into());
    }
    let mut mounts = vec![
        Map::new()
            .with("name", "config")
            .with("mountPath", CONFIG_PATH)
            .with("subPath", "prosody.cfg.lua")
            .with("readOnly", true),
        Map::new().with("name", "data").with("mountPath", DATA_DIR),
        Map::new()
            .with("name", "certs")
            .with("mountPath", CERTS_DIR)
            .with("readOnly", true),
    ];
    if !secrets.is_empty() {
        mounts.push(
            Map::new()
                .with("name", "secrets")
                .with("mountPath", SECRETS_DIR)
                .with("readOnly", true),
        );
    }
    mounts.push(Map::new().with("name", "tmp").with("mountPath", "/tmp"));
    let mut container = Map::new()
        .with("name", "prosody")
        .with("image", image)
        .with("imagePullPolicy", "IfNotPresent")
        .with("env", Yaml::Seq(env))
        .with(
            "ports",
            Yaml::Seq(
                ports
                    .iter()
                    .map(|(n, p)| {
                        Map::new()
                            .with("name", n.as_str())
                            .with("containerPort", i64::from(*p))
                            .with("protocol", "TCP")
                            .into()
                    })
                    .collect(),
            ),
        )
        .with(
            "volumeMounts",
            Yaml::Seq(mounts.into_iter().map(Yaml::Map).collect()),
        );
    if let Some(r) = resources {
        container.insert_commented(
            &format!(
                "from profile {}'s resource_requirements ({} / {}); requests a quarter of the memory and\nhalf of the CPU",
                build.profile.id,
                build.profile.resources.memory.as_deref().unwrap_or("-"),
                build.profile.resources.cpu.as_deref().unwrap_or("-"),
            ),
            "resources",
            Map::new()
                .with(
                    "requests",
                    Map::new()
                        .with("memory", k8s_bytes(r.memory_reserve))
                        .with("cpu", k8s_cpu(r.cpu_reserve)),
                )
                .with(
                    "limits",
                    Map::new()
                        .with("memory", k8s_bytes(r.memory_limit))
                        .with("cpu", k8s_cpu(r.cpu_limit)),
                ),
        );
    }
    container.insert_commented(
        "pfe healthcheck opens a c2s stream and waits for <stream:features>",
        "startupProbe",
        probe(5, 5, 24),
    );
    container.insert("livenessProbe", probe(30, 10, 3));
    container.insert("readinessProbe", probe(10, 5, 3));
    container.insert(
        "securityContext",
        Map::new()
            .with("allowPrivilegeEscalation", false)
            .with("readOnlyRootFilesystem", true)
            .with("capabilities", Map::new().with("drop", strings(["ALL"]))),
    );

    // The entrypoint refuses to start production and staging without a
    // certificate, so the Secret is required there; development and testing
    // fall back to a self-signed certificate.
    let self_signed_ok =
        crate::secrets::LENIENT_ENVIRONMENTS.contains(&build.environment.id.as_str());
    let mut volumes = vec![
        Map::new().with("name", "config").with(
            "configMap",
            Map::new().with("name", format!("{name}-config")),
        ),
        Map::new().with("name", "certs").with_comment(
            &format!(
                "a kubernetes.io/tls Secret (e.g. from cert-manager) for {} and {}{}",
                build.domains.join(", "),
                if build.domains.len() > 1 {
                    "their sub-domains (one certificate naming every served host, mounted for each domain)"
                } else {
                    "its sub-domains"
                },
                if self_signed_ok {
                    ";\noptional in {env}: without it the entrypoint makes a self-signed one on the data volume"
                        .replace("{env}", &build.environment.id)
                } else {
                    "; required".to_string()
                }
            ),
            "secret",
            Map::new()
                .with("secretName", format!("{name}-tls"))
                .with("optional", self_signed_ok)
                .with(
                    "items",
                    Yaml::Seq(
                        build
                            .domains
                            .iter()
                            .flat_map(|d| {
                                [
                                    Map::new()
                                        .with("key", "tls.crt")
                                        .with("path", format!("{d}.crt"))
                                        .into(),
                                    Map::new()
                                        .with("key", "tls.key")
                                        .with("path", format!("{d}.key"))
                                        .into(),
                                ]
                            })
                            .collect(),
                    ),
                ),
        ),
    ];
    if !secrets.is_empty() {
        let sources = secrets
            .iter()
            .map(|(key, required)| {
                Map::new()
                    .with(
                        "secret",
                        Map::new()
                            .with("name", format!("{name}-secrets"))
                            .with("optional", !required)
                            .with(
                                "items",
                                Yaml::Seq(vec![
                                    Map::new()
                                        .with("key", key.clone())
                                        .with("path", key.clone())
                                        .into(),
                                ]),
                            ),
                    )
                    .into()
            })
            .collect();
        let keys: Vec<String> = secrets
            .iter()
            .map(|(k, _)| format!("--from-file={k}=..."))
            .collect();
        volumes.push(
            Map::new().with("name", "secrets").with_comment(
                &format!(
                    "references only: kubectl create secret generic {name}-secrets {}",
                    keys.join(" ")
                ),
                "projected",
                Map::new()
                    .with_comment("0440", "defaultMode", 288i64)
                    .with("sources", Yaml::Seq(sources)),
            ),
        );
    }
    volumes.push(
        Map::new().with("name", "tmp").with(
            "emptyDir",
            Map::new()
                .with("medium", "Memory")
                .with("sizeLimit", "16Mi"),
        ),
    );

    let digest = Sha256::digest(build.config.as_bytes());
    let checksum: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let pod_spec = Map::new()
        .with(
            "securityContext",
            Map::new()
                .with("runAsNonRoot", true)
                .with("runAsUser", UID)
                .with("runAsGroup", UID)
                .with("fsGroup", UID)
                .with("seccompProfile", Map::new().with("type", "RuntimeDefault")),
        )
        .with("terminationGracePeriodSeconds", 30i64)
        .with("containers", Yaml::Seq(vec![container.into()]))
        .with(
            "volumes",
            Yaml::Seq(volumes.into_iter().map(Yaml::Map).collect()),
        );
    let mut spec = Map::new()
        .with("serviceName", format!("{name}-headless"))
        .with("replicas", 1i64)
        .with("selector", Map::new().with("matchLabels", selector(opts)))
        .with(
            "template",
            Map::new()
                .with(
                    "metadata",
                    Map::new()
                        .with("labels", labels(opts, &build))
                        .with_comment(
                            "a new config rolls the pod",
                            "annotations",
                            Map::new().with("checksum/config", checksum),
                        ),
                )
                .with("spec", pod_spec),
        );
    let mut claim = Map::new().with("accessModes", strings(["ReadWriteOnce"]));
    claim.insert(
        "resources",
        Map::new().with(
            "requests",
            Map::new().with("storage", k8s_bytes(storage.unwrap_or(1024 * 1024 * 1024))),
        ),
    );
    spec.insert_commented(
        &format!(
            "Prosody's data ({DATA_DIR}), sized from profile {}'s storage ({})",
            build.profile.id,
            build
                .profile
                .resources
                .storage
                .as_deref()
                .unwrap_or("1GB by default")
        ),
        "volumeClaimTemplates",
        Yaml::Seq(vec![
            Map::new()
                .with("metadata", Map::new().with("name", "data"))
                .with("spec", claim)
                .into(),
        ]),
    );
    let statefulset = Map::new()
        .with("apiVersion", "apps/v1")
        .with("kind", "StatefulSet")
        .with("metadata", metadata(name.clone(), opts, &build))
        .with("spec", spec);

    Ok(Output {
        files: vec![
            (
                "configmap.yaml".into(),
                yaml::document(
                    &header("ConfigMap (the rendered prosody.cfg.lua)"),
                    &configmap.into(),
                ),
            ),
            (
                "service.yaml".into(),
                yaml::documents(&[
                    (header("Services"), service.into()),
                    (vec![], headless.into()),
                ]),
            ),
            (
                "statefulset.yaml".into(),
                yaml::document(&header("StatefulSet"), &statefulset.into()),
            ),
        ],
        secrets,
        warnings,
    })
}
