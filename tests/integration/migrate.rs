//! `pfe migrate FILE -o DIR`: every corpus config Prosody 13 loads migrates
//! with no difference the report does not explain (checked again through
//! `pfe diff ORIGINAL profile: --config-dir DIR --env-file DIR/.env`);
//! every shipped profile × environment round-trips from its generated
//! config; the seed's modules.d layout; secrets, dead options, refusals.

use pfe_testkit::{pfe, repo_root};
use serde_json::Value as J;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The MANIFEST environment of a corpus config.
fn manifest_env(id: &str) -> HashMap<String, String> {
    let manifest = std::fs::read_to_string(repo_root().join("tests/corpus/MANIFEST.tsv")).unwrap();
    let row: Vec<&str> = manifest
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[0] == id)
        .unwrap();
    row[6]
        .split(';')
        .filter(|kv| *kv != "-")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn json(out: &std::process::Output) -> J {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (host, what) of every item the report names.
fn explained(report: &J) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for list in ["residue", "renamed", "flagged", "dropped", "unexpressed"] {
        for i in report[list].as_array().unwrap() {
            set.insert((
                i["host"].as_str().unwrap().into(),
                i["what"].as_str().unwrap().into(),
            ));
            if let Some(to) = i["to"].as_str() {
                set.insert((i["host"].as_str().unwrap().into(), to.into()));
            }
        }
    }
    for s in report["secrets"].as_array().unwrap() {
        let i = &s["item"];
        set.insert((
            i["host"].as_str().unwrap().into(),
            i["what"].as_str().unwrap().into(),
        ));
    }
    set
}

/// Migrates `file` into `dir` and checks with `pfe diff` that what is left
/// is what the report says; returns the report.
fn migrate_and_prove(file: &Path, dir: &Path, env: &HashMap<String, String>) -> J {
    let out = pfe()
        .args(["migrate", "--json"])
        .arg(file)
        .arg("-o")
        .arg(dir)
        .envs(env)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(
        report["unexplained"],
        J::Array(vec![]),
        "{}",
        file.display()
    );
    let diff = pfe()
        .args(["diff", "--json"])
        .arg(file)
        .arg("profile:")
        .arg("--config-dir")
        .arg(dir)
        .arg("--env-file")
        .arg(dir.join(".env"))
        .envs(env)
        .output()
        .unwrap();
    let d = json(&diff);
    let known = explained(&report);
    let hosts: BTreeSet<&String> = known
        .iter()
        .filter(|(_, w)| w == "host")
        .map(|(h, _)| h)
        .collect();
    for x in d["differences"].as_array().unwrap() {
        let host = x["host"].as_str().unwrap().to_string();
        let what = match x["kind"].as_str().unwrap() {
            "option" => format!("option {}", x["name"].as_str().unwrap()),
            "module" => format!("module mod_{}", x["name"].as_str().unwrap()),
            _ => "host".into(),
        };
        assert!(
            hosts.contains(&host) || known.contains(&(host.clone(), what.clone())),
            "{}: `pfe diff` shows {what} on {host}, which migrate did not report: {x:#}",
            file.display()
        );
    }
    assert_eq!(
        d["differences"].as_array().unwrap().len(),
        report["remaining"].as_array().unwrap().len(),
        "{}",
        file.display()
    );
    report
}

#[test]
fn every_corpus_config_prosody_loads_migrates_with_nothing_unexplained() {
    let root = repo_root().join("tests/corpus");
    let tmp = tempfile::tempdir().unwrap();
    let mut migrated = 0;
    for entry in std::fs::read_dir(root.join("expected")).unwrap() {
        let path = entry.unwrap().path();
        let id = path.file_stem().unwrap().to_string_lossy().to_string();
        let expected: J = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = root.join("configs").join(format!("{id}.cfg.lua"));
        if expected["loads"] != J::Bool(true) {
            // What Prosody refuses, migrate refuses too, naming file:line.
            let out = pfe()
                .arg("migrate")
                .arg(&file)
                .arg("-o")
                .arg(tmp.path().join(&id))
                .envs(manifest_env(&id))
                .output()
                .unwrap();
            if out.status.code() == Some(2) {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains(&format!("{id}.cfg.lua:")), "{err}");
                assert!(!tmp.path().join(&id).exists());
            }
            continue;
        }
        migrate_and_prove(&file, &tmp.path().join(&id), &manifest_env(&id));
        migrated += 1;
    }
    assert_eq!(migrated, 35, "Prosody 13 loads 35 of the 38 corpus configs");
}

