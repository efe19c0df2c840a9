//! OpenLDAP's `slapd` (Debian package `slapd`; the client tools are
//! `ldap-utils`) on loopback.
//!
//! The harness writes a `slapd.conf` in its temp dir (the core, cosine, nis
//! and inetorgperson schemas from `/etc/ldap/schema`, `moduleload back_mdb`:
//! Debian builds the backends as modules), loads the base entries
//! (`<suffix>` and `ou=people,<suffix>`) with `slapadd` before starting, and
//! runs `slapd -d stats -f <conf> -h ldap://127.0.0.1:PORT/ [ldaps://…]`
//! in the foreground. The root DN's password and every user's `userPassword`
//! are stored `{SSHA}`-hashed (by `slappasswd`). Users can bind (simple bind)
//! and read the tree anonymously, except `userPassword` (auth only).
//!
//! With TLS (`SlapdOptions::tls`), a throwaway CA ([`TestCa`]) is made with
//! `openssl` and slapd serves both `ldaps://127.0.0.1:LDAPS_PORT` and
//! StartTLS on the plain port, with a certificate for `127.0.0.1`, `::1` and
//! `localhost`; clients trust [`Slapd::ca_pem`].

use super::{
    Context, Daemon, Error, PortLease, Probe, Result, StartError, TestCa, find_binary, lease_port,
    output_with_timeout, retry_on_clash, run_tool, wait_ready, write_file,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

const SCHEMA_DIR: &str = "/etc/ldap/schema";
const SCHEMAS: &[&str] = &["core", "cosine", "nis", "inetorgperson"];

/// What to start slapd with. `SlapdOptions::default()` is
/// `dc=example,dc=org`, root `cn=admin,dc=example,dc=org` / `admin-secret`,
/// no TLS.
#[derive(Debug, Clone)]
pub struct SlapdOptions {
    /// The database suffix; must start with a `dc=` component.
    pub suffix: String,
    /// The root DN; `None` means `cn=admin,<suffix>`.
    pub root_dn: Option<String>,
    pub root_password: String,
    /// Also serve `ldaps://` and StartTLS with a generated CA.
    pub tls: bool,
}

impl Default for SlapdOptions {
    fn default() -> SlapdOptions {
        SlapdOptions {
            suffix: "dc=example,dc=org".into(),
            root_dn: None,
            root_password: "admin-secret".into(),
            tls: false,
        }
    }
}

/// How a client reaches slapd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldap://`, no TLS.
    Plain,
    /// `ldap://` then the StartTLS extended operation (required to succeed).
    StartTls,
    /// `ldaps://` (TLS from the first byte).
    Ldaps,
}

/// A running slapd; killed and its files removed on drop.
pub struct Slapd {
    // Dropped first: the daemon dies before its directory goes.
    daemon: Daemon,
    ldap: PortLease,
    ldaps: Option<PortLease>,
    suffix: String,
    root_dn: String,
    root_password: String,
    ca: Option<TestCa>,
    slappasswd: PathBuf,
    log: PathBuf,
    dir: TempDir,
}

impl Slapd {
    /// slapd with [`SlapdOptions::default()`] (no TLS).
    pub fn start() -> Result<Slapd> {
        Slapd::start_with(SlapdOptions::default())
    }

    /// slapd with the defaults and TLS (`ldaps://` and StartTLS).
    pub fn start_tls() -> Result<Slapd> {
        Slapd::start_with(SlapdOptions {
            tls: true,
            ..SlapdOptions::default()
        })
    }

    pub fn start_with(opts: SlapdOptions) -> Result<Slapd> {
        let slapd = find_binary("slapd", "slapd")?;
        let slapadd = find_binary("slapadd", "slapd")?;
        let slappasswd = find_binary("slappasswd", "slapd")?;
        find_binary("ldapwhoami", "ldap-utils")?;
        find_binary("ldapadd", "ldap-utils")?;
        for s in SCHEMAS {
            let p = Path::new(SCHEMA_DIR).join(format!("{s}.schema"));
            if !p.is_file() {
                return Err(Error::new(format!(
                    "{} is missing: slapd needs the schema files of the Debian package slapd",
                    p.display()
                )));
            }
        }
        let first_dc = opts
            .suffix
            .split(',')
            .next()
            .and_then(|rdn| rdn.trim().strip_prefix("dc="))
            .ok_or_else(|| {
                Error::new(format!(
                    "Slapd: the suffix {:?} must start with a dc= component",
                    opts.suffix
                ))
            })?
            .to_string();
        let root_dn = opts
            .root_dn
            .clone()
            .unwrap_or_else(|| format!("cn=admin,{}", opts.suffix));

        let dir = tempfile::Builder::new()
            .prefix("pfe-slapd-")
            .tempdir()
            .context(|| "cannot create a temp dir for slapd".into())?;
        let d = dir.path();
        let db = d.join("db");
        std::fs::create_dir(&db).context(|| format!("cannot create {}", db.display()))?;

        let (ca, tls_conf) = if opts.tls {
            let ca = TestCa::generate(d)?;
            let cert = ca.issue_loopback("slapd")?;
            let conf = format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                ca.ca_pem().display(),
                cert.cert_pem.display(),
                cert.key_pem.display()
            );
            (Some(ca), conf)
        } else {
            (None, String::new())
        };

