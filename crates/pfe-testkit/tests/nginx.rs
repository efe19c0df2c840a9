//! nginx proxies real requests to a Rust backend: HTTP, WebSocket upgrades,
//! a stream (TCP) proxy, and reloads.

use pfe_testkit::services::nginx::{Nginx, NginxConfig, http_exchange, http_get, parse_response};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Reads up to the end of an HTTP head.
fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A backend that answers every request with "backend saw <request line>"
/// and reports each request head it read.
fn http_backend() -> (SocketAddr, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let head = read_head(&mut s);
            let body = format!("backend saw {}", head.lines().next().unwrap_or(""));
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            if tx.send(head).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

fn gone(pid: u32, dir: &Path) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "nginx {pid} is still there after drop"
    );
    assert!(!dir.exists(), "{} is still there after drop", dir.display());
}

#[test]
fn proxies_a_request_to_a_rust_backend() {
    let (backend, seen) = http_backend();
    let t = Instant::now();
    let nginx = Nginx::start(&format!(
        "server {{
            listen 127.0.0.1:@PORT@;
            location / {{
                proxy_pass http://{backend};
                proxy_set_header X-Pfe-Test proxied;
            }}
            location = /local {{ return 200 \"local @PORT@\"; }}
        }}"
    ))
    .unwrap();
    eprintln!("nginx answered after {:?}", t.elapsed());

    let r = http_get(nginx.addr(), "/hello?x=1").unwrap();
    assert_eq!(r.status, 200, "{}", nginx.log_tail());
    assert_eq!(r.body_text(), "backend saw GET /hello?x=1 HTTP/1.0");
    assert!(
        r.header("server").unwrap_or("").starts_with("nginx"),
        "{r:?}"
    );
    let head = seen.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.contains("X-Pfe-Test: proxied\r\n"), "{head}");

    // A raw HTTP/1.1 request, as a test author would send it.
    let raw = "POST /form HTTP/1.1\r\nHost: example.org\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    let r = http_exchange(nginx.addr(), raw.as_bytes()).unwrap();
    assert_eq!(r.body_text(), "backend saw POST /form HTTP/1.0");
    let head = seen.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.contains("Host: "), "{head}");

    let r = http_get(nginx.addr(), "/local").unwrap();
    assert_eq!(r.body_text(), format!("local {}", nginx.port()));
    let access = std::fs::read_to_string(nginx.access_log_path()).unwrap();
    assert!(
        access.contains("\"GET /hello?x=1 HTTP/1.1\" 200"),
        "{access}"
    );

    let (pid, dir) = (nginx.pid(), nginx.dir().to_path_buf());
    drop(nginx);
    gone(pid, &dir);
}

#[test]
fn passes_a_websocket_upgrade_through() {
    // The RFC 6455 sample key and its accept value: no SHA-1 needed here.
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let head = read_head(&mut s);
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        )
        .unwrap();
        tx.send(head).unwrap();
        // Echo the tunnelled bytes back.
        let mut buf = [0u8; 256];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let nginx = Nginx::start(&format!(
        "server {{
            listen 127.0.0.1:@PORT@;
            location /xmpp-websocket {{
                proxy_pass http://{backend};
                proxy_http_version 1.1;
                proxy_set_header Upgrade $http_upgrade;
                proxy_set_header Connection \"upgrade\";
                proxy_read_timeout 60s;
            }}
        }}"
    ))
    .unwrap();
    let mut c = TcpStream::connect(nginx.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        c,
        "GET /xmpp-websocket HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut c);
    let r = parse_response(head.as_bytes()).unwrap();
    assert_eq!(r.status, 101, "{head}\n{}", nginx.log_tail());
    assert_eq!(r.header("sec-websocket-accept"), Some(ACCEPT));
    assert_eq!(r.header("upgrade"), Some("websocket"));
    let upstream = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        upstream.starts_with("GET /xmpp-websocket HTTP/1.1\r\n"),
        "{upstream}"
    );
    assert!(upstream.contains("Upgrade: websocket\r\n"), "{upstream}");
    assert!(
        upstream.contains(&format!("Sec-WebSocket-Key: {KEY}\r\n")),
        "{upstream}"
    );
    // A masked text frame "hello" goes through the tunnel and back.
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 5];
    frame.extend_from_slice(&mask);
    frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    c.write_all(&frame).unwrap();
    let mut back = vec![0u8; frame.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, frame);
}

#[test]
fn proxies_a_stream_and_serves_extra_ports() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = l.local_addr().unwrap();
    thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            let mut buf = [0u8; 64];
            if let Ok(n) = s.read(&mut buf) {
                let _ = s.write_all(&[b"echo:", &buf[..n]].concat());
            }
        }
    });
    let nginx = Nginx::start_with(NginxConfig {
        http: "server { listen 127.0.0.1:@PORT2@; return 200 \"two\"; }".into(),
        stream: Some(format!(
            "server {{ listen 127.0.0.1:@PORT@; proxy_pass {backend}; }}"
        )),
    })
    .unwrap();
    let mut c = TcpStream::connect(nginx.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"<stream:stream>").unwrap();
    let mut buf = [0u8; 64];
    let n = c.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"echo:<stream:stream>", "{}", nginx.log_tail());
    let second = nginx.port_n(2).unwrap();
    assert_ne!(second, nginx.port());
    let r = http_get(SocketAddr::from(([127, 0, 0, 1], second)), "/").unwrap();
    assert_eq!(r.body_text(), "two");
}

#[test]
fn reloads_a_new_block_and_keeps_the_old_one_on_a_bad_config() {
    let mut nginx =
        Nginx::start("server { listen 127.0.0.1:@PORT@; location / { return 200 \"one\"; } }")
            .unwrap();
    assert_eq!(http_get(nginx.addr(), "/").unwrap().body_text(), "one");
    let port = nginx.port();
    let t = Instant::now();
    nginx
        .reload_with("server { listen 127.0.0.1:@PORT@; location / { return 200 \"two\"; } }")
        .unwrap();
    eprintln!("nginx reloaded in {:?}", t.elapsed());
    assert_eq!(nginx.port(), port);
    for _ in 0..5 {
        assert_eq!(http_get(nginx.addr(), "/").unwrap().body_text(), "two");
    }
    let err = nginx
        .reload_with("server { listen 127.0.0.1:@PORT@; no_such_directive on; }")
        .unwrap_err();
    assert!(err.to_string().contains("no_such_directive"), "{err}");
    assert_eq!(http_get(nginx.addr(), "/").unwrap().body_text(), "two");
    assert!(Nginx::start("server { listen 127.0.0.1:8080; }").is_err());
}
