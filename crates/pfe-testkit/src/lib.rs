//! pfe's test kit: the one way tests run the `pfe` binary (with none of the
//! caller's PROSODY_*/PFE_* variables or CREDENTIALS_DIRECTORY), external
//! tools that are never skipped, and harnesses for the real servers the
//! tests start: Prosody and PostgreSQL ([`prosody`]), slapd, nginx, coturn
//! and Knot DNS ([`services`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod prosody;
pub mod services;

pub use prosody::*;

pub const INSTALL_HINT: &str = "run scripts/install-deps.sh (scripts/test.sh does it first)";

/// The `pfe` binary cargo built for the tests.
pub fn pfe_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| assert_cmd::cargo::cargo_bin("pfe"))
}

/// Whether a variable of the caller's environment must not reach pfe.
fn scrubbed(name: &str) -> bool {
    name.starts_with("PROSODY_") || name.starts_with("PFE_") || name == "CREDENTIALS_DIRECTORY"
}

/// The one command builder: `pfe` with the caller's PROSODY_*, PFE_* and
/// CREDENTIALS_DIRECTORY removed, so tests never depend on who runs them.
pub fn command() -> std::process::Command {
    let mut c = std::process::Command::new(pfe_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(scrubbed) {
            c.env_remove(k);
        }
    }
    c
}

/// [`command`] with assert_cmd's assertions.
pub fn pfe() -> assert_cmd::Command {
    assert_cmd::Command::from_std(command())
}

/// `name` on PATH, or a loud failure: these tests never skip.
pub fn require_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed (not on PATH); {INSTALL_HINT}");
}

/// The repository's root (where config/, tests/ and scripts/ are).
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .expect("the repository root")
    })
}
