//! A small YAML emitter for the files pfe writes (compose files, Kubernetes
//! manifests): block style, comments, literal blocks for multi-line text,
//! and conservative quoting, so the output reads like hand-written YAML and
//! means the same to YAML 1.1 parsers (Kubernetes' sigs.k8s.io/yaml) and
//! YAML 1.2 parsers (compose-go, PyYAML, ruamel) alike.
//!
//! Only emission: pfe never parses YAML.

use std::fmt::Write as _;

use pfe_core::emit;

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    /// A number already formatted (e.g. `0.5`); emitted as written. Must
    /// be a plain decimal: digits with at most one `.`, optional leading `-`.
    Number(String),
    Str(String),
    /// A block sequence.
    Seq(Vec<Yaml>),
    /// A sequence written on one line, `["CMD", "pfe"]`: for short lists of
    /// scalars (strings are always double-quoted there).
    Flow(Vec<Yaml>),
    Map(Map),
}

/// A mapping that keeps insertion order; each entry may carry comment lines
/// written above it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Yaml,
    /// Comment lines (without `# `) above the entry.
    pub comment: Vec<String>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// Builder: append `key: value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Yaml>) -> Map {
        self.insert(key, value);
        self
    }

    /// Builder: append `key: value` under comment lines.
    pub fn with_comment(
        mut self,
        comment: &str,
        key: impl Into<String>,
        value: impl Into<Yaml>,
    ) -> Map {
        self.insert_commented(comment, key, value);
        self
    }

    /// Append `key: value`, or replace the value of an existing key in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Yaml>) {
        let key = key.into();
        let value = value.into();
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            e.value = value;
        } else {
            self.entries.push(Entry {
                key,
                value,
                comment: Vec::new(),
            });
        }
    }

    /// Append `key: value` under `comment` (split into lines).
    pub fn insert_commented(
        &mut self,
        comment: &str,
        key: impl Into<String>,
        value: impl Into<Yaml>,
    ) {
        self.insert(key, value);
        let e = self.entries.last_mut().expect("just inserted");
        e.comment = comment.lines().map(str::to_string).collect();
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Yaml> {
        self.entries
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.value)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl From<Map> for Yaml {
    fn from(m: Map) -> Yaml {
        Yaml::Map(m)
    }
}
impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_string())
    }
}
impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}
impl From<&String> for Yaml {
    fn from(s: &String) -> Yaml {
        Yaml::Str(s.clone())
    }
}
impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}
impl From<i64> for Yaml {
    fn from(i: i64) -> Yaml {
        Yaml::Int(i)
    }
}
impl From<u16> for Yaml {
    fn from(i: u16) -> Yaml {
        Yaml::Int(i64::from(i))
    }
}
impl From<u32> for Yaml {
    fn from(i: u32) -> Yaml {
        Yaml::Int(i64::from(i))
    }
}
impl<T: Into<Yaml>> From<Vec<T>> for Yaml {
    fn from(v: Vec<T>) -> Yaml {
        Yaml::Seq(v.into_iter().map(Into::into).collect())
    }
}

/// A block sequence of strings.
pub fn strings<I, S>(items: I) -> Yaml
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Yaml::Seq(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
}

/// A flow sequence of strings: `["a", "b"]`.
pub fn flow<I, S>(items: I) -> Yaml
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Yaml::Flow(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
}

/// Words that some YAML parser reads as something other than a string.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<",
];

/// Whether `s` can be written as a plain (unquoted) scalar in block context
/// and read back as the same string by YAML 1.1 and 1.2 parsers. Deliberately
/// conservative: anything that starts like a number, an indicator or a
/// special word is quoted.
pub fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_ascii_digit() {
        // Amounts with a unit ("30s", "256M", "5Gi") are strings in every
        // YAML version; letters that make numbers (1e3, 0x1F, 0o17, 0b1) are out.
        let letters = s.trim_start_matches(|c: char| c.is_ascii_digit());
        return !letters.is_empty()
            && letters.chars().all(|c| c.is_ascii_alphabetic())
            && !letters.contains(['e', 'E', 'x', 'X', 'o', 'O', 'b', 'B']);
    }
    if !(first.is_ascii_alphabetic() || first == '/' || first == '$' || first == '_') {
        return false;
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " _-./:@+,=()${}~%".contains(c))
}

