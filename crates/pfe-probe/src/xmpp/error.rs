//! The error type of [`crate::xmpp`]: every variant names the stage of the
//! conversation, what was expected and what arrived instead.

use std::fmt;
use std::time::Duration;

/// Where in the conversation something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Resolving and connecting the TCP socket.
    Connect,
    /// TLS handshake (STARTTLS or direct TLS).
    TlsHandshake,
    /// Waiting for the server's `<stream:stream>` header.
    StreamHeader,
    /// Waiting for `<stream:features>` on the cleartext stream.
    FeaturesPreTls,
    /// Waiting for `<stream:features>` on the encrypted, unauthenticated stream.
    FeaturesPostTls,
    /// Waiting for `<stream:features>` after SASL success.
    FeaturesPostAuth,
    /// `<starttls/>` negotiation.
    StartTls,
    /// SASL authentication.
    Sasl,
    /// Resource binding.
    Bind,
    /// An iq request.
    Iq,
    /// Closing the stream.
    Close,
    /// The cheap stream healthcheck.
    Healthcheck,
    /// The HTTP probe.
    Http,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "TCP connect",
            Stage::TlsHandshake => "TLS handshake",
            Stage::StreamHeader => "stream header",
            Stage::FeaturesPreTls => "stream features (before TLS)",
            Stage::FeaturesPostTls => "stream features (after TLS, before auth)",
            Stage::FeaturesPostAuth => "stream features (after auth)",
            Stage::StartTls => "STARTTLS",
            Stage::Sasl => "SASL authentication",
            Stage::Bind => "resource binding",
            Stage::Iq => "iq request",
            Stage::Close => "stream close",
            Stage::Healthcheck => "healthcheck",
            Stage::Http => "HTTP probe",
        })
    }
}

/// Everything that can go wrong talking to an XMPP (or HTTP) server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad parameters given by the caller (unreadable CA file, bad JID, ...).
    #[error("configuration: {0}")]
    Config(String),

    /// TCP connect failed.
    #[error(
        "{stage}: cannot connect to {addr}: {source} (is the server running and listening there?)"
    )]
    Connect {
        stage: Stage,
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// Nothing (or not enough) arrived in time.
    #[error(
        "{stage}: timed out after {waited:?} waiting for {expected}; received so far: {received:?}"
    )]
    Timeout {
        stage: Stage,
        expected: String,
        waited: Duration,
        /// Excerpt of unframed bytes that did arrive ("" if none).
        received: String,
    },

    /// The peer closed the TCP connection (or the XML stream) early.
    #[error(
        "{stage}: the server closed the connection while we waited for {expected}; unframed data: {received:?}"
    )]
    Closed {
        stage: Stage,
        expected: String,
        received: String,
    },

    /// Malformed or forbidden XML.
    #[error("{stage}: malformed XML while waiting for {expected}: {detail}")]
    Xml {
        stage: Stage,
        expected: String,
        detail: String,
    },

    /// Well-formed XML, but not what the protocol requires here.
    #[error("{stage}: expected {expected}, got {got}")]
    Protocol {
        stage: Stage,
        expected: String,
        got: String,
    },

    /// Something exceeded a configured size bound.
    #[error(
        "{stage}: {what} exceeds the limit of {limit} bytes ({seen} bytes seen); raise Limits if this server is legitimate"
    )]
    TooLarge {
        stage: Stage,
        what: String,
        limit: usize,
        seen: usize,
    },

    /// The server sent `<stream:error>`.
    #[error("{stage}: the server sent a stream error <{condition}/>{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    StreamError {
        stage: Stage,
        condition: String,
        text: Option<String>,
    },

    /// TLS setup or handshake failed.
    #[error("{stage}: {detail}")]
    Tls { stage: Stage, detail: String },

    /// Socket I/O failed.
    #[error("{stage}: I/O error: {source}")]
    Io {
        stage: Stage,
        #[source]
        source: std::io::Error,
    },

    /// A feature we need was not offered.
    #[error("{stage}: the server does not offer {feature}; offered: {offered}")]
    FeatureMissing {
        stage: Stage,
        feature: String,
        offered: String,
    },

    /// None of the server's SASL mechanisms is one we can use here.
    #[error(
        "SASL: no usable mechanism: the server offers {offered:?}, we can use {usable:?} on this stream"
    )]
    NoMechanism {
        offered: Vec<String>,
        usable: Vec<String>,
    },

    /// We refuse to send a cleartext password on an unencrypted stream.
    #[error(
        "SASL: refusing to send PLAIN credentials over an unencrypted stream; call starttls() first"
    )]
    PlainOverCleartext,

    /// SASL `<failure>`.
    #[error("SASL {mechanism}: authentication failed: <{condition}/>{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    AuthFailed {
        mechanism: String,
        condition: String,
        text: Option<String>,
    },

    /// SCRAM exchange problem, including a wrong server signature.
    #[error("SASL {mechanism}: {detail}")]
    Scram { mechanism: String, detail: String },

    /// An iq came back with `type='error'`.
    #[error("iq {payload} to {to}: error type={error_type} <{condition}/>{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    IqError {
        to: String,
        payload: String,
        error_type: String,
        condition: String,
        text: Option<String>,
    },

    /// The HTTP response could not be understood.
    #[error("HTTP probe: {detail}")]
    Http { detail: String },
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;
