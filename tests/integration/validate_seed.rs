//! The seed's three example files (tests/fixtures/seed-tree) load, and
//! `pfe validate` warns about every option they invented, naming the
//! nearest real option where one exists.

use pfe_testkit::pfe;
use std::path::Path;

#[test]
fn seed_inventions_are_reported_with_the_nearest_real_option() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-tree");
    let out = pfe()
        .args([
            "--config-dir",
            seed.to_str().unwrap(),
            "validate",
            "standard",
            "production",
            "--json",
        ])
        // The seed only writes its FAST options when this is on.
        .env("PROSODY_FEATURES_AUTH_FAST", "true")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["results"][0]["findings"].as_array().unwrap().clone();
    let find = |code: &str, option: &str| -> serde_json::Value {
        findings
            .iter()
            .find(|f| {
                f["code"] == code
                    && f["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("'{option}'"))
            })
            .unwrap_or_else(|| panic!("no {code} for {option}: {findings:#?}"))
            .clone()
    };
    // (invented option, what the hint must name)
    let invented = [
        ("sasl2_require_encryption", Some("c2s_require_encryption")),
        ("authentication_policy", Some("'authentication'")),
        ("debug_mode", Some("'debug'")),
        ("admin_shell_enabled", Some("modules_enabled")),
        ("sasl2_timeout", Some("mod_sasl2 reads")),
        ("sasl2_bind2_enable_carbons", Some("\"carbons\"")),
        (
            "sasl2_bind2_enable_sm",
            Some("mod_sasl2_bind2 reads no options"),
        ),
        (
            "sasl2_fast_max_tokens_per_user",
            Some("sasl2_fast_token_ttl"),
        ),
        ("sasl_enabled_mechanisms", None),
    ];
    for (option, hint) in invented {
        let f = find("PFE001", option);
        assert_eq!(f["severity"], "warning");
        assert!(
            f["file"]
                .as_str()
                .unwrap()
                .starts_with("tests/fixtures/seed-tree/")
                || f["file"].as_str().unwrap().contains("seed-tree"),
            "{f}"
        );
        if let Some(h) = hint {
            let got = f["hint"].as_str().unwrap();
            assert!(got.contains(h), "{option}: hint {got:?} lacks {h:?}");
        }
    }
    // mod_http_upload's option under the enabled mod_http_file_share.
    let f = find("PFE003", "http_upload_file_size_limit");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("http_file_share_size_limit"),
        "{f}"
    );
    // Warnings only: the run passes, unless warnings are denied.
    assert_eq!(json["errors"], 0, "{findings:#?}");
    assert!(out.status.success());
    pfe()
        .args([
            "--config-dir",
            seed.to_str().unwrap(),
            "validate",
            "standard",
            "production",
            "--deny-warnings",
        ])
        .env("PROSODY_FEATURES_AUTH_FAST", "true")
        .assert()
        .code(1);
}
