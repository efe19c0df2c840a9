//! What users feed pfe through flags, variables and env files, hostile or
//! careless: every command resolves it the same way (src/request.rs),
//! refuses what cannot be served with an error naming what was set, and
//! never hangs, panics or writes half a file.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn pfe() -> Command {
    let mut c = pfe_testkit::pfe();
    // A regression that hangs fails instead.
    c.timeout(Duration::from_secs(60));
    c
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The domains every command must refuse, and how the message shows each.
fn bad_domains() -> Vec<(String, &'static str)> {
    vec![
        (String::new(), "''"),
        ("a b".into(), "'a b'"),
        ("a,b".into(), "'a,b'"),
        ("a\"b".into(), "'a\"b'"),
        (format!("{}.example.org", "x".repeat(300)), "xxxxxxxx"),
        (
            "x.example.org\nLua.os.execute(\"touch /tmp/pfe-pwned\") --".into(),
            "x.example.org\\nLua.os.execute",
        ),
        ("[::1]".into(), "'[::1]'"),
        ("x.example.org\u{200b}".into(), "x.example.org\\u{200b}"),
    ]
}

fn assert_refused(r: &Run, what: &str, subject: &str, shown: &str) {
    assert_eq!(r.code, Some(1), "{what}: {}", r.stderr);
    assert!(
        r.stderr.contains(subject) && r.stderr.contains("is not a domain name"),
        "{what}: the error must name {subject}: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(shown),
        "{what}: the value must be shown as {shown}: {}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("\nLua.os.execute"),
        "{what}: a newline from the input reached the message raw: {}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("VirtualHost"),
        "{what}: a config was printed"
    );
    assert!(
        !r.stderr.contains("PROSODY_TURN_HOST"),
        "{what}: blamed on a variable nobody set: {}",
        r.stderr
    );
}

#[test]
fn every_command_refuses_a_bad_domain_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (d, shown) in bad_domains() {
        let out = dir.path().join("out");
        for args in [
            vec!["generate", "-o", out.to_str().unwrap()],
            vec!["env", "-o", out.to_str().unwrap()],
            vec!["explain", "c2s_ports"],
            vec!["compose", "-o", out.to_str().unwrap()],
            vec!["k8s", "-o", out.to_str().unwrap()],
        ] {
            let what = format!("pfe {} --domain {d:?}", args[0]);
            let r = run(pfe().args(&args).arg("--domain").arg(&d));
            assert_refused(&r, &what, "--domain", shown);
            assert!(!out.exists(), "{what}: wrote {}", out.display());
        }
        let r = run(pfe().args(["healthcheck", "--domain", &d, "--timeout", "100"]));
        assert_refused(&r, "healthcheck", "--domain", shown);
        let r = run(pfe().args([
            "check",
            "--server",
            "127.0.0.1:9",
            "--jid",
            &format!("admin@{d}"),
            "--password",
            "x",
            "--insecure",
            "--timeout",
            "100",
        ]));
        assert_refused(&r, "check", "--jid", shown);
    }
}

#[test]
fn a_bad_domain_from_a_variable_or_env_file_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("prod.env");
    for (d, shown) in bad_domains() {
        if d.is_empty() {
            continue; // a blank variable is an unset one
        }
        let r = run(pfe().arg("generate").env("PROSODY_DOMAIN", &d));
        assert_refused(&r, "generate with PROSODY_DOMAIN", "PROSODY_DOMAIN", shown);
        let r = run(pfe()
            .args(["entrypoint", "--dry-run", "--config-output"])
            .arg(dir.path().join("prosody.cfg.lua"))
            .env("PROSODY_DOMAIN", &d));
        assert_refused(&r, "entrypoint --dry-run", "PROSODY_DOMAIN", shown);
        if d.contains('\n') {
            continue; // one line per variable in an env file
        }
        std::fs::write(
            &env_file,
            format!("# production\nPROSODY_ADMINS=admin@example.org\nPROSODY_DOMAIN='{d}'\n"),
        )
        .unwrap();
        let r = run(pfe().arg("--env-file").arg(&env_file).arg("generate"));
        assert_refused(&r, "generate --env-file", "PROSODY_DOMAIN (in ", shown);
        assert!(r.stderr.contains("prod.env:3)"), "{}", r.stderr);
    }
}

