//! What `pfe compose` and `pfe k8s` write, and the image recipe:
//!
//! * golden files (insta snapshots) for every profile × environment: the
//!   compose base file and overlay, the Kubernetes manifests. The rendered
//!   config inside the ConfigMap (and its checksum) is replaced by a marker
//!   in the snapshots and compared with `pfe generate`'s output instead, so
//!   catalog edits do not churn these snapshots;
//! * the compose files validate against the Compose Specification schema
//!   (check-jsonschema, schema from ../shared/schemas/compose-spec.json);
//! * the manifests validate with kubernetes-validate --strict for every
//!   targeted Kubernetes version;
//! * docker/Dockerfile passes hadolint with no findings at all.
//!
//! The tools are installed by scripts/install-deps.sh; a missing one fails.
//!
//! After an intended change to the generated files (a catalog variable's
//! default, a new feature's port), review and accept the new snapshots with
//! `INSTA_UPDATE=always cargo test --test deploy_artifacts` and `git diff
//! tests/snapshots`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pfe_core::catalog::Catalog;
use pfe_core::engine::Request;
use pfe_deploy::{compose, k8s};
use pfe_testkit::{command as pfe, repo_root, require_tool};
use sha2::{Digest as _, Sha256};

const DOMAIN: &str = "chat.example.org";

fn catalog() -> Catalog {
    Catalog::builtin()
}

fn pairs() -> Vec<(String, String)> {
    let c = catalog();
    let mut out = Vec::new();
    for p in c.profiles() {
        for e in c.environments() {
            out.push((p.clone(), e.clone()));
        }
    }
    assert_eq!(out.len(), 16, "4 profiles × 4 environments");
    out
}

