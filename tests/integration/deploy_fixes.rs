//! Regression tests for the deployment defects found by running the image
//! for real (issue 9): the real `pfe` binary with a scrubbed environment,
//! the real tools (podman-compose, check-jsonschema, Prosody).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pfe_testkit::{command as pfe, repo_root, require_tool};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "failed:\n{}", text(&out));
    out
}

/// `pfe ARGS` in a scrubbed environment plus `vars`.
fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = pfe();
    c.args(args);
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn compose_schema() -> PathBuf {
    // shared/ sits beside the repository (CI) or beside its worktree parent.
    for dir in ["../shared", "../../shared"] {
        let p = repo_root().join(dir).join("schemas/compose-spec.json");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "the Compose Specification schema (shared/schemas/compose-spec.json) is missing beside the repository"
    );
}

fn check_jsonschema(files: &[PathBuf]) {
    let out = Command::new(require_tool("check-jsonschema"))
        .arg("--schemafile")
        .arg(compose_schema())
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "check-jsonschema:\n{}", text(&out));
}

/// `podman-compose -f F... config`: the files with compose's
/// interpolation applied (no container engine involved).
fn compose_config(dir: &Path, files: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(require_tool("podman-compose"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("PROSODY_") || k.starts_with("PFE_") {
            c.env_remove(k);
        }
    }
    for f in files {
        c.args(["-f", f]);
    }
    c.arg("config").envs(vars.iter().copied());
    c.output().unwrap()
}

// ---- 8: image references ----------------------------------------------

#[test]
fn image_references_get_a_default_tag_only_without_one() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let cases = [
        (
            "localhost/prosody:test",
            "localhost/prosody:test",
            "localhost/prosody:test",
        ),
        (
            "registry.example.org:5000/team/prosody",
            "registry.example.org:5000/team/prosody:${PROSODY_VERSION:-latest}",
            "registry.example.org:5000/team/prosody:latest",
        ),
        (
            "prosody",
            "prosody:${PROSODY_VERSION:-latest}",
            "prosody:latest",
        ),
    ];
    let with_digest = format!("prosody@{digest}");
    let cases = cases
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .chain([(
            with_digest.clone(),
            with_digest.clone(),
            with_digest.clone(),
        )]);
    for (n, (given, compose, k8s)) in cases.enumerate() {
        let dir = tmp.path().join(format!("c{n}"));
        let d = dir.to_str().unwrap();
        ok(run(
            &[
                "compose",
                "standard",
                "production",
                "--domain",
                "x.org",
                "--image",
                &given,
                "-o",
                d,
            ],
            &[],
        ));
        let y = read(dir.join("compose.yaml"));
        assert!(
            y.lines().any(|l| l.trim() == format!("image: {compose}")),
            "--image {given}: expected image {compose}:\n{y}"
        );
        let dir = tmp.path().join(format!("k{n}"));
        let d = dir.to_str().unwrap();
        ok(run(
            &[
                "k8s",
                "standard",
                "production",
                "--domain",
                "x.org",
                "--image",
                &given,
                "-o",
                d,
            ],
            &[],
        ));
        let y = read(dir.join("statefulset.yaml"));
        assert!(
            y.lines().any(|l| l.trim() == format!("image: {k8s}")),
            "--image {given}: expected image {k8s}:\n{y}"
        );
    }
    // compose resolves the generated reference to a valid one.
    let dir = tmp.path().join("c1");
    let out = ok(compose_config(
        &dir,
        &["compose.yaml"],
        &[("PROSODY_VERSION", "13.0")],
    ));
    assert!(
        text(&out).contains("image: registry.example.org:5000/team/prosody:13.0"),
        "{}",
        text(&out)
    );
}

