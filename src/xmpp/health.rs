//! A cheap c2s healthcheck: open a stream, wait for features, close politely.

use std::time::{Duration, Instant};

use super::error::{Error, Result, Stage};
use super::features::Features;
use super::features::NS_TLS;
use super::stream::{Conn, Limits, Timeouts, describe};
use super::tls::TlsVerify;

/// What a successful healthcheck saw.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// Time from connect to features received.
    pub elapsed: Duration,
    /// The stream `id` the server assigned.
    pub stream_id: Option<String>,
    /// The features offered to an anonymous stream.
    pub features: Features,
}

/// TCP connect to `addr` (`host:port`), send a stream header for `domain`,
/// wait for `<stream:features>`, then close with `</stream:stream>` and wait
/// (briefly) for the server's close; all within `timeout`. Sends no `from`
/// (there is no account).
///
/// Prosody 13 still logs every c2s connection at level info ("Client
/// connected" / "Client disconnected: closed"); the polite close keeps it
/// from logging anything at warn or error.
pub async fn healthcheck(addr: &str, domain: &str, timeout: Duration) -> Result<HealthReport> {
    run(addr, domain, None, timeout).await
}

/// Like [`healthcheck`] over direct TLS (XEP-0368) verified per `verify`.
pub async fn healthcheck_tls(
    addr: &str,
    domain: &str,
    verify: &TlsVerify,
    timeout: Duration,
) -> Result<HealthReport> {
    run(addr, domain, Some(verify), timeout).await
}

/// Like [`healthcheck`], then upgrade with `<starttls/>` (certificate
/// verified per `verify`) and wait for the features of the encrypted
/// stream, which are reported.
pub async fn healthcheck_starttls(
    addr: &str,
    domain: &str,
    verify: &TlsVerify,
    timeout: Duration,
) -> Result<HealthReport> {
    run_mode(addr, domain, Some(verify), true, timeout).await
}

async fn run(
    addr: &str,
    domain: &str,
    verify: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<HealthReport> {
    run_mode(addr, domain, verify, false, timeout).await
}

async fn run_mode(
    addr: &str,
    domain: &str,
    verify: Option<&TlsVerify>,
    starttls: bool,
    timeout: Duration,
) -> Result<HealthReport> {
    let started = Instant::now();
    let work = async {
        let mut conn = Conn::connect(addr, Timeouts::all(timeout), Limits::default()).await?;
        if let (Some(v), false) = (verify, starttls) {
            conn.start_tls(v, domain, &[b"xmpp-client"]).await?;
        }
        let mut header = conn.open_stream(domain, None).await?;
        let stage = if verify.is_some() && !starttls {
            Stage::FeaturesPostTls
        } else {
            Stage::FeaturesPreTls
        };
        let mut features = conn.read_features(stage).await?;
        if let (Some(v), true) = (verify, starttls) {
            if !features.starttls {
                return Err(Error::FeatureMissing {
                    stage: Stage::StartTls,
                    feature: "<starttls/>".into(),
                    offered: features.summary(),
                });
            }
            conn.send(Stage::StartTls, &format!("<starttls xmlns='{NS_TLS}'/>"))
                .await?;
            let (el, _) = conn
                .next_element(Stage::StartTls, "<proceed/> in answer to <starttls/>")
                .await?;
            if !el.is("proceed", NS_TLS) {
                return Err(Error::Protocol {
                    stage: Stage::StartTls,
                    expected: "<proceed/>".into(),
                    got: describe(&el),
                });
            }
            conn.start_tls(v, domain, &[]).await?;
            header = conn.open_stream(domain, None).await?;
            features = conn.read_features(Stage::FeaturesPostTls).await?;
        }
        let elapsed = started.elapsed();
        let close_wait = timeout.saturating_sub(elapsed).min(Duration::from_secs(1));
        conn.close(close_wait).await;
        Ok(HealthReport {
            elapsed,
            stream_id: header.attr("id").map(str::to_string),
            features,
        })
    };
    // Belt and braces: every step is bounded already.
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Healthcheck,
            expected: format!("stream features from {addr} for {domain}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}
