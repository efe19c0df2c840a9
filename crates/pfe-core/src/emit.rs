//! The one place that turns text into Lua source. Everything pfe writes into
//! a Prosody config (or any other Lua file) goes through these functions, so
//! no user-controlled text can end a string or a comment early and become
//! code:
//!
//! * [`lua_string`]: a double-quoted literal; every control character is an
//!   escape, so the literal is always on one line and reads back unchanged.
//! * [`comment`]: a `-- ` line comment whose text can never start a new line
//!   (`\n`, `\r`, and every other control, format, bidi or line-separator
//!   character is written as a visible escape such as `\n` or `\u{2028}`).
//! * [`option_name`]: a bare option name, only when it is a Lua identifier
//!   that Prosody's config reader treats as an option (not a keyword, not one
//!   of its directives such as `Include`, not `_ENV` or an `ENV_` name);
//!   anything else is refused, never written.
//! * [`lua_key`]: a table key, bare when it is an identifier, `["..."]` otherwise.
//! * [`host_name`]: a `VirtualHost`/`Component` name, quoted; names Prosody
//!   could not load (empty, control or invisible characters, characters
//!   nameprep prohibits, mixed-direction text) are refused.
//! * [`reference`]: `Credential("x")`, `FileContents("f")`, `ENV_X`: parsed
//!   and re-emitted, never copied as text.

use std::fmt::Write as _;

use crate::value::Key;

/// Lua's reserved words: never a bare name.
const LUA_KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Names Prosody's config environment holds itself (configmanager.lua):
/// assigning one replaces a directive instead of setting an option.
const PROSODY_DIRECTIVES: &[&str] = &[
    "Host",
    "host",
    "VirtualHost",
    "Component",
    "component",
    "FileContents",
    "FileLine",
    "FileLines",
    "Credential",
    "Include",
    "include",
    "RunScript",
    "__currenthost",
];

/// Functions a reference (`Credential("x")` & co.) may call.
const REFERENCE_FUNCTIONS: &[&str] = &["Credential", "FileContents", "FileLine", "FileLines"];

/// Longest host name Prosody's nameprep accepts (it refuses 1024 bytes and more).
const MAX_HOST_BYTES: usize = 1023;

