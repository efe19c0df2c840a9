//! The binary's one error type: it knows how each failure is shown and
//! which exit code it gives (0 success, 1 a failure or a finding, 2 a usage
//! error: arguments the operator must change).

use std::process::ExitCode;

use miette::{Diagnostic, Report};

use crate::output::sayln;

pub enum Error {
    /// The arguments are at fault: exit 2.
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Something failed: exit 1.
    Failed {
        message: String,
        hint: Option<String>,
    },
    /// A diagnostic from the library (file:line, help), with its exit code.
    Report { report: Report, code: u8 },
    /// One line shown as it is (`unhealthy: …`), exit 1.
    Plain(String),
    /// Already shown (findings, a deploy problem list): only the exit code.
    Shown(u8),
}

pub type Result<T = ()> = std::result::Result<T, Error>;

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed {
            message: message.into(),
            hint: None,
        }
    }

    pub fn failed_hint(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Failed {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A library diagnostic that is a usage error (exit 2).
    pub fn usage_report<E: Diagnostic + Send + Sync + 'static>(e: E) -> Error {
        Error::Report {
            report: Report::new(e),
            code: 2,
        }
    }

    /// Shows the error on standard error and gives its exit code.
    pub fn exit(self) -> ExitCode {
        let line = |kind: &str, message: &str, hint: &Option<String>| match hint {
            Some(h) => sayln!("{kind}{message}\n  hint: {h}"),
            None => sayln!("{kind}{message}"),
        };
        let code = match self {
            Error::Usage { message, hint } => {
                line("error: ", &message, &hint);
                2
            }
            Error::Failed { message, hint } => {
                line("error: ", &message, &hint);
                1
            }
            Error::Report { report, code } => {
                sayln!("{report:?}");
                code
            }
            Error::Plain(line) => {
                sayln!("{line}");
                1
            }
            Error::Shown(code) => code,
        };
        ExitCode::from(code)
    }
}

impl<E: Diagnostic + Send + Sync + 'static> From<E> for Error {
    fn from(e: E) -> Error {
        Error::Report {
            report: Report::new(e),
            code: 1,
        }
    }
}
