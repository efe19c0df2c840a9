//! `.env` files: reading `--env-file`, and writing `.env.<profile>.<env>`
//! from the catalog's list of variables.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use miette::Diagnostic;

use crate::engine::Build;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum EnvFileError {
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(
        code(pfe::env_file::io),
        help("--env-file takes a regular file of NAME=value lines (UTF-8, at most 1 MiB)")
    )]
    Io { path: String, reason: String },
    #[error("{path}:{line}: {message}")]
    #[diagnostic(
        code(pfe::env_file::syntax),
        help("each line is NAME=value, optionally quoted; # starts a comment")
    )]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
}

/// Parses an env file: `NAME=value`, `export NAME=value`, quotes, comments.
/// A UTF-8 byte order mark at the start (some editors write one) is skipped;
/// names are ASCII letters, digits and `_`, and a bad one is shown with its
/// invisible characters escaped.
pub fn parse(path: &str, text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    Ok(parse_located(path, text)?
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect())
}

/// [`parse`], with the line (from 1) each variable is set on, so errors
/// about a value can name `FILE:LINE`.
pub fn parse_located(path: &str, text: &str) -> Result<Vec<(String, String, usize)>, EnvFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let err = |message: String| EnvFileError::Syntax {
            path: path.to_string(),
            line: i + 1,
            message,
        };
        let (name, value) = line.split_once('=').ok_or_else(|| {
            err(format!(
                "expected NAME=value, found '{}'",
                crate::request::shown(line)
            ))
        })?;
        let name = name.trim();
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(err(format!(
                "'{}' is not a valid variable name",
                crate::request::shown(name)
            )));
        }
        let value = value.trim();
        let value = if let Some(rest) = value.strip_prefix('"') {
            rest.strip_suffix('"')
                .ok_or_else(|| err("unterminated double quote".into()))?
                .replace("\\\"", "\"")
                .replace("\\n", "\n")
        } else if let Some(rest) = value.strip_prefix('\'') {
            rest.strip_suffix('\'')
                .ok_or_else(|| err("unterminated single quote".into()))?
                .to_string()
        } else {
            // Unquoted: an inline comment starts at " #".
            value
                .split(" #")
                .next()
                .unwrap_or("")
                .trim_end()
                .to_string()
        };
        out.push((name.to_string(), value, i + 1));
    }
    Ok(out)
}

/// Reads and parses the env file at `path`: a regular UTF-8 file of at most
/// [`crate::fsutil::Kind::EnvFile`]'s limit (1 MiB). Each variable comes with
/// the line it is set on, for messages.
pub fn read(path: &Path) -> Result<Vec<(String, String, usize)>, EnvFileError> {
    let text =
        crate::fsutil::read_bounded_text(path, crate::fsutil::Kind::EnvFile).map_err(|e| {
            EnvFileError::Io {
                path: path.display().to_string(),
                reason: e.reason(),
            }
        })?;
    parse_located(&path.display().to_string(), &text)
}

/// The process environment with `file_vars` underneath: a variable set in
/// the process wins over the file, as with compose.
pub fn merge(
    process: impl IntoIterator<Item = (String, String)>,
    file_vars: Vec<(String, String)>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = file_vars.into_iter().collect();
    env.extend(process);
    env
}

fn quote(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@._-/:,+".contains(c))
    {
        v.to_string()
    } else {
        format!(
            "\"{}\"",
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    }
}

/// Where `pfe env` writes without `-o`: `.env.<profile>.<environment>`.
pub fn default_path(req: &crate::engine::Request) -> std::path::PathBuf {
    format!(".env.{}.{}", req.profile, req.environment).into()
}

/// Renders `.env.<profile>.<environment>`. Feature toggles reflect the
/// resolved features, so feeding the file back gives the same config.
pub fn render(build: &Build) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# .env.{}.{} — generated by pfe {}",
        build.profile.id,
        build.environment.id,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "# Profile: {} ({}); environment: {}",
        build.profile.id, build.profile.name, build.environment.id
    );
    let _ = writeln!(
        out,
        "# Regenerate with: pfe env {} {}",
        build.profile.id, build.environment.id
    );
    let _ = writeln!(
        out,
        "# Secrets are never written here: put them in files under $CREDENTIALS_DIRECTORY."
    );

    // Which features each toggle variable switches.
    let mut toggled: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (id, f) in &build.features {
        for t in f.all_toggles() {
            toggled.entry(t).or_default().push(id);
        }
    }
    let enabled = |f: &str| build.resolution.order.iter().any(|e| e == f);

    let mut group = String::new();
    for var in &build.variables {
        if var.group != group {
            group = var.group.clone();
            let _ = writeln!(out, "\n# --- {group} ---");
        }
        let _ = writeln!(out, "# {}", var.description.replace('\n', "\n# "));
        if var.secret {
            let _ = writeln!(
                out,
                "# {}= (secret: provide it as a file, never in this file)",
                var.name
            );
            continue;
        }
        if let Some(features) = toggled.get(&var.name) {
            let on = features.iter().filter(|f| enabled(f)).count();
            if on == features.len() {
                let _ = writeln!(out, "{}=true", var.name);
            } else if on == 0 {
                let _ = writeln!(out, "{}=false", var.name);
            } else {
                let ons: Vec<&str> = features.iter().copied().filter(|f| enabled(f)).collect();
                let _ = writeln!(
                    out,
                    "# {}= (left unset: of {}, only {} are on)",
                    var.name,
                    features.join(", "),
                    ons.join(", ")
                );
            }
            continue;
        }
        match build.env.get(&var.name) {
            Some(v) => {
                let _ = writeln!(out, "{}={}", var.name, quote(v));
            }
            None => {
                let _ = writeln!(out, "# {}=", var.name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_exports_and_comments() {
        let vars = parse(
            "t.env",
            "# c\nexport A=1\nB=\"two words\"\nC='x y'\nD=plain # comment\n\nE=\n",
        )
        .unwrap();
        assert_eq!(
            vars,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x y".into()),
                ("D".into(), "plain".into()),
                ("E".into(), "".into())
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("t.env", "A=1\nnot a var\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.env:2: expected NAME=value, found 'not a var'"
        );
        let err = parse("t.env", "A=\"open\n").unwrap_err();
        assert!(err.to_string().starts_with("t.env:1:"));
    }

    #[test]
    fn process_environment_wins_over_the_file() {
        let env = merge(
            vec![("A".into(), "process".into())],
            vec![("A".into(), "file".into()), ("B".into(), "file".into())],
        );
        assert_eq!(env["A"], "process");
        assert_eq!(env["B"], "file");
    }
}
