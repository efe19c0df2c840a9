//! Standard output and standard error. A closed or full stream is never a
//! panic: messages are dropped, and a reader that went away (`| head`) ends
//! the command quietly.

use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes to standard error; a closed or full stream is ignored (the exit
/// code still tells what happened).
pub fn say_str(s: &str) {
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

macro_rules! say {
    ($($t:tt)*) => { $crate::output::say_str(&format!($($t)*)) };
}

macro_rules! sayln {
    ($($t:tt)*) => { $crate::output::say_str(&(format!($($t)*) + "\n")) };
}

pub(crate) use {say, sayln};

/// Process-wide set-up: a library print to a closed stream ends quietly,
/// and diagnostics stay one line each (scripts and tests match them).
pub fn install() {
    pfe_core::fsutil::quiet_broken_stdio();
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
}

pub fn stdout(bytes: &[u8]) -> Result {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|_| out.flush()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::Shown(1)
        } else {
            Error::failed(format!("cannot write to standard output: {e}"))
        }
    })
}

pub fn print_json(v: &serde_json::Value) -> Result {
    let text = serde_json::to_string_pretty(v).expect("JSON values serialize") + "\n";
    stdout(text.as_bytes())
}

/// `bytes` to `path` atomically (never over an existing file without
/// `force`), or to standard output for no path or `-`.
pub fn write_output(path: Option<&Path>, bytes: &[u8], mode: Option<u32>, force: bool) -> Result {
    match path {
        None => stdout(bytes),
        Some(p) if p.as_os_str() == "-" => stdout(bytes),
        Some(p) => Ok(pfe_core::fsutil::write_atomic(p, bytes, mode, force)?),
    }
}

/// Whether standard output is a terminal (findings are drawn graphically).
pub fn graphical() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout())
}
