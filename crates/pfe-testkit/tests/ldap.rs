//! slapd answers real binds: plain, ldaps:// and StartTLS.

use pfe_testkit::services::TestCa;
use pfe_testkit::services::ldap::{Slapd, Transport};
use std::path::Path;
use std::time::Instant;

fn gone(pid: u32, dir: &Path) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "slapd {pid} is still there after drop"
    );
    assert!(!dir.exists(), "{} is still there after drop", dir.display());
}

#[test]
fn plain_bind_as_a_user_succeeds_and_a_wrong_password_fails() {
    let t = Instant::now();
    let ldap = Slapd::start().unwrap();
    eprintln!("slapd (plain) answered after {:?}", t.elapsed());
    assert!(ldap.url().starts_with("ldap://127.0.0.1:"));
    assert!(ldap.ca_pem().is_none() && ldap.ldaps_url().is_none());

    let dn = ldap.add_user("alice", "wonder land").unwrap();
    assert_eq!(dn, "uid=alice,ou=people,dc=example,dc=org");
    assert_eq!(
        ldap.whoami(Transport::Plain, &dn, "wonder land").unwrap(),
        Some("dn:uid=alice,ou=people,dc=example,dc=org".to_string()),
        "{}",
        ldap.log_tail()
    );
    assert_eq!(
        ldap.whoami(Transport::Plain, &dn, "wonderland").unwrap(),
        None
    );
    assert_eq!(
        ldap.whoami(Transport::Plain, &ldap.user_dn("bob"), "wonder land")
            .unwrap(),
        None
    );
    // The root DN binds too; its password is not the user's.
    assert!(
        ldap.whoami(Transport::Plain, ldap.root_dn(), ldap.root_password())
            .unwrap()
            .is_some()
    );

    // userPassword is stored hashed ({SSHA}; LDIF may base64 it).
    let mut search = ldap.ldap_command("ldapsearch").unwrap();
    search
        .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &ldap.url(), "-D"])
        .arg(ldap.root_dn())
        .arg("-w")
        .arg(ldap.root_password())
        .args(["-b", &dn, "-s", "base", "userPassword", "mail"]);
    let out = search.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("userPassword: {SSHA}") || text.contains("userPassword:: e1NTSEF9"),
        "{text}"
    );
    assert!(!text.contains("wonder land"), "{text}");
    assert!(text.contains("mail: alice@example.org"), "{text}");

    // Anonymous readers do not see it.
    let mut anon = ldap.ldap_command("ldapsearch").unwrap();
    anon.args(["-x", "-LLL", "-H", &ldap.url(), "-b", &dn, "-s", "base"]);
    let out = anon.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("uid: alice") && !text.contains("userPassword"),
        "{text}"
    );

    let (pid, dir) = (ldap.pid(), ldap.dir().to_path_buf());
    drop(ldap);
    gone(pid, &dir);
}

#[test]
fn tls_binds_verify_the_generated_ca() {
    let t = Instant::now();
    let ldap = Slapd::start_tls().unwrap();
    eprintln!("slapd (TLS) answered after {:?}", t.elapsed());
    let ca = ldap.ca_pem().unwrap();
    assert!(
        std::fs::read_to_string(ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let ldaps = ldap.ldaps_url().unwrap();
    assert!(ldaps.starts_with("ldaps://127.0.0.1:"));

    let dn = ldap.add_user("carol", "s3cret").unwrap();
    for transport in [Transport::Ldaps, Transport::StartTls] {
        assert_eq!(
            ldap.whoami(transport, &dn, "s3cret").unwrap().as_deref(),
            Some("dn:uid=carol,ou=people,dc=example,dc=org"),
            "{transport:?}\n{}",
            ldap.log_tail()
        );
        assert_eq!(ldap.whoami(transport, &dn, "wrong").unwrap(), None);
    }

    // With another CA, the client refuses the server's certificate.
    let other = tempfile::tempdir().unwrap();
    let other_ca = TestCa::generate(other.path()).unwrap();
    for (url, starttls) in [(ldaps.clone(), false), (ldap.url(), true)] {
        let mut cmd = ldap.ldap_command("ldapwhoami").unwrap();
        cmd.env("LDAPTLS_CACERT", other_ca.ca_pem()).args([
            "-x",
            "-o",
            "nettimeout=3",
            "-H",
            &url,
            "-D",
            &dn,
            "-w",
            "s3cret",
        ]);
        if starttls {
            cmd.arg("-ZZ");
        }
        let out = cmd.output().unwrap();
        assert!(
            !out.status.success(),
            "a bind over TLS trusting another CA succeeded: {out:?}"
        );
    }
    let (pid, dir) = (ldap.pid(), ldap.dir().to_path_buf());
    drop(ldap);
    gone(pid, &dir);
}

#[test]
fn a_suffix_without_dc_is_refused() {
    let opts = pfe_testkit::services::ldap::SlapdOptions {
        suffix: "o=example".into(),
        ..Default::default()
    };
    let err = Slapd::start_with(opts)
        .err()
        .expect("o=example was accepted");
    assert!(err.to_string().contains("dc="), "{err}");
}
