//! coturn answers real STUN Binding requests (UDP and TCP), and relays to a
//! loopback peer for a client holding REST credentials from its secret.

use pfe_testkit::services::find_binary;
use pfe_testkit::services::turn::{
    Coturn, binding_request, new_transaction_id, parse_binding_response, stun_binding,
    stun_binding_on,
};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn answers_a_stun_binding_with_the_clients_mapped_address() {
    let t = Instant::now();
    let turn = Coturn::start("test-secret", "example.org").unwrap();
    eprintln!("coturn answered after {:?}", t.elapsed());
    assert_eq!(turn.addr().ip().to_string(), "127.0.0.1");

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mapped = stun_binding_on(&sock, turn.addr()).unwrap();
    assert_eq!(mapped, sock.local_addr().unwrap(), "{}", turn.log_tail());
    let mapped = stun_binding(turn.addr()).unwrap();
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    assert_ne!(mapped.port(), 0);

    // The TCP listener speaks STUN too.
    let mut tcp = TcpStream::connect(turn.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let txid = new_transaction_id();
    tcp.write_all(&binding_request(&txid)).unwrap();
    let mut head = [0u8; 20];
    tcp.read_exact(&mut head).unwrap();
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    let mut msg = head.to_vec();
    msg.resize(20 + len, 0);
    tcp.read_exact(&mut msg[20..]).unwrap();
    assert_eq!(
        parse_binding_response(&msg, &txid).unwrap(),
        tcp.local_addr().unwrap()
    );

    let (pid, dir, port) = (turn.pid(), turn.dir().to_path_buf(), turn.port());
    drop(turn);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists());
    // Nobody answers on the port now.
    let err = stun_binding(loopback_port(port)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

fn loopback_port(port: u16) -> std::net::SocketAddr {
    (std::net::Ipv4Addr::LOCALHOST, port).into()
}

/// A UDP echo peer on loopback, until the flag is cleared.
fn echo_peer() -> (u16, Arc<AtomicBool>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let run = Arc::new(AtomicBool::new(true));
    let r = run.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while r.load(Ordering::Relaxed) {
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..n], from);
            }
        }
    });
    (port, run)
}

/// coturn's own client allocates with REST credentials made from `secret`
/// and sends 3 messages through the relay to a loopback peer.
fn uclient(turn: &Coturn, secret: &str, peer: u16) -> std::process::Output {
    let mut cmd = Command::new(find_binary("turnutils_uclient", "coturn").unwrap());
    cmd.args(["-W", secret, "-u", "alice", "-e", "127.0.0.1"])
        .args(["-r", &peer.to_string(), "-p", &turn.port().to_string()])
        .args(["-n", "3", "-m", "1", "-c", "127.0.0.1"]);
    cmd.output().unwrap()
}

#[test]
fn relays_to_a_loopback_peer_only_with_the_right_secret() {
    let turn = Coturn::start("rest-secret", "example.org").unwrap();
    let (peer, run) = echo_peer();
    let good = uclient(&turn, "rest-secret", peer);
    let text =
        String::from_utf8_lossy(&good.stdout).into_owned() + &String::from_utf8_lossy(&good.stderr);
    assert!(good.status.success(), "{text}\n{}", turn.log_tail());
    assert!(text.contains("tot_send_msgs=3, tot_recv_msgs=3"), "{text}");
    assert!(text.contains("Total lost packets 0 "), "{text}");

    let bad = uclient(&turn, "not-the-secret", peer);
    let text =
        String::from_utf8_lossy(&bad.stdout).into_owned() + &String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "a wrong secret allocated: {text}");
    assert!(text.contains("Cannot complete Allocation"), "{text}");
    run.store(false, Ordering::Relaxed);
}