#[test]
fn every_profile_and_environment_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let profiles = ["minimal", "standard", "enterprise", "development"];
    let envs = ["production", "staging", "development", "testing"];
    for p in profiles {
        for e in envs {
            let file = tmp.path().join(format!("{p}-{e}.cfg.lua"));
            let out = pfe()
                .args(["generate", p, e, "--domain", "example.org", "-o"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{p}/{e}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // The header comments must not be what migrate reads.
            let text = std::fs::read_to_string(&file).unwrap();
            let stripped: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&file, stripped).unwrap();
            let dir = tmp.path().join(format!("{p}-{e}"));
            let report = migrate_and_prove(&file, &dir, &HashMap::new());
            assert_eq!(report["profile"], p, "{p}/{e}: {report:#}");
            assert_eq!(report["with"], J::Array(vec![]), "{p}/{e}");
            assert_eq!(report["without"], J::Array(vec![]), "{p}/{e}");
            assert_eq!(report["residue"], J::Array(vec![]), "{p}/{e}");
            assert_eq!(report["remaining"], J::Array(vec![]), "{p}/{e}");
            let got = report["environment"].as_str().unwrap();
            if got != e {
                // Only when the two environments give the same config.
                let same = pfe()
                    .args([
                        "diff",
                        &format!("profile:{p}/{e}"),
                        &format!("profile:{p}/{got}"),
                        "--domain",
                        "example.org",
                    ])
                    .output()
                    .unwrap();
                assert_eq!(
                    same.status.code(),
                    Some(0),
                    "{p}/{e} came back as {got}: {}",
                    String::from_utf8_lossy(&same.stdout)
                );
            }
        }
    }
}

#[test]
fn the_seed_modules_d_layout_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("prosody");
    std::fs::create_dir_all(src.join("modules.d")).unwrap();
    let per_module = [
        ("roster", ""),
        ("saslauth", ""),
        ("tls", ""),
        ("dialback", ""),
        ("disco", ""),
        ("carbons", ""),
        ("pep", ""),
        ("private", ""),
        ("blocklist", ""),
        ("vcard4", ""),
        ("vcard_legacy", ""),
        ("version", ""),
        ("uptime", ""),
        ("time", ""),
        ("ping", ""),
        (
            "mam",
            "archive_expires_after = \"1w\"\ndefault_archive_policy = true\n",
        ),
        ("smacks", "smacks_hibernation_time = 900\n"),
        ("csi_simple", ""),
        ("http_file_share", ""),
    ];
    for (m, opts) in per_module {
        std::fs::write(
            src.join(format!("modules.d/mod_{m}.cfg.lua")),
            format!("-- mod_{m}\nmodules_enabled:append {{ \"{m}\" }}\n{opts}"),
        )
        .unwrap();
    }
    std::fs::write(
        src.join("prosody.cfg.lua"),
        "admins = { \"admin@example.net\" }\nmodules_enabled = {}\nInclude \"modules.d/*.cfg.lua\"\n\
         VirtualHost \"example.net\"\nComponent \"upload.example.net\" \"http_file_share\"\n\
         Component \"gateway.example.net\"\n  component_secret = \"hunter2\"\n",
    )
    .unwrap();
    let dir = tmp.path().join("pfe");
    let report = migrate_and_prove(&src.join("prosody.cfg.lua"), &dir, &HashMap::new());
    assert_eq!(report["domain"], "example.net");
    let features: Vec<&str> = report["recognised"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in ["messaging/carbons", "messaging/archive", "mobile/smacks"] {
        assert!(features.contains(&f), "{f} not recognised: {features:?}");
    }
    // The residue names the per-module file each item came from.
    let local = std::fs::read_to_string(dir.join("local.cfg.lua")).unwrap();
    assert!(local.contains("modules.d/mod_smacks.cfg.lua:3"), "{local}");
    // The secret moved out: not in any written file, a Credential instead.
    assert!(
        local.contains("component_secret = Credential(\"gateway.example.net_component_secret\")"),
        "{local}"
    );
    for f in ["local.cfg.lua", ".env"] {
        assert!(
            !std::fs::read_to_string(dir.join(f))
                .unwrap()
                .contains("hunter2")
        );
    }
    let secrets = report["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert!(
        secrets[0]["item"]["note"]
            .as_str()
            .unwrap()
            .contains("CREDENTIALS_DIRECTORY")
    );
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(env.contains("PROSODY_DOMAIN=example.net\n"), "{env}");
}

#[test]
fn dead_options_are_kept_and_flagged_unless_drop_dead() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("prosody.cfg.lua");
    std::fs::write(
        &file,
        "modules_enabled = { \"roster\" }\nmy_invented_option = 42\nVirtualHost \"example.org\"\n",
    )
    .unwrap();
    let kept = migrate_and_prove(&file, &tmp.path().join("a"), &HashMap::new());
    assert_eq!(kept["flagged"][0]["what"], "option my_invented_option");
    assert_eq!(kept["flagged"][0]["place"]["line"], 2);
    assert!(
        std::fs::read_to_string(tmp.path().join("a/local.cfg.lua"))
            .unwrap()
            .contains("my_invented_option = 42")
    );
    let out = pfe()
        .args(["migrate", "--json", "--drop-dead"])
        .arg(&file)
        .arg("-o")
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    let dropped = json(&out);
    assert_eq!(dropped["dropped"][0]["what"], "option my_invented_option");
    assert!(
        !std::fs::read_to_string(tmp.path().join("b/local.cfg.lua"))
            .unwrap()
            .contains("my_invented_option")
    );
    // The dropped option is the one difference left, and it is reported.
    assert_eq!(dropped["remaining"].as_array().unwrap().len(), 1);
    assert_eq!(dropped["unexplained"], J::Array(vec![]));
}

