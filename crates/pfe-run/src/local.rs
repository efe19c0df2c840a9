//! `pfe run`: a local server in one command. A state directory, the config,
//! self-signed certificates for every served domain and its components
//! (environment `development` unless asked), an optional account; then the
//! process becomes `prosody -F` on loopback.

use std::path::{Path, PathBuf};

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build};
use pfe_core::request::{self, Environment, Origin, RequestError};

use crate::server::{self, Ports, ServerError, StateDir};

/// The environment `pfe run` uses when none is given.
pub const DEFAULT_ENVIRONMENT: &str = "development";

/// Where `pfe run` keeps config, certificates, data and logs.
pub const DEFAULT_STATE_DIR: &str = "pfe-state";
/// `pfe run`'s c2s (STARTTLS) port: Prosody's own.
pub const DEFAULT_C2S_PORT: u16 = 5222;
/// `pfe run`'s HTTP port (BOSH, WebSocket, uploads): Prosody's own.
pub const DEFAULT_HTTP_PORT: u16 = 5280;

/// What `pfe run` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Option<String>,
    pub environment: Option<String>,
    pub state_dir: PathBuf,
    /// The served domains, the primary first (`--domain`, repeatable);
    /// empty: [`engine::DEFAULT_DOMAIN`].
    pub domains: Vec<String>,
    pub c2s_port: u16,
    pub http_port: u16,
    /// An account to create first: `JID:PASSWORD`.
    pub user: Option<String>,
}

/// Why `pfe run` did not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Build(#[from] engine::Error),
    #[error("{0}")]
    Server(#[from] ServerError),
    #[error("cannot write {path}: {reason}")]
    Marker { path: String, reason: String },
    #[error("--user takes JID:PASSWORD")]
    #[diagnostic(help("e.g. --user alice@localhost:secret"))]
    User,
}

impl RunError {
    /// Whether the operator's arguments are at fault (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, RunError::User)
    }
}

/// Everything prepared; only `exec` is left.
#[derive(Debug)]
pub struct Local {
    pub build: Build,
    pub config: PathBuf,
    pub ports: Ports,
    /// `password_hash` as used: `from the catalog`, `SHA-256` or `SHA-1`.
    pub password_hash: String,
    pub state_dir: PathBuf,
}

impl Local {
    /// The one line `pfe run` prints before it becomes Prosody.
    pub fn summary(&self) -> String {
        format!(
            "pfe run: {} ({}, {}), c2s 127.0.0.1:{}, direct TLS 127.0.0.1:{}, http 127.0.0.1:{}, https 127.0.0.1:{}, password_hash {}, state in {}",
            self.build.domains.join(", "),
            self.build.profile.id,
            self.build.environment.id,
            self.ports.c2s,
            self.ports.c2s_direct_tls,
            self.ports.http,
            self.ports.https,
            self.password_hash,
            self.state_dir.display()
        )
    }
}

/// Prosody's internal_hashed keeps one SCRAM hash per account, made with
/// password_hash (SHA-1 unless set), and offers only that SCRAM. A fresh
/// state directory gets SHA-256 so clients can use SCRAM-SHA-256; the
/// choice is remembered in `<state>/password_hash`, and a directory that
/// already holds data from before keeps Prosody's SHA-1 (its accounts
/// could not log in otherwise).
pub fn password_hash(state: &StateDir) -> Result<String, RunError> {
    let marker = state.root().join("password_hash");
    if let Ok(h) = std::fs::read_to_string(&marker)
        && matches!(h.trim(), "SHA-1" | "SHA-256")
    {
        return Ok(h.trim().to_string());
    }
    let fresh = std::fs::read_dir(state.data_dir())
        .map(|mut d| d.next().is_none())
        .unwrap_or(true);
    let h = if fresh { "SHA-256" } else { "SHA-1" };
    std::fs::write(&marker, format!("{h}\n")).map_err(|e| RunError::Marker {
        path: marker.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(h.to_string())
}

/// Prepares the state directory, certificate, config and account. A
/// catalog that sets password_hash wins over [`password_hash`].
pub fn prepare(catalog: &Catalog, env: &Environment, o: &Options) -> Result<Local, RunError> {
    let given = if o.domains.is_empty() {
        vec![engine::DEFAULT_DOMAIN.to_string()]
    } else {
        o.domains.clone()
    };
    let domains = request::domain_list(&Origin::flag("--domain"), &given)?;
    let state = StateDir::create(&o.state_dir)?;
    let mut ports = Ports::pick()?;
    ports.c2s = o.c2s_port;
    ports.http = o.http_port;
    let mut sel = request::Selection {
        profile: o.profile.clone(),
        environment: Some(
            o.environment
                .clone()
                .unwrap_or_else(|| DEFAULT_ENVIRONMENT.into()),
        ),
        domains,
        sets: server::loopback_overrides(&state, &ports)
            .into_iter()
            .filter(|(k, _)| k != "daemonize" && k != "log")
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..Default::default()
    };
    let hash = password_hash(&state)?;
    let mut build = engine::build(catalog, &request::resolve(&sel, env, "pfe generate")?)?;
    let from_catalog = build
        .evaluated
        .global()
        .options
        .contains_key("password_hash");
    if !from_catalog && hash != "SHA-1" {
        sel.sets
            .push(format!("password_hash={}", server::lua_string(&hash)));
        build = engine::build(catalog, &request::resolve(&sel, env, "pfe generate")?)?;
    }
    // Every name the config serves, in one certificate per name that is not
    // under another served name.
    for (root, subs) in server::certificate_roots(&server::served_hosts(&build.evaluated)) {
        let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
        server::generate_cert(&state.certs_dir(), &root, &subs)?;
    }
    let config = state.write_config(&build.config)?;
    if let Some(u) = &o.user {
        let (jid, password) = u.split_once(':').ok_or(RunError::User)?;
        server::create_user(&config, jid, password)?;
    }
    Ok(Local {
        build,
        config,
        ports,
        password_hash: if from_catalog {
            "from the catalog".into()
        } else {
            hash
        },
        state_dir: o.state_dir.clone(),
    })
}

/// Becomes Prosody: every signal (Ctrl-C, SIGTERM from a supervisor) reaches
/// it directly, and nothing is left running when it stops. Returns only on
/// failure.
pub fn exec(config: &Path) -> std::io::Error {
    use std::os::unix::process::CommandExt as _;
    std::process::Command::new("prosody")
        .arg("--config")
        .arg(config)
        .arg("-F")
        .exec()
}
