//! `pfe certs`: renders [`pfe_run::certs::check`].

use std::path::PathBuf;

use pfe_run::certs::{self, Selected, Severity};

use super::Ctx;
use crate::cli::Selection;
use crate::error::{Error, Result};
use crate::output::{print_json, stdout};

fn owner(text: Option<&str>) -> Result<(u32, u32)> {
    let Some(t) = text else {
        return Ok((certs::PROSODY_UID, certs::PROSODY_GID));
    };
    let bad = || {
        Error::usage(
            format!("--owner: {t:?} is not UID or UID:GID"),
            "numbers, e.g. --owner 999:999 (the image's prosody user)",
        )
    };
    let (u, g) = t.split_once(':').unwrap_or((t, t));
    Ok((u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?))
}

pub fn certs(
    ctx: &Ctx,
    sel: &Selection,
    dir: Option<PathBuf>,
    owner_text: Option<&str>,
    json: bool,
) -> Result {
    let (uid, gid) = owner(owner_text)?;
    let build = ctx.build(&ctx.request(sel)?)?;
    let report = certs::check(
        &build.evaluated,
        Some(&build.domain),
        &certs::Options {
            dir,
            uid,
            gid,
            ..certs::Options::default()
        },
    );
    let failed = report.severity() == Severity::Error;
    if json {
        print_json(&serde_json::to_value(&report).expect("serializable"))?;
    } else {
        let show = |p: &std::path::Path| pfe_core::emit::visible(&p.to_string_lossy());
        let mut out = format!(
            "certificates in {}, judged for uid {uid} gid {gid}\n",
            show(&report.dir)
        );
        for n in &report.names {
            out += &format!("{} ({})", n.name, n.role);
            if let (Some(c), Some(k)) = (&n.certificate, &n.key) {
                let how = match n.selected {
                    Some(Selected::Index) => "by its subject names",
                    Some(Selected::FileName) => "by file name",
                    Some(Selected::SslOption) => "the ssl option",
                    None => "",
                };
                let parent = match &n.for_name {
                    Some(f) if *f != n.name => format!(", the parent domain {f}'s"),
                    _ => String::new(),
                };
                out += &format!(": {} + {} ({how}{parent})", show(c), show(k));
            }
            out.push('\n');
            for f in &n.findings {
                let tag = match f.severity() {
                    Severity::Ok => "ok     ",
                    Severity::Warning => "warning",
                    Severity::Error => "ERROR  ",
                };
                out += &format!("  {tag} {}\n", f.message());
            }
        }
        out += &format!(
            "{}\n",
            match report.severity() {
                Severity::Error =>
                    "certificates: errors above; Prosody would serve these names without a valid certificate",
                Severity::Warning => "certificates: usable, with warnings",
                Severity::Ok => "certificates: every name is covered",
            }
        );
        stdout(out.as_bytes())?;
    }
    if failed { Err(Error::Shown(1)) } else { Ok(()) }
}
