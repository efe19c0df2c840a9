//! Validation findings: what `pfe validate` and `pfe lint` report.

use serde::Serialize;

use crate::engine::Build;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem, with a stable code, where it is, and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(code: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            file: None,
            line: None,
            hint: None,
        }
    }
    pub fn warning(code: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, message)
        }
    }
    pub fn at(mut self, file: impl Into<String>, line: usize) -> Finding {
        self.file = Some(file.into());
        self.line = Some(line);
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }
}

/// Checks a successful build: resolution warnings for now; the Prosody
/// index adds option and module checks.
pub fn check_build(build: &Build) -> Vec<Finding> {
    let mut out = Vec::new();
    for w in &build.resolution.warnings {
        out.push(Finding::warning("PFE-W001", w.clone()).at(build.profile.path.clone(), 1));
    }
    out
}
