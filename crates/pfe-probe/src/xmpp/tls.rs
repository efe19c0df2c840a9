//! TLS client configuration (rustls with the *ring* provider).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::error::{Error, Result, Stage};

/// How to verify the server's certificate. There is deliberately no default:
/// the caller must choose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsVerify {
    /// Trust the certificates in this PEM file (a CA, or a self-signed leaf).
    CaFile(PathBuf),
    /// Trust these PEM-encoded certificates.
    CaPem(Vec<u8>),
    /// Accept any certificate (handshake signatures are still checked). For
    /// tests and probes of servers with throw-away certificates only.
    InsecureAcceptAny,
}

/// Which TLS flavour a c2s connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Cleartext stream upgraded with `<starttls/>` (RFC 6120).
    StartTls,
    /// TLS from the first byte (XEP-0368), ALPN `xmpp-client`.
    DirectTls,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

pub(crate) fn load_roots(pem: &[u8], origin: &str) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert =
            cert.map_err(|e| Error::Config(format!("{origin}: bad PEM certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Config(format!("{origin}: unusable certificate: {e}")))?;
        n += 1;
    }
    if n == 0 {
        return Err(Error::Config(format!(
            "{origin}: no PEM certificate (-----BEGIN CERTIFICATE-----) found"
        )));
    }
    Ok(roots)
}

/// The trust anchors of `verify` and where they came from (`None`: any
/// certificate is accepted).
pub(crate) fn roots_of(verify: &TlsVerify) -> Result<Option<(rustls::RootCertStore, String)>> {
    Ok(match verify {
        TlsVerify::CaFile(path) => {
            let pem = pfe_core::fsutil::read_bounded(path, pfe_core::fsutil::Kind::CaFile)
                .map_err(|e| Error::Config(e.to_string()))?;
            let origin = path.display().to_string();
            Some((load_roots(&pem, &origin)?, origin))
        }
        TlsVerify::CaPem(pem) => Some((load_roots(pem, "CA PEM")?, "the given CA PEM".into())),
        TlsVerify::InsecureAcceptAny => None,
    })
}

/// Verify `chain` (leaf first) for `name` against `roots` now.
pub(crate) fn verify_chain(
    roots: rustls::RootCertStore,
    chain: &[CertificateDer<'static>],
    name: &str,
) -> std::result::Result<(), String> {
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| format!("cannot build a verifier: {e}"))?;
    let Some((leaf, rest)) = chain.split_first() else {
        return Err("the server sent no certificate".into());
    };
    let name = server_name(name).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, rest, &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Build a rustls client config for `verify`, offering `alpn` protocols.
pub fn client_config(verify: &TlsVerify, alpn: &[&[u8]]) -> Result<Arc<rustls::ClientConfig>> {
    client_config_versions(verify, alpn, rustls::DEFAULT_VERSIONS)
}

/// [`client_config`] offering only these TLS versions.
pub fn client_config_versions(
    verify: &TlsVerify,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<rustls::ClientConfig>> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| Error::Config(format!("TLS: {e}")))?;
    let mut cfg = match verify {
        TlsVerify::CaFile(path) => {
            let pem = pfe_core::fsutil::read_bounded(path, pfe_core::fsutil::Kind::CaFile)
                .map_err(|e| Error::Config(e.to_string()))?;
            builder
                .with_root_certificates(load_roots(&pem, &path.display().to_string())?)
                .with_no_client_auth()
        }
        TlsVerify::CaPem(pem) => builder
            .with_root_certificates(load_roots(pem, "CA PEM")?)
            .with_no_client_auth(),
        TlsVerify::InsecureAcceptAny => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
            .with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// The SNI / verification name for `domain`.
pub fn server_name(domain: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(domain.to_string())
        .map_err(|e| Error::Config(format!("{domain:?} is not a valid TLS server name: {e}")))
}

/// Explain a handshake failure with a hint on what to check.
pub fn handshake_error(domain: &str, err: std::io::Error) -> Error {
    let hint = if err.to_string().contains("certificate") {
        " (check TlsVerify: the CA file must contain the server's CA or self-signed certificate, and the certificate must name the domain)"
    } else {
        ""
    };
    Error::Tls {
        stage: Stage::TlsHandshake,
        detail: format!("handshake with {domain:?} failed: {err}{hint}"),
    }
}
