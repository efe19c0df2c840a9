//! The pfe command line: parses arguments, calls the library, prints.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use miette::{Diagnostic, Report};

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_core::explain::{self, Explanation};
use pfe_core::request::{self, Environment};
use pfe_core::validate::{self, Finding, Severity};
use pfe_core::{envfile, fsutil, sandbox};

#[derive(Parser)]
#[command(
    name = "pfe",
    version,
    about = "Profile-Feature-Environment configuration for the Prosody XMPP server",
    long_about = "pfe turns a profile (minimal, standard, enterprise, development), a set of features and an \
environment (production, development, staging, testing) into one flat, deterministic Prosody 13 config.\n\n\
The catalog (config/ in pfe's sources) is built in; --config-dir or PFE_CONFIG_DIR lays your own tree over it: \
a file at the same path replaces the built-in one, new files add.\n\n\
Layers, later wins: core → features (dependency order) → profile defaults → environment → local.cfg.lua → --set.",
    after_help = "Environment: PFE_CONFIG_DIR (catalog overlay), PROSODY_PROFILE and PROSODY_ENVIRONMENT (defaults: \
standard, production; blank means unset), PROSODY_DOMAIN, PROSODY_FEATURES_* toggles and every variable `pfe env` writes; \
PFE_FEATURES, PFE_SET/PFE_SET_<N> and PFE_ALLOW_UNSTABLE as --with/--without, --set and --allow-unstable (flags win). \
A variable may hold at most 1 MiB."
)]
struct Cli {
    /// Your catalog tree, laid over the built-in one
    #[arg(long, global = true, env = "PFE_CONFIG_DIR", value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Read variables from this file too (the process environment wins)
    #[arg(long, global = true, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Show the messages catalog files log with log(...)
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct Selection {
    /// Profile [default: $PROSODY_PROFILE or standard]
    profile: Option<String>,
    /// Environment [default: $PROSODY_ENVIRONMENT or production]
    environment: Option<String>,
    /// The served domain [default: $PROSODY_DOMAIN or localhost]
    #[arg(long)]
    domain: Option<String>,
    /// Enable a feature (repeatable), e.g. --with web/admin
    #[arg(long = "with", value_name = "FEATURE")]
    with: Vec<String>,
    /// Disable a feature (repeatable), e.g. --without mobile/push
    #[arg(long = "without", value_name = "FEATURE")]
    without: Vec<String>,
    /// Set an option last, as a Lua value: [HOST:]OPTION=VALUE (repeatable), e.g. --set 'c2s_ports={15222}'
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Allow features whose stability the environment does not allow (e.g. alpha in production)
    #[arg(long)]
    allow_unstable: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// host[:port] of the server's c2s listener (port default 5222, or 5223 with --direct-tls)
    #[arg(long)]
    server: String,
    /// The account to log in with
    #[arg(long)]
    jid: String,
    /// Its password
    #[arg(long, env = "PFE_CHECK_PASSWORD", hide_env_values = true)]
    password: String,
    /// Profile whose promises to verify [default: $PROSODY_PROFILE or standard]
    #[arg(long)]
    profile: Option<String>,
    /// Environment [default: $PROSODY_ENVIRONMENT or production]
    #[arg(long = "env")]
    environment: Option<String>,
    /// Feature switched on, as for generate (repeatable)
    #[arg(long = "with", value_name = "FEATURE")]
    with: Vec<String>,
    /// Feature switched off, as for generate (repeatable)
    #[arg(long = "without", value_name = "FEATURE")]
    without: Vec<String>,
    /// Trust this CA (PEM) for the server's certificate
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    ca_file: Option<PathBuf>,
    /// Accept any certificate (self-signed test servers only)
    #[arg(long)]
    insecure: bool,
    /// Direct TLS (XEP-0368) instead of STARTTLS
    #[arg(long)]
    direct_tls: bool,
    /// The other c2s port on the same host, probed too: direct TLS for XEP-0368 when the session uses STARTTLS
    /// [default: the config's c2s_direct_tls_ports], STARTTLS for the cleartext probes with --direct-tls [default: 5222]
    #[arg(long, value_name = "PORT")]
    alt_port: Option<u16>,
    /// host[:port] of the HTTP server for the web promises (WebSocket, BOSH, host-meta, uploads)
    /// [default: the --server host, port 5280, or 5281 with --https]
    #[arg(long, value_name = "HOST:PORT")]
    http: Option<String>,
    /// Probe the HTTP endpoints over TLS (verified like the XMPP session)
    #[arg(long)]
    https: bool,
    /// Overall deadline in milliseconds (every probe ends within it)
    #[arg(long, default_value_t = 15000)]
    timeout: u64,
    #[arg(long)]
    json: bool,
}

/// Where `compose` and `k8s` write, and which image they name.
#[derive(Args)]
struct DeployOutput {
    /// Directory for the files (created if missing)
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Replace existing files
    #[arg(long)]
    force: bool,
    /// Image name; the tag is $PROSODY_VERSION, else latest
    #[arg(long, default_value = "prosody")]
    image: String,
}

#[derive(Subcommand)]
enum Command {
    /// List profiles and environments
    List {
        #[arg(long)]
        json: bool,
    },
    /// List features: modules, XEPs, stability, dependencies
    Features {
        #[arg(long)]
        json: bool,
    },
    /// Check profiles × environments; exit 0 clean, 1 problems (no arguments: every pair)
    Validate {
        /// Profile to check [default: all]
        profile: Option<String>,
        /// Environment to check [default: all]
        environment: Option<String>,
        #[arg(long)]
        json: bool,
        /// Fail on warnings too
        #[arg(long)]
        deny_warnings: bool,
        /// Allow features whose stability the environment does not allow
        #[arg(long)]
        allow_unstable: bool,
    },
    /// Check a hand-written Prosody config (Includes followed) with every validate check
    Lint {
        /// The config file, e.g. /etc/prosody/prosody.cfg.lua
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Fail on warnings too
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Create a profile in your catalog tree from a template profile
    Create {
        /// Name of the new profile (letters, digits, - and _)
        name: String,
        /// Profile to start from
        #[arg(default_value = "standard")]
        template: String,
        /// Description of the new profile
        #[arg(long)]
        description: Option<String>,
    },
    /// Generate prosody.cfg.lua for a profile and environment
    Generate {
        #[command(flatten)]
        sel: Selection,
        /// Output file; - or absent: standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
    },
    /// Write .env.<profile>.<environment> (mode 0600) with every variable pfe knows
    Env {
        #[command(flatten)]
        sel: Selection,
        /// Output file [default: .env.<profile>.<environment>]; - for standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
    },
    /// Print the catalog as Markdown tables (profiles, environments, features, variables)
    Docs,
    /// Verify a live server against what a profile promises, over one XMPP session; exit 1 if a promise fails
    Check(CheckArgs),
    /// Exit 0 if the server answers an XMPP stream with its features (for Docker and Kubernetes probes)
    Healthcheck {
        /// host[:port] of the c2s listener [default: the first of c2s_ports (c2s_direct_tls_ports with --direct-tls) on loopback in the config the container runs ($PFE_USE_CONFIG, else $PFE_CONFIG_OUTPUT, else /etc/prosody/prosody.cfg.lua); without that config $PROSODY_C2S_PORT ($PROSODY_C2S_DIRECT_TLS_PORT); else 127.0.0.1:5222 (5223)]. A host without a port gets 5222 (5223)
        #[arg(long)]
        server: Option<String>,
        /// Domain to open the stream to, which must answer as itself [default: $PROSODY_DOMAIN, else (without --server) that config's first VirtualHost, else localhost]
        #[arg(long)]
        domain: Option<String>,
        /// Deadline in milliseconds
        #[arg(long, default_value_t = 2000)]
        timeout: u64,
        /// Also upgrade with STARTTLS and read the encrypted stream's features (checks the certificate)
        #[arg(long, conflicts_with = "direct_tls")]
        tls: bool,
        /// Direct TLS (XEP-0368) from the first byte
        #[arg(long)]
        direct_tls: bool,
        /// Trust this CA (PEM) for the certificate (implies --tls unless --direct-tls)
        #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
        ca_file: Option<PathBuf>,
        /// Accept any certificate (implies --tls unless --direct-tls)
        #[arg(long)]
        insecure: bool,
    },
    /// Generate a config into a state directory and run Prosody in the foreground on loopback (Ctrl-C stops it)
    Run {
        /// Profile [default: $PROSODY_PROFILE or standard]
        profile: Option<String>,
        /// Environment [default: development]
        environment: Option<String>,
        /// Where config, certificates, data and logs go
        #[arg(long, default_value = "pfe-state")]
        state_dir: PathBuf,
        /// The served domain
        #[arg(long, default_value = "localhost")]
        domain: String,
        /// c2s port (STARTTLS)
        #[arg(long, default_value_t = 5222)]
        c2s_port: u16,
        /// HTTP port (BOSH, WebSocket, uploads)
        #[arg(long, default_value_t = 5280)]
        http_port: u16,
        /// Create this account first: JID:PASSWORD
        #[arg(long, value_name = "JID:PASSWORD")]
        user: Option<String>,
    },
    /// Explain why an option has its value, or why a feature or module is on
    Explain {
        /// An option (c2s_require_encryption), a feature (web/upload) or a module (mam)
        subject: String,
        #[command(flatten)]
        sel: Selection,
        #[arg(long)]
        json: bool,
    },
    /// Write compose.yaml and compose.<ENV>.yaml (Compose Specification) for a profile and environment
    Compose {
        #[command(flatten)]
        sel: Selection,
        #[command(flatten)]
        out: DeployOutput,
    },
    /// Write Kubernetes manifests (ConfigMap with the config, Services, StatefulSet) for a profile and environment
    K8s {
        #[command(flatten)]
        sel: Selection,
        #[command(flatten)]
        out: DeployOutput,
        /// Name of the StatefulSet, prefix of the other objects
        #[arg(long, default_value = "prosody")]
        name: String,
    },
    /// Container entrypoint: render the config from the environment, check it, create the admin account, exec Prosody
    Entrypoint {
        /// Where the rendered config is written (atomically)
        #[arg(
            long,
            env = "PFE_CONFIG_OUTPUT",
            default_value = "/etc/prosody/prosody.cfg.lua",
            value_name = "FILE"
        )]
        config_output: PathBuf,
        /// Run this config unchanged instead of rendering one (the Kubernetes ConfigMap)
        #[arg(long, env = "PFE_USE_CONFIG", value_name = "FILE")]
        use_config: Option<PathBuf>,
        /// Set an option last (after PFE_SET*), as a Lua value: [HOST:]OPTION=VALUE (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Check everything and print the config; write and start nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// Writes to standard error. A closed or full stream is ignored: the exit
/// code still tells what happened, and pfe never panics over a message.
fn say_str(s: &str) {
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

macro_rules! say {
    ($($t:tt)*) => { say_str(&format!($($t)*)) };
}

macro_rules! sayln {
    ($($t:tt)*) => { say_str(&(format!($($t)*) + "\n")) };
}

/// A failure already printed, with its exit code.
struct Exit(u8);

fn report<E: Diagnostic + Send + Sync + 'static>(e: E) -> Exit {
    sayln!("{:?}", Report::new(e));
    Exit(1)
}

fn main() -> ExitCode {
    // A library print to a closed or full stream ends quietly, never a panic.
    fsutil::quiet_broken_stdio();
    // Messages are matched by scripts and tests: keep each on one line.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => ExitCode::from(code),
    }
}

struct Ctx {
    catalog: Catalog,
    env: Environment,
    verbose: bool,
}

impl Selection {
    fn to_request(&self) -> request::Selection {
        request::Selection {
            profile: self.profile.clone(),
            environment: self.environment.clone(),
            domain: self.domain.clone(),
            domain_flag: None,
            with: self.with.clone(),
            without: self.without.clone(),
            sets: self.sets.clone(),
            allow_unstable: self.allow_unstable,
        }
    }
}

impl Ctx {
    /// The one request resolver, for every command.
    fn request(&self, sel: &Selection) -> Result<Request, Exit> {
        self.resolve(&sel.to_request())
    }

