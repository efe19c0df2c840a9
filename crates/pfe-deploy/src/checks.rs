//! Checks on a container environment before anything is written: shared by
//! the entrypoint, `pfe compose` and `pfe k8s`, so each refuses the same bad
//! input naming the same variable.

use std::collections::{BTreeMap, HashMap};

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, DEFAULT_ENVIRONMENT, DEFAULT_PROFILE};
use pfe_core::resolve::parse_bool;
use pfe_core::sandbox::{Context, Sandbox};
use pfe_core::suggest::did_you_mean;

use crate::{DeployError, Problem, env_value};

/// The secret variable of the admin account's password.
pub const ADMIN_PASSWORD_VAR: &str = "PROSODY_ADMIN_PASSWORD";

/// Whether `d` is a domain Prosody can serve: the one rule of
/// [`pfe_core::request::check_domain`], shared by every command.
pub fn valid_domain(d: &str) -> bool {
    pfe_core::request::check_domain(d).is_ok()
}

/// What [`check_environment`] insists on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks {
    /// A config will be rendered: storage variables are checked.
    pub render: bool,
    /// PROSODY_DOMAIN must be set (there is no sensible default).
    pub require_domain: bool,
    /// PROSODY_STORAGE=postgres needs PROSODY_DB_HOST (compose has its own db).
    pub require_db_host: bool,
}

/// Checks on the environment that do not need a build; errors name the
/// variable to fix, unknown PROSODY_* names are warnings.
pub fn check_environment(
    catalog: &Catalog,
    env: &HashMap<String, String>,
    checks: Checks,
) -> Result<Vec<Problem>, DeployError> {
    let Checks {
        render,
        require_domain,
        require_db_host,
    } = checks;
    let mut problems = Vec::new();
    // Metadata only: an empty environment, so a bad value cannot stop the
    // evaluation before it is named below.
    let sb = Sandbox::new(
        HashMap::new(),
        &Context {
            domain: engine::DEFAULT_DOMAIN.into(),
            domains: Vec::new(),
            profile: DEFAULT_PROFILE.into(),
            environment: DEFAULT_ENVIRONMENT.into(),
        },
    )
    .map_err(engine::Error::from)?;
    let variables = catalog.variables(&sb).map_err(engine::Error::from)?;
    let features = catalog.feature_infos(&sb).map_err(engine::Error::from)?;
    let mut toggles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, f) in &features {
        for t in f.all_toggles() {
            toggles.entry(t).or_default().push(id.clone());
        }
    }

    for (var, known) in [
        ("PROSODY_PROFILE", catalog.profiles()),
        ("PROSODY_ENVIRONMENT", catalog.environments()),
    ] {
        if let Some(v) = env_value(env, var)
            && !known.iter().any(|k| k == v.trim())
        {
            let hint = did_you_mean(v.trim(), known.iter().map(String::as_str))
                .map(|s| format!("did you mean {s}? "))
                .unwrap_or_default();
            problems.push(Problem::error(
                var,
                format!("{v:?} is not in the catalog"),
                format!("{hint}choose one of: {}", known.join(", ")),
            ));
        }
    }

    if let Some(v) = env_value(env, "PROSODY_LEGACY_MODE")
        && parse_bool(v).is_none()
    {
        problems.push(Problem::error(
            "PROSODY_LEGACY_MODE",
            format!("{v:?} is not a boolean"),
            "set it to true (run the mounted hand-written config) or false".into(),
        ));
    }

    if render {
        // The one domain rule of every command: PROSODY_DOMAINS wins and
        // must agree with PROSODY_DOMAIN when both are set.
        match pfe_core::request::domains_from_variables(
            |n| env.get(n).map(String::as_str),
            |n| pfe_core::request::Origin::Var(n.to_string()),
        ) {
            Ok(Some(_)) => {}
            Ok(None) if !require_domain => {}
            Ok(None) => problems.push(Problem::error(
                "PROSODY_DOMAIN",
                "is not set; the entrypoint needs the XMPP domain to serve",
                "set PROSODY_DOMAIN=chat.example.org, or PROSODY_DOMAINS=a.example,b.example for several (there is no default in a container)".into(),
            )),
            Err(e) => problems.push(crate::request_problem(&e)),
        }
        let storage = env_value(env, "PROSODY_STORAGE").map(|s| s.trim().to_ascii_lowercase());
        match storage.as_deref() {
            None | Some("sqlite" | "sqlite3") => {}
            Some("postgres" | "postgresql") => {
                if require_db_host && env_value(env, "PROSODY_DB_HOST").is_none() {
                    problems.push(Problem::error(
                        "PROSODY_DB_HOST",
                        "is not set, but PROSODY_STORAGE=postgres needs the PostgreSQL host",
                        "set PROSODY_DB_HOST (and PROSODY_DB_NAME, PROSODY_DB_USER, the db_password secret), or use PROSODY_STORAGE=sqlite".into(),
                    ));
                }
            }
            Some(other) => problems.push(Problem::error(
                "PROSODY_STORAGE",
                format!("{other:?} is not a storage backend pfe supports"),
                "use sqlite (the default) or postgres".into(),
            )),
        }
    }

    let mut names: Vec<&String> = env
        .keys()
        .filter(|k| k.starts_with("PROSODY_FEATURES_"))
        .collect();
    names.sort();
    for name in names {
        let v = env[name].trim();
        if v.is_empty() {
            continue;
        }
        let is_toggle = toggles.contains_key(name.as_str());
        let ok = if is_toggle {
            parse_bool(v).is_some()
        } else {
            // Switches inside a feature file are compared with "true"/"false".
            v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
        };
        if !ok {
            problems.push(Problem::error(
                name.clone(),
                format!("{v:?} is not a boolean"),
                if is_toggle {
                    "set it to true or false (also accepted: 1/0, yes/no, on/off)".into()
                } else {
                    "set it to true or false".into()
                },
            ));
        }
    }

    let mut known: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
    known.extend(
        variables
            .iter()
            .filter(|v| v.secret)
            .map(|v| format!("{}_FILE", v.name)),
    );
    known.extend(toggles.keys().cloned());
    if !known.iter().any(|k| k == ADMIN_PASSWORD_VAR) {
        known.push(ADMIN_PASSWORD_VAR.into());
        known.push(format!("{ADMIN_PASSWORD_VAR}_FILE"));
    }
    problems.extend(crate::unknown_variables(&known, env));
    Ok(problems)
}
