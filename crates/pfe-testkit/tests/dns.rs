//! Knot answers real queries for the zones it was given.

use pfe_testkit::services::dns::{Knot, RData, minimal_zone, query, rcode, rtype};
use std::path::Path;
use std::time::Instant;

fn example_zone() -> String {
    minimal_zone("example.org")
        + "_xmpp-client._tcp IN SRV 5 0 5222 xmpp.example.org.\n\
           _xmpps-client._tcp IN SRV 10 5 5223 xmpp\n\
           xmpp IN A 127.0.0.1\n\
           xmpp IN AAAA ::1\n\
           chat IN CNAME xmpp\n\
           @ IN TXT \"v=pfe1\"\n"
}

#[test]
fn answers_srv_a_aaaa_cname_and_nxdomain() {
    let zone = example_zone();
    let t = Instant::now();
    let knot = Knot::start(&[
        ("example.org", &zone),
        ("example.net", &minimal_zone("example.net")),
    ])
    .unwrap();
    eprintln!("knotd answered after {:?}", t.elapsed());

    // kdig, over UDP and TCP.
    let srv = knot
        .kdig(&["+short", "SRV", "_xmpp-client._tcp.example.org"])
        .unwrap();
    assert_eq!(
        srv.trim(),
        "5 0 5222 xmpp.example.org.",
        "{}",
        knot.log_tail()
    );
    let srv = knot
        .kdig(&["+tcp", "+short", "SRV", "_xmpps-client._tcp.example.org"])
        .unwrap();
    assert_eq!(srv.trim(), "10 5 5223 xmpp.example.org.");
    let missing = knot.kdig(&["A", "nope.example.org"]).unwrap();
    assert!(missing.contains("status: NXDOMAIN"), "{missing}");

    // The crate's own client.
    let r = knot
        .query("_xmpp-client._tcp.example.org", rtype::SRV)
        .unwrap();
    assert_eq!((r.rcode, r.authoritative), (rcode::NOERROR, true));
    assert_eq!(
        r.answers_of(rtype::SRV),
        vec![&RData::Srv {
            priority: 5,
            weight: 0,
            port: 5222,
            target: "xmpp.example.org.".into()
        }]
    );
    assert_eq!(r.answers[0].ttl, 300);
    let a = knot.query("xmpp.example.org", rtype::A).unwrap();
    assert_eq!(
        a.answers_of(rtype::A),
        vec![&RData::A([127, 0, 0, 1].into())]
    );
    let aaaa = knot.query("XMPP.example.org.", rtype::AAAA).unwrap();
    assert_eq!(
        aaaa.answers_of(rtype::AAAA),
        vec![&RData::Aaaa(std::net::Ipv6Addr::LOCALHOST)]
    );
    let cname = knot.query("chat.example.org", rtype::A).unwrap();
    assert_eq!(
        cname.answers_of(rtype::CNAME),
        vec![&RData::Name("xmpp.example.org.".into())]
    );
    assert_eq!(
        cname.answers_of(rtype::A),
        vec![&RData::A([127, 0, 0, 1].into())]
    );
    let txt = knot.query("example.org", rtype::TXT).unwrap();
    assert_eq!(
        txt.answers_of(rtype::TXT),
        vec![&RData::Txt(vec![b"v=pfe1".to_vec()])]
    );

    let nx = knot.query("nope.example.org", rtype::A).unwrap();
    assert_eq!((nx.rcode, nx.authoritative), (rcode::NXDOMAIN, true));
    assert!(nx.answers.is_empty());
    assert!(matches!(nx.authority[0].data, RData::Soa { serial: 1, .. }));
    // A name that exists with another type: NOERROR, no answer.
    let nodata = knot.query("xmpp.example.org", rtype::SRV).unwrap();
    assert_eq!(nodata.rcode, rcode::NOERROR);
    assert!(nodata.answers.is_empty());
    // The second zone is served; a zone not given is refused.
    let net = knot.query("example.net", rtype::SOA).unwrap();
    assert_eq!((net.rcode, net.authoritative), (rcode::NOERROR, true));
    let other = knot.query("example.com", rtype::A).unwrap();
    assert_eq!(other.rcode, rcode::REFUSED);

    let (pid, dir, addr) = (knot.pid(), knot.dir().to_path_buf(), knot.addr());
    drop(knot);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists());
    assert!(query(addr, "example.org", rtype::SOA).is_err());
}

#[test]
fn a_broken_zone_is_an_error_with_knots_reason() {
    let zone = minimal_zone("example.org") + "bad IN SRV 5 0 notaport x.\n";
    let t = Instant::now();
    let err = Knot::start(&[("example.org", &zone)])
        .err()
        .expect("a broken zone loaded");
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    let msg = err.to_string();
    assert!(
        msg.contains("invalid number") || msg.contains("failed to parse"),
        "{msg}"
    );

    let no_soa = "$TTL 300\nwww IN A 127.0.0.1\n";
    let err = Knot::start(&[("example.org", no_soa)])
        .err()
        .expect("a zone without SOA loaded");
    assert!(err.to_string().contains("missing SOA"), "{err}");
}

#[test]
fn a_harness_outlives_the_thread_that_started_it() {
    // Daemons are forked from a process-lifetime thread, so the kernel's
    // parent-death signal does not fire when a test thread ends.
    let zone = minimal_zone("example.org");
    let knot = std::thread::spawn(move || Knot::start(&[("example.org", &zone)]).unwrap())
        .join()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = knot.query("example.org", rtype::SOA).unwrap();
    assert_eq!(r.rcode, rcode::NOERROR, "{}", knot.log_tail());
}