/// A double-quoted Lua string literal that Lua 5.1 to 5.4 read back as `s`.
/// Always one line of visible text: every control or invisible character
/// is an escape.
pub fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Three digits, so a following digit is never read as part of it.
            // Invisible characters (line separators, bidi controls) are written
            // as their UTF-8 bytes: the text stays visible, Lua reads the same bytes.
            c if is_invisible(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True for characters that must never appear raw in a comment or a message:
/// controls (C0, DEL, C1 incl. NEL), format characters (zero-width, bidi
/// embeddings and isolates, BOM, soft hyphen), line and paragraph separators,
/// and other characters that render as nothing.
pub fn is_invisible(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || matches!(
            u,
            0x00AD
                | 0x034F
                | 0x061C
                | 0x0600..=0x0605
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
        // Noncharacters and private use: nothing a reader can see.
        || (u & 0xFFFE) == 0xFFFE
        || (0xFDD0..=0xFDEF).contains(&u)
        || (0xE000..=0xF8FF).contains(&u)
        || u >= 0xF0000
}

/// `text` with every invisible character (see [`is_invisible`]) written as a
/// visible escape: `\n`, `\r`, `\t`, or `\u{feff}` (Rust's notation). The
/// result is one line of visible text; the same input always gives the same
/// output. Text with nothing to escape is returned as it is; otherwise
/// backslashes are doubled too, so the escapes are unambiguous. Every
/// message that repeats user text shows it through this.
pub fn visible(text: &str) -> String {
    if !text.chars().any(is_invisible) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            // Once anything is escaped, a backslash is too: `a\tb` is then
            // never mistaken for a tab.
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A Lua line comment holding `text`, without the trailing newline. The text
/// cannot end the comment: it is written with [`visible`], and the `-- `
/// prefix (with its space) means it can never open a `--[[` block comment.
pub fn comment(text: &str) -> String {
    if text.is_empty() {
        "--".to_string()
    } else {
        format!("-- {}", visible(text))
    }
}

/// True for names Lua accepts bare: `name = value`, `{ name = value }`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !LUA_KEYWORDS.contains(&s)
}

/// A table key: bare when it is an identifier, `["..."]` or `[n]` otherwise.
pub fn lua_key(k: &Key) -> String {
    match k {
        Key::Int(i) => format!("[{i}]"),
        Key::Str(s) if is_identifier(s) => s.clone(),
        Key::Str(s) => format!("[{}]", lua_string(s)),
    }
}

/// `name` as the left-hand side of an option assignment, or why it cannot be.
pub fn option_name(name: &str) -> Result<&str, String> {
    if LUA_KEYWORDS.contains(&name) {
        return Err(format!("'{name}' is a Lua keyword"));
    }
    if !is_identifier(name) {
        return Err(
            "an option name must be a Lua identifier (ASCII letters, digits and _, not starting with a digit)"
                .into(),
        );
    }
    if PROSODY_DIRECTIVES.contains(&name) {
        return Err(format!(
            "'{name}' is a directive of Prosody's config reader, not an option"
        ));
    }
    if name == "_ENV" || name == "Lua" || name.starts_with("ENV_") {
        return Err(format!(
            "'{name}' has a meaning of its own in Prosody's config reader"
        ));
    }
    Ok(name)
}

/// A `VirtualHost`/`Component` name as a quoted Lua string, or why Prosody
/// could not load it. Conservative: what is accepted, Prosody's nameprep
/// accepts too; some rare names it would accept are refused.
pub fn host_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("a host name cannot be empty".into());
    }
    if name.len() > MAX_HOST_BYTES {
        return Err(format!(
            "a host name is at most {MAX_HOST_BYTES} bytes, this one has {}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|&c| is_invisible(c) || c.is_whitespace()) {
        return Err(format!(
            "a host name cannot contain {} (whitespace, control or invisible characters)",
            visible(&c.to_string())
        ));
    }
    // Prosody compares host names after nameprep (RFC 3491); what it
    // refuses there (prohibited characters, mixed-direction text) it
    // cannot serve.
    if let Err(e) = stringprep::nameprep(name) {
        return Err(format!("Prosody's nameprep refuses it ({e})"));
    }
    Ok(lua_string(name))
}

/// Reads the body of a string literal written by Lua's `%q` (after the
/// opening quote); returns the text and the rest after the closing quote.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    '"' | '\\' | '\n' => out.push(e),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '0'..='9' => {
                        let mut n = e.to_digit(10)?;
                        for _ in 0..2 {
                            match chars.peek() {
                                Some(&(_, d)) if d.is_ascii_digit() => {
                                    n = n * 10 + d.to_digit(10)?;
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        // A byte above 127 would be half a UTF-8 sequence.
                        out.push(char::from_u32(n).filter(|c| c.is_ascii())?);
                    }
                    _ => return None,
                }
            }
            '\r' | '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

/// A reference Prosody resolves at start-up (`Credential("name")`,
/// `FileContents("file")`, `FileLine(..)`, `FileLines(..)`, `ENV_NAME`),
/// re-emitted from its parts; anything else is refused.
pub fn reference(expr: &str) -> Result<String, String> {
    let refuse = || {
        format!(
            "'{}' is not a reference pfe can write (Credential(\"name\"), FileContents(\"file\"), FileLine, FileLines or ENV_NAME)",
            visible(expr)
        )
    };
    if expr.starts_with("ENV_") {
        return if is_identifier(expr) {
            Ok(expr.to_string())
        } else {
            Err(refuse())
        };
    }
    let (func, rest) = expr.split_once("(\"").ok_or_else(refuse)?;
    if !REFERENCE_FUNCTIONS.contains(&func) {
        return Err(refuse());
    }
    let (arg, tail) = read_quoted(rest).ok_or_else(refuse)?;
    if tail != ")" {
        return Err(refuse());
    }
    Ok(format!("{func}({})", lua_string(&arg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `code` in a bare Lua state and returns the global `x`, if it is a string.
    fn lua_eval(code: &str) -> mlua::Result<Option<String>> {
        let lua = mlua::Lua::new();
        lua.load(code).exec()?;
        lua.globals().get("x")
    }

    #[test]
    fn strings_read_back_unchanged() {
        for s in [
            "plain",
            "a\"b\\c\nd\u{1}",
            "]]--[[",
            "\x001\r\n\t\u{7f}",
            "\u{2028}\u{85}é",
            "\\\n",
        ] {
            let code = format!("x = {}", lua_string(s));
            assert!(!code.chars().any(is_invisible), "{code}");
            assert_eq!(lua_eval(&code).unwrap().as_deref(), Some(s), "{code}");
        }
    }

    #[test]
    fn comments_never_end_early() {
        for text in [
            "x\nx = 1",
            "x\rx = 1",
            "x\u{85}x = 1",
            "x\u{2028}x\u{2029}",
            "]]\nx = 1 --[[",
            "[[\nx=1",
            "\u{202E}evil\u{2066}",
            "nul\0byte",
        ] {
            let c = comment(text);
            assert!(c.starts_with("-- "), "{c}");
            assert!(!c.chars().any(is_invisible), "{c:?}");
            // Followed by an assignment, the comment must not swallow or add code.
            let code = format!("{c}\nx = \"ok\"");
            assert_eq!(lua_eval(&code).unwrap().as_deref(), Some("ok"), "{code}");
        }
        assert_eq!(comment("a\nb"), "-- a\\nb");
        assert_eq!(comment("\u{2028}"), "-- \\u{2028}");
    }

    #[test]
    fn option_names_must_be_plain_identifiers() {
        assert!(option_name("c2s_ports").is_ok());
        for bad in [
            "end",
            "x = 1\nLua.os.execute('id')--",
            "",
            "2fa",
            "a-b",
            "VirtualHost",
            "Include",
            "__currenthost",
            "_ENV",
            "ENV_HOME",
            "Lua",
            "é",
        ] {
            assert!(option_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_names_are_quoted_or_refused() {
        assert_eq!(host_name("example.org").unwrap(), "\"example.org\"");
        assert_eq!(host_name("bücher.example").unwrap(), "\"bücher.example\"");
        for bad in [
            "",
            "a b",
            "a\nb",
            "a\u{2028}b",
            "a\u{200B}b",
            "\u{E000}",
            "a\u{05D0}",
        ] {
            assert!(host_name(bad).is_err(), "{bad:?}");
        }
        assert!(host_name(&"a".repeat(1024)).is_err());
        assert!(host_name("\u{05D0}\u{05D1}").is_ok());
    }

    #[test]
    fn references_are_rebuilt_not_copied() {
        assert_eq!(
            reference("Credential(\"db_password\")").unwrap(),
            "Credential(\"db_password\")"
        );
        assert_eq!(
            reference("FileContents(\"a\\\nb\\13\")").unwrap(),
            "FileContents(\"a\\nb\\r\")"
        );
        assert_eq!(reference("ENV_TURN_SECRET").unwrap(), "ENV_TURN_SECRET");
        for bad in [
            "ENV_X\nLua.os.execute('id')",
            "ENV_X or os.exit()",
            "Credential(\"a\") .. Lua.os.execute()",
            "Credential(\"a\"); Lua.os.execute()",
            "RunScript(\"x\")",
            "Credential(\"a)",
            "os.execute(\"x\")",
        ] {
            assert!(reference(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_use_the_bracket_form_unless_identifiers() {
        assert_eq!(lua_key(&Key::Str("rate".into())), "rate");
        assert_eq!(lua_key(&Key::Str("end".into())), "[\"end\"]");
        assert_eq!(lua_key(&Key::Str("a\nb".into())), "[\"a\\nb\"]");
        assert_eq!(lua_key(&Key::Int(3)), "[3]");
    }
}
