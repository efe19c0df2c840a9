//! The catalog: profiles, features, environments and variables as Lua files
//! under `config/`, built into the binary and overlaid by a user's tree.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use miette::Diagnostic;

use crate::sandbox::{Meta, Sandbox, SandboxError, Source};
use crate::value::Value;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CatalogError {
    #[error("unknown {kind} '{name}'{}", did_you_mean_text(.suggestion))]
    #[diagnostic(
        code(pfe::catalog::unknown),
        help("`pfe {list}` shows the {kind}s the catalog has")
    )]
    Unknown {
        kind: &'static str,
        name: String,
        suggestion: Option<String>,
        list: &'static str,
    },
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(
        code(pfe::catalog::io),
        help("check that the file exists and is readable UTF-8 text")
    )]
    Io { path: String, reason: String },
    #[error("{path}:{line}: {message}")]
    #[diagnostic(code(pfe::catalog::metadata))]
    Metadata {
        path: String,
        line: usize,
        message: String,
        #[help]
        help: Option<String>,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lua(#[from] SandboxError),
}

fn did_you_mean_text(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stability {
    Stable,
    Beta,
    Alpha,
}

impl Stability {
    pub fn parse(s: &str) -> Option<Stability> {
        match s {
            "stable" | "production-ready" => Some(Stability::Stable),
            "beta" => Some(Stability::Beta),
            "alpha" | "experimental" => Some(Stability::Alpha),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Stable => "stable",
            Stability::Beta => "beta",
            Stability::Alpha => "alpha",
        }
    }
}

/// Where `pfe check` looks for a promise (`checks.where`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckLocation {
    StreamPreTls,
    StreamPreAuth,
    StreamPostAuth,
    Sasl2Inline,
    ServerDisco,
    AccountDisco,
    ComponentDisco,
    Extdisco,
    Http,
    /// The resolved config's security promises; never written in a catalog.
    Security,
    None,
}

impl CheckLocation {
    /// The values a catalog may write in `checks.where`.
    pub const CATALOG: [CheckLocation; 10] = [
        CheckLocation::StreamPreTls,
        CheckLocation::StreamPreAuth,
        CheckLocation::StreamPostAuth,
        CheckLocation::Sasl2Inline,
        CheckLocation::ServerDisco,
        CheckLocation::AccountDisco,
        CheckLocation::ComponentDisco,
        CheckLocation::Extdisco,
        CheckLocation::Http,
        CheckLocation::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckLocation::StreamPreTls => "stream_pre_tls",
            CheckLocation::StreamPreAuth => "stream_pre_auth",
            CheckLocation::StreamPostAuth => "stream_post_auth",
            CheckLocation::Sasl2Inline => "sasl2_inline",
            CheckLocation::ServerDisco => "server_disco",
            CheckLocation::AccountDisco => "account_disco",
            CheckLocation::ComponentDisco => "component_disco",
            CheckLocation::Extdisco => "extdisco",
            CheckLocation::Http => "http",
            CheckLocation::Security => "security",
            CheckLocation::None => "none",
        }
    }

    /// A `checks.where` of the catalog (`security` is pfe's own).
    pub fn from_catalog(s: &str) -> Option<CheckLocation> {
        CheckLocation::CATALOG.into_iter().find(|l| l.as_str() == s)
    }
}

