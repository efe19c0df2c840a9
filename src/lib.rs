//! pfe — the Profile-Feature-Environment architecture for Prosody, made real.
//!
//! The library knows nothing of clap or terminals: the CLI in `main.rs` is a
//! thin layer over these modules.

pub mod catalog;
pub mod engine;
pub mod envfile;
pub mod explain;
pub mod fsutil;
pub mod index;
pub mod render;
pub mod resolve;
pub mod sandbox;
pub mod validate;
pub mod value;
pub mod xmpp;
