//! `pfe lint --fix [--dry-run]` on a real file: the rewrite keeps comments
//! and layout, lints clean of the fixed codes, is atomic, and never touches
//! a file that does not parse.

use pfe_testkit::{pfe, repo_root};
use std::collections::BTreeSet;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures/fix").join(name)).unwrap()
}

fn codes(out: &std::process::Output) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fix_rewrites_in_place_and_dry_run_only_shows_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prosody.cfg.lua");
    std::fs::write(&file, fixture("old.cfg.lua")).unwrap();
    let before = pfe().args(["lint", "--json"]).arg(&file).output().unwrap();
    for c in ["PFE007", "PFE008", "PFE024"] {
        assert!(codes(&before).contains(c), "{c} before the fix");
    }

    let dry = pfe()
        .args(["lint", "--fix", "--dry-run"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(dry.status.success());
    let diff = String::from_utf8(dry.stdout).unwrap();
    assert!(
        diff.contains("\n-legacy_ssl_ports = { 5223 } -- direct TLS\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+c2s_direct_tls_ports = { 5223 } -- direct TLS\n"),
        "{diff}"
    );
    assert!(
        diff.starts_with(&format!("--- {}\n+++ {}\n", file.display(), file.display())),
        "{diff}"
    );
    assert!(diff.contains("+\t\"blocklist\"; -- XEP-0191\n"), "{diff}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        fixture("old.cfg.lua"),
        "--dry-run wrote"
    );

    let fixed = pfe().args(["lint", "--fix"]).arg(&file).output().unwrap();
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        fixture("old.fixed.cfg.lua")
    );
    let after = pfe().args(["lint", "--json"]).arg(&file).output().unwrap();
    for c in ["PFE007", "PFE008", "PFE024"] {
        assert!(
            !codes(&after).contains(c),
            "{c} after the fix: {:?}",
            codes(&after)
        );
    }
    // Nothing left to fix: a second run changes nothing.
    let again = pfe()
        .args(["lint", "--fix", "--dry-run"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn a_file_that_does_not_parse_is_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.cfg.lua");
    let text = "legacy_ssl_ports = { 5223 }\nmodules_enabled = { \"blocking\"\n";
    std::fs::write(&file, text).unwrap();
    let out = pfe().args(["lint", "--fix"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not parse as Lua, so it was not changed"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
}
