//! The catalog: profiles, features, environments and variables as Lua files
//! under `config/`, built into the binary and overlaid by a user's tree.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use miette::Diagnostic;

use crate::sandbox::{Meta, Sandbox, SandboxError, Source};
use crate::value::Value;

mod de;
pub mod position;
pub mod schema;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));
}

/// The metadata tables of built-in files, evaluated by build.rs with the
/// sandbox (pure tables only: see [`Catalog::metadata`]).
mod builtin_metadata {
    include!(concat!(env!("OUT_DIR"), "/builtin_metadata.rs"));
}

/// The metadata build.rs evaluated for the built-in file `id`, when every
/// table it sets is pure (the same in every build). Files of a
/// `--config-dir` never use it.
pub fn precomputed_metadata(id: &str) -> Option<Meta> {
    builtin_metadata::BUILTIN_METADATA
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, build)| build())
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
    /// A service for the public (`public = true`): `pfe check` warns when
    /// no abuse contact (XEP-0157) is published and wants https/wss for
    /// every URL the server hands out.
    pub public: bool,
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
    /// The files that come from `user_dir` (new or replacing a built-in one).
    user_files: BTreeSet<String>,
    /// Metadata tables that do not depend on variables or `pfe.*`, by file:
    /// `pfe validate` builds many pairs and reads each file's once.
    metadata_cache: Arc<Mutex<HashMap<String, Meta>>>,
}

const PROFILE_FILE: &str = "profile.cfg.lua";
const SUFFIX: &str = ".cfg.lua";

