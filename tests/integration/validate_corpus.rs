//! The defect corpus (tests/defects/): every case triggers its check and
//! leaves the others silent, for `pfe lint` (one config per check) and for
//! `pfe validate` (one user catalog tree per check).

use pfe_testkit::pfe;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn defects() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/defects")
}

fn codes(text: &str) -> BTreeSet<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn found(findings: &serde_json::Value) -> BTreeSet<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// `-- expect: PFE001 PFE002` on the first line of a lint case.
fn expected_of(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or("");
    let rest = first
        .strip_prefix("-- expect:")
        .unwrap_or_else(|| panic!("{} must start with `-- expect: CODES`", path.display()));
    codes(rest)
}

fn lint_cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(defects().join("lint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".cfg.lua"))
        .collect();
    v.sort();
    v
}

fn validate_cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(defects().join("validate"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    v.sort();
    v
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target);
        } else if e.file_name() != "EXPECT" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn lint_cases_trigger_exactly_their_check() {
    let cases = lint_cases();
    assert!(cases.len() >= 12, "only {} lint cases", cases.len());
    for case in cases {
        let want = expected_of(&case);
        let out = pfe()
            .args(["lint", "--json", case.to_str().unwrap()])
            .output()
            .unwrap();
        let json = json_of(&out);
        let got = found(&json["findings"]);
        assert_eq!(got, want, "{}: {json:#}", case.display());
        let has_error = json["errors"].as_u64().unwrap() > 0;
        assert_eq!(
            out.status.code(),
            Some(if has_error { 1 } else { 0 }),
            "{}",
            case.display()
        );
        // --deny-warnings: any finding fails.
        let strict = pfe()
            .args(["lint", "--deny-warnings", case.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            strict.status.code(),
            Some(if want.is_empty() { 0 } else { 1 }),
            "{}",
            case.display()
        );
        // Every finding says where it is.
        for f in json["findings"].as_array().unwrap() {
            assert!(
                f["file"].is_string() && f["line"].as_u64().unwrap() > 0,
                "{f}"
            );
            assert!(f["message"].is_string() && f["name"].is_string(), "{f}");
        }
    }
}

#[test]
fn validate_cases_trigger_exactly_their_check() {
    let cases = validate_cases();
    assert!(cases.len() >= 16, "only {} validate cases", cases.len());
    for case in cases {
        let want = codes(&std::fs::read_to_string(case.join("EXPECT")).unwrap());
        let tree = tempfile::tempdir().unwrap();
        copy_tree(&defects().join("validate/_base"), tree.path());
        copy_tree(&case, tree.path());
        let out = pfe()
            .args([
                "--config-dir",
                tree.path().to_str().unwrap(),
                "validate",
                "defect",
                "defect",
                "--json",
            ])
            .output()
            .unwrap();
        let json = json_of(&out);
        let got = found(&json["results"][0]["findings"]);
        assert_eq!(got, want, "{}: {json:#}", case.display());
        let has_error = json["errors"].as_u64().unwrap() > 0;
        assert_eq!(out.status.code(), Some(if has_error { 1 } else { 0 }));
    }
}

/// Each check has a case: lint for what a single config shows, validate for
/// what only the catalog knows.
#[test]
fn every_code_has_a_case() {
    let mut covered = BTreeSet::new();
    for case in lint_cases() {
        covered.extend(expected_of(&case));
    }
    for case in validate_cases() {
        covered.extend(codes(
            &std::fs::read_to_string(case.join("EXPECT")).unwrap(),
        ));
    }
    for c in pfe_core::validate::CODES {
        assert!(covered.contains(c.code), "no defect case for {}", c.code);
    }
}

#[test]
fn findings_name_the_fix() {
    let lint = |name: &str| {
        let out = pfe()
            .args([
                "lint",
                "--json",
                defects().join("lint").join(name).to_str().unwrap(),
            ])
            .output()
            .unwrap();
        json_of(&out)["findings"].clone()
    };
    let f = lint("PFE001-unknown-option.cfg.lua");
    assert_eq!(f[0]["hint"], "did you mean 'c2s_require_encryption'?");
    assert_eq!(f[0]["line"], 3);
    let f = lint("PFE003-no-effect.cfg.lua");
    let m = f[0]["message"].as_str().unwrap();
    assert!(
        m.contains("mod_http_upload")
            && m.contains("mod_http_file_share")
            && m.contains("http_file_share_size_limit"),
        "{m}"
    );
    let f = lint("PFE005-unknown-module.cfg.lua");
    assert_eq!(f[0]["hint"], "did you mean 'carbons'?");
    assert_eq!(f[0]["line"], 4, "the list item's own line");
    let f = lint("PFE006-module-not-installed.cfg.lua");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("prosody-modules")
    );
    let f = lint("PFE007-deprecated-option.cfg.lua");
    assert!(
        f[0]["hint"]
            .as_str()
            .unwrap()
            .contains("c2s_direct_tls_ports")
    );
    let f = lint("PFE004-global-only.cfg.lua");
    assert_eq!(f[0]["host"], "example.org");
}

fn lint_findings(name: &str) -> Vec<serde_json::Value> {
    let out = pfe()
        .args([
            "lint",
            "--json",
            defects().join("lint").join(name).to_str().unwrap(),
        ])
        .output()
        .unwrap();
    json_of(&out)["findings"].as_array().unwrap().clone()
}

fn text(f: &serde_json::Value, key: &str) -> String {
    f[key].as_str().unwrap_or_default().to_string()
}

/// Modules upstream prosody-modules has and Debian's package does not ship:
/// each is "not installed" and names where it is from; their options are
/// known (no PFE001) and the modules are not "unknown" (no PFE005).
#[test]
fn upstream_modules_are_known_but_not_installed() {
    let f = lint_findings("upstream-modules.cfg.lua");
    let mut named: BTreeSet<String> = BTreeSet::new();
    for x in &f {
        assert_eq!(x["code"], "PFE006", "{x}");
        let m = text(x, "message");
        assert!(
            m.contains("upstream prosody-modules") && m.contains("decent-im/prosody-modules"),
            "{m}"
        );
        assert!(
            !m.contains("does not exist") && !m.contains("neither"),
            "{m}"
        );
        named.insert(m.split_whitespace().next().unwrap().to_string());
    }
    let want: BTreeSet<String> = [
        "block_registrations",
        "limit_auth",
        "log_slow_events",
        "presence_cache",
        "s2s_keepalive",
        "throttle_unsolicited",
        "c2s_limit_sessions",
        "conversejs",
        "alias",
        "muc_offline_delivery",
    ]
    .iter()
    .map(|m| format!("mod_{m}"))
    .collect();
    assert_eq!(named, want);
}

/// A module pfe does not know is "unknown to pfe"; the options only it
/// could read are not reported, a near miss of a known option is, noted.
#[test]
fn unknown_modules_are_unknown_to_pfe() {
    let f = lint_findings("unknown-module-options.cfg.lua");
    assert_eq!(f.len(), 2, "{f:#?}");
    let m = text(&f[0], "message");
    assert_eq!(f[0]["code"], "PFE005");
    assert!(m.contains("is unknown to pfe"), "{m}");
    assert!(
        !m.contains("does not exist") && !m.contains("has mod_"),
        "{m}"
    );
    assert_eq!(f[1]["code"], "PFE001");
    assert!(text(&f[1], "message").contains("c2s_require_encrption"));
    assert!(
        text(&f[1], "message").contains("unless mod_zqx_local_helper, unknown to pfe"),
        "{}",
        f[1]
    );
    assert_eq!(f[1]["hint"], "did you mean 'c2s_require_encryption'?");
}

/// Issue 10's false findings: the host copy of a global module's option is
/// the one flagged (not the global one), an overridden global value says
/// so (not "enable mod_welcome"), a deprecated module is "deprecated".
#[test]
fn real_world_false_findings_fixed() {
    assert!(lint_findings("false-findings-clean.cfg.lua").is_empty());

    let f = lint_findings("PFE003-host-copy-of-global-option.cfg.lua");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["host"], "example.org");
    assert_eq!(f[0]["line"], 8);
    assert!(text(&f[0], "message").contains("global section only"));
    assert!(text(&f[0], "hint").starts_with("remove it"));

    let f = lint_findings("PFE003-overridden-global.cfg.lua");
    assert_eq!(f.len(), 1, "{f:#?}");
    let m = text(&f[0], "message");
    assert!(
        m.contains("every host that loads a module reading it sets its own value")
            && m.contains("a.example.org")
            && m.contains("b.example.org"),
        "{m}"
    );
    assert!(!text(&f[0], "hint").contains("enable"), "{}", f[0]);

    let f = lint_findings("PFE006-deprecated-upstream-module.cfg.lua");
    assert_eq!(f.len(), 1, "{f:#?}");
    let m = text(&f[0], "message");
    assert!(m.starts_with("mod_vcard_muc is deprecated"), "{m}");
    assert!(!m.contains("no longer exists"), "{m}");
    assert!(text(&f[0], "hint").contains("mod_muc"));
}

#[test]
fn usage_errors_exit_2() {
    pfe()
        .args(["lint", "/nonexistent/prosody.cfg.lua"])
        .assert()
        .code(2);
    pfe().args(["validate", "no-such-profile"]).assert().code(2);
    pfe().args(["lint"]).assert().code(2);
    pfe().args(["validate", "--no-such-flag"]).assert().code(2);
}
