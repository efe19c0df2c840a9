//! The metadata tables of catalog files as typed definitions (see
//! docs/catalog.md), deserialized from what the file evaluated to. A field
//! that does not fit is reported with the file:line where it is written,
//! found from a parse of the file (`position.rs`), never from a text search.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::de::{self, DeError, FieldError, Scalar, Seg, path_text};
use super::position;
use super::{
    CatalogError, Check, CheckLocation, EnvironmentInfo, FeatureInfo, HttpCheck, HttpProbe,
    ProfileInfo, Resources, Stability, Variable,
};
use crate::sandbox::{Meta, Source};
use crate::value::Value;

/// `feature_info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureDef {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub xeps: Vec<String>,
    pub stability: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<String>,
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(default)]
    pub toggles: Vec<String>,
    #[serde(default)]
    pub checks: Vec<CheckDef>,
}

/// One entry of `feature_info.checks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    pub xep: String,
    #[serde(rename = "where")]
    pub location: String,
    pub var: Option<String>,
    pub module: Option<String>,
    /// `where = "http"`: how to ask, and what.
    pub probe: Option<String>,
    pub path: Option<String>,
    pub status: Option<Scalar>,
    /// `where = "component_disco"` (and `extdisco`): the identity.
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A promise only when this global option is true.
    pub when: Option<String>,
    /// `where = "none"`: why it cannot be checked.
    pub why: Option<String>,
}

/// `profile_info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDef {
    pub name: Option<String>,
    pub description: Option<String>,
    pub target_users: Option<Scalar>,
    pub stability: Option<String>,
    pub resource_requirements: Option<ResourcesDef>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub optional_features: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, Scalar>,
    pub extends: Option<String>,
}

/// `profile_info.resource_requirements`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesDef {
    pub memory: Option<Scalar>,
    pub cpu: Option<Scalar>,
    pub storage: Option<Scalar>,
}

/// `environment_info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentDef {
    pub name: Option<String>,
    pub description: Option<String>,
    pub allow_stability: Option<Vec<String>>,
    pub registration_open: Option<bool>,
    pub public: Option<bool>,
    #[serde(default)]
    pub variables: BTreeMap<String, Scalar>,
    pub extends: Option<String>,
}

/// One entry of `variables` (config/variables.cfg.lua).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDef {
    pub name: String,
    pub default: Option<Scalar>,
    pub description: String,
    pub group: Option<String>,
    pub secret: Option<bool>,
}

/// Errors about one metadata table of one file.
struct Table<'a> {
    src: &'a Source,
    name: &'static str,
}

impl Table<'_> {
    /// `feature_info.checks[2].where`.
    fn named(&self, path: &[Seg]) -> String {
        match path.first() {
            None => self.name.to_string(),
            Some(Seg::Index(_)) => format!("{}{}", self.name, path_text(path)),
            Some(Seg::Field(_)) => format!("{}.{}", self.name, path_text(path)),
        }
    }

    /// The line of the value at `path` (of its key with `key`), or of the
    /// nearest enclosing one written in the file; 1 when the table is not
    /// assigned at the top level of the file.
    fn line(&self, path: &[Seg], key: bool) -> usize {
        match position::locate(&self.src.text, self.name, path) {
            Some(found) if found.depth == path.len() && key => {
                found.spot.key.unwrap_or(found.spot.value).line
            }
            Some(found) => found.spot.value.line,
            None => 1,
        }
    }

    fn error(
        &self,
        path: &[Seg],
        key: bool,
        message: String,
        help: Option<String>,
    ) -> CatalogError {
        CatalogError::Metadata {
            path: self.src.path.clone(),
            line: self.line(path, key),
            message,
            help: Some(
                help.unwrap_or_else(|| {
                    format!("see docs/catalog.md for the fields of {}", self.name)
                }),
            ),
        }
    }

    fn de_error(&self, (mut path, e): (Vec<Seg>, DeError)) -> CatalogError {
        match e.field {
            Some(FieldError::Missing { name }) => {
                let message = format!("{}.{name} is missing", self.named(&path));
                self.error(&path, false, message, None)
            }
            Some(FieldError::Unknown { name, expected }) => {
                // The path may already hold the key being read.
                if path.last() == Some(&Seg::Field(name.clone())) {
                    path.pop();
                }
                let message = format!("{}: unknown field `{name}`", self.named(&path));
                let help = format!(
                    "the fields of {} are: {} (see docs/catalog.md)",
                    self.named(&path),
                    expected.join(", ")
                );
                path.push(Seg::Field(name));
                self.error(&path, true, message, Some(help))
            }
            None => {
                let message = format!("{} {}", self.named(&path), e.message);
                self.error(&path, false, message, None)
            }
        }
    }

    fn parse<'v, T: Deserialize<'v>>(&self, value: &'v Value) -> Result<T, CatalogError> {
        de::from_value(value).map_err(|e| self.de_error(e))
    }
}

