//! `pfe entrypoint` without Docker: a temporary root stands in for the
//! container's file system, environment variables for its environment, and
//! the real Prosody is exec'd.
//!
//! Bad input must stop it before anything is written or started: those
//! tests put a fake `prosody`/`prosodyctl` first on PATH that would leave a
//! marker file, and check that neither the marker nor the config appears.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pfe_probe::xmpp::{Client, ClientConfig, TlsMode, TlsVerify};
use pfe_run::server::Ports;
use pfe_testkit::{
    Entrypoint, certificate, command as pfe, container_env, port_clash, require_tool,
};

const DOMAIN: &str = "localhost";

/// A root with a fake prosody/prosodyctl that record being run.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["prosody", "prosodyctl"] {
            let p = bin.join(name);
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\necho \"$0 $*\" >> {}/started\nexit 0\n",
                    dir.path().display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fake { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("prosody.cfg.lua")
    }

    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Runs the entrypoint with exactly `vars` (plus PATH); returns (code, stderr, stdout).
    fn run(&self, vars: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = pfe();
        cmd.env_clear()
            .env("PATH", self.path_env())
            .env("PFE_RUNTIME_DIR", self.dir.path())
            .arg("entrypoint")
            .arg("--config-output")
            .arg(self.config())
            .args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn started(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("started")).ok()
    }

    /// Asserts a refusal that names `variable`, with nothing written or started.
    fn refused(&self, vars: &[(&str, &str)], variable: &str) -> String {
        let (code, err, _) = self.run(vars, &[]);
        assert_eq!(code, 1, "expected a refusal naming {variable}:\n{err}");
        assert!(err.contains("nothing was written or started"), "{err}");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("error: {variable}:"))),
            "the error does not name {variable}:\n{err}"
        );
        assert!(
            !self.config().exists(),
            "a config was written despite the error:\n{err}"
        );
        assert_eq!(
            self.started(),
            None,
            "something was started despite the error:\n{err}"
        );
        err
    }
}

#[test]
fn missing_domain_is_refused() {
    let f = Fake::new();
    let err = f.refused(&[], "PROSODY_DOMAIN");
    assert!(err.contains("there is no default in a container"), "{err}");
    f.refused(
        &[("PROSODY_DOMAIN", "https://chat.example.org")],
        "PROSODY_DOMAIN",
    );
}

#[test]
fn postgres_without_a_host_is_refused() {
    Fake::new().refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_STORAGE", "postgres"),
        ],
        "PROSODY_DB_HOST",
    );
}

#[test]
fn unknown_storage_is_refused() {
    Fake::new().refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_STORAGE", "mysql"),
        ],
        "PROSODY_STORAGE",
    );
}

#[test]
fn feature_switches_must_be_booleans() {
    let f = Fake::new();
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_FEATURES_MOBILE_PUSH", "maybe"),
        ],
        "PROSODY_FEATURES_MOBILE_PUSH",
    );
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_FEATURES_AUTH_FAST", "yes"),
        ],
        "PROSODY_FEATURES_AUTH_FAST",
    );
}

#[test]
fn unknown_profile_and_environment_are_refused() {
    let f = Fake::new();
    let err = f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_PROFILE", "standrad"),
        ],
        "PROSODY_PROFILE",
    );
    assert!(err.contains("did you mean standard?"), "{err}");
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ENVIRONMENT", "prod"),
        ],
        "PROSODY_ENVIRONMENT",
    );
}

#[test]
fn plain_passwords_are_refused_in_production() {
    let f = Fake::new();
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_HOST", "db"),
            ("PROSODY_DB_PASSWORD", "hunter2"),
        ],
        "PROSODY_DB_PASSWORD",
    );
    let err = f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ADMINS", "admin@chat.example.org"),
            ("PROSODY_ADMIN_PASSWORD", "hunter2"),
        ],
        "PROSODY_ADMIN_PASSWORD",
    );
    assert!(
        !err.contains("hunter2"),
        "a secret leaked into the error:\n{err}"
    );
    // staging is production-like too
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ENVIRONMENT", "staging"),
            ("PROSODY_ADMINS", "admin@chat.example.org"),
            ("PROSODY_ADMIN_PASSWORD", "hunter2"),
        ],
        "PROSODY_ADMIN_PASSWORD",
    );
}