    fn resolve(&self, sel: &request::Selection) -> Result<Request, Exit> {
        request::resolve(sel, &self.env, "pfe generate").map_err(report)
    }

    /// Warns about PROSODY_FEATURES_* variables no feature reads (typos).
    fn warn_unknown_toggles(&self, build: &Build) {
        let mut known: Vec<String> = self
            .catalog
            .features()
            .iter()
            .map(|f| pfe_core::catalog::implicit_toggle(f))
            .collect();
        for f in build.features.values() {
            known.extend(f.all_toggles());
        }
        let toggles: HashMap<String, String> = self
            .env
            .vars
            .iter()
            .filter(|(k, _)| k.starts_with("PROSODY_FEATURES_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let problems = pfe_deploy::unknown_variables(&known, &toggles);
        say!("{}", pfe_deploy::render_problems(&problems));
    }

    fn build(&self, req: &Request) -> Result<Build, Exit> {
        let build = engine::build(&self.catalog, req).map_err(report)?;
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
        Ok(build)
    }
}

fn run(cli: Cli) -> Result<(), Exit> {
    let catalog = Catalog::load(cli.config_dir.as_deref()).map_err(report)?;
    let file_vars = match &cli.env_file {
        Some(p) => {
            let located = envfile::read(p).map_err(report)?;
            Some(request::EnvFile {
                path: p.display().to_string(),
                lines: located.iter().map(|(k, _, l)| (k.clone(), *l)).collect(),
                vars: located.into_iter().map(|(k, v, _)| (k, v)).collect(),
            })
        }
        None => None,
    };
    let env = Environment::new(std::env::vars_os(), file_vars).map_err(report)?;
    let ctx = Ctx {
        catalog,
        env,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::List { json } => list(&ctx, json),
        Command::Features { json } => features(&ctx, json),
        Command::Validate {
            profile,
            environment,
            json,
            deny_warnings,
            allow_unstable,
        } => validate_cmd(
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
        } => lint_cmd(&ctx, &file, json, deny_warnings),
        Command::Create {
            name,
            template,
            description,
        } => create(&ctx, &cli.config_dir, &name, &template, description),
        Command::Generate { sel, output, force } => {
            let build = ctx.build(&ctx.request(&sel)?)?;
            ctx.warn_unknown_toggles(&build);
            // Validate before anything is written: errors stop here.
            let findings = validate::check_build(&build);
            if !findings.is_empty() {
                say!("{}", validate::render(&findings, false, ""));
            }
            if validate::failed(&findings, false) {
                sayln!(
                    "error: not writing the config: fix the errors above (`pfe validate` shows them with context)"
                );
                return Err(Exit(1));
            }
            write_output(output.as_deref(), build.config.as_bytes(), None, force)
        }
        Command::Env { sel, output, force } => {
            // Toggles of every feature go into the file.
            let req = Request {
                all_features: true,
                ..ctx.request(&sel)?
            };
            let build = ctx.build(&req)?;
            ctx.warn_unknown_toggles(&build);
            let text = envfile::render(&build);
            let default = PathBuf::from(format!(".env.{}.{}", req.profile, req.environment));
            let path = output.unwrap_or(default);
            write_output(Some(&path), text.as_bytes(), Some(0o600), force)?;
            if path.as_os_str() != "-" {
                sayln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Explain { subject, sel, json } => explain_cmd(&ctx, &subject, &sel, json),
        Command::Check(args) => check_cmd(&ctx, args),
        Command::Healthcheck {
            server,
            domain,
            timeout,
            tls,
            direct_tls,
            ca_file,
            insecure,
        } => {
            // The domain is validated like every command's; the port comes
            // from the config the container serves (see healthcheck_target).
            let domain = match domain {
                Some(d) => Some(request::domain_from(&request::Origin::flag("--domain"), &d)),
                None => ctx
                    .env
                    .value("PROSODY_DOMAIN")
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(|d| request::domain_from(&ctx.env.origin("PROSODY_DOMAIN"), d)),
            }
            .transpose()
            .map_err(report)?;
            let target = pfe_probe::xmpp::healthcheck_target(
                &ctx.env.vars,
                server.as_deref(),
                domain.as_deref(),
                direct_tls,
            );
            healthcheck_cmd(
                &target.addr,
                &target.domain,
                timeout,
                tls,
                direct_tls,
                ca_file,
                insecure,
            )
        }
        Command::Run {
            profile,
            environment,
            state_dir,
            domain,
            c2s_port,
            http_port,
            user,
        } => run_cmd(
            &ctx,
            profile,
            environment,
            &state_dir,
            &domain,
            c2s_port,
            http_port,
            user,
        ),
        Command::Compose { sel, out } => compose_cmd(
            &ctx,
            cli.config_dir.as_deref(),
            &sel,
            &out.output,
            out.force,
            out.image,
        ),
        Command::K8s { sel, out, name } => {
            k8s_cmd(&ctx, &sel, &out.output, out.force, out.image, name)
        }
        Command::Entrypoint {
            config_output,
            use_config,
            sets,
            dry_run,
        } => entrypoint_cmd(&ctx, config_output, use_config, sets, dry_run),
        Command::Docs => stdout(
            pfe_core::docs::catalog_tables(&ctx.catalog)
                .map_err(report)?
                .as_bytes(),
        ),
    }
}

fn write_output(
    path: Option<&Path>,
    bytes: &[u8],
    mode: Option<u32>,
    force: bool,
) -> Result<(), Exit> {
    match path {
        None => stdout(bytes),
        Some(p) if p.as_os_str() == "-" => stdout(bytes),
        Some(p) => fsutil::write_atomic(p, bytes, mode, force).map_err(report),
    }
}

fn stdout(bytes: &[u8]) -> Result<(), Exit> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|_| out.flush()).map_err(|e| {
        // A reader that went away (`| head`) is not worth a message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            sayln!("error: cannot write to standard output: {e}");
        }
        Exit(1)
    })
}

fn print_json(v: &serde_json::Value) -> Result<(), Exit> {
    let text = serde_json::to_string_pretty(v).expect("JSON values serialize") + "\n";
    stdout(text.as_bytes())
}

fn meta_sandbox(ctx: &Ctx) -> Result<sandbox::Sandbox, Exit> {
    sandbox::Sandbox::new(
        ctx.env.vars.clone(),
        &sandbox::Context {
            domain: "localhost".into(),
            ..Default::default()
        },
    )
    .map_err(report)
}

fn list(ctx: &Ctx, json: bool) -> Result<(), Exit> {
    let sb = meta_sandbox(ctx)?;
    let mut profiles = Vec::new();
    for name in ctx.catalog.profiles() {
        profiles.push(ctx.catalog.profile_info(&sb, &name).map_err(report)?);
    }
    let mut envs = Vec::new();
    for name in ctx.catalog.environments() {
        envs.push(ctx.catalog.environment_info(&sb, &name).map_err(report)?);
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

fn features(ctx: &Ctx, json: bool) -> Result<(), Exit> {
    let sb = meta_sandbox(ctx)?;
    let infos = ctx.catalog.feature_infos(&sb).map_err(report)?;
    if json {
        return print_json(&serde_json::to_value(&infos).expect("serializable"));
    }
    let mut out = String::new();
    for (id, f) in &infos {
        out += &format!("{:<26} {:<6} {}\n", id, f.stability.as_str(), f.description);
        if !f.modules.is_empty() {
            out += &format!("{:<33} modules: {}\n", "", f.modules.join(", "));
        }
        if !f.xeps.is_empty() {
            out += &format!("{:<33} xeps: {}\n", "", f.xeps.join(", "));
        }
        if !f.dependencies.is_empty() {
            out += &format!("{:<33} needs: {}\n", "", f.dependencies.join(", "));
        }
        if !f.conflicts.is_empty() {
            out += &format!("{:<33} conflicts: {}\n", "", f.conflicts.join(", "));
        }
    }
    stdout(out.as_bytes())
}

fn validate_cmd(
    ctx: &Ctx,
    profile: Option<String>,
    environment: Option<String>,
    json: bool,
    deny_warnings: bool,
    allow_unstable: bool,
) -> Result<(), Exit> {
    // A name that is not in the catalog is a usage error (exit 2).
    for (kind, name, known) in [
        ("profile", &profile, ctx.catalog.profiles()),
        ("environment", &environment, ctx.catalog.environments()),
    ] {
        if let Some(n) = name
            && !known.contains(n)
        {
            let hint = pfe_core::suggest::did_you_mean(n, known.iter().map(String::as_str))
                .map(|s| format!("did you mean '{s}'? "))
                .unwrap_or_default();
            sayln!("error: unknown {kind} '{n}'\n  hint: {hint}`pfe list` shows them");
            return Err(Exit(2));
        }
    }
    let profiles = profile.map_or_else(|| ctx.catalog.profiles(), |p| vec![p]);
    let envs = environment.map_or_else(|| ctx.catalog.environments(), |e| vec![e]);
    let mut jobs = Vec::new();
    for p in &profiles {
        for e in &envs {
            let mut req = ctx.request(&Selection {
                profile: Some(p.clone()),
                environment: Some(e.clone()),
                ..Default::default()
            })?;
            req.allow_unstable = allow_unstable;
            req.all_features = true; // every feature's metadata is checked
            jobs.push((p.clone(), e.clone(), req));
        }
    }
    // Each pair is independent (its own Lua sandboxes): spread them over the cores.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(workers).max(1);
    let results: Vec<(String, String, Vec<Finding>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(p, e, req)| {
                            let findings = match engine::build(&ctx.catalog, req) {
                                Ok(build) => validate::check_build(&build),
                                Err(err) => vec![validate::check_build_error(&err)],
                            };
                            (p.clone(), e.clone(), findings)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a validate worker panicked"))
            .collect()
    });
    let all: Vec<Finding> = results.iter().flat_map(|r| r.2.clone()).collect();
    let failed = validate::failed(&all, deny_warnings);
    if json {
        let items: Vec<_> = results
            .iter()
            .map(|(p, e, f)| serde_json::json!({ "profile": p, "environment": e, "findings": f }))
            .collect();
        let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
        print_json(&serde_json::json!({
            "ok": !failed,
            "errors": errors,
            "warnings": all.len() - errors,
            "results": items,
        }))?;
    } else {
        let graphical = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let mut out = String::new();
        for (p, e, findings) in &results {
            out += &format!("{p:<13} {e:<12} {}\n", validate::summary(findings));
            out += &validate::render(findings, graphical, "  ");
        }
        stdout(out.as_bytes())?;
    }
    if failed { Err(Exit(1)) } else { Ok(()) }
}

fn lint_cmd(ctx: &Ctx, file: &Path, json: bool, deny_warnings: bool) -> Result<(), Exit> {
    let lint = pfe_core::lint::lint_file(file, ctx.env.vars.clone()).map_err(|e| {
        sayln!("{:?}", Report::new(e));
        Exit(2)
    })?;
    let findings = &lint.findings;
    let failed = validate::failed(findings, deny_warnings);
    if json {
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let hosts: Vec<&str> = lint
            .evaluated
            .iter()
            .flat_map(|ev| ev.sections.iter().map(|s| s.name.as_str()))
            .collect();
        print_json(&serde_json::json!({
            "ok": !failed,
            "file": file.display().to_string(),
            "sections": hosts,
            "errors": errors,
            "warnings": findings.len() - errors,
            "findings": findings,
        }))?;
    } else {
        let graphical = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let mut out = validate::render(findings, graphical, "");
        out += &format!("{}: {}\n", file.display(), validate::summary(findings));
        stdout(out.as_bytes())?;
    }
    if failed { Err(Exit(1)) } else { Ok(()) }
}

fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn create(
    ctx: &Ctx,
    config_dir: &Option<PathBuf>,
    name: &str,
    template: &str,
    description: Option<String>,
) -> Result<(), Exit> {
    if !valid_profile_name(name) {
        sayln!(
            "error: '{name}' is not a valid profile name\n  hint: use letters, digits, '-' and '_' only (no path separators, no '..')"
        );
        return Err(Exit(2));
    }
    if ctx.catalog.profiles().iter().any(|p| p == name) {
        sayln!(
            "error: profile '{name}' already exists\n  hint: choose another name, or edit its profile.cfg.lua"
        );
        return Err(Exit(1));
    }
    let sb = meta_sandbox(ctx)?;
    let info = ctx.catalog.profile_info(&sb, template).map_err(report)?;
    let dir = config_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("config"));
    let text = pfe_core::catalog::new_profile_text(name, &info, description.as_deref());
    let target = dir.join("profiles").join(name);
    std::fs::create_dir_all(&target).map_err(|e| {
        sayln!(
            "error: cannot create {}: {e}\n  hint: check that the directory is writable",
            target.display()
        );
        Exit(1)
    })?;
    let path = target.join("profile.cfg.lua");
    fsutil::write_atomic(&path, text.as_bytes(), None, false).map_err(report)?;
    sayln!(
        "created {} (from '{template}'); try: pfe --config-dir {} generate {name}",
        path.display(),
        dir.display()
    );
    Ok(())
}

fn explain_cmd(ctx: &Ctx, subject: &str, sel: &Selection, json: bool) -> Result<(), Exit> {
    // Any feature can be asked about, enabled or not.
    let build = ctx.build(&Request {
        all_features: true,
        ..ctx.request(sel)?
    })?;
    ctx.warn_unknown_toggles(&build);
    let Some(exp) = explain::explain(&build, subject) else {
        sayln!(
            "error: '{subject}' is neither a feature, an option set in this config, nor an enabled module\n  hint: `pfe features` lists features; `pfe generate` shows every option"
        );
        return Err(Exit(1));
    };
    if json {
        return print_json(&serde_json::to_value(&exp).expect("serializable"));
    }
    let mut out = String::new();
    match exp {
        Explanation::Feature {
            name,
            enabled,
            chain,
            disabled_by,
            path,
            modules,
            xeps,
        } => {
            out += &format!("feature {name} ({path})\n");
            if enabled {
                out += &format!("  enabled: {}\n", chain.join(" ← "));
            } else {
                out += &format!(
                    "  disabled{}\n",
                    disabled_by
                        .map(|d| format!(" by {d}"))
                        .unwrap_or_else(|| " (not in the profile)".into())
                );
            }
            out += &format!(
                "  modules: {}\n  xeps: {}\n",
                modules.join(", "),
                xeps.join(", ")
            );
        }
        Explanation::Option {
            name,
            values,
            assignments,
        } => {
            for (section, value) in &values {
                let where_ = if section == "*" {
                    "global".to_string()
                } else {
                    section.clone()
                };
                out += &format!("{name} = {value}   [{where_}]\n");
            }
            for a in assignments {
                let mark = if a.winner { "set  " } else { "was  " };
                out += &format!(
                    "  {mark} {} ({}{})\n",
                    a.at,
                    a.layer,
                    if a.section == "*" {
                        String::new()
                    } else {
                        format!(", {}", a.section)
                    }
                );
            }
        }
        Explanation::Module { name, sections } => {
            for (section, at) in sections {
                let where_ = if section == "*" {
                    "global".to_string()
                } else {
                    section
                };
                out += &format!("module {name} [{where_}] enabled at {at}\n");
            }
        }
    }
    stdout(out.as_bytes())
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            sayln!("error: cannot start the async runtime: {e}");
            Exit(1)
        })
}

fn check_cmd(ctx: &Ctx, a: CheckArgs) -> Result<(), Exit> {
    use pfe_probe::check::{self, HttpTarget, Target};
    use pfe_probe::xmpp::{ClientConfig, TlsMode, TlsVerify};
    let verify = match (&a.ca_file, a.insecure) {
        (Some(f), _) => TlsVerify::CaFile(f.clone()),
        (None, true) => TlsVerify::InsecureAcceptAny,
        (None, false) => {
            sayln!(
                "error: say how to trust the server's certificate\n  hint: --ca-file FILE, or --insecure for a self-signed test server"
            );
            return Err(Exit(2));
        }
    };
    let sel = request::Selection {
        profile: a.profile.clone(),
        environment: a.environment.clone(),
        domain: a.jid.split_once('@').map(|(_, d)| d.to_string()),
        domain_flag: Some("--jid".into()),
        with: a.with.clone(),
        without: a.without.clone(),
        ..Default::default()
    };
    let req = ctx.resolve(&sel)?;
    let build = ctx.build(&req)?;
    let promises = check::promises(&build);
    let with_port = |addr: &str, port: u16| {
        if check::host_of(addr) != addr {
            addr.to_string()
        } else {
            format!("{addr}:{port}")
        }
    };
    let addr = with_port(&a.server, if a.direct_tls { 5223 } else { 5222 });
    let host = check::host_of(&addr).to_string();
    let mode = if a.direct_tls {
        TlsMode::DirectTls
    } else {
        TlsMode::StartTls
    };
    let mut cfg = ClientConfig::new(
        addr.clone(),
        a.jid.clone(),
        a.password.clone(),
        mode,
        verify.clone(),
    );
    let overall = std::time::Duration::from_millis(a.timeout);
    cfg.timeouts.overall = overall;
    cfg.timeouts.connect = cfg.timeouts.connect.min(overall);
    cfg.timeouts.read = cfg.timeouts.read.min(overall);
    let mut target = Target::new(cfg);
    let http_default = if a.https {
        check::configured_port(&build, "https_ports").unwrap_or(5281)
    } else {
        check::configured_port(&build, "http_ports").unwrap_or(5280)
    };
    target.http = Some(HttpTarget {
        addr: with_port(a.http.as_deref().unwrap_or(&host), http_default),
        host: build.domain.clone(),
        tls: a.https.then(|| verify.clone()),
    });
    match mode {
        TlsMode::StartTls => {
            target.direct_tls_addr = a
                .alt_port
                .or_else(|| check::configured_port(&build, "c2s_direct_tls_ports"))
                .map(|p| format!("{host}:{p}"));
        }
        TlsMode::DirectTls => {
            let p = a
                .alt_port
                .or_else(|| check::configured_port(&build, "c2s_ports"))
                .unwrap_or(5222);
            target.starttls_addr = Some(format!("{host}:{p}"));
        }
    }
    let rt = runtime()?;
    let result = rt.block_on(check::inspect(&target, &promises));
    // A DNS lookup still blocking a worker thread must not hold up the exit.
    rt.shutdown_background();
    let report = result.map_err(|e| {
        sayln!("error: {e}");
        Exit(1)
    })?;
    let failed = report.failed();
    if a.json {
        let (pass, fail, not_checkable) = report.counts();
        print_json(&serde_json::json!({
            "ok": !failed,
            "profile": req.profile,
            "environment": req.environment,
            "server": addr,
            "http": target.http.as_ref().map(|h| h.addr.clone()),
            "session": report.session,
            "results": report.rows,
            "compliance": report.compliance,
            "summary": { "pass": pass, "fail": fail, "not_checkable": not_checkable },
        }))?;
    } else {
        let out = format!(
            "pfe check {} at {addr}: profile {}, environment {}\n{}",
            a.jid,
            req.profile,
            req.environment,
            report.render_text()
        );
        stdout(out.as_bytes())?;
    }
    if failed { Err(Exit(1)) } else { Ok(()) }
}

fn healthcheck_cmd(
    server: &str,
    domain: &str,
    timeout: u64,
    starttls: bool,
    direct_tls: bool,
    ca_file: Option<PathBuf>,
    insecure: bool,
) -> Result<(), Exit> {
    use pfe_probe::xmpp::{self, TlsVerify};
    let t = std::time::Duration::from_millis(timeout);
    let addr = if pfe_probe::check::host_of(server) != server {
        server.to_string()
    } else {
        format!("{server}:{}", if direct_tls { 5223 } else { 5222 })
    };
    let verify = match (ca_file, insecure) {
        (Some(f), _) => Some(TlsVerify::CaFile(f)),
        (None, true) => Some(TlsVerify::InsecureAcceptAny),
        (None, false) => None,
    };
    let rt = runtime()?;
    let result = match (verify, starttls, direct_tls) {
        (None, false, false) => rt.block_on(xmpp::healthcheck(&addr, domain, t)),
        (None, _, _) => {
            sayln!(
                "error: say how to trust the server's certificate\n  hint: --ca-file FILE, or --insecure"
            );
            return Err(Exit(2));
        }
        (Some(v), _, true) => rt.block_on(xmpp::healthcheck_tls(&addr, domain, &v, t)),
        (Some(v), _, false) => rt.block_on(xmpp::healthcheck_starttls(&addr, domain, &v, t)),
    };
    // A name lookup still blocking a worker thread must not hold up the
    // exit past the deadline.
    rt.shutdown_background();
    match result {
        Ok(r) => {
            let out = format!(
                "healthy: {addr} answered {domain} in {} ms\n",
                r.elapsed.as_millis()
            );
            stdout(out.as_bytes())
        }
        Err(e) => {
            sayln!("unhealthy: {e}");
            Err(Exit(1))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_cmd(
    ctx: &Ctx,
    profile: Option<String>,
    environment: Option<String>,
    state_dir: &Path,
    domain: &str,
    c2s_port: u16,
    http_port: u16,
    user: Option<String>,
) -> Result<(), Exit> {
    use pfe_run::server::{self, Ports, StateDir};
    let domain =
        &request::domain_from(&request::Origin::flag("--domain"), domain).map_err(report)?;
    let fail = |e: server::ServerError| {
        sayln!("error: {e}");
        Exit(1)
    };
    let state = StateDir::create(state_dir).map_err(fail)?;
    let mut ports = Ports::pick().map_err(fail)?;
    ports.c2s = c2s_port;
    ports.http = http_port;
    let components: Vec<String> = ["conference", "upload", "proxy"]
        .iter()
        .map(|s| format!("{s}.{domain}"))
        .collect();
    let names: Vec<&str> = components.iter().map(String::as_str).collect();
    server::generate_cert(&state.certs_dir(), domain, &names).map_err(fail)?;
    let mut sel = Selection {
        profile,
        environment: Some(environment.unwrap_or_else(|| "development".into())),
        domain: Some(domain.to_string()),
        sets: server::loopback_overrides(&state, &ports)
            .into_iter()
            .filter(|(k, _)| k != "daemonize" && k != "log")
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..Default::default()
    };
    // Prosody's internal_hashed keeps one SCRAM hash per account, made with
    // password_hash (SHA-1 unless set), and offers only that SCRAM. A fresh
    // state directory gets SHA-256 so clients can use SCRAM-SHA-256; the
    // choice is remembered in <state>/password_hash, and a directory that
    // already holds data from before keeps Prosody's SHA-1 (its accounts
    // could not log in otherwise). A catalog that sets password_hash wins.
    let marker = state.root().join("password_hash");
    let hash = match std::fs::read_to_string(&marker) {
        Ok(h) if matches!(h.trim(), "SHA-1" | "SHA-256") => h.trim().to_string(),
        _ => {
            let fresh = std::fs::read_dir(state.data_dir())
                .map(|mut d| d.next().is_none())
                .unwrap_or(true);
            let h = if fresh { "SHA-256" } else { "SHA-1" };
            std::fs::write(&marker, format!("{h}\n")).map_err(|e| {
                sayln!("error: cannot write {}: {e}", marker.display());
                Exit(1)
            })?;
            h.to_string()
        }
    };
    let mut build = ctx.build(&ctx.request(&sel)?)?;
    let from_catalog = build
        .evaluated
        .global()
        .options
        .contains_key("password_hash");
    if !from_catalog && hash != "SHA-1" {
        sel.sets
            .push(format!("password_hash={}", server::lua_string(&hash)));
        build = ctx.build(&ctx.request(&sel)?)?;
    }
    let config = state.write_config(&build.config).map_err(fail)?;
    if let Some(u) = user {
        let Some((jid, password)) = u.split_once(':') else {
            sayln!("error: --user takes JID:PASSWORD");
            return Err(Exit(2));
        };
        server::create_user(&config, jid, password).map_err(fail)?;
    }
    sayln!(
        "pfe run: {} ({}, {}), c2s 127.0.0.1:{}, direct TLS 127.0.0.1:{}, http 127.0.0.1:{}, https 127.0.0.1:{}, password_hash {}, state in {}",
        domain,
        build.profile.id,
        build.environment.id,
        ports.c2s,
        ports.c2s_direct_tls,
        ports.http,
        ports.https,
        if from_catalog {
            "from the catalog".to_string()
        } else {
            hash
        },
        state_dir.display()
    );
    // Become Prosody: every signal (Ctrl-C, SIGTERM from a supervisor) reaches
    // it directly, and nothing is left running when it stops.
    use std::os::unix::process::CommandExt as _;
    let err = std::process::Command::new("prosody")
        .arg("--config")
        .arg(&config)
        .arg("-F")
        .exec();
    sayln!(
        "error: cannot run prosody: {err}\n  hint: install Prosody 13 (scripts/install-deps.sh)"
    );
    Err(Exit(1))
}

/// Prints a deploy error. Input problems are plain lines, one per problem
/// naming what to fix (container logs are read as text), then a summary.
fn deploy_report(e: pfe_deploy::DeployError) -> Exit {
    if let pfe_deploy::DeployError::Input { problems } = &e {
        say!("{}", pfe_deploy::render_problems(problems));
        let summary = e.to_string();
        sayln!("error: {}", summary.lines().next().unwrap_or_default());
        return Exit(1);
    }
    report(e)
}

fn compose_cmd(
    ctx: &Ctx,
    config_dir: Option<&Path>,
    sel: &Selection,
    output: &Path,
    force: bool,
    image: String,
) -> Result<(), Exit> {
    use pfe_deploy::compose;
    let config_dir = match config_dir {
        Some(d) => Some(std::fs::canonicalize(d).map_err(|e| {
            sayln!("error: cannot resolve --config-dir {}: {e}", d.display());
            Exit(1)
        })?),
        None => None,
    };
    let opts = compose::Options { image, config_dir };
    let out = compose::render(&ctx.catalog, &ctx.request(sel)?, &opts).map_err(deploy_report)?;
    say!("{}", out.warnings);
    pfe_deploy::write_files(output, &out.files, force).map_err(deploy_report)?;
    for (name, _) in &out.files {
        sayln!("wrote {}", output.join(name).display());
    }
    if !out.secret_files.is_empty() {
        sayln!(
            "secrets to create beside them (one line each, readable by uid 999, never committed): {}",
            out.secret_files.join(", ")
        );
    }
    Ok(())
}

fn k8s_cmd(
    ctx: &Ctx,
    sel: &Selection,
    output: &Path,
    force: bool,
    image: String,
    name: String,
) -> Result<(), Exit> {
    use pfe_deploy::k8s;
    let opts = k8s::Options { image, name };
    let out = k8s::render(&ctx.catalog, &ctx.request(sel)?, &opts).map_err(deploy_report)?;
    say!("{}", out.warnings);
    pfe_deploy::write_files(output, &out.files, force).map_err(deploy_report)?;
    for (file, _) in &out.files {
        sayln!("wrote {}", output.join(file).display());
    }
    if !out.secrets.is_empty() {
        let keys: Vec<String> = out
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

fn entrypoint_cmd(
    ctx: &Ctx,
    config_output: PathBuf,
    use_config: Option<PathBuf>,
    sets: Vec<String>,
    dry_run: bool,
) -> Result<(), Exit> {
    use pfe_run::entrypoint;
    let mut opts = entrypoint::Options::new(config_output, &ctx.env.vars);
    opts.use_config = use_config;
    opts.sets = sets;
    opts.dry_run = dry_run;
    let plan = entrypoint::plan(&ctx.catalog, &ctx.env.vars, &opts).map_err(deploy_report)?;
    say!("{}", entrypoint::warnings_text(&plan));
    if dry_run {
        say!("{}", entrypoint::describe(&plan));
        return match &plan.build {
            Some(b) => stdout(b.config.as_bytes()),
            None => Ok(()),
        };
    }
    match entrypoint::execute(&plan, &opts) {
        Ok(never) => match never {},
        Err(e) => Err(report(e)),
    }
}
