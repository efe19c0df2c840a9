//! Config values as pfe sees them once Lua has run: plain data, plus
//! references (`Credential("x")`, `ENV_X`) that are rendered, never resolved.

use std::fmt::Write as _;

/// A table key: Prosody options are mostly string-keyed maps or lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Keys sorted, so rendering is deterministic.
    Map(Vec<(Key, Value)>),
    /// A Lua expression kept as written, e.g. `Credential("db_password")`.
    Expr(String),
    /// A value pfe did not compute because it depends on something pfe does
    /// not run (`Lua.io`, `require`, Prosody's run-time tables): what it was.
    /// Only hand-written configs read in Prosody mode have these.
    Unknown(String),
}

impl Value {
    /// The kind of value in words, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "table",
            Value::Expr(_) => "reference",
            Value::Unknown(_) => "unknown value",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The strings of a list value (non-strings skipped).
    pub fn string_list(&self) -> Vec<String> {
        self.as_list()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Field `name` of a map value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
                Key::Str(s) if s == name => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// The value as a Lua literal on one line (short values) or indented
    /// over several lines (long lists and maps).
    pub fn to_lua(&self, indent: usize) -> String {
        let mut out = String::new();
        write_lua(self, indent, &mut out);
        out
    }

    /// A plain-text rendering for tables and messages: strings unquoted.
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.to_lua(0),
        }
    }

    /// Converts to JSON for `--json` outputs.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Key::Int(i) => i.to_string(),
                            Key::Str(s) => s.clone(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
            Value::Expr(e) => J::String(e.clone()),
            Value::Unknown(why) => serde_json::json!({ "$unknown": why }),
        }
    }
}

pub use crate::emit::{is_identifier, lua_string};

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "(0/0)".into()
    } else if f.is_infinite() {
        // Arithmetic, not `math.huge`: Prosody's config reader would have
        // to reach a Lua global for that.
        if f > 0.0 {
            "(1/0)".into()
        } else {
            "(-1/0)".into()
        }
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn is_short(v: &Value) -> bool {
    match v {
        Value::List(l) => l.len() <= 4 && l.iter().all(is_scalar) && v.to_lua_flat().len() <= 60,
        Value::Map(m) => {
            m.len() <= 3 && m.iter().all(|(_, v)| is_scalar(v)) && v.to_lua_flat().len() <= 60
        }
        _ => true,
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Map(_))
}

impl Value {
    fn to_lua_flat(&self) -> String {
        match self {
            Value::List(l) if l.is_empty() => "{}".into(),
            Value::List(l) => format!(
                "{{ {} }}",
                l.iter()
                    .map(|v| v.to_lua_flat())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(m) if m.is_empty() => "{}".into(),
            Value::Map(m) => format!(
                "{{ {} }}",
                m.iter()
                    .map(|(k, v)| format!("{} = {}", key_to_lua(k), v.to_lua_flat()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_lua(0),
        }
    }
}

fn key_to_lua(k: &Key) -> String {
    crate::emit::lua_key(k)
}

fn write_lua(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::Str(s) => out.push_str(&lua_string(s)),
        // A reference is rebuilt from its parts; one that cannot be (render
        // refuses those first) is written as an inert string, never as code.
        Value::Expr(e) => match crate::emit::reference(e) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&lua_string(e)),
        },
        // Never code: an unknown value is written as a comment-free `nil`.
        Value::Unknown(_) => out.push_str("nil"),
        Value::List(_) | Value::Map(_) if is_short(v) => out.push_str(&v.to_lua_flat()),
        Value::List(l) => {
            out.push_str("{\n");
            for item in l {
                pad(out, indent + 1);
                write_lua(item, indent + 1, out);
                out.push_str(";\n");
            }
            pad(out, indent);
            out.push('}');
        }
        Value::Map(m) => {
            out.push_str("{\n");
            for (k, item) in m {
                pad(out, indent + 1);
                out.push_str(&key_to_lua(k));
                out.push_str(" = ");
                write_lua(item, indent + 1, out);
                out.push_str(";\n");
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_for_lua() {
        assert_eq!(lua_string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\001""#);
    }

    #[test]
    fn short_tables_stay_on_one_line_long_ones_break() {
        let short = Value::List(vec![Value::Str("a".into()), Value::Int(2)]);
        assert_eq!(short.to_lua(0), r#"{ "a", 2 }"#);
        let long = Value::List((0..6).map(|i| Value::Str(format!("module{i}"))).collect());
        assert!(long.to_lua(0).starts_with("{\n    \"module0\";\n"));
        let map = Value::Map(vec![
            (
                Key::Str("c2s".into()),
                Value::Map(vec![(Key::Str("rate".into()), Value::Str("5kb/s".into()))]),
            ),
            (Key::Str("not an id".into()), Value::Bool(true)),
        ]);
        let text = map.to_lua(0);
        assert!(text.contains("c2s = { rate = \"5kb/s\" }"), "{text}");
        assert!(text.contains("[\"not an id\"] = true"), "{text}");
    }

    #[test]
    fn floats_render_as_lua_reads_them() {
        assert_eq!(Value::Float(1.0).to_lua(0), "1.0");
        assert_eq!(Value::Float(0.5).to_lua(0), "0.5");
    }

    #[test]
    fn identifiers_exclude_keywords() {
        assert!(is_identifier("c2s_ports"));
        assert!(!is_identifier("end"));
        assert!(!is_identifier("2fa"));
    }
}