#[test]
fn plain_passwords_are_a_warning_in_development() {
    let f = Fake::new();
    let (code, err, out) = f.run(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ENVIRONMENT", "development"),
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_HOST", "db"),
            ("PROSODY_DB_PASSWORD", "hunter2"),
        ],
        &["--dry-run"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: PROSODY_DB_PASSWORD: passes a secret in a plain variable"),
        "{err}"
    );
    assert!(
        err.contains("credentials: db_password copied to a private directory"),
        "{err}"
    );
    assert!(
        out.contains("password = Credential(\"db_password\")"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "the secret leaked"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let (code, err, _) = Fake::new().run(
        &[
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_PASSWORD", "hunter2"),
            ("PROSODY_FEATURES_WEB_ENABLED", "maybe"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    for v in [
        "PROSODY_DOMAIN",
        "PROSODY_DB_HOST",
        "PROSODY_DB_PASSWORD",
        "PROSODY_FEATURES_WEB_ENABLED",
    ] {
        assert!(err.contains(&format!("error: {v}:")), "{v} missing:\n{err}");
    }
    assert!(err.contains("error: 4 problems in the input"), "{err}");
}

#[test]
fn postgres_needs_its_password_secret() {
    Fake::new().refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_HOST", "db"),
        ],
        "PROSODY_DB_PASSWORD",
    );
}

#[test]
fn an_admin_password_needs_an_admin_on_the_domain() {
    let f = Fake::new();
    let pw = f.dir.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let pw = pw.to_str().unwrap();
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ADMIN_PASSWORD_FILE", pw),
        ],
        "PROSODY_ADMINS",
    );
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ADMINS", "admin@elsewhere.org"),
            ("PROSODY_ADMIN_PASSWORD_FILE", pw),
        ],
        "PROSODY_ADMINS",
    );
    f.refused(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ADMINS", "admin@chat.example.org"),
            ("PROSODY_ADMIN_PASSWORD_FILE", "/nonexistent/pw"),
        ],
        "PROSODY_ADMIN_PASSWORD_FILE",
    );
}

#[test]
fn legacy_mode_needs_the_mounted_config() {
    let f = Fake::new();
    let err = f.refused(&[("PROSODY_LEGACY_MODE", "true")], "PROSODY_LEGACY_MODE");
    assert!(err.contains("hand-written"), "{err}");
    f.refused(
        &[("PROSODY_LEGACY_MODE", "sometimes")],
        "PROSODY_LEGACY_MODE",
    );
}

#[test]
fn a_bad_catalog_value_stops_the_build() {
    let f = Fake::new();
    let (code, err, _) = f.run(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_DB_PORT", "none"),
            ("PROSODY_STORAGE", "postgres"),
            ("PROSODY_DB_HOST", "db"),
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("PROSODY_DB_PORT"), "{err}");
    assert!(!f.config().exists() && f.started().is_none());
}