fn field(name: &str) -> Seg {
    Seg::Field(name.to_string())
}

fn scalar(s: Option<Scalar>) -> Option<String> {
    s.map(|s| s.0)
}

fn string_map(m: BTreeMap<String, Scalar>) -> BTreeMap<String, String> {
    m.into_iter().map(|(k, v)| (k, v.0)).collect()
}

/// The table `name` a file must set.
fn required<'a>(
    meta: &'a Meta,
    src: &Source,
    name: &'static str,
) -> Result<&'a Value, CatalogError> {
    meta.get(name).ok_or_else(|| CatalogError::Metadata {
        path: src.path.clone(),
        line: 1,
        message: format!("the file does not set {name}"),
        help: Some(format!(
            "add `{name} = {{ name = ..., description = ..., ... }}` (see docs/catalog.md)"
        )),
    })
}

pub fn feature(id: &str, src: &Source, meta: &Meta) -> Result<FeatureInfo, CatalogError> {
    let t = Table {
        src,
        name: "feature_info",
    };
    let def: FeatureDef = t.parse(required(meta, src, t.name)?)?;
    let stability = match &def.stability {
        None => Stability::Stable,
        Some(s) => Stability::parse(s).ok_or_else(|| {
            t.error(
                &[field("stability")],
                false,
                format!("feature_info.stability is '{s}'; use stable, beta or alpha"),
                None,
            )
        })?,
    };
    let checks = def
        .checks
        .into_iter()
        .enumerate()
        .map(|(i, c)| check(&t, i, c))
        .collect::<Result<_, _>>()?;
    Ok(FeatureInfo {
        id: id.to_string(),
        name: def.name.unwrap_or_else(|| id.to_string()),
        description: def.description.unwrap_or_default(),
        xeps: def.xeps,
        stability,
        dependencies: def.dependencies,
        conflicts: def.conflicts,
        modules: def.modules,
        toggles: def.toggles,
        checks,
        path: src.path.clone(),
    })
}

/// Types one check: `where`, and for `where = "http"` its `probe` and `path`.
fn check(t: &Table, index: usize, c: CheckDef) -> Result<Check, CatalogError> {
    let at = |name: &str| [field("checks"), Seg::Index(index), field(name)];
    let raw = &c.location;
    let Some(location) = CheckLocation::from_catalog(raw) else {
        return Err(t.error(
            &at("where"),
            false,
            format!("feature_info.checks: unknown where = \"{raw}\""),
            Some(format!(
                "where is one of: {} (see docs/catalog.md)",
                CheckLocation::CATALOG.map(CheckLocation::as_str).join(", ")
            )),
        ));
    };
    let http = if location != CheckLocation::Http {
        if let Some(name) = [("probe", &c.probe), ("path", &c.path)]
            .into_iter()
            .find_map(|(name, v)| v.as_ref().map(|_| name))
        {
            return Err(t.error(
                &at(name),
                false,
                format!(
                    "feature_info.checks: {name} applies only to where = \"http\", not \"{raw}\""
                ),
                Some(format!("drop {name}, or set where = \"http\"")),
            ));
        }
        None
    } else {
        let probe = match &c.probe {
            None => HttpProbe::Get,
            Some(p) => HttpProbe::parse(p).ok_or_else(|| {
                t.error(
                    &at("probe"),
                    false,
                    format!("feature_info.checks: unknown probe = \"{p}\""),
                    Some(format!(
                        "probe is one of: {} (see docs/catalog.md)",
                        HttpProbe::ALL.map(HttpProbe::as_str).join(", ")
                    )),
                )
            })?,
        };
        let path = c.path.clone().unwrap_or_else(|| "/".into());
        if !path.starts_with('/') || path.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
            return Err(t.error(
                &at("path"),
                false,
                format!("feature_info.checks: path = {path:?} is not an absolute request path"),
                Some("write the path the way it goes on the request line: it starts with / and has no spaces, e.g. \"/http-bind\"".into()),
            ));
        }
        Some(HttpCheck { probe, path })
    };
    let extra = [
        ("probe", c.probe),
        ("path", c.path),
        ("status", scalar(c.status)),
        ("category", c.category),
        ("type", c.kind),
        ("when", c.when),
        ("why", c.why),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect();
    Ok(Check {
        xep: c.xep,
        location,
        http,
        var: c.var,
        module: c.module,
        extra,
    })
}