/// A double-quoted scalar with escapes: always one line of visible text,
/// whatever `s` holds (control characters, NEL and the Unicode line
/// separators YAML 1.1 breaks lines at, bidi controls, BOM).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c == '\u{a0}' || emit::is_invisible(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Whether `s` (containing a newline) can be a literal block scalar: every
/// line printable, no tabs or spaces at line ends or starts that a parser
/// could take for indentation, no carriage returns.
fn literal_ok(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    if body.is_empty() {
        return false;
    }
    // The first line with text sets the block's indentation: it must not
    // start with a space (leading empty lines included).
    let first_text = body.split('\n').find(|l| !l.is_empty()).unwrap_or("");
    body.split('\n').all(|line| {
        !line.ends_with([' ', '\t'])
            && !line.starts_with('\t')
            && line.chars().all(|c| c == '\t' || !emit::is_invisible(c))
    }) && !first_text.starts_with(' ')
}

fn number_ok(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let mut parts = digits.split('.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    parts.next().is_none()
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn inline(node: &Yaml) -> Option<String> {
    Some(match node {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Number(n) => {
            assert!(number_ok(n), "Yaml::Number({n:?}) is not a plain decimal");
            n.clone()
        }
        Yaml::Str(s) if s.contains('\n') && literal_ok(s) => return None,
        Yaml::Str(s) => scalar(s),
        Yaml::Flow(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Yaml::Str(s) => quote(s),
                    Yaml::Seq(_) | Yaml::Map(_) | Yaml::Flow(_) => {
                        panic!("Yaml::Flow holds scalars only")
                    }
                    other => inline(other).expect("scalars are inline"),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Yaml::Seq(v) if v.is_empty() => "[]".into(),
        Yaml::Map(m) if m.is_empty() => "{}".into(),
        Yaml::Seq(_) | Yaml::Map(_) => return None,
    })
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Comment lines; each is written with every invisible character (a newline
/// inside a line included) as a visible escape, so it cannot end early.
fn comment_lines(out: &mut String, indent: usize, lines: &[String]) {
    for l in lines {
        pad(out, indent);
        if l.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(&emit::visible(l));
            out.push('\n');
        }
    }
}

/// `|`, `|-` or `|+` and the indented lines of a literal block.
fn literal(out: &mut String, indent: usize, s: &str) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    let body = s.trim_end_matches('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// Writes `value` after `prefix` ("key:" or "-") on the current line.
fn value_after(out: &mut String, indent: usize, value: &Yaml, in_seq: bool) {
    if let Some(text) = inline(value) {
        out.push(' ');
        out.push_str(&text);
        out.push('\n');
        return;
    }
    match value {
        Yaml::Str(s) => {
            out.push(' ');
            literal(out, indent + 2, s);
        }
        Yaml::Map(m) if in_seq && m.entries[0].comment.is_empty() => {
            // "- key: value" with the rest of the map aligned under "key".
            out.push(' ');
            map_body(out, indent + 2, m, true);
        }
        Yaml::Seq(v) if in_seq => {
            out.push(' ');
            seq_body(out, indent + 2, v, true);
        }
        Yaml::Map(m) => {
            out.push('\n');
            map_body(out, indent + 2, m, false);
        }
        Yaml::Seq(v) => {
            out.push('\n');
            seq_body(out, indent + 2, v, false);
        }
        _ => unreachable!("scalars are inline"),
    }
}

/// Longest key written as `key: value` (YAML allows 1024 characters).
const MAX_IMPLICIT_KEY: usize = 1000;

fn key_text(k: &str) -> String {
    let plain = is_plain_safe(k) && !k.contains(['{', '}', '$', ',', '(', ')']);
    if plain { k.to_string() } else { quote(k) }
}

/// The entries of `m` at `indent`; with `continues_line`, the first one is
/// written where the cursor is (after "- ").
fn map_body(out: &mut String, indent: usize, m: &Map, continues_line: bool) {
    for (i, e) in m.entries.iter().enumerate() {
        if !(i == 0 && continues_line) {
            comment_lines(out, indent, &e.comment);
            pad(out, indent);
        }
        let key = key_text(&e.key);
        if key.chars().count() > MAX_IMPLICIT_KEY {
            // YAML limits implicit keys to 1024 characters: say "? key" instead.
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
        } else {
            out.push_str(&key);
        }
        out.push(':');
        value_after(out, indent, &e.value, false);
    }
}

fn seq_body(out: &mut String, indent: usize, v: &[Yaml], continues_line: bool) {
    for (i, item) in v.iter().enumerate() {
        if !(i == 0 && continues_line) {
            pad(out, indent);
        }
        out.push('-');
        value_after(out, indent, item, true);
    }
}

/// A whole document: optional header comment lines, then `root`.
pub fn document(header: &[String], root: &Yaml) -> String {
    let mut out = String::new();
    comment_lines(&mut out, 0, header);
    match root {
        Yaml::Map(m) if !m.is_empty() => map_body(&mut out, 0, m, false),
        Yaml::Seq(v) if !v.is_empty() => seq_body(&mut out, 0, v, false),
        other => {
            let text = inline(other).unwrap_or_else(|| match other {
                Yaml::Str(s) => quote(s),
                _ => unreachable!(),
            });
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}

/// Several documents separated by `---`.
pub fn documents(docs: &[(Vec<String>, Yaml)]) -> String {
    let mut out = String::new();
    for (i, (header, root)) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&document(header, root));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<saphyr::Yaml<'static>> {
        use saphyr::LoadableYamlNode;
        let owned: &'static str = Box::leak(text.to_string().into_boxed_str());
        saphyr::Yaml::load_from_str(owned).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// The emitted text parses back to the same tree.
    fn round_trip(node: &Yaml) {
        let text = document(&["a header".into()], node);
        let docs = parse(&text);
        assert_eq!(docs.len(), 1, "{text}");
        assert_same(node, &docs[0], &text);
    }

    fn assert_same(node: &Yaml, parsed: &saphyr::Yaml, text: &str) {
        use saphyr::{Scalar, Yaml as Y};
        match (node, parsed) {
            (Yaml::Null, Y::Value(Scalar::Null)) => {}
            (Yaml::Bool(a), Y::Value(Scalar::Boolean(b))) => assert_eq!(a, b, "{text}"),
            (Yaml::Int(a), Y::Value(Scalar::Integer(b))) => assert_eq!(a, b, "{text}"),
            (Yaml::Number(a), Y::Value(Scalar::FloatingPoint(b))) => {
                assert_eq!(a.parse::<f64>().unwrap(), b.into_inner(), "{text}")
            }
            (Yaml::Number(a), Y::Value(Scalar::Integer(b))) => {
                assert_eq!(a.parse::<i64>().unwrap(), *b, "{text}")
            }
            (Yaml::Str(a), Y::Value(Scalar::String(b))) => assert_eq!(a, b, "{text}"),
            (Yaml::Seq(a) | Yaml::Flow(a), Y::Sequence(b)) => {
                assert_eq!(a.len(), b.len(), "{text}");
                for (x, y) in a.iter().zip(b) {
                    assert_same(x, y, text);
                }
            }
            (Yaml::Map(a), Y::Mapping(b)) => {
                assert_eq!(a.entries.len(), b.len(), "{text}");
                for (e, (k, v)) in a.entries.iter().zip(b.iter()) {
                    assert_eq!(k.as_str(), Some(e.key.as_str()), "{text}");
                    assert_same(&e.value, v, text);
                }
            }
            (a, b) => panic!("{a:?} came back as {b:?}\n{text}"),
        }
    }

    #[test]
    fn tricky_strings_survive() {
        let words = [
            "yes",
            "No",
            "on",
            "OFF",
            "true",
            "null",
            "~",
            "y",
            "n",
            "",
            " lead",
            "trail ",
            "1.0",
            "0755",
            "5222:5222",
            "22:22",
            "1e3",
            ".inf",
            "-x",
            "- x",
            "a: b",
            "a #b",
            "a:",
            "#x",
            "@x",
            "`x",
            "!x",
            "&x",
            "*x",
            "|x",
            ">x",
            "%x",
            "'x",
            "\"x",
            "[x",
            "{x",
            "x,y",
            "é",
            "tab\there",
            "cr\rhere",
            "bell\u{7}",
            "0x1F",
            "+1",
            "=",
            "${PROSODY_X:-default}",
            "(uid=$$user)",
            "no-new-privileges:true",
            "key: value",
            "C:\\path",
            "line\nbreak",
            "two\n\nblank\n",
            "end\n\n\n",
            " indented\nline",
            "trailing \nspace",
            "\nleading newline",
            "ok\n",
            "30s",
            "256M",
            "1E3",
            "0B1",
            "1h30m",
            "5Gi",
            "12:30",
            "a\n  b\n",
            // Hostile: must still be one scalar with exactly this text.
            "\n  x\ny",
            "\n\n  x: 1\n",
            "x\n---\ny: 1",
            "x\n...\n",
            "a\u{85}b: c",
            "a\u{2028}b: c",
            "a\u{2029}\n b",
            "c1\u{80}\u{9f}",
            "bom\u{feff}",
            "bidi\u{202e}\u{2066}",
            "nonchar\u{fffe}\u{ffff}",
            "nul\0",
            "# not a comment",
            "x # y",
            "x: y\nz: w",
            "- item",
            "? key",
            "&anchor *alias",
            "!!binary x",
            "%YAML 1.2",
            "]]--[[",
            "Lua.os.execute(\"id\")",
        ];
        for w in words {
            round_trip(&Yaml::Str(w.to_string()));
            round_trip(&Yaml::Map(Map::new().with(w, w)));
            round_trip(&Yaml::Seq(vec![Yaml::Str(w.into())]));
            round_trip(&Yaml::Flow(vec![Yaml::Str(w.into())]));
        }
    }

    #[test]
    fn comments_cannot_end_early() {
        let node: Yaml = Map::new()
            .with_comment("first\nsecond: injected", "a", "1x")
            .into();
        for line in [
            "Regenerate with: pfe k8s --set 'x=\"a\\\n  b: c #x\"'",
            "nel\u{85}x: 1",
            "ls\u{2028}x: 1",
            "cr\rx: 1",
        ] {
            let text = document(&[line.to_string()], &node);
            let docs = parse(&text);
            assert_eq!(docs.len(), 1, "{text}");
            assert_same(&node, &docs[0], &text);
            // The header stays one comment line, with nothing invisible in it.
            assert_eq!(
                text.lines().filter(|l| !l.starts_with('#')).count(),
                1,
                "{text}"
            );
            assert!(
                !text.chars().any(|c| c != '\n' && emit::is_invisible(c)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn long_keys_use_the_explicit_form() {
        let long = "k".repeat(2000);
        round_trip(&Yaml::Map(
            Map::new().with(long.as_str(), "v").with("b", 1i64),
        ));
        round_trip(&Yaml::Seq(vec![Map::new().with(long.as_str(), "v").into()]));
    }

    #[test]
    fn yaml_1_1_specials_are_quoted() {
        for w in [
            "yes", "no", "on", "off", "y", "n", "22:22", "0755", "1_000", "true",
        ] {
            assert!(!is_plain_safe(w), "{w}");
        }
        for w in [
            "prosody",
            "/var/lib/prosody",
            "${PROSODY_VERSION:-latest}",
            "prosody:latest",
        ] {
            assert!(is_plain_safe(w), "{w}");
        }
    }

    #[test]
    fn nested_structures_round_trip() {
        let node = Yaml::Map(
            Map::new()
                .with_comment("the services\nsecond line", "services", {
                    Map::new().with(
                        "prosody",
                        Map::new()
                            .with("image", "prosody:${PROSODY_VERSION:-latest}")
                            .with("ports", strings(["5222:5222", "5269:5269"]))
                            .with("test", flow(["CMD", "pfe", "healthcheck"]))
                            .with("empty_map", Map::new())
                            .with("empty_seq", Yaml::Seq(vec![]))
                            .with("n", Yaml::Null)
                            .with("b", true)
                            .with("i", 5222i64)
                            .with("f", Yaml::Number("0.5".into())),
                    )
                })
                .with(
                    "items",
                    Yaml::Seq(vec![
                        Map::new()
                            .with_comment("first key comment", "name", "c2s")
                            .with("port", 5222i64)
                            .into(),
                        Yaml::Seq(vec!["a".into(), Yaml::Seq(vec!["b".into()])]),
                        Map::new()
                            .with("nested", Map::new().with("deep", strings(["x"])))
                            .into(),
                        Map::new()
                            .with("config", "line one\n    indented\nline three\n")
                            .into(),
                        Yaml::Str("block\ntext".into()),
                    ]),
                ),
        );
        round_trip(&node);
    }

    #[test]
    fn layout_is_conventional() {
        let node = Yaml::Map(
            Map::new()
                .with(
                    "services",
                    Map::new().with(
                        "db",
                        Map::new().with("ports", strings(["5432:5432"])).with(
                            "volumes",
                            Yaml::Seq(vec![
                                Map::new()
                                    .with("type", "volume")
                                    .with("source", "data")
                                    .into(),
                            ]),
                        ),
                    ),
                )
                .with("text", "a\nb\n"),
        );
        let out = document(&["header".into()], &node);
        assert_eq!(
            out,
            "# header\nservices:\n  db:\n    ports:\n      - \"5432:5432\"\n    volumes:\n      - type: volume\n        source: data\ntext: |\n  a\n  b\n"
        );
        round_trip(&node);
    }

    #[test]
    fn multiple_documents() {
        let text = documents(&[
            (vec!["one".into()], Map::new().with("a", 1i64).into()),
            (vec![], Map::new().with("b", 2i64).into()),
        ]);
        assert_eq!(text, "# one\na: 1\n---\nb: 2\n");
        assert_eq!(parse(&text).len(), 2);
    }

    #[test]
    #[should_panic(expected = "not a plain decimal")]
    fn bad_numbers_are_a_bug() {
        document(
            &[],
            &Map::new().with("x", Yaml::Number("1e5".into())).into(),
        );
    }
}