#[test]
fn dry_run_prints_the_config_and_touches_nothing() {
    let f = Fake::new();
    let (code, err, out) = f.run(
        &[
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_PROFILE", "minimal"),
            ("PFE_FEATURES", "messaging/archive,-messaging/blocking"),
            ("PFE_SET_1", "c2s_timeout=120"),
            ("PROSODY_DOMIAN", "typo.example"),
        ],
        &["--dry-run", "--set", "c2s_ports={ 15222 }"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: PROSODY_DOMIAN: is not a variable pfe knows"),
        "{err}"
    );
    assert!(err.contains("did you mean PROSODY_DOMAIN?"), "{err}");
    assert!(err.contains("nothing written, nothing started"), "{err}");
    assert!(out.contains("VirtualHost \"chat.example.org\""), "{out}");
    assert!(
        out.contains("\"mam\";") && !out.contains("\"blocklist\";"),
        "PFE_FEATURES:\n{out}"
    );
    assert!(
        out.contains("c2s_timeout = 120") && out.contains("c2s_ports = { 15222 }"),
        "{out}"
    );
    assert!(!f.config().exists() && f.started().is_none());
}

/// The entrypoint renders, writes, registers the admin, and *becomes*
/// Prosody; `pfe healthcheck` reports healthy; SIGTERM reaches Prosody.
#[test]
fn renders_writes_and_execs_prosody() {
    require_tool("prosody");
    require_tool("prosodyctl");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ca = certificate(root, DOMAIN);
    let creds = root.join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("admin_password"), "s3cret admin").unwrap();
    let config = root.join("etc/prosody.cfg.lua");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "-- an old config, replaced atomically\n").unwrap();
    let extra: BTreeMap<String, String> = [
        ("PROSODY_PROFILE", "standard"),
        ("PROSODY_ENVIRONMENT", "production"),
        ("PROSODY_ADMINS", "admin@localhost"),
        ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let mut started = None;
    for attempt in 1..=3 {
        let ports = Ports::pick().unwrap();
        let mut env = container_env(root, &ports, DOMAIN);
        env.extend(extra.clone());
        let mut ep = Entrypoint::spawn(
            &env,
            &["--config-output", config.to_str().unwrap()],
            &root.join(format!("log-{attempt}")),
        );
        match ep.wait_healthy(ports.c2s, DOMAIN, Duration::from_secs(60)) {
            Ok(_) => {
                started = Some((ep, ports));
                break;
            }
            Err(log) if attempt < 3 && port_clash(&log) => continue,
            Err(log) => panic!("{log}"),
        }
    }
    let (mut ep, ports) = started.unwrap();

    // exec: the entrypoint's process is now Prosody itself.
    let cmdline = std::fs::read_to_string(format!("/proc/{}/cmdline", ep.pid()))
        .unwrap()
        .replace('\0', " ");
    assert!(
        cmdline.contains("prosody") && cmdline.contains("-F") && !cmdline.contains("entrypoint"),
        "{cmdline}"
    );
    assert!(cmdline.contains(config.to_str().unwrap()), "{cmdline}");

    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.starts_with("-- prosody.cfg.lua for localhost — generated by pfe"),
        "{written}"
    );
    assert!(
        written.contains("-- Regenerate with: pfe entrypoint"),
        "{written}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(config.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "prosody.cfg.lua")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The admin account from the secret logs in.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = ClientConfig::new(
            format!("127.0.0.1:{}", ports.c2s),
            "admin@localhost",
            "s3cret admin",
            TlsMode::StartTls,
            TlsVerify::CaFile(ca.clone()),
        );
        let c = Client::login(cfg, None)
            .await
            .expect("admin logs in with the secret's password");
        c.close().await;
    });
    let log = ep.log_text();
    assert!(
        log.contains("pfe entrypoint: admin account admin@localhost ready"),
        "{log}"
    );
    assert!(!log.contains("s3cret"), "the password leaked into the log");

    let status = ep.stop().unwrap();
    assert!(status.success(), "SIGTERM: {status}\n{}", ep.log_text());
    let log = ep.log_text();
    assert!(
        log.contains("Received SIGTERM") && log.contains("Shutdown complete"),
        "{log}"
    );
}

/// PROSODY_LEGACY_MODE=true: the hand-written config mounted at the config
/// path runs unchanged (seed migration phase 1).
#[test]
fn legacy_mode_runs_the_mounted_config_unchanged() {
    require_tool("prosody");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    certificate(root, DOMAIN);
    for attempt in 1..=3 {
        let ports = Ports::pick().unwrap();
        let mut lines = String::from("-- hand-written, pre-PFE\n");
        let mut env = container_env(root, &ports, DOMAIN);
        for (k, v) in &env {
            if k.starts_with("PFE_SET_") {
                lines += &format!("{v}\n");
            }
        }
        lines += &format!(
            "c2s_ports = {{ {} }}\ns2s_ports = {{ {} }}\nmodules_enabled = {{ \"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"ping\" }}\nVirtualHost \"localhost\"\n",
            ports.c2s, ports.s2s
        );
        let config = root.join("legacy.cfg.lua");
        std::fs::write(&config, &lines).unwrap();
        env.retain(|k, _| k == "PATH" || k == "PFE_RUNTIME_DIR");
        env.insert("PROSODY_LEGACY_MODE".into(), "true".into());
        env.insert("PFE_CONFIG_OUTPUT".into(), config.display().to_string());
        let mut ep = Entrypoint::spawn(&env, &[], &root.join(format!("legacy-{attempt}.log")));
        match ep.wait_healthy(ports.c2s, DOMAIN, Duration::from_secs(60)) {
            Ok(_) => {
                assert_eq!(
                    std::fs::read_to_string(&config).unwrap(),
                    lines,
                    "the config was changed"
                );
                assert!(ep.log_text().contains("legacy mode"), "{}", ep.log_text());
                assert!(ep.stop().unwrap().success(), "{}", ep.log_text());
                return;
            }
            Err(log) if attempt < 3 && port_clash(&log) => continue,
            Err(log) => panic!("{log}"),
        }
    }
}