pub fn profile(id: &str, src: &Source, meta: &Meta) -> Result<ProfileInfo, CatalogError> {
    let t = Table {
        src,
        name: "profile_info",
    };
    let def: ProfileDef = t.parse(required(meta, src, t.name)?)?;
    let resources = def
        .resource_requirements
        .map(|r| Resources {
            memory: scalar(r.memory),
            cpu: scalar(r.cpu),
            storage: scalar(r.storage),
        })
        .unwrap_or_default();
    Ok(ProfileInfo {
        id: id.to_string(),
        name: def.name.unwrap_or_else(|| id.to_string()),
        description: def.description.unwrap_or_default(),
        target_users: scalar(def.target_users),
        stability: def.stability,
        resources,
        features: def.features,
        optional_features: def.optional_features,
        variables: string_map(def.variables),
        extends: def.extends,
        path: src.path.clone(),
    })
}

pub fn environment(id: &str, src: &Source, meta: &Meta) -> Result<EnvironmentInfo, CatalogError> {
    let all = vec![Stability::Stable, Stability::Beta, Stability::Alpha];
    let t = Table {
        src,
        name: "environment_info",
    };
    // environment_info is optional: the seed's production file has none.
    let Some(value) = meta.get(t.name) else {
        return Ok(EnvironmentInfo {
            id: id.to_string(),
            name: id.to_string(),
            description: String::new(),
            allow_stability: all,
            registration_open: None,
            public: false,
            variables: BTreeMap::new(),
            extends: None,
            path: src.path.clone(),
        });
    };
    let def: EnvironmentDef = t.parse(value)?;
    let allow_stability = match def.allow_stability {
        None => all,
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Stability::parse(s).ok_or_else(|| {
                    t.error(
                        &[field("allow_stability"), Seg::Index(i)],
                        false,
                        format!(
                            "unknown stability '{s}' in allow_stability; use stable, beta or alpha"
                        ),
                        None,
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(EnvironmentInfo {
        id: id.to_string(),
        name: def.name.unwrap_or_else(|| id.to_string()),
        description: def.description.unwrap_or_default(),
        allow_stability,
        registration_open: def.registration_open,
        public: def.public.unwrap_or(false),
        variables: string_map(def.variables),
        extends: def.extends,
        path: src.path.clone(),
    })
}

pub fn variables(src: &Source, meta: &Meta) -> Result<Vec<Variable>, CatalogError> {
    let t = Table {
        src,
        name: "variables",
    };
    let Some(value) = meta.get(t.name) else {
        return Err(t.error(
            &[],
            false,
            "the file must set `variables = { { name = ..., description = ... }, ... }`".into(),
            None,
        ));
    };
    let defs: Vec<VariableDef> = t.parse(value)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, d) in defs.into_iter().enumerate() {
        if !seen.insert(d.name.clone()) {
            return Err(t.error(
                &[Seg::Index(i), field("name")],
                false,
                format!("variable {} is listed twice", d.name),
                None,
            ));
        }
        out.push(Variable {
            default: scalar(d.default),
            description: d.description,
            group: d.group.unwrap_or_else(|| "other".into()),
            secret: d.secret.unwrap_or(false),
            name: d.name,
        });
    }
    Ok(out)
}