        let root_hash = ssha(&slappasswd, &opts.root_password)?;
        let includes: String = SCHEMAS
            .iter()
            .map(|s| format!("include {SCHEMA_DIR}/{s}.schema\n"))
            .collect();
        let conf = d.join("slapd.conf");
        write_file(
            &conf,
            format!(
                "# Written by pfe-testkit for one test run.\n\
                 {includes}\
                 pidfile {d}/slapd.pid\n\
                 argsfile {d}/slapd.args\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 {tls_conf}\
                 database mdb\n\
                 maxsize 67108864\n\
                 suffix \"{suffix}\"\n\
                 rootdn \"{root_dn}\"\n\
                 rootpw {root_hash}\n\
                 directory {db}\n\
                 index objectClass eq\n\
                 index uid eq\n\
                 access to attrs=userPassword by self write by anonymous auth by * none\n\
                 access to * by * read\n",
                d = d.display(),
                suffix = opts.suffix,
                db = db.display(),
            ),
        )?;
        let base = d.join("base.ldif");
        write_file(
            &base,
            format!(
                "dn: {suffix}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n\
                 dc: {first_dc}\no: {first_dc}\n\n\
                 dn: ou=people,{suffix}\nobjectClass: organizationalUnit\nou: people\n",
                suffix = opts.suffix
            ),
        )?;
        let mut add = Command::new(&slapadd);
        add.arg("-q").arg("-f").arg(&conf).arg("-l").arg(&base);
        run_tool(add, None)?;

        let log = d.join("slapd.log");
        let tls = opts.tls;
        let (daemon, ldap, ldaps) = retry_on_clash("slapd", || {
            let ldap = lease_port(false)?;
            let ldaps = if tls { Some(lease_port(false)?) } else { None };
            let mut urls = format!("ldap://127.0.0.1:{}/", ldap.port);
            if let Some(l) = &ldaps {
                urls.push_str(&format!(" ldaps://127.0.0.1:{}/", l.port));
            }
            let mut cmd = Command::new(&slapd);
            cmd.args(["-d", "stats", "-f"])
                .arg(&conf)
                .arg("-h")
                .arg(&urls);
            let mut daemon = Daemon::spawn("slapd", cmd, &log, vec![], libc::SIGKILL)?;
            let probe_urls: Vec<(Transport, String)> =
                std::iter::once((Transport::Plain, format!("ldap://127.0.0.1:{}", ldap.port)))
                    .chain(
                        ldaps
                            .as_ref()
                            .map(|l| (Transport::Ldaps, format!("ldaps://127.0.0.1:{}", l.port))),
                    )
                    .collect();
            let ca_pem = ca.as_ref().map(|c| c.ca_pem().to_path_buf());
            wait_ready(&mut daemon, &[], || {
                for (transport, url) in &probe_urls {
                    let cmd = ldap_cmd("ldapwhoami", ca_pem.as_deref());
                    match cmd.and_then(|c| {
                        // Short: a port taken by a listener that never
                        // answers must not stall the clash check.
                        whoami_with(
                            c,
                            *transport,
                            url,
                            &root_dn,
                            &opts.root_password,
                            Duration::from_secs(1),
                        )
                    }) {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            return Probe::NotYet(format!("{url}: the root DN's bind was refused"));
                        }
                        Err(e) => return Probe::NotYet(e.to_string()),
                    }
                }
                Probe::Ready
            })?;
            Ok::<_, StartError>((daemon, ldap, ldaps))
        })?;
        Ok(Slapd {
            daemon,
            ldap,
            ldaps,
            suffix: opts.suffix,
            root_dn,
            root_password: opts.root_password,
            ca,
            slappasswd,
            log,
            dir,
        })
    }

    /// `ldap://127.0.0.1:PORT` (StartTLS works on it when started with TLS).
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap.port)
    }

    /// `ldaps://127.0.0.1:PORT`, when started with TLS.
    pub fn ldaps_url(&self) -> Option<String> {
        self.ldaps
            .as_ref()
            .map(|l| format!("ldaps://127.0.0.1:{}", l.port))
    }

    pub fn port(&self) -> u16 {
        self.ldap.port
    }

    pub fn ldaps_port(&self) -> Option<u16> {
        self.ldaps.as_ref().map(|l| l.port)
    }

    /// The CA certificate clients must trust, when started with TLS.
    pub fn ca_pem(&self) -> Option<&Path> {
        self.ca.as_ref().map(|c| c.ca_pem())
    }

    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    pub fn root_dn(&self) -> &str {
        &self.root_dn
    }

    pub fn root_password(&self) -> &str {
        &self.root_password
    }

    /// `ou=people,<suffix>`, where [`Slapd::add_user`] puts users.
    pub fn people_dn(&self) -> String {
        format!("ou=people,{}", self.suffix)
    }

    /// `uid=<uid>,ou=people,<suffix>`.
    pub fn user_dn(&self, uid: &str) -> String {
        format!("uid={uid},{}", self.people_dn())
    }

    /// Adds an `inetOrgPerson` `uid=<uid>,ou=people,<suffix>` (cn and sn are
    /// the uid, `mail` is `<uid>@<the suffix's dc values joined by dots>`,
    /// e.g. `alice@example.org`) whose `userPassword` is
    /// `{SSHA}`-hashed. Returns its DN. `uid` must be `[A-Za-z0-9._-]+`.
    pub fn add_user(&self, uid: &str, password: &str) -> Result<String> {
        if uid.is_empty()
            || !uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(Error::new(format!(
                "Slapd::add_user: uid {uid:?} must be [A-Za-z0-9._-]+"
            )));
        }
        let domain: Vec<&str> = self
            .suffix
            .split(',')
            .filter_map(|rdn| rdn.trim().strip_prefix("dc="))
            .collect();
        let hash = ssha(&self.slappasswd, password)?;
        let dn = self.user_dn(uid);
        self.ldapadd(&format!(
            "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
             mail: {uid}@{}\nuserPassword: {hash}\n",
            domain.join(".")
        ))?;
        Ok(dn)
    }

    /// Adds LDIF entries as the root DN with `ldapadd`.
    pub fn ldapadd(&self, ldif: &str) -> Result<()> {
        let mut cmd = self.ldap_command("ldapadd")?;
        cmd.args(["-x", "-H", &self.url(), "-D", &self.root_dn, "-w"])
            .arg(&self.root_password);
        run_tool(cmd, Some(ldif.as_bytes())).map(|_| ())
    }

    /// A simple bind with `ldapwhoami` over `transport`: `Ok(Some(authzid))`
    /// (e.g. `"dn:uid=alice,ou=people,dc=example,dc=org"`) when it succeeds,
    /// `Ok(None)` when slapd answers invalidCredentials (49), `Err` for
    /// anything else (TLS failure, no answer within 5 s…).
    pub fn whoami(&self, transport: Transport, dn: &str, password: &str) -> Result<Option<String>> {
        let url = match transport {
            Transport::Plain | Transport::StartTls => self.url(),
            Transport::Ldaps => self.ldaps_url().ok_or_else(|| {
                Error::new("Slapd::whoami over ldaps: this slapd was started without TLS")
            })?,
        };
        whoami_with(
            self.ldap_command("ldapwhoami")?,
            transport,
            &url,
            dn,
            password,
            Duration::from_secs(5),
        )
    }

    /// A `Command` for an ldap-utils tool (`ldapsearch`, `ldapwhoami`…),
    /// with `LDAPTLS_CACERT` set to this server's CA (when TLS) and
    /// `LDAPTLS_REQCERT=demand`; add the arguments (`-H`, `-x`…) yourself.
    pub fn ldap_command(&self, tool: &str) -> Result<Command> {
        ldap_cmd(tool, self.ca_pem())
    }

    /// The temp dir holding `slapd.conf`, `db/`, the CA, the logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// slapd's log (its `-d stats` output: connections, binds, results).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The tail of slapd's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

