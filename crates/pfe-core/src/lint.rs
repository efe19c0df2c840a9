//! `pfe lint FILE`: any hand-written prosody.cfg.lua, evaluated with
//! Prosody's own config semantics in pfe's sandbox (global, VirtualHost and
//! Component sections, `Include` with relative paths and globs, `ENV_*`,
//! `Lua.*`, `FileContents`/`FileLine`/`FileLines`, `Credential`, `:append`),
//! then checked per host with every check of [`crate::validate`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fsutil::{FileId, Kind, read_bounded_text_id, size_text};
use crate::sandbox::{Context, Evaluated, Mode, Sandbox, SandboxError, Source};
use crate::validate::{self, CONFIG_ERROR, Finding};

/// More Included files than this means a file includes itself.
pub const MAX_INCLUDES: usize = 1000;
/// The config and every file it Includes add up to at most this many bytes
/// (each file is also held to [`Kind::Config`]'s limit).
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// The config file itself cannot be read: a usage error, not a finding.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read {path}: {reason}")]
#[diagnostic(
    code(pfe::lint::read),
    help("give the path of a Prosody config file, e.g. /etc/prosody/prosody.cfg.lua")
)]
pub struct ReadError {
    pub path: String,
    pub reason: String,
}

/// What `lint` found, and the config as evaluated (None when it could not
/// be evaluated; the findings then hold the error).
///
/// It also owns the Lua state the config was evaluated in, freed with it. A
/// process that ends after using it may `std::mem::forget` it instead: on
/// a 10,000-host config, freeing the state and the model takes a twentieth
/// of the run.
pub struct Lint {
    pub findings: Vec<Finding>,
    pub evaluated: Option<Evaluated>,
    _state: Option<Sandbox>,
}

/// Reads the files of one lint run through the bounded reader: each file
/// gets one [`Source::id`] whatever path reaches it (so an Include cycle
/// through `./`, `..` or a link is seen as one), and together they are
/// bounded in number ([`MAX_INCLUDES`]) and size ([`MAX_TOTAL_BYTES`]).
#[derive(Default)]
pub struct Reader {
    ids: HashMap<FileId, String>,
    files: usize,
    bytes: u64,
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    fn read(&mut self, path: &Path) -> Result<Source, String> {
        // The config itself is file 0; Included files count from 1.
        if self.files > MAX_INCLUDES {
            return Err(format!(
                "more than {MAX_INCLUDES} files Included: does a file include itself?"
            ));
        }
        let (text, file) = read_bounded_text_id(path, Kind::Config).map_err(|e| e.reason())?;
        self.files += 1;
        self.bytes += text.len() as u64;
        if self.bytes > MAX_TOTAL_BYTES {
            return Err(format!(
                "the config and the files it Includes add up to more than {}",
                size_text(MAX_TOTAL_BYTES)
            ));
        }
        let shown = path.to_string_lossy().to_string();
        let id = self
            .ids
            .entry(file)
            .or_insert_with(|| shown.clone())
            .clone();
        Ok(Source {
            id,
            path: shown,
            text,
        })
    }

    /// Resolves `Include "pattern"` written in the file `from` the way
    /// Prosody 13 does: relative to the including file's directory; a `*`
    /// or `?` in the last path component lists that directory (dot files
    /// skipped, names in order so the result is deterministic); a plain
    /// path must exist.
    pub fn resolve_include(&mut self, pattern: &str, from: &str) -> Result<Vec<Source>, String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full: PathBuf = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        let file_name = full
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        if !file_name.contains(['*', '?']) {
            return self
                .read(&full)
                .map(|s| vec![s])
                .map_err(|e| format!("Error loading included {}: {e}", full.display()));
        }
        let dir = full.parent().unwrap_or(Path::new(""));
        let listed = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let entries = std::fs::read_dir(listed).map_err(|e| {
            format!(
                "Error expanding wildcard pattern in Include {pattern:?}: {}: {e}",
                listed.display()
            )
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| !n.starts_with('.') && glob_matches(file_name.as_bytes(), n.as_bytes()))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let p = dir.join(&n);
                self.read(&p)
                    .map_err(|e| format!("Error loading included {}: {e}", p.display()))
            })
            .collect()
    }
}

