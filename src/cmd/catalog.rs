//! `pfe list`, `pfe features`, `pfe docs`, `pfe create`: the catalog itself.

use std::path::{Path, PathBuf};

use pfe_core::catalog::CreateError;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{print_json, sayln, stdout};

pub fn list(ctx: &Ctx, json: bool) -> Result {
    let sb = ctx.meta_sandbox()?;
    let mut profiles = Vec::new();
    for name in ctx.catalog.profiles() {
        profiles.push(ctx.catalog.profile_info(&sb, &name)?);
    }
    let mut envs = Vec::new();
    for name in ctx.catalog.environments() {
        envs.push(ctx.catalog.environment_info(&sb, &name)?);
    }
    if json {
        return print_json(&serde_json::json!({ "profiles": profiles, "environments": envs }));
    }
    let mut out = String::from("Profiles:\n");
    for p in &profiles {
        out += &format!(
            "  {:<13} {:<7} {:>2} features  {}\n",
            p.id,
            p.target_users.as_deref().unwrap_or("-"),
            p.features.len(),
            p.description
        );
    }
    out += "\nEnvironments:\n";
    for e in &envs {
        let allowed: Vec<&str> = e.allow_stability.iter().map(|s| s.as_str()).collect();
        out += &format!(
            "  {:<13} allows {:<20} {}\n",
            e.id,
            allowed.join(","),
            e.description
        );
    }
    stdout(out.as_bytes())
}

pub fn features(ctx: &Ctx, json: bool) -> Result {
    let sb = ctx.meta_sandbox()?;
    let infos = ctx.catalog.feature_infos(&sb)?;
    if json {
        return print_json(&serde_json::to_value(&infos).expect("serializable"));
    }
    let mut out = String::new();
    for (id, f) in &infos {
        out += &format!("{:<26} {:<6} {}\n", id, f.stability.as_str(), f.description);
        for (label, list) in [
            ("modules", &f.modules),
            ("xeps", &f.xeps),
            ("needs", &f.dependencies),
            ("conflicts", &f.conflicts),
        ] {
            if !list.is_empty() {
                out += &format!("{:<33} {label}: {}\n", "", list.join(", "));
            }
        }
    }
    stdout(out.as_bytes())
}

pub fn docs(ctx: &Ctx) -> Result {
    stdout(pfe_core::docs::catalog_tables(&ctx.catalog)?.as_bytes())
}

pub fn create(
    ctx: &Ctx,
    config_dir: Option<&Path>,
    name: &str,
    template: &str,
    description: Option<String>,
) -> Result {
    let sb = ctx.meta_sandbox()?;
    let dir = config_dir.map_or_else(|| PathBuf::from("config"), Path::to_path_buf);
    let path = ctx
        .catalog
        .create_profile(&sb, &dir, name, template, description.as_deref())
        .map_err(|e| match e {
            CreateError::InvalidName { .. } => Error::usage_report(e),
            e => e.into(),
        })?;
    sayln!(
        "created {} (from '{template}'); try: pfe --config-dir {} generate {name}",
        path.display(),
        dir.display()
    );
    Ok(())
}
