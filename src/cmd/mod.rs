//! One file per command: each turns its arguments into one request for the
//! library crates and renders what comes back. No defaults or policy live
//! here; they are the libraries'.

mod catalog;
mod certs;
mod check;
mod deploy;
mod diff;
mod dns;
mod generate;
mod migrate;
mod proxy;
mod run;
mod validate;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_core::request::{self, Environment};
use pfe_core::{envfile, sandbox};

use crate::cli::{Cli, Command, Selection};
use crate::error::Result;
use crate::output::{say, sayln};

/// What every command shares: the catalog and the environment it reads.
pub struct Ctx {
    pub catalog: Catalog,
    pub env: Environment,
    pub verbose: bool,
}

impl Ctx {
    fn load(cli: &Cli) -> Result<Ctx> {
        let catalog = Catalog::load(cli.config_dir.as_deref())?;
        let file_vars = match &cli.env_file {
            Some(p) => {
                let located = envfile::read(p)?;
                Some(request::EnvFile {
                    path: p.display().to_string(),
                    lines: located.iter().map(|(k, _, l)| (k.clone(), *l)).collect(),
                    vars: located.into_iter().map(|(k, v, _)| (k, v)).collect(),
                })
            }
            None => None,
        };
        let env = Environment::new(std::env::vars_os(), file_vars)?;
        Ok(Ctx {
            catalog,
            env,
            verbose: cli.verbose,
        })
    }

    /// The one request resolver, for every command.
    pub fn request(&self, sel: &Selection) -> Result<Request> {
        self.resolve(&sel.to_request())
    }

    pub fn resolve(&self, sel: &request::Selection) -> Result<Request> {
        Ok(request::resolve(sel, &self.env, "pfe generate")?)
    }

    /// Warns about PROSODY_FEATURES_* variables no feature reads (typos).
    pub fn warn_unknown_toggles(&self, build: &Build) {
        let problems = pfe_deploy::unknown_toggles(&self.catalog, build, &self.env.vars);
        say!("{}", pfe_deploy::render_problems(&problems));
    }

    /// Builds `req`, showing the resolver's warnings (and with `-v` what the
    /// catalog files logged).
    pub fn build(&self, req: &Request) -> Result<Build> {
        let build = engine::build(&self.catalog, req)?;
        self.show_build_notes(&build);
        Ok(build)
    }

    pub fn show_build_notes(&self, build: &Build) {
        for w in &build.resolution.warnings {
            sayln!("warning: {w}");
        }
        if self.verbose {
            for l in &build.evaluated.logs {
                sayln!(
                    "[{}] {}: {}",
                    l.level,
                    build.evaluated.display_origin(&l.origin),
                    l.message
                );
            }
        }
    }

    /// A sandbox for reading catalog metadata.
    pub fn meta_sandbox(&self) -> Result<sandbox::Sandbox> {
        Ok(sandbox::Sandbox::new(
            self.env.vars.clone(),
            &sandbox::Context {
                domain: engine::DEFAULT_DOMAIN.into(),
                ..Default::default()
            },
        )?)
    }
}

/// Loads the catalog and environment, then runs the command.
pub fn run(cli: Cli) -> Result {
    let ctx = Ctx::load(&cli)?;
    let config_dir = cli.config_dir;
    match cli.command {
        Command::List { json } => catalog::list(&ctx, json),
        Command::Features { json } => catalog::features(&ctx, json),
        Command::Docs => catalog::docs(&ctx),
        Command::Create {
            name,
            template,
            description,
        } => catalog::create(&ctx, config_dir.as_deref(), &name, &template, description),
        Command::Validate {
            profile,
            environment,
            json,
            deny_warnings,
            allow_unstable,
        } => validate::validate(
            &ctx,
            profile,
            environment,
            json,
            deny_warnings,
            allow_unstable,
        ),
        Command::Lint {
            file,
            json,
            deny_warnings,
            fix: false,
            ..
        } => validate::lint(&ctx, &file, json, deny_warnings),
        Command::Lint {
            file,
            json,
            deny_warnings,
            fix: true,
            dry_run,
        } => validate::fix(&ctx, &file, json, deny_warnings, dry_run),
        Command::Diff { a, b, sel, json } => diff::diff(&ctx, &a, &b, &sel, json),
        Command::Migrate {
            file,
            output,
            force,
            drop_dead,
            json,
        } => migrate::migrate(&ctx, &file, &output, force, drop_dead, json),
        Command::Generate { sel, output, force } => {
            generate::generate(&ctx, &sel, output.as_deref(), force)
        }
        Command::Env { sel, output, force } => generate::env(&ctx, &sel, output, force),
        Command::Explain { subject, sel, json } => generate::explain(&ctx, &subject, &sel, json),
        Command::Check(args) => check::check(&ctx, args),
        Command::Healthcheck {
            server,
            domain,
            timeout,
            tls,
            direct_tls,
            ca_file,
            insecure,
        } => check::healthcheck(
            &ctx, server, domain, timeout, tls, direct_tls, ca_file, insecure,
        ),
        Command::Run {
            profile,
            environment,
            state_dir,
            domain,
            c2s_port,
            http_port,
            user,
        } => run::run(
            &ctx,
            pfe_run::local::Options {
                profile,
                environment,
                state_dir,
                domains: domain,
                c2s_port,
                http_port,
                user,
            },
        ),
        Command::Compose { sel, out } => deploy::compose(&ctx, config_dir.as_deref(), &sel, out),
        Command::K8s { sel, out, name } => deploy::k8s(&ctx, &sel, out, name),
        Command::Certs {
            sel,
            dir,
            owner,
            json,
        } => certs::certs(&ctx, &sel, dir, owner.as_deref(), json),
        Command::Dns {
            sel,
            host_address,
            target,
            verify,
            resolver,
            timeout,
            json,
        } => dns::dns(
            &ctx,
            &sel,
            dns::Args {
                addresses: host_address,
                target,
                verify,
                resolver,
                timeout,
                json,
            },
        ),
        Command::Proxy { kind } => proxy::proxy(&ctx, kind),
        Command::Entrypoint {
            config_output,
            use_config,
            sets,
            dry_run,
        } => deploy::entrypoint(&ctx, config_output, use_config, sets, dry_run),
    }
}
