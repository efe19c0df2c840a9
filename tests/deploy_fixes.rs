//! Regression tests for the deployment defects found by running the image
//! for real (issue 9): the real `pfe` binary with a scrubbed environment,
//! the real tools (podman-compose, check-jsonschema, Prosody).

mod deploy_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deploy_support::{pfe, repo_root, require_tool};

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
