//! `pfe lint` on real configs: Debian's /etc/prosody/prosody.cfg.lua (with
//! its Include of conf.d/*.cfg.lua) and every config `pfe generate` writes.

use pfe_testkit::pfe;
use std::path::Path;

fn lint_json(path: &Path) -> (serde_json::Value, Option<i32>) {
    let out = pfe()
        .args(["lint", "--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (json, out.status.code())
}

/// Never skipped: the test machine has Prosody (scripts/install-deps.sh).
#[test]
fn debians_config_with_its_includes() {
    let cfg = Path::new("/etc/prosody/prosody.cfg.lua");
    assert!(
        cfg.exists(),
        "Prosody's packaged config is missing: run scripts/install-deps.sh"
    );
    let (json, code) = lint_json(cfg);
    let sections: Vec<&str> = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // conf.d/localhost.cfg.lua was Included (and repeats the host).
    assert!(sections.contains(&"localhost"), "{json:#}");
    // Debian's file enables the deprecated mod_posix and sets an archive
    // expiry without mod_mam: both true findings, nothing else.
    let findings = json["findings"].as_array().unwrap();
    for f in findings {
        let ok = (f["code"] == "PFE008" && f["message"].as_str().unwrap().contains("posix"))
            || (f["code"] == "PFE003"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("archive_expires_after"));
        assert!(ok, "unexpected finding on Debian's config: {f}");
    }
    assert_eq!(code, Some(0), "{json:#}");
}

#[test]
fn include_globs_follow_prosody() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("conf.d")).unwrap();
    std::fs::write(
        d.join("main.cfg.lua"),
        "modules_enabled = { \"disco\", \"roster\", \"saslauth\", \"tls\" }\nInclude \"conf.d/*.cfg.lua\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("conf.d/a.cfg.lua"),
        "VirtualHost \"a.example\"\n    c2s_require_encrption = true\n",
    )
    .unwrap();
    std::fs::write(d.join("conf.d/b.cfg.lua.disabled"), "this is not lua").unwrap();
    let (json, code) = lint_json(&d.join("main.cfg.lua"));
    let f = &json["findings"][0];
    assert_eq!(f["code"], "PFE001");
    assert_eq!(f["host"], "a.example");
    assert!(f["file"].as_str().unwrap().ends_with("conf.d/a.cfg.lua"));
    assert_eq!(f["line"], 2);
    assert_eq!(code, Some(0));
}

/// Every profile × environment pfe generates lints clean.
#[test]
fn generated_configs_lint_clean() {
    let out = pfe().args(["list", "--json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut dirty = Vec::new();
    for p in list["profiles"].as_array().unwrap() {
        for e in list["environments"].as_array().unwrap() {
            let (p, e) = (p["id"].as_str().unwrap(), e["id"].as_str().unwrap());
            let file = dir.path().join(format!("{p}.{e}.cfg.lua"));
            pfe()
                .args(["generate", p, e, "-o", file.to_str().unwrap()])
                .assert()
                .success();
            let (json, _) = lint_json(&file);
            for f in json["findings"].as_array().unwrap() {
                dirty.push(format!("{p} {e}: {f}"));
            }
        }
    }
    assert!(dirty.is_empty(), "{}", dirty.join("\n"));
}

/// And the catalog itself validates clean, warnings included.
#[test]
fn shipped_catalog_validates_clean() {
    let out = pfe()
        .args(["validate", "--json", "--deny-warnings"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut dirty = Vec::new();
    for r in json["results"].as_array().unwrap() {
        for f in r["findings"].as_array().unwrap() {
            dirty.push(format!("{} {}: {f}", r["profile"], r["environment"]));
        }
    }
    assert!(dirty.is_empty(), "{}", dirty.join("\n"));
    assert!(out.status.success());
}
