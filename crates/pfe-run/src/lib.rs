//! What pfe does on a host: a throw-away or local Prosody ([`server`], behind
//! `pfe run` and the tests) and the container's PID 1 ([`entrypoint`]):
//! certificates, accounts, then `exec prosody`. Progress lines go to standard
//! error through one function; nothing else prints.

#![allow(clippy::result_large_err)]

pub mod entrypoint;
pub mod local;
pub mod server;