#[test]
fn a_domain_is_served_in_nameprep_form_by_generate_and_the_entrypoint() {
    let r = run(pfe().args(["generate", "--domain", "Chat.Example.ORG"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("VirtualHost \"chat.example.org\""),
        "{}",
        r.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(pfe()
        .args(["entrypoint", "--dry-run", "--config-output"])
        .arg(dir.path().join("prosody.cfg.lua"))
        .env("PROSODY_DOMAIN", "Chat.Example.ORG"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("VirtualHost \"chat.example.org\""),
        "{}",
        r.stdout
    );
}

#[test]
fn a_set_scope_must_be_a_host_name() {
    for scope in ["a b", "a\"b", "x\ny"] {
        let arg = format!("{scope}:enabled=false");
        let r = run(pfe().args(["generate", "--set", &arg]));
        assert_eq!(r.code, Some(1), "{arg:?}: {}", r.stderr);
        assert!(r.stderr.contains("--set"), "{}", r.stderr);
        assert!(r.stderr.contains("is not a host name"), "{}", r.stderr);
        assert!(!r.stdout.contains("VirtualHost"), "{}", r.stdout);
    }
}

#[test]
fn blank_profile_and_environment_variables_mean_the_defaults_everywhere() {
    let r = run(pfe()
        .arg("generate")
        .env("PROSODY_PROFILE", " ")
        .env("PROSODY_ENVIRONMENT", ""));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("pfe generate standard production"),
        "{}",
        r.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(pfe()
        .args(["entrypoint", "--dry-run", "--config-output"])
        .arg(dir.path().join("prosody.cfg.lua"))
        .env("PROSODY_DOMAIN", "example.org")
        .env("PROSODY_PROFILE", " ")
        .env("PROSODY_ENVIRONMENT", ""));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("standard"), "{}", r.stderr);
}

#[test]
fn a_bad_pfe_set_is_reported_as_that_variable() {
    let r = run(pfe().arg("generate").env("PFE_SET_3", "garbage"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("PFE_SET_3=garbage"), "{}", r.stderr);
    assert!(!r.stderr.contains("--set garbage"), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let r = run(pfe()
        .args(["entrypoint", "--dry-run", "--config-output"])
        .arg(dir.path().join("prosody.cfg.lua"))
        .env("PROSODY_DOMAIN", "example.org")
        .env("PFE_SET_3", "garbage"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("PFE_SET_3=garbage"), "{}", r.stderr);
    assert!(!r.stderr.contains("--set garbage"), "{}", r.stderr);
    // A flag is still called a flag.
    let r = run(pfe().args(["generate", "--set", "garbage"]));
    assert!(r.stderr.contains("--set garbage"), "{}", r.stderr);
    // From an env file: the file and line too.
    let f = dir.path().join("sets.env");
    std::fs::write(&f, "PFE_SET_1=c2s_timeout=60\nPFE_SET_3=garbage\n").unwrap();
    let r = run(pfe().arg("--env-file").arg(&f).arg("generate"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("PFE_SET_3=garbage (in ") && r.stderr.contains("sets.env:2)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_pfe_features_entry_is_reported_as_that_variable() {
    let r = run(pfe().arg("generate").env("PFE_FEATURES", "web/admn"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("asked for by PFE_FEATURES"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did you mean 'web/admin'"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("--with"), "{}", r.stderr);
    let r = run(pfe().arg("generate").env("PFE_FEATURES", "-mobile/pus"));
    assert!(
        r.stderr.contains("asked for by PFE_FEATURES"),
        "{}",
        r.stderr
    );
    let r = run(pfe().args(["generate", "--with", "web/admn"]));
    assert!(r.stderr.contains("asked for by --with"), "{}", r.stderr);
}

#[test]
fn an_env_file_may_start_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bom.env");
    std::fs::write(&f, "\u{feff}PROSODY_DOMAIN=chat.example.org\n").unwrap();
    let r = run(pfe().arg("--env-file").arg(&f).arg("generate"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("VirtualHost \"chat.example.org\""),
        "{}",
        r.stdout
    );
}

#[test]
fn invisible_characters_in_an_env_file_name_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("zw.env");
    std::fs::write(&f, "PROSODY\u{200b}DOMAIN=chat.example.org\n").unwrap();
    let r = run(pfe().arg("--env-file").arg(&f).arg("generate"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("PROSODY\\u{200b}DOMAIN"), "{}", r.stderr);
    assert!(r.stderr.contains("zw.env:1"), "{}", r.stderr);
}

#[test]
fn a_huge_variable_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.env");
    let big = "x".repeat(8 * 1024 * 1024);
    std::fs::write(&f, format!("PROSODY_ADMINS={big}\n")).unwrap();
    let r = run(pfe().arg("--env-file").arg(&f).arg("generate"));
    assert_eq!(r.code, Some(1), "{}", &r.stderr[..r.stderr.len().min(2000)]);
    assert!(
        !r.stderr.contains("not enough memory"),
        "{}",
        &r.stderr[..r.stderr.len().min(2000)]
    );
    // The variable is named; a reader that caps the whole file first names the file.
    assert!(
        r.stderr.contains("PROSODY_ADMINS") || r.stderr.contains("big.env"),
        "{}",
        &r.stderr[..r.stderr.len().min(2000)]
    );
    assert!(r.stderr.len() < 10_000, "the value is not echoed");
    assert!(!r.stdout.contains("VirtualHost"));
}

#[test]
fn a_bad_domain_in_pfe_env_is_not_blamed_on_turn() {
    let r = run(pfe().args(["env", "-o", "-", "--domain", "a b"]));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("--domain"), "{}", r.stderr);
    assert!(!r.stderr.contains("PROSODY_TURN_HOST"), "{}", r.stderr);
}

fn assert_stopped(r: &Run, started: Instant, origin: &str, limit: &str) {
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(origin),
        "must name {origin}: {}",
        r.stderr
    );
    assert!(r.stderr.contains(limit), "{}", r.stderr);
    assert!(!r.stdout.contains("VirtualHost"), "{}", r.stdout);
}

#[test]
fn an_endless_set_is_stopped_by_the_instruction_limit() {
    let endless = "x=(function() while true do end end)()";
    let started = Instant::now();
    let r = run(pfe().args(["generate", "--set", endless]));
    assert_stopped(&r, started, "--set x=(function()", "ran too long");

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let r = run(pfe()
        .args(["entrypoint", "--dry-run", "--config-output"])
        .arg(dir.path().join("prosody.cfg.lua"))
        .env("PROSODY_DOMAIN", "example.org")
        .env("PFE_SET_2", endless));
    assert_stopped(&r, started, "PFE_SET_2", "ran too long");
}

#[test]
fn a_memory_bomb_in_set_is_stopped_by_the_memory_limit() {
    for bomb in [
        "x=string.rep('x', 1e9)",
        "x=(function() local t = {} for i = 1, 1e9 do t[i] = ('y'):rep(100000) .. i end return t end)()",
    ] {
        let started = Instant::now();
        let r = run(pfe().args(["generate", "--set", bomb]));
        assert_stopped(&r, started, "--set x=", "memory limit");
    }
}

#[test]
fn impossible_ports_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prosody.cfg.lua");
    for v in [
        "{99999}",
        "true",
        "{-1}",
        "{0}",
        "{\"abc\"}",
        "{5222.5}",
        "70000",
    ] {
        for opt in [
            "c2s_ports",
            "s2s_ports",
            "https_ports",
            "c2s_direct_tls_ports",
        ] {
            let arg = format!("{opt}={v}");
            let r = run(pfe().args(["generate", "-o", out.to_str().unwrap(), "--set", &arg]));
            assert_eq!(r.code, Some(1), "{arg}: {}", r.stderr);
            assert!(r.stderr.contains("PFE016"), "{arg}: {}", r.stderr);
            assert!(
                r.stderr.contains(&format!("option '{opt}'")),
                "{arg}: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains(&format!("--set {arg}")),
                "{arg}: {}",
                r.stderr
            );
            assert!(!out.exists(), "{arg}: the config was written");
        }
    }
    for v in ["{}", "{\"5222\"}", "5222", "{5222, 15222}"] {
        let arg = format!("c2s_ports={v}");
        let r = run(pfe().args(["generate", "--set", &arg]));
        assert_eq!(r.code, Some(0), "{arg}: {}", r.stderr);
        assert!(!r.stderr.contains("PFE016"), "{arg}: {}", r.stderr);
    }
}

#[test]
fn a_misspelt_feature_variable_is_warned_about_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let want = "did you mean PROSODY_FEATURES_WEB_ADMIN?";
    for (i, args) in [
        vec!["generate"],
        vec!["env", "-o", "-"],
        vec!["explain", "web/admin"],
        vec!["compose", "--domain", "example.org", "-o"],
        vec!["k8s", "--domain", "example.org", "-o"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = pfe();
        c.args(&args).env("PROSODY_FEATURES_WEB_ADMN", "true");
        if args.last() == Some(&"-o") {
            c.arg(dir.path().join(format!("out{i}")));
        }
        let r = run(&mut c);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("PROSODY_FEATURES_WEB_ADMN") && r.stderr.contains(want),
            "{args:?}: {}",
            r.stderr
        );
    }
    let r = run(pfe()
        .args(["entrypoint", "--dry-run", "--config-output"])
        .arg(dir.path().join("prosody.cfg.lua"))
        .env("PROSODY_DOMAIN", "example.org")
        .env("PROSODY_FEATURES_WEB_ADMN", "true"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains(want), "{}", r.stderr);
    // A real toggle is not warned about.
    let r = run(pfe()
        .arg("generate")
        .env("PROSODY_FEATURES_WEB_ADMIN", "true"));
    assert!(
        !r.stderr.contains("is not a variable pfe knows"),
        "{}",
        r.stderr
    );
}

fn full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

#[test]
fn a_full_or_closed_stream_is_an_exit_code_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    for args in [
        vec!["generate", "--domain", "a b"],
        vec!["generate", "--set", "garbage"],
        vec!["generate", "--set", "c2s_ports={0}"],
        vec!["env", "-o", "-", "--domain", "a b"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pfe"))
            .args(&args)
            .env_remove("PROSODY_DOMAIN")
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} with stderr full");
    }
    // Standard output full: the error goes to stderr, exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pfe"))
        .arg("generate")
        .env_remove("PROSODY_DOMAIN")
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output"));
    // Both full.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pfe"))
        .arg("generate")
        .env_remove("PROSODY_DOMAIN")
        .stdout(full())
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Closed by the shell (`2>&-`).
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' generate --domain 'a b' 2>&-",
            env!("CARGO_BIN_EXE_pfe")
        ))
        .env_remove("PROSODY_DOMAIN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_unknown_profile_or_environment_from_a_variable_names_it() {
    let r = run(pfe().arg("generate").env("PROSODY_PROFILE", "standrd"));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("PROSODY_PROFILE: unknown profile 'standrd'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean 'standard'"), "{}", r.stderr);
    let r = run(pfe().arg("generate").env("PROSODY_ENVIRONMENT", "prod\nx"));
    assert!(
        r.stderr
            .contains("PROSODY_ENVIRONMENT: unknown environment 'prod\\nx'"),
        "{}",
        r.stderr
    );
    let r = run(pfe().args(["generate", "x\ny"]));
    assert!(r.stderr.contains("unknown profile 'x\\ny'"), "{}", r.stderr);
}

/// `--set HOST:KEY=VALUE` lands on that host: the served domain (which the
/// catalog never defines) gets its own VirtualHost section; a host that is
/// neither served nor a component is refused, never dropped in silence.
#[test]
fn a_set_for_a_host_lands_there_or_is_refused() {
    let r = run(pfe().args([
        "generate",
        "standard",
        "development",
        "--domain",
        "ex.org",
        "--set",
        "ex.org:motd_text=\"hi\"",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let host = r
        .stdout
        .split("VirtualHost \"ex.org\"")
        .nth(1)
        .expect("the served VirtualHost");
    let section = host.split("Component ").next().unwrap();
    assert!(section.contains("motd_text = \"hi\""), "{}", r.stdout);

    let r = run(pfe().args([
        "generate",
        "standard",
        "development",
        "--domain",
        "ex.org",
        "--set",
        "elsewhere.example:motd_text=\"hi\"",
    ]));
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.is_empty(), "nothing written: {}", r.stdout);
    assert!(
        r.stderr
            .contains("--set elsewhere.example:motd_text=\"hi\"")
            && r.stderr
                .contains("no VirtualHost or Component is named 'elsewhere.example'"),
        "{}",
        r.stderr
    );

    let r = run(pfe().env("PFE_SET_2", "zz:x=1").args([
        "generate",
        "standard",
        "development",
        "--domain",
        "ex.org",
    ]));
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stderr.contains("PFE_SET_2=zz:x=1") && r.stderr.contains("'zz.ex.org'"),
        "{}",
        r.stderr
    );
}