#[test]
fn invalid_image_references_are_refused_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in [
        "",
        "has space",
        "line\nbreak",
        "Upper/Case",
        "prosody:",
        "x@sha256:12",
    ] {
        for cmd in ["compose", "k8s"] {
            let dir = tmp.path().join(cmd);
            let d = dir.to_str().unwrap();
            let out = run(
                &[
                    cmd,
                    "standard",
                    "production",
                    "--domain",
                    "x.org",
                    "--image",
                    bad,
                    "-o",
                    d,
                ],
                &[],
            );
            let t = text(&out);
            assert_eq!(out.status.code(), Some(1), "{cmd} --image {bad:?}:\n{t}");
            assert!(t.contains("--image"), "{cmd} --image {bad:?}:\n{t}");
            assert!(!dir.exists(), "{cmd} wrote files for --image {bad:?}");
        }
    }
}

// ---- 9: compose without --domain --------------------------------------

#[test]
fn compose_without_a_domain_passes_the_shells_domain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    ok(run(
        &[
            "compose",
            "standard",
            "production",
            "-o",
            dir.to_str().unwrap(),
        ],
        &[],
    ));
    let y = read(dir.join("compose.yaml"));
    assert!(!y.contains("$${PROSODY_DOMAIN"), "{y}");
    check_jsonschema(&[
        dir.join("compose.yaml"),
        dir.join("compose.production.yaml"),
    ]);
    let files = ["compose.yaml", "compose.production.yaml"];
    let out = ok(compose_config(
        &dir,
        &files,
        &[("PROSODY_DOMAIN", "chat.example.net")],
    ));
    assert!(
        text(&out).contains("PROSODY_DOMAIN: chat.example.net"),
        "the container does not get the shell's domain:\n{}",
        text(&out)
    );
    for unset in [&[][..], &[("PROSODY_DOMAIN", "")][..]] {
        let out = compose_config(&dir, &files, unset);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("set PROSODY_DOMAIN to the XMPP domain to serve"),
            "{}",
            text(&out)
        );
    }
}

// ---- 3 and 7: the healthcheck follows the served config; HTTP answers
// off loopback in containers --------------------------------------------

/// Listening TCP sockets on `port`: their local addresses as written in
/// /proc/net/tcp{,6} (hex).
fn listeners(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in read(f).lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address rem_address st; 0A = LISTEN
            if cols.len() > 3 && cols[3] == "0A" {
                let (addr, p) = cols[1].rsplit_once(':').unwrap();
                if u16::from_str_radix(p, 16) == Ok(port) {
                    out.push(addr.to_string());
                }
            }
        }
    }
    out
}

