//! `pfe dns` against a real authoritative server (Knot DNS on loopback):
//! the plan, served as its own zone, passes `--verify`; a zone with a wrong
//! port, a missing component name and an `_xmpps-client` SRV to `.` while
//! direct TLS is on fails, each record named.

use pfe_testkit::pfe;
use pfe_testkit::services::dns::{Knot, minimal_zone};

const DIRECT_TLS: &str = "c2s_direct_tls_ports={5223}";

fn plan(domain: &str) -> String {
    let out = pfe()
        .args(["dns", "standard", "production", "--domain", domain])
        .args(["--host-address", "192.0.2.10", "--set", DIRECT_TLS])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn verify(knot: &Knot, domain: &str) -> (bool, String) {
    let out = pfe()
        .args(["dns", "standard", "production", "--domain", domain])
        .args([
            "--host-address",
            "192.0.2.10",
            "--set",
            DIRECT_TLS,
            "--verify",
        ])
        .args(["--resolver", &knot.addr().to_string(), "--timeout", "2000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_plan_served_verifies_and_each_wrong_record_is_named() {
    let good = plan("good.test");
    // Every record the plan names, with the ports of the resolved config.
    for needle in [
        "_xmpp-client._tcp.good.test.",
        "SRV   0 5 5222 good.test.",
        "_xmpps-client._tcp.good.test.",
        "SRV   0 5 5223 good.test.",
        "_xmpp-server._tcp.good.test.",
        "_xmpp-server._tcp.conference.good.test.",
        "_xmpp-server._tcp.upload.good.test.",
        "conference.good.test.",
        "upload.good.test.",
    ] {
        assert!(good.contains(needle), "{needle} missing from\n{good}");
    }
    let bad_plan = plan("bad.test");
    let bad: String = bad_plan
        .lines()
        .filter(|l| !l.starts_with("conference.bad.test."))
        .map(|l| {
            if l.starts_with("_xmpp-client._tcp.bad.test.") {
                l.replace(" 5222 ", " 5999 ")
            } else if l.starts_with("_xmpps-client._tcp.bad.test.") {
                l.replace("0 5 5223 bad.test.", "0 0 0 .")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let good_zone = minimal_zone("good.test") + &good;
    let bad_zone = minimal_zone("bad.test") + &bad + "\n";
    let knot = Knot::start(&[("good.test", &good_zone), ("bad.test", &bad_zone)])
        .unwrap_or_else(|e| panic!("{}", e.message()));

    let (ok, text) = verify(&knot, "good.test");
    assert!(ok, "{text}\n{}", knot.log_tail());
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("dns: 8 of 8 records as planned"), "{text}");

    let (ok, text) = verify(&knot, "bad.test");
    assert!(!ok, "{text}");
    let fail = |name: &str| -> String {
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.starts_with("FAIL") && l.contains(name) {
                return lines.next().unwrap_or_default().trim().to_string();
            }
        }
        panic!("no FAIL for {name} in\n{text}");
    };
    assert_eq!(
        fail("_xmpp-client._tcp.bad.test."),
        "wrong port: expected 5222 on bad.test.; found 0 5 5999 bad.test."
    );
    assert_eq!(
        fail("_xmpps-client._tcp.bad.test."),
        "the SRV target is \".\": the service is declared unavailable; found 0 0 0 ."
    );
    // The name exists (the SRV below it), its A record does not.
    assert_eq!(
        fail("conference.bad.test."),
        "no record of this type; found nothing"
    );
    assert!(text.contains("dns: 5 of 8 records as planned"), "{text}");
}