impl Catalog {
    /// A file's metadata tables: for a built-in file whose tables are pure,
    /// what build.rs evaluated; else from the cache when they are the same
    /// in every build; else evaluated now.
    fn metadata(&self, sb: &Sandbox, src: &Source) -> Result<Meta, CatalogError> {
        if self.is_builtin(&src.id)
            && let Some(meta) = precomputed_metadata(&src.id)
        {
            return Ok(meta);
        }
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
            user_files: BTreeSet::new(),
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
                catalog.user_files.insert(rel.clone());
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

    /// Whether file `id` is the built-in one (no `--config-dir` file
    /// replaces it).
    pub fn is_builtin(&self, id: &str) -> bool {
        self.files.contains_key(id) && !self.user_files.contains(id)
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
        schema::variables(src, &meta)
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
        schema::feature(id, src, meta)
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
        schema::profile(id, src, meta)
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
        schema::environment(id, src, meta)
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

    fn meta_of(text: &str) -> (Source, Meta) {
        let sb = crate::sandbox::Sandbox::new(
            std::collections::HashMap::new(),
            &crate::sandbox::Context::default(),
        )
        .unwrap();
        let src = Source {
            id: "t.cfg.lua".into(),
            path: "t.cfg.lua".into(),
            text: text.into(),
        };
        let meta = sb.eval_isolated(&src).unwrap();
        (src, meta)
    }

    fn line_and_message(r: Result<impl std::fmt::Debug, CatalogError>) -> (usize, String) {
        match r {
            Err(CatalogError::Metadata { line, message, .. }) => (line, message),
            other => panic!("expected a metadata error, got {other:?}"),
        }
    }

    /// Lines come from a parse of the file: a field name that also appears
    /// in a comment, in a string or in an earlier entry does not mislead.
    #[test]
    fn errors_name_the_exact_line_of_the_field() {
        // `name` in a comment and in the description above the bad value.
        let (line, message, _) = metadata_error(
            "-- name: what users see\nfeature_info = {\n    description = \"its name\",\n    name = 42,\n}\n",
        );
        assert_eq!(line, 4, "{message}");
        assert_eq!(
            message,
            "feature_info.name must be a string, not an integer"
        );
        // The second entry's xep, not the first's.
        let (line, message, _) = metadata_error(
            "feature_info = {\n checks = {\n  { xep = \"XEP-0199\", where = \"server_disco\" },\n  { where = \"none\",\n    xep = { \"XEP-0030\" } },\n },\n}\n",
        );
        assert_eq!(line, 5, "{message}");
        assert_eq!(
            message,
            "feature_info.checks[2].xep must be a string, not a list"
        );
        // Two entries on one line, the bad one second; the value the old
        // search looked for also sits in a comment above.
        let (line, message, _) = metadata_error(
            "-- where = \"server_disko\" was a typo\nfeature_info = { checks = {\n  { xep = \"A\", where = \"none\" }, { xep = \"B\",\n  where = \"server_disko\" } } }\n",
        );
        assert_eq!(line, 4, "{message}");
        // A missing field: the line where its entry starts.
        let (line, message, _) = metadata_error(
            "feature_info = {\n checks = {\n  { xep = \"A\", where = \"none\" },\n  { where = \"none\" },\n },\n}\n",
        );
        assert_eq!(
            (line, message.as_str()),
            (4, "feature_info.checks[2].xep is missing")
        );
        // An unknown field: the line of its key.
        let (line, message, _) = metadata_error(
            "feature_info = {\n    name = \"Y\",\n    dependencys = { \"messaging/core\" },\n}\n",
        );
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("unknown field `dependencys`"), "{message}");
        // A list item of the wrong kind.
        let (line, message, _) = metadata_error(
            "feature_info = {\n    xeps = {\n        \"XEP-0001\",\n        7,\n    },\n}\n",
        );
        assert_eq!(
            (line, message.as_str()),
            (4, "feature_info.xeps[2] must be a string, not an integer")
        );

        // Nested profile fields; `memory` also appears in the description.
        let (src, meta) = meta_of(
            "profile_info = {\n    description = \"low memory\",\n    resource_requirements = {\n        cpu = \"1\",\n        memory = { 256 },\n    },\n}\n",
        );
        let (line, message) = line_and_message(ProfileInfo::from_meta("p", &src, &meta));
        assert_eq!(line, 5, "{message}");
        assert_eq!(
            message,
            "profile_info.resource_requirements.memory must be a string, number or boolean, not a list"
        );
        // A stability that is not one: the line of its value.
        let (src, meta) = meta_of(
            "environment_info = {\n    description = \"beta testers\",\n    allow_stability = { \"stable\",\n        \"betta\" },\n}\n",
        );
        let (line, message) = line_and_message(EnvironmentInfo::from_meta("e", &src, &meta));
        assert_eq!(line, 4, "{message}");
        assert!(message.contains("unknown stability 'betta'"), "{message}");
        // A variable listed twice: the second listing, not the first.
        let (src, meta) = meta_of(
            "variables = {\n  { name = \"PROSODY_A\", description = \"a\" },\n  { name = \"PROSODY_B\", description = \"b\" },\n  { description = \"again\", name = \"PROSODY_A\" },\n}\n",
        );
        let (line, message) = line_and_message(schema::variables(&src, &meta));
        assert_eq!(line, 4, "{message}");
        assert_eq!(message, "variable PROSODY_A is listed twice");
        // A table built at run time has no constructor to walk: the line of
        // the assignment.
        let (line, message, _) = metadata_error("local t = {}\nt.name = 5\nfeature_info = t\n");
        assert_eq!(
            (line, message.as_str()),
            (3, "feature_info.name must be a string, not an integer")
        );
    }

    /// Every field the built-in catalog writes is in the definitions
    /// (`deny_unknown_fields` refuses nothing valid).
    #[test]
    fn the_builtin_catalog_fits_its_definitions() {
        let catalog = Catalog::builtin();
        let sb = crate::sandbox::Sandbox::new(
            std::collections::HashMap::new(),
            &crate::sandbox::Context {
                domain: "localhost".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(catalog.variables(&sb).unwrap().len() > 50);
        // Feature files check the variables they read: give them defaults.
        let env = catalog
            .variables(&sb)
            .unwrap()
            .into_iter()
            .filter_map(|v| Some((v.name, v.default?)))
            .collect();
        sb.set_env(env);
        assert!(catalog.feature_infos(&sb).unwrap().len() > 20);
        for p in catalog.profiles() {
            catalog.profile_info(&sb, &p).unwrap();
        }
        for e in catalog.environments() {
            catalog.environment_info(&sb, &e).unwrap();
        }
    }

    /// A sandbox whose files see the catalog's defaults plus `extra`.
    fn sandbox_with(ctx: &crate::sandbox::Context, extra: &[(&str, &str)]) -> Sandbox {
        let sb = Sandbox::new(HashMap::new(), ctx).unwrap();
        let mut env: HashMap<String, String> = Catalog::builtin()
            .variables(&sb)
            .unwrap()
            .into_iter()
            .filter_map(|v| Some((v.name, v.default?)))
            .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        sb.set_env(env);
        sb
    }

    /// What build.rs evaluated is what the sandbox evaluates now, for every
    /// built-in file whose tables are pure, whatever the context and
    /// variables; and nothing impure was precomputed. It cannot go stale:
    /// build.rs reruns when config/ or the sandbox changes, and this test
    /// compares with a fresh evaluation of the embedded text.
    #[test]
    fn precomputed_metadata_equals_a_fresh_evaluation() {
        let contexts = [
            crate::sandbox::Context {
                domain: "localhost".into(),
                domains: Vec::new(),
                profile: "standard".into(),
                environment: "production".into(),
            },
            crate::sandbox::Context {
                domain: "chat.example.org".into(),
                domains: Vec::new(),
                profile: "minimal".into(),
                environment: "development".into(),
            },
        ];
        let mut compared = 0;
        for (ctx, extra) in [
            (&contexts[0], &[][..]),
            (
                &contexts[1],
                &[
                    ("PROSODY_LOG_LEVEL", "debug"),
                    ("PROSODY_DOMAIN", "chat.example.org"),
                ][..],
            ),
        ] {
            let sb = sandbox_with(ctx, extra);
            for (id, text) in builtin::BUILTIN_FILES {
                let src = Source {
                    id: id.to_string(),
                    path: format!("config/{id}"),
                    text: text.to_string(),
                };
                let pre = precomputed_metadata(id);
                match sb.eval_metadata(&src) {
                    Ok((meta, pure))
                        if !meta.is_empty() && meta.keys().all(|k| pure.contains(k)) =>
                    {
                        assert_eq!(
                            pre.as_ref(),
                            Some(&meta),
                            "{id}: precomputed metadata is stale"
                        );
                        compared += 1;
                    }
                    Ok((meta, _)) => assert!(
                        pre.is_none(),
                        "{id}: precomputed, but its tables {:?} are not pure",
                        meta.keys()
                    ),
                    Err(e) => panic!("{id}: {e}"),
                }
            }
        }
        assert!(compared >= 60, "only {compared} files compared");
    }

    /// A `--config-dir` file replacing a built-in one wins, and is evaluated
    /// fresh even when its text is the built-in one.
    #[test]
    fn a_user_file_overriding_a_builtin_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let features = dir.path().join("features/messaging");
        std::fs::create_dir_all(&features).unwrap();
        let builtin = Catalog::builtin();
        let core = &builtin
            .file("features/messaging/core.cfg.lua")
            .unwrap()
            .text;
        let renamed = core.replacen(
            "feature_info = {",
            "feature_info = {\n    name = \"Mine\",",
            1,
        );
        assert_ne!(&renamed, core);
        // A later `name` wins in a Lua table constructor.
        let renamed = renamed.replace("name = \"Core Messaging\"", "-- name replaced");
        std::fs::write(features.join("core.cfg.lua"), &renamed).unwrap();
        let services = dir.path().join("features/services");
        std::fs::create_dir_all(&services).unwrap();
        let turn = &builtin.file("features/services/turn.cfg.lua").unwrap().text;
        std::fs::write(services.join("turn.cfg.lua"), turn).unwrap();
        let user = Catalog::load(Some(dir.path())).unwrap();
        assert!(!user.is_builtin("features/messaging/core.cfg.lua"));
        assert!(user.is_builtin("features/messaging/carbons.cfg.lua"));

        let ctx = crate::sandbox::Context {
            domain: "localhost".into(),
            ..Default::default()
        };
        let sb = sandbox_with(&ctx, &[]);
        assert_ne!(
            builtin.feature_info(&sb, "messaging/core").unwrap().name,
            "Mine"
        );
        let mine = user.feature_info(&sb, "messaging/core").unwrap();
        assert_eq!(mine.name, "Mine");
        assert!(mine.path.starts_with(&dir.path().display().to_string()));

        // The built-in turn file stops on a bad PROSODY_TURN_HOST once it
        // runs; its metadata does not need it to run. The user's copy, same
        // text, is evaluated and stops.
        let bad = sandbox_with(&ctx, &[("PROSODY_TURN_HOST", "not a host")]);
        assert!(precomputed_metadata("features/services/turn.cfg.lua").is_some());
        assert_eq!(
            builtin.feature_info(&bad, "services/turn").unwrap().id,
            "services/turn"
        );
        let e = user.feature_info(&bad, "services/turn").unwrap_err();
        assert!(e.to_string().contains("PROSODY_TURN_HOST"), "{e}");
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
