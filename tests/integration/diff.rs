//! `pfe diff A B`: what counts as a difference (values after inheritance,
//! defaults and getters' normalisation; module sets as Prosody computes
//! them) and what does not (order, comments, Include structure, syntax),
//! each difference located on both sides, exit codes 0/1/2.

use pfe_testkit::pfe;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const ONE_FILE: &str = r#"-- the whole server in one file
admins = { "admin@example.org" }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "mam" }
archive_expires_after = "1w"
c2s_require_encryption = true
VirtualHost "example.org"
    modules_enabled = { "carbons" }
Component "conference.example.org" "muc"
    restrict_room_creation = "local"
"#;

/// The same server: a main file Including a modules.d/ directory of
/// per-module files, other order, other spellings, a table form.
const MAIN: &str = r#"admins = { "admin@example.org" }
modules_enabled = {}
Include "modules.d/*.cfg.lua"
c2s_require_encryption = true
archive_expires_after = 604800 -- one week, in seconds
VirtualHost "example.org" {
    modules_enabled = { "carbons" };
}
Component "conference.example.org" {
    component_module = "muc";
    restrict_room_creation = "local";
}
"#;

fn split_tree(dir: &Path) -> String {
    for (i, m) in ["mam", "ping", "disco", "tls", "saslauth", "roster"]
        .iter()
        .enumerate()
    {
        write(
            dir,
            &format!("modules.d/{i:02}-{m}.cfg.lua"),
            &format!("-- mod_{m}\nmodules_enabled:append {{ \"{m}\" }}\n"),
        );
    }
    write(dir, "prosody.cfg.lua", MAIN)
}

#[test]
fn the_same_server_written_differently_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "one/prosody.cfg.lua", ONE_FILE);
    let b = split_tree(&dir.path().join("split"));
    let out = pfe().args(["diff", &a, &b]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("mean the same"), "{text}");
}

#[test]
fn differences_are_located_on_both_sides_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "one/prosody.cfg.lua", ONE_FILE);
    let changed = ONE_FILE
        .replace("\"1w\"", "\"2w\"")
        .replace("{ \"carbons\" }", "{ \"carbons\", \"csi_simple\" }")
        .replace("\"local\"", "\"admin\"");
    let b = write(dir.path(), "two/prosody.cfg.lua", &changed);
    let out = pfe().args(["diff", "--json", &a, &b]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diffs = v["differences"].as_array().unwrap();
    let find = |host: &str, kind: &str, name: &str| {
        diffs
            .iter()
            .find(|d| d["host"] == host && d["kind"] == kind && d["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} on {host} in {diffs:#?}"))
    };
    let period = find("*", "option", "archive_expires_after");
    assert_eq!(period["a"]["shown"], "604800");
    assert_eq!(period["b"]["shown"], "1209600");
    assert_eq!(period["a"]["place"]["line"], 4);
    assert!(
        period["b"]["place"]["file"]
            .as_str()
            .unwrap()
            .ends_with("two/prosody.cfg.lua")
    );
    let csi = find("example.org", "module", "csi_simple");
    assert_eq!(csi["b"]["place"]["line"], 7);
    assert_eq!(csi["a"]["shown"], "not loaded");
    // mod_csi_simple depends on mod_csi: that comes along.
    find("example.org", "module", "csi");
    let room = find("conference.example.org", "option", "restrict_room_creation");
    assert_eq!(room["a"]["place"]["line"], 9);
    assert_eq!(diffs.len(), 4, "{diffs:#?}");
}

#[test]
fn defaults_and_inheritance_count() {
    let dir = tempfile::tempdir().unwrap();
    // Set to its default (mod_mam: "1w") on one side, unset on the other.
    let a = write(dir.path(), "a.cfg.lua", "VirtualHost \"x.example\"\n");
    let b = write(
        dir.path(),
        "b.cfg.lua",
        "archive_expires_after = \"7 days\"\nVirtualHost \"x.example\"\n",
    );
    assert_eq!(
        pfe().args(["diff", &a, &b]).output().unwrap().status.code(),
        Some(0)
    );
    // A host's own value equal to what it inherits on the other side.
    let c = write(
        dir.path(),
        "c.cfg.lua",
        "VirtualHost \"x.example\"\n  archive_expires_after = \"1w\"\n",
    );
    assert_eq!(
        pfe().args(["diff", &a, &c]).output().unwrap().status.code(),
        Some(0)
    );
    // An option without a known default: unset differs from set.
    let d = write(
        dir.path(),
        "d.cfg.lua",
        "VirtualHost \"x.example\"\n  contact_info = { admin = { \"mailto:a@x.example\" } }\n",
    );
    let out = pfe().args(["diff", &a, &d]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("default unknown"), "{text}");
    // A Component does not inherit global mod_mam; a VirtualHost does.
    let e = write(
        dir.path(),
        "e.cfg.lua",
        "modules_enabled = { \"mam\" }\nComponent \"c.example\" \"muc\"\n",
    );
    let f = write(dir.path(), "f.cfg.lua", "Component \"c.example\" \"muc\"\n");
    let out = pfe().args(["diff", "--json", &e, &f]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, vec!["*"], "{v:#}");
}

#[test]
fn a_generated_config_is_its_selection() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prosody.cfg.lua");
    let generated = pfe()
        .args([
            "generate",
            "standard",
            "production",
            "--domain",
            "example.org",
            "-o",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let f = file.display().to_string();
    let same = pfe()
        .args([
            "diff",
            &f,
            "profile:standard/production",
            "--domain",
            "example.org",
        ])
        .output()
        .unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    // The flags apply to the profile: side only, and the catalog side is
    // located in the catalog's files.
    let out = pfe()
        .args([
            "diff",
            &f,
            "profile:standard/production",
            "--domain",
            "example.org",
            "--without",
            "messaging/carbons",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "global section: module mod_carbons\n  A: loaded (global modules_enabled at "
        ),
        "{text}"
    );
    let out = pfe()
        .args([
            "diff",
            "profile:standard/production",
            &f,
            "--domain",
            "example.org",
            "--set",
            "archive_expires_after=\"2w\"",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("A: 1209600 (set at --set archive_expires_after"),
        "{text}"
    );
    assert!(text.contains("B: 31556952 (set at "), "{text}");
}

#[test]
fn bad_input_exits_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.cfg.lua", "VirtualHost \"x.example\"\n");
    let broken = write(
        dir.path(),
        "broken.cfg.lua",
        "admins = {}\nVirtualHost \"x.example\"\n  this is not lua\n",
    );
    let out = pfe().args(["diff", &good, &broken]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.cfg.lua:3"), "{err}");
    let out = pfe()
        .args(["diff", &good, "/nonexistent/prosody.cfg.lua"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = pfe()
        .args(["diff", &good, "profile:nosuch/production"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
