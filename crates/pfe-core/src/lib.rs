//! pfe's core: the catalog, the Lua sandbox, resolution, rendering, the
//! Prosody index, validation and lint.
//!
//! It does no network, spawns no processes and never prints (the lints in the
//! workspace manifest deny print macros): the CLI renders.

// Errors carry source snippets for miette; they are built once, on the cold
// path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod catalog;
pub mod diff;
pub mod dns;
pub mod docs;
pub mod effective;
pub mod emit;
pub mod engine;
pub mod envfile;
pub mod explain;
pub mod fix;
pub mod fsutil;
pub mod index;
pub mod layout;
pub mod lint;
pub mod migrate;
pub mod render;
pub mod request;
pub mod resolve;
pub mod sandbox;
pub mod sorted;
pub mod suggest;
pub mod validate;
pub mod value;
pub mod x509;
