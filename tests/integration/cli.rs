//! The pfe command line, driven as users drive it.

use pfe_testkit::pfe;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

fn stdout_of(args: &[&str]) -> String {
    let out = pfe().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "pfe {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn seed_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-tree")
}

/// A user catalog tree with the given files.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn list_shows_every_profile_and_environment() {
    let out = stdout_of(&["list"]);
    for name in [
        "minimal",
        "standard",
        "enterprise",
        "development",
        "production",
        "staging",
        "testing",
    ] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&["list", "--json"])).unwrap();
    assert_eq!(json["profiles"].as_array().unwrap().len(), 4);
    assert_eq!(json["environments"].as_array().unwrap().len(), 4);
    let standard = json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "standard")
        .unwrap();
    assert!(standard["resources"]["memory"].is_string());
}

#[test]
fn features_cover_the_seed_and_the_essentials() {
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["features", "--json"])).unwrap();
    for f in [
        "messaging/core",
        "messaging/archive",
        "messaging/carbons",
        "authentication/basic",
        "authentication/modern",
        "authentication/external",
        "collaboration/muc",
        "collaboration/bookmarks",
        "web/http",
        "web/websocket",
        "web/upload",
        "web/admin",
        "mobile/push",
        "mobile/csi",
        "security/firewall",
        "security/antispam",
        "security/monitoring",
        "security/compliance",
        "admin/shell",
        "admin/api",
        "performance/caching",
    ] {
        let info = &json[f];
        assert!(info.is_object(), "feature {f} missing");
        // performance/caching only tunes the caches of other features' modules.
        if f != "performance/caching" {
            assert!(
                !info["modules"].as_array().unwrap().is_empty(),
                "{f} lists no modules"
            );
        }
    }
}

#[test]
fn generate_is_deterministic_and_names_its_sources() {
    let a = stdout_of(&[
        "generate",
        "standard",
        "production",
        "--domain",
        "chat.example.org",
    ]);
    let b = stdout_of(&[
        "generate",
        "standard",
        "production",
        "--domain",
        "chat.example.org",
    ]);
    assert_eq!(a, b);
    assert!(a.contains("VirtualHost \"chat.example.org\""), "{a}");
    assert!(
        a.contains("Component \"conference.chat.example.org\" \"muc\""),
        "{a}"
    );
    assert!(
        a.contains("-- config/environments/production.cfg.lua:"),
        "{a}"
    );
    assert!(
        !a.contains("sasl2_require_encryption")
            && !a.contains("authentication_policy")
            && !a.contains("debug_mode")
    );
    // Defaults come from PROSODY_PROFILE / PROSODY_ENVIRONMENT / PROSODY_DOMAIN.
    let c = pfe()
        .args(["generate"])
        .env("PROSODY_PROFILE", "standard")
        .env("PROSODY_ENVIRONMENT", "production")
        .env("PROSODY_DOMAIN", "chat.example.org")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(c.stdout).unwrap(), a);
}

#[test]
fn output_files_are_not_clobbered_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prosody.cfg.lua");
    let out_s = out.to_str().unwrap();
    pfe()
        .args(["generate", "minimal", "production", "-o", out_s])
        .assert()
        .success();
    std::fs::write(&out, "precious").unwrap();
    pfe()
        .args(["generate", "minimal", "production", "-o", out_s])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("already exists").and(predicate::str::contains("--force")),
        );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
    pfe()
        .args(["generate", "minimal", "production", "-o", out_s, "--force"])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("VirtualHost")
    );
}

#[test]
fn unwritable_output_fails_cleanly() {
    pfe()
        .args(["generate", "-o", "/nonexistent-dir/prosody.cfg.lua"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot write /nonexistent-dir/prosody.cfg.lua",
        ));
}

