//! What pfe does on a host: a throw-away or local Prosody ([`server`], behind
//! `pfe run` and the tests) and the container's PID 1 ([`entrypoint`]):
//! certificates, accounts, then `exec prosody`. It never prints: progress
//! lines go to a callback the CLI gives.

#![allow(clippy::result_large_err)]

pub mod certs;
pub mod entrypoint;
pub mod local;
pub mod server;
