//! Error-path tests against fake servers on loopback: garbage, silence,
//! early close, trickling, oversized features, stream errors, and a
//! SASL server that cannot prove it knows the password.

use std::future::Future;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='fake1' from='localhost' version='1.0'>";

/// Run `script` on the first connection to a fresh loopback listener.
async fn fake<F, Fut>(script: F) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        if let Ok((s, _)) = l.accept().await {
            script(s).await;
        }
    });
    addr
}

/// Read until `needle` shows up (or EOF); returns everything read.
async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn cfg(addr: &str, read: Duration, overall: Duration) -> ClientConfig {
    let mut c = ClientConfig::new(
        addr,
        "user@localhost",
        "pencil",
        TlsMode::StartTls,
        TlsVerify::InsecureAcceptAny,
    );
    c.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        read,
        overall,
    };
    c
}

#[tokio::test]
async fn garbage_server_gives_xml_error_fast() {
    let addr = fake(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    })
    .await;
    let t = Instant::now();
    let err = Client::connect(cfg(&addr, Duration::from_secs(5), Duration::from_secs(10)))
        .await
        .err()
        .expect("must fail");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        matches!(
            err,
            Error::Xml {
                stage: Stage::StreamHeader,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("stream header") && msg.contains("HTTP/1.1 400"),
        "{msg}"
    );
}

#[tokio::test]
async fn binary_garbage_is_reported_not_panicking() {
    let addr = fake(|mut s| async move {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        let _ = s.write_all(&junk).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    })
    .await;
    let err = healthcheck(&addr, "localhost", Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Xml { .. }), "{err}");
}

#[tokio::test]
async fn silent_server_times_out_within_bound() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "never").await;
    })
    .await;
    let t = Instant::now();
    let err = Client::connect(cfg(&addr, Duration::from_secs(1), Duration::from_secs(5)))
        .await
        .err()
        .expect("must time out");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    match &err {
        Error::Timeout {
            stage, expected, ..
        } => {
            assert_eq!(*stage, Stage::StreamHeader);
            assert!(expected.contains("stream:stream"), "{err}");
        }
        _ => panic!("{err}"),
    }
}