fn request(profile: &str, environment: &str, env: &[(&str, &str)]) -> Request {
    Request {
        profile: profile.into(),
        environment: environment.into(),
        domain: Some(DOMAIN.into()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        ..Request::default()
    }
}

fn compose_files(profile: &str, environment: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
    compose::render(
        &catalog(),
        &request(profile, environment, env),
        &compose::Options::default(),
    )
    .unwrap_or_else(|e| panic!("compose {profile} {environment}: {e:?}"))
    .files
}

fn k8s_files(profile: &str, environment: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
    k8s::render(
        &catalog(),
        &request(profile, environment, env),
        &k8s::Options::default(),
    )
    .unwrap_or_else(|e| panic!("k8s {profile} {environment}: {e:?}"))
    .files
}

/// `pfe generate PROFILE ENV --domain D` without its "Regenerate with" line.
fn generated_config(profile: &str, environment: &str, extra_env: &[(&str, &str)]) -> String {
    let out = pfe()
        .args(["generate", profile, environment, "--domain", DOMAIN])
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    without_regenerate(&String::from_utf8(out.stdout).unwrap())
}

fn without_regenerate(config: &str) -> String {
    config
        .lines()
        .filter(|l| !l.starts_with("-- Regenerate with:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Replaces the ConfigMap's literal block and the checksum annotation with
/// markers, after checking them against `pfe generate`.
fn redact_k8s(name: &str, text: &str, expected_config: &str) -> String {
    if name == "configmap.yaml" {
        let marker = "  prosody.cfg.lua: |\n";
        let start = text.find(marker).expect("config block") + marker.len();
        let block: String = text[start..]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
            .collect();
        assert_eq!(
            without_regenerate(&block),
            expected_config,
            "the ConfigMap holds the generated config"
        );
        format!("{}    <the config of `pfe generate`>\n", &text[..start])
    } else if name == "statefulset.yaml" {
        let (start, end) = checksum_span(text);
        assert_eq!(end - start, 64, "a sha256 hex digest");
        // Quoted or plain depending on the digest's first character.
        let quoted = text[..start].ends_with('"');
        let (start, end) = if quoted {
            (start - 1, end + 1)
        } else {
            (start, end)
        };
        format!("{}<sha256 of the config>{}", &text[..start], &text[end..])
    } else {
        text.to_string()
    }
}

/// Where the hex digest of `checksum/config: <hex>` (quoted or not) is.
fn checksum_span(text: &str) -> (usize, usize) {
    let key = "checksum/config: ";
    let mut start = text.find(key).expect("checksum annotation") + key.len();
    if text[start..].starts_with('"') {
        start += 1;
    }
    let len = text[start..]
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap();
    (start, start + len)
}

#[test]
fn compose_golden_files() {
    for profile in catalog().profiles() {
        let mut base: Option<String> = None;
        for environment in catalog().environments() {
            let files = compose_files(&profile, &environment, &[]);
            assert_eq!(files.len(), 2);
            assert_eq!(files[0].0, "compose.yaml");
            assert_eq!(files[1].0, format!("compose.{environment}.yaml"));
            let without_header = |t: &str| {
                t.lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            match &base {
                None => base = Some(files[0].1.clone()),
                Some(b) => assert_eq!(
                    without_header(b),
                    without_header(&files[0].1),
                    "compose.yaml of {profile} must not depend on the environment ({environment})"
                ),
            }
            for (name, text) in &files {
                assert!(
                    !text.lines().any(|l| l.starts_with("version:")),
                    "{name}: the current Compose Specification has no version key"
                );
            }
            insta::assert_snapshot!(
                format!("compose_{profile}_{environment}_overlay"),
                files[1].1
            );
        }
        insta::assert_snapshot!(format!("compose_{profile}_base"), base.unwrap());
    }
}

#[test]
fn compose_golden_postgres_and_admin() {
    let files = compose_files(
        "standard",
        "production",
        &[
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_ADMINS", "admin@chat.example.org"),
        ],
    );
    insta::assert_snapshot!("compose_standard_postgres_base", files[0].1);
}

#[test]
fn k8s_golden_files() {
    for (profile, environment) in pairs() {
        // Containers serve plain HTTP on every interface (issue 9, defect 7).
        let config = generated_config(&profile, &environment, &[("PROSODY_HTTP_INTERFACES", "*")]);
        for (name, text) in k8s_files(&profile, &environment, &[]) {
            let stem = name.trim_end_matches(".yaml");
            insta::assert_snapshot!(
                format!("k8s_{profile}_{environment}_{stem}"),
                redact_k8s(&name, &text, &config)
            );
        }
    }
}

#[test]
fn k8s_golden_postgres() {
    let env = [
        ("PROSODY_STORAGE", "postgres"),
        ("PROSODY_DB_HOST", "db.example.internal"),
        ("PROSODY_ADMINS", "admin@chat.example.org"),
    ];
    let mut with_http = env.to_vec();
    with_http.push(("PROSODY_HTTP_INTERFACES", "*"));
    let config = generated_config("minimal", "production", &with_http);
    for (name, text) in k8s_files("minimal", "production", &env) {
        if name == "statefulset.yaml" {
            insta::assert_snapshot!(
                "k8s_minimal_postgres_statefulset",
                redact_k8s(&name, &text, &config)
            );
        } else {
            redact_k8s(&name, &text, &config);
        }
    }
}

#[test]
fn checksum_is_the_sha256_of_the_config() {
    let files = k8s_files("standard", "production", &[]);
    let cm = &files.iter().find(|(n, _)| n == "configmap.yaml").unwrap().1;
    let sts = &files
        .iter()
        .find(|(n, _)| n == "statefulset.yaml")
        .unwrap()
        .1;
    let marker = "  prosody.cfg.lua: |\n";
    let block: String = cm[cm.find(marker).unwrap() + marker.len()..]
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let digest: String = Sha256::digest(block.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (start, end) = checksum_span(sts);
    assert_eq!(sts[start..end], digest, "{sts}");
}

// ---- schema validation ------------------------------------------------

fn compose_schema() -> PathBuf {
    let p = repo_root().join("../shared/schemas/compose-spec.json");
    assert!(
        p.is_file(),
        "the Compose Specification schema is missing at {} (shared/ must sit beside the repository, as in CI)",
        p.display()
    );
    p
}

fn write_all(dir: &Path, files: &[(String, String)]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    files
        .iter()
        .map(|(n, t)| {
            let p = dir.join(n);
            std::fs::write(&p, t).unwrap();
            p
        })
        .collect()
}

fn check_jsonschema(files: &[PathBuf]) -> std::process::Output {
    let tool = require_tool("check-jsonschema");
    Command::new(tool)
        .arg("--schemafile")
        .arg(compose_schema())
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn compose_files_validate_against_the_compose_specification() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (profile, environment) in pairs() {
        let files = compose_files(&profile, &environment, &[]);
        all.extend(write_all(
            &tmp.path().join(format!("{profile}-{environment}")),
            &files,
        ));
    }
    for (tag, env) in [
        (
            "postgres",
            vec![
                ("PROSODY_STORAGE", "postgres"),
                ("PROSODY_ADMINS", "admin@chat.example.org"),
            ],
        ),
        (
            "enterprise-turn",
            vec![
                ("PROSODY_C2S_PORT", "15222"),
                ("PROSODY_C2S_DIRECT_TLS_PORT", "5223"),
            ],
        ),
        ("limits-off", vec![("PROSODY_RESOURCE_LIMITS", "false")]),
    ] {
        let files = compose_files("enterprise", "production", &env);
        all.extend(write_all(&tmp.path().join(tag), &files));
    }
    let mut req = request("minimal", "development", &[]);
    req.domain = None;
    req.with = vec!["messaging/archive".into()];
    req.sets = vec!["c2s_timeout=120".into()];
    let files = compose::render(&catalog(), &req, &compose::Options::default())
        .unwrap()
        .files;
    assert!(
        files[0].1.contains("${PROSODY_DOMAIN:?"),
        "no domain: compose must require one"
    );
    all.extend(write_all(&tmp.path().join("no-domain"), &files));

    let out = check_jsonschema(&all);
    assert!(
        out.status.success(),
        "check-jsonschema failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("check-jsonschema: {} compose files valid", all.len());

    // The validator does catch a broken file.
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "services:\n  prosody:\n    ports: 5222\n    restart: sometimes\n",
    )
    .unwrap();
    assert!(
        !check_jsonschema(&[bad]).status.success(),
        "check-jsonschema accepted a broken file"
    );
}

fn kubernetes_validate(version: &str, files: &[PathBuf]) -> std::process::Output {
    Command::new(require_tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "--kubernetes-version", version])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn manifests_validate_with_kubernetes_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (profile, environment) in pairs() {
        let files = k8s_files(&profile, &environment, &[]);
        all.extend(write_all(
            &tmp.path().join(format!("{profile}-{environment}")),
            &files,
        ));
    }
    let files = k8s_files(
        "enterprise",
        "production",
        &[
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_HOST", "db"),
            ("PROSODY_ADMINS", "admin@chat.example.org"),
        ],
    );
    all.extend(write_all(&tmp.path().join("postgres"), &files));
    for version in k8s::KUBERNETES_VERSIONS {
        let out = kubernetes_validate(version, &all);
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {version} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!(
        "kubernetes-validate: {} manifests valid for Kubernetes {}",
        all.len(),
        k8s::KUBERNETES_VERSIONS.join(", ")
    );
    // --strict does reject an unknown field.
    let bad = tmp.path().join("bad.yaml");
    let broken = std::fs::read_to_string(&all[2])
        .unwrap()
        .replace("  replicas: 1\n", "  replicas: 1\n  replicaz: 2\n");
    assert!(
        broken.contains("replicaz"),
        "the StatefulSet is the third file"
    );
    std::fs::write(&bad, broken).unwrap();
    assert!(
        !kubernetes_validate(k8s::KUBERNETES_VERSIONS[0], &[bad])
            .status
            .success(),
        "kubernetes-validate accepted an unknown field"
    );
}

#[test]
fn readme_states_the_targeted_kubernetes_versions() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let first = k8s::KUBERNETES_VERSIONS[0].trim_end_matches(".0");
    let last = k8s::KUBERNETES_VERSIONS
        .last()
        .unwrap()
        .trim_end_matches(".0");
    assert!(
        readme.contains(&format!("Kubernetes {first}–{last}")),
        "README.md must say which Kubernetes versions the manifests target ({first}–{last})"
    );
}

// ---- the image ---------------------------------------------------------

fn dockerfile() -> String {
    std::fs::read_to_string(repo_root().join("docker/Dockerfile")).unwrap()
}

fn hadolint(path: &Path) -> std::process::Output {
    Command::new(require_tool("hadolint"))
        .args(["--no-color", "--failure-threshold", "style"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn dockerfile_passes_hadolint_without_findings() {
    let path = repo_root().join("docker/Dockerfile");
    let out = hadolint(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "hadolint:\n{text}"
    );

    // Every ignored rule is ignored explicitly, with a reason just above it,
    // and the ignore is needed (hadolint flags the file without it).
    let text = dockerfile();
    let lines: Vec<&str> = text.lines().collect();
    let mut ignores = 0;
    for (i, l) in lines.iter().enumerate() {
        if let Some(rules) = l.trim().strip_prefix("# hadolint ignore=") {
            ignores += 1;
            let above = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with('#'))
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            for rule in rules.split(',') {
                assert!(
                    above.contains(&format!("Ignored: {rule}")) && above.contains("Reason:"),
                    "hadolint ignore={rule} needs 'Ignored: {rule} …' and 'Reason: …' in the comment above it"
                );
            }
            let tmp = tempfile::tempdir().unwrap();
            let stripped = tmp.path().join("Dockerfile");
            std::fs::write(&stripped, text.replace(l, "")).unwrap();
            let out = hadolint(&stripped);
            let found = String::from_utf8_lossy(&out.stdout).into_owned();
            for rule in rules.split(',') {
                assert!(
                    found.contains(rule),
                    "ignore={rule} is not needed any more:\n{found}"
                );
            }
        }
    }
    assert!(ignores <= 1, "keep the ignores few");
}

#[test]
fn dockerfile_builds_pfe_and_runs_it_as_the_entrypoint() {
    let text = dockerfile();
    for needle in [
        "FROM rust:",
        "cargo build --release --locked",
        "FROM debian:${DEBIAN_RELEASE}-slim AS runtime",
        "ARG DEBIAN_RELEASE=bookworm",
        "-t \"${DEBIAN_RELEASE}-backports\"",
        "\"prosody=13.*\" prosody-modules",
        "lua-dbi-sqlite3 lua-dbi-postgresql",
        "EXPOSE 5222 5223 5269 5280 5281",
        "CMD [\"pfe\", \"healthcheck\"]",
        "ENTRYPOINT [\"pfe\", \"entrypoint\"]",
        "USER 999:999",
        "ARG PROSODY_PROFILE=standard",
        "ENV PROSODY_PROFILE=${PROSODY_PROFILE}",
        "PFE_FEATURES=${PROSODY_FEATURES}",
        "ARG PFE_ALLOW_UNSTABLE=false",
        "PFE_ALLOW_UNSTABLE=${PFE_ALLOW_UNSTABLE}",
        "CREDENTIALS_DIRECTORY=/run/secrets",
        "lua-unbound",
        "lua-ldap",
    ] {
        assert!(text.contains(needle), "docker/Dockerfile lacks {needle:?}");
    }
    // What the build stage copies exists and is not excluded by .dockerignore.
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore")).unwrap();
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(repo_root().join(src).exists(), "COPY {src}: no such path");
            assert!(
                ignore.lines().any(|l| l.trim() == format!("!{src}")),
                ".dockerignore excludes {src}"
            );
        }
    }
    // The build-time check runs the same entrypoint in dry-run mode.
    let out = pfe()
        .env("PROSODY_DOMAIN", "example.org")
        .env("PROSODY_PROFILE", "standard")
        .env("PROSODY_ENVIRONMENT", "production")
        .env("PFE_FEATURES", "")
        .args(["entrypoint", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- the commands -------------------------------------------------------

#[test]
fn compose_writes_refuses_to_clobber_and_forces() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deploy");
    let run = |extra: &[&str]| {
        pfe()
            .args(["compose", "minimal", "production", "--domain", DOMAIN, "-o"])
            .arg(&dir)
            .args(extra)
            .env("PROSODY_STORAGE", "postgres")
            .env("PROSODY_DB_PASSWORD", "hunter2")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("wrote") && err.contains("./secrets/db_password"),
        "{err}"
    );
    assert!(
        err.contains("warning: PROSODY_DB_PASSWORD: is set but not written"),
        "{err}"
    );
    let base = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
    assert!(!base.contains("hunter2"), "a secret was written");
    assert!(
        base.contains("  db:\n")
            && base.contains("POSTGRES_PASSWORD_FILE: /run/secrets/db_password"),
        "{base}"
    );
    assert!(dir.join("compose.production.yaml").is_file());

    std::fs::write(dir.join("compose.production.yaml"), "# mine\n").unwrap();
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(dir.join("compose.production.yaml")).unwrap(),
        "# mine\n"
    );
    assert!(run(&["--force"]).status.success());
    assert_ne!(
        std::fs::read_to_string(dir.join("compose.production.yaml")).unwrap(),
        "# mine\n"
    );
}

/// (arguments, environment, what the error must name)
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_input_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let cases: &[Case] = &[
        (
            &["compose", "standrad", "production", "--domain", DOMAIN],
            &[],
            "standrad",
        ),
        (
            &["k8s", "standard", "prod", "--domain", DOMAIN],
            &[],
            "prod",
        ),
        (&["k8s", "standard", "production"], &[], "PROSODY_DOMAIN"),
        (
            &[
                "k8s",
                "standard",
                "production",
                "--domain",
                DOMAIN,
                "--name",
                "Prosody_1",
            ],
            &[],
            "--name",
        ),
        (
            &["k8s", "standard", "production", "--domain", DOMAIN],
            &[("PROSODY_STORAGE", "postgres")],
            "PROSODY_DB_HOST",
        ),
        (
            &["compose", "standard", "production", "--domain", DOMAIN],
            &[("PROSODY_STORAGE", "mongodb")],
            "PROSODY_STORAGE",
        ),
        (
            &["compose", "standard", "production", "--domain", DOMAIN],
            &[("PROSODY_MEMORY_LIMIT", "lots")],
            "PROSODY_MEMORY_LIMIT",
        ),
        (
            &["compose", "standard", "production", "--domain", DOMAIN],
            &[("PROSODY_FEATURES_WEB_ENABLED", "perhaps")],
            "PROSODY_FEATURES_WEB_ENABLED",
        ),
        (
            &[
                "compose",
                "standard",
                "production",
                "--domain",
                DOMAIN,
                "--with",
                "web/nope",
            ],
            &[],
            "web/nope",
        ),
    ];
    for (args, env, needle) in cases {
        let out = pfe()
            .args(*args)
            .arg("-o")
            .arg(&dir)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?} should name {needle}:\n{err}"
        );
        assert!(!dir.exists(), "{args:?} wrote something");
    }
}

#[test]
fn k8s_prints_the_secret_keys_and_never_values() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pfe()
        .args(["k8s", "enterprise", "production", "--domain", DOMAIN, "-o"])
        .arg(tmp.path())
        .env("PROSODY_TURN_SECRET", "turn-hunter2")
        .env("PROSODY_ADMINS", "admin@chat.example.org")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "the Secret prosody-secrets holds: admin_password (optional), turn_secret (optional)"
        ),
        "{err}"
    );
    for f in ["configmap.yaml", "service.yaml", "statefulset.yaml"] {
        let text = std::fs::read_to_string(tmp.path().join(f)).unwrap();
        assert!(!text.contains("turn-hunter2"), "{f} contains a secret");
    }
}

#[test]
fn compose_mounts_a_config_dir_and_reproduces_its_config() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("catalog");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("local.cfg.lua"), "c2s_timeout = 90\n").unwrap();
    let out_dir = tmp.path().join("deploy");
    let out = pfe()
        .arg("--config-dir")
        .arg(&tree)
        .args(["compose", "minimal", "production", "--domain", DOMAIN, "-o"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = std::fs::read_to_string(out_dir.join("compose.yaml")).unwrap();
    let canonical = std::fs::canonicalize(&tree).unwrap();
    assert!(
        base.contains(&format!("{}:/etc/pfe/catalog:ro", canonical.display())),
        "{base}"
    );
    assert!(base.contains("PFE_CONFIG_DIR: /etc/pfe/catalog"), "{base}");
}