#[test]
fn refuses_to_overwrite_and_names_the_line_of_a_broken_config() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("prosody.cfg.lua");
    std::fs::write(&file, "VirtualHost \"example.org\"\n").unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "keep me").unwrap();
    let out = pfe()
        .arg("migrate")
        .arg(&file)
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
        "keep me"
    );
    let out = pfe()
        .args(["migrate", "--force"])
        .arg(&file)
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("mine.txt").exists());
    assert!(dir.join(".env").exists());
    // Nothing but DIR is left beside it.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    std::fs::write(
        &file,
        "admins = {}\nVirtualHost \"example.org\"\n  ssl = { key = \n",
    )
    .unwrap();
    let out = pfe()
        .arg("migrate")
        .arg(&file)
        .arg("-o")
        .arg(tmp.path().join("new"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prosody.cfg.lua:"), "{err}");
    assert!(!tmp.path().join("new").exists());
}

/// The migrated tree of a running server's config, started by real
/// Prosody 13 on loopback, keeps every promise of its profile (`pfe check`'s
/// library on the wire: XMPP features, HTTP endpoints, security promises).
#[test]
fn a_migrated_config_started_by_prosody_passes_check() {
    use pfe_core::catalog::Catalog;
    use pfe_core::engine::{self, Request};
    use pfe_probe::check::{self, HttpTarget, Outcome, Target};
    use pfe_probe::xmpp::{ClientConfig, TlsMode, TlsVerify};
    use pfe_run::server::{self, Ports, StartOptions, StateDir};
    use std::time::Duration;

    let ok = std::process::Command::new("prosodyctl")
        .arg("about")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "prosodyctl is missing: run scripts/install-deps.sh (the test command does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("state")).unwrap();
    let ports = Ports::pick().unwrap();
    let cert = server::generate_cert(
        &state.certs_dir(),
        "localhost",
        &[
            "conference.localhost",
            "upload.localhost",
            "proxy.localhost",
        ],
    )
    .unwrap();
    // The "existing server": standard/development made to run on loopback,
    // written as a plain config file.
    let mut req = Request::new("standard", "development");
    req.domain = Some("localhost".into());
    req.sets = server::loopback_overrides(&state, &ports)
        .into_iter()
        .filter(|(k, _)| k != "daemonize")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    req.sets.push("anti_spam_services={}".into());
    let original = engine::build(&Catalog::builtin(), &req).unwrap();
    let file = tmp.path().join("prosody.cfg.lua");
    std::fs::write(&file, &original.config).unwrap();

    let dir = tmp.path().join("pfe");
    let report = migrate_and_prove(&file, &dir, &HashMap::new());
    assert_eq!(report["profile"], "standard");
    assert_eq!(report["environment"], "development");

    // The tree, as the switch would run it.
    let catalog = Catalog::load(Some(&dir)).unwrap();
    let mut req = Request::new(
        report["profile"].as_str().unwrap(),
        report["environment"].as_str().unwrap(),
    );
    req.domain = Some("localhost".into());
    let migrated = engine::build(&catalog, &req).unwrap();
    let config = state.write_config(&migrated.config).unwrap();
    server::create_user(&config, "alice@localhost", "correct horse").unwrap();
    let mut opts = StartOptions::new(&state, &ports);
    opts.kill_with_parent = true;
    opts.also_wait = vec![Ports::addr(ports.c2s_direct_tls), Ports::addr(ports.https)];
    let prosody = server::start(&config, &opts).unwrap();

    let mut cfg = ClientConfig::new(
        ports.c2s_addr().to_string(),
        "alice@localhost",
        "correct horse",
        TlsMode::StartTls,
        TlsVerify::CaFile(cert.cert.clone()),
    );
    cfg.timeouts.overall = Duration::from_secs(20);
    let mut target = Target::new(cfg);
    // BOSH and WebSocket offer SASL only over TLS: the HTTPS port.
    target.http = Some(HttpTarget {
        addr: format!("127.0.0.1:{}", ports.https),
        host: "localhost".into(),
        tls: Some(TlsVerify::CaFile(cert.cert.clone())),
    });
    target.direct_tls_addr = Some(format!("127.0.0.1:{}", ports.c2s_direct_tls));
    let promises = check::promises(&migrated);
    assert!(promises.len() > 10, "{} promises", promises.len());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt
        .block_on(check::inspect(&target, &promises))
        .unwrap_or_else(|e| panic!("{e}\n{}", prosody.log_tail(30)));
    let failed: Vec<String> = result
        .rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Fail { missing } => Some(format!(
                "{} {}: {missing}",
                r.promise.feature, r.promise.xep
            )),
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "promises broken:\n{}\n{}",
        failed.join("\n"),
        prosody.log_tail(30)
    );
    let passed = result
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Pass { .. }))
        .count();
    assert!(
        passed > 10,
        "only {passed} promises seen working:\n{}",
        result.render_text()
    );
}
