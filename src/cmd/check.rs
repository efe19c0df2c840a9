//! `pfe check` (a live server against its profile's promises) and
//! `pfe healthcheck` (one stream up to its features).

use std::path::PathBuf;
use std::time::Duration;

use pfe_core::request::{self, Origin};
use pfe_probe::check::{self, TargetOptions};
use pfe_probe::xmpp::{self, HealthMode, TlsVerify};

use super::Ctx;
use crate::cli::CheckArgs;
use crate::error::{Error, Result};
use crate::output::{print_json, stdout};

fn trust(ca_file: Option<PathBuf>, insecure: bool) -> Option<TlsVerify> {
    match (ca_file, insecure) {
        (Some(f), _) => Some(TlsVerify::CaFile(f)),
        (None, true) => Some(TlsVerify::InsecureAcceptAny),
        (None, false) => None,
    }
}

pub fn check(ctx: &Ctx, a: CheckArgs) -> Result {
    let Some(verify) = trust(a.ca_file.clone(), a.insecure) else {
        return Err(Error::usage(
            "say how to trust the server's certificate",
            "--ca-file FILE, or --insecure for a self-signed test server",
        ));
    };
    let sel = request::Selection {
        profile: a.profile.clone(),
        environment: a.environment.clone(),
        // One domain is checked: the account's (the config may serve more).
        domains: a
            .jid
            .split_once('@')
            .map(|(_, d)| d.to_string())
            .into_iter()
            .collect(),
        domain_flag: Some("--jid".into()),
        with: a.with.clone(),
        without: a.without.clone(),
        ..Default::default()
    };
    let req = ctx.resolve(&sel)?;
    let build = ctx.build(&req)?;
    let target = check::plan_target(
        &build,
        &TargetOptions {
            server: a.server.clone(),
            jid: a.jid.clone(),
            password: a.password.clone(),
            verify,
            direct_tls: a.direct_tls,
            alt_port: a.alt_port,
            http: a.http.clone(),
            https: a.https,
            timeout: Duration::from_millis(a.timeout),
            second: a.jid2.clone().zip(a.password2.clone()),
            component_secret: a.component_secret.clone(),
            s2s_port: a.s2s_port,
        },
    );
    let report = check::run_check(&build, &target)
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?
        .map_err(|e| Error::failed(e.to_string()))?;
    let addr = &target.client.addr;
    if a.json {
        let counts = report.counts();
        print_json(&serde_json::json!({
            "ok": !report.failed(),
            "profile": req.profile,
            "environment": req.environment,
            "server": addr,
            "http": target.http.as_ref().map(|h| h.addr.clone()),
            "session": report.session,
            "results": report.rows,
            "compliance": report.compliance,
            "behaviours": report.behaviours,
            "leftovers": report.leftovers,
            "expires": report.expires,
            "summary": counts,
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
    if report.failed() {
        Err(Error::Shown(1))
    } else {
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
pub fn healthcheck(
    ctx: &Ctx,
    server: Option<String>,
    domain: Option<String>,
    timeout: u64,
    starttls: bool,
    direct_tls: bool,
    ca_file: Option<PathBuf>,
    insecure: bool,
) -> Result {
    // The domain is validated like every command's; the port comes from the
    // config the container serves (see healthcheck_target).
    let domain = match domain {
        Some(d) => Some(request::domain_from(&Origin::flag("--domain"), &d)),
        None => ctx
            .env
            .value("PROSODY_DOMAIN")
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| request::domain_from(&ctx.env.origin("PROSODY_DOMAIN"), d)),
    }
    .transpose()?;
    let target = xmpp::healthcheck_target(
        &ctx.env.vars,
        server.as_deref(),
        domain.as_deref(),
        direct_tls,
    );
    let addr = xmpp::with_default_port(&target.addr, direct_tls);
    let Some(mode) = HealthMode::from_flags(trust(ca_file, insecure), starttls, direct_tls) else {
        return Err(Error::usage(
            "say how to trust the server's certificate",
            "--ca-file FILE, or --insecure",
        ));
    };
    let t = Duration::from_millis(timeout);
    let result = pfe_probe::block_on(xmpp::health_probe(&addr, &target.domain, &mode, t))
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
    match result {
        Ok(r) => stdout(
            format!(
                "healthy: {addr} answered {} in {} ms\n",
                target.domain,
                r.elapsed.as_millis()
            )
            .as_bytes(),
        ),
        Err(e) => Err(Error::Plain(format!("unhealthy: {e}"))),
    }
}