/// [`Reader::resolve_include`] with a reader of its own.
pub fn resolve_include(pattern: &str, from: &str) -> Result<Vec<Source>, String> {
    Reader::new().resolve_include(pattern, from)
}

/// `*` and `?` as Prosody's `glob_to_pattern` reads them.
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_matches(&pattern[1..], name)
                || (!name.is_empty() && glob_matches(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_matches(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_matches(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn error_finding(e: &SandboxError) -> Finding {
    let mut f = Finding::error(CONFIG_ERROR, e.message.clone());
    if e.line > 0 || e.path != "<config>" {
        f = f.at(e.path.clone(), e.line);
    }
    if let Some(src) = &e.src {
        f = f.with_source(Arc::from(src.inner().as_str()));
    }
    if let Some(h) = &e.help {
        f = f.hint(h.clone());
    }
    f
}

/// Evaluates the config at `path` (following its Includes) and checks it.
/// `env` is what `ENV_*`-free `os.getenv` calls see.
pub fn lint_file(path: &Path, env: HashMap<String, String>) -> Result<Lint, ReadError> {
    lint_main(path, None, env)
}

/// [`lint_file`] with `text` standing for the file at `path` (its Includes
/// are still read from disk, relative to `path`).
pub fn lint_text(path: &Path, text: String, env: HashMap<String, String>) -> Lint {
    match lint_main(path, Some(text), env) {
        Ok(l) => l,
        Err(e) => Lint {
            findings: vec![Finding::error(CONFIG_ERROR, e.to_string())],
            evaluated: None,
            _state: None,
        },
    }
}

fn lint_main(
    path: &Path,
    text: Option<String>,
    env: HashMap<String, String>,
) -> Result<Lint, ReadError> {
    let reader = RefCell::new(Reader::new());
    let mut main = reader.borrow_mut().read(path).map_err(|reason| ReadError {
        path: path.display().to_string(),
        reason,
    })?;
    if let Some(text) = text {
        main.text = text;
    }
    Ok(lint_source(main, reader, env))
}

/// Evaluates `main` (text already read; its Includes read from disk
/// relative to its path) as Prosody 13 does, without the checks: what
/// `pfe diff` and `pfe migrate` compare. The error is the finding `lint`
/// would report, with file:line.
pub fn evaluate_source(main: Source, env: HashMap<String, String>) -> Result<Evaluated, Finding> {
    let reader = RefCell::new(Reader::new());
    evaluate_with(main, reader, env).map(|(ev, _, _)| ev)
}

/// [`evaluate_source`] for the file at `path`.
pub fn evaluate_file(path: &Path, env: HashMap<String, String>) -> Result<Evaluated, Finding> {
    let reader = RefCell::new(Reader::new());
    let main = reader.borrow_mut().read(path).map_err(|reason| {
        Finding::error(
            CONFIG_ERROR,
            ReadError {
                path: path.display().to_string(),
                reason,
            }
            .to_string(),
        )
    })?;
    evaluate_with(main, reader, env).map(|(ev, _, _)| ev)
}

fn lint_source(main: Source, reader: RefCell<Reader>, env: HashMap<String, String>) -> Lint {
    match evaluate_with(main, reader, env) {
        Ok((evaluated, ctx, state)) => Lint {
            findings: validate::check_evaluated(&evaluated, &ctx),
            evaluated: Some(evaluated),
            _state: Some(state),
        },
        Err(f) => Lint {
            findings: vec![f],
            evaluated: None,
            _state: None,
        },
    }
}

fn evaluate_with(
    main: Source,
    reader: RefCell<Reader>,
    env: HashMap<String, String>,
) -> Result<(Evaluated, Context, Sandbox), Finding> {
    let ctx = Context {
        domain: "localhost".into(),
        domains: Vec::new(),
        profile: String::new(),
        environment: String::new(),
    };
    let fail = |e: SandboxError| error_finding(&e);
    let sb = Sandbox::with_mode(env, &ctx, Mode::Prosody).map_err(fail)?;
    sb.set_include(move |pattern, from| reader.borrow_mut().resolve_include(pattern, from))
        .map_err(fail)?;
    sb.set_layer("config");
    sb.eval(&main).map_err(fail)?;
    let evaluated = sb.finish().map_err(fail)?;
    Ok((evaluated, ctx, sb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches(b"*.cfg.lua", b"a.cfg.lua"));
        assert!(!glob_matches(b"*.cfg.lua", b"a.cfg.lua.bak"));
        assert!(glob_matches(b"host?.lua", b"host1.lua"));
        assert!(!glob_matches(b"host?.lua", b"host.lua"));
        assert!(glob_matches(b"*", b"x"));
    }

    #[test]
    fn includes_resolve_relative_to_the_includer() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(d.join("conf.d/b.cfg.lua"), "b = 1\n").unwrap();
        std::fs::write(d.join("conf.d/a.cfg.lua"), "a = 1\n").unwrap();
        std::fs::write(d.join("conf.d/.hidden.cfg.lua"), "h = 1\n").unwrap();
        std::fs::write(d.join("conf.d/notes.txt"), "").unwrap();
        let main = d.join("prosody.cfg.lua");
        let got = resolve_include("conf.d/*.cfg.lua", main.to_str().unwrap()).unwrap();
        let names: Vec<_> = got.iter().map(|s| s.path.clone()).collect();
        assert_eq!(
            names,
            vec![
                d.join("conf.d/a.cfg.lua").display().to_string(),
                d.join("conf.d/b.cfg.lua").display().to_string()
            ]
        );
        assert!(
            resolve_include("conf.d/none-*.lua", main.to_str().unwrap())
                .unwrap()
                .is_empty()
        );
        let e = resolve_include("missing.cfg.lua", main.to_str().unwrap()).unwrap_err();
        assert!(e.contains("Error loading included"), "{e}");
    }

    #[test]
    fn self_inclusion_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("loop.cfg.lua");
        std::fs::write(&main, "Include \"loop.cfg.lua\"\n").unwrap();
        let lint = lint_file(&main, HashMap::new()).unwrap();
        assert_eq!(lint.findings.len(), 1);
        assert_eq!(lint.findings[0].code, CONFIG_ERROR);
        let shown = main.display().to_string();
        assert_eq!(
            lint.findings[0].message,
            format!(
                "Include cycle: {shown}:1 → {shown} (a file cannot Include itself, directly or through others)"
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_cycle_through_a_link_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("main.cfg.lua"), "Include \"sub/b.cfg.lua\"\n").unwrap();
        std::os::unix::fs::symlink(d.join("main.cfg.lua"), d.join("sub/again.cfg.lua")).unwrap();
        std::fs::write(
            d.join("sub/b.cfg.lua"),
            "x = 1\nInclude \"again.cfg.lua\"\n",
        )
        .unwrap();
        let lint = lint_file(&d.join("main.cfg.lua"), HashMap::new()).unwrap();
        let m = &lint.findings[0].message;
        assert!(m.starts_with("Include cycle: "), "{m}");
        assert!(m.contains("b.cfg.lua:2 → "), "{m}");
        assert!(m.contains("sub/again.cfg.lua"), "{m}");
    }

    #[test]
    fn including_one_file_again_and_again_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("leaf.cfg.lua"), "x = 1\n").unwrap();
        // Not a cycle: each Include finishes before the next.
        std::fs::write(
            d.join("twice.cfg.lua"),
            "Include \"leaf.cfg.lua\"\nInclude \"leaf.cfg.lua\"\n",
        )
        .unwrap();
        let lint = lint_file(&d.join("twice.cfg.lua"), HashMap::new()).unwrap();
        assert!(lint.evaluated.is_some(), "{:?}", lint.findings);
        std::fs::write(
            d.join("many.cfg.lua"),
            "for _ = 1, 5000 do Include \"leaf.cfg.lua\" end\n",
        )
        .unwrap();
        let lint = lint_file(&d.join("many.cfg.lua"), HashMap::new()).unwrap();
        assert!(lint.evaluated.is_none());
        assert!(
            lint.findings[0]
                .message
                .contains("more than 1000 files Included"),
            "{}",
            lint.findings[0].message
        );
    }
}

/// What `pfe lint --fix` did (or, with `dry_run`, would do).
pub struct FixOutcome {
    pub changes: Vec<crate::fix::Change>,
    /// Unified diff of the rewrite (empty when nothing changed).
    pub diff: String,
    /// The findings of the fixed file.
    pub findings: Vec<Finding>,
    /// Whether the file was rewritten.
    pub written: bool,
}

/// Why `--fix` left the file alone.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FixError {
    #[error(transparent)]
    #[diagnostic(code(pfe::lint::read))]
    Read(#[from] ReadError),
    #[error(transparent)]
    #[diagnostic(
        code(pfe::lint::fix::parse),
        help(
            "fix the Lua syntax first (pfe lint FILE shows where); --fix only rewrites files that parse"
        )
    )]
    Parse(#[from] crate::fix::ParseError),
    #[error("{path}: the rewrite would add findings ({new}), so the file was not changed")]
    #[diagnostic(
        code(pfe::lint::fix::worse),
        help("please report this: --fix must never make a config worse")
    )]
    Worse { path: String, new: String },
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(code(pfe::lint::fix::write))]
    Write { path: String, reason: String },
}

