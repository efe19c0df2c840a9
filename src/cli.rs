//! The command line as clap types: parsing only. Every default a flag shows
//! is a constant of the library crate that owns the decision.

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
    /// A served domain; repeat it to serve several, the first is the primary one
    /// [default: $PROSODY_DOMAINS, else $PROSODY_DOMAIN, else localhost]
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
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
    /// The s2s port on the --server host whose STARTTLS certificates are checked for the domain and
    /// every component (stream to= each name) [default: the config's s2s_ports, else 5269]
    #[arg(long, value_name = "PORT")]
    pub s2s_port: Option<u16>,
    /// host[:port] of the HTTP server for the web promises (WebSocket, BOSH, host-meta, uploads)
    /// [default: the --server host, port 5280, or 5281 with --https]
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,
    /// Probe the HTTP endpoints over TLS (verified like the XMPP session)
    #[arg(long)]
    pub https: bool,
    /// A second, disposable account for the probes that need two parties (carbons, blocking,
    /// offline delivery, direct invitations to it); without it they do not run
    #[arg(long, value_name = "JID", requires = "password2")]
    pub jid2: Option<String>,
    /// The second account's password
    #[arg(long, env = "PFE_CHECK_PASSWORD2", hide_env_values = true)]
    pub password2: Option<String>,
    /// The shared secret of the config's external components, for the XEP-0114 handshake
    /// (unless the config holds it literally)
    #[arg(long, env = "PFE_CHECK_COMPONENT_SECRET", hide_env_values = true)]
    pub component_secret: Option<String>,
    /// Overall deadline in milliseconds (every probe ends within it)
    #[arg(long, default_value_t = pfe_probe::check::DEFAULT_TIMEOUT_MS)]
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
    #[arg(long, default_value = pfe_deploy::compose::DEFAULT_IMAGE)]
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
    /// The semantic difference between two Prosody configs, host by host
    ///
    /// Each side is a config file (its Includes followed, read as `pfe lint`
    /// reads it) or a catalog selection written profile:PROFILE/ENVIRONMENT
    /// (profile: alone takes PROSODY_PROFILE/PROSODY_ENVIRONMENT). The
    /// selection flags below (--domain, --with, --without, --set,
    /// --allow-unstable) and the global --config-dir/--env-file apply to the
    /// profile: side(s) only; a file side is read as it is, with the process
    /// environment (and --env-file) as its ENV_*.
    ///
    /// Compared: per host, the effective value of every option after
    /// Prosody's inheritance (global → VirtualHost and Component) and the
    /// index's defaults, normalised as Prosody's getters read it ("1w" =
    /// 604800, sets unordered), and the effective module set (autoloaded,
    /// global, host, disabled, module:depends, component module; a Component
    /// inherits only a few global modules). Not compared: order of
    /// modules_enabled, comments, formatting, Include structure, the syntax
    /// used (Component "x" "muc" or a table). Exit 0 same, 1 different, 2 bad
    /// input.
    #[command(
        after_help = "Examples:\n  pfe diff /etc/prosody/prosody.cfg.lua profile:standard/production --config-dir ./pfe --domain example.org\n  pfe diff old.cfg.lua new.cfg.lua --json"
    )]
    Diff {
        /// First side: a config file or profile:PROFILE/ENVIRONMENT
        a: String,
        /// Second side: a config file or profile:PROFILE/ENVIRONMENT
        b: String,
        #[command(flatten)]
        sel: SideSelection,
        #[arg(long)]
        json: bool,
    },
    /// Turn an existing Prosody config into a catalog tree (profile, features, local.cfg.lua, .env)
    ///
    /// FILE is evaluated with its Includes as `pfe lint` reads it. DIR gets:
    /// the nearest built-in profile and environment with the feature switches
    /// that reproduce its module sets (profiles/migrated/profile.cfg.lua,
    /// extending the built-in profile, when the switches differ); a
    /// local.cfg.lua with everything no feature covers, each item commented
    /// with the original file:line; an .env with the PROSODY_* variables
    /// that select it (use it with `--config-dir DIR --env-file DIR/.env`).
    /// Secrets in clear text become Credential("…"): the report names the
    /// file to create. Options nothing reads are kept and flagged, or
    /// dropped with --drop-dead.
    ///
    /// The tree is proven before it is kept: built, read back and compared
    /// with FILE as `pfe diff` does; what is left must be in the report
    /// (exit 1 otherwise). DIR is never overwritten without --force; the
    /// tree is written beside it and moved into place whole.
    #[command(
        after_help = "Example:\n  pfe migrate /etc/prosody/prosody.cfg.lua -o ./pfe\n  pfe diff /etc/prosody/prosody.cfg.lua profile: --config-dir ./pfe --env-file ./pfe/.env"
    )]
    Migrate {
        /// The config file, e.g. /etc/prosody/prosody.cfg.lua
        file: PathBuf,
        /// The catalog tree to write
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: PathBuf,
        /// Replace DIR when it exists
        #[arg(long)]
        force: bool,
        /// Drop options nothing in Prosody 13 or prosody-modules reads (and obsolete ones)
        #[arg(long)]
        drop_dead: bool,
        #[arg(long)]
        json: bool,
    },
    /// Create a profile in your catalog tree from a template profile
    Create {
        /// Name of the new profile (letters, digits, - and _)
        name: String,
        /// Profile to start from
        #[arg(default_value = pfe_core::engine::DEFAULT_PROFILE)]
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
        #[arg(long, default_value_t = pfe_probe::xmpp::HEALTHCHECK_TIMEOUT_MS)]
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
        #[arg(long, default_value = pfe_run::local::DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        /// A served domain (repeatable: every one gets its VirtualHost, components and
        /// self-signed certificate) [default: localhost]
        #[arg(long, value_name = "DOMAIN")]
        domain: Vec<String>,
        /// c2s port (STARTTLS)
        #[arg(long, default_value_t = pfe_run::local::DEFAULT_C2S_PORT)]
        c2s_port: u16,
        /// HTTP port (BOSH, WebSocket, uploads)
        #[arg(long, default_value_t = pfe_run::local::DEFAULT_HTTP_PORT)]
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
        #[arg(long, default_value = pfe_deploy::k8s::DEFAULT_NAME)]
        name: String,
    },
    /// Certificates, offline: for every served name the file Prosody 13 will pick, whether it covers the name, its expiry, whether the key matches and whether Prosody's user can read both; exit 1 on an error
    #[command(
        long_about = "For the domain and every VirtualHost and Component of the resolved config: the certificate and key \
Prosody 13 will pick (its index of the certificates directory by subject names, then <name>.crt/.key, \
<name>/fullchain.pem + privkey.pem, <name>.pem, then the same for each parent domain), whether the certificate \
covers the name (subject alternative names, one-label wildcards), its expiry (error under 1 day, warning under 7 \
and 31 days), whether the key is the certificate's, and whether Prosody's user (uid/gid 999 in the image) can read \
both (mode, owner, every directory on the way). Exit 0 when nothing is an error, 1 otherwise."
    )]
    Certs {
        #[command(flatten)]
        sel: Selection,
        /// The certificates directory [default: the config's `certificates`, relative to /etc/prosody; /etc/prosody/certs]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The user Prosody runs as, UID[:GID] [default: 999:999, the image's prosody user]
        #[arg(long, value_name = "UID[:GID]")]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// DNS records the deployment needs, as a zone-file snippet; with --verify, query them and judge each
    #[command(
        long_about = "The records a deployment of the resolved config needs: _xmpp-client._tcp (c2s_ports), \
_xmpps-client._tcp when c2s_direct_tls_ports is set, _xmpp-server._tcp (s2s_ports) for the domain and for each \
federating component (MUC, upload), and A/AAAA for the SRV target, every component, the proxy65 address and the \
TURN host. With --verify each record is queried (hickory; the system resolver or --resolver) and reported as pass \
or FAIL with what was found; exit 1 when one fails."
    )]
    Dns {
        #[command(flatten)]
        sel: Selection,
        /// A public address of the server (repeatable; IPv4 gives A, IPv6 AAAA records)
        #[arg(long = "host-address", value_name = "IP", required = true)]
        host_address: Vec<std::net::IpAddr>,
        /// The host the SRV records point to [default: the domain]
        #[arg(long, value_name = "HOST")]
        target: Option<String>,
        /// Query every record and judge it
        #[arg(long)]
        verify: bool,
        /// The DNS server to ask, HOST:PORT [default: the system's resolvers]
        #[arg(long, value_name = "HOST:PORT", requires = "verify")]
        resolver: Option<std::net::SocketAddr>,
        /// Per query, in milliseconds
        #[arg(long, default_value_t = 3000)]
        timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Reverse-proxy configs for http_external_url deployments
    Proxy {
        #[command(subcommand)]
        kind: ProxyKind,
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

#[derive(Subcommand)]
pub enum ProxyKind {
    /// An nginx server block in front of Prosody's HTTP (BOSH, WebSocket, host-meta, uploads); --verify checks a file
    #[command(
        long_about = "Writes an nginx `server` block for the resolved config's http_external_url \
(PROSODY_HTTP_EXTERNAL_URL): its host and path prefix, forwarding to Prosody's plain HTTP port on loopback with \
the Host Prosody routes by; BOSH with a proxy_read_timeout 30 s longer than bosh_max_wait; WebSocket with HTTP/1.1 \
and the Upgrade/Connection headers; host-meta; the upload component's /file_share/ with client_max_body_size \
equal to its http_file_share_size_limit. With --verify FILE it reads an nginx file instead and names each \
mismatch with the config (a body limit below the upload limit, a BOSH timeout not longer than bosh_max_wait, \
WebSocket without the upgrade headers, a missing location); exit 1 when there is one."
    )]
    Nginx {
        #[command(flatten)]
        sel: Selection,
        /// Output file; - or absent: standard output
        #[arg(short, long, value_name = "FILE", conflicts_with = "verify")]
        output: Option<PathBuf>,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
        /// nginx's listen address, [ADDRESS:]PORT [default: the external URL's port, 443 or 80]
        #[arg(long, value_name = "[ADDRESS:]PORT")]
        listen: Option<String>,
        /// Prosody's HTTP, HOST:PORT [default: 127.0.0.1 and the first of http_ports, 5280]
        #[arg(long, value_name = "HOST:PORT")]
        upstream: Option<String>,
        /// nginx's TLS certificate for https URLs [default: /etc/nginx/certs/<host>.crt]
        #[arg(long, value_name = "FILE")]
        certificate: Option<String>,
        /// Its key [default: /etc/nginx/certs/<host>.key]
        #[arg(long, value_name = "FILE")]
        key: Option<String>,
        /// Check this nginx file against the config instead of writing one
        #[arg(long, value_name = "FILE")]
        verify: Option<PathBuf>,
    },
}

impl Selection {
    /// The flags as the request resolver takes them.
    pub fn to_request(&self) -> pfe_core::request::Selection {
        pfe_core::request::Selection {
            profile: self.profile.clone(),
            environment: self.environment.clone(),
            domains: self.domain.clone(),
            domain_flag: None,
            with: self.with.clone(),
            without: self.without.clone(),
            sets: self.sets.clone(),
            allow_unstable: self.allow_unstable,
        }
    }
}

/// The selection flags of a `profile:` side of `pfe diff`.
#[derive(Args, Clone, Default)]
pub struct SideSelection {
    /// A served domain of the profile: side(s), repeatable [default: $PROSODY_DOMAINS, else
    /// $PROSODY_DOMAIN, else localhost]
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
    /// Enable a feature on the profile: side(s) (repeatable)
    #[arg(long = "with", value_name = "FEATURE")]
    pub with: Vec<String>,
    /// Disable a feature on the profile: side(s) (repeatable)
    #[arg(long = "without", value_name = "FEATURE")]
    pub without: Vec<String>,
    /// Set an option last on the profile: side(s): [HOST:]OPTION=VALUE (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Allow features whose stability the environment does not allow
    #[arg(long)]
    pub allow_unstable: bool,
}
