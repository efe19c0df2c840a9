//! `pfe compose`, `pfe k8s` and `pfe entrypoint`: deployments of a build.

use std::path::{Path, PathBuf};

use pfe_deploy::{DeployError, compose, k8s};
use pfe_run::entrypoint;

use super::Ctx;
use crate::cli::{DeployOutput, Selection};
use crate::error::{Error, Result};
use crate::output::{say, sayln, stdout};

/// Input problems are plain lines, one per problem naming what to fix
/// (container logs are read as text), then a summary line.
fn deploy_error(e: DeployError) -> Error {
    if let DeployError::Input { problems } = &e {
        say!("{}", pfe_deploy::render_problems(problems));
        let summary = e.to_string();
        sayln!("error: {}", summary.lines().next().unwrap_or_default());
        return Error::Shown(1);
    }
    e.into()
}

fn write(dir: &Path, files: &[(String, String)], force: bool) -> Result {
    pfe_deploy::write_files(dir, files, force).map_err(deploy_error)?;
    for (name, _) in files {
        sayln!("wrote {}", dir.join(name).display());
    }
    Ok(())
}

pub fn compose(ctx: &Ctx, config_dir: Option<&Path>, sel: &Selection, out: DeployOutput) -> Result {
    let config_dir = match config_dir {
        Some(d) => Some(std::fs::canonicalize(d).map_err(|e| {
            Error::failed(format!("cannot resolve --config-dir {}: {e}", d.display()))
        })?),
        None => None,
    };
    let opts = compose::Options {
        image: out.image,
        config_dir,
    };
    let rendered =
        compose::render(&ctx.catalog, &ctx.request(sel)?, &opts).map_err(deploy_error)?;
    say!("{}", rendered.warnings);
    write(&out.output, &rendered.files, out.force)?;
    if !rendered.secret_files.is_empty() {
        sayln!(
            "secrets to create beside them (one line each, readable by uid 999, never committed): {}",
            rendered.secret_files.join(", ")
        );
    }
    Ok(())
}

pub fn k8s(ctx: &Ctx, sel: &Selection, out: DeployOutput, name: String) -> Result {
    let opts = k8s::Options {
        image: out.image,
        name,
    };
    let rendered = k8s::render(&ctx.catalog, &ctx.request(sel)?, &opts).map_err(deploy_error)?;
    say!("{}", rendered.warnings);
    write(&out.output, &rendered.files, out.force)?;
    if !rendered.secrets.is_empty() {
        let keys: Vec<String> = rendered
            .secrets
            .iter()
            .map(|(k, required)| format!("{k}{}", if *required { "" } else { " (optional)" }))
            .collect();
        sayln!(
            "the Secret {}-secrets holds: {}",
            opts.name,
            keys.join(", ")
        );
    }
    Ok(())
}

pub fn entrypoint(
    ctx: &Ctx,
    config_output: PathBuf,
    use_config: Option<PathBuf>,
    sets: Vec<String>,
    dry_run: bool,
) -> Result {
    let mut opts = entrypoint::Options::new(config_output, &ctx.env.vars);
    opts.use_config = use_config;
    opts.sets = sets;
    opts.dry_run = dry_run;
    let plan = entrypoint::plan(&ctx.catalog, &ctx.env.vars, &opts).map_err(deploy_error)?;
    say!("{}", entrypoint::warnings_text(&plan));
    if dry_run {
        say!("{}", entrypoint::describe(&plan));
        return match &plan.build {
            Some(b) => stdout(b.config.as_bytes()),
            None => Ok(()),
        };
    }
    // Progress lines go to standard error as the steps happen.
    match entrypoint::execute(&plan, &opts, &mut |line| sayln!("{line}")) {
        Ok(never) => match never {},
        Err(e) => Err(e.into()),
    }
}