#[test]
fn unknown_names_get_suggestions() {
    pfe()
        .args(["generate", "standrd"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean 'standard'"));
    pfe()
        .args(["generate", "standard", "prodution"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean 'production'"));
    pfe()
        .args(["generate", "--with", "mobile/pus"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("did you mean 'mobile/push'")
                .and(predicate::str::contains("--with")),
        );
}

#[test]
fn feature_toggles_from_the_environment_and_flags() {
    let with_push = stdout_of(&["generate", "standard", "production"]);
    assert!(with_push.contains("\"cloud_notify\""));
    let out = pfe()
        .args(["generate", "standard", "production"])
        .env("PROSODY_FEATURES_MOBILE_PUSH", "false")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !String::from_utf8(out.stdout)
            .unwrap()
            .contains("\"cloud_notify\"")
    );
    assert!(
        !stdout_of(&[
            "generate",
            "standard",
            "production",
            "--without",
            "mobile/push"
        ])
        .contains("\"cloud_notify\"")
    );
    pfe()
        .args(["generate"])
        .env("PROSODY_FEATURES_MOBILE_PUSH", "maybe")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "PROSODY_FEATURES_MOBILE_PUSH=maybe is not a boolean",
        ));
}

#[test]
fn set_overrides_come_last_and_are_traced() {
    let out = stdout_of(&[
        "generate",
        "--set",
        "c2s_ports={ 15222 }",
        "--set",
        "conference:enabled=false",
    ]);
    assert!(out.contains("c2s_ports = { 15222 }"), "{out}");
    assert!(out.contains("-- --set c2s_ports={ 15222 }:1"), "{out}");
    let muc = out
        .split("Component \"conference.localhost\"")
        .nth(1)
        .unwrap();
    assert!(muc.contains("enabled = false"), "{muc}");
    pfe()
        .args(["generate", "--set", "pidfile=/tmp/x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--set"));
}

#[test]
fn secrets_in_clear_text_are_refused() {
    pfe()
        .args([
            "generate",
            "--set",
            "sql={ driver = \"PostgreSQL\", password = \"hunter2\" }",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("secret in clear text")
                .and(predicate::str::contains("Credential")),
        );
}

#[test]
fn create_refuses_bad_names_and_existing_profiles_then_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for bad in ["../x", "a/b", "..", "x/../../y"] {
        pfe()
            .args(["--config-dir", d, "create", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a valid profile name"));
    }
    pfe()
        .args(["--config-dir", d, "create", "standard"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    pfe()
        .args(["--config-dir", d, "create", "acme", "enterprise"])
        .assert()
        .success();
    assert!(dir.path().join("profiles/acme/profile.cfg.lua").exists());
    pfe()
        .args(["--config-dir", d, "create", "acme"])
        .assert()
        .code(1);
    let acme = stdout_of(&["--config-dir", d, "generate", "acme", "production"]);
    let enterprise = stdout_of(&["generate", "enterprise", "production"]);
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("--") && !l.contains("-- "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&acme),
        strip(&enterprise),
        "a copy of a profile renders the same options"
    );
}

#[test]
fn env_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    pfe()
        .current_dir(dir.path())
        .args(["env", "minimal", "production"])
        .assert()
        .success();
    let file = dir.path().join(".env.minimal.production");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("PROSODY_PROFILE=minimal"), "{text}");
    assert!(
        text.contains("PROSODY_FEATURES_MOBILE_PUSH=false"),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("PROSODY_DB_PASSWORD=")),
        "secrets stay out"
    );
    pfe()
        .current_dir(dir.path())
        .args(["env", "minimal", "production"])
        .assert()
        .code(1);
    // Feeding the file back yields the same config as naming the profile.
    let direct = stdout_of(&["generate", "minimal", "production"]);
    let via_file = pfe()
        .args(["--env-file", file.to_str().unwrap(), "generate"])
        .output()
        .unwrap();
    assert!(
        via_file.status.success(),
        "{}",
        String::from_utf8_lossy(&via_file.stderr)
    );
    let via_file = String::from_utf8(via_file.stdout).unwrap();
    let body = |s: &str| {
        s.lines()
            .skip_while(|l| l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&via_file), body(&direct));
}

#[test]
fn explain_traces_options_features_and_modules() {
    let out = stdout_of(&["explain", "c2s_require_encryption"]);
    assert!(out.contains("c2s_require_encryption = true"), "{out}");
    assert!(
        out.contains("config/environments/production.cfg.lua:"),
        "{out}"
    );
    let out = stdout_of(&["explain", "web/http"]);
    assert!(out.contains("enabled: web/http ←"), "{out}");
    let out = stdout_of(&["explain", "mam"]);
    assert!(
        out.contains("config/features/messaging/archive.cfg.lua:"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["explain", "--json", "web/upload"])).unwrap();
    assert_eq!(json["kind"], "feature");
    pfe().args(["explain", "no_such_thing"]).assert().code(1);
}

#[test]
fn the_seed_example_files_load_unchanged() {
    let seed = seed_tree();
    let out = pfe()
        .args([
            "--config-dir",
            seed.to_str().unwrap(),
            "-v",
            "generate",
            "standard",
            "production",
        ])
        .env("PROSODY_FEATURES_AUTH_FAST", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    for m in ["\"sasl2\"", "\"sasl2_bind2\"", "\"sasl2_fast\""] {
        assert!(text.contains(m), "{m} missing");
    }
    assert!(text.contains("tests/fixtures/seed-tree/features/authentication/modern.cfg.lua:"));
    // Both uses of `log` in the seed's production file work.
    assert!(
        stderr.contains("Production environment configuration loaded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Modern authentication features loaded"),
        "{stderr}"
    );
    assert!(text.contains("to = \"syslog\""), "the log option is kept");
}

#[test]
fn lua_errors_name_file_and_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.lua");
    let t = tree(&[(
        "environments/broken.cfg.lua",
        "c2s_require_encryption = true\nlimits = {\n",
    )]);
    pfe()
        .args([
            "--config-dir",
            t.path().to_str().unwrap(),
            "generate",
            "standard",
            "broken",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.cfg.lua:"));
    assert!(!out.exists());
    let t = tree(&[(
        "environments/evil.cfg.lua",
        "x = 1\nos.execute(\"touch /tmp/pfe-pwned\")\n",
    )]);
    pfe()
        .args([
            "--config-dir",
            t.path().to_str().unwrap(),
            "generate",
            "standard",
            "evil",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("evil.cfg.lua:2")
                .and(predicate::str::contains("os.execute is not available")),
        );
    let t = tree(&[("environments/loop.cfg.lua", "while true do end\n")]);
    pfe()
        .args([
            "--config-dir",
            t.path().to_str().unwrap(),
            "generate",
            "standard",
            "loop",
        ])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ran too long"));
}

#[test]
fn dependency_cycles_and_conflicts_are_explained() {
    let t = tree(&[
        (
            "features/x/a.cfg.lua",
            "feature_info = { name = 'A', dependencies = { 'x/b' }, modules = {} }\n",
        ),
        (
            "features/x/b.cfg.lua",
            "feature_info = { name = 'B', dependencies = { 'x/a' }, modules = {} }\n",
        ),
        (
            "features/x/c.cfg.lua",
            "feature_info = { name = 'C', conflicts = { 'messaging/archive' }, modules = {} }\n",
        ),
    ]);
    let d = t.path().to_str().unwrap();
    pfe()
        .args(["--config-dir", d, "generate", "--with", "x/a"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("dependency cycle")
                .and(predicate::str::contains("x/a → x/b → x/a")),
        );
    pfe()
        .args(["--config-dir", d, "generate", "standard", "--with", "x/c"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("conflicts with").and(predicate::str::contains("--with")));
}

#[test]
fn validate_reports_and_exits() {
    pfe()
        .args(["validate", "standard", "production"])
        .assert()
        .success();
    let out = pfe().args(["validate", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), 16);
    let t = tree(&[(
        "profiles/bad/profile.cfg.lua",
        "profile_info = { name = 'bad', features = { 'messaging/nope' } }\n",
    )]);
    pfe()
        .args([
            "--config-dir",
            t.path().to_str().unwrap(),
            "validate",
            "bad",
            "production",
        ])
        .assert()
        .code(1);
}

#[test]
fn help_is_complete() {
    let out = stdout_of(&["--help"]);
    for cmd in [
        "list", "features", "validate", "create", "generate", "env", "explain",
    ] {
        assert!(out.contains(cmd), "{cmd} missing from --help");
    }
    let out = stdout_of(&["generate", "--help"]);
    for flag in [
        "--with",
        "--without",
        "--set",
        "--domain",
        "--output",
        "--force",
        "--config-dir",
        "--env-file",
    ] {
        assert!(out.contains(flag), "{flag} missing from generate --help");
    }
}

#[test]
fn readme_tables_match_the_catalog() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("<!-- catalog:start -->\n")
        .nth(1)
        .unwrap()
        .split("<!-- catalog:end -->")
        .next()
        .unwrap();
    assert_eq!(
        block,
        stdout_of(&["docs"]),
        "README is stale: run scripts/update-readme.sh"
    );
}

#[test]
fn generate_validates_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prosody.cfg.lua");
    pfe()
        .args([
            "generate",
            "--set",
            "c2s_require_encryption=\"yes\"",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("expected boolean, got string")
                .and(predicate::str::contains("not writing")),
        );
    assert!(!out.exists(), "nothing is written when validation fails");
    // Warnings are shown but do not stop the write.
    pfe()
        .args([
            "generate",
            "--set",
            "c2s_require_encrption=true",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("c2s_require_encryption"));
    assert!(out.exists());
}

#[test]
fn environments_extend_others_and_cycles_are_refused() {
    let t = tree(&[
        (
            "environments/preprod.cfg.lua",
            "environment_info = { extends = 'production', variables = { PROSODY_LOG_LEVEL = 'warn' } }\n",
        ),
        (
            "environments/a.cfg.lua",
            "environment_info = { extends = 'b' }\n",
        ),
        (
            "environments/b.cfg.lua",
            "environment_info = { extends = 'a' }\n",
        ),
    ]);
    let d = t.path().to_str().unwrap();
    let out = stdout_of(&["--config-dir", d, "generate", "standard", "preprod"]);
    assert!(
        out.contains("c2s_require_encryption = true"),
        "production's settings apply"
    );
    assert!(
        out.contains("levels = { min = \"warn\" }"),
        "the child's variables win:\n{out}"
    );
    pfe()
        .args(["--config-dir", d, "generate", "standard", "a"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("extend each other in a circle"));
}
