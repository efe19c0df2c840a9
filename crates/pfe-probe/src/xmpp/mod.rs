//! A small XMPP client that sees every stage of stream negotiation.
//!
//! Unlike a full client library it exposes what a deployment checker needs:
//! the `<stream:features>` before TLS, after TLS and after authentication,
//! the outcome of an authentication attempt on a cleartext stream, raw iq
//! round-trips, and cheap healthchecks — everything bounded in time and size
//! so a hostile or broken server yields an [`Error`], never a hang.
//!
//! ```no_run
//! # async fn demo() -> pfe_probe::xmpp::Result<()> {
//! use pfe_probe::xmpp::{Client, ClientConfig, Mechanism, TlsMode, TlsVerify};
//! let cfg = ClientConfig::new("127.0.0.1:5222", "alice@localhost", "secret",
//!     TlsMode::StartTls, TlsVerify::CaFile("certs/localhost.crt".into()));
//! let mut c = Client::login(cfg, Some(Mechanism::ScramSha256)).await?;
//! let info = c.disco_info("localhost", None).await?;
//! assert!(info.has_feature("urn:xmpp:carbons:2"));
//! c.close().await;
//! # Ok(()) }
//! ```

mod client;
mod error;
mod features;
mod health;
mod http;
pub mod scram;
mod stream;
mod tls;
pub mod xml;

pub use client::{
    CleartextAuthProbe, CleartextAuthResponse, Client, ClientConfig, DiscoInfo, DiscoItem,
    ExternalService, Identity, IqType, Mechanism, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_EXTDISCO,
    NS_HTTP_UPLOAD, NS_REGISTER, Registration, RegistrationOutcome, Sasl2Credential, Sasl2Login,
    UploadSlot,
};
pub use error::{Error, Result, Stage};
pub use features::{
    Features, NS_BIND, NS_BIND2, NS_CSI, NS_FAST, NS_REGISTER_FEATURE, NS_SASL, NS_SASL2, NS_SM,
    NS_TLS,
};
pub use health::{
    HEALTHCHECK_TIMEOUT_MS, HealthMode, HealthReport, Target, default_target, healthcheck,
    healthcheck_starttls, healthcheck_target, healthcheck_tls, probe as health_probe,
    served_config_path, with_default_port,
};
pub use http::{
    HttpExchange, HttpRequest, HttpResponse, MAX_HEAD, WebSocketProbe, WebSocketSession, http_get,
    http_request, websocket_accept, websocket_probe, websocket_session,
};
pub(crate) use stream::{Conn, PeerTls};
pub use stream::{Limits, Timeouts};
pub use tls::{TlsMode, TlsVerify};
pub(crate) use tls::{client_config_versions, roots_of, verify_chain};
pub use xml::Element;

#[cfg(test)]
mod tests;
