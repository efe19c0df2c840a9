//! The command line as clap types: parsing only. Every default that is
//! policy (ports, profile, environment, domain) is decided by the library
//! crates; the defaults here are the flags' own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
pub struct Cli {
    /// Your catalog tree, laid over the built-in one
    #[arg(long, global = true, env = "PFE_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Read variables from this file too (the process environment wins)
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Show the messages catalog files log with log(...)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone, Default)]
pub struct Selection {
    /// Profile [default: $PROSODY_PROFILE or standard]
    pub profile: Option<String>,
    /// Environment [default: $PROSODY_ENVIRONMENT or production]
    pub environment: Option<String>,
    /// The served domain [default: $PROSODY_DOMAIN or localhost]
    #[arg(long)]
    pub domain: Option<String>,
    /// Enable a feature (repeatable), e.g. --with web/admin
    #[arg(long = "with", value_name = "FEATURE")]
    pub with: Vec<String>,
    /// Disable a feature (repeatable), e.g. --without mobile/push
    #[arg(long = "without", value_name = "FEATURE")]
    pub without: Vec<String>,
    /// Set an option last, as a Lua value: [HOST:]OPTION=VALUE (repeatable), e.g. --set 'c2s_ports={15222}'
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Allow features whose stability the environment does not allow (e.g. alpha in production)
    #[arg(long)]
    pub allow_unstable: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// host[:port] of the server's c2s listener (port default 5222, or 5223 with --direct-tls)
    #[arg(long)]
    pub server: String,
    /// The account to log in with
    #[arg(long)]
    pub jid: String,
    /// Its password
    #[arg(long, env = "PFE_CHECK_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Profile whose promises to verify [default: $PROSODY_PROFILE or standard]
    #[arg(long)]
    pub profile: Option<String>,
    /// Environment [default: $PROSODY_ENVIRONMENT or production]
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Feature switched on, as for generate (repeatable)
    #[arg(long = "with", value_name = "FEATURE")]
    pub with: Vec<String>,
    /// Feature switched off, as for generate (repeatable)
    #[arg(long = "without", value_name = "FEATURE")]
    pub without: Vec<String>,
    /// Trust this CA (PEM) for the server's certificate
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (self-signed test servers only)
    #[arg(long)]
    pub insecure: bool,
    /// Direct TLS (XEP-0368) instead of STARTTLS
    #[arg(long)]
    pub direct_tls: bool,
    /// The other c2s port on the same host, probed too: direct TLS for XEP-0368 when the session uses STARTTLS
    /// [default: the config's c2s_direct_tls_ports], STARTTLS for the cleartext probes with --direct-tls [default: 5222]
    #[arg(long, value_name = "PORT")]
    pub alt_port: Option<u16>,
    /// host[:port] of the HTTP server for the web promises (WebSocket, BOSH, host-meta, uploads)
    /// [default: the --server host, port 5280, or 5281 with --https]
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,
    /// Probe the HTTP endpoints over TLS (verified like the XMPP session)
    #[arg(long)]
    pub https: bool,
    /// Overall deadline in milliseconds (every probe ends within it)
    #[arg(long, default_value_t = 15000)]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

/// Where `compose` and `k8s` write, and which image they name.
#[derive(Args)]
pub struct DeployOutput {
    /// Directory for the files (created if missing)
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Replace existing files
    #[arg(long)]
    pub force: bool,
    /// Image name; the tag is $PROSODY_VERSION, else latest
    #[arg(long, default_value = "prosody")]
    pub image: String,
}

#[derive(Subcommand)]
pub enum Command {
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
    ///
    /// The file is read as Prosody 13 reads it: ENV_X is the variable X of
    /// the environment (else of --env-file), Lua is Prosody's _G; what has side
    /// effects (Lua.io, require, RunScript) gives unknown values (PFE017).
    Lint {
        /// The config file, e.g. /etc/prosody/prosody.cfg.lua
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Fail on warnings too
        #[arg(long)]
        deny_warnings: bool,
        /// Rewrite deprecated and renamed options and modules in place
        /// (legacy_ssl_ports → c2s_direct_tls_ports, "blocking" → "blocklist",
        /// use_libevent → network_backend, daemonize and "posix" removed,
        /// ssl.protocols → ssl.protocol), keeping comments and layout; the file
        /// is replaced atomically and only when the result adds no finding.
        /// Included files are not rewritten; a file that does not parse is
        /// never touched
        #[arg(long)]
        fix: bool,
        /// With --fix: print the rewrite as a unified diff, change nothing
        #[arg(long, requires = "fix")]
        dry_run: bool,
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
            default_value = pfe_core::layout::CONFIG_PATH,
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

impl Selection {
    /// The flags as the request resolver takes them.
    pub fn to_request(&self) -> pfe_core::request::Selection {
        pfe_core::request::Selection {
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
