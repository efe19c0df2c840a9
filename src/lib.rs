//! pfe — the Profile-Feature-Environment architecture for Prosody, made real.
//!
//! The library knows nothing of clap or terminals: the CLI in `main.rs` is a
//! thin layer over these modules.

// Errors carry source snippets for miette; they are built once, on the cold
// path, so their size does not matter.
#![allow(clippy::result_large_err)]
// The library never prints: the CLI renders (a stray print! would also
// panic on a closed stream).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod check;
pub mod deploy;
pub mod docs;
pub mod emit;
pub mod engine;
pub mod envfile;
pub mod explain;
pub mod fsutil;
pub mod index;
pub mod lint;
pub mod render;
pub mod request;
pub mod resolve;
pub mod sandbox;
pub mod server;
pub mod suggest;
pub mod validate;
pub mod value;
pub mod xmpp;