/// A container-like Prosody (production, a certificate, the compose
/// file's PROSODY_HTTP_INTERFACES) on picked ports: `pfe healthcheck` with
/// neither --server nor PROSODY_C2S_PORT finds its c2s port in the config
/// the entrypoint wrote, and plain HTTP listens on every interface.
#[test]
fn healthcheck_probes_the_served_port_and_http_is_not_loopback_only() {
    use pfe_run::server::Ports;
    use pfe_testkit::{Entrypoint, certificate, container_env, port_clash};
    use std::time::Duration;
    require_tool("prosody");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    certificate(root, "localhost");
    let config = root.join("etc/prosody.cfg.lua");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    // What the generated compose file sets.
    let compose_dir = root.join("compose");
    ok(run(
        &[
            "compose",
            "standard",
            "production",
            "--domain",
            "localhost",
            "-o",
            compose_dir.to_str().unwrap(),
        ],
        &[],
    ));
    let compose = read(compose_dir.join("compose.yaml"));
    assert!(
        compose.contains(r#"PROSODY_HTTP_INTERFACES: "${PROSODY_HTTP_INTERFACES:-*}""#),
        "{compose}"
    );
    let mut started = None;
    for attempt in 1..=3 {
        let ports = Ports::pick().unwrap();
        let mut env = container_env(root, &ports, "localhost");
        // Keep the harness's loopback pinning for everything but HTTP.
        env.retain(|k, v| !(k.starts_with("PFE_SET_") && v.starts_with("http_interfaces=")));
        env.insert("PROSODY_ENVIRONMENT".into(), "production".into());
        env.insert("PROSODY_HTTP_INTERFACES".into(), "*".into());
        env.insert("PFE_CONFIG_OUTPUT".into(), config.display().to_string());
        let mut ep = Entrypoint::spawn(&env, &[], &root.join(format!("log-{attempt}")));
        match ep.wait_healthy(ports.c2s, "localhost", Duration::from_secs(60)) {
            Ok(_) => {
                started = Some((ep, ports));
                break;
            }
            Err(log) if attempt < 3 && port_clash(&log) => continue,
            Err(log) => panic!("{log}"),
        }
    }
    let (mut ep, ports) = started.unwrap();

    // Only what the image sets: where the config is. No --server, no port.
    let c = config.to_str().unwrap();
    let out = run(&["healthcheck"], &[("PFE_CONFIG_OUTPUT", c)]);
    let t = text(&out);
    assert!(out.status.success(), "{t}\n{}", ep.log_text());
    assert!(
        t.starts_with(&format!(
            "healthy: 127.0.0.1:{} answered localhost",
            ports.c2s
        )),
        "{t}"
    );
    // A stale variable does not win over the config Prosody runs.
    let out = run(
        &["healthcheck"],
        &[
            ("PFE_CONFIG_OUTPUT", c),
            ("PROSODY_C2S_PORT", &ports.s2s.to_string()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Asked for a domain it does not serve, Prosody is not "healthy".
    let out = run(
        &["healthcheck", "--domain", "elsewhere.example"],
        &[("PFE_CONFIG_OUTPUT", c)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Plain HTTP: on every interface (0.0.0.0 or ::), not loopback only.
    let http = listeners(ports.http);
    let any4 = "00000000";
    let any6 = "00000000000000000000000000000000";
    assert!(
        http.iter().any(|a| a == any4 || a == any6),
        "HTTP port {} listens only on {http:?}:\n{}",
        ports.http,
        read(&config)
    );
    ep.stop();
}

#[test]
fn generated_probes_do_not_pin_a_port() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, k) = (tmp.path().join("c"), tmp.path().join("k"));
    let vars = [("PROSODY_C2S_PORT", "15222")];
    ok(run(
        &[
            "compose",
            "standard",
            "production",
            "--domain",
            "x.org",
            "-o",
            c.to_str().unwrap(),
        ],
        &vars,
    ));
    ok(run(
        &[
            "k8s",
            "standard",
            "production",
            "--domain",
            "x.org",
            "-o",
            k.to_str().unwrap(),
        ],
        &vars,
    ));
    let compose = read(c.join("compose.yaml"));
    assert!(
        compose.contains(r#"test: ["CMD", "pfe", "healthcheck"]"#),
        "{compose}"
    );
    let sts = read(k.join("statefulset.yaml"));
    assert!(!sts.contains("--server"), "{sts}");
    assert_eq!(sts.matches("- healthcheck\n").count(), 3, "{sts}");
    // The ConfigMap's config, which the probes read, has the port.
    let cm = read(k.join("configmap.yaml"));
    assert!(cm.contains("c2s_ports = { 15222 }"), "{cm}");
    assert!(cm.contains(r#"http_interfaces = { "*" }"#), "{cm}");
}

// ---- 4: secrets at /run/secrets without CREDENTIALS_DIRECTORY ----------

/// `pfe entrypoint --dry-run` in a private mount namespace whose /run is a
/// fresh tmpfs holding `secrets` at /run/secrets (as `docker run` mounts
/// them); CREDENTIALS_DIRECTORY is not set. Returns (success, stderr).
fn dry_run_with_run_secrets(secrets: &[(&str, &str)], vars: &[(&str, &str)]) -> (bool, String) {
    let unshare = require_tool("unshare");
    let mut script = String::from("set -e; mount -t tmpfs tmpfs /run; mkdir /run/secrets; ");
    for (name, _) in secrets {
        script += &format!("printf '%s' \"$SECRET_{name}\" > /run/secrets/{name}; ");
    }
    script += "unset $(env | sed -n 's/^\\(SECRET_[a-z_]*\\)=.*/\\1/p'); exec \"$PFE\" entrypoint --dry-run --config-output /nonexistent/prosody.cfg.lua";
    let mut c = Command::new(unshare);
    c.args(["-r", "-m", "sh", "-c", &script]).env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default());
    c.env("PFE", pfe_testkit::pfe_bin());
    for (name, value) in secrets {
        c.env(format!("SECRET_{name}"), value);
    }
    c.envs(vars.iter().copied());
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_admin_password_at_run_secrets_creates_the_admin() {
    let vars = [
        ("PROSODY_DOMAIN", "chat.example.org"),
        ("PROSODY_ENVIRONMENT", "production"),
        ("PROSODY_ADMINS", "admin@chat.example.org"),
    ];
    let (ok, err) = dry_run_with_run_secrets(&[("admin_password", "s3cret")], &vars);
    assert!(ok, "{err}");
    assert!(
        err.contains("admin account: admin@chat.example.org (password from its secret)"),
        "the secret at /run/secrets/admin_password was not used:\n{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert!(!err.contains("no admin password"), "{err}");

    // No password anywhere: a warning naming where to put it.
    let (ok, err) = dry_run_with_run_secrets(&[], &vars);
    assert!(ok, "{err}");
    assert!(!err.contains("admin account:"), "{err}");
    let warning = err
        .lines()
        .skip_while(|l| !l.starts_with("warning: PROSODY_ADMINS:"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        warning.contains("no admin password was found")
            && warning.contains("admin_password")
            && warning.contains("PROSODY_ADMIN_PASSWORD_FILE"),
        "{err}"
    );
}

// ---- 6: certificates ----------------------------------------------------

/// A root with fake prosody/prosodyctl that record being run.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["prosody", "prosodyctl"] {
            let p = bin.join(name);
            let script = format!(
                "#!/bin/sh\necho \"$0 $*\" >> {}/started\nexit 0\n",
                dir.path().display()
            );
            std::fs::write(&p, script).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fake { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `pfe entrypoint ARGS` with exactly `vars` (plus PATH and a runtime
    /// directory); (exit code, stderr).
    fn run(&self, vars: &[(&str, &str)], args: &[&str]) -> (i32, String) {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = pfe()
            .env_clear()
            .env("PATH", path)
            .env("PFE_RUNTIME_DIR", self.dir.path())
            .envs(vars.iter().copied())
            .arg("entrypoint")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn started(&self) -> Option<String> {
        std::fs::read_to_string(self.path("started")).ok()
    }
}

#[test]
fn production_refuses_to_start_without_a_certificate() {
    let f = Fake::new();
    let config = f.path("etc/prosody.cfg.lua");
    let certs = f.path("etc/certs");
    std::fs::create_dir_all(&certs).unwrap();
    let c = config.to_str().unwrap();
    for env in ["production", "staging"] {
        let vars = [
            ("PROSODY_DOMAIN", "chat.example.org"),
            ("PROSODY_ENVIRONMENT", env),
        ];
        let (code, err) = f.run(&vars, &["--config-output", c]);
        assert_eq!(code, 1, "{env}:\n{err}");
        let expected = certs.join("chat.example.org.crt");
        assert!(
            err.contains(&format!("error: {}:", certs.display()))
                && err.contains(&expected.display().to_string())
                && err.contains("chat.example.org.key"),
            "{env}: the refusal does not name the expected file {}:\n{err}",
            expected.display()
        );
        assert!(err.contains("nothing was written or started"), "{err}");
        assert!(!config.exists(), "{env}: a config was written");
        assert_eq!(f.started(), None, "{env}: something was started");
        // A dry run (an image build has no certificate) warns instead.
        let (code, err) = f.run(&vars, &["--dry-run", "--config-output", c]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("this dry run would be refused"), "{err}");
    }
    // A key the server cannot read is no certificate either.
    let files = pfe_run::server::generate_cert(&certs, "chat.example.org", &[]).unwrap();
    let vars = [("PROSODY_DOMAIN", "chat.example.org")];
    std::fs::remove_file(&files.key).unwrap();
    let (code, err) = f.run(&vars, &["--config-output", c]);
    assert_eq!(code, 1, "{err}");
    // With the certificate (which serves the components' sub-domains too).
    let files = pfe_run::server::generate_cert(&certs, "chat.example.org", &[]).unwrap();
    assert!(files.key.is_file());
    let (code, err) = f.run(&vars, &["--config-output", c]);
    assert_eq!(code, 0, "{err}");
    assert!(f.started().unwrap().contains("prosody --config"), "{err}");
    assert!(
        !read(&config).contains("certificates ="),
        "{}",
        read(&config)
    );
}

/// Development without a certificate: a self-signed one for every served
/// name on the data volume, the config pointed at it, logged; STARTTLS
/// then works (c2s_require_encryption stays on) and the secret's admin
/// logs in, verified against that certificate. A restart reuses it.
#[test]
fn development_makes_a_self_signed_certificate_and_clients_log_in() {
    use pfe_probe::xmpp::{Client, ClientConfig, TlsMode, TlsVerify};
    use pfe_run::server::Ports;
    use pfe_testkit::{Entrypoint, container_env, port_clash};
    use std::time::Duration;
    require_tool("prosody");
    require_tool("prosodyctl");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let creds = root.join("secrets");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("admin_password"), "dev admin pw").unwrap();
    let config = root.join("etc/prosody.cfg.lua");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let generated = root.join("data/certs/localhost.crt");
    for round in ["generated a", "reusing the"] {
        let mut started = None;
        for attempt in 1..=3 {
            let ports = Ports::pick().unwrap();
            let mut env = container_env(root, &ports, "localhost");
            env.insert("PROSODY_ENVIRONMENT".into(), "development".into());
            env.insert("PROSODY_ADMINS".into(), "admin@localhost".into());
            env.insert("CREDENTIALS_DIRECTORY".into(), creds.display().to_string());
            env.insert("PFE_CONFIG_OUTPUT".into(), config.display().to_string());
            let log = root.join(format!("{}-{attempt}.log", &round[..5]));
            let mut ep = Entrypoint::spawn(&env, &[], &log);
            match ep.wait_healthy(ports.c2s, "localhost", Duration::from_secs(60)) {
                Ok(_) => {
                    started = Some((ep, ports));
                    break;
                }
                Err(log) if attempt < 3 && port_clash(&log) => continue,
                Err(log) => panic!("{log}"),
            }
        }
        let (mut ep, ports) = started.unwrap();
        let log = ep.log_text();
        assert!(
            log.contains(&format!(
                "self-signed certificate for localhost in {}",
                root.join("data/certs").display()
            )) && log.contains(round),
            "{log}"
        );
        assert!(generated.is_file(), "{log}");
        let written = read(&config);
        assert!(
            written.contains(&format!(
                "certificates = \"{}\"",
                root.join("data/certs").display()
            )),
            "{written}"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let cfg = ClientConfig::new(
                format!("127.0.0.1:{}", ports.c2s),
                "admin@localhost",
                "dev admin pw",
                TlsMode::StartTls,
                TlsVerify::CaFile(generated.clone()),
            );
            let c = Client::login(cfg, None).await.unwrap_or_else(|e| {
                panic!(
                    "STARTTLS login with the self-signed certificate: {e}\n{}",
                    ep.log_text()
                )
            });
            c.close().await;
        });
        assert!(ep.stop().unwrap().success(), "{}", ep.log_text());
    }
}

/// A given config (Kubernetes' ConfigMap, read-only) is not changed: a copy
/// pointing at the self-signed certificate runs from the runtime directory.
#[test]
fn a_given_config_runs_as_a_copy_pointing_at_the_self_signed_certificate() {
    let f = Fake::new();
    let config = f.path("cm/prosody.cfg.lua");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let text = "VirtualHost \"chat.example.org\"\nComponent \"rooms.example.net\" \"muc\"\n";
    std::fs::write(&config, text).unwrap();
    let self_signed = f.path("data/certs");
    let vars = [
        ("PROSODY_ENVIRONMENT", "development"),
        ("PFE_USE_CONFIG", config.to_str().unwrap()),
        ("PFE_SELF_SIGNED_DIR", self_signed.to_str().unwrap()),
    ];
    let (code, err) = f.run(&vars, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&config), text, "the given config was changed");
    let started = f.started().unwrap();
    let copy = started
        .split_whitespace()
        .skip_while(|w| *w != "--config")
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        copy.starts_with(f.dir.path().to_str().unwrap()),
        "{started}"
    );
    let copied = read(&copy);
    assert!(
        copied.contains(&format!("certificates = \"{}\"", self_signed.display())),
        "{copied}"
    );
    // Both names not under one another get their own certificate.
    for n in ["chat.example.org", "rooms.example.net"] {
        assert!(self_signed.join(format!("{n}.crt")).is_file(), "{n}: {err}");
    }
    assert!(err.contains("generated a self-signed certificate"), "{err}");
}

/// Direct TLS is published from the rendered `c2s_direct_tls_ports`: by
/// default for standard and enterprise in production and staging, not for
/// minimal or in development/testing, not with
/// PROSODY_C2S_DIRECT_TLS_PORT=off, and at whatever port `--set` chose.
/// profile, environment, variables, extra flags, the port published
type DirectTlsCase<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
    Option<u16>,
);

#[test]
fn direct_tls_is_published_when_the_config_opens_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[DirectTlsCase] = &[
        ("standard", "production", &[], &[], Some(5223)),
        ("standard", "staging", &[], &[], Some(5223)),
        ("enterprise", "production", &[], &[], Some(5223)),
        ("enterprise", "staging", &[], &[], Some(5223)),
        ("minimal", "production", &[], &[], None),
        ("standard", "development", &[], &[], None),
        ("enterprise", "testing", &[], &[], None),
        (
            "standard",
            "production",
            &[("PROSODY_C2S_DIRECT_TLS_PORT", "off")],
            &[],
            None,
        ),
        (
            "minimal",
            "development",
            &[("PROSODY_C2S_DIRECT_TLS_PORT", "5999")],
            &[],
            Some(5999),
        ),
        // Not the variable: the rendered option is what counts.
        (
            "standard",
            "production",
            &[],
            &["--set", "c2s_direct_tls_ports={15223}"],
            Some(15223),
        ),
    ];
    for (n, (profile, environment, vars, extra, want)) in cases.iter().enumerate() {
        let case = format!("{profile}/{environment} {vars:?} {extra:?}");
        let (c, k) = (
            tmp.path().join(format!("c{n}")),
            tmp.path().join(format!("k{n}")),
        );
        for (cmd, dir) in [("compose", &c), ("k8s", &k)] {
            let mut args = vec![
                cmd,
                profile,
                environment,
                "--domain",
                "x.org",
                "-o",
                dir.to_str().unwrap(),
            ];
            args.extend(extra.iter().copied());
            ok(run(&args, vars));
        }
        // compose.yaml is the same for every environment: the overlay
        // publishes direct TLS.
        let base = read(c.join("compose.yaml"));
        let compose = read(c.join(format!("compose.{environment}.yaml")));
        let service = read(k.join("service.yaml"));
        let sts = read(k.join("statefulset.yaml"));
        let config = read(k.join("configmap.yaml"));
        for p in [5223u16, 5999, 15223] {
            let on = *want == Some(p);
            assert!(!base.contains(&format!("{p}:{p}")), "{case}: {base}");
            assert_eq!(
                compose.contains(&format!("{p}:{p}")),
                on,
                "{case}: {compose}"
            );
            assert_eq!(
                service.contains(&format!("port: {p}")),
                on,
                "{case}: {service}"
            );
            assert_eq!(
                sts.contains(&format!("containerPort: {p}")),
                on,
                "{case}: {sts}"
            );
        }
        assert_eq!(
            config.contains("c2s_direct_tls_ports"),
            want.is_some(),
            "{case}: {config}"
        );
        assert_eq!(
            sts.contains("name: c2s-tls"),
            want.is_some(),
            "{case}: {sts}"
        );
        // What compose itself makes of compose.yaml + the overlay.
        if n == 0 || n == 7 {
            let overlay = format!("compose.{environment}.yaml");
            let out = compose_config(&c, &["compose.yaml", &overlay], &[]);
            assert!(out.status.success(), "{case}: {}", text(&out));
            let merged = text(&out);
            assert_eq!(
                merged.contains("5223:5223"),
                want.is_some(),
                "{case}: {merged}"
            );
            assert!(merged.contains("5222:5222"), "{case}: {merged}");
        }
    }
}