/// What `pfe compose` puts in the container environment renders, through
/// the entrypoint, the same config `pfe generate` shows.
#[test]
fn compose_environment_renders_the_generated_config() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, env) in [
        ("standard", "production"),
        ("enterprise", "staging"),
        ("minimal", "development"),
    ] {
        let out = dir.path().join(format!("{profile}-{env}"));
        let st = pfe()
            .args([
                "compose",
                profile,
                env,
                "--domain",
                "chat.example.org",
                "--with",
                "messaging/carbons",
                "-o",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let mut vars = compose_environment(&out.join("compose.yaml"));
        vars.extend(compose_environment(
            &out.join(format!("compose.{env}.yaml")),
        ));
        vars.remove("CREDENTIALS_DIRECTORY");
        let dry = pfe()
            .env_clear()
            .envs(&vars)
            .args([
                "entrypoint",
                "--dry-run",
                "--config-output",
                "/nonexistent/x.cfg.lua",
            ])
            .output()
            .unwrap();
        assert!(
            dry.status.success(),
            "{}",
            String::from_utf8_lossy(&dry.stderr)
        );
        // Containers serve plain HTTP on every interface (issue 9, defect 7).
        let generated = pfe()
            .env("PROSODY_HTTP_INTERFACES", "*")
            .args([
                "generate",
                profile,
                env,
                "--domain",
                "chat.example.org",
                "--with",
                "messaging/carbons",
            ])
            .output()
            .unwrap();
        let strip = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| !l.starts_with("-- Regenerate with:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&dry.stdout),
            strip(&generated.stdout),
            "{profile} {env}"
        );
    }
}

/// The `environment:` map of the prosody service, with `${NAME:-default}`
/// resolved to its default as compose does without an env file.
fn compose_environment(path: &Path) -> BTreeMap<String, String> {
    use saphyr::LoadableYamlNode;
    let text = std::fs::read_to_string(path).unwrap();
    let docs = saphyr::Yaml::load_from_str(&text).unwrap();
    let env = &docs[0]["services"]["prosody"]["environment"];
    let mut out = BTreeMap::new();
    for (k, v) in env.as_mapping().expect("environment is a map") {
        let k = k.as_str().unwrap().to_string();
        let v = v.as_str().unwrap_or_else(|| panic!("{k} is not a string"));
        let v = if let Some(inner) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            inner
                .split_once(":-")
                .map(|(_, d)| d.to_string())
                .unwrap_or_default()
        } else {
            v.replace("$$", "$")
        };
        out.insert(k, v);
    }
    out
}

/// The Kubernetes StatefulSet's environment and the ConfigMap's config are
/// all the entrypoint needs (PFE_USE_CONFIG, secrets at CREDENTIALS_DIRECTORY).
#[test]
fn kubernetes_environment_runs_the_configmap_config() {
    use saphyr::LoadableYamlNode;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let st = pfe()
        .args([
            "k8s",
            "standard",
            "production",
            "--domain",
            "chat.example.org",
            "-o",
        ])
        .arg(&out)
        .env("PROSODY_STORAGE", "postgres")
        .env("PROSODY_DB_HOST", "db.example.internal")
        .env("PROSODY_ADMINS", "admin@chat.example.org")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let cm = std::fs::read_to_string(out.join("configmap.yaml")).unwrap();
    let cm = saphyr::Yaml::load_from_str(&cm).unwrap();
    let config = cm[0]["data"]["prosody.cfg.lua"]
        .as_str()
        .unwrap()
        .to_string();
    let config_path = dir.path().join("prosody.cfg.lua");
    std::fs::write(&config_path, &config).unwrap();
    let creds = dir.path().join("secrets");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("db_password"), "pw").unwrap();
    std::fs::write(creds.join("admin_password"), "adminpw").unwrap();

    let sts = std::fs::read_to_string(out.join("statefulset.yaml")).unwrap();
    let sts = saphyr::Yaml::load_from_str(&sts).unwrap();
    let container = &sts[0]["spec"]["template"]["spec"]["containers"][0];
    let mut cmd = pfe();
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap());
    for e in container["env"].as_sequence().unwrap() {
        let (name, value) = (e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
        let value = match name {
            "PFE_USE_CONFIG" => config_path.to_str().unwrap(),
            "CREDENTIALS_DIRECTORY" => creds.to_str().unwrap(),
            _ => value,
        };
        cmd.env(name, value);
    }
    let run = cmd.args(["entrypoint", "--dry-run"]).output().unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("used as is"), "{err}");
    assert!(
        err.contains("credentials: ") && err.contains(" as is"),
        "{err}"
    );
    assert!(
        err.contains("admin account: admin@chat.example.org"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), config);
}
