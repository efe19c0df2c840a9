//! Secrets: which ones a config needs, where the entrypoint finds them, and
//! how they reach Prosody — never through the rendered config or a
//! generated file.
//!
//! A secret variable `PROSODY_X_Y` (marked `secret = true` in the catalog)
//! has the credential name `x_y`. Its value is looked up, first found wins:
//!
//! 1. the file named by `PROSODY_X_Y_FILE` (Docker's `_FILE` convention);
//! 2. the file `$CREDENTIALS_DIRECTORY/x_y` (systemd credentials, compose
//!    secrets and Kubernetes secret volumes mounted at /run/secrets); when
//!    CREDENTIALS_DIRECTORY is unset, `/run/secrets/x_y` (where
//!    `docker run --secret` and compose put secrets);
//! 3. the variable `PROSODY_X_Y` itself — accepted with a warning in the
//!    development and testing environments, refused everywhere else.
//!
//! One trailing newline (what `echo` and editors add) is dropped.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::{Problem, env_value};
use pfe_core::catalog::Variable;

/// Where secrets are looked up when CREDENTIALS_DIRECTORY is unset.
pub const DEFAULT_CREDENTIALS_DIR: &str = pfe_core::layout::SECRETS_DIR;

/// The directory secrets are read from: CREDENTIALS_DIRECTORY, else
/// [`DEFAULT_CREDENTIALS_DIR`] if it is a directory.
pub fn credentials_dir(env: &HashMap<String, String>) -> Option<PathBuf> {
    credentials_dir_in(env, Path::new(DEFAULT_CREDENTIALS_DIR))
}

/// [`credentials_dir`] with another default directory.
pub fn credentials_dir_in(env: &HashMap<String, String>, default: &Path) -> Option<PathBuf> {
    match env_value(env, "CREDENTIALS_DIRECTORY") {
        Some(d) => Some(PathBuf::from(d.trim())),
        None => default.is_dir().then(|| default.to_path_buf()),
    }
}

/// Environments where a secret in a plain variable is only a warning.
pub const LENIENT_ENVIRONMENTS: &[&str] = &["development", "testing"];

/// Where a config expects secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// `Credential("name")`: read by Prosody from `$CREDENTIALS_DIRECTORY/name`.
    pub credentials: BTreeSet<String>,
    /// `ENV_NAME`: read by Prosody from the variable `NAME` at start.
    pub env: BTreeSet<String>,
}

fn long_bracket_level(b: &[u8], i: usize) -> Option<usize> {
    // b[i] == '['; returns the number of '=' if this opens a long bracket.
    let mut j = i + 1;
    while j < b.len() && b[j] == b'=' {
        j += 1;
    }
    (j < b.len() && b[j] == b'[').then_some(j - i - 1)
}

fn skip_long(b: &[u8], mut i: usize, level: usize) -> usize {
    let close: Vec<u8> = std::iter::once(b']')
        .chain(std::iter::repeat_n(b'=', level))
        .chain(std::iter::once(b']'))
        .collect();
    while i < b.len() {
        if b[i..].starts_with(&close) {
            return i + close.len();
        }
        i += 1;
    }
    b.len()
}

/// Reads a quoted string starting at `b[i]` (a quote); returns its content
/// (escapes kept simple) and the index after it.
fn quoted(b: &[u8], i: usize) -> (String, usize) {
    let q = b[i];
    let mut out = Vec::new();
    let mut j = i + 1;
    while j < b.len() && b[j] != q && b[j] != b'\n' {
        if b[j] == b'\\' && j + 1 < b.len() {
            out.push(b[j + 1]);
            j += 2;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        (j + 1).min(b.len()),
    )
}

/// Finds `Credential("…")` calls and `ENV_…` references in Lua config text,
/// outside comments and strings.
pub fn scan(text: &str) -> References {
    let b = text.as_bytes();
    let mut refs = References::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            if b.get(i + 2) == Some(&b'[')
                && let Some(level) = long_bracket_level(b, i + 2)
            {
                i = skip_long(b, i + 4 + level, level);
            } else {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
        } else if c == b'"' || c == b'\'' {
            i = quoted(b, i).1;
        } else if c == b'['
            && let Some(level) = long_bracket_level(b, i)
        {
            i = skip_long(b, i + 2 + level, level);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            // A field access (a.ENV_X) or method is not a global reference.
            let is_field = start > 0 && (b[start - 1] == b'.' || b[start - 1] == b':');
            let word = &text[start..i];
            if is_field {
                continue;
            }
            if let Some(name) = word.strip_prefix("ENV_")
                && !name.is_empty()
            {
                refs.env.insert(name.to_string());
            } else if word == "Credential" {
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == b'(' {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let (name, next) = quoted(b, j);
                    refs.credentials.insert(name);
                    i = next;
                }
            }
        } else {
            i += 1;
        }
    }
    refs
}

