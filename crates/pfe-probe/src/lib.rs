//! pfe's probes: a small XMPP/HTTP client that sees every stage of stream
//! negotiation ([`xmpp`]) and the live check of a server against what its
//! profile promises ([`check`]). Everything is bounded in time and size; the
//! crate never prints.

// Errors carry source snippets for miette; they are built once, on the cold
// path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod check;
pub mod dns;
pub mod xmpp;
