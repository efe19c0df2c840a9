//! Measures how long each harness takes from `start` to a proven answer:
//! `cargo run --example startup_times [ROUNDS]` (default 5), one daemon at a
//! time. Prints the minimum, median and maximum per harness.

use pfe_testkit::services::{dns, ldap, nginx, turn};
use std::time::{Duration, Instant};

fn measure(name: &str, rounds: usize, mut start: impl FnMut()) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            start();
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<12} min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let zone = dns::minimal_zone("example.org");
    measure("slapd", rounds, || drop(ldap::Slapd::start().unwrap()));
    measure("slapd+TLS", rounds, || {
        drop(ldap::Slapd::start_tls().unwrap())
    });
    measure("nginx", rounds, || {
        drop(nginx::Nginx::start("server { listen 127.0.0.1:@PORT@; return 204; }").unwrap())
    });
    measure("coturn", rounds, || {
        drop(turn::Coturn::start("secret", "example.org").unwrap())
    });
    measure("knot", rounds, || {
        drop(dns::Knot::start(&[("example.org", &zone)]).unwrap())
    });
}
