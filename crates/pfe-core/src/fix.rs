//! `pfe lint --fix`: rewrites deprecated and renamed options and modules in
//! a hand-written Prosody config, keeping its comments and layout.
//!
//! The file is parsed with full_moon (a lossless Lua 5.4 parser: a concrete
//! syntax tree whose tokens know their byte positions). Every rewrite is
//! found on that tree — an assignment's variable, a field of a table
//! constructor, a string in `modules_enabled` — and replaces exactly that
//! node's bytes; everything between nodes (comments, blank lines,
//! indentation) is kept as written. A file that does not parse is never
//! changed, and the result must parse again.
//!
//! Rewrites (from the index's deprecation data):
//! * a renamed option (`legacy_ssl_ports` → `c2s_direct_tls_ports`,
//!   `bosh_ports` → `http_ports`, ...): the name is replaced; when the new
//!   name is assigned in the file as well, the old assignment is removed;
//! * `use_libevent = true` → `network_backend = "event"` (false: removed);
//! * obsolete options (`daemonize`, `setuid`, `dns_timeout`, ...): removed;
//! * in `modules_enabled = { ... }` and `modules_enabled:append { ... }`: a
//!   renamed or superseded module is replaced (`"blocking"` →
//!   `"blocklist"`, keeping the quotes), one to remove (`"posix"`) is
//!   removed with its separator, and a replacement already in the list is
//!   not added twice;
//! * `ssl = { protocols = ... }` (an ssl key nobody reads) → `protocol`, a
//!   list of versions becoming the lowest one with `+` (`{ "tlsv1_2",
//!   "tlsv1_3" }` → `"tlsv1_2+"`).

use std::collections::BTreeSet;

use full_moon::ast::punctuated::Pair;
use full_moon::ast::{Call, Expression, Field, FunctionArgs, Prefix, Stmt, Suffix, Var};
use full_moon::node::Node;
use full_moon::tokenizer::{TokenReference, TokenType};

use crate::index::{Index, ReplacementKind};
use crate::validate::{DEPRECATED_MODULE, DEPRECATED_OPTION, UNKNOWN_SSL_KEY};

/// One rewrite: where, what, and which finding it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line in the original text.
    pub line: usize,
    /// The code of the finding it fixes (PFE007, PFE008, PFE024).
    pub code: &'static str,
    pub description: String,
}

/// The fixed text and what was changed (empty: nothing to fix).
#[derive(Debug, Clone)]
pub struct Fixed {
    pub text: String,
    pub changes: Vec<Change>,
}

/// The file is not valid Lua: it is left alone.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: does not parse as Lua, so it was not changed: {message}")]
pub struct ParseError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// The codes `--fix` rewrites; the fixed file lints clean of these for
/// what it changed.
pub const FIXED_CODES: &[&str] = &[DEPRECATED_OPTION, DEPRECATED_MODULE, UNKNOWN_SSL_KEY];

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn tok_range(t: &TokenReference) -> (usize, usize) {
    (
        t.token().start_position().bytes(),
        t.token().end_position().bytes(),
    )
}

fn node_range(n: &impl Node) -> Option<(usize, usize)> {
    let (s, e) = n.range()?;
    Some((s.bytes(), e.bytes()))
}

fn string_value(t: &TokenReference) -> Option<String> {
    match t.token().token_type() {
        TokenType::StringLiteral { literal, .. } => Some(literal.to_string()),
        _ => None,
    }
}

