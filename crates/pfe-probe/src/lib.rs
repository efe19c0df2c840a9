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

/// Runs `f` to completion on a runtime of its own (one thread). A name
/// lookup still blocking a worker thread does not hold up the return past
/// the probes' own deadlines. The error is the runtime failing to start.
pub fn block_on<F: std::future::Future>(f: F) -> std::io::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(f);
    rt.shutdown_background();
    Ok(out)
}