#[tokio::test]
async fn closing_server_reports_closed() {
    let addr = fake(|s| async move { drop(s) }).await;
    let err = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .err()
        .expect("must fail");
    assert!(
        matches!(err, Error::Closed { .. } | Error::Io { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn trickling_server_hits_overall_deadline() {
    let addr = fake(|mut s| async move {
        let _ = s.write_all(HEADER.as_bytes()).await;
        let _ = s.write_all(b"<stream:features>").await;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if s.write_all(b" ").await.is_err() {
                break;
            }
        }
    })
    .await;
    let t = Instant::now();
    let err = Client::connect(cfg(
        &addr,
        Duration::from_secs(1),
        Duration::from_millis(1500),
    ))
    .await
    .err()
    .expect("must fail");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        matches!(
            err,
            Error::Timeout {
                stage: Stage::FeaturesPreTls,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn oversized_features_are_refused() {
    let addr = fake(|mut s| async move {
        let _ = s.write_all(HEADER.as_bytes()).await;
        let _ = s.write_all(b"<stream:features><x xmlns='y'>").await;
        let chunk = vec![b'a'; 8192];
        for _ in 0..64 {
            if s.write_all(&chunk).await.is_err() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let err = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .err()
        .expect("must fail");
    match err {
        Error::TooLarge { what, limit, .. } => {
            assert!(what.contains("features"), "{what}");
            assert_eq!(limit, Limits::default().max_features);
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn stream_error_is_surfaced() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "version").await;
        let _ = s
            .write_all(
                format!(
                    "{HEADER}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
                     <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such host</text></stream:error></stream:stream>"
                )
                .as_bytes(),
            )
            .await;
    })
    .await;
    let err = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .err()
        .expect("must fail");
    match &err {
        Error::StreamError {
            condition, text, ..
        } => {
            assert_eq!(condition, "host-unknown");
            assert_eq!(text.as_deref(), Some("no such host"));
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let err = healthcheck(&addr, "localhost", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}

/// A well-behaved fake that writes its answer one byte at a time with
/// whitespace keepalives in between, and checks the client's header.
#[tokio::test]
async fn healthcheck_copes_with_fragmented_stream_and_closes_politely() {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let addr = fake(|mut s| async move {
        let got = read_until(&mut s, "xml:lang='en'>").await;
        let reply = format!(
            "{HEADER} \n <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
        );
        for b in reply.as_bytes() {
            let _ = s.write_all(&[*b]).await;
        }
        let close = read_until(&mut s, "</stream:stream>").await;
        let _ = s.write_all(b"</stream:stream>").await;
        let _ = tx.send(format!("{got}|{close}"));
    })
    .await;
    let r = healthcheck(&addr, "localhost", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(r.features.starttls_required);
    assert_eq!(r.stream_id.as_deref(), Some("fake1"));
    let seen = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.contains("to='localhost'"), "{seen}");
    assert!(
        !seen.contains("from="),
        "healthcheck has no account: {seen}"
    );
    assert!(seen.ends_with("</stream:stream>"), "{seen}");
}

#[tokio::test]
async fn plain_is_never_sent_in_cleartext() {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let addr = fake(|mut s| async move {
        let got = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(
                format!(
                    "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                     <mechanism>PLAIN</mechanism></mechanisms></stream:features>"
                )
                .as_bytes(),
            )
            .await;
        let mut rest = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_millis(500), s.read(&mut rest))
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or(0);
        let _ = tx.send(format!("{got}{}", String::from_utf8_lossy(&rest[..n])));
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    let pre = c.features_pre_tls().unwrap();
    assert_eq!(pre.sasl_mechanisms, ["PLAIN"]);
    let err = c.authenticate(Some(Mechanism::Plain)).await.unwrap_err();
    assert!(matches!(err, Error::PlainOverCleartext), "{err}");
    let err = c.authenticate(None).await.unwrap_err();
    assert!(matches!(err, Error::NoMechanism { .. }), "{err}");
    drop(c);
    let seen = rx.await.unwrap();
    // RFC 6120 §4.7.1: no account name in a cleartext stream header.
    assert!(seen.contains("to='localhost'"), "{seen}");
    assert!(!seen.contains("from="), "JID leaked before TLS: {seen}");
    assert!(!seen.contains("<auth"), "credentials leaked: {seen}");
}

#[tokio::test]
async fn scram_server_with_wrong_signature_is_rejected() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(
                format!(
                    "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                     <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
                )
                .as_bytes(),
            )
            .await;
        let auth = read_until(&mut s, "</auth>").await;
        let b64 = auth
            .split('>')
            .nth(1)
            .and_then(|x| x.split('<').next())
            .unwrap_or("");
        let first = String::from_utf8(B64.decode(b64).unwrap_or_default()).unwrap_or_default();
        let nonce = first.rsplit("r=").next().unwrap_or("").to_string();
        let server_first = format!("r={nonce}SERVER,s=QSXCR+Q6sek8bf92,i=16");
        let _ = s
            .write_all(
                format!(
                    "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
                    B64.encode(server_first)
                )
                .as_bytes(),
            )
            .await;
        let _ = read_until(&mut s, "</response>").await;
        let _ = s
            .write_all(
                format!(
                    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>",
                    B64.encode("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
                )
                .as_bytes(),
            )
            .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    let err = c
        .authenticate(Some(Mechanism::ScramSha1))
        .await
        .unwrap_err();
    match &err {
        Error::Scram { mechanism, detail } => {
            assert_eq!(mechanism, "SCRAM-SHA-1");
            assert!(detail.contains("signature"), "{err}");
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn http_probe_parses_head_and_bounds_garbage() {
    let addr = fake(|mut s| async move {
        let req = read_until(&mut s, "\r\n\r\n").await;
        assert!(
            req.starts_with("GET /x HTTP/1.1\r\nHost: example\r\n"),
            "{req}"
        );
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-A: b\r\n\r\nbody")
            .await;
    })
    .await;
    let r = http_get(&addr, "example", "/x", &[], None, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html"));

    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "\r\n\r\n").await;
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    })
    .await;
    let err = http_get(&addr, "example", "/", &[], None, Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err}");

    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "never").await;
    })
    .await;
    let t = Instant::now();
    let err = http_get(&addr, "example", "/", &[], None, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            err,
            Error::Timeout {
                stage: Stage::Http,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn tls_to_a_cleartext_server_fails_cleanly() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "never").await;
    })
    .await;
    let t = Instant::now();
    let err = healthcheck_tls(
        &addr,
        "localhost",
        &TlsVerify::InsecureAcceptAny,
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, Error::Timeout { .. } | Error::Tls { .. }),
        "{err}"
    );
}

#[test]
fn missing_ca_file_is_a_config_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = fake(|mut s| async move {
            let _ = read_until(&mut s, "never").await;
        })
        .await;
        let err = healthcheck_tls(
            &addr,
            "localhost",
            &TlsVerify::CaFile("/nonexistent/ca.pem".into()),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    });
}

/// The iq waiter skips messages, presences, foreign results and keepalives,
/// answers the server's ping, and returns the matching result.
#[tokio::test]
async fn iq_skips_unrelated_stanzas_and_answers_pings() {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(format!("{HEADER}<stream:features/>").as_bytes())
            .await;
        let req = read_until(&mut s, "</iq>").await;
        let id = req
            .split("id='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or("")
            .to_string();
        let noise = "<message from='x@y'><body>hi</body></message> \n\
             <presence from='x@y/z'/><iq type='result' id='someone-else'/>\
             <r xmlns='urn:xmpp:sm:3'/>\
             <iq type='get' id='ping1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>\
             <iq type='set' id='push1' from='localhost'><query xmlns='jabber:iq:roster'/></iq>";
        let _ = s.write_all(noise.as_bytes()).await;
        let answers = read_until(&mut s, "push1").await;
        let _ = s
            .write_all(
                format!(
                    "<iq type='result' id='{id}' from='localhost'>\
                     <query xmlns='http://jabber.org/protocol/disco#info'>\
                     <identity category='server' type='im' name='Fake'/>\
                     <feature var='urn:xmpp:ping'/></query></iq>"
                )
                .as_bytes(),
            )
            .await;
        let _ = tx.send(answers);
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(c.features().children.is_empty());
    let info = c.disco_info("localhost", None).await.unwrap();
    assert!(info.has_feature("urn:xmpp:ping"));
    assert_eq!(
        info.identities,
        [Identity {
            category: "server".into(),
            kind: "im".into(),
            name: Some("Fake".into())
        }]
    );
    let answers = rx.await.unwrap();
    assert!(
        answers.contains("type='result' id='ping1'")
            || answers.contains("id='ping1' to='localhost' type='result'"),
        "{answers}"
    );
    assert!(answers.contains("service-unavailable"), "{answers}");
}

#[tokio::test]
async fn iq_error_is_reported_with_condition() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(format!("{HEADER}<stream:features/>").as_bytes())
            .await;
        let req = read_until(&mut s, "</iq>").await;
        let id = req
            .split("id='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or("")
            .to_string();
        let _ = s
            .write_all(
                format!(
                    "<iq type='error' id='{id}'><error type='cancel'>\
                     <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
                     <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nope</text></error></iq>"
                )
                .as_bytes(),
            )
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    let err = c.disco_items("nowhere.localhost", None).await.unwrap_err();
    match &err {
        Error::IqError {
            to,
            error_type,
            condition,
            text,
            ..
        } => {
            assert_eq!(to, "nowhere.localhost");
            assert_eq!(error_type, "cancel");
            assert_eq!(condition, "item-not-found");
            assert_eq!(text.as_deref(), Some("nope"));
        }
        e => panic!("{e}"),
    }
}

/// Pipelined iqs: one write, answers in any order, a per-request error
/// that does not spoil the others, and a server ping in between.
#[tokio::test]
async fn iq_many_matches_out_of_order_answers() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(format!("{HEADER}<stream:features/>").as_bytes())
            .await;
        let mut req = String::new();
        while req.matches("</iq>").count() < 3 {
            let more = read_until(&mut s, "</iq>").await;
            if more.is_empty() {
                return;
            }
            req += &more;
        }
        let ids: Vec<String> = req
            .split("id='")
            .skip(1)
            .filter_map(|r| r.split('\'').next().map(str::to_string))
            .collect();
        let reply = format!(
            "<iq type='get' id='ping9' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>\
             <iq type='error' id='{}'><error type='cancel'>\
             <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>\
             <iq type='result' id='{}'><query xmlns='http://jabber.org/protocol/disco#items'>\
             <item jid='conference.localhost'/></query></iq>\
             <iq type='result' id='{}'><query xmlns='http://jabber.org/protocol/disco#info'>\
             <feature var='urn:xmpp:ping'/></query></iq>",
            ids[2], ids[1], ids[0]
        );
        let _ = s.write_all(reply.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    let t = Instant::now();
    let out = c
        .iq_many(vec![
            (
                IqType::Get,
                Some("localhost".into()),
                DiscoInfo::request(None),
            ),
            (
                IqType::Get,
                Some("localhost".into()),
                DiscoItem::request(None),
            ),
            (
                IqType::Get,
                Some("localhost".into()),
                Element::new("services", NS_EXTDISCO),
            ),
        ])
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(DiscoInfo::from_result(out[0].as_ref().unwrap()).has_feature("urn:xmpp:ping"));
    assert_eq!(
        DiscoItem::list_from_result(out[1].as_ref().unwrap())[0].jid,
        "conference.localhost"
    );
    match &out[2] {
        Err(Error::IqError { condition, .. }) => assert_eq!(condition, "service-unavailable"),
        other => panic!("{other:?}"),
    }
    assert!(c.iq_many(Vec::new()).await.unwrap().is_empty());
}

/// A server that never answers one of the pipelined iqs: bounded.
#[tokio::test]
async fn iq_many_times_out_on_a_missing_answer() {
    let addr = fake(|mut s| async move {
        let _ = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(format!("{HEADER}<stream:features/>").as_bytes())
            .await;
        let req = read_until(&mut s, "</iq>").await;
        let id = req
            .split("id='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or("")
            .to_string();
        let _ = s
            .write_all(format!("<iq type='result' id='{id}'/>").as_bytes())
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let mut c = Client::connect(cfg(
        &addr,
        Duration::from_millis(400),
        Duration::from_secs(3),
    ))
    .await
    .unwrap();
    let t = Instant::now();
    let err = c
        .iq_many(vec![
            (IqType::Get, None, Element::new("query", "jabber:iq:roster")),
            (IqType::Get, None, Element::new("query", "jabber:iq:roster")),
        ])
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(
        matches!(&err, Error::Timeout { expected, .. } if expected.contains("1 more iq result")),
        "{err}"
    );
}

/// STARTTLS against a fake TLS server: the cleartext header names no
/// account, the header on the encrypted stream carries `from` (RFC 6120
/// §4.7.1), and the post-TLS features are read.
#[tokio::test]
async fn from_is_sent_only_once_tls_protects_the_stream() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let certs = vec![CertificateDer::from(ck.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let server_cfg = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_cfg));
    let (tx, rx) = tokio::sync::oneshot::channel::<(String, String)>();
    let addr = fake(move |mut s| async move {
        let clear = read_until(&mut s, "xml:lang='en'>").await;
        let _ = s
            .write_all(
                format!(
                    "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>\
                     <required/></starttls></stream:features>"
                )
                .as_bytes(),
            )
            .await;
        let _ = read_until(&mut s, "<starttls").await;
        let _ = s
            .write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await;
        let Ok(mut tls) = acceptor.accept(s).await else {
            return;
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("xml:lang='en'>") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tls
            .write_all(
                format!(
                    "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                     <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
                )
                .as_bytes(),
            )
            .await;
        let _ = tx.send((clear, String::from_utf8_lossy(&got).into_owned()));
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let mut c = Client::connect(cfg(&addr, Duration::from_secs(3), Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(c.features().starttls_required);
    let post = c.starttls().await.unwrap().clone();
    assert_eq!(post.sasl_mechanisms, ["SCRAM-SHA-1"]);
    assert!(
        c.tls_info().is_some_and(|t| t.contains("TLS")),
        "{:?}",
        c.tls_info()
    );
    let (clear, encrypted) = rx.await.unwrap();
    assert!(!clear.contains("from="), "{clear}");
    assert!(encrypted.contains("from='user@localhost'"), "{encrypted}");
}

/// Bodies: sent with Content-Length; read by Content-Length, chunked or up
/// to the close; bounded.
#[tokio::test]
async fn http_request_sends_and_reads_bodies() {
    async fn serve(answer: &'static [u8]) -> (String, tokio::sync::oneshot::Receiver<String>) {
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let addr = fake(move |mut s| async move {
            let req = read_until(&mut s, "hello").await;
            let _ = s.write_all(answer).await;
            let _ = tx.send(req);
        })
        .await;
        (addr, rx)
    }
    let t = Duration::from_secs(3);
    let put = HttpRequest {
        method: "PUT",
        path: "/up/a.txt",
        host: "upload.example:5281",
        headers: &[("Authorization", "Bearer x")],
        body: Some(b"hello"),
    };
    let (addr, rx) = serve(b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nok!trailing").await;
    let x = http_request(&addr, &put, None, t, Some(100)).await.unwrap();
    assert_eq!((x.response.status, x.body.as_slice()), (201, &b"ok!"[..]));
    let req = rx.await.unwrap();
    assert!(
        req.starts_with("PUT /up/a.txt HTTP/1.1\r\nHost: upload.example:5281\r\n"),
        "{req}"
    );
    assert!(req.contains("Content-Length: 5\r\n\r\nhello"), "{req}");
    assert!(req.contains("Authorization: Bearer x\r\n"), "{req}");

    let (addr, _rx) = serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;x=y\r\npedia!\r\n0\r\n\r\n",
    )
    .await;
    let x = http_request(&addr, &put, None, t, Some(100)).await.unwrap();
    assert_eq!(x.body, b"Wikipedia!");

    let (addr, _rx) = serve(b"HTTP/1.0 200 OK\r\n\r\nuntil the close").await;
    let x = http_request(&addr, &put, None, t, Some(100)).await.unwrap();
    assert_eq!(x.body, b"until the close");

    let (addr, _rx) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n").await;
    let err = http_request(&addr, &put, None, t, Some(100))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 100, .. }), "{err}");

    let bad = HttpRequest {
        method: "get /x",
        ..put
    };
    assert!(matches!(
        http_request("127.0.0.1:1", &bad, None, t, None).await,
        Err(Error::Config(_))
    ));
}