fn ident(t: &TokenReference) -> Option<String> {
    match t.token().token_type() {
        TokenType::Identifier { identifier } => Some(identifier.to_string()),
        _ => None,
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// Widens `start..end` to whole lines when the range is alone on its
/// line(s) (indentation, a trailing comment and the newline go with it).
fn whole_lines(text: &str, start: usize, end: usize) -> (usize, usize) {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..start].trim().is_empty() {
        return (start, end);
    }
    let rest = &text[end..];
    let line_end = rest.find('\n').map_or(text.len(), |i| end + i + 1);
    let tail = text[end..line_end].trim();
    if tail.is_empty() || tail.starts_with("--") || tail == ";" || tail.starts_with(";") {
        (line_start, line_end)
    } else {
        (start, end)
    }
}

/// The names assigned at the top level of the file.
fn assigned(stmts: &[&Stmt]) -> BTreeSet<String> {
    stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Assignment(a) => a.variables().iter().next().and_then(|v| match v {
                Var::Name(t) => ident(t),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

struct Fixer<'a> {
    index: &'a Index,
    text: &'a str,
    edits: Vec<Edit>,
    changes: Vec<Change>,
}

impl Fixer<'_> {
    fn edit(&mut self, start: usize, end: usize, text: String, code: &'static str, what: String) {
        self.changes.push(Change {
            line: line_of(self.text, start),
            code,
            description: what,
        });
        self.edits.push(Edit { start, end, text });
    }

    /// Modules in a `modules_enabled` table constructor.
    fn modules_table(&mut self, t: &full_moon::ast::TableConstructor) {
        let present: BTreeSet<String> = t
            .fields()
            .iter()
            .filter_map(|f| match f {
                Field::NoKey(Expression::String(s)) => string_value(s),
                _ => None,
            })
            .collect();
        let mut added = BTreeSet::new();
        let pairs: Vec<&Pair<Field>> = t.fields().pairs().collect();
        for pair in pairs {
            let Field::NoKey(Expression::String(s)) = pair.value() else {
                continue;
            };
            let Some(name) = string_value(s) else {
                continue;
            };
            let Some(r) = self.index.obsolete_module(&name) else {
                continue;
            };
            // Only modules that still exist are PFE008 (the others are
            // unknown/not-installed findings, left to the user).
            if !self.index.module_exists(&name) {
                continue;
            }
            let remove = match &r.replacement {
                None => true,
                Some(rep) => present.contains(rep) || !added.insert(rep.clone()),
            };
            if remove {
                let Some((start, mut end)) = node_range(pair.value()) else {
                    continue;
                };
                if let Pair::Punctuated(_, sep) = pair {
                    end = tok_range(sep).1;
                }
                let (start, mut end) = whole_lines(self.text, start, end);
                // Inline: the spaces after the item go with it.
                while !self.text[..end].ends_with('\n') && self.text[end..].starts_with([' ', '\t'])
                {
                    end += 1;
                }
                let why = match &r.replacement {
                    None => format!("removed mod_{name} ({})", r.message),
                    Some(rep) => format!("removed mod_{name}: mod_{rep} is already listed"),
                };
                self.edit(start, end, String::new(), DEPRECATED_MODULE, why);
            } else if let Some(rep) = &r.replacement {
                let (start, end) = tok_range(s);
                let quoted = &self.text[start..end];
                let q = quoted.chars().next().unwrap_or('"');
                let new = if q == '\'' || q == '"' {
                    format!("{q}{rep}{q}")
                } else {
                    format!("\"{rep}\"")
                };
                self.edit(
                    start,
                    end,
                    new,
                    DEPRECATED_MODULE,
                    format!("mod_{name} → mod_{rep} ({})", r.message),
                );
            }
        }
    }

    /// `protocols` in an `ssl` table.
    fn ssl_table(&mut self, t: &full_moon::ast::TableConstructor) {
        for f in t.fields().iter() {
            let Field::NameKey { key, value, .. } = f else {
                continue;
            };
            if ident(key).as_deref() != Some("protocols") {
                continue;
            }
            let (ks, ke) = tok_range(key);
            self.edit(
                ks,
                ke,
                "protocol".into(),
                UNKNOWN_SSL_KEY,
                "ssl.protocols → ssl.protocol".into(),
            );
            if let Expression::TableConstructor(list) = &**value {
                const ORDER: &[&str] = &["sslv3", "tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3"];
                let lowest = list
                    .fields()
                    .iter()
                    .filter_map(|f| match f {
                        Field::NoKey(Expression::String(s)) => string_value(s),
                        _ => None,
                    })
                    .filter_map(|v| {
                        let v = v.trim_end_matches('+').to_string();
                        ORDER.iter().position(|o| *o == v)
                    })
                    .min();
                if let (Some(i), Some((s, e))) = (lowest, node_range(&**value)) {
                    self.edit(
                        s,
                        e,
                        format!("\"{}+\"", ORDER[i]),
                        UNKNOWN_SSL_KEY,
                        format!(
                            "ssl.protocol: the lowest listed version, {}, and later",
                            ORDER[i]
                        ),
                    );
                }
            }
        }
    }

    fn assignment(
        &mut self,
        stmt: &Stmt,
        a: &full_moon::ast::Assignment,
        names: &BTreeSet<String>,
    ) {
        let vars: Vec<&Var> = a.variables().iter().collect();
        let exprs: Vec<&Expression> = a.expressions().iter().collect();
        let [Var::Name(tok)] = vars.as_slice() else {
            return;
        };
        let Some(name) = ident(tok) else { return };
        let value = exprs.first().copied();
        if let Some(Expression::TableConstructor(t)) = value {
            if name == "modules_enabled" {
                self.modules_table(t);
            } else if name == "ssl" || name.ends_with("_ssl") {
                self.ssl_table(t);
            }
        }
        let Some(r) = self.index.deprecated(&name) else {
            return;
        };
        let remove_stmt = |fx: &mut Self, why: String| {
            if let Some((s, e)) = node_range(stmt) {
                let (s, e) = whole_lines(fx.text, s, e);
                fx.edit(s, e, String::new(), DEPRECATED_OPTION, why);
            }
        };
        match r.kind {
            ReplacementKind::Obsolete => {
                remove_stmt(self, format!("removed '{name}' (obsolete, no effect)"));
            }
            ReplacementKind::Text if name == "daemonize" || name == "no_daemonize" => {
                remove_stmt(self, format!("removed '{name}' ({})", r.message.trim()));
            }
            ReplacementKind::Option => {
                let Some(rep) = r.replacement.clone() else {
                    return;
                };
                if !r.also.is_empty() || rep == "http_cors_override" {
                    return; // not a plain rename: the value changes shape
                }
                if let Some(v) = &r.value {
                    // use_libevent = true → network_backend = "event"
                    let truthy = matches!(value, Some(Expression::Symbol(t)) if t.token().to_string() == "true");
                    let falsy = matches!(value, Some(Expression::Symbol(t)) if matches!(t.token().to_string().as_str(), "false" | "nil"));
                    if truthy && !names.contains(&rep) {
                        if let (Some((s, _)), Some((_, e))) =
                            (Some(tok_range(tok)), value.and_then(node_range))
                        {
                            self.edit(
                                s,
                                e,
                                format!("{rep} = {}", crate::emit::lua_string(v)),
                                DEPRECATED_OPTION,
                                format!("{name} = true → {rep} = {v:?}"),
                            );
                        }
                    } else if falsy {
                        remove_stmt(self, format!("removed '{name} = false' (the default)"));
                    }
                    return;
                }
                if names.contains(&rep) {
                    remove_stmt(
                        self,
                        format!("removed '{name}': '{rep}', which replaces it, is set too"),
                    );
                } else {
                    let (s, e) = tok_range(tok);
                    self.edit(
                        s,
                        e,
                        rep.clone(),
                        DEPRECATED_OPTION,
                        format!("{name} → {rep}"),
                    );
                }
            }
            _ => {}
        }
    }

    /// `modules_enabled:append { ... }` / `modules_enabled { ... }`.
    fn call(&mut self, c: &full_moon::ast::FunctionCall) {
        let Prefix::Name(p) = c.prefix() else { return };
        if ident(p).as_deref() != Some("modules_enabled") {
            return;
        }
        for s in c.suffixes() {
            let args = match s {
                Suffix::Call(Call::MethodCall(m)) => m.args(),
                Suffix::Call(Call::AnonymousCall(a)) => a,
                _ => continue,
            };
            if let FunctionArgs::TableConstructor(t) = args {
                self.modules_table(t);
            }
        }
    }
}

/// Rewrites `text` (the file at `path`, for messages).
pub fn fix_text(index: &Index, path: &str, text: &str) -> Result<Fixed, ParseError> {
    let parsed = full_moon::parse_fallible(text, full_moon::LuaVersion::lua54());
    if let Some(e) = parsed.errors().first() {
        return Err(ParseError {
            path: path.into(),
            line: e.range().0.line(),
            message: e.error_message().to_string(),
        });
    }
    let ast = parsed.into_ast();
    let stmts: Vec<&Stmt> = ast.nodes().stmts().collect();
    let names = assigned(&stmts);
    let mut fx = Fixer {
        index,
        text,
        edits: Vec::new(),
        changes: Vec::new(),
    };
    for stmt in &stmts {
        match stmt {
            Stmt::Assignment(a) => fx.assignment(stmt, a, &names),
            Stmt::FunctionCall(c) => fx.call(c),
            _ => {}
        }
    }
    let mut edits = fx.edits;
    edits.sort_by_key(|e| (e.start, e.end));
    // Overlapping edits (a statement removed that also had a rename): keep
    // the first, which covers the other.
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in &edits {
        if e.start < at {
            continue;
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    let again = full_moon::parse_fallible(&out, full_moon::LuaVersion::lua54());
    if let Some(e) = again.errors().first() {
        return Err(ParseError {
            path: path.into(),
            line: e.range().0.line(),
            message: format!(
                "the rewrite would not parse ({}); the file was not changed",
                e.error_message()
            ),
        });
    }
    let mut changes = fx.changes;
    changes.sort_by_key(|c| c.line);
    Ok(Fixed { text: out, changes })
}

/// A unified diff from `old` to `new`, with `path` in the headers.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(text: &str) -> Fixed {
        fix_text(Index::builtin(), "t.cfg.lua", text).unwrap()
    }

    #[test]
    fn renames_keep_comments_and_layout() {
        let src = "-- ports\nlegacy_ssl_ports = { 5223 } -- old name\n\nmodules_enabled = {\n\t\"roster\"; -- rosters\n\t'blocking'; -- XEP-0191\n\t\"posix\"; -- gone\n\t\"tls\";\n}\nuse_libevent = true\ndaemonize = false\nssl = { protocols = { \"tlsv1_3\", \"tlsv1_2\" }, ciphers = \"HIGH\" }\n";
        let f = fix(src);
        assert_eq!(
            f.text,
            "-- ports\nc2s_direct_tls_ports = { 5223 } -- old name\n\nmodules_enabled = {\n\t\"roster\"; -- rosters\n\t'blocklist'; -- XEP-0191\n\t\"tls\";\n}\nnetwork_backend = \"event\"\nssl = { protocol = \"tlsv1_2+\", ciphers = \"HIGH\" }\n"
        );
        let codes: Vec<&str> = f.changes.iter().map(|c| c.code).collect();
        assert!(codes.contains(&DEPRECATED_OPTION) && codes.contains(&DEPRECATED_MODULE));
    }

    #[test]
    fn a_replacement_already_set_removes_the_old_one() {
        let f = fix(
            "c2s_direct_tls_ports = { 5223 }\nlegacy_ssl_ports = { 5223 }\nmodules_enabled = { \"blocklist\", \"blocking\" }\n",
        );
        assert_eq!(
            f.text,
            "c2s_direct_tls_ports = { 5223 }\nmodules_enabled = { \"blocklist\", }\n"
        );
    }

    #[test]
    fn nothing_to_fix_is_identity() {
        let src = "-- clean\nmodules_enabled = { \"roster\" }\nVirtualHost \"a.example\"\n";
        let f = fix(src);
        assert_eq!(f.text, src);
        assert!(f.changes.is_empty());
    }

    #[test]
    fn a_file_that_does_not_parse_is_refused() {
        let e = fix_text(Index::builtin(), "t.cfg.lua", "legacy_ssl_ports = { 5223\n").unwrap_err();
        assert!(e.to_string().contains("does not parse"), "{e}");
    }
}
