//! Where a metadata field is written: the file is parsed with full_moon, the
//! top-level assignment of the table (`feature_info = { … }`, global or
//! `local`) found, and its table constructor walked along the path of the
//! field (`checks[2].where`). Only used to report an error, so the parse is
//! paid for on the error path alone.

use full_moon::ast::{Expression, Field, Stmt, TableConstructor};
use full_moon::node::Node;
use full_moon::tokenizer::{TokenReference, TokenType};

use super::de::Seg;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Where one node of the path is written: the key (absent for the table
/// itself and for list items) and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spot {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// How far along `path` the source could be followed, and where that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Segments of the path matched (all of them when `== path.len()`).
    pub depth: usize,
    pub spot: Spot,
}

fn pos_of(node: &impl Node) -> Option<Pos> {
    node.start_position().map(|p| Pos {
        line: p.line(),
        column: p.character(),
    })
}

fn name_of(tok: &TokenReference) -> Option<&str> {
    match tok.token_type() {
        TokenType::Identifier { identifier } => Some(identifier.as_str()),
        _ => None,
    }
}

/// `(x)` is `x`.
fn unwrap(mut e: &Expression) -> &Expression {
    while let Expression::Parentheses { expression, .. } = e {
        e = expression;
    }
    e
}

/// The value of the last top-level assignment of `name` in `text`, with
/// the position of the name.
fn assignment<'a>(ast: &'a full_moon::ast::Ast, name: &str) -> Option<(Pos, &'a Expression)> {
    let mut found = None;
    for stmt in ast.nodes().stmts() {
        match stmt {
            Stmt::Assignment(a) => {
                for (var, expr) in a.variables().iter().zip(a.expressions().iter()) {
                    if let full_moon::ast::Var::Name(tok) = var
                        && name_of(tok) == Some(name)
                    {
                        found = pos_of(tok).map(|p| (p, expr));
                    }
                }
            }
            Stmt::LocalAssignment(a) => {
                for (tok, expr) in a.names().iter().zip(a.expressions().iter()) {
                    if name_of(tok) == Some(name) {
                        found = pos_of(tok).map(|p| (p, expr));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The field `name` of a table constructor (the last one: a repeated key
/// wins in Lua), as key position and value.
fn field<'a>(t: &'a TableConstructor, name: &str) -> Option<(Pos, &'a Expression)> {
    let mut found = None;
    for f in t.fields().iter() {
        match f {
            Field::NameKey { key, value, .. } if name_of(key) == Some(name) => {
                found = pos_of(key).map(|p| (p, &**value));
            }
            Field::ExpressionKey { key, value, .. } => {
                if let Expression::String(tok) = unwrap(key)
                    && let TokenType::StringLiteral { literal, .. } = tok.token_type()
                    && literal.as_str() == name
                {
                    found = pos_of(&**key).map(|p| (p, &**value));
                }
            }
            _ => {}
        }
    }
    found
}

/// The `index`-th (0-based) positional item of a table constructor.
fn item(t: &TableConstructor, index: usize) -> Option<&Expression> {
    t.fields()
        .iter()
        .filter_map(|f| match f {
            Field::NoKey(e) => Some(e),
            _ => None,
        })
        .nth(index)
}

/// Follows `path` into the table assigned to `table` in `text` as far as
/// the source allows (a value computed at run time has no constructor to
/// walk into). None when the file does not parse or never assigns `table`
/// at its top level.
pub fn locate(text: &str, table: &str, path: &[Seg]) -> Option<Found> {
    let ast = full_moon::parse_fallible(text, full_moon::LuaVersion::lua54())
        .into_result()
        .ok()?;
    let (key, mut expr) = assignment(&ast, table)?;
    let mut found = Found {
        depth: 0,
        spot: Spot {
            key: Some(key),
            value: pos_of(expr)?,
        },
    };
    for seg in path {
        let Expression::TableConstructor(t) = unwrap(expr) else {
            break;
        };
        let (key, next) = match seg {
            Seg::Field(name) => match field(t, name) {
                Some((k, v)) => (Some(k), v),
                None => break,
            },
            Seg::Index(i) => match item(t, *i) {
                Some(v) => (None, v),
                None => break,
            },
        };
        let Some(value) = pos_of(next) else { break };
        expr = next;
        found = Found {
            depth: found.depth + 1,
            spot: Spot { key, value },
        };
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Seg {
        Seg::Field(s.into())
    }

    #[test]
    fn fields_and_items_are_found_where_they_are_written() {
        let text = r#"-- name = "not here", checks in a comment
local other = { name = "nor here" }
feature_info = {
    name = "Y",
    checks = {
        { xep = "A", where = "x" }, { xep = "B",
          where = "y" },
    },
    ["odd key"] = 1,
}
"#;
        let at = |path: &[Seg]| locate(text, "feature_info", path).unwrap();
        let top = at(&[]);
        assert_eq!(top.spot.key.unwrap().line, 3);
        assert_eq!(
            at(&[f("name")]).spot.key.unwrap(),
            Pos { line: 4, column: 5 }
        );
        let second = at(&[f("checks"), Seg::Index(1)]);
        assert_eq!(
            (second.depth, second.spot.value),
            (
                2,
                Pos {
                    line: 6,
                    column: 37
                }
            )
        );
        let w = at(&[f("checks"), Seg::Index(1), f("where")]);
        assert_eq!(w.depth, 3);
        assert_eq!(w.spot.value.line, 7);
        assert_eq!(
            at(&[f("checks"), Seg::Index(0), f("where")])
                .spot
                .value
                .line,
            6
        );
        assert_eq!(at(&[f("odd key")]).spot.value.line, 9);
        // Not written: as far as it goes.
        let partial = at(&[f("checks"), Seg::Index(5), f("xep")]);
        assert_eq!((partial.depth, partial.spot.key.unwrap().line), (1, 5));
        assert!(locate(text, "profile_info", &[]).is_none());
        assert!(locate("feature_info = {", "feature_info", &[]).is_none());
        // A local table, and the last assignment wins.
        let text = "local feature_info = { name = 1 }\nfeature_info = {\n name = 2 }\n";
        assert_eq!(
            locate(text, "feature_info", &[f("name")])
                .unwrap()
                .spot
                .value
                .line,
            3
        );
    }
}