/// Serialized as written in `checks.where`.
impl serde::Serialize for CheckLocation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Compares with the name written in `checks.where`.
impl PartialEq<&str> for CheckLocation {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for CheckLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a `where = "http"` check asks (`checks.probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpProbe {
    Get,
    WebSocket,
    Bosh,
    HostMeta,
    Upload,
}

impl HttpProbe {
    pub const ALL: [HttpProbe; 5] = [
        HttpProbe::Get,
        HttpProbe::WebSocket,
        HttpProbe::Bosh,
        HttpProbe::HostMeta,
        HttpProbe::Upload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HttpProbe::Get => "get",
            HttpProbe::WebSocket => "websocket",
            HttpProbe::Bosh => "bosh",
            HttpProbe::HostMeta => "host-meta",
            HttpProbe::Upload => "upload",
        }
    }

    pub fn parse(s: &str) -> Option<HttpProbe> {
        HttpProbe::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for HttpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `where = "http"` check requests: the probe and the path
/// (`/` by default), both checked when the catalog loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub probe: HttpProbe,
    pub path: String,
}

/// How `pfe check` finds one XEP on a live server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub xep: String,
    #[serde(rename = "where")]
    pub location: CheckLocation,
    /// Set exactly when `location` is `Http` (its `probe` and `path` are
    /// also in `extra`, as written).
    #[serde(skip)]
    pub http: Option<HttpCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Other fields (category, type, path, status, why...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FeatureInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub xeps: Vec<String>,
    pub stability: Stability,
    pub dependencies: Vec<String>,
    pub conflicts: Vec<String>,
    pub modules: Vec<String>,
    pub toggles: Vec<String>,
    pub checks: Vec<Check>,
    pub path: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Resources {
    pub memory: Option<String>,
    pub cpu: Option<String>,
    pub storage: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProfileInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub target_users: Option<String>,
    pub stability: Option<String>,
    pub resources: Resources,
    pub features: Vec<String>,
    pub optional_features: Vec<String>,
    pub variables: BTreeMap<String, String>,
    /// A profile whose defaults are applied before this one's.
    pub extends: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvironmentInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Feature stabilities allowed without `--allow-unstable`.
    pub allow_stability: Vec<Stability>,
    pub registration_open: Option<bool>,
    pub variables: BTreeMap<String, String>,
    /// An environment applied before this one, whose variables it inherits.
    pub extends: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
    pub description: String,
    pub group: String,
    pub secret: bool,
}

/// The merged catalog: built-in files overlaid by the user's tree.
#[derive(Debug, Clone)]
pub struct Catalog {
    files: BTreeMap<String, Source>,
    user_dir: Option<PathBuf>,
    /// Metadata tables that do not depend on variables or `pfe.*`, by file:
    /// `pfe validate` builds many pairs and reads each file's once.
    metadata_cache: Arc<Mutex<HashMap<String, Meta>>>,
}

const PROFILE_FILE: &str = "profile.cfg.lua";
const SUFFIX: &str = ".cfg.lua";

impl Catalog {
    /// A file's metadata tables, from the cache when they are the same in
    /// every build.
    fn metadata(&self, sb: &Sandbox, src: &Source) -> Result<Meta, CatalogError> {
        if let Some(meta) = self.metadata_cache.lock().expect("cache lock").get(&src.id) {
            return Ok(meta.clone());
        }
        let (meta, pure) = sb.eval_metadata(src)?;
        if !meta.is_empty() && meta.keys().all(|k| pure.contains(k)) {
            self.metadata_cache
                .lock()
                .expect("cache lock")
                .insert(src.id.clone(), meta.clone());
        }
        Ok(meta)
    }

    /// The catalog built into pfe.
    pub fn builtin() -> Catalog {
        let files = builtin::BUILTIN_FILES
            .iter()
            .map(|(rel, text)| {
                (
                    rel.to_string(),
                    Source {
                        id: rel.to_string(),
                        path: format!("config/{rel}"),
                        text: text.to_string(),
                    },
                )
            })
            .collect();
        Catalog {
            files,
            user_dir: None,
            metadata_cache: Arc::default(),
        }
    }

    /// The built-in catalog with `dir` laid over it: same path replaces, new
    /// paths add.
    pub fn load(user_dir: Option<&Path>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::builtin();
        if let Some(dir) = user_dir {
            if !dir.is_dir() {
                return Err(CatalogError::Io {
                    path: dir.display().to_string(),
                    reason:
                        "not a directory (set --config-dir or PFE_CONFIG_DIR to a catalog tree)"
                            .into(),
                });
            }
            let mut found = Vec::new();
            walk(dir, dir, &mut Vec::new(), &mut found)?;
            let mut total = 0u64;
            for rel in found {
                let path = dir.join(&rel);
                let text =
                    crate::fsutil::read_bounded_text(&path, crate::fsutil::Kind::CatalogFile)
                        .map_err(|e| CatalogError::Io {
                            path: path.display().to_string(),
                            reason: e.reason(),
                        })?;
                total += text.len() as u64;
                if total > MAX_TREE_BYTES {
                    return Err(CatalogError::Io {
                        path: dir.display().to_string(),
                        reason: format!(
                            "the catalog files add up to more than {} (reached at {})",
                            crate::fsutil::size_text(MAX_TREE_BYTES),
                            path.display()
                        ),
                    });
                }
                catalog.files.insert(
                    rel.clone(),
                    Source {
                        id: rel,
                        path: path.display().to_string(),
                        text,
                    },
                );
            }
            catalog.user_dir = Some(dir.to_path_buf());
        }
        Ok(catalog)
    }

    pub fn user_dir(&self) -> Option<&Path> {
        self.user_dir.as_deref()
    }

    pub fn file(&self, id: &str) -> Option<&Source> {
        self.files.get(id)
    }

    pub fn is_builtin(&self, id: &str) -> bool {
        self.files
            .get(id)
            .is_some_and(|s| s.path == format!("config/{id}"))
    }

    pub fn profiles(&self) -> Vec<String> {
        self.files
            .keys()
            .filter_map(|k| {
                k.strip_prefix("profiles/")?
                    .strip_suffix(&format!("/{PROFILE_FILE}"))
            })
            .filter(|name| !name.contains('/'))
            .map(str::to_owned)
            .collect()
    }

    pub fn features(&self) -> Vec<String> {
        self.files
            .keys()
            .filter_map(|k| k.strip_prefix("features/")?.strip_suffix(SUFFIX))
            .filter(|name| name.matches('/').count() == 1)
            .map(str::to_owned)
            .collect()
    }

    pub fn environments(&self) -> Vec<String> {
        self.files
            .keys()
            .filter_map(|k| k.strip_prefix("environments/")?.strip_suffix(SUFFIX))
            .filter(|name| !name.contains('/'))
            .map(str::to_owned)
            .collect()
    }

    /// `core/*.cfg.lua` in file-name order.
    pub fn core_files(&self) -> Vec<&Source> {
        self.files
            .iter()
            .filter(|(k, _)| {
                k.starts_with("core/") && k.ends_with(SUFFIX) && k.matches('/').count() == 1
            })
            .map(|(_, s)| s)
            .collect()
    }

    pub fn local_file(&self) -> Option<&Source> {
        self.files.get("local.cfg.lua")
    }

    fn named(
        &self,
        kind: &'static str,
        list: &'static str,
        name: &str,
        id: String,
        all: Vec<String>,
    ) -> Result<&Source, CatalogError> {
        self.files.get(&id).ok_or_else(|| CatalogError::Unknown {
            kind,
            name: name.to_string(),
            suggestion: crate::suggest::did_you_mean(name, all.iter().map(String::as_str)),
            list,
        })
    }

    pub fn profile_file(&self, name: &str) -> Result<&Source, CatalogError> {
        self.named(
            "profile",
            "list",
            name,
            format!("profiles/{name}/{PROFILE_FILE}"),
            self.profiles(),
        )
    }

    pub fn feature_file(&self, name: &str) -> Result<&Source, CatalogError> {
        self.named(
            "feature",
            "features",
            name,
            format!("features/{name}{SUFFIX}"),
            self.features(),
        )
    }

    pub fn environment_file(&self, name: &str) -> Result<&Source, CatalogError> {
        self.named(
            "environment",
            "list",
            name,
            format!("environments/{name}{SUFFIX}"),
            self.environments(),
        )
    }

    /// Reads one feature's `feature_info`.
    pub fn feature_info(&self, sb: &Sandbox, name: &str) -> Result<FeatureInfo, CatalogError> {
        let src = self.feature_file(name)?;
        let meta = self.metadata(sb, src)?;
        FeatureInfo::from_meta(name, src, &meta)
    }

    /// Reads every feature's `feature_info`.
    pub fn feature_infos(
        &self,
        sb: &Sandbox,
    ) -> Result<BTreeMap<String, FeatureInfo>, CatalogError> {
        let mut out = BTreeMap::new();
        for name in self.features() {
            let src = self.feature_file(&name)?;
            let meta = self.metadata(sb, src)?;
            out.insert(name.clone(), FeatureInfo::from_meta(&name, src, &meta)?);
        }
        Ok(out)
    }

    pub fn profile_info(&self, sb: &Sandbox, name: &str) -> Result<ProfileInfo, CatalogError> {
        let src = self.profile_file(name)?;
        let meta = self.metadata(sb, src)?;
        ProfileInfo::from_meta(name, src, &meta)
    }

    pub fn environment_info(
        &self,
        sb: &Sandbox,
        name: &str,
    ) -> Result<EnvironmentInfo, CatalogError> {
        let src = self.environment_file(name)?;
        let meta = self.metadata(sb, src)?;
        EnvironmentInfo::from_meta(name, src, &meta)
    }

    /// The catalog's list of PROSODY_* variables.
    pub fn variables(&self, sb: &Sandbox) -> Result<Vec<Variable>, CatalogError> {
        let Some(src) = self.files.get("variables.cfg.lua") else {
            return Ok(Vec::new());
        };
        let meta = self.metadata(sb, src)?;
        let reader = Fields {
            src,
            table: "variables",
        };
        let Some(list) = meta.get("variables") else {
            return Err(reader.error(
                "variables",
                "the file must set `variables = { { name = ..., description = ... }, ... }`",
            ));
        };
        let Value::List(items) = list else {
            return Err(reader.error("variables", "`variables` must be a list of tables"));
        };
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for item in items {
            let name = reader.string(item, "name")?;
            if !seen.insert(name.clone()) {
                return Err(reader.error(&name, &format!("variable {name} is listed twice")));
            }
            out.push(Variable {
                default: reader.opt_scalar(item, "default")?,
                description: reader.string(item, "description")?,
                group: reader
                    .opt_string(item, "group")?
                    .unwrap_or_else(|| "other".into()),
                secret: reader.opt_bool(item, "secret")?.unwrap_or(false),
                name,
            });
        }
        Ok(out)
    }
}

/// At most this many `.cfg.lua` files in a `--config-dir` tree.
pub const MAX_TREE_FILES: usize = 10_000;
/// At most this many bytes in all the files of a `--config-dir` tree (each
/// file is also held to [`crate::fsutil::Kind::CatalogFile`]'s limit).
pub const MAX_TREE_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many directory levels below a `--config-dir`.
pub const MAX_TREE_DEPTH: usize = 32;

/// Identity of a directory (device, inode), following links.
fn dir_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Lists the `.cfg.lua` files below `dir` (relative to `base`), following
/// links but refusing a link back to a directory being walked, and bounded
/// in depth and number of files.
fn walk(
    dir: &Path,
    base: &Path,
    ancestors: &mut Vec<(PathBuf, Option<(u64, u64)>)>,
    out: &mut Vec<String>,
) -> Result<(), CatalogError> {
    let fail = |path: &Path, reason: String| CatalogError::Io {
        path: path.display().to_string(),
        reason,
    };
    let io = |e: std::io::Error| fail(dir, e.to_string());
    if ancestors.len() > MAX_TREE_DEPTH {
        return Err(fail(
            dir,
            format!("the catalog tree is more than {MAX_TREE_DEPTH} directories deep"),
        ));
    }
    let id = dir_id(dir);
    if let Some((first, _)) = ancestors.iter().find(|(_, a)| id.is_some() && *a == id) {
        return Err(fail(
            dir,
            format!(
                "a link loops back to {}: the catalog tree contains itself",
                first.display()
            ),
        ));
    }
    ancestors.push((dir.to_path_buf(), id));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, base, ancestors, out)?;
        } else if path.to_string_lossy().ends_with(SUFFIX) {
            if out.len() >= MAX_TREE_FILES {
                return Err(fail(
                    base,
                    format!("the catalog tree has more than {MAX_TREE_FILES} {SUFFIX} files"),
                ));
            }
            let rel = path
                .strip_prefix(base)
                .expect("walked below base")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(rel);
        }
    }
    ancestors.pop();
    Ok(())
}

/// Typed access to a metadata table, with errors that name the file and the
/// line where the field is written.
struct Fields<'a> {
    src: &'a Source,
    table: &'static str,
}

impl Fields<'_> {
    fn line_of(&self, field: &str) -> usize {
        let lines: Vec<&str> = self.src.text.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.contains(self.table))
            .unwrap_or(0);
        lines
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, l)| l.contains(field))
            .map(|(i, _)| i + 1)
            .unwrap_or(start + 1)
    }

    fn error(&self, field: &str, message: &str) -> CatalogError {
        CatalogError::Metadata {
            path: self.src.path.clone(),
            line: self.line_of(field),
            message: message.to_string(),
            help: Some(format!(
                "see docs/catalog.md for the fields of {}",
                self.table
            )),
        }
    }

    /// The line of `field = "value"` (the first one after the table's
    /// start), else that of the field.
    fn line_of_value(&self, field: &str, value: &str) -> usize {
        let quoted = format!("\"{value}\"");
        let start = self.line_of(self.table) - 1;
        self.src
            .text
            .lines()
            .enumerate()
            .skip(start)
            .find(|(_, l)| l.contains(field) && l.contains(&quoted))
            .map(|(i, _)| i + 1)
            .unwrap_or_else(|| self.line_of(field))
    }

    fn error_at_value(
        &self,
        field: &str,
        value: &str,
        message: String,
        help: String,
    ) -> CatalogError {
        CatalogError::Metadata {
            path: self.src.path.clone(),
            line: self.line_of_value(field, value),
            message,
            help: Some(help),
        }
    }

    /// `where`, and for `where = "http"` its `probe` and `path`, of one
    /// entry of `checks`.
    fn check_location(
        &self,
        item: &Value,
    ) -> Result<(CheckLocation, Option<HttpCheck>), CatalogError> {
        let table = self.table;
        let raw = self.string(item, "where")?;
        let Some(location) = CheckLocation::from_catalog(&raw) else {
            return Err(self.error_at_value(
                "where",
                &raw,
                format!("{table}.checks: unknown where = \"{raw}\""),
                format!(
                    "where is one of: {} (see docs/catalog.md)",
                    CheckLocation::CATALOG.map(CheckLocation::as_str).join(", ")
                ),
            ));
        };
        let probe = self.opt_string(item, "probe")?;
        let path = self.opt_string(item, "path")?;
        if location != CheckLocation::Http {
            if let Some((field, value)) = probe
                .as_ref()
                .map(|p| ("probe", p))
                .or(path.as_ref().map(|p| ("path", p)))
            {
                return Err(self.error_at_value(
                    field,
                    value,
                    format!(
                        "{table}.checks: {field} applies only to where = \"http\", not \"{raw}\""
                    ),
                    format!("drop {field}, or set where = \"http\""),
                ));
            }
            return Ok((location, None));
        }
        let probe = match probe {
            None => HttpProbe::Get,
            Some(p) => HttpProbe::parse(&p).ok_or_else(|| {
                self.error_at_value(
                    "probe",
                    &p,
                    format!("{table}.checks: unknown probe = \"{p}\""),
                    format!(
                        "probe is one of: {} (see docs/catalog.md)",
                        HttpProbe::ALL.map(HttpProbe::as_str).join(", ")
                    ),
                )
            })?,
        };
        let path = path.unwrap_or_else(|| "/".into());
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(self.error_at_value(
                "path",
                &path,
                format!("{table}.checks: path = {path:?} is not an absolute request path"),
                "write the path the way it goes on the request line: it starts with / and has no spaces, e.g. \"/http-bind\"".into(),
            ));
        }
        Ok((location, Some(HttpCheck { probe, path })))
    }

    fn opt_string(&self, t: &Value, field: &str) -> Result<Option<String>, CatalogError> {
        match t.get(field) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.error(
                field,
                &format!(
                    "{}.{field} must be a string, not a {}",
                    self.table,
                    other.kind()
                ),
            )),
        }
    }

    fn string(&self, t: &Value, field: &str) -> Result<String, CatalogError> {
        self.opt_string(t, field)?.ok_or_else(|| {
            self.error(
                field,
                &format!("{}.{field} is missing (a string)", self.table),
            )
        })
    }

    fn opt_scalar(&self, t: &Value, field: &str) -> Result<Option<String>, CatalogError> {
        match t.get(field) {
            None => Ok(None),
            Some(v @ (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_))) => {
                Ok(Some(v.display()))
            }
            Some(other) => Err(self.error(
                field,
                &format!(
                    "{}.{field} must be a string, number or boolean, not a {}",
                    self.table,
                    other.kind()
                ),
            )),
        }
    }

    fn opt_bool(&self, t: &Value, field: &str) -> Result<Option<bool>, CatalogError> {
        match t.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.error(
                field,
                &format!(
                    "{}.{field} must be true or false, not a {}",
                    self.table,
                    other.kind()
                ),
            )),
        }
    }

    fn strings(&self, t: &Value, field: &str) -> Result<Vec<String>, CatalogError> {
        match t.get(field) {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(self.error(
                        field,
                        &format!(
                            "{}.{field} must list strings, found a {}",
                            self.table,
                            other.kind()
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(self.error(
                field,
                &format!(
                    "{}.{field} must be a list of strings, not a {}",
                    self.table,
                    other.kind()
                ),
            )),
        }
    }

    fn string_map(&self, t: &Value, field: &str) -> Result<BTreeMap<String, String>, CatalogError> {
        match t.get(field) {
            None => Ok(BTreeMap::new()),
            Some(Value::Map(entries)) => entries
                .iter()
                .map(|(k, v)| match (k, v) {
                    (
                        crate::value::Key::Str(k),
                        v @ (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)),
                    ) => Ok((k.clone(), v.display())),
                    _ => Err(self.error(
                        field,
                        &format!("{}.{field} must map variable names to strings", self.table),
                    )),
                })
                .collect(),
            Some(Value::List(l)) if l.is_empty() => Ok(BTreeMap::new()),
            Some(other) => Err(self.error(
                field,
                &format!(
                    "{}.{field} must be a table of NAME = \"value\", not a {}",
                    self.table,
                    other.kind()
                ),
            )),
        }
    }

    fn stability(
        &self,
        t: &Value,
        field: &str,
        default: Stability,
    ) -> Result<Stability, CatalogError> {
        match self.opt_string(t, field)? {
            None => Ok(default),
            Some(s) => Stability::parse(&s).ok_or_else(|| {
                self.error(
                    field,
                    &format!("{}.{field} is '{s}'; use stable, beta or alpha", self.table),
                )
            }),
        }
    }
}

fn meta_table<'a>(
    meta: &'a Meta,
    src: &Source,
    table: &'static str,
) -> Result<&'a Value, CatalogError> {
    match meta.get(table) {
        Some(v @ Value::Map(_)) => Ok(v),
        Some(other) => Err(Fields { src, table }.error(
            table,
            &format!("{table} must be a table, not a {}", other.kind()),
        )),
        None => Err(CatalogError::Metadata {
            path: src.path.clone(),
            line: 1,
            message: format!("the file does not set {table}"),
            help: Some(format!(
                "add `{table} = {{ name = ..., description = ..., ... }}` (see docs/catalog.md)"
            )),
        }),
    }
}

/// The variable that switches feature `id` without being listed:
/// PROSODY_FEATURES_<CATEGORY>_<NAME>.
pub fn implicit_toggle(id: &str) -> String {
    format!(
        "PROSODY_FEATURES_{}",
        id.replace(['/', '-'], "_").to_uppercase()
    )
}

impl FeatureInfo {
    pub fn from_meta(id: &str, src: &Source, meta: &Meta) -> Result<FeatureInfo, CatalogError> {
        let t = meta_table(meta, src, "feature_info")?;
        let f = Fields {
            src,
            table: "feature_info",
        };
        let mut checks = Vec::new();
        if let Some(list) = t.get("checks") {
            let Value::List(items) = list else {
                return Err(f.error("checks", "feature_info.checks must be a list of tables"));
            };
            for item in items {
                let mut extra = BTreeMap::new();
                if let Value::Map(entries) = item {
                    for (k, v) in entries {
                        if let crate::value::Key::Str(k) = k
                            && !matches!(k.as_str(), "xep" | "where" | "var" | "module")
                        {
                            extra.insert(k.clone(), v.display());
                        }
                    }
                }
                let xep = f.string(item, "xep")?;
                let (location, http) = f.check_location(item)?;
                checks.push(Check {
                    xep,
                    location,
                    http,
                    var: f.opt_string(item, "var")?,
                    module: f.opt_string(item, "module")?,
                    extra,
                });
            }
        }
        Ok(FeatureInfo {
            id: id.to_string(),
            name: f.opt_string(t, "name")?.unwrap_or_else(|| id.to_string()),
            description: f.opt_string(t, "description")?.unwrap_or_default(),
            xeps: f.strings(t, "xeps")?,
            stability: f.stability(t, "stability", Stability::Stable)?,
            dependencies: f.strings(t, "dependencies")?,
            conflicts: f.strings(t, "conflicts")?,
            modules: f.strings(t, "modules")?,
            toggles: f.strings(t, "toggles")?,
            checks,
            path: src.path.clone(),
        })
    }

    /// The variable that switches this feature without being listed:
    /// PROSODY_FEATURES_<CATEGORY>_<NAME>.
    pub fn implicit_toggle(&self) -> String {
        implicit_toggle(&self.id)
    }

    pub fn all_toggles(&self) -> Vec<String> {
        let mut all = vec![self.implicit_toggle()];
        for t in &self.toggles {
            if !all.contains(t) {
                all.push(t.clone());
            }
        }
        all
    }
}

impl ProfileInfo {
    pub fn from_meta(id: &str, src: &Source, meta: &Meta) -> Result<ProfileInfo, CatalogError> {
        let t = meta_table(meta, src, "profile_info")?;
        let f = Fields {
            src,
            table: "profile_info",
        };
        let resources = match t.get("resource_requirements") {
            Some(r @ Value::Map(_)) => Resources {
                memory: f.opt_scalar(r, "memory")?,
                cpu: f.opt_scalar(r, "cpu")?,
                storage: f.opt_scalar(r, "storage")?,
            },
            None => Resources::default(),
            Some(other) => {
                return Err(f.error(
                    "resource_requirements",
                    &format!(
                        "profile_info.resource_requirements must be a table, not a {}",
                        other.kind()
                    ),
                ));
            }
        };
        Ok(ProfileInfo {
            id: id.to_string(),
            name: f.opt_string(t, "name")?.unwrap_or_else(|| id.to_string()),
            description: f.opt_string(t, "description")?.unwrap_or_default(),
            target_users: f.opt_scalar(t, "target_users")?,
            stability: f.opt_string(t, "stability")?,
            resources,
            features: f.strings(t, "features")?,
            optional_features: f.strings(t, "optional_features")?,
            variables: f.string_map(t, "variables")?,
            extends: f.opt_string(t, "extends")?,
            path: src.path.clone(),
        })
    }
}

/// Why `pfe create` made no profile.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CreateError {
    #[error("'{name}' is not a valid profile name")]
    #[diagnostic(
        code(pfe::create::name),
        help("use letters, digits, '-' and '_' only (no path separators, no '..')")
    )]
    InvalidName { name: String },
    #[error("profile '{name}' already exists")]
    #[diagnostic(
        code(pfe::create::exists),
        help("choose another name, or edit its profile.cfg.lua")
    )]
    Exists { name: String },
    #[error("cannot create {path}: {reason}")]
    #[diagnostic(code(pfe::create::io), help("check that the directory is writable"))]
    Io { path: String, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] crate::fsutil::WriteError),
}

/// A profile name `pfe create` accepts: a plain directory name.
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Catalog {
    /// Writes `<dir>/profiles/<name>/profile.cfg.lua`, a new profile that
    /// extends `template`; refuses bad names and names the catalog has.
    /// Returns the file written.
    pub fn create_profile(
        &self,
        sb: &Sandbox,
        dir: &Path,
        name: &str,
        template: &str,
        description: Option<&str>,
    ) -> Result<PathBuf, CreateError> {
        if !valid_profile_name(name) {
            return Err(CreateError::InvalidName { name: name.into() });
        }
        if self.profiles().iter().any(|p| p == name) {
            return Err(CreateError::Exists { name: name.into() });
        }
        let info = self.profile_info(sb, template)?;
        let text = new_profile_text(name, &info, description);
        let target = dir.join("profiles").join(name);
        std::fs::create_dir_all(&target).map_err(|e| CreateError::Io {
            path: target.display().to_string(),
            reason: e.to_string(),
        })?;
        let path = target.join("profile.cfg.lua");
        crate::fsutil::write_atomic(&path, text.as_bytes(), None, false)?;
        Ok(path)
    }
}

/// The text of a new profile made from `template`: the template's metadata
/// written out as data, with `extends` so its defaults still apply.
pub fn new_profile_text(name: &str, template: &ProfileInfo, description: Option<&str>) -> String {
    use crate::emit::{comment, lua_string};
    use crate::value::Key;
    let strs = |v: &[String]| Value::List(v.iter().map(|s| Value::Str(s.clone())).collect());
    let mut entries = vec![
        (Key::Str("name".into()), Value::Str(name.into())),
        (
            Key::Str("description".into()),
            Value::Str(
                description
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("Custom profile based on {}", template.id)),
            ),
        ),
        (Key::Str("extends".into()), Value::Str(template.id.clone())),
        (Key::Str("features".into()), strs(&template.features)),
        (
            Key::Str("optional_features".into()),
            strs(&template.optional_features),
        ),
    ];
    if let Some(t) = &template.target_users {
        entries.push((Key::Str("target_users".into()), Value::Str(t.clone())));
    }
    if let Some(s) = &template.stability {
        entries.push((Key::Str("stability".into()), Value::Str(s.clone())));
    }
    let r = &template.resources;
    let res: Vec<(Key, Value)> = [
        ("cpu", &r.cpu),
        ("memory", &r.memory),
        ("storage", &r.storage),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| (Key::Str(k.into()), Value::Str(v.clone())))
    })
    .collect();
    if !res.is_empty() {
        entries.push((Key::Str("resource_requirements".into()), Value::Map(res)));
    }
    if !template.variables.is_empty() {
        let vars = template
            .variables
            .iter()
            .map(|(k, v)| (Key::Str(k.clone()), Value::Str(v.clone())))
            .collect();
        entries.push((Key::Str("variables".into()), Value::Map(vars)));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    format!(
        "{}\n{}\n\n\
         profile_info = {}\n\n\
         -- Profile defaults, e.g.:\n\
         -- archive_expires_after = \"6m\"\n",
        comment(&format!(
            "Profile {} created by `pfe create {name} {}`.",
            lua_string(name),
            template.id
        )),
        comment(&format!(
            "The defaults of profile {} apply first (extends); set options below to override them.",
            lua_string(&template.id)
        )),
        Value::Map(entries).to_lua(0)
    )
}

impl EnvironmentInfo {
    pub fn from_meta(id: &str, src: &Source, meta: &Meta) -> Result<EnvironmentInfo, CatalogError> {
        let all = vec![Stability::Stable, Stability::Beta, Stability::Alpha];
        let Some(t) = meta.get("environment_info") else {
            // environment_info is optional: the seed's production file has none.
            return Ok(EnvironmentInfo {
                id: id.to_string(),
                name: id.to_string(),
                description: String::new(),
                allow_stability: all,
                registration_open: None,
                variables: BTreeMap::new(),
                extends: None,
                path: src.path.clone(),
            });
        };
        let f = Fields {
            src,
            table: "environment_info",
        };
        let allow = match t.get("allow_stability") {
            None => all,
            Some(_) => f
                .strings(t, "allow_stability")?
                .iter()
                .map(|s| Stability::parse(s).ok_or_else(|| f.error("allow_stability", &format!("unknown stability '{s}' in allow_stability; use stable, beta or alpha"))))
                .collect::<Result<_, _>>()?,
        };
        Ok(EnvironmentInfo {
            id: id.to_string(),
            name: f.opt_string(t, "name")?.unwrap_or_else(|| id.to_string()),
            description: f.opt_string(t, "description")?.unwrap_or_default(),
            allow_stability: allow,
            registration_open: f.opt_bool(t, "registration_open")?,
            variables: f.string_map(t, "variables")?,
            extends: f.opt_string(t, "extends")?,
            path: src.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_too_deep_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for i in 0..=MAX_TREE_DEPTH {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.cfg.lua"), "x = 1\n").unwrap();
        let Err(e) = Catalog::load(Some(dir.path())) else {
            panic!("expected the tree to be refused")
        };
        assert!(e.to_string().contains("directories deep"), "{e}");
        // One level less is fine.
        let shallow = deep.parent().unwrap();
        std::fs::write(shallow.join("x.cfg.lua"), "x = 1\n").unwrap();
        std::fs::remove_dir_all(&deep).unwrap();
        assert!(Catalog::load(Some(dir.path())).is_ok());
    }

    fn feature(text: &str) -> Result<FeatureInfo, CatalogError> {
        let sb = crate::sandbox::Sandbox::new(
            std::collections::HashMap::new(),
            &crate::sandbox::Context::default(),
        )
        .unwrap();
        let src = Source {
            id: "features/x/y.cfg.lua".into(),
            path: "features/x/y.cfg.lua".into(),
            text: text.into(),
        };
        let meta = sb.eval_isolated(&src).unwrap();
        FeatureInfo::from_meta("x/y", &src, &meta)
    }

    fn metadata_error(text: &str) -> (usize, String, String) {
        match feature(text) {
            Err(CatalogError::Metadata {
                path,
                line,
                message,
                help,
            }) => {
                assert_eq!(path, "features/x/y.cfg.lua");
                (line, message, help.unwrap_or_default())
            }
            other => panic!("expected a metadata error, got {other:?}"),
        }
    }

    #[test]
    fn check_locations_and_probes_are_typed_when_the_catalog_loads() {
        let ok = feature(
            r#"feature_info = { name = "Y", checks = {
    { xep = "XEP-0199", where = "server_disco", var = "urn:xmpp:ping" },
    { xep = "XEP-0206", where = "http", probe = "bosh", path = "/http-bind" },
    { xep = "XEP-0156", where = "http", path = "/.well-known/host-meta", probe = "host-meta" },
    { xep = "XEP-0025", where = "http" },
} }"#,
        )
        .unwrap();
        let c = &ok.checks;
        assert_eq!(c[0].location, CheckLocation::ServerDisco);
        assert_eq!(c[0].http, None);
        assert_eq!(c[1].location, CheckLocation::Http);
        assert_eq!(
            c[1].http,
            Some(HttpCheck {
                probe: HttpProbe::Bosh,
                path: "/http-bind".into()
            })
        );
        assert_eq!(c[2].http.as_ref().unwrap().probe, HttpProbe::HostMeta);
        // Defaults: GET /.
        assert_eq!(
            c[3].http,
            Some(HttpCheck {
                probe: HttpProbe::Get,
                path: "/".into()
            })
        );
        // Serialized as written.
        let json = serde_json::to_value(&c[0]).unwrap();
        assert_eq!(json["where"], "server_disco");
        for l in CheckLocation::CATALOG {
            assert_eq!(CheckLocation::from_catalog(l.as_str()), Some(l));
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }

        // A typo in `where` names the line of the bad entry and the choices.
        let (line, message, help) = metadata_error(
            r#"feature_info = { name = "Y", checks = {
    { xep = "XEP-0199", where = "server_disco", var = "urn:xmpp:ping" },
    { xep = "XEP-0030", where = "server_disko", var = "d" },
} }"#,
        );
        assert_eq!(line, 3, "{message}");
        assert!(
            message.contains(r#"unknown where = "server_disko""#),
            "{message}"
        );
        assert!(help.contains("server_disco"), "{help}");
        // `security` is pfe's own location, not the catalog's.
        let (_, message, _) = metadata_error(
            r#"feature_info = { checks = { { xep = "RFC 6120", where = "security" } } }"#,
        );
        assert!(message.contains("unknown where"), "{message}");
        // Unknown probe.
        let (line, message, help) = metadata_error(
            "feature_info = {\n checks = {\n  { xep = \"XEP-0124\", where = \"http\", probe = \"boss\" },\n },\n}",
        );
        assert_eq!(line, 3);
        assert!(message.contains(r#"unknown probe = "boss""#), "{message}");
        assert!(help.contains("websocket"), "{help}");
        // A path that cannot go on a request line.
        let (_, message, _) = metadata_error(
            r#"feature_info = { checks = { { xep = "XEP-0124", where = "http", path = "http-bind" } } }"#,
        );
        assert!(
            message.contains("not an absolute request path"),
            "{message}"
        );
        let (_, message, _) = metadata_error(
            r#"feature_info = { checks = { { xep = "XEP-0124", where = "http", path = "/a b" } } }"#,
        );
        assert!(
            message.contains("not an absolute request path"),
            "{message}"
        );
        // probe/path mean nothing elsewhere.
        let (_, message, _) = metadata_error(
            r#"feature_info = { checks = { { xep = "XEP-0124", where = "none", probe = "bosh" } } }"#,
        );
        assert!(
            message.contains(r#"probe applies only to where = "http""#),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_back_up_the_tree_is_refused_but_a_link_across_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("features/a")).unwrap();
        std::fs::write(d.join("features/a/x.cfg.lua"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink(d.join("features/a"), d.join("features/b")).unwrap();
        let catalog = Catalog::load(Some(d)).unwrap();
        assert!(catalog.file("features/b/x.cfg.lua").is_some());
        std::os::unix::fs::symlink(d.join("features"), d.join("features/a/up")).unwrap();
        let Err(e) = Catalog::load(Some(d)) else {
            panic!("expected the tree to be refused")
        };
        assert!(e.to_string().contains("loops back"), "{e}");
    }
}