fn ldap_cmd(tool: &str, ca_pem: Option<&Path>) -> Result<Command> {
    let mut cmd = Command::new(find_binary(tool, "ldap-utils")?);
    // Not ~/.ldaprc nor ./ldaprc of whoever runs the tests.
    cmd.env("LDAPRC", "/dev/null");
    cmd.env("LDAPTLS_REQCERT", "demand");
    // ldap.conf's TIMEOUT: an answer must come within 5 s (nettimeout only
    // bounds the connect).
    cmd.env("LDAPTIMEOUT", "5");
    if let Some(ca) = ca_pem {
        cmd.env("LDAPTLS_CACERT", ca);
    }
    Ok(cmd)
}

/// `limit` bounds the connect and the answer (each), the whole run thrice.
fn whoami_with(
    mut cmd: Command,
    transport: Transport,
    url: &str,
    dn: &str,
    password: &str,
    limit: Duration,
) -> Result<Option<String>> {
    let secs = limit.as_secs().max(1);
    cmd.env("LDAPTIMEOUT", secs.to_string())
        .args(["-x", "-o", &format!("nettimeout={secs}"), "-H", url])
        .args(["-D", dn, "-w", password]);
    if transport == Transport::StartTls {
        cmd.arg("-ZZ");
    }
    let shown = format!("ldapwhoami -H {url} -D {dn}");
    let out = output_with_timeout(cmd, None, limit * 3)
        .map_err(|e| Error::new(format!("{shown}: {e}")))?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )),
        Some(49) => Ok(None),
        _ => Err(Error::new(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

/// `{SSHA}…` of `password`, by slappasswd.
fn ssha(slappasswd: &Path, password: &str) -> Result<String> {
    let mut cmd = Command::new(slappasswd);
    cmd.args(["-h", "{SSHA}", "-s", password]);
    let out = run_tool(cmd, None)?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !hash.starts_with("{SSHA}") {
        return Err(Error::new(format!(
            "slappasswd printed {hash:?}, not an {{SSHA}} hash"
        )));
    }
    Ok(hash)
}
