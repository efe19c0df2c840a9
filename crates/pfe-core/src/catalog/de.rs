//! serde over the tables a catalog file evaluated to ([`Value`]): the typed
//! definitions in `schema.rs` are deserialized from them, and the path of a
//! failure (`checks[2].where`) is kept so that its source position can be
//! found in the file (`position.rs`).

use std::fmt;

use serde::de::{
    self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor,
};

use crate::value::{Key, Value};

/// Why a metadata table does not fit its definition. `message` follows the
/// path of the value it is about (`must be a string, not an integer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    /// The error is about field `name` of the table at the path (unknown or
    /// missing), not about the table itself.
    pub field: Option<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    Unknown {
        name: String,
        expected: &'static [&'static str],
    },
    Missing {
        name: &'static str,
    },
}

impl DeError {
    fn wrong(v: &Value, expected: &str) -> DeError {
        de::Error::custom(format!("must be {expected}, not {}", kind_with_article(v)))
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            field: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!("must be {exp}, not {}", unexpected_text(&unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!("is {}; expected {exp}", unexpected_text(&unexp)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            message: format!("has no field `{field}`"),
            field: Some(FieldError::Unknown {
                name: field.to_string(),
                expected,
            }),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            message: "is missing".into(),
            field: Some(FieldError::Missing { name: field }),
        }
    }
}

/// `a string`, `an integer`, ... for messages.
pub fn kind_with_article(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a table",
        Value::Expr(_) => "a reference (ENV_*/Credential)",
        Value::Unknown(_) => "a value only known when Prosody runs",
    }
}

fn unexpected_text(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(_) => "a boolean".into(),
        Unexpected::Signed(i) => format!("the positional entry [{i}]"),
        Unexpected::Unsigned(_) => "an integer".into(),
        Unexpected::Float(_) => "a number".into(),
        Unexpected::Str(s) => format!("{s:?}"),
        Unexpected::Seq => "a list".into(),
        Unexpected::Map => "a table".into(),
        Unexpected::Other(o) => (*o).into(),
        other => other.to_string(),
    }
}

struct Seq<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.0.next().map(|v| seed.deserialize(v)).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (Key, Value)>,
    value: Option<&'a Value>,
}

impl<'a> Map<'a> {
    fn new(entries: &'a [(Key, Value)]) -> Self {
        Map {
            entries: entries.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        match k {
            Key::Str(s) => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(s))
                .map(Some),
            Key::Int(i) => seed.deserialize((*i).into_deserializer()).map(Some),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let v = self.value.take().expect("a value follows its key");
        seed.deserialize(v)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

const EMPTY: &[(Key, Value)] = &[];

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::List(l) => visitor.visit_seq(Seq(l.iter())),
            Value::Map(m) => visitor.visit_map(Map::new(m)),
            Value::Expr(_) | Value::Unknown(_) => Err(de::Error::invalid_type(
                Unexpected::Other(kind_with_article(self)),
                &visitor,
            )),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(DeError::wrong(other, "true or false")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Str(s) => visitor.visit_borrowed_str(s),
            other => Err(DeError::wrong(other, "a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // A nil field is absent: a present one is always Some.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::List(l) => visitor.visit_seq(Seq(l.iter())),
            other => Err(DeError::wrong(other, "a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Map(m) => visitor.visit_map(Map::new(m)),
            // `{}` evaluates to an empty list.
            Value::List(l) if l.is_empty() => visitor.visit_map(Map::new(EMPTY)),
            other => Err(DeError::wrong(other, "a table")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Value::Map(m) => {
                if let Some((Key::Int(i), _)) = m.iter().find(|(k, _)| matches!(k, Key::Int(_))) {
                    return Err(de::Error::custom(format!(
                        "has the positional entry [{i}]: every field needs a name (`name = value`)"
                    )));
                }
                visitor.visit_map(Map::new(m))
            }
            Value::List(l) if l.is_empty() => visitor.visit_map(Map::new(EMPTY)),
            Value::List(_) => Err(de::Error::custom(
                "must be a table of `name = value` fields, not a list",
            )),
            other => Err(DeError::wrong(other, "a table")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(DeError::wrong(other, "a string")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct
    }
}

/// A string, number or boolean, kept as text (`1.0`, `true`): profile
/// variables, resource sizes, a check's `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar(Value::Bool(b).display()))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Scalar, E> {
                Ok(Scalar(Value::Int(i).display()))
            }
            fn visit_u64<E>(self, i: u64) -> Result<Scalar, E> {
                Ok(Scalar(i.to_string()))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Scalar, E> {
                Ok(Scalar(Value::Float(f).display()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One step of the path to a value: a field or a (0-based) list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Field(String),
    Index(usize),
}

/// `checks[2].where` (indexes as Lua counts, from 1).
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Seg::Index(i) => out.push_str(&format!("[{}]", i + 1)),
        }
    }
    out
}

/// Deserializes `T` from `value`, or says where and why it does not fit.
pub fn from_value<'de, T: serde::Deserialize<'de>>(
    value: &'de Value,
) -> Result<T, (Vec<Seg>, DeError)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Field(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Field(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        (path, e.into_inner())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        name: String,
        #[serde(default)]
        list: Vec<String>,
        opt: Option<bool>,
        #[serde(default)]
        vars: std::collections::BTreeMap<String, Scalar>,
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key::Str(k.into()), v))
                .collect(),
        )
    }

    #[test]
    fn values_deserialize_and_failures_name_their_path() {
        let ok: T = from_value(&map(vec![
            ("name", s("n")),
            ("list", Value::List(vec![s("a"), s("b")])),
            ("vars", Value::List(vec![])),
        ]))
        .unwrap();
        assert_eq!(ok.list, ["a", "b"]);
        assert!(ok.vars.is_empty());
        let (path, e) = from_value::<T>(&map(vec![
            ("list", Value::List(vec![s("a"), Value::Int(3)])),
            ("name", s("n")),
        ]))
        .unwrap_err();
        assert_eq!(path_text(&path), "list[2]");
        assert_eq!(e.message, "must be a string, not an integer");
        let (path, e) =
            from_value::<T>(&map(vec![("name", s("n")), ("nmae", s("x"))])).unwrap_err();
        assert_eq!(path_text(&path), "nmae", "the key being read");
        assert!(matches!(e.field, Some(FieldError::Unknown { ref name, .. }) if name == "nmae"));
        let (_, e) = from_value::<T>(&map(vec![])).unwrap_err();
        assert_eq!(e.field, Some(FieldError::Missing { name: "name" }));
        let (path, e) = from_value::<T>(&map(vec![
            ("name", s("n")),
            ("vars", map(vec![("A", Value::List(vec![s("x")]))])),
        ]))
        .unwrap_err();
        assert_eq!(path_text(&path), "vars.A");
        assert_eq!(e.message, "must be a string, number or boolean, not a list");
        let vars: T = from_value(&map(vec![
            ("name", s("n")),
            (
                "vars",
                map(vec![("A", Value::Float(1.0)), ("B", Value::Bool(true))]),
            ),
        ]))
        .unwrap();
        assert_eq!(vars.vars["A"].0, "1.0");
        assert_eq!(vars.vars["B"].0, "true");
        // A positional entry among named fields.
        let (_, e) = from_value::<T>(&Value::Map(vec![
            (Key::Int(1), s("x")),
            (Key::Str("name".into()), s("n")),
        ]))
        .unwrap_err();
        assert!(e.message.contains("positional entry [1]"), "{}", e.message);
    }
}