/// `pfe lint FILE --fix [--dry-run]`: rewrites the deprecated and renamed
/// options and modules of the config at `path` ([`crate::fix`]), checks
/// that the result adds no finding (and so lints clean of what was fixed),
/// then replaces the file atomically, keeping its mode; with `dry_run`
/// nothing is written. Included files are not rewritten.
pub fn fix_file(
    path: &Path,
    env: HashMap<String, String>,
    dry_run: bool,
) -> Result<FixOutcome, FixError> {
    let (text, _) = read_bounded_text_id(path, Kind::Config).map_err(|e| ReadError {
        path: path.display().to_string(),
        reason: e.reason(),
    })?;
    let shown = path.display().to_string();
    let fixed = crate::fix::fix_text(crate::index::Index::builtin(), &shown, &text)?;
    let before = lint_file(path, env.clone())?;
    if fixed.changes.is_empty() {
        return Ok(FixOutcome {
            changes: Vec::new(),
            diff: String::new(),
            findings: before.findings,
            written: false,
        });
    }
    let after = lint_text(path, fixed.text.clone(), env);
    let key = |f: &Finding| (f.code.clone(), f.host.clone(), strip_lines(&f.message));
    let old: std::collections::BTreeSet<_> = before.findings.iter().map(key).collect();
    let new: Vec<String> = after
        .findings
        .iter()
        .filter(|f| !old.contains(&key(f)))
        .map(|f| format!("{} {}", f.code, f.message))
        .collect();
    if !new.is_empty() {
        return Err(FixError::Worse {
            path: shown,
            new: new.join("; "),
        });
    }
    let diff = crate::fix::unified_diff(&shown, &text, &fixed.text);
    let mut written = false;
    if !dry_run {
        let mode = std::fs::metadata(path).ok().map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o7777
        });
        crate::fsutil::write_atomic(path, fixed.text.as_bytes(), mode, true).map_err(|e| {
            FixError::Write {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        written = true;
    }
    Ok(FixOutcome {
        changes: fixed.changes,
        diff,
        findings: after.findings,
        written,
    })
}

/// A message without `file:line` references, which a rewrite may shift.
fn strip_lines(m: &str) -> String {
    m.split(|c: char| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .join("#")
}
