//! pfe's integration tests, one binary: each module runs the real `pfe`
//! binary or the library crates against real Prosody, PostgreSQL, podman and
//! the validators (never skipped: a missing part fails with the install hint).
//! The command builder and the server harnesses are in crates/pfe-testkit.

mod cli;
mod container;
mod deploy_artifacts;
mod deploy_entrypoint;
mod deploy_fixes;
mod deploy_storage;
mod diff;
mod engine_cache;
mod hostile_input;
mod injection_props;
mod lint_corpus;
mod lint_eval;
mod lint_fix;
mod live_direct_tls;
mod live_hosts;
mod live_profiles;
mod migrate;
mod operator_dns;
mod operator_live;
mod operator_proxy;
mod request_inputs;
mod validate_corpus;
mod validate_lint;
mod validate_seed;
mod xmpp_live;