/// A secret the catalog knows: its variable and credential name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub var: String,
    pub credential: String,
}

/// `PROSODY_DB_PASSWORD` → `db_password`.
pub fn credential_name(var: &str) -> String {
    var.strip_prefix("PROSODY_")
        .unwrap_or(var)
        .to_ascii_lowercase()
}

/// The catalog's secret variables, in catalog order.
pub fn specs(variables: &[Variable]) -> Vec<Spec> {
    variables
        .iter()
        .filter(|v| v.secret)
        .map(|v| Spec {
            var: v.name.clone(),
            credential: credential_name(&v.name),
        })
        .collect()
}

/// Where a secret's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `<VAR>_FILE`
    File(PathBuf),
    /// `$CREDENTIALS_DIRECTORY/<credential>`
    Directory(PathBuf),
    /// The plain variable.
    Variable,
}

/// A secret's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub credential: String,
    pub var: Option<String>,
    pub origin: Origin,
    pub value: String,
    /// A trailing newline was dropped.
    pub trimmed: bool,
}

/// The secret named `credential` (of variable `var`, if the catalog knows
/// one), looked up in the order described in the module docs. Problems: an
/// unreadable or empty file (error), a plain variable (warning in lenient
/// environments, else error; ignored when a file also exists).
pub fn lookup(
    credential: &str,
    var: Option<&str>,
    env: &HashMap<String, String>,
    environment: &str,
    problems: &mut Vec<Problem>,
) -> Option<Found> {
    let read =
        |path: PathBuf, subject: String, problems: &mut Vec<Problem>| -> Option<(String, bool)> {
            match pfe_core::fsutil::read_bounded_text(&path, pfe_core::fsutil::Kind::Secret) {
                Ok(text) => {
                    let stripped = text
                        .strip_suffix("\r\n")
                        .or_else(|| text.strip_suffix('\n'))
                        .map(str::to_string);
                    let trimmed = stripped.is_some();
                    let value = stripped.unwrap_or(text);
                    if value.is_empty() {
                        problems.push(Problem::error(
                            subject,
                            format!("{} is empty", path.display()),
                            "write the secret into it (one line)".into(),
                        ));
                        return None;
                    }
                    Some((value, trimmed))
                }
                Err(e) => {
                    problems.push(Problem::error(
                        subject,
                        e.to_string(),
                        e.help.clone().unwrap_or_else(|| {
                            "mount the secret file readable for the Prosody user".into()
                        }),
                    ));
                    None
                }
            }
        };
    let plain = var.and_then(|v| env_value(env, v).map(|val| (v, val)));
    let mut found = None;
    if let Some(v) = var {
        let file_var = format!("{v}_FILE");
        if let Some(path) = env_value(env, &file_var) {
            let path = PathBuf::from(path.trim());
            if let Some((value, trimmed)) = read(path.clone(), file_var, problems) {
                found = Some(Found {
                    credential: credential.to_string(),
                    var: Some(v.to_string()),
                    origin: Origin::File(path),
                    value,
                    trimmed,
                });
            } else {
                return None;
            }
        }
    }
    if found.is_none()
        && let Some(dir) = credentials_dir(env)
    {
        let path = dir.join(credential);
        if path.exists()
            && let Some((value, trimmed)) =
                read(path.clone(), "CREDENTIALS_DIRECTORY".into(), problems)
        {
            found = Some(Found {
                credential: credential.to_string(),
                var: var.map(str::to_string),
                origin: Origin::Directory(path),
                value,
                trimmed,
            });
        }
    }
    if let Some((v, value)) = plain {
        let lenient = LENIENT_ENVIRONMENTS.contains(&environment);
        let where_ = format!("$CREDENTIALS_DIRECTORY/{credential} or {v}_FILE");
        if found.is_some() {
            problems.push(Problem::warning(
                v,
                format!(
                    "is set in the environment but ignored: the secret comes from {}",
                    where_
                ),
                format!("remove {v} from the environment"),
            ));
        } else if lenient {
            problems.push(Problem::warning(
                v,
                format!("passes a secret in a plain variable (accepted in the {environment} environment only)"),
                format!("put it in a file instead: {where_}"),
            ));
            found = Some(Found {
                credential: credential.to_string(),
                var: Some(v.to_string()),
                origin: Origin::Variable,
                value: value.to_string(),
                trimmed: false,
            });
        } else {
            problems.push(Problem::error(
                v,
                format!("passes a secret in a plain variable, which the {environment} environment refuses"),
                format!("put it in a file: {where_} (a compose or Kubernetes secret mounted at /run/secrets)"),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_references_outside_comments_and_strings() {
        let text = r#"
-- Credential("in_comment") ENV_IN_COMMENT
--[[ Credential("long_comment") ]]
--[==[ ENV_LONG ]==]
sql = { password = Credential("db_password"), other = Credential 'two' }
x = "Credential(\"in_string\") ENV_IN_STRING"
y = [[ ENV_IN_LONG_STRING ]]
secret = ENV_PROSODY_TURN_SECRET; z = t.ENV_FIELD
w = Credential ( "three" )
"#;
        let r = scan(text);
        assert_eq!(
            r.credentials.into_iter().collect::<Vec<_>>(),
            vec!["db_password", "three", "two"]
        );
        assert_eq!(
            r.env.into_iter().collect::<Vec<_>>(),
            vec!["PROSODY_TURN_SECRET"]
        );
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn files_win_over_the_directory_and_plain_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db_password"), "from-dir\n").unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file").unwrap();
        let cd = dir.path().to_str().unwrap();
        let mut p = Vec::new();
        let e = env(&[("CREDENTIALS_DIRECTORY", cd)]);
        let f = lookup(
            "db_password",
            Some("PROSODY_DB_PASSWORD"),
            &e,
            "production",
            &mut p,
        )
        .unwrap();
        assert_eq!((f.value.as_str(), f.trimmed), ("from-dir", true));
        assert!(p.is_empty());
        let e = env(&[
            ("CREDENTIALS_DIRECTORY", cd),
            ("PROSODY_DB_PASSWORD_FILE", file.to_str().unwrap()),
            ("PROSODY_DB_PASSWORD", "plain"),
        ]);
        let f = lookup(
            "db_password",
            Some("PROSODY_DB_PASSWORD"),
            &e,
            "production",
            &mut p,
        )
        .unwrap();
        assert_eq!(f.value, "from-file");
        assert_eq!(f.origin, Origin::File(file.clone()));
        assert_eq!(p.len(), 1);
        assert!(
            !p[0].is_error(),
            "a plain variable beside a file is only ignored: {p:?}"
        );
    }

    #[test]
    fn plain_variables_are_refused_in_production_and_warned_in_development() {
        let e = env(&[("PROSODY_DB_PASSWORD", "plain")]);
        let mut p = Vec::new();
        assert!(
            lookup(
                "db_password",
                Some("PROSODY_DB_PASSWORD"),
                &e,
                "production",
                &mut p
            )
            .is_none()
        );
        assert!(
            p[0].is_error() && p[0].subject == "PROSODY_DB_PASSWORD",
            "{p:?}"
        );
        let mut p = Vec::new();
        let f = lookup(
            "db_password",
            Some("PROSODY_DB_PASSWORD"),
            &e,
            "development",
            &mut p,
        )
        .unwrap();
        assert_eq!(f.value, "plain");
        assert!(!p[0].is_error(), "{p:?}");
    }

    #[test]
    fn unreadable_and_empty_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let mut p = Vec::new();
        let e = env(&[("PROSODY_ADMIN_PASSWORD_FILE", empty.to_str().unwrap())]);
        assert!(
            lookup(
                "admin_password",
                Some("PROSODY_ADMIN_PASSWORD"),
                &e,
                "production",
                &mut p
            )
            .is_none()
        );
        assert_eq!(p[0].subject, "PROSODY_ADMIN_PASSWORD_FILE");
        let mut p = Vec::new();
        let e = env(&[("PROSODY_ADMIN_PASSWORD_FILE", "/nonexistent/pw")]);
        assert!(
            lookup(
                "admin_password",
                Some("PROSODY_ADMIN_PASSWORD"),
                &e,
                "production",
                &mut p
            )
            .is_none()
        );
        assert!(
            p[0].message
                .contains("cannot read secret file /nonexistent/pw"),
            "{p:?}"
        );
    }

    #[test]
    fn credential_names() {
        assert_eq!(credential_name("PROSODY_DB_PASSWORD"), "db_password");
        assert_eq!(credential_name("PROSODY_TURN_SECRET"), "turn_secret");
    }

    #[test]
    fn run_secrets_is_the_default_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Unset: the default directory, when it exists.
        assert_eq!(credentials_dir_in(&env(&[]), d), Some(d.to_path_buf()));
        assert_eq!(credentials_dir_in(&env(&[]), &d.join("missing")), None);
        assert_eq!(
            credentials_dir_in(&env(&[("CREDENTIALS_DIRECTORY", " ")]), d),
            Some(d.to_path_buf())
        );
        // Set: it wins, existing or not.
        assert_eq!(
            credentials_dir_in(&env(&[("CREDENTIALS_DIRECTORY", "/elsewhere")]), d),
            Some(PathBuf::from("/elsewhere"))
        );
        assert_eq!(
            DEFAULT_CREDENTIALS_DIR, "/run/secrets",
            "the directory docker and compose mount secrets at"
        );
    }
}
